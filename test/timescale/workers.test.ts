// A started Rasid's workers run Rasid's overdue TimescaleDB policy jobs themselves
// (TIMESCALE_JOBS_INTERVAL_SECONDS), so the roll-ups are materialised even when TimescaleDB's own scheduler
// fails every job (vitest.timescale.config.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { dbTestFor, seedBasics } from '../support/db.ts';
import { logCapture } from '../support/server.ts';

const test = dbTestFor('postgres');

test('the workers run the policy jobs the scheduler has not finished, and the history is materialised', async ({
  store,
}) => {
  expect(store.timescale).toBe(true);
  const url = store.pool?.options.connectionString;
  expect(url).toMatch(/rasid_t_/);
  const seed = await seedBasics(store.db);
  await sql`
    insert into readings (meter_id, ts, seq, energy_wh)
    select ${seed.meterId}::uuid, t, extract(epoch from t)::bigint, 1000 + extract(epoch from t - '2026-10-01')::bigint / 3600
      from generate_series('2026-10-01T00:00:00Z'::timestamptz, '2026-10-31T23:00:00Z', interval '1 hour') t
  `.execute(store.db);

  const dir = await mkdtemp(join(tmpdir(), 'rasid-ts-workers-'));
  const { logs, sink } = logCapture();
  const server = await startServer(
    loadConfig({
      PORT: '0',
      MQTT_PORT: '0',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATA_DIR: dir,
      DATABASE_URL: url,
      DB_POOL_SIZE: '4',
      TIMESCALE_JOBS_INTERVAL_SECONDS: '1',
      BALANCE_INTERVAL_SECONDS: '3600',
    }),
    { logDestination: sink },
  );
  try {
    await expect
      .poll(() => logs.join('').includes('ran overdue TimescaleDB jobs'), { timeout: 60_000 })
      .toBe(true);
    const line = JSON.parse(logs.find((l) => l.includes('ran overdue TimescaleDB jobs'))!) as {
      jobs: number[];
    };
    expect(line.jobs).toHaveLength(4);
    const { rows } = await sql<{ days: number }>`
      select count(*)::int as days from readings_daily
       where bucket < _timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(
         (select mat_hypertable_id from _timescaledb_catalog.continuous_agg where user_view_name = 'readings_daily')))
    `.execute(store.db);
    expect(rows[0]?.days).toBe(31);
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
