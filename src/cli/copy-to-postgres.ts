import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { UsageError } from './errors.ts';

export function registerCopyToPostgresCommand(program: Command): void {
  program
    .command('copy-to-postgres')
    .description(
      'copy the embedded store (PGlite in DATA_DIR) into an empty PostgreSQL database, then set DATABASE_URL to it',
    )
    .requiredOption(
      '--to <url>',
      'the PostgreSQL database to copy into (postgres://user@host:5432/name); must be empty',
    )
    .option('--batch <rows>', 'rows per statement', '5000')
    .addHelpText(
      'after',
      [
        '',
        'Stop Rasid first: the embedded store is read while nothing else writes it.',
        'Both stores are migrated to the same schema; every table is copied in dependency order, identity',
        'sequences moved past the copied ids, and the row count of each table checked against the source.',
        'A target that already holds data is refused. DATA_DIR is left as it was.',
        '',
        'Example:',
        '  rasid copy-to-postgres --to postgres://rasid@db.example:5432/rasid',
        '  DATABASE_URL=postgres://rasid@db.example:5432/rasid rasid start',
      ].join('\n'),
    )
    .action(async (flags: { to: string; batch: string }) => {
      const batchRows = Number(flags.batch);
      if (!Number.isInteger(batchRows) || batchRows < 1)
        throw new UsageError('--batch: a positive whole number');
      if (!/^postgres(ql)?:\/\//.test(flags.to)) throw new UsageError('--to: a postgres:// URL');
      // The source is the embedded store whatever DATABASE_URL says.
      const { DATABASE_URL: _ignored, ...env } = process.env;
      const config = loadConfig(env);
      const { createDatabase } = await import('../store/db.ts');
      const { migrateToLatest } = await import('../store/migrate.ts');
      const { copyStore, TargetNotEmptyError } = await import('../store/copy.ts');
      const migrated = async (store: Awaited<ReturnType<typeof createDatabase>>, what: string) => {
        const outcome = await migrateToLatest(store.db);
        if (outcome.error !== undefined) {
          const reason = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
          throw new Error(`migrating ${what} failed: ${reason}`);
        }
      };
      const source = await createDatabase({ dataDir: config.dataDir });
      try {
        await migrated(source, `the embedded store in ${config.dataDir}`);
        const target = await createDatabase({ databaseUrl: flags.to, dataDir: config.dataDir, poolSize: 1 });
        try {
          await migrated(target, 'the target database');
          const bar = process.stderr.isTTY
            ? new cliProgress.SingleBar(
                {
                  format: 'copy {bar} {value}/{total} rows | {table} | {eta_formatted} left',
                  stream: process.stderr,
                },
                cliProgress.Presets.shades_classic,
              )
            : null;
          let started = false;
          let lastLine = 0;
          const copied = await copyStore(source.db, target.db, {
            batchRows,
            onProgress: ({ total, done, table }) => {
              if (bar !== null) {
                if (!started) bar.start(total, 0, { table });
                started = true;
                bar.update(done, { table });
              } else if (Date.now() - lastLine > 2000 || done === total) {
                // Not a terminal (a log, a pipe): a line now and then.
                lastLine = Date.now();
                process.stderr.write(`copy: ${done}/${total} rows (${table})\n`);
              }
            },
          }).catch((err: unknown) => {
            if (err instanceof TargetNotEmptyError) throw new UsageError(err.message);
            throw err;
          });
          bar?.stop();
          const rows = copied.reduce((s, t) => s + t.rows, 0);
          for (const t of copied) if (t.rows > 0) process.stdout.write(`${t.table}: ${t.rows} rows\n`);
          process.stdout.write(
            `copied ${rows} rows in ${copied.length} tables, row counts verified; now start Rasid with DATABASE_URL set to the target\n`,
          );
        } finally {
          await target.close();
        }
      } finally {
        await source.close();
      }
    });
}
