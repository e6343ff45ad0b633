import type { FastifyInstance, FastifyPluginAsync } from 'fastify';

export interface AppOptions {
  /** Version string reported by /healthz. */
  readonly version: string;
  /** Injectable clock. */
  readonly now?: () => Date;
}

/** The Rasid HTTP application as a Fastify plugin (listening lives in src/server.ts). */
export const app: FastifyPluginAsync<AppOptions> = async (fastify: FastifyInstance, opts) => {
  const now = opts.now ?? (() => new Date());
  const startedAt = now();
  fastify.get('/healthz', async () => ({
    status: 'ok',
    version: opts.version,
    startedAt: startedAt.toISOString(),
    time: now().toISOString(),
  }));
};
