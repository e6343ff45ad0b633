import type { Command } from 'commander';
import pino from 'pino';
import { loadConfig } from '../config.ts';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply the database migrations (PGlite in DATA_DIR, or DATABASE_URL) and print each result')
    .action(async () => {
      const config = loadConfig(process.env);
      const { createConfiguredStore } = await import('./store.ts');
      const { migrateToLatest } = await import('../store/migrate.ts');
      const log = pino({ level: config.logLevel });
      const store = await createConfiguredStore(config, 1);
      try {
        const outcome = await migrateToLatest(store.db);
        for (const r of outcome.results) process.stdout.write(`${r.migrationName}: ${r.status}\n`);
        if (outcome.results.length === 0) process.stdout.write('up to date\n');
        if (outcome.error !== undefined) {
          log.error({ err: outcome.error }, 'migration failed');
          process.exitCode = 1;
        } else {
          process.stdout.write(`${store.dialect}${store.timescale ? ' with TimescaleDB' : ''}: migrated\n`);
        }
      } finally {
        await store.close();
      }
    });
}
