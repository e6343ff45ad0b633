/**
 * `npm run bench -- ingest [--meters 1000] [--seconds 8] [--rounds 3] [--rows 100000] [--pg URL]`
 *
 * P1/P2/P4 (docs/benchmarks.md): simulated meters (mqtt.js, MQTT 3.1.1, QoS 1, one reading outstanding each,
 * closed loop) on loopback; durable readings/s into PostgreSQL through Rasid's broker + ingest, beside a
 * bare aedes PUBACK-only rate (same generator, no hooks, no subscriber), interleaved A B A B A B; medians,
 * ratios and p99 publish-to-PUBACK. Rows in the table are checked against PUBACKs every round (P4).
 * P3: the ingest's writer alone (queue in memory -> DB) beside COPY in 10k-row statements, same rows.
 * The meters run in a child process (bench/ingest-load.mjs), as real meters are elsewhere; the broker and
 * the ingest share this one.
 */
import { spawn } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Aedes } from 'aedes';
import { sql } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createBroker, StoreCredentialStore } from '../src/broker/index.ts';
import { createIngest, PgReadingWriter, type ReadingRow, storeMeterResolver } from '../src/ingest/index.ts';
import { createDatabase, migrateToLatest } from '../src/store/index.ts';
import { readingPayload } from './reading-payload.mjs';

interface Args {
  meters: number;
  seconds: number;
  warmup: number;
  rounds: number;
  rows: number;
  pg: string;
}

