/**
 * `npm run bench -- timescale [--meters 10000] [--days 30] [--slot 15] [--runs 3] [--ts URL] [--pg URL]`
 *
 * The month's consumption report and the readings' size on TimescaleDB beside plain PostgreSQL, same data,
 * same run. Each engine gets a fresh database (migrated by Rasid's own migrations) with one utility and
 * --meters meters reporting every --slot minutes for --days days of November 2026 (register, power, voltage,
 * current, credit as a meter sends them). On TimescaleDB the roll-up policies and compression then run as
 * they would in service (`call run_job`), and the report is timed after that. Figures: rows, the readings'
 * size before and after compression (TimescaleDB's own statistics) beside the plain table, and the median
 * time of `consumptionByDay` over the month, interleaved TimescaleDB / PostgreSQL --runs times.
 *
 * --ts defaults to the cluster `.ci/timescaledb start` runs (127.0.0.1:5442), --pg to the machine's
 * PostgreSQL (127.0.0.1:5432). The databases are dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { SingleBar } from 'cli-progress';
import { sql } from 'kysely';
import pg from 'pg';
import { consumptionByDay } from '../src/reports/queries.ts';
import { createDatabase, type Store } from '../src/store/db.ts';
import { migrateToLatest } from '../src/store/migrate.ts';
import type { UtilityId } from '../src/store/schema.ts';
import { timescaleJobs } from '../src/store/timescale-jobs.ts';

function arg(argv: readonly string[], name: string, def: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : def;
}

const MONTH_FROM = '2026-11-01';
const MONTH_TO = '2026-12-01';

interface Engine {
  name: string;
  admin: string;
  database: string;
  store: Store;
  utilityId: UtilityId;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function open(name: string, admin: string): Promise<Engine> {
  const database = `rasid_bench_${randomBytes(4).toString('hex')}`;
  await adminQuery(admin, `create database ${database}`);
  const store = await createDatabase({ databaseUrl: withDatabase(admin, database), dataDir: ':memory:' });
  const migrated = await migrateToLatest(store.db);
  if (migrated.error !== undefined) throw migrated.error;
  const utility = await store.db
    .insertInto('utilities')
    .values({
      code: 'bench',
      name: 'Bench utility',
      currency: 'OMR',
      currency_exponent: 3,
      tax_rate_bp: 500,
      timezone: 'Asia/Muscat',
      weekend_days: [5, 6],
      night_start_minute: 22 * 60,
      night_end_minute: 7 * 60,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { name, admin, database, store, utilityId: utility.id };
}

async function close(engine: Engine): Promise<void> {
  await engine.store.close();
  await adminQuery(engine.admin, `drop database if exists ${engine.database} with (force)`);
}

/** The same fleet and readings on both engines: values derived from (meter number, slot), no randomness. */
async function load(
  engines: readonly Engine[],
  meters: number,
  days: number,
  slotMin: number,
): Promise<number> {
  for (const e of engines) {
    await sql`
      insert into meters (utility_id, serial, kind, protocol, mode, status)
      select ${e.utilityId}, 'BENCH-' || lpad(i::text, 6, '0'), 'electricity', 'mqtt', 'central', 'active'
        from generate_series(1, ${meters}) i
    `.execute(e.store.db);
  }
  const slotsPerDay = (24 * 60) / slotMin;
  const bar = new SingleBar({
    format: 'loading readings [{bar}] {value}/{total} engine-days {eta}s',
    stream: process.stderr,
  });
  bar.start(days * engines.length, 0);
  for (let day = 0; day < days; day++) {
    for (const e of engines) {
      // Per meter: a base register, a consumption rate and a credit; per slot small variations (hashes).
      await sql`
        insert into readings (meter_id, ts, seq, energy_wh, power_w, voltage_dv, current_ma, credit_wh, relay, flags)
        select m.id, ts,
               s,
               m.n * 100000 + s * (20 + m.n % 180) + abs(hashint8(m.n * 1000003 + s)) % 15,
               200 + abs(hashint8(m.n * 7 + s)) % 4000,
               2250 + abs(hashint8(m.n * 11 + s)) % 80,
               1000 + abs(hashint8(m.n * 13 + s)) % 17000,
               greatest(0, 900000 - s * (20 + m.n % 180)),
               true, 0
          from (select id, row_number() over (order by serial) as n from meters where utility_id = ${e.utilityId}) m,
               lateral (select ${MONTH_FROM}::timestamptz + make_interval(days => ${day}) + make_interval(mins => ${slotMin} * k) as ts,
                               ${day * slotsPerDay} + k as s
                          from generate_series(0, ${slotsPerDay - 1}) k) t
      `.execute(e.store.db);
      bar.increment();
    }
  }
  bar.stop();
  return meters * days * slotsPerDay;
}

