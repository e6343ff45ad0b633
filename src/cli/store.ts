/** The store as CLI commands that work on data open it: the configured store, migrated, and one utility. */
import { sql } from 'kysely';
import pino from 'pino';
import { type Config, loadConfig } from '../config.ts';
import { MeterSecretKey } from '../security/secrets.ts';
import type { Store } from '../store/db.ts';
import type { UtilityId } from '../store/schema.ts';
import { UsageError } from './errors.ts';

/** The configured store (PGlite in DATA_DIR, or DATABASE_URL) with this many connections, not yet migrated. */
export async function createConfiguredStore(config: Config, poolSize: number): Promise<Store> {
  const { createDatabase } = await import('../store/db.ts');
  return createDatabase({
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    dataDir: config.dataDir,
    sharedBuffersMb: config.pgliteSharedBuffersMb,
    poolSize,
  });
}

/** Opens the configured store (PGlite in DATA_DIR, or DATABASE_URL) and applies due migrations. */
export async function openCliStore(): Promise<Store> {
  const { migrateToLatest } = await import('../store/migrate.ts');
  const store = await createConfiguredStore(loadConfig(process.env), 2);
  const outcome = await migrateToLatest(store.db);
  if (outcome.error !== undefined) {
    await store.close();
    throw outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error));
  }
  return store;
}

export interface CliUtility {
  readonly id: UtilityId;
  readonly code: string;
}

/** The utility `--utility CODE` names; without it, the only utility of the store (else a usage error). */
export async function cliUtility(store: Store, code: string | undefined): Promise<CliUtility> {
  if (code !== undefined) {
    const u = await store.db
      .selectFrom('utilities')
      .select(['id', 'code'])
      .where('code', '=', code)
      .executeTakeFirst();
    if (!u) throw new UsageError(`--utility: no utility ${code} in this store (rasid init makes one)`);
    return u;
  }
  const { rows } = await sql<CliUtility>`select id, code from utilities order by code limit 2`.execute(
    store.db,
  );
  if (rows.length === 0) throw new UsageError('no utility in this store yet: run rasid init first');
  if (rows.length > 1) throw new UsageError('this store has several utilities: name one with --utility CODE');
  return rows[0] as CliUtility;
}

/** The key meters' MQTT secrets are stored under, from the same master key the server uses. */
export async function meterSecretKeyOf(store: Store): Promise<MeterSecretKey> {
  const config = loadConfig(process.env);
  const { masterKey } = await import('../roles/core.ts');
  const { createKeyStore } = await import('../store/keystore.ts');
  const log = pino({ level: 'warn' }, pino.destination(2));
  const keys = createKeyStore({ db: store.db, masterKey: await masterKey(config, log) });
  return new MeterSecretKey(keys.meterSecretKey());
}
