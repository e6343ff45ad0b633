import { type Kysely, sql } from 'kysely';

/**
 * On TimescaleDB, the roll-up refresh policies of 0002 covered only the last 3 days (hourly) and 7 days
 * (daily). The continuous aggregates are real-time: rows above the materialisation watermark are read from
 * `readings`, rows below it only from what was materialised. After the first policy run the watermark moved
 * to the present while older history (imports, back-fills) had never been materialised, and readings that
 * arrived more than 3 / 7 days late were never refreshed in: reports dropped them.
 *
 * The policies now refresh from the beginning (`start_offset => null`). A refresh only recomputes buckets
 * that changed since the last one (TimescaleDB's invalidation log), so the unbounded window costs a full pass
 * once, then only the late or back-filled buckets. Nothing changes on plain PostgreSQL or PGlite (views).
 */
async function timescaleEnabled(db: Kysely<unknown>): Promise<boolean> {
  const { rows } = await sql<{ enabled: boolean }>`
    select enabled from store_features where name = 'timescaledb'
  `.execute(db);
  return rows[0]?.enabled === true;
}

async function replacePolicies(
  db: Kysely<unknown>,
  hourlyStart: string | null,
  dailyStart: string | null,
): Promise<void> {
  const start = (offset: string | null) => (offset === null ? 'null' : `interval '${offset}'`);
  await sql`select remove_continuous_aggregate_policy('readings_hourly', if_not_exists => true)`.execute(db);
  await sql`select remove_continuous_aggregate_policy('readings_daily', if_not_exists => true)`.execute(db);
  await sql
    .raw(`select add_continuous_aggregate_policy('readings_hourly',
      start_offset => ${start(hourlyStart)}, end_offset => interval '1 hour',
      schedule_interval => interval '30 minutes')`)
    .execute(db);
  await sql
    .raw(`select add_continuous_aggregate_policy('readings_daily',
      start_offset => ${start(dailyStart)}, end_offset => interval '1 day',
      schedule_interval => interval '6 hours')`)
    .execute(db);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!(await timescaleEnabled(db))) return;
  await replacePolicies(db, null, null);
  await sql`
    update store_features
       set detail = 'hypertable, continuous aggregates refreshed from the beginning, compression and retention policies'
     where name = 'timescaledb'
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!(await timescaleEnabled(db))) return;
  await replacePolicies(db, '3 days', '7 days');
}
