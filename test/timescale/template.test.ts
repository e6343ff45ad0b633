// The test fixtures copy a migrated template database per test. On TimescaleDB the extension's scheduler
// connects to every database that has the extension and used to keep the copy refused ("source database is
// being accessed by other users"); sealTemplate ends it and keeps it out (vitest.timescale.config.ts).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { expect, test } from 'vitest';
import { sealTemplate, TEST_DATABASE_URL } from '../support/db.ts';

function urlOf(name: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

test('a database with the extension and its scheduler attached can be sealed and copied', async () => {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  const name = `rasid_tpl_seal_${randomBytes(4).toString('hex')}`;
  const copies: string[] = [];
  try {
    await admin.query(`create database "${name}"`);
    const client = new pg.Client({ connectionString: urlOf(name) });
    await client.connect();
    await client.query('create extension timescaledb');
    await client.end();
    // The launcher starts a scheduler for the new database.
    await expect
      .poll(
        async () =>
          (
            await admin.query<{ n: number }>(
              `select count(*)::int as n from pg_stat_activity
                where datname = $1 and backend_type like '%TimescaleDB Background Worker Scheduler%'`,
              [name],
            )
          ).rows[0]?.n,
        { timeout: 30_000, interval: 100 },
      )
      .toBe(1);
    await sealTemplate(admin, name);
    for (let i = 0; i < 2; i++) {
      const copy = `rasid_t_seal_${randomBytes(4).toString('hex')}`;
      await admin.query(`create database "${copy}" template "${name}"`);
      copies.push(copy);
    }
    expect(copies).toHaveLength(2);
  } finally {
    for (const copy of copies) await admin.query(`drop database if exists "${copy}" with (force)`);
    await admin
      .query(`alter database "${name}" with is_template false allow_connections true`)
      .catch(() => {});
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
});