function parseArgs(argv: readonly string[]): Args {
  const get = (name: string, def: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : def;
  };
  return {
    meters: Number(get('meters', '1000')),
    seconds: Number(get('seconds', '8')),
    warmup: Number(get('warmup', '2')),
    rounds: Number(get('rounds', '3')),
    rows: Number(get('rows', '100000')),
    pg: get('pg', process.env.RASID_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const pct = (sorted: Float64Array, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** A cheap scrypt hash (N=1024) in Rasid's format, so 1000 first connects do not cost 1000 full scrypts. */
function benchHash(secret: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(secret, salt, 32, { N: 1024, r: 8, p: 1 });
  return ['scrypt', 1024, 8, 1, salt.toString('base64'), key.toString('base64')].join('$');
}

const UTILITY = 'bench';
const LOAD = new URL('./ingest-load.mjs', import.meta.url).pathname;
const PASSWORD = 'bench-secret';

interface LoadResult {
  rate: number;
  acks: number;
  p50: number;
  p99: number;
}

/**
 * Runs the meters (bench/ingest-load.mjs) in a child process against `url`: one QoS 1 reading outstanding
 * per meter (closed loop); latency = publish -> PUBACK as the meter sees it.
 */
async function closedLoop(url: string, serials: string[], args: Args, tsBase: number): Promise<LoadResult> {
  const settings = {
    url,
    serials,
    password: PASSWORD,
    utility: UTILITY,
    warmup: args.warmup,
    seconds: args.seconds,
    tsBase,
  };
  const child = spawn(process.execPath, [LOAD, JSON.stringify(settings)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult;
}

export async function run(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const database = `rasid_bench_ingest_${process.pid}`;
  const adminUrl = new URL(args.pg);
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  adminUrl.pathname = `/${database}`;
  const dbUrl = adminUrl.toString();
  const store = await createDatabase({ databaseUrl: dbUrl, dataDir: ':memory:', poolSize: 2 });
  const pool = new pg.Pool({ connectionString: dbUrl, max: 2 });
  pool.on('error', () => {});
  try {
    const outcome = await migrateToLatest(store.db);
    if (outcome.error !== undefined) throw outcome.error;
    const serials = Array.from({ length: args.meters }, (_, i) => `B${String(i).padStart(6, '0')}`);
    const hash = benchHash(PASSWORD);
    await sql`insert into utilities (code, name, currency, currency_exponent, timezone)
              values (${UTILITY}, 'Bench', 'AED', 2, 'Asia/Dubai')`.execute(store.db);
    await sql`insert into meters (utility_id, serial, kind, protocol, mode, mqtt_password_hash, status)
              select u.id, s, 'electricity', 'mqtt', 'token', ${hash}, 'active'
              from utilities u, unnest(${serials}::text[]) s where u.code = ${UTILITY}`.execute(store.db);

    out('# ingest benchmark (docs/benchmarks.md P1-P4)');
    out(
      `workload: ${args.meters} meters (mqtt.js, MQTT 3.1.1, clean session, keepalive 120), QoS 1 readings`,
    );
    out(
      `  (~${readingPayload(123456, Date.now()).length} B JSON), 1 outstanding per meter (closed loop), ${args.warmup} s warm-up + ${args.seconds} s measured,`,
    );
    out(
      `  ${args.rounds} rounds A B interleaved; meters in a child process, broker and ingest in this one; PostgreSQL ${dbUrl.replace(/\/\/[^@]*@/, '//')}`,
    );
    out(
      '  A = bare aedes, PUBACK only (no hooks, no subscriber); B = Rasid broker + durable ingest (batch <= 2000 rows / 5 ms, INSERT ... unnest)',
    );

    const bare: LoadResult[] = [];
    const durable: LoadResult[] = [];
    let tsBase = Date.UTC(2026, 0, 1);
    for (let round = 1; round <= args.rounds; round++) {
      // A: bare aedes.
      {
        const aedes = await Aedes.createBroker();
        const server = createServer((s) => aedes.handle(s));
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        const r = await closedLoop(
          `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
          serials,
          args,
          tsBase,
        );
        bare.push(r);
        await new Promise<void>((res) => aedes.close(() => res()));
        server.close();
        out(
          `round ${round} A bare aedes      ${fmt(r.rate)} msg/s   PUBACK p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms`,
        );
      }
      // B: Rasid durable ingest.
      {
        await pool.query('TRUNCATE readings');
        const inner = new PgReadingWriter({ pool });
        const commits: number[] = [];
        const ingest = createIngest({
          readings: {
            async write(rows) {
              const t0 = performance.now();
              const result = await inner.write(rows);
              commits.push(performance.now() - t0);
              return result;
            },
          },
          resolveMeter: storeMeterResolver(store.db),
        });
        const broker = await createBroker({
          credentials: new StoreCredentialStore(store.db),
          tcp: { port: 0 },
          interceptor: ingest,
          registry: ingest.registry,
        });
        tsBase += 1e9;
        const r = await closedLoop(`mqtt://127.0.0.1:${broker.addresses.tcp!.port}`, serials, args, tsBase);
        durable.push(r);
        await broker.close();
        const batches = (await ingest.metrics.batchRows.get()).values;
        const sum = batches.find((v) => v.metricName === 'rasid_ingest_batch_rows_sum')?.value ?? 0;
        const count = batches.find((v) => v.metricName === 'rasid_ingest_batch_rows_count')?.value ?? 1;
        const committed = (await ingest.metrics.readings.get()).values[0]?.value ?? 0;
        const hook = (await ingest.metrics.pubackSeconds.get()).values.filter(
          (v) => v.labels.kind === 'reading',
        );
        const hookTotal = hook.find((v) => v.metricName === 'rasid_ingest_puback_seconds_count')?.value ?? 0;
        const hookUnder1s = hook.find((v) => (v.labels as Record<string, unknown>).le === 1)?.value ?? 0;
        const rows = Number((await pool.query('select count(*) as n from readings')).rows[0].n);
        out(
          `round ${round} B Rasid durable   ${fmt(r.rate)} readings/s   PUBACK p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms   ` +
            `avg batch ${(sum / count).toFixed(0)} rows, commit p99 ${pct(Float64Array.from(commits).sort(), 0.99).toFixed(1)} ms max ${Math.max(...commits).toFixed(0)} ms, in hook > 1 s: ${fmt(hookTotal - hookUnder1s)} of ${fmt(hookTotal)}   P4 rows ${fmt(rows)} = committed ${fmt(committed)}: ${rows === committed ? 'ok' : 'MISMATCH'}`,
        );
      }
    }

    // P3: the writer alone vs COPY in 10k-row statements, same rows.
    const meterIds: string[] = (await pool.query('select id from meters')).rows.map(
      (r: { id: string }) => r.id,
    );
    const rowsFor = (base: number): ReadingRow[] =>
      Array.from({ length: args.rows }, (_, i) => ({
        meterId: meterIds[i % meterIds.length]!,
        tsMs: base + Math.floor(i / meterIds.length) * 900_000,
        seq: i,
        energyWh: 100_000 + i,
        volumeL: null,
        powerW: 1200,
        voltageDv: 2301,
        currentMa: 5210,
        creditMinor: null,
        creditWh: 50_000,
        relay: true,
        flags: 0,
      }));
    const writerRates: number[] = [];
    const copyRates: number[] = [];
    await pool.query('CREATE TABLE IF NOT EXISTS readings_copy (LIKE readings INCLUDING ALL)');
    for (let round = 1; round <= args.rounds; round++) {
      await pool.query('TRUNCATE readings, readings_copy');
      const rows = rowsFor(Date.UTC(2027, 0, 1) + round * 1e10);
      let t0 = performance.now();
      const client = await pool.connect();
      for (let i = 0; i < rows.length; i += 10_000) {
        const part = rows.slice(i, i + 10_000);
        const text = part
          .map((r) =>
            [
              r.meterId,
              new Date(r.tsMs).toISOString(),
              r.seq,
              r.energyWh,
              '\\N',
              r.powerW,
              r.voltageDv,
              r.currentMa,
              '\\N',
              r.creditWh,
              't',
              0,
            ].join('\t'),
          )
          .join('\n');
        await pipeline(
          [`${text}\n`],
          client.query(
            copyFrom(
              'COPY readings_copy (meter_id, ts, seq, energy_wh, volume_l, power_w, voltage_dv, current_ma, credit_minor, credit_wh, relay, flags) FROM STDIN',
            ),
          ),
        );
      }
      client.release();
      copyRates.push(rows.length / ((performance.now() - t0) / 1000));
      const writer = new PgReadingWriter({ pool });
      t0 = performance.now();
      for (let i = 0; i < rows.length; i += 2000) await writer.write(rows.slice(i, i + 2000));
      writerRates.push(rows.length / ((performance.now() - t0) / 1000));
      out(
        `round ${round} P3 COPY 10k-row statements ${fmt(copyRates.at(-1)!)} rows/s   ingest writer (unnest, 2000-row batches) ${fmt(writerRates.at(-1)!)} rows/s`,
      );
    }

    const mBare = median(bare.map((r) => r.rate));
    const mDurable = median(durable.map((r) => r.rate));
    const p99Bare = median(bare.map((r) => r.p99));
    const p99Durable = median(durable.map((r) => r.p99));
    out('');
    out('| # | figure | median | baseline (same run) | median | ratio | goal |');
    out('|---|---|---|---|---|---|---|');
    out(
      `| P1 | durable readings/s | ${fmt(mDurable)} | bare aedes PUBACK-only msg/s | ${fmt(mBare)} | ${((100 * mDurable) / mBare).toFixed(0)}% | >= 60% |`,
    );
    out(
      `| P1 | p99 reading->PUBACK (closed loop) | ${p99Durable.toFixed(1)} ms | bare aedes p99 | ${p99Bare.toFixed(1)} ms | ${(p99Durable / p99Bare).toFixed(1)}x | < 1 s (issue 4) |`,
    );
    out(
      `| P3 | ingest writer rows/s | ${fmt(median(writerRates))} | COPY 10k-row statements | ${fmt(median(copyRates))} | ${((100 * median(writerRates)) / median(copyRates)).toFixed(0)}% | >= 50% |`,
    );
    out(
      `| P3' | durable ingest vs raw COPY | ${fmt(mDurable)} | COPY 10k-row statements | ${fmt(median(copyRates))} | ${((100 * mDurable) / median(copyRates)).toFixed(0)}% | (context) |`,
    );
  } finally {
    await pool.end();
    await store.close();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
}
