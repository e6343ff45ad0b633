import { timingSafeEqual } from 'node:crypto';
import type { FastifyHelmetOptions } from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyError, FastifyInstance, FastifyPluginAsync } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import { AppError, type ErrorCode, problem } from './errors.ts';
import { refuseBadStrings } from './strings.ts';

/** A readiness probe: resolves when the dependency answers, rejects (or returns false) when it does not. */
export type ReadinessCheck = () => Promise<boolean>;

/** Routes added by the composition root (vending, accounts, ...); each is a Fastify plugin. */
export type RoutePlugin = FastifyPluginAsync;

export interface AppOptions {
  /** Version string reported by /healthz and the OpenAPI document. */
  readonly version: string;
  /** Injectable clock. */
  readonly now?: () => Date;
  /** Named readiness checks answered by /readyz. */
  readonly readiness?: Readonly<Record<string, ReadinessCheck>>;
  /** Prometheus registry exposed at /metrics. */
  readonly metrics?: Registry;
  /** Who may scrape /metrics: a bearer token; without one, loopback clients only. */
  readonly metricsToken?: string | undefined;
  /** Route plugins, registered in order after the shared plugins. */
  readonly routes?: readonly RoutePlugin[];
}

const PROBLEM_JSON = 'application/problem+json';

function sendProblem(
  reply: import('fastify').FastifyReply,
  code: ErrorCode,
  detail?: string,
  extra?: Record<string, unknown>,
) {
  const body = problem(code, detail, extra, reply.request.url);
  return reply.status(body.status).type(PROBLEM_JSON).send(body);
}

/**
 * Security headers on every answer (@fastify/helmet, registered on the root instance so the not-found
 * handler has them too); the web app's page sets its own policy with its import map's hash.
 */
export const SECURITY_HEADERS: FastifyHelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:', 'blob:'],
      connectSrc: ["'self'"],
      frameSrc: ["'self'", 'blob:'],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
  xFrameOptions: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
};

/** PostgreSQL SQLSTATE classes and socket errors that mean "the database is down or restarting". */
const DB_DOWN_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
]);

/** Whether an error says the database cannot be reached now (answered 503, not 500). */
export function databaseUnavailable(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (DB_DOWN_CODES.has(code) || code.startsWith('08')) return true;
    const message = typeof e.message === 'string' ? e.message : '';
    if (
      /Connection terminated|connection (?:is )?(?:closed|ended)|Client has encountered a connection error/i.test(
        message,
      )
    )
      return true;
    if (e instanceof AggregateError && e.errors.some((x) => databaseUnavailable(x))) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** /metrics: with a token, whoever presents it; without one, clients on this machine only. */
export function mayScrape(ip: string, authorization: string | undefined, token: string | undefined): boolean {
  if (token !== undefined) {
    const given = Buffer.from(authorization ?? '');
    const wanted = Buffer.from(`Bearer ${token}`);
    return given.length === wanted.length && timingSafeEqual(given, wanted);
  }
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
}

/** The Rasid HTTP application as a Fastify plugin (listening lives in src/server.ts). */
export const app: FastifyPluginAsync<AppOptions> = async (fastify: FastifyInstance, opts) => {
  const now = opts.now ?? (() => new Date());
  const startedAt = now();

  // External plugins first (docs/style.md practice 10).
  fastify.setValidatorCompiler(validatorCompiler);
  fastify.setSerializerCompiler(serializerCompiler);
  await fastify.register(swagger, {
    openapi: {
      info: {
        title: 'Rasid API',
        description: 'Prepaid smart-meter management: vending, accounts, meters and payments.',
        version: opts.version,
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await fastify.register(swaggerUi, { routePrefix: '/docs' });
  await fastify.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) =>
      new AppError('rate_limited', `Limit of ${ctx.max} requests per ${ctx.after} reached`),
  });

  fastify.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    if (err instanceof AppError)
      return sendProblem(reply, err.code, err.detail, err.extra as Record<string, unknown>);
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.map((v) => ({
        field: [err.validationContext, ...String(v.instancePath).split('/').filter(Boolean)].join('.'),
        message: v.message,
      }));
      const first = issues[0];
      return sendProblem(
        reply,
        'validation_failed',
        first ? `${first.field}: ${first.message}` : 'invalid request',
        { issues },
      );
    }
    if (isResponseSerializationError(err)) {
      request.log.error({ err, url: request.url }, 'response failed its schema');
      return sendProblem(reply, 'internal');
    }
    if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return sendProblem(reply, 'bad_json', err.message);
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendProblem(reply, 'payload_too_large');
    if (err.statusCode === 429) return sendProblem(reply, 'rate_limited', err.message);
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return sendProblem(reply, 'validation_failed', err.message);
    }
    if (databaseUnavailable(err)) {
      request.log.warn({ err: err.message }, 'database unavailable');
      return sendProblem(reply, 'unavailable', 'the database is not answering; retry shortly');
    }
    request.log.error({ err }, 'request failed');
    return sendProblem(reply, 'internal');
  });
  // One rule for every string of every route (path, query, JSON body, CSV text): no NUL byte, no lone
  // surrogate. PostgreSQL cannot store either; refused here, before the route's own schema sees them.
  fastify.addHook('preValidation', async (request) => refuseBadStrings(request));

  fastify.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 'route_not_found', `${request.method} ${request.url.split('?')[0]}`),
  );

  fastify.get('/healthz', { schema: { hide: true } }, async () => ({
    status: 'ok',
    version: opts.version,
    startedAt: startedAt.toISOString(),
    time: now().toISOString(),
  }));

  fastify.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const checks: Record<string, 'ok' | 'failing'> = {};
    for (const [name, check] of Object.entries(opts.readiness ?? {})) {
      checks[name] = await check().then(
        (ok) => (ok ? 'ok' : 'failing'),
        () => 'failing',
      );
    }
    const ready = Object.values(checks).every((c) => c === 'ok');
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });

  const registry = opts.metrics;
  if (registry) {
    fastify.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
      if (!mayScrape(request.ip, request.headers.authorization, opts.metricsToken)) {
        throw new AppError('unauthenticated', 'metrics need the METRICS_TOKEN bearer token');
      }
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  }

  fastify.get('/openapi.json', { schema: { hide: true } }, async () => fastify.swagger());

  for (const routes of opts.routes ?? []) await fastify.register(routes);
};
