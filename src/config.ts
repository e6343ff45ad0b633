import { z } from 'zod';

/** The parts of Rasid one process can run (ROLES). */
export type ProcessRole = 'api' | 'broker' | 'workers';

const KEY_HEX = /^[0-9a-fA-F]{64}$/;

/** A 32-byte key given as 64 hex digits or base64; undefined when unset. */
const key32 = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v === '') return undefined;
    const bytes = KEY_HEX.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64');
    if (bytes.length !== 32) {
      ctx.addIssue({ code: 'custom', message: 'must be 32 bytes: 64 hex digits or base64' });
      return z.NEVER;
    }
    return bytes;
  });

/**
 * Every setting Rasid reads, parsed once at the edge (STYLE.md practice 11). The source is usually
 * `process.env`; tests pass plain objects. Each variable is documented in README.md ("Configuration").
 */
export const ConfigSchema = z
  .object({
    /** Interface the HTTP server binds to. */
    HOST: z.string().min(1).default('127.0.0.1'),
    /** HTTP port of the API and web app; 0 picks a free port. */
    PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
    /** The address customers' browsers reach Rasid at (payment return links); default http://HOST:PORT. */
    PUBLIC_URL: z.url().optional(),
    /** pino log level. */
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Folder for embedded data (the PGlite database, the development master key, simulator state). */
    DATA_DIR: z.string().min(1).default('.data'),
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    /** PostgreSQL connection string; unset = embedded PGlite in DATA_DIR. */
    DATABASE_URL: z.string().min(1).optional(),
    /** Connections in the PostgreSQL pool. */
    DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(16),
    /** Master key (32 bytes, hex or base64) encrypting vending keys at rest. Required in production. */
    VENDING_MASTER_KEY: key32,
    /** Minutes after a vend during which an unused token may be reversed. */
    REVERSAL_WINDOW_MINUTES: z.coerce
      .number()
      .int()
      .min(0)
      .max(60 * 24 * 31)
      .default(24 * 60),
    /** Hours a person's session lasts. */
    SESSION_TTL_HOURS: z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 30)
      .default(12),
    /** Stripe secret API key; unset = online payments use the local Stripe-compatible server (development). */
    STRIPE_SECRET_KEY: z.string().min(1).optional(),
    /** Stripe webhook signing secret (whsec_…). */
    STRIPE_WEBHOOK_SECRET: z.string().min(1).optional(),
    /** Stripe API base URL; only for a Stripe-compatible test server. */
    STRIPE_API_BASE: z.url().optional(),
    /** Requests per minute per client on public routes (meter lookup, quote, checkout, sign-in). */
    PUBLIC_RATE_LIMIT: z.coerce.number().int().min(1).default(60),
    /** The roles this process runs: `all`, or a comma list of api, broker, workers (see docs/deploy.md). */
    ROLES: z
      .string()
      .default('all')
      .transform((v, ctx) => {
        const names = v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
        const all = ['api', 'broker', 'workers'] as const;
        if (names.length === 1 && names[0] === 'all') return new Set<ProcessRole>(all);
        for (const name of names) {
          if (!(all as readonly string[]).includes(name)) {
            ctx.addIssue({ code: 'custom', message: `unknown role ${name}: one of all, ${all.join(', ')}` });
            return z.NEVER;
          }
        }
        return new Set(names as ProcessRole[]);
      }),
    /** Interface of the embedded MQTT broker. */
    MQTT_HOST: z.string().min(1).default('127.0.0.1'),
    /** Port of the embedded MQTT broker; 0 picks a free port. Ignored when MQTT_URL is set. */
    MQTT_PORT: z.coerce.number().int().min(0).max(65_535).default(1883),
    /** Optional TLS listener of the embedded broker (needs MQTT_TLS_CERT and MQTT_TLS_KEY). */
    MQTT_TLS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
    MQTT_TLS_CERT: z.string().min(1).optional(),
    MQTT_TLS_KEY: z.string().min(1).optional(),
    /** Optional WebSocket listener of the embedded broker (path /mqtt). */
    MQTT_WS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
    /** The broker URL meters are told to use (commissioning); default mqtt://MQTT_HOST:<port>. */
    MQTT_PUBLIC_URL: z.string().min(1).optional(),
    /** An external broker (cluster) instead of the embedded one, e.g. mqtt://broker:1883. */
    MQTT_URL: z.string().min(1).optional(),
    /** Credentials of Rasid's workers on the external broker. */
    MQTT_USERNAME: z.string().min(1).optional(),
    MQTT_PASSWORD: z.string().min(1).optional(),
    /** Stable client-id prefix of this node's workers on the external broker (persistent sessions). */
    MQTT_CLIENT_ID: z.string().min(1).optional(),
    /** Prefix of the shared-subscription groups on the external broker (`<prefix>-ingest`, `<prefix>-commands`). */
    MQTT_SHARE_GROUP: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/)
      .default('rasid'),
    /** Seconds the external broker keeps a worker's session (and queues its messages) while it is away. */
    MQTT_SESSION_EXPIRY_SECONDS: z.coerce.number().int().min(0).default(86_400),
    /** Ingest connections to the external broker, sharing the load in one shared-subscription group. */
    MQTT_INGEST_CLIENTS: z.coerce.number().int().min(1).max(64).default(8),
    /** Seconds between balance-engine passes. */
    BALANCE_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(60),
    /** Seconds between command-dispatch passes (queued, retries, expiry). */
    DISPATCH_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(10),
    /** Seconds between notification-outbox passes. */
    OUTBOX_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(5),
    /** SMTP server for e-mail notifications, e.g. smtp://user:pass@mail:587; unset = no e-mail channel. */
    SMTP_URL: z.string().min(1).optional(),
    /** The utility's systems' webhook for balance events (low credit, disconnect, reconnect); unset = none. */
    NOTIFY_WEBHOOK_URL: z.url().optional(),
    /** The HMAC secret shared with that webhook's receiver (required with NOTIFY_WEBHOOK_URL). */
    NOTIFY_WEBHOOK_SECRET: z.string().min(16).optional(),
    /** Sender address of e-mail notifications. */
    SMTP_FROM: z.string().min(1).default('Rasid <no-reply@localhost>'),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && !env.VENDING_MASTER_KEY) {
      ctx.addIssue({ code: 'custom', path: ['VENDING_MASTER_KEY'], message: 'is required in production' });
    }
    if (env.STRIPE_SECRET_KEY && !env.STRIPE_WEBHOOK_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['STRIPE_WEBHOOK_SECRET'],
        message: 'is required when STRIPE_SECRET_KEY is set (webhooks are always verified)',
      });
    }
    if (env.NOTIFY_WEBHOOK_URL && !env.NOTIFY_WEBHOOK_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['NOTIFY_WEBHOOK_SECRET'],
        message: 'is required with NOTIFY_WEBHOOK_URL (webhooks are always signed)',
      });
    }
    if (env.MQTT_TLS_PORT !== undefined && !(env.MQTT_TLS_CERT && env.MQTT_TLS_KEY)) {
      ctx.addIssue({
        code: 'custom',
        path: ['MQTT_TLS_PORT'],
        message: 'needs MQTT_TLS_CERT and MQTT_TLS_KEY',
      });
    }
  })
  .transform((env) =>
    Object.freeze({
      host: env.HOST,
      port: env.PORT,
      publicUrl: env.PUBLIC_URL,
      logLevel: env.LOG_LEVEL,
      dataDir: env.DATA_DIR,
      nodeEnv: env.NODE_ENV,
      databaseUrl: env.DATABASE_URL,
      dbPoolSize: env.DB_POOL_SIZE,
      vendingMasterKey: env.VENDING_MASTER_KEY,
      reversalWindowMs: env.REVERSAL_WINDOW_MINUTES * 60_000,
      sessionTtlMs: env.SESSION_TTL_HOURS * 3_600_000,
      stripe: Object.freeze({
        secretKey: env.STRIPE_SECRET_KEY,
        webhookSecret: env.STRIPE_WEBHOOK_SECRET,
        apiBase: env.STRIPE_API_BASE,
      }),
      publicRateLimit: env.PUBLIC_RATE_LIMIT,
      roles: env.ROLES as ReadonlySet<ProcessRole>,
      mqtt: Object.freeze({
        host: env.MQTT_HOST,
        port: env.MQTT_PORT,
        tlsPort: env.MQTT_TLS_PORT,
        tlsCert: env.MQTT_TLS_CERT,
        tlsKey: env.MQTT_TLS_KEY,
        wsPort: env.MQTT_WS_PORT,
        publicUrl: env.MQTT_PUBLIC_URL,
        url: env.MQTT_URL,
        username: env.MQTT_USERNAME,
        password: env.MQTT_PASSWORD,
        clientId: env.MQTT_CLIENT_ID,
        ingestClients: env.MQTT_INGEST_CLIENTS,
        shareGroup: env.MQTT_SHARE_GROUP,
        sessionExpirySeconds: env.MQTT_SESSION_EXPIRY_SECONDS,
      }),
      balanceIntervalMs: env.BALANCE_INTERVAL_SECONDS * 1000,
      dispatchIntervalMs: env.DISPATCH_INTERVAL_SECONDS * 1000,
      outboxIntervalMs: env.OUTBOX_INTERVAL_SECONDS * 1000,
      smtp: Object.freeze({ url: env.SMTP_URL, from: env.SMTP_FROM }),
      webhook: Object.freeze({ url: env.NOTIFY_WEBHOOK_URL, secret: env.NOTIFY_WEBHOOK_SECRET }),
    }),
  );

export type Config = z.output<typeof ConfigSchema>;

/** Parses and freezes the configuration; throws a ZodError that names the variable at fault. */
export function loadConfig(source: Readonly<Record<string, string | undefined>>): Config {
  return ConfigSchema.parse(source);
}
