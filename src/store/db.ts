import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, type PGliteInterface } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { PgliteDialect, type PgliteParsers } from './pglite-dialect.ts';
import type { Database } from './schema.ts';

export type StoreDialect = 'pglite' | 'postgres';

export interface DatabaseOptions {
  /** PostgreSQL URL; when absent Rasid embeds PGlite. */
  databaseUrl?: string | undefined;
  /** Rasid's data folder: PGlite lives in `<dataDir>/pglite`; ':memory:' keeps it in memory. */
  dataDir: string;
  /** PGlite's shared buffers in MB (embedded store only; PGlite's own default is 160). */
  sharedBuffersMb?: number | undefined;
  /** Connections in the `pg` pool (PostgreSQL only). */
  poolSize?: number | undefined;
  /** Errors of idle pooled connections (the pool already dropped the connection). */
  onPoolError?: ((error: Error) => void) | undefined;
}

export interface Store {
  db: Kysely<Database>;
  dialect: StoreDialect;
  /** TimescaleDB is installed in this database or can be created in it (the migrations then use it). */
  timescale: boolean;
  /** The `pg` pool under kysely (PostgreSQL only): for the ingest's COPY and unnest batch writers. */
  pool?: pg.Pool;
  close(): Promise<void>;
}

/** Postgres type oids whose text form Rasid parses itself, identically on both dialects. */
const OID = {
  int8: 20,
  int8Array: 1016,
  date: 1082,
  bytea: 17,
} as const;

/** int8 (money in minor units, Wh, litres, identity ids) is a JS `bigint`, never a lossy number. */
function parseInt8(text: string): bigint {
  return BigInt(text);
}

/** One-dimensional int8[] in Postgres text form, e.g. `{1,-2,NULL}`. */
function parseInt8Array(text: string): (bigint | null)[] {
  const inner = text.slice(1, -1);
  if (inner === '') return [];
  return inner.split(',').map((item) => (item === 'NULL' ? null : BigInt(item)));
}

/** A `date` stays the calendar day it names ('YYYY-MM-DD'), free of any time zone. */
function parseDate(text: string): string {
  return text;
}

/** bytea in hex text form (`\x0102…`) as a Node Buffer, which is what `pg` returns. */
function parseBytea(text: string): Buffer {
  return Buffer.from(text.slice(2), 'hex');
}

const PGLITE_PARSERS: PgliteParsers = Object.freeze({
  [OID.int8]: parseInt8,
  [OID.int8Array]: parseInt8Array,
  [OID.date]: parseDate,
  [OID.bytea]: parseBytea,
});

/** pg's type parsers, with int8, int8[] and date replaced (per pool: no global `pg.types` change). */
const PG_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (format === undefined || format === 'text') {
      if (oid === OID.int8) return parseInt8;
      if (oid === OID.int8Array) return parseInt8Array;
      if (oid === OID.date) return parseDate;
    }
    return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
  },
};

/**
 * Opens Rasid's store: PostgreSQL through a `pg` pool when `databaseUrl` is given, embedded PGlite
 * otherwise. Both return int8 as `bigint`, `date` as 'YYYY-MM-DD', bytea as Buffer, timestamptz as Date.
 * Run `migrateToLatest` before use.
 */
export async function createDatabase(options: DatabaseOptions): Promise<Store> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options);
  // Set at every start: PGlite writes it into the data folder's configuration.
  const postgresqlconf =
    options.sharedBuffersMb === undefined
      ? {}
      : { postgresqlconf: [`shared_buffers=${options.sharedBuffersMb}MB`] };
  if (options.dataDir === ':memory:') return openPglite(await PGlite.create(postgresqlconf));
  const dataDir = join(options.dataDir, 'pglite');
  mkdirSync(dataDir, { recursive: true });
  return openPglite(await PGlite.create({ dataDir, ...postgresqlconf }));
}

/** Wraps an open PGlite instance (e.g. a clone of a migrated template) as a store; `close()` closes it. */
export async function openPglite(client: PGliteInterface): Promise<Store> {
  await client.waitReady;
  const db = new Kysely<Database>({ dialect: new PgliteDialect({ client, parsers: PGLITE_PARSERS }) });
  return { db, dialect: 'pglite', timescale: await hasTimescale(db), close: () => db.destroy() };
}

async function openPostgres(databaseUrl: string, options: DatabaseOptions): Promise<Store> {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.poolSize ?? 10,
    types: PG_TYPES,
  });
  pool.on('error', options.onPoolError ?? (() => {}));
  // pg emits 'error' on a client whose connection ends (PostgreSQL stopped or restarted, a backend
  // terminated). The pool listens only while the client is idle; a client checked out by kysely (a query
  // or a transaction in flight) had no listener, and the unhandled event ended the process. The error
  // already rejects the query that was running, and the pool drops the client on release (it is no longer
  // queryable), so the event needs no handling of its own: it must only not be unhandled.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    return { db, dialect: 'postgres', timescale: await hasTimescale(db), pool, close: () => db.destroy() };
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

/**
 * `shared_preload_libraries` names TimescaleDB. Without it, `create extension timescaledb` is refused with a
 * FATAL error that ends the connection (not an ERROR a savepoint can catch), so nothing tries it then.
 */
export function preloadsTimescale(sharedPreloadLibraries: string): boolean {
  return sharedPreloadLibraries
    .split(',')
    .map((name) => name.trim().replace(/^"|"$/g, ''))
    .some((name) => /(^|\/)timescaledb(-[0-9.]+)?(\.so)?$/.test(name));
}

/**
 * Whether readings can use TimescaleDB here: the extension is installed in this database, or it is
 * available, the server preloads it, and creating it succeeds (tried in a transaction that is rolled back).
 */
async function hasTimescale(db: Kysely<Database>): Promise<boolean> {
  const { rows } = await sql<{ available: boolean; installed: boolean; preload: string }>`
    select exists (select 1 from pg_available_extensions where name = 'timescaledb') as available,
           exists (select 1 from pg_extension where extname = 'timescaledb') as installed,
           current_setting('shared_preload_libraries') as preload
  `.execute(db);
  const found = rows[0];
  if (found?.installed) return true;
  if (!found?.available || !preloadsTimescale(found.preload)) return false;
  const rollback = new Error('rollback');
  try {
    await db.transaction().execute(async (trx) => {
      await sql`create extension if not exists timescaledb`.execute(trx);
      throw rollback;
    });
  } catch (error) {
    return error === rollback;
  }
  return false;
}
