import { sql } from 'kysely';
import { expect, test } from 'vitest';
import { createDatabase } from '../../src/store/db.ts';
import { TEST_DATABASE_URL } from '../support/db.ts';

test('a PostgreSQL URL gives a pg store; an unreachable database is refused at once', async () => {
  const store = await createDatabase({ databaseUrl: TEST_DATABASE_URL, dataDir: ':memory:', poolSize: 2 });
  try {
    expect(store.dialect).toBe('postgres');
    const { rows } = await sql<{ big: bigint; day: string }>`
      select 9007199254740993::int8 as big, date '2026-03-01' as day
    `.execute(store.db);
    expect(rows).toEqual([{ big: 9_007_199_254_740_993n, day: '2026-03-01' }]);
  } finally {
    await store.close();
  }

  const url = new URL(TEST_DATABASE_URL);
  url.pathname = '/rasid_no_such_database';
  const refused = await createDatabase({ databaseUrl: url.toString(), dataDir: ':memory:' }).catch(
    (error: unknown) => error,
  );
  expect((refused as { code?: string }).code).toBe('3D000');
});
