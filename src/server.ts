import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { app, type RoutePlugin } from './api/app.ts';
import { auth } from './api/auth.ts';
import { adminRoutes } from './api/routes/admin.ts';
import { caseRoutes } from './api/routes/cases.ts';
import { customerRoutes } from './api/routes/customer.ts';
import { gatewayRoutes } from './api/routes/gateways.ts';
import { metersOnlineRoutes } from './api/routes/meters-online.ts';
import { operatorRoutes } from './api/routes/operator.ts';
import { paymentRoutes } from './api/routes/payments.ts';
import { reportRoutes } from './api/routes/reports.ts';
import { sessionRoutes } from './api/routes/sessions.ts';
import { staffExtraRoutes } from './api/routes/staff-extra.ts';
import { vendingRoutes } from './api/routes/vending.ts';
import type { Config } from './config.ts';
import { PaymentService } from './payments/service.ts';
import { type Core, openCore } from './roles/core.ts';
import { type MetersOnline, startMetersOnline } from './roles/meters-online.ts';
import { webRoutes } from './web/index.ts';

export const VERSION = '0.1.0';

export interface RunningServer {
  readonly fastify: FastifyInstance;
  readonly core: Core;
  /** The broker, ingest and workers this process runs (see config.roles). */
  readonly metersOnline: MetersOnline;
  /** The URL the server listens on, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  close(): Promise<void>;
}

/** Log redaction: secrets never reach a log line, whatever a handler logs. */
const REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["stripe-signature"]',
  '*.password',
  '*.vendingKey',
  '*.key',
  '*.masterKey',
];

export interface ServerOptions {
  readonly now?: () => Date;
  /** Where log lines go (default stdout); tests capture them. */
  readonly logDestination?: pino.DestinationStream;
  /** Extra route plugins (the web app, later roles). */
  readonly routes?: readonly RoutePlugin[];
  /** The Prometheus registry /metrics exposes (a new one with the default process metrics otherwise). */
  readonly registry?: Registry;
  /** The broker, ingest and workers of this process, when it runs them. */
  readonly metersOnline?: MetersOnline;
}

/** Builds the Fastify instance with Rasid's plugins and routes over an opened core, without listening. */
export async function buildServer(config: Config, core: Core, logger: Logger, opts: ServerOptions = {}) {
  const fastify = Fastify({ loggerInstance: logger as FastifyBaseLogger, trustProxy: true });
  const metrics = opts.registry ?? processRegistry();
  countRequests(fastify, metrics);
  // With PORT=0 the port is known only once listening: the base URL is worked out when first needed.
  const base = () => {
    if (config.publicUrl) return config.publicUrl.replace(/\/$/, '');
    const address = fastify.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    return `http://${config.host}:${port}`;
  };
  const payments = new PaymentService({
    db: core.store.db,
    provider: core.payments,
    vending: core.vending,
    ...(opts.now ? { now: opts.now } : {}),
  });
  await fastify.register(auth, { db: core.store.db, ...(opts.now ? { now: opts.now } : {}) });
  await fastify.register(app, {
    version: VERSION,
    metrics,
    readiness: {
      database: async () => {
        await core.store.db.selectFrom('utilities').select('id').limit(1).execute();
        return true;
      },
    },
    // Without the api role a process (a broker or worker node) serves only health, readiness and metrics.
    routes: !config.roles.has('api')
      ? []
      : [
          (f) =>
            sessionRoutes(f, {
              db: core.store.db,
              sessionTtlMs: config.sessionTtlMs,
              publicRateLimit: config.publicRateLimit,
            }),
          (f) =>
            vendingRoutes(f, {
              vending: core.vending,
              management: core.management,
              db: core.store.db,
              publicRateLimit: config.publicRateLimit,
            }),
          (f) =>
            paymentRoutes(f, {
              payments,
              vending: core.vending,
              returnUrl: () => `${base()}/topup`,
              publicRateLimit: config.publicRateLimit,
            }),
          (f) =>
            adminRoutes(f, {
              db: core.store.db,
              keys: core.keys,
              vending: core.vending,
              ...(opts.now ? { now: opts.now } : {}),
            }),
          (f) => caseRoutes(f, { db: core.store.db, ...(opts.now ? { now: opts.now } : {}) }),
          (f) => customerRoutes(f, { db: core.store.db, ...(opts.now ? { now: opts.now } : {}) }),
          (f) => operatorRoutes(f, { db: core.store.db, publicRateLimit: config.publicRateLimit }),
          (f) => reportRoutes(f, { db: core.store.db }),
          (f) => staffExtraRoutes(f, { db: core.store.db }),
          (f) => webRoutes(f, { db: core.store.db, publicRateLimit: config.publicRateLimit }),
          (f) =>
            metersOnlineRoutes(f, {
              db: core.store.db,
              dispatcher: opts.metersOnline?.dispatcher ?? null,
              brokerUrl: opts.metersOnline?.brokerUrl ?? null,
            }),
          (f) => gatewayRoutes(f, { db: core.store.db, keys: core.keys }),
          ...(opts.routes ?? []),
        ],
  });
  return fastify;
}

/**
 * `rasid_http_requests_total` and `rasid_http_request_seconds` by route pattern, method and status: vends
 * are the `POST /api/v1/vends` series (201 sold, 200 the same idempotency key again, 402 float short...).
 */
function countRequests(fastify: FastifyInstance, registry: Registry): void {
  const labelNames = ['route', 'method', 'status'] as const;
  const requests = new Counter({
    name: 'rasid_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status',
    labelNames,
    registers: [registry],
  });
  const seconds = new Histogram({
    name: 'rasid_http_request_seconds',
    help: 'HTTP response time by route pattern, method and status',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const labels = {
      route: request.routeOptions.url ?? 'unmatched',
      method: request.method,
      status: String(reply.statusCode),
    };
    requests.inc(labels);
    seconds.observe(labels, reply.elapsedTime / 1000);
  });
}

function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Opens the store and the other shared parts, starts the roles of config.roles (the broker with the ingest,
 * the workers) and the HTTP server, and returns a handle.
 */
export async function startServer(config: Config, opts: ServerOptions = {}): Promise<RunningServer> {
  const logger = pino(
    { level: config.logLevel, redact: { paths: REDACT, censor: '[redacted]' } },
    opts.logDestination ?? pino.destination(1),
  );
  const core = await openCore({ config, log: logger, ...(opts.now ? { now: opts.now } : {}) });
  const registry = opts.registry ?? processRegistry();
  let fastify: FastifyInstance;
  let metersOnline: MetersOnline | undefined;
  try {
    metersOnline = await startMetersOnline({
      core,
      config,
      log: logger,
      registry,
      ...(opts.now ? { now: opts.now } : {}),
    });
    fastify = await buildServer(config, core, logger, { ...opts, registry, metersOnline });
    await fastify.listen({ host: config.host, port: config.port });
  } catch (err) {
    await metersOnline?.close();
    await core.close();
    throw err;
  }
  const online = metersOnline;
  const address = fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host}:${port}`;
  core.localStripe?.setWebhookUrl(`${url}/api/v1/payments/stripe/webhook`);
  return {
    fastify,
    core,
    metersOnline: online,
    url,
    async close() {
      await fastify.close();
      await online.close();
      await core.close();
    },
  };
}
