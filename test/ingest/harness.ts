/**
 * Real databases and a real broker for the ingest and broker suites: PGlite in memory, or a fresh
 * PostgreSQL database on 127.0.0.1:5432 (created, migrated and dropped per harness). Both get the store's
 * migrations; meters are seeded with hashed MQTT secrets.
 */
import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import pg from 'pg';
import { Registry } from 'prom-client';
import {
  ChainedCredentialStore,
  type CredentialStore,
  createBroker,
  type RasidBroker,
  StoreCredentialStore,
} from '../../src/broker/index.ts';
import {
  createIngest,
  type Ingest,
  type IngestOptions,
  PgliteReadingWriter,
  PgReadingWriter,
  pgExecutor,
  pgliteExecutor,
  SqlEventWriter,
  SqlStatusWriter,
  storeMeterResolver,
} from '../../src/ingest/index.ts';
import { hashSecret } from '../../src/security/secrets.ts';
import { createDatabase, migrateToLatest, openPglite, type Store } from '../../src/store/index.ts';

export const PG_ADMIN_URL = process.env.RASID_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface Harness {
  readonly dialect: 'pglite' | 'postgres';
  readonly store: Store;
  readonly ingestWriters: Pick<IngestOptions, 'readings' | 'events' | 'status'>;
  /** One query on the database under test. */
  query<R>(text: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

async function migrate(store: Store): Promise<void> {
  const outcome = await migrateToLatest(store.db);
  if (outcome.error !== undefined) throw outcome.error;
}

export async function pgliteHarness(): Promise<Harness> {
  const client = await PGlite.create();
  const store = await openPglite(client);
  await migrate(store);
  const exec = pgliteExecutor(client);
  return {
    dialect: 'pglite',
    store,
    ingestWriters: {
      readings: new PgliteReadingWriter({ db: client }),
      events: new SqlEventWriter(exec),
      status: new SqlStatusWriter(exec),
    },
    async query<R>(text: string, params: unknown[] = []) {
      return (await client.query<R>(text, params)).rows;
    },
    close: () => store.close(),
  };
}

export interface PgHarness extends Harness {
  readonly database: string;
  readonly pool: pg.Pool;
  /** Refuses every connection to the test database and ends the open ones ("the database is down"). */
  stopDatabase(): Promise<void>;
  startDatabase(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function postgresHarness(opts: { method?: 'unnest' | 'copy' } = {}): Promise<PgHarness> {
  const database = `rasid_ingest_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${database}`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${database}`;
  const store = await createDatabase({ databaseUrl: url.toString(), dataDir: ':memory:', poolSize: 2 });
  await migrate(store);
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2, connectionTimeoutMillis: 2000 });
  pool.on('error', () => {});
  const exec = pgExecutor(pool);
  return {
    dialect: 'postgres',
    database,
    store,
    pool,
    ingestWriters: {
      readings: new PgReadingWriter({ pool, method: opts.method ?? 'unnest' }),
      events: new SqlEventWriter(exec),
      status: new SqlStatusWriter(exec),
    },
    async query<R>(text: string, params: unknown[] = []) {
      return (await pool.query(text, params)).rows as R[];
    },
    async stopDatabase() {
      await admin(async (c) => {
        await c.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
        await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [
          database,
        ]);
      });
    },
    async startDatabase() {
      await admin((c) => c.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`));
    },
    async close() {
      await pool.end();
      await store.close();
      await admin(async (c) => {
        await c.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
        await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      });
    },
  };
}

export const UTILITY = 'dewa';
export const PASSWORD = 'correct horse battery staple';
let sharedHash: Promise<string> | null = null;

/** Seeds a utility and active MQTT meters (all with {@link PASSWORD}); returns serial → meter uuid. */
export async function seedMeters(h: Harness, serials: readonly string[]): Promise<Map<string, string>> {
  sharedHash ??= hashSecret(PASSWORD);
  const hash = await sharedHash;
  const db = h.store.db;
  await sql`insert into utilities (code, name, currency, currency_exponent, timezone)
            values (${UTILITY}, 'Test utility', 'AED', 2, 'Asia/Dubai') on conflict (code) do nothing`.execute(
    db,
  );
  const ids = new Map<string, string>();
  for (const serial of serials) {
    const { rows } = await sql<{ id: string }>`
      insert into meters (utility_id, serial, kind, protocol, mode, mqtt_password_hash, status)
      select id, ${serial}, 'electricity', 'mqtt', 'token', ${hash}, 'active' from utilities where code = ${UTILITY}
      returning id`.execute(db);
    ids.set(serial, rows[0]!.id);
  }
  return ids;
}

export interface Rasid {
  readonly broker: RasidBroker;
  readonly ingest: Ingest;
  readonly url: string;
  close(): Promise<void>;
}

/** Rasid's broker (TCP on 127.0.0.1, port 0) with the durable ingest on the harness's database. */
export async function startRasid(
  h: Harness,
  opts: Pick<IngestOptions, 'batch'> & { extraCredentials?: CredentialStore } = {},
): Promise<Rasid> {
  const registry = new Registry();
  const ingest = createIngest({
    ...h.ingestWriters,
    resolveMeter: storeMeterResolver(h.store.db),
    registry,
    ...(opts.batch ? { batch: opts.batch } : {}),
  });
  const storeCredentials = new StoreCredentialStore(h.store.db);
  const credentials = opts.extraCredentials
    ? new ChainedCredentialStore(opts.extraCredentials, storeCredentials)
    : storeCredentials;
  const broker = await createBroker({ credentials, tcp: { port: 0 }, interceptor: ingest, registry });
  return {
    broker,
    ingest,
    url: `mqtt://127.0.0.1:${broker.addresses.tcp!.port}`,
    async close() {
      ingest.close();
      await broker.close();
    },
  };
}

/** An mqtt.js client (MQTT 3.1.1, clean session, no automatic reconnect) connected to Rasid. */
export function connectClient(url: string, username: string, password: string, extra: IClientOptions = {}) {
  return mqtt.connectAsync(url, {
    username,
    password,
    clientId: username,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...extra,
  });
}

export function readingTopic(serial: string): string {
  return `rasid/v1/${UTILITY}/meters/${serial}/up/reading`;
}

export function reading(seq: number, tsMs: number, energyWh = 1000 + seq): Buffer {
  return Buffer.from(
    JSON.stringify({ v: 1, seq, ts: tsMs, energyWh, powerW: 120, voltageDv: 2301, creditWh: 5000 }),
  );
}

/** Publishes at QoS 1 and resolves on the PUBACK. */
export function publishQos1(client: MqttClient, topic: string, payload: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    client.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve()));
  });
}

export async function endClient(client: MqttClient): Promise<void> {
  await client.endAsync(true).catch(() => {});
}
