import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { expect, test } from 'vitest';
import { createDatabase, openPglite, type Store } from '../../src/store/db.ts';
import { type MigrationOutcome, migrateToLatest, migrationsFingerprint } from '../../src/store/migrate.ts';
import {
  type AccountId,
  type CustomerId,
  type KioskId,
  type MeterId,
  minorUnits,
  type PremiseId,
  type UtilityId,
  type VendorId,
} from '../../src/store/schema.ts';

/**
 * Database fixtures for Rasid's integration suites (docs/style.md practice 13). Each test gets its own migrated
 * database, cheaply:
 * - PostgreSQL: once per worker, a template database `rasid_tpl_<migrations digest>` is created and migrated
 *   (under an advisory lock, so parallel workers and runs build it once); each test gets
 *   `CREATE DATABASE rasid_t_<random> TEMPLATE …`, dropped after the test.
 * - PGlite: once per worker, an in-memory PGlite restored from a migrated dump cached in the OS temp
 *   folder (keyed by migrations digest and PGlite version); each test gets `clone()` of it.
 *
 * Write a suite once as a function of `DbTest` and call it from `test/store` (PGlite) and `test/pg`.
 */

export type TestDialect = Store['dialect'];

/**
 * The dialect of suites written for one database: PGlite in `npm test`; the services config runs the same
 * files again with RASID_TEST_DIALECT=postgres.
 */
export const SUITE_DIALECT: TestDialect =
  process.env.RASID_TEST_DIALECT === 'postgres' ? 'postgres' : 'pglite';

/** PostgreSQL server for the `test/pg` suites; its database is only used to create and drop others. */
export const TEST_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Arbitrary constant key of the advisory lock that serialises template builds across workers. */
const TEMPLATE_LOCK_KEY = 7_265_837_201;

/** Building a template from scratch: PGlite start-up plus every migration, on a shared 2-core machine. */
const TEMPLATE_TIMEOUT_MS = 180_000;

interface DbTemplate {
  readonly dialect: TestDialect;
  /** A fresh migrated database for one test, and how to throw it away. */
  open(): Promise<{ store: Store; dispose: () => Promise<void> }>;
  close(): Promise<void>;
}

function describeFailure(outcome: MigrationOutcome): string {
  const steps = outcome.results.map((result) => `${result.migrationName}: ${result.status}`).join(', ');
  const reason = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
  return `migrations failed [${steps}]: ${reason}`;
}

/** Migrates a fresh database and throws with every migration's status when one fails. */
export async function migrateOrThrow(store: Store): Promise<void> {
  const outcome = await migrateToLatest(store.db);
  if (outcome.error !== undefined) throw new Error(describeFailure(outcome));
}

