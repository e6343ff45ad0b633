/**
 * `rasid copy-to-postgres`: an embedded store with a demo utility (meters, readings, sales, ledgers, audit)
 * copied into an empty PostgreSQL database by the real command; every table's rows the same, sums and ids
 * kept, new rows get new ids after the copied ones; a second copy into the now non-empty database refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { seedDemo } from '../../src/demo/seed.ts';
import { openCore } from '../../src/roles/core.ts';
import { tablesInDependencyOrder } from '../../src/store/copy.ts';
import { createDatabase, type Store } from '../../src/store/db.ts';
import { runCli } from '../support/cli.ts';
import { TEST_DATABASE_URL } from '../support/db.ts';

const name = `rasid_copy_${randomBytes(6).toString('hex')}`;
const url = (() => {
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${name}`;
  return u.toString();
})();
const masterKey = randomBytes(32).toString('hex');
let dataDir: string;

async function admin<T>(work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'rasid-copy-'));
  const core = await openCore({
    config: loadConfig({ DATA_DIR: dataDir, VENDING_MASTER_KEY: masterKey }),
    log: pino({ level: 'silent' }),
  });
  await seedDemo(core.store.db, core.keys, { meters: 4, historyDays: 2 });
  // Two kiosk sales: vends, tokens, both ledgers, audit rows.
  const db = core.store.db;
  const kiosk = await db
    .selectFrom('kiosks')
    .select(['id', 'vendor_id', 'utility_id'])
    .executeTakeFirstOrThrow();
  const meters = await db.selectFrom('meters').select('serial').orderBy('serial').limit(2).execute();
  for (const [i, m] of meters.entries()) {
    await core.vending.vend({
      utilityId: kiosk.utility_id,
      meter: m.serial,
      amountMinor: 5000n + BigInt(i),
      channel: { kind: 'vendor', vendorId: kiosk.vendor_id, kioskId: kiosk.id },
      idempotencyKey: `copy-test-${i}`,
      actor: `kiosk:${kiosk.id}`,
    });
  }
  await core.close();
  await admin((c) => c.query(`create database ${name}`));
}, 300_000);

afterAll(async () => {
  await admin((c) => c.query(`drop database if exists ${name} with (force)`));
  await rm(dataDir, { recursive: true, force: true });
});

/** Every copied table's row count, and figures that show the rows are the same rows. */
async function picture(store: Store) {
  const counts: Record<string, number> = {};
  for (const table of await tablesInDependencyOrder(store.db)) {
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)}`.execute(
      store.db,
    );
    counts[table] = Number(rows[0]!.n);
  }
  const { rows } = await sql<Record<string, string | null>>`
    select (select sum(amount_minor)::text from account_ledger) as ledger,
           (select max(id)::text from account_ledger) as ledger_max,
           (select string_agg(serial || ':' || coalesce(mqtt_password_hash, ''), ',' order by serial) from meters) as meters,
           (select sum(energy_wh)::text from readings) as energy,
           (select string_agg(md5(details::text), ',' order by id) from audit_log) as audit,
           (select string_agg(encode(sha256(ciphertext), 'hex'), ',' order by id) from vending_keys) as keys,
           (select string_agg(id::text || ':' || coalesce(payment_id::text, '-'), ',' order by id) from vends) as vends
  `.execute(store.db);
  return { counts, figures: rows[0]! };
}

test('copies every table of the embedded store into an empty PostgreSQL database, then refuses a second copy', async () => {
  const env = { DATA_DIR: dataDir, VENDING_MASTER_KEY: masterKey };
  const help = await runCli(['copy-to-postgres', '--help'], { env });
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('--to <url>');

  const source = await createDatabase({ dataDir });
  const before = await picture(source);
  await source.close();
  expect(before.counts.readings).toBeGreaterThan(0);
  expect(before.counts.meters).toBe(4);
  expect(before.figures.ledger_max).not.toBeNull();
  expect(before.counts.vends).toBe(2);

  const copy = await runCli(['copy-to-postgres', '--to', url], { env, timeoutMs: 600_000 });
  expect(copy.stderr).not.toMatch(/error|failed/i);
  expect(copy.code).toBe(0);
  expect(copy.stdout).toMatch(/copied \d+ rows in \d+ tables, row counts verified/);

  const target = await createDatabase({ databaseUrl: url, dataDir: ':memory:', poolSize: 1 });
  try {
    const after = await picture(target);
    expect(after).toEqual(before);
    // The identity sequences moved past the copied ids: a new ledger entry comes after them.
    const { rows } = await sql<{ id: string }>`
      insert into account_ledger (utility_id, account_id, kind, amount_minor, ref)
      select utility_id, account_id, 'adjustment', 1, 'test:after-copy' from account_ledger limit 1
      returning id::text`.execute(target.db);
    expect(BigInt(rows[0]!.id)).toBeGreaterThan(BigInt(before.figures.ledger_max!));
  } finally {
    await target.close();
  }

  const again = await runCli(['copy-to-postgres', '--to', url], { env, timeoutMs: 300_000 });
  expect(again.code).toBe(2);
  expect(again.stderr).toContain('already holds data');
}, 900_000);
