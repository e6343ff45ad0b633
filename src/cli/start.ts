import type { Command } from 'commander';
import { loadConfig } from '../config.ts';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description(
      'start Rasid with every role in one process (embedded defaults); settings from the environment',
    )
    .option('--port <port>', 'HTTP port (overrides PORT)')
    .option('--host <host>', 'HTTP interface (overrides HOST)')
    .action(async (opts: { port?: string; host?: string }) => {
      const config = loadConfig({
        ...process.env,
        ...(opts.port !== undefined ? { PORT: opts.port } : {}),
        ...(opts.host !== undefined ? { HOST: opts.host } : {}),
      });
      // Loaded on demand so the other subcommands start quickly.
      const { startServer } = await import('../server.ts');
      const server = await startServer(config);
      server.fastify.log.info({ url: server.url, docs: `${server.url}/docs` }, 'rasid started');
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          server.fastify.log.info('rasid stopping');
          void server.close().then(resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