function databaseUrl(name: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Marks a migrated database a template that `CREATE DATABASE … TEMPLATE` can copy: no new connections, and
 * the sessions still in it ended. On TimescaleDB the extension's scheduler (a background worker) connects to
 * every database that has the extension and would keep the copy refused ("source database is being accessed
 * by other users"); its launcher skips databases that allow no connections, so it does not come back.
 */
export async function sealTemplate(admin: pg.Client, name: string): Promise<void> {
  await admin.query(`alter database "${name}" with is_template true allow_connections false`);
  await admin.query(
    'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
    [name],
  );
  // pg_terminate_backend only signals: wait until the sessions are gone.
  for (let i = 0; i < 600; i++) {
    const { rows } = await admin.query<{ n: number }>(
      'select count(*)::int as n from pg_stat_activity where datname = $1',
      [name],
    );
    if (rows[0]?.n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`sessions in template ${name} did not end`);
}

async function postgresTemplate(): Promise<DbTemplate> {
  const name = `rasid_tpl_${(await migrationsFingerprint()).slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query('select pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
    try {
      const found = await admin.query<{ datistemplate: boolean }>(
        'select datistemplate from pg_database where datname = $1',
        [name],
      );
      const ready = found.rows[0]?.datistemplate === true;
      if (!ready) {
        // A database without the template flag is a build that died half way: rebuild it.
        if (found.rows.length > 0) await admin.query(`drop database "${name}" with (force)`);
        await admin.query(`create database "${name}"`);
        const store = await createDatabase({
          databaseUrl: databaseUrl(name),
          dataDir: ':memory:',
          poolSize: 1,
        });
        try {
          await migrateOrThrow(store);
        } finally {
          await store.close();
        }
      }
      // Also when it was built before: a session left in it (TimescaleDB's scheduler) blocks every copy.
      await sealTemplate(admin, name);
    } finally {
      await admin.query('select pg_advisory_unlock($1)', [TEMPLATE_LOCK_KEY]);
    }
  } catch (error) {
    await admin.end();
    throw error;
  }

  return {
    dialect: 'postgres',
    async open() {
      const testName = `rasid_t_${randomBytes(6).toString('hex')}`;
      await admin.query(`create database "${testName}" template "${name}"`);
      const store = await createDatabase({
        databaseUrl: databaseUrl(testName),
        dataDir: ':memory:',
        poolSize: 5,
      });
      return {
        store,
        async dispose() {
          await store.close();
          await admin.query(`drop database if exists "${testName}" with (force)`);
        },
      };
    },
    close: () => admin.end(),
  };
}

/** The migrated PGlite data folder as a gzipped tarball, built once per migrations digest. */
async function pgliteDump(): Promise<Blob> {
  // The package exports no package.json: find it beside the resolved entry (…/pglite/dist/index.js).
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const manifest = join(dirname(dirname(entry)), 'package.json');
  const { version } = JSON.parse(await readFile(manifest, 'utf8')) as { version: string };
  const digest = (await migrationsFingerprint()).slice(0, 16);
  const folder = join(tmpdir(), 'rasid-test-pglite');
  const file = join(folder, `${digest}-pglite-${version}.tar.gz`);
  try {
    return new Blob([new Uint8Array(await readFile(file))]);
  } catch {
    // Not built yet: build below.
  }
  const built = await PGlite.create();
  try {
    await migrateOrThrow(await openPgliteNoClose(built));
    const dump = await built.dumpDataDir('gzip');
    await mkdir(folder, { recursive: true });
    const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(partial, new Uint8Array(await dump.arrayBuffer()));
    await rename(partial, file);
    return dump;
  } finally {
    await built.close();
  }
}

/** A store over `client` whose `close()` leaves the client open (the caller closes it). */
async function openPgliteNoClose(client: PGlite): Promise<Store> {
  const store = await openPglite(client);
  return { ...store, close: async () => {} };
}

async function pgliteTemplate(): Promise<DbTemplate> {
  const template = await PGlite.create({ loadDataDir: await pgliteDump() });
  return {
    dialect: 'pglite',
    async open() {
      const store = await openPglite(await template.clone());
      return { store, dispose: () => store.close() };
    },
    close: () => template.close(),
  };
}

/**
 * `dbTestFor('pglite')` or `dbTestFor('postgres')`: vitest's `test` with a `store` fixture holding a fresh
 * migrated database (`store.db`, `store.dialect`, `store.timescale`) that is thrown away after the test.
 */
export function dbTestFor(dialect: TestDialect) {
  const dbTest = test
    // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern.
    .extend('dbTemplate', { scope: 'worker' }, async ({}, { onCleanup }): Promise<DbTemplate> => {
      const template = dialect === 'postgres' ? await postgresTemplate() : await pgliteTemplate();
      onCleanup(() => template.close());
      return template;
    })
    .extend('store', async ({ dbTemplate }, { onCleanup }): Promise<Store> => {
      const { store, dispose } = await dbTemplate.open();
      onCleanup(dispose);
      return store;
    });
  // Build the template in a hook, so its one-off cost (a cold PGlite migration is slow on a busy machine)
  // counts against this timeout rather than the first test's.
  dbTest.beforeAll(async ({ dbTemplate }) => {
    expect(dbTemplate.dialect).toBe(dialect);
  }, TEMPLATE_TIMEOUT_MS);
  return dbTest;
}

export type DbTest = ReturnType<typeof dbTestFor>;

export interface Seed {
  utilityId: UtilityId;
  customerId: CustomerId;
  premiseId: PremiseId;
  accountId: AccountId;
  meterId: MeterId;
  vendorId: VendorId;
  kioskId: KioskId;
}

/**
 * One utility (JOD, exponent 3, 16 % tax, Friday and Saturday weekend) with a customer, premise, account,
 * token-mode STS electricity meter, vendor and kiosk. `code` keeps several seeds in one database apart.
 */
export async function seedBasics(db: Store['db'], code = 'demo'): Promise<Seed> {
  const utility = await db
    .insertInto('utilities')
    .values({
      code,
      name: `Utility ${code}`,
      currency: 'JOD',
      currency_exponent: 3,
      tax_rate_bp: 1600,
      timezone: 'Asia/Amman',
      weekend_days: [5, 6],
      night_start_minute: 22 * 60,
      night_end_minute: 7 * 60,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const utilityId = utility.id;
  const customer = await db
    .insertInto('customers')
    .values({ utility_id: utilityId, name: 'Huda Haddad', preferred_language: 'ar', phone: '+962790000001' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const premise = await db
    .insertInto('premises')
    .values({ utility_id: utilityId, address: '12 Rainbow St', area: 'Jabal Amman' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const account = await db
    .insertInto('accounts')
    .values({
      utility_id: utilityId,
      number: `${code}-0001`,
      customer_id: customer.id,
      premise_id: premise.id,
      subsidy_eligible: true,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const meter = await db
    .insertInto('meters')
    .values({
      utility_id: utilityId,
      serial: `${code}-M-0001`,
      kind: 'electricity',
      protocol: 'mqtt',
      mode: 'token',
      account_id: account.id,
      sts_iin: '600727',
      sts_drn: '01234567890',
      sts_sgc: 123456,
      sts_ti: 1,
      sts_krn: 1,
      sts_kt: 2,
      sts_ea: 7,
      sts_base_date: '1993-01-01',
      sts_ken: 255,
      status: 'active',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const vendor = await db
    .insertInto('vendors')
    .values({
      utility_id: utilityId,
      name: 'Corner shop',
      credit_limit_minor: minorUnits(50_000n),
      commission_bp: 150,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const kiosk = await db
    .insertInto('kiosks')
    .values({
      utility_id: utilityId,
      vendor_id: vendor.id,
      name: 'Till 1',
      api_key_hash: `hash-${code}-${randomBytes(4).toString('hex')}`,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return {
    utilityId,
    customerId: customer.id,
    premiseId: premise.id,
    accountId: account.id,
    meterId: meter.id,
    vendorId: vendor.id,
    kioskId: kiosk.id,
  };
}
