/**
 * Rasid's embedded MQTT broker: aedes with Rasid's policy in its three hooks (docs/style.md practice 7),
 * listening on TCP, optionally TLS and WebSocket.
 *
 * - `authenticate`: username + password checked against the {@link CredentialStore} (scrypt hashes, with a
 *   cache of verified secrets so a reconnect storm stays cheap). CONNACK 4 for an unknown user or a wrong
 *   or missing password, 5 for a will on a topic the client may not use, 3 when the store cannot answer.
 * - `authorizePublish`: the topic ACL of the client's role; an allowed message on a meter topic then goes
 *   to the {@link PublishInterceptor} (the ingest), which may park the callback (no PUBACK) until the
 *   message is durable. A denied publish closes the connection (MQTT-3.3.5-2).
 * - `authorizeSubscribe`: the role's ACL; a denied filter is answered with SUBACK 0x80.
 */
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { isSlowHash, type MeterSecretKey, VerifiedSecretCache } from '../security/secrets.ts';
import { mayPublish, maySetWill, maySubscribe } from './acl.ts';
import { type CredentialStore, type Principal, toPrincipal } from './credentials.ts';
import { createGuardedEmitter, DEFAULT_MAX_SYNC_DEPTH } from './emitter.ts';
import { guardConnection, type PacketLimits } from './packet-guard.ts';
import { retainedByTopicPersistence } from './retained.ts';

/** What one connection may send before and after it is known, and how soon it must say who it is. */
export interface ConnectionLimits extends PacketLimits {
  /** A socket that sends no complete CONNECT within this many ms is closed. */
  readonly connectTimeoutMs: number;
}

/** Defaults: a 4 KiB payload fits a packet with room for its topic; a CONNECT with credentials and a will. */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({
  maxPacketBytes: 16 * 1024,
  maxConnectBytes: 2 * 1024,
  connectTimeoutMs: 5_000,
});

/** CONNACK return codes of MQTT 3.1.1 §3.2.2.3 that Rasid sends. */
export const CONNACK = Object.freeze({
  SERVER_UNAVAILABLE: 3,
  BAD_USERNAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const);

/** What the interceptor decides for a message it accepted: deliver it to subscribers, or not. */
export type PublishVerdict = 'forward' | 'drop';

/**
 * Sees every authorized PUBLISH (and will) before aedes acknowledges or forwards it. `done` must be
 * called exactly once: with an error to close the client's connection, with `'drop'` to acknowledge
 * without forwarding (a refused payload), or with `'forward'`.
 */
export interface PublishInterceptor {
  intercept(
    principal: Principal | null,
    packet: PublishPacket,
    done: (error: Error | null, verdict: PublishVerdict) => void,
  ): void;
  /** Called by {@link RasidBroker.close} before clients are disconnected: commit what is queued. */
  drain?(): Promise<void>;
}

export interface ListenerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
}

export interface TlsListenerOptions extends ListenerOptions {
  certPath: string;
  keyPath: string;
}

export interface WsListenerOptions extends ListenerOptions {
  /** HTTP path of the WebSocket endpoint, default `/mqtt`. */
  path?: string;
}

export interface BrokerOptions {
  credentials: CredentialStore;
  /** Plain MQTT listener; omit to listen on no TCP port (in-process use through `aedes.handle`). */
  tcp?: ListenerOptions;
  tls?: TlsListenerOptions;
  ws?: WsListenerOptions;
  interceptor?: PublishInterceptor;
  logger?: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** Metrics go here; a private registry otherwise. */
  registry?: Registry;
  secretCache?: VerifiedSecretCache;
  /**
   * The key meters' secrets are kept under (HMAC-SHA-256): `hmac-sha256$` records are checked with it, and
   * a meter's scrypt record moves to it at its next good connect.
   */
  meterSecretKey?: MeterSecretKey;
  /** Broker id (cluster-wide unique); random otherwise. */
  id?: string;
  /** mqemitter deliveries in flight (aedes default 100). */
  concurrency?: number;
  /** Nesting depth at which the emitter's drain yields to the event loop (see emitter.ts). */
  maxSyncDepth?: number;
  /** Packet sizes and the connect timeout (see {@link DEFAULT_CONNECTION_LIMITS}). */
  limits?: Partial<ConnectionLimits>;
}

export interface BrokerAddresses {
  tcp?: AddressInfo;
  tls?: AddressInfo;
  ws?: AddressInfo;
}

export interface RasidBroker {
  readonly aedes: Aedes;
  readonly addresses: BrokerAddresses;
  readonly registry: Registry;
  /** The identity of a connected client, or undefined. */
  principalOf(client: Client): Principal | undefined;
  /** Stops listening, lets the interceptor commit what it holds, disconnects clients. */
  close(): Promise<void>;
}

