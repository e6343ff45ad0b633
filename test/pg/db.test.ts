import { sql } from 'kysely';
import pg from 'pg';
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

test('a connection that ends under a transaction fails that transaction, not the process', async () => {
  const store = await createDatabase({ databaseUrl: TEST_DATABASE_URL, dataDir: ':memory:', poolSize: 2 });
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  const unhandled: unknown[] = [];
  const onUncaught = (error: unknown) => unhandled.push(error);
  process.on('uncaughtException', onUncaught);
  try {
    const failed = await store.db
      .transaction()
      .execute(async (trx) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
        // The backend is ended while kysely holds its connection (as when PostgreSQL stops).
        await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
        await sql`select pg_sleep(0.2)`.execute(trx);
      })
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(failed).toBeInstanceOf(Error);
    expect(unhandled).toEqual([]);
    // The pool dropped the dead connection: the store answers on a new one.
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(store.db);
    expect(rows).toEqual([{ one: 1 }]);
  } finally {
    process.off('uncaughtException', onUncaught);
    await admin.end();
    await store.close();
  }
});
