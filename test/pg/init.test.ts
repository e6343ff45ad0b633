import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createDatabase } from '../../src/store/db.ts';
import { runCli } from '../support/cli.ts';
import { TEST_DATABASE_URL } from '../support/db.ts';

// An empty database (no template): `rasid init` must migrate it first.
const name = `rasid_init_${randomBytes(6).toString('hex')}`;
const url = (() => {
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${name}`;
  return u.toString();
})();

async function admin<T>(work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

beforeAll(() => admin((c) => c.query(`create database ${name}`)));
afterAll(() => admin((c) => c.query(`drop database if exists ${name} with (force)`)));

async function rows() {
  const store = await createDatabase({ databaseUrl: url, dataDir: ':memory:', poolSize: 1 });
  try {
    return {
      utilities: await store.db.selectFrom('utilities').selectAll().orderBy('code').execute(),
      users: await store.db.selectFrom('users').selectAll().orderBy('created_at').execute(),
      audit: await store.db.selectFrom('audit_log').select(['action', 'details']).orderBy('id').execute(),
    };
  } finally {
    await store.close();
  }
}

test('rasid init on PostgreSQL: migrates an empty database, creates two utilities each with its own admin, refuses the same code twice', async () => {
  const env = { DATABASE_URL: url, RASID_ADMIN_PASSWORD: 'kuwait-admin-pass' };
  const args = (code: string, currency: string) => [
    'init',
    '--utility',
    code,
    '--name',
    `${code} utility`,
    '--currency',
    currency,
    '--timezone',
    'Asia/Kuwait',
    '--weekend',
    'fri,sat',
    '--admin',
    'admin',
  ];
  const kw = await runCli(args('kuwait', 'KWD'), { env, timeoutMs: 60_000 });
  expect(kw.stderr).toBe('');
  expect(kw.code).toBe(0);
  expect(kw.stdout).toContain('utility kuwait created (KWD, 3 decimals) on postgres');
  const bh = await runCli(args('manama', 'BHD'), { env, timeoutMs: 60_000 });
  expect(bh.code).toBe(0);
  expect(bh.stdout).toContain('(BHD, 3 decimals)');

  const before = await rows();
  expect(before.utilities.map((u) => [u.code, u.currency, u.currency_exponent])).toEqual([
    ['kuwait', 'KWD', 3],
    ['manama', 'BHD', 3],
  ]);
  expect(before.users.map((u) => [u.username, u.platform_admin])).toEqual([
    ['admin', true],
    ['admin', false],
  ]);

  const again = await runCli(args('kuwait', 'KWD'), { env, timeoutMs: 60_000 });
  expect(again.code).toBe(1);
  expect(again.stderr).toContain('exists already');
  expect(await rows()).toEqual(before);
}, 180_000);
