import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { expect, test } from 'vitest';
import { createDatabase } from '../../src/store/db.ts';
import { migrateToLatest, storeFeatures } from '../../src/store/migrate.ts';

test('embedded PGlite keeps its data in <dataDir>/pglite across restarts', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'rasid-store-'));
  try {
    const first = await createDatabase({ dataDir });
    expect(first.dialect).toBe('pglite');
    expect(first.timescale).toBe(false);
    const outcome = await migrateToLatest(first.db);
    expect(outcome.error).toBeUndefined();
    await first.db
      .insertInto('utilities')
      .values({ code: 'kept', name: 'Kept', currency: 'EGP', currency_exponent: 2, timezone: 'Africa/Cairo' })
      .execute();
    await first.close();
    expect(await readdir(join(dataDir, 'pglite'))).toContain('PG_VERSION');

    const second = await createDatabase({ dataDir });
    try {
      expect(await migrateToLatest(second.db)).toEqual({ results: [] });
      expect(await storeFeatures(second.db)).toEqual({ timescaledb: false });
      const rows = await second.db
        .selectFrom('utilities')
        .select(['code', 'weekend_days', 'tax_rate_bp'])
        .execute();
      expect(rows).toEqual([{ code: 'kept', weekend_days: [], tax_rate_bp: 0 }]);
    } finally {
      await second.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 180_000);

test('embedded PGlite takes its shared buffers from the configuration at every start', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'rasid-store-'));
  const shared = async (store: Awaited<ReturnType<typeof createDatabase>>) =>
    (await sql<{ shared_buffers: string }>`show shared_buffers`.execute(store.db)).rows[0]?.shared_buffers;
  try {
    const first = await createDatabase({ dataDir, sharedBuffersMb: 24 });
    expect(await shared(first)).toBe('24MB');
    await first.close();
    const second = await createDatabase({ dataDir, sharedBuffersMb: 40 });
    expect(await shared(second)).toBe('40MB');
    await second.close();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 180_000);
