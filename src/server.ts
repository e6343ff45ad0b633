import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import helmet from '@fastify/helmet';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import pino, { type Logger } from 'pino';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { app, mayScrape, type RoutePlugin, SECURITY_HEADERS } from './api/app.ts';
import { auth } from './api/auth.ts';
import { adminRoutes } from './api/routes/admin.ts';
import { arrearsRoutes } from './api/routes/arrears.ts';
import { caseRoutes } from './api/routes/cases.ts';
import { contactCentreRoutes } from './api/routes/contact-centre.ts';
import { customerRoutes } from './api/routes/customer.ts';
import { deceasedRoutes } from './api/routes/deceased.ts';
import { fieldRoutes } from './api/routes/field.ts';
import { gatewayRoutes } from './api/routes/gateways.ts';
import { importRoutes } from './api/routes/imports.ts';
import { lossRoutes } from './api/routes/losses.ts';
import { meterLifecycleRoutes } from './api/routes/meter-lifecycle.ts';
import { metersOnlineRoutes } from './api/routes/meters-online.ts';
import { notificationRoutes } from './api/routes/notifications.ts';
import { operatorRoutes } from './api/routes/operator.ts';
import { paymentRoutes } from './api/routes/payments.ts';
import { reportRoutes } from './api/routes/reports.ts';
import { sessionRoutes } from './api/routes/sessions.ts';
import { setupRoutes } from './api/routes/setup.ts';
import { staffExtraRoutes } from './api/routes/staff-extra.ts';
import { statementRoutes } from './api/routes/statements.ts';
import { utilityRoutes } from './api/routes/utilities.ts';
import { vendingRoutes } from './api/routes/vending.ts';
import type { Config } from './config.ts';
import { PaymentService } from './payments/service.ts';
import { type Core, openCore } from './roles/core.ts';
import { type MetersOnline, startMetersOnline } from './roles/meters-online.ts';
import { MeterSecretKey } from './security/secrets.ts';
import { issueSetupCode } from './utilities/setup.ts';
import { webRoutes } from './web/index.ts';

export const VERSION = '0.1.0';

export interface RunningServer {
  readonly fastify: FastifyInstance;
  readonly core: Core;
  /** The broker, ingest and workers this process runs (see config.roles). */
  readonly metersOnline: MetersOnline;
  /** The URL the server listens on, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** Where Prometheus scrapes: /metrics on the API port, or on METRICS_PORT's own listener. */
  readonly metricsUrl: string;
  close(): Promise<void>;
}

/** Log redaction: secrets never reach a log line, whatever a handler logs. */
const REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["stripe-signature"]',
  'req.headers["thawani-signature"]',
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
  /** Where a fresh install's one-time setup code is printed (default standard error). */
  readonly setupOutput?: { write(text: string): unknown };
}