async function callJobs(e: Engine, procedure: string): Promise<number> {
  const started = performance.now();
  for (const job of await timescaleJobs(e.store.db)) {
    if (job.procedure === procedure) await sql.raw(`call run_job(${job.jobId})`).execute(e.store.db);
  }
  return (performance.now() - started) / 1000;
}

async function bytes(e: Engine, text: string): Promise<bigint> {
  const { rows } = await sql<{ b: string }>`${sql.raw(text)}`.execute(e.store.db);
  return BigInt(rows[0]?.b ?? '0');
}

function mb(b: bigint): string {
  return `${(Number(b) / 1024 / 1024).toFixed(1)} MB`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function run(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help')) {
    process.stdout.write(
      'usage: npm run bench -- timescale [--meters 10000] [--days 30] [--slot 15] [--runs 3] [--ts URL] [--pg URL]\n',
    );
    return;
  }
  const meters = Number(arg(argv, 'meters', '10000'));
  const days = Number(arg(argv, 'days', '30'));
  const slot = Number(arg(argv, 'slot', '15'));
  const runs = Number(arg(argv, 'runs', '3'));
  const tsUrl = arg(argv, 'ts', 'postgres://postgres@127.0.0.1:5442/postgres');
  const pgUrl = arg(argv, 'pg', 'postgres://postgres@127.0.0.1:5432/postgres');

  const ts = await open('TimescaleDB', tsUrl);
  const plain = await open('PostgreSQL', pgUrl);
  try {
    if (!ts.store.timescale) throw new Error(`${tsUrl} has no usable TimescaleDB`);
    if (plain.store.timescale) throw new Error(`${pgUrl} has TimescaleDB: give a plain PostgreSQL`);
    process.stdout.write(
      `workload: ${meters} meters, a reading every ${slot} min for ${days} days of November 2026 on each engine\n`,
    );
    const started = performance.now();
    const rows = await load([ts, plain], meters, days, slot);
    process.stdout.write(
      `loaded ${rows} readings per engine in ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
    );

    // As autovacuum would after a load: planner statistics for both.
    for (const e of [ts, plain]) await sql`analyze`.execute(e.store.db);
    const refreshS = await callJobs(ts, 'policy_refresh_continuous_aggregate');
    const compressS = await callJobs(ts, 'policy_compression');
    const plainBytes = await bytes(plain, "select pg_total_relation_size('readings')::text as b");
    const { rows: stats } = await sql<{ before: string; after: string; chunks: string; compressed: string }>`
      select sum(before_compression_total_bytes)::text as before, sum(after_compression_total_bytes)::text as after,
             sum(total_chunks)::text as chunks, sum(number_compressed_chunks)::text as compressed
        from hypertable_compression_stats('readings')
    `.execute(ts.store.db);
    const before = BigInt(stats[0]?.before ?? '0');
    const after = BigInt(stats[0]?.after ?? '0');
    const tsTotal = await bytes(ts, "select hypertable_size('readings')::text as b");
    process.stdout.write(
      `policies (call run_job): roll-up refresh ${refreshS.toFixed(1)} s, compression ${compressS.toFixed(1)} s ` +
        `(${stats[0]?.compressed}/${stats[0]?.chunks} chunks)\n`,
    );
    process.stdout.write(
      `size: TimescaleDB ${mb(before)} before compression -> ${mb(after)} after ` +
        `(${((100 * Number(after)) / Number(before)).toFixed(2)}% of raw); hypertable now ${mb(tsTotal)}; ` +
        `plain PostgreSQL table ${mb(plainBytes)}\n`,
    );

    const times: Record<string, number[]> = { TimescaleDB: [], PostgreSQL: [] };
    let answer: string | undefined;
    for (let i = 0; i < runs; i++) {
      for (const e of [ts, plain]) {
        const t0 = performance.now();
        const report = await consumptionByDay(e.store.db, e.utilityId, MONTH_FROM, MONTH_TO);
        times[e.name]!.push((performance.now() - t0) / 1000);
        const total = report.reduce((s, d) => s + d.energyWh, 0n);
        const seen = `${report.length} days, ${total} Wh`;
        if (answer === undefined) answer = seen;
        else if (answer !== seen) throw new Error(`the engines disagree: ${answer} vs ${seen} (${e.name})`);
      }
    }
    const tsMed = median(times.TimescaleDB!);
    const pgMed = median(times.PostgreSQL!);
    process.stdout.write(`November consumption report (both engines: ${answer})\n`);
    process.stdout.write(
      `  TimescaleDB ${tsMed.toFixed(3)} s (runs ${times.TimescaleDB!.map((t) => t.toFixed(3)).join(', ')})\n` +
        `  PostgreSQL  ${pgMed.toFixed(3)} s (runs ${times.PostgreSQL!.map((t) => t.toFixed(3)).join(', ')}) ` +
        `[baseline]\n  ratio       ${(pgMed / tsMed).toFixed(1)}x faster on TimescaleDB\n`,
    );
  } finally {
    await close(ts);
    await close(plain);
  }
}
