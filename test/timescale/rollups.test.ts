// TimescaleDB's continuous aggregates keep history and late readings (vitest.timescale.config.ts, against the
// cluster .ci/timescaledb starts). Before 0015 the refresh policies covered only the last 3 / 7 days: once a
// policy had run, November's report lost every day it had never materialised, and late rows never arrived.
import { sql } from 'kysely';
import { expect } from 'vitest';
import { consumptionByDay } from '../../src/reports/queries.ts';
import type { Store } from '../../src/store/db.ts';
import { runOverdueTimescaleJobs, timescaleJobs } from '../../src/store/timescale-jobs.ts';
import { dbTestFor, seedBasics } from '../support/db.ts';

const test = dbTestFor('postgres');

/** Hourly readings of one meter over [from, to): the register grows by `wh` each hour. */
async function hourly(store: Store, meterId: string, from: string, to: string, wh: number, start: number) {
  await sql`
    insert into readings (meter_id, ts, seq, energy_wh)
    select ${meterId}::uuid, t, (extract(epoch from t) / 3600)::bigint,
           ${start}::bigint + ${wh}::bigint * ((extract(epoch from t - ${from}::timestamptz) / 3600)::bigint)
      from generate_series(${from}::timestamptz, ${to}::timestamptz - interval '1 hour', interval '1 hour') t
  `.execute(store.db);
}

/** The month's consumption straight from `readings` (register max minus min per meter per month). */
async function rawTotal(store: Store): Promise<bigint> {
  const { rows } = await sql<{ wh: string }>`
    select coalesce(sum(e), 0)::text as wh from (
      select max(energy_wh) - min(energy_wh) as e from readings
       where ts >= '2026-11-01T00:00:00Z' and ts < '2026-12-01T00:00:00Z' group by meter_id) m
  `.execute(store.db);
  return BigInt(rows[0]?.wh ?? '0');
}

async function reportTotal(store: Store, utilityId: string): Promise<{ days: number; wh: bigint }> {
  const days = await consumptionByDay(store.db, utilityId as never, '2026-11-01', '2026-12-01');
  return { days: days.length, wh: days.reduce((s, d) => s + d.energyWh, 0n) };
}

/** How many daily buckets are materialised (not computed from `readings` at query time). */
async function materialisedDays(store: Store): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from readings_daily
     where bucket < _timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(
       (select mat_hypertable_id from _timescaledb_catalog.continuous_agg where user_view_name = 'readings_daily')))
  `.execute(store.db);
  return rows[0]?.n ?? 0;
}

/** Runs Rasid's roll-up refresh policies once each, as the scheduler would. */
async function runRefreshPolicies(store: Store): Promise<void> {
  const jobs = (await timescaleJobs(store.db)).filter(
    (j) => j.procedure === 'policy_refresh_continuous_aggregate',
  );
  expect(jobs).toHaveLength(2);
  for (const job of jobs) {
    // TimescaleDB's scheduler may be running the same job in this database right now: then run it after.
    for (let attempt = 0; ; attempt++) {
      try {
        await sql.raw(`call run_job(${job.jobId})`).execute(store.db);
        break;
      } catch (error) {
        if (attempt > 100 || !/concurrent refresh/.test(String(error))) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}

test('history imported after the migration and readings weeks late reach the monthly report after the policies run', async ({
  store,
}) => {
  expect(store.timescale).toBe(true);
  const seed = await seedBasics(store.db);
  // November, imported in December (history older than any 3- or 7-day window): 1 kWh an hour.
  await hourly(store, seed.meterId, '2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z', 1000, 5_000_000);
  const raw = await rawTotal(store);
  expect(raw).toBe(1000n * (30n * 24n - 1n));
  expect(await reportTotal(store, seed.utilityId)).toEqual({ days: 30, wh: raw });

  // The refresh policies run.
  await runRefreshPolicies(store);
  expect(await materialisedDays(store)).toBe(30);
  expect(await reportTotal(store, seed.utilityId)).toEqual({ days: 30, wh: raw });

  // A second meter that was offline all month reports its November readings now, weeks late.
  const meter2 = await store.db
    .insertInto('meters')
    .values({
      utility_id: seed.utilityId,
      serial: 'demo-M-0002',
      kind: 'electricity',
      protocol: 'mqtt',
      mode: 'central',
      status: 'active',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await hourly(store, meter2.id, '2026-11-10T00:00:00Z', '2026-11-20T00:00:00Z', 500, 100_000);
  const late = await rawTotal(store);
  expect(late).toBe(raw + 500n * (10n * 24n - 1n));

  await runRefreshPolicies(store);
  expect(await reportTotal(store, seed.utilityId)).toEqual({ days: 30, wh: late });
  const perDay = await consumptionByDay(store.db, seed.utilityId, '2026-11-12', '2026-11-13');
  expect(perDay).toEqual([{ day: '2026-11-12', meters: 2, energyWh: 24_000n + 12_000n, volumeL: 0n }]);
});

test('every Rasid policy job is listed with its relation, and Rasid runs the overdue ones', async ({
  store,
}) => {
  const jobs = await timescaleJobs(store.db);
  expect(jobs.map((j) => `${j.procedure}:${j.relation}`).sort()).toEqual([
    'policy_compression:readings',
    'policy_refresh_continuous_aggregate:readings_daily',
    'policy_refresh_continuous_aggregate:readings_hourly',
    'policy_retention:readings',
  ]);
  // A day on, none has finished within two of its intervals: Rasid runs each once, refreshes first.
  const later = new Date(Date.now() + 24 * 3600_000);
  expect((await timescaleJobs(store.db, later)).every((j) => j.overdue)).toBe(true);
  const { ran, failed } = await runOverdueTimescaleJobs(store.db, later);
  expect(failed).toEqual([]);
  expect(ran.map((j) => j.procedure)).toEqual([
    'policy_refresh_continuous_aggregate',
    'policy_refresh_continuous_aggregate',
    'policy_compression',
    'policy_retention',
  ]);
});
