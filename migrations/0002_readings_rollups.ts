import { type Kysely, sql } from 'kysely';

/**
 * Hourly and daily roll-ups of `readings`, answering the same columns on every engine:
 * - TimescaleDB (when `create extension timescaledb` succeeds): `readings` becomes a hypertable with daily
 *   chunks, compressed after 7 days and dropped after 400; `readings_hourly` and `readings_daily` are
 *   continuous aggregates with real-time aggregation (recent rows included), refreshed by policies.
 * - PostgreSQL without it, and PGlite: `readings_hourly` and `readings_daily` are plain views.
 * The path taken is recorded in `store_features` (name 'timescaledb'). Buckets are UTC hours and UTC days.
 */

/** Columns of both roll-ups; `bucket` is supplied per engine. Averages are double precision (JS number). */
const ROLLUP_COLUMNS = `
  meter_id,
  %BUCKET% as bucket,
  count(*)::bigint as readings,
  min(energy_wh) as energy_wh_min,
  max(energy_wh) as energy_wh_max,
  min(volume_l) as volume_l_min,
  max(volume_l) as volume_l_max,
  avg(power_w)::double precision as power_w_avg,
  max(power_w) as power_w_max,
  min(voltage_dv) as voltage_dv_min,
  max(voltage_dv) as voltage_dv_max,
  min(credit_minor) as credit_minor_min,
  min(credit_wh) as credit_wh_min,
  max(ts) as last_ts`;

function rollup(bucket: string): string {
  return `select ${ROLLUP_COLUMNS.replace('%BUCKET%', bucket)} from readings group by bucket, meter_id`;
}

const PLAIN: readonly string[] = [
  `create view readings_hourly as
     ${rollup(`date_trunc('hour', ts at time zone 'UTC') at time zone 'UTC'`)}`,
  `create view readings_daily as
     ${rollup(`date_trunc('day', ts at time zone 'UTC') at time zone 'UTC'`)}`,
];

const TIMESCALE: readonly string[] = [
  `select create_hypertable('readings', 'ts', chunk_time_interval => interval '1 day', migrate_data => true)`,
  `create materialized view readings_hourly
     with (timescaledb.continuous, timescaledb.materialized_only = false) as
     ${rollup(`time_bucket(interval '1 hour', ts)`)}
     with no data`,
  `create materialized view readings_daily
     with (timescaledb.continuous, timescaledb.materialized_only = false) as
     ${rollup(`time_bucket(interval '1 day', ts)`)}
     with no data`,
  `select add_continuous_aggregate_policy('readings_hourly',
     start_offset => interval '3 days', end_offset => interval '1 hour', schedule_interval => interval '30 minutes')`,
  `select add_continuous_aggregate_policy('readings_daily',
     start_offset => interval '7 days', end_offset => interval '1 day', schedule_interval => interval '6 hours')`,
  `alter table readings set (timescaledb.compress, timescaledb.compress_segmentby = 'meter_id',
     timescaledb.compress_orderby = 'ts desc')`,
  `select add_compression_policy('readings', interval '7 days')`,
  `select add_retention_policy('readings', interval '400 days')`,
];

/** Tries to create the extension inside a savepoint so a refusal leaves the migration's transaction usable. */
async function createTimescale(db: Kysely<unknown>): Promise<{ enabled: boolean; detail: string }> {
  const { rows } = await sql<{ available: boolean }>`
    select exists (select 1 from pg_available_extensions where name = 'timescaledb') as available
  `.execute(db);
  if (!rows[0]?.available) return { enabled: false, detail: 'extension not available: plain views' };
  // Without the preload, `create extension` raises FATAL and ends the connection: no savepoint survives it.
  const preload = await sql<{ libraries: string }>`
    select current_setting('shared_preload_libraries') as libraries
  `.execute(db);
  const libraries = preload.rows[0]?.libraries ?? '';
  const preloaded = libraries
    .split(',')
    .map((name) => name.trim().replace(/^"|"$/g, ''))
    .some((name) => /(^|\/)timescaledb(-[0-9.]+)?(\.so)?$/.test(name));
  if (!preloaded) {
    return { enabled: false, detail: 'extension installed but not in shared_preload_libraries: plain views' };
  }
  await sql`savepoint rasid_timescale`.execute(db);
  try {
    await sql`create extension if not exists timescaledb`.execute(db);
    await sql`release savepoint rasid_timescale`.execute(db);
    return { enabled: true, detail: 'hypertable, continuous aggregates, compression and retention policies' };
  } catch (error) {
    await sql`rollback to savepoint rasid_timescale`.execute(db);
    const reason = error instanceof Error ? error.message : String(error);
    return { enabled: false, detail: `create extension failed (${reason}): plain views` };
  }
}

export async function up(db: Kysely<unknown>): Promise<void> {
  const timescale = await createTimescale(db);
  for (const statement of timescale.enabled ? TIMESCALE : PLAIN) await sql.raw(statement).execute(db);
  await sql`
    insert into store_features (name, enabled, detail) values ('timescaledb', ${timescale.enabled}, ${timescale.detail})
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ enabled: boolean }>`
    select enabled from store_features where name = 'timescaledb'
  `.execute(db);
  if (rows[0]?.enabled) {
    await sql`drop materialized view if exists readings_daily, readings_hourly`.execute(db);
  } else {
    await sql`drop view if exists readings_daily, readings_hourly`.execute(db);
  }
  await sql`delete from store_features where name = 'timescaledb'`.execute(db);
}
