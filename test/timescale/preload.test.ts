// TimescaleDB installed in the server but not in shared_preload_libraries: `create extension` raises FATAL,
// which ends the connection. `rasid migrate` must take the plain-view path instead of crashing
// (vitest.timescale.config.ts: RASID_TIMESCALE_BIN is the bin folder of the tree .ci/timescaledb built).
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createDatabase } from '../../src/store/db.ts';
import { runCli } from '../support/cli.ts';
import { createCluster, type PrivateCluster } from '../support/cluster.ts';

const bin = process.env.RASID_TIMESCALE_BIN;
let cluster: PrivateCluster;

beforeAll(async () => {
  if (!bin) throw new Error('RASID_TIMESCALE_BIN is not set: run through vitest.timescale.config.ts');
  cluster = await createCluster({ bin, name: 'tsdb-unloaded' });
  await cluster.start();
});

afterAll(async () => {
  await cluster?.remove();
});

async function query<R extends pg.QueryResultRow>(text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: cluster.url() });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

test('the extension is there to create, and trying it without the preload ends the session (FATAL)', async () => {
  expect(
    await query<{ name: string }>("select name from pg_available_extensions where name = 'timescaledb'"),
  ).toEqual([{ name: 'timescaledb' }]);
  await expect(query('create extension timescaledb')).rejects.toThrow(/preload/);
});

test('rasid migrate takes the plain-view path and says why', async () => {
  const result = await runCli(['migrate'], {
    env: { DATABASE_URL: cluster.url(), LOG_LEVEL: 'warn' },
    timeoutMs: 120_000,
  });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/0002_readings_rollups: Success/);
  expect(result.stdout).toMatch(/^postgres: migrated$/m);
  expect(await query("select enabled, detail from store_features where name = 'timescaledb'")).toEqual([
    { enabled: false, detail: 'extension installed but not in shared_preload_libraries: plain views' },
  ]);
  expect(
    await query<{ relname: string; relkind: string }>(
      "select relname, relkind from pg_class where relname in ('readings_hourly', 'readings_daily') order by 1",
    ),
  ).toEqual([
    { relname: 'readings_daily', relkind: 'v' },
    { relname: 'readings_hourly', relkind: 'v' },
  ]);
  const store = await createDatabase({ databaseUrl: cluster.url(), dataDir: ':memory:', poolSize: 1 });
  try {
    expect(store.timescale).toBe(false);
  } finally {
    await store.close();
  }
});
