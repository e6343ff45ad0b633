/**
 * Rasid as a separate process, for tests and benchmarks that need a real server they can kill: seeds a
 * database (PGlite folder or PostgreSQL database) with a vending world, then starts `bin/rasid start`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { newSecret, secretDigest } from '../../src/api/auth.ts';
import { createDatabase } from '../../src/store/db.ts';
import { createKeyStore } from '../../src/store/keystore.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { minorUnits } from '../../src/store/schema.ts';
import { seedVending } from './vending-fixture.ts';

const BIN = fileURLToPath(new URL('../../bin/rasid', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface SeededWorld {
  readonly env: Record<string, string>;
  readonly kioskKey: string;
  /** One API key per vendor when `vendors` > 1 (the first is `kioskKey`'s vendor). */
  readonly kioskKeys: readonly string[];
  readonly meters: readonly string[];
  /** Drops the PostgreSQL database (no-op for PGlite). */
  drop(): Promise<void>;
}

/** Creates a fresh PostgreSQL database (or uses a PGlite folder), migrates it and seeds meters and a kiosk. */
export async function seedWorld(opts: {
  postgresUrl?: string;
  dataDir: string;
  meters?: number;
  /** Vendors, each with one kiosk and the same float (default 1). */
  vendors?: number;
  floatMinor?: bigint;
}): Promise<SeededWorld> {
  const masterKey = randomBytes(32);
  let databaseUrl: string | undefined;
  let admin: pg.Client | undefined;
  let dbName = '';
  if (opts.postgresUrl) {
    dbName = `rasid_run_${randomBytes(5).toString('hex')}`;
    admin = new pg.Client({ connectionString: opts.postgresUrl });
    // A fault run stops PostgreSQL under this idle client: that must not crash the caller.
    admin.on('error', () => {});
    await admin.connect();
    await admin.query(`create database "${dbName}"`);
    const u = new URL(opts.postgresUrl);
    u.pathname = `/${dbName}`;
    databaseUrl = u.toString();
  }
  const store = await createDatabase({
    ...(databaseUrl ? { databaseUrl } : {}),
    dataDir: opts.dataDir,
    poolSize: 2,
  });
  const meters: string[] = [];
  const kioskKey = newSecret('rks_');
  const kioskKeys = [kioskKey];
  try {
    const migrated = await migrateToLatest(store.db);
    if (migrated.error !== undefined) throw migrated.error;
    const keys = createKeyStore({ db: store.db, masterKey });
    const seed = await seedVending(store.db, keys, 'jo');
    await store.db
      .updateTable('kiosks')
      .set({ api_key_hash: secretDigest(kioskKey) })
      .where('id', '=', seed.kioskId)
      .execute();
    await store.db
      .updateTable('accounts')
      .set({ debt_minor: minorUnits(0n) })
      .execute();
    await store.db
      .insertInto('vendor_ledger')
      .values({
        utility_id: seed.utilityId,
        vendor_id: seed.vendorId,
        kind: 'float_topup',
        amount_minor: minorUnits(opts.floatMinor ?? 10_000_000_000n),
        ref: 'bench float',
      })
      .execute();
    for (let v = 1; v < (opts.vendors ?? 1); v++) {
      const vendor = await store.db
        .insertInto('vendors')
        .values({ utility_id: seed.utilityId, name: `Vendor ${v + 1}`, commission_bp: 150 })
        .returning('id')
        .executeTakeFirstOrThrow();
      const key = newSecret('rks_');
      kioskKeys.push(key);
      await store.db
        .insertInto('kiosks')
        .values({
          utility_id: seed.utilityId,
          vendor_id: vendor.id,
          name: 'Till 1',
          api_key_hash: secretDigest(key),
        })
        .execute();
      await store.db
        .insertInto('vendor_ledger')
        .values({
          utility_id: seed.utilityId,
          vendor_id: vendor.id,
          kind: 'float_topup',
          amount_minor: minorUnits(opts.floatMinor ?? 10_000_000_000n),
          ref: 'bench float',
        })
        .execute();
    }
    meters.push('jo-M-0001');
    const template = await store.db
      .selectFrom('meters')
      .selectAll()
      .where('id', '=', seed.meterId)
      .executeTakeFirstOrThrow();
    const extra = (opts.meters ?? 1) - 1;
    for (let start = 0; start < extra; start += 500) {
      const n = Math.min(500, extra - start);
      const accounts = await store.db
        .insertInto('accounts')
        .values(
          Array.from({ length: n }, (_, i) => ({
            utility_id: seed.utilityId,
            number: `jo-A-${start + i + 2}`,
            customer_id: seed.customerId,
            premise_id: seed.premiseId,
          })),
        )
        .returning('id')
        .execute();
      await store.db
        .insertInto('meters')
        .values(
          accounts.map((a, i) => {
            const serial = `jo-M-${String(start + i + 2).padStart(6, '0')}`;
            meters.push(serial);
            const { id: _id, created_at: _c, ...rest } = template;
            return {
              ...rest,
              serial,
              account_id: a.id,
              sts_drn: String(10_000_000_000 + start + i + 2).slice(0, 11),
              mqtt_username: null,
            };
          }),
        )
        .execute();
    }
  } finally {
    await store.close();
  }
  return {
    env: {
      DATA_DIR: opts.dataDir,
      VENDING_MASTER_KEY: masterKey.toString('hex'),
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    },
    kioskKey,
    kioskKeys,
    meters,
    async drop() {
      if (admin) {
        await admin.query(`drop database if exists "${dbName}" with (force)`);
        await admin.end();
      }
    },
  };
}

export interface RasidProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Stops it with a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `bin/rasid start` with `env` on a free port and waits for /readyz. */
export async function startRasid(
  env: Record<string, string>,
  opts: { port?: number } = {},
): Promise<RasidProcess> {
  const port = opts.port ?? (await freePort());
  const child = spawn(process.execPath, [BIN, 'start'], {
    env: { ...process.env, LOG_LEVEL: 'warn', NODE_ENV: 'test', PORT: String(port), MQTT_PORT: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const url = `http://127.0.0.1:${port}`;
  // A cold start on a machine busy with other work can take minutes.
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`rasid exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`rasid did not become ready: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    url,
    stop: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
