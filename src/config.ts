import { z } from 'zod';

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
    }),
  );

export type Config = z.output<typeof ConfigSchema>;

/** Parses and freezes the configuration; throws a ZodError that names the variable at fault. */
export function loadConfig(source: Readonly<Record<string, string | undefined>>): Config {
  return ConfigSchema.parse(source);
}
