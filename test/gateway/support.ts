/**
 * Shared pieces of the gateway tests: a real aedes broker on 127.0.0.1 (port 0), a watcher client that
 * records everything under the utility's subtree, a configuration builder and a simulated meter served
 * over Modbus TCP by the simulator's face.
 */
import { randomUUID } from 'node:crypto';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import { connect, type MqttClient } from 'mqtt';
import { ModbusMeterServer } from '../../firmware-sim/modbus/index.ts';
import { ManualClock, SimMeter, stsParametersFor } from '../../firmware-sim/model/index.ts';
import { driverFactory, Gateway, type GatewayConfig, loadConfig } from '../../gateway/index.ts';
import { type Command, encodeCommand, meterTopic } from '../../protocols/mqtt/index.ts';
import { encodeToken, tidFromDate } from '../../protocols/sts/index.ts';

export const UTILITY = 'demo';
/** 2026-01-15T00:00:00Z. */
export const T0 = Date.UTC(2026, 0, 15);
export const STS = stsParametersFor({ drn: '00000000001' });

export interface TestBroker {
  readonly url: string;
  close(): Promise<void>;
}

/** A real aedes broker; every client must log in with password `secret`. */
export async function startBroker(): Promise<TestBroker> {
  const broker = await Aedes.createBroker({
    authenticate(_client, _username, password, done) {
      done(null, password?.toString() === 'secret');
    },
  });
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Received {
  readonly topic: string;
  readonly retain: boolean;
  readonly json: Record<string, unknown>;
}

/** An MQTT client that records every message under `rasid/v1/demo/#` and can wait for a condition. */
export class Watcher {
  readonly got: Received[] = [];
  private readonly waiters: (() => void)[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.got.push({ topic, retain: packet.retain, json: JSON.parse(payload.toString()) });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async start(url: string): Promise<Watcher> {
    const client = connect(url, { clientId: `watch-${randomUUID()}`, username: 'ops', password: 'secret' });
    const watcher = new Watcher(client);
    await client.subscribeAsync(`rasid/v1/${UTILITY}/#`, { qos: 1 });
    return watcher;
  }

  /** Messages on one meter's channel (or the gateway's status topic when `meterId` is a full topic). */
  on(meterId: string, channel: string): Received[] {
    return this.got.filter((m) => m.topic === `rasid/v1/${UTILITY}/meters/${meterId}/${channel}`);
  }

  /** Waits until `predicate` holds for the messages received so far. */
  async until(predicate: (got: Received[]) => boolean): Promise<void> {
    while (!predicate(this.got)) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Publishes a command on a meter's `down/cmd`, as Rasid's dispatcher does. */
  async send(meterId: string, command: Command): Promise<void> {
    await this.client.publishAsync(meterTopic(UTILITY, meterId, 'down/cmd'), encodeCommand(command), {
      qos: 1,
    });
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

/** The retained message of `topic`, as a client connecting now receives it. */
export async function retained(url: string, topic: string): Promise<Record<string, unknown>> {
  const client = connect(url, { clientId: `late-${randomUUID()}`, username: 'ops', password: 'secret' });
  try {
    const message = new Promise<Record<string, unknown>>((resolve) => {
      client.on('message', (_topic, payload, packet) => {
        if (packet.retain) resolve(JSON.parse(payload.toString()));
      });
    });
    await client.subscribeAsync(topic, { qos: 1 });
    return await message;
  } finally {
    await client.endAsync();
  }
}

/** A contract command valid for a day from now. */
export function command(body: Pick<Command, 'kind' | 'payload'>, id: string = randomUUID()): Command {
  const now = Date.now();
  return {
    v: 1,
    id,
    issuedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 86_400_000).toISOString(),
    ...body,
  } as Command;
}

/** A simulated electricity meter served over Modbus TCP on 127.0.0.1 (port 0). */
export async function startSimMeter(
  serial: string,
  initialCredit = 20_000,
): Promise<{ meter: SimMeter; server: ModbusMeterServer }> {
  const meter = new SimMeter(
    { serial, kind: 'electricity', seed: 7, sts: STS.params, initialCredit },
    { clock: new ManualClock(T0) },
  );
  const server = new ModbusMeterServer({ meter, port: 0 });
  await server.start();
  return { meter, server };
}

let tidStep = 0;
/** An STS credit token for the simulated meters' key, each with a fresh TID. */
export function creditToken(tenths: number): string {
  tidStep += 1;
  return encodeToken(
    { type: 'electricity-credit', rnd: 2, tid: tidFromDate(T0, 2014) + tidStep, value: tenths },
    { key: STS.params.decoderKey },
  ).token;
}

/** A TCP server that accepts connections and never answers a byte. */
export async function startSilentServer(): Promise<{
  port: number;
  bytesIn: () => number;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let bytes = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk) => {
      bytes += chunk.length;
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    bytesIn: () => bytes,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface TestMeter {
  readonly id: string;
  readonly port: number;
  readonly pollIntervalS?: number;
  readonly timeoutMs?: number;
}

/** A gateway configuration for Modbus TCP meters on 127.0.0.1 and the test broker. */
export function gatewayConfig(
  brokerUrl: string,
  meters: readonly TestMeter[],
  polling: Record<string, number> = {},
): GatewayConfig {
  return loadConfig({
    gatewayId: `gw-${randomUUID().slice(0, 8)}`,
    utility: UTILITY,
    broker: { url: brokerUrl, username: 'gw', password: 'secret', reconnectMs: 200 },
    polling: {
      intervalS: 3600,
      jitter: 0.1,
      concurrency: 4,
      timeoutMs: 5000,
      backoffInitialMs: 100,
      ...polling,
    },
    meters: meters.map((m) => ({
      id: m.id,
      protocol: 'modbus',
      connection: { type: 'tcp', host: '127.0.0.1', port: m.port },
      ...(m.pollIntervalS === undefined ? {} : { pollIntervalS: m.pollIntervalS }),
      ...(m.timeoutMs === undefined ? {} : { timeoutMs: m.timeoutMs }),
    })),
  });
}

/** A gateway over Modbus meters with the default drivers. */
export function modbusGateway(config: GatewayConfig): Gateway {
  return new Gateway({ config, createDriver: driverFactory() });
}