/** Builds the Fastify instance with Rasid's plugins and routes over an opened core, without listening. */
export async function buildServer(config: Config, core: Core, logger: Logger, opts: ServerOptions = {}) {
  const fastify = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Only configured proxies may say who the client is; otherwise X-Forwarded-For is ignored.
    trustProxy: config.trustedProxies.length > 0 ? [...config.trustedProxies] : false,
    // A client that opens a connection and sends slowly, or not at all, is not held for long.
    requestTimeout: config.http.requestTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    // The app plugin opens the store and the broker: on a busy machine that takes longer than Fastify's
    // default 10 s, which stopped the start ("Plugin did not start in time").
    pluginTimeout: 120_000,
    http: {
      headersTimeout: config.http.headersTimeoutMs,
      requestTimeout: config.http.requestTimeoutMs,
      // How often Node checks those timeouts (30 s by default, which would hold a silent client that long).
      connectionsCheckingInterval: Math.min(1000, config.http.headersTimeoutMs),
    },
  });
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
    registry: core.payments,
    vending: core.vending,
    ...(opts.now ? { now: opts.now } : {}),
  });
  await fastify.register(helmet, SECURITY_HEADERS);
  await fastify.register(auth, { db: core.store.db, ...(opts.now ? { now: opts.now } : {}) });
  await fastify.register(app, {
    version: VERSION,
    // With METRICS_PORT the metrics have their own listener (startServer) and none on this one.
    ...(config.metrics.port === undefined ? { metrics } : {}),
    metricsToken: config.metrics.token,
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
              ...(opts.now ? { now: opts.now } : {}),
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
              db: core.store.db,
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
          (f) => fieldRoutes(f, { db: core.store.db, ...(opts.now ? { now: opts.now } : {}) }),
          (f) =>
            caseRoutes(f, {
              db: core.store.db,
              surveyLink: (token) => `${base()}/#/survey/${token}`,
              ...(opts.now ? { now: opts.now } : {}),
            }),
          (f) =>
            contactCentreRoutes(f, {
              db: core.store.db,
              surveyLink: (token) => `${base()}/#/survey/${token}`,
              ...(opts.now ? { now: opts.now } : {}),
            }),
          (f) => customerRoutes(f, { db: core.store.db, ...(opts.now ? { now: opts.now } : {}) }),
          (f) => operatorRoutes(f, { db: core.store.db, publicRateLimit: config.publicRateLimit }),
          (f) => reportRoutes(f, { db: core.store.db }),
          (f) => lossRoutes(f, { db: core.store.db }),
          (f) =>
            statementRoutes(f, {
              db: core.store.db,
              publicRateLimit: config.publicRateLimit,
              ...(opts.now ? { now: opts.now } : {}),
            }),
          (f) => staffExtraRoutes(f, { db: core.store.db }),
          (f) => deceasedRoutes(f, { db: core.store.db, ...(opts.now ? { now: opts.now } : {}) }),
          (f) => utilityRoutes(f, { db: core.store.db }),
          (f) => arrearsRoutes(f, { db: core.store.db }),
          (f) => setupRoutes(f, { db: core.store.db }),
          (f) => webRoutes(f, { db: core.store.db, publicRateLimit: config.publicRateLimit }),
          (f) =>
            metersOnlineRoutes(f, {
              db: core.store.db,
              dispatcher: opts.metersOnline?.dispatcher ?? null,
              brokerUrl: opts.metersOnline?.brokerUrl ?? null,
              meterSecretKey: new MeterSecretKey(core.keys.meterSecretKey()),
            }),
          (f) => gatewayRoutes(f, { db: core.store.db, keys: core.keys }),
          (f) => notificationRoutes(f, { db: core.store.db, keys: core.keys, config }),
          (f) =>
            importRoutes(f, {
              db: core.store.db,
              brokerUrl: opts.metersOnline?.brokerUrl ?? null,
              meterSecretKey: new MeterSecretKey(core.keys.meterSecretKey()),
            }),
          (f) =>
            meterLifecycleRoutes(f, {
              db: core.store.db,
              management: core.management,
              ...(opts.metersOnline?.engine
                ? {
                    settle: async (meterId) => {
                      await opts.metersOnline?.runBalance({ meterIds: [meterId] });
                    },
                  }
                : {}),
              ...(opts.now ? { now: opts.now } : {}),
            }),
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

/**
 * `rasid_database_up`: 1 when the store answers a query within 2 s, else 0, asked at each scrape (the
 * "database down" alert of deploy/prometheus/alerts.yml).
 */
function databaseGauge(registry: Registry, core: Core): void {
  if (registry.getSingleMetric('rasid_database_up') !== undefined) return;
  new Gauge({
    name: 'rasid_database_up',
    help: 'Whether the database answered a query within 2 s at this scrape (1) or not (0)',
    registers: [registry],
    async collect() {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), 2000);
      });
      const ok = await Promise.race([
        sql`select 1`.execute(core.store.db).then(
          () => true,
          () => false,
        ),
        timeout,
      ]);
      clearTimeout(timer);
      this.set(ok ? 1 : 0);
    },
  });
}

/** The METRICS_PORT listener: GET /metrics (with METRICS_TOKEN, its bearer token) and nothing else. */
async function listenMetrics(config: Config, registry: Registry): Promise<HttpServer> {
  const server = createHttpServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (
      config.metrics.token !== undefined &&
      !mayScrape('', req.headers.authorization, config.metrics.token)
    ) {
      res
        .writeHead(401, { 'content-type': 'text/plain' })
        .end('metrics need the METRICS_TOKEN bearer token\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  server.headersTimeout = config.http.headersTimeoutMs;
  server.requestTimeout = config.http.requestTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.metrics.port, config.host, () => resolve());
  });
  return server;
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
  databaseGauge(registry, core);
  let fastify: FastifyInstance;
  let metersOnline: MetersOnline | undefined;
  let metricsServer: HttpServer | undefined;
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
    if (config.metrics.port !== undefined) metricsServer = await listenMetrics(config, registry);
  } catch (err) {
    metricsServer?.close();
    await metersOnline?.close();
    await core.close();
    throw err;
  }
  const online = metersOnline;
  const address = fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host}:${port}`;
  core.localStripe?.setWebhookUrl(`${url}/api/v1/payments/stripe/webhook`);
  if (config.roles.has('api')) {
    // A fresh install: the first-run screen's one-time code, printed once (only its hash is stored).
    const code = await issueSetupCode(core.store.db);
    if (code !== null) {
      const base = (config.publicUrl ?? url).replace(/\/$/, '');
      (opts.setupOutput ?? process.stderr).write(
        [
          '',
          'Rasid has no utility yet. Make the first one with `bin/rasid init` (see --help),',
          `or open ${base}/#/setup and enter this one-time setup code:`,
          '',
          `    ${code}`,
          '',
          '',
        ].join('\n'),
      );
    }
  }
  return {
    fastify,
    core,
    metersOnline: online,
    url,
    metricsUrl:
      metricsServer === undefined
        ? `${url}/metrics`
        : `http://${config.host}:${(metricsServer.address() as AddressInfo).port}/metrics`,
    async close() {
      if (metricsServer) await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      await fastify.close();
      await online.close();
      await core.close();
    },
  };
}