function authError(message: string, returnCode: number): AuthenticateError {
  const err = new Error(message) as AuthenticateError;
  err.returnCode = returnCode;
  return err;
}

class BrokerMetrics {
  readonly connects: Counter<'result'>;
  readonly denied: Counter<'action'>;
  readonly deferrals: Counter;
  readonly refused: Counter<'reason'>;
  readonly rehashed: Counter;

  constructor(registry: Registry) {
    this.refused = new Counter({
      name: 'rasid_broker_refused_connections_total',
      help:
        'Connections closed by the broker before their packet was read: connect_too_large, ' +
        'packet_too_large, malformed_length, connect_timeout',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.connects = new Counter({
      name: 'rasid_broker_connects_total',
      help: 'CONNECT attempts by result (ok, bad_credentials, not_authorized, unavailable)',
      labelNames: ['result'],
      registers: [registry],
    });
    this.denied = new Counter({
      name: 'rasid_broker_acl_denied_total',
      help: 'Publishes and subscriptions refused by the topic ACL',
      labelNames: ['action'],
      registers: [registry],
    });
    this.deferrals = new Counter({
      name: 'rasid_broker_emitter_deferrals_total',
      help: 'Times the message emitter yielded to the event loop to avoid deep recursion',
      registers: [registry],
    });
    this.rehashed = new Counter({
      name: 'rasid_broker_meter_secrets_rehashed_total',
      help: "Meters' scrypt secret records moved to the keyed hash after a good connect",
      registers: [registry],
    });
  }
}

function listen(server: NetServer | TlsServer | HttpServer, opts: ListenerOptions): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function closeServer(server: NetServer | TlsServer | HttpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Builds the broker, starts its listeners and returns a handle with a graceful close. */
export async function createBroker(opts: BrokerOptions): Promise<RasidBroker> {
  const logger = opts.logger;
  const registry = opts.registry ?? new Registry();
  const metrics = new BrokerMetrics(registry);
  const meterKey = opts.meterSecretKey;
  const cache = opts.secretCache ?? new VerifiedSecretCache(meterKey ? { meterKey } : {});
  const interceptor = opts.interceptor;
  const principals = new WeakMap<Client, Principal>();

  const mq = createGuardedEmitter({
    concurrency: opts.concurrency ?? 100,
    maxSyncDepth: opts.maxSyncDepth ?? DEFAULT_MAX_SYNC_DEPTH,
    onDefer: () => metrics.deferrals.inc(),
  });

  /** Payloads refused by the interceptor: acknowledged, never forwarded. */
  const dropped = new WeakSet<object>();

  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...opts.limits };
  const aedes = new Aedes({
    ...(opts.id === undefined ? {} : { id: opts.id }),
    mq,
    // Retained messages found by topic: a fleet's SUBSCRIBEs after a restart are not N² (src/broker/retained.ts).
    persistence: retainedByTopicPersistence(),
    concurrency: opts.concurrency ?? 100,
    connectTimeout: limits.connectTimeoutMs,

    authenticate(client, username, password, done) {
      if (username === undefined || username.length === 0 || password === undefined) {
        metrics.connects.inc({ result: 'bad_credentials' });
        done(authError('username and password are required', CONNACK.BAD_USERNAME_OR_PASSWORD), false);
        return;
      }
      opts.credentials
        .findByUsername(username)
        .then(async (record) => {
          if (record === null || !(await cache.check(username, password, record.secretHash))) {
            metrics.connects.inc({ result: 'bad_credentials' });
            logger?.warn({ username }, 'mqtt connect refused: bad credentials');
            done(authError('bad user name or password', CONNACK.BAD_USERNAME_OR_PASSWORD), false);
            return;
          }
          if (
            meterKey !== undefined &&
            record.identity.role === 'meter' &&
            isSlowHash(record.secretHash) &&
            opts.credentials.rehash !== undefined
          ) {
            // The secret is known good: keep it under the keyed hash from now on (no scrypt next time).
            opts.credentials
              .rehash(username, record.secretHash, meterKey.hash(password))
              .then(() => metrics.rehashed.inc())
              .catch((err: unknown) => logger?.warn({ username, err }, 'meter secret rehash failed'));
          }
          const principal = toPrincipal(username, record.identity);
          const will = (client as Client & { _will?: { topic: string } | null })._will;
          if (will && !maySetWill(principal, will.topic)) {
            metrics.connects.inc({ result: 'not_authorized' });
            logger?.warn({ username, topic: will.topic }, 'mqtt connect refused: will topic not allowed');
            done(authError('will topic not allowed', CONNACK.NOT_AUTHORIZED), false);
            return;
          }
          if (principal.role === 'meter') {
            // A meter's session is keyed by its identity, whatever client id it sends, so one meter can never
            // take over another meter's session by reusing its client id.
            (client as { id: string }).id = `meter:${principal.utility}:${principal.meterId}`;
          }
          principals.set(client, principal);
          metrics.connects.inc({ result: 'ok' });
          done(null, true);
        })
        .catch((err: unknown) => {
          metrics.connects.inc({ result: 'unavailable' });
          logger?.error({ username, err }, 'mqtt connect refused: credential store failed');
          done(authError('credential store unavailable', CONNACK.SERVER_UNAVAILABLE), false);
        });
    },

    authorizePublish(client, packet, done) {
      // client is null only for a will left by a client of a broker that died; the will was checked at CONNECT.
      const principal = client === null ? null : (principals.get(client) ?? undefined);
      if (principal === undefined || (principal !== null && !mayPublish(principal, packet.topic))) {
        metrics.denied.inc({ action: 'publish' });
        logger?.warn({ username: principal?.username, topic: packet.topic }, 'mqtt publish denied');
        done(new Error(`publish to ${packet.topic} not allowed`));
        return;
      }
      if (interceptor === undefined) {
        done(null);
        return;
      }
      let called = false;
      try {
        interceptor.intercept(principal ?? null, packet, (err, verdict) => {
          if (called) return;
          called = true;
          if (err === null && verdict === 'drop' && typeof packet.payload === 'object')
            dropped.add(packet.payload);
          done(err);
        });
      } catch (err) {
        // The interceptor must not throw; if it does, this client is closed and nobody else is affected.
        logger?.error({ err, topic: packet.topic }, 'publish interceptor threw');
        if (!called) {
          called = true;
          done(err instanceof Error ? err : new Error(String(err)));
        }
      }
    },

    authorizeSubscribe(client, subscription, done) {
      const principal = principals.get(client);
      if (principal === undefined || !maySubscribe(principal, subscription.topic)) {
        metrics.denied.inc({ action: 'subscribe' });
        logger?.warn({ username: principal?.username, topic: subscription.topic }, 'mqtt subscribe denied');
        // null subscription: SUBACK 0x80 for this filter, the connection stays open.
        done(null, null as unknown as Subscription);
        return;
      }
      done(null, subscription);
    },

    authorizeForward(_client, packet) {
      return typeof packet.payload === 'object' && dropped.has(packet.payload) ? null : packet;
    },
  });
  await aedes.listen();

  aedes.on('clientError', (client, err) => {
    logger?.debug({ clientId: client.id, err: err.message }, 'mqtt client error');
  });
  aedes.on('connectionError', (_client, err) => {
    if (err.message === 'connect did not arrive in time') metrics.refused.inc({ reason: 'connect_timeout' });
  });

  /** Every connection goes through the packet guard before aedes reads a byte. */
  const handle = (conn: Duplex, req?: IncomingMessage) => {
    guardConnection(conn, limits, (reason) => {
      metrics.refused.inc({ reason });
      logger?.warn({ reason }, 'mqtt connection refused: packet over the limit');
    });
    aedes.handle(conn, req);
  };

  const servers: Array<NetServer | TlsServer | HttpServer> = [];
  const wsServers: WebSocketServer[] = [];
  const addresses: BrokerAddresses = {};
  try {
    if (opts.tcp) {
      const server = createNetServer((socket) => handle(socket));
      servers.push(server);
      addresses.tcp = await listen(server, opts.tcp);
    }
    if (opts.tls) {
      const [cert, key] = await Promise.all([readFile(opts.tls.certPath), readFile(opts.tls.keyPath)]);
      const server = createTlsServer({ cert, key }, (socket) => handle(socket));
      servers.push(server);
      addresses.tls = await listen(server, opts.tls);
    }
    if (opts.ws) {
      const server = createHttpServer((_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n');
      });
      const wss = new WebSocketServer({ server, path: opts.ws.path ?? '/mqtt' });
      wss.on('connection', (socket, req) => {
        handle(createWebSocketStream(socket), req);
      });
      servers.push(server);
      wsServers.push(wss);
      addresses.ws = await listen(server, opts.ws);
    }
  } catch (err) {
    await Promise.all(servers.map((s) => (s.listening ? closeServer(s) : Promise.resolve())));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw err;
  }

  let closing: Promise<void> | null = null;
  return {
    aedes,
    addresses,
    registry,
    principalOf: (client) => principals.get(client),
    close() {
      closing ??= (async () => {
        // 1. no new connections; 2. commit what the ingest holds (its PUBACKs still go out);
        // 3. disconnect everyone; 4. wait for the listeners to finish.
        const stopped = servers.map((s) => closeServer(s));
        for (const wss of wsServers) wss.close();
        await interceptor?.drain?.();
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        await Promise.all(stopped);
      })();
      return closing;
    },
  };
}
