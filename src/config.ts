import { z } from 'zod';

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
    /** pino log level. */
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Folder for embedded data (the PGlite database, simulator state). */
    DATA_DIR: z.string().min(1).default('.data'),
    /** Deployment name shown in logs and /healthz. */
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  })
  .transform((env) =>
    Object.freeze({
      host: env.HOST,
      port: env.PORT,
      logLevel: env.LOG_LEVEL,
      dataDir: env.DATA_DIR,
      nodeEnv: env.NODE_ENV,
    }),
  );

export type Config = z.output<typeof ConfigSchema>;

/** Parses and freezes the configuration; throws a ZodError that names the variable at fault. */
export function loadConfig(source: Readonly<Record<string, string | undefined>>): Config {
  return ConfigSchema.parse(source);
}
