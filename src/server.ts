import Fastify, { type FastifyInstance } from 'fastify';
import { app } from './api/app.ts';
import type { Config } from './config.ts';

export const VERSION = '0.1.0';

export interface RunningServer {
  readonly fastify: FastifyInstance;
  /** The URL the server listens on, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  close(): Promise<void>;
}

/** Builds the Fastify instance with Rasid's application plugin, without listening. */
export async function buildServer(config: Config): Promise<FastifyInstance> {
  const fastify = Fastify({ logger: { level: config.logLevel } });
  await fastify.register(app, { version: VERSION });
  return fastify;
}

/** Starts the server and returns a handle with a graceful close. */
export async function startServer(config: Config): Promise<RunningServer> {
  const fastify = await buildServer(config);
  await fastify.listen({ host: config.host, port: config.port });
  const address = fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return {
    fastify,
    url: `http://${config.host}:${port}`,
    close: () => fastify.close(),
  };
}
