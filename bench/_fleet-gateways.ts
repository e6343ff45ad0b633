/**
 * `npm run bench -- fleet --gateways G --pg URL [--meters 1000000] [--interval 900] [--seconds 120]
 *   [--warmup 30] [--central 300] [--keep]`
 *
 * The fleet benchmark's gateway mode: a utility's whole fleet registered in PostgreSQL, reporting through
 * data concentrators, as in the field where one small machine cannot hold a million sockets. In a new
 * database on the server of URL:
 * - seeding: the demo utility and its tariffs, then N customers, premises, accounts and DLMS meters, G
 *   gateways each serving N/G of them (`gateway_meters`) and one reading per meter an interval ago, by
 *   COPY; --central meters (spread over the gateways and over the part of the interval the run covers) in
 *   central mode with one minor unit of credit, so their next charged reading, during the run, takes credit
 *   to zero (the decision latency). The engine's state of every meter is
 *   made by the engine: it evaluates the central meters and one token meter, and the token meter's state
 *   is copied to the other token meters, which hold the same readings;
 * - A. bare aedes (no hooks) under the same gateway load: CPU, RSS and PUBACK as the gateways see them;
 * - B. `bin/rasid start` on that database under the same load (bench/gateway-load.mjs, its own process:
 *   G connections, each publishing a reading of each of its meters every interval, spread evenly):
 *   after --warmup s, over --seconds: readings stored/s against offered, rows = acknowledgements, PUBACK
 *   p50/p99, decision latency p50/p99, meters evaluated/s, CPU and RSS of Rasid and of the machine's
 *   PostgreSQL processes.
 * The database is dropped at the end unless --keep.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import pino from 'pino';
import { BalanceEngine } from '../src/balance/engine.ts';
import { loadConfig } from '../src/config.ts';
import { DEMO_UTILITY, seedDemo } from '../src/demo/seed.ts';
import { openCore } from '../src/roles/core.ts';
import { secretDigest } from '../src/security/secrets.ts';
import type { MeterId } from '../src/store/schema.ts';
import { freePort } from '../test/support/process.ts';

const LOAD = new URL('./gateway-load.mjs', import.meta.url).pathname;
const PREFIX = 'GWM-';
const DIGITS = 7;
const BASE_WH = 1_000_000;
/** Wh a meter adds between two readings: enough that one reading's charge is more than one minor unit. */
const STEP_WH = 1000;

export interface GatewayBenchTools {
  arg(name: string, def: string): string;
  usage(pid: number): Promise<{ cpuS: number; rssMb: number } | null>;
  postgresUsage(): Promise<{ cpuS: number; rssMb: number }>;
  metric(url: string, name: string): Promise<number>;
  quantile(text: string, name: string, labels: string, q: string): number | null;
  stop(child: ChildProcess): Promise<void>;
  startRasid(opts: { env: Record<string, string>; port: number; mqttPort: number }): Promise<ChildProcess>;
  startBareAedes(port: number): Promise<ChildProcess>;
  coresBetween(a: { cpuS: number } | null, b: { cpuS: number } | null, s: number): number;
}

/** The gateway-load process and its latest report. */
interface Load {
  readonly child: ChildProcess;
  last: { published: number; acked: number; errors: number; samples: number; p50: number; p99: number };
  ready: Promise<void>;
  reset(): void;
}

function startLoad(settings: object): Load {
  const child = spawn(process.execPath, [LOAD, JSON.stringify(settings)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let readyResolve: () => void = () => {};
  const load: Load = {
    child,
    last: { published: 0, acked: 0, errors: 0, samples: 0, p50: 0, p99: 0 },
    ready: new Promise<void>((r) => {
      readyResolve = r;
    }),
    reset() {
      child.stdin?.write('reset\n');
    },
  };
  let buffer = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line === 'ready') readyResolve();
      else if (line.startsWith('{')) load.last = JSON.parse(line);
    }
  });
  child.once('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`gateway load exited with code ${code}\n`);
  });
  return load;
}

const serialOf = (i: number) => `${PREFIX}${String(i).padStart(DIGITS, '0')}`;

/** Rows into `table` by COPY from CSV lines made on the fly. */
async function copyRows(client: pg.Client, table: string, columns: string, rows: Iterable<string>) {
  const lines = (function* () {
    let chunk: string[] = [];
    for (const row of rows) {
      chunk.push(row);
      if (chunk.length === 10_000) {
        yield `${chunk.join('\n')}\n`;
        chunk = [];
      }
    }
    if (chunk.length > 0) yield `${chunk.join('\n')}\n`;
  })();
  await pipeline(
    Readable.from(lines),
    client.query(copyFrom(`COPY ${table} (${columns}) FROM STDIN WITH (FORMAT csv)`)),
  );
}

export async function runGateways(argv: readonly string[], t: GatewayBenchTools): Promise<void> {
  const registered = Number(t.arg('meters', '1000000'));
  const gateways = Number(t.arg('gateways', '100'));
  const intervalS = Number(t.arg('interval', '900'));
  const seconds = Number(t.arg('seconds', '120'));
  const warmupS = Number(t.arg('warmup', '30'));
  const central = Math.min(registered, Number(t.arg('central', '300')));
  const keep = argv.includes('--keep');
  const pgUrl = t.arg('pg', '');
  if (!pgUrl)
    throw new Error('the gateway mode needs --pg URL (a PostgreSQL server to make its database on)');
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const name = `rasid_bench_gw_${randomBytes(4).toString('hex')}`;
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const children: ChildProcess[] = [];
  const env: Record<string, string> = {
    DATABASE_URL: url.toString(),
    VENDING_MASTER_KEY: randomBytes(32).toString('hex'),
    DATA_DIR: `/tmp/${name}`,
    LOG_LEVEL: 'warn',
  };
  const perGateway = Math.ceil(registered / gateways);
  // The central meters are spread over the gateways and over the part of the interval the run covers, so
  // each of them reports once during the run: meter k of gateway g at k/(its share) of that part.
  const covered = Math.min(1, (warmupS + seconds) / intervalS);
  const centralSet = new Set<number>();
  const perGatewayCentral = Math.ceil(central / gateways);
  for (let j = 0; j < central; j++) {
    const g = j % gateways;
    const k = Math.floor(j / gateways);
    const count = Math.max(0, Math.min(perGateway, registered - g * perGateway));
    const offset = Math.floor(((k + 0.5) * count * covered) / perGatewayCentral);
    if (offset < count) centralSet.add(g * perGateway + offset);
  }
  const isCentral = (i: number) => centralSet.has(i);
  const keys = Array.from(
    { length: gateways },
    (_, g) => `rgw_bench_${g}_${randomBytes(12).toString('hex')}`,
  );
  const loadSettings = (brokerUrl: string) => ({
    url: brokerUrl,
    utility: DEMO_UTILITY,
    gateways: keys.map((key, g) => ({
      code: `bench-gw-${String(g).padStart(4, '0')}`,
      key,
      first: g * perGateway,
      count: Math.max(0, Math.min(perGateway, registered - g * perGateway)),
    })),
    prefix: PREFIX,
    digits: DIGITS,
    intervalS,
    baseWh: BASE_WH,
    stepWh: STEP_WH,
  });
  try {
    out('# fleet benchmark, gateway mode: a registered fleet reporting through data concentrators');
    out(
      `workload: ${registered} meters registered in PostgreSQL, ${gateways} gateway connections ` +
        `(bench/gateway-load.mjs, one process) each publishing a reading of each of its ${perGateway} meters ` +
        `every ${intervalS} s, spread evenly: ${(registered / intervalS).toFixed(0)} readings/s offered; ` +
        `${warmupS} s warm-up, ${seconds} s measured; ${central} meters in central mode with 1 minor unit ` +
        'of credit. The machine may be shared with other work: figures are noisy.',
    );

    // Seeding.
    const seedStart = performance.now();
    const core = await openCore({ config: loadConfig(env), log: pino({ level: 'silent' }) });
    const db = core.store.db;
    const { utilityId } = await seedDemo(db, core.keys, { meters: 0, historyDays: 0 });
    await db
      .updateTable('utilities')
      .set({ night_start_minute: null, night_end_minute: null, weekend_days: [] })
      .where('id', '=', utilityId)
      .execute();
    const gatewayIds: string[] = [];
    for (const [g, key] of keys.entries()) {
      const row = await db
        .insertInto('gateways')
        .values({
          utility_id: utilityId,
          code: `bench-gw-${String(g).padStart(4, '0')}`,
          name: `Bench concentrator ${g}`,
          api_key_hash: secretDigest(key),
          poll_interval_s: intervalS,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      gatewayIds.push(row.id);
    }
    const ids = Array.from({ length: registered }, () => ({
      customer: randomUUID(),
      premise: randomUUID(),
      account: randomUUID(),
      meter: randomUUID(),
    }));
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    const range = function* <T>(f: (i: number) => T) {
      for (let i = 0; i < registered; i++) yield f(i);
    };
    const copyStart = performance.now();
    await copyRows(
      client,
      'customers',
      'id, utility_id, name, preferred_language, phone',
      range((i) => `${ids[i]!.customer},${utilityId},Customer ${i},ar,+9689${String(i).padStart(7, '0')}`),
    );
    await copyRows(
      client,
      'premises',
      'id, utility_id, address',
      range((i) => `${ids[i]!.premise},${utilityId},"House ${i}, Way ${i % 5000}"`),
    );
    await copyRows(
      client,
      'accounts',
      'id, utility_id, number, customer_id, premise_id',
      range(
        (i) =>
          `${ids[i]!.account},${utilityId},GW-${String(i).padStart(DIGITS, '0')},${ids[i]!.customer},${ids[i]!.premise}`,
      ),
    );
    await copyRows(
      client,
      'meters',
      'id, utility_id, serial, kind, protocol, mode, account_id, status',
      range(
        (i) =>
          `${ids[i]!.meter},${utilityId},${serialOf(i)},electricity,dlms,${isCentral(i) ? 'central' : 'token'},${ids[i]!.account},active`,
      ),
    );
    await copyRows(
      client,
      'gateway_meters',
      'meter_id, gateway_id, utility_id, settings',
      range((i) => `${ids[i]!.meter},${gatewayIds[Math.floor(i / perGateway)]},${utilityId},{}`),
    );
    // One reading an interval ago: the register the next reading is charged from.
    const before = new Date(Date.now() - intervalS * 1000).toISOString();
    await copyRows(
      client,
      'readings',
      'meter_id, ts, seq, energy_wh, credit_wh, relay, flags',
      range((i) => `${ids[i]!.meter},${before},0,${BASE_WH},50000,true,0`),
    );
    const copyS = (performance.now() - copyStart) / 1000;
    const centralIds: MeterId[] = [];
    for (let i = 0; i < registered; i++) if (isCentral(i)) centralIds.push(ids[i]!.meter as MeterId);
    for (let i = 0; i < centralIds.length; i += 1000) {
      const part = centralIds.slice(i, i + 1000);
      await sql`
        insert into account_ledger (utility_id, account_id, kind, amount_minor, ref)
        select m.utility_id, m.account_id, 'adjustment', 1, 'bench:one-unit-left'
        from meters m where m.id = any(${part}::uuid[])`.execute(db);
    }
    await client.query('analyze');
    // The engine's state of every meter, made by the engine: the central meters and one token meter are
    // evaluated; the other token meters hold the same readings, so their state is the token meter's.
    const engine = new BalanceEngine({
      db,
      commands: {
        enqueue: () => {
          throw new Error('no relay command is due while seeding');
        },
        dispatchDue: async () => undefined,
      },
    });
    const template = ids.findIndex((_, i) => !isCentral(i));
    const seeded = await engine.run({ meterIds: [...centralIds, ids[template]!.meter as MeterId] });
    const failed = seeded.meters.filter((m) => !m.ok);
    if (failed.length > 0) throw new Error(`seeding the engine's state failed: ${failed[0]!.error}`);
    await client.query(
      `insert into balance_state (meter_id, utility_id, read_ts, register, month, month_to_date,
         month_cost_scaled, month_cost_per, relay, credit_minor_reported, credit_wh_reported, usage, ledger_id,
         balance_minor, memo, credit_minor, days_left, low_credit, supply, decision, evaluated_at, due_at)
       select m.id, m.utility_id, t.read_ts, t.register, t.month, t.month_to_date, t.month_cost_scaled,
         t.month_cost_per, t.relay, t.credit_minor_reported, t.credit_wh_reported, t.usage, t.ledger_id,
         t.balance_minor, t.memo, t.credit_minor, t.days_left, t.low_credit, t.supply, t.decision,
         t.evaluated_at, t.due_at
       from meters m cross join balance_state t
       where t.meter_id = $1 and m.utility_id = $2 and m.mode = 'token' and m.id <> $1`,
      [ids[template]!.meter, utilityId],
    );
    await client.query('analyze');
    await client.end();
    await core.close();
    out(
      `seeded ${registered} meters in ${((performance.now() - seedStart) / 1000).toFixed(1)} s ` +
        `(COPY of customers, premises, accounts, meters, gateway_meters and readings ${copyS.toFixed(1)} s)`,
    );

    const cpu = t.coresBetween;

    // A. Bare aedes under the same load.
    const barePort = await freePort();
    const bare = await t.startBareAedes(barePort);
    children.push(bare);
    const bareLoad = startLoad(loadSettings(`mqtt://127.0.0.1:${barePort}`));
    children.push(bareLoad.child);
    await bareLoad.ready;
    await new Promise((r) => setTimeout(r, warmupS * 1000));
    bareLoad.reset();
    const b0 = await t.usage(bare.pid!);
    let barePeak = 0;
    const bt0 = performance.now();
    while (performance.now() - bt0 < seconds * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      barePeak = Math.max(barePeak, (await t.usage(bare.pid!))?.rssMb ?? 0);
    }
    const b1 = await t.usage(bare.pid!);
    const bareCpu = cpu(b0, b1, (performance.now() - bt0) / 1000);
    const bareReport = bareLoad.last;
    await t.stop(bareLoad.child);
    await t.stop(bare);
    out(`A. bare aedes: CPU ${bareCpu.toFixed(3)} core, PUBACK p99 ${bareReport.p99.toFixed(1)} ms`);

    // B. Rasid on the database.
    const port = await freePort();
    const mqttPort = await freePort();
    const httpUrl = `http://127.0.0.1:${port}`;
    const startedAt = performance.now();
    const server = await t.startRasid({ env, port, mqttPort });
    children.push(server);
    const readyS = (performance.now() - startedAt) / 1000;
    const runStart = new Date();
    const load = startLoad(loadSettings(`mqtt://127.0.0.1:${mqttPort}`));
    children.push(load.child);
    await load.ready;
    let peak = 0;
    const sample = async () => {
      const u = await t.usage(server.pid!);
      if (u) peak = Math.max(peak, u.rssMb);
      return u;
    };
    const w0 = performance.now();
    while (performance.now() - w0 < warmupS * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      await sample();
    }
    load.reset();
    const r0 = await t.metric(httpUrl, 'rasid_ingest_readings_total');
    const e0 = await t.metric(httpUrl, 'rasid_balance_evaluations_total');
    const p0 = load.last.published;
    const u0 = await sample();
    const pg0 = await t.postgresUsage();
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      await sample();
    }
    const u1 = await sample();
    const pg1 = await t.postgresUsage();
    const elapsed = (performance.now() - t0) / 1000;
    const r1 = await t.metric(httpUrl, 'rasid_ingest_readings_total');
    const e1 = await t.metric(httpUrl, 'rasid_balance_evaluations_total');
    const p1 = load.last.published;
    const report = load.last;
    const metricsText = await (await fetch(`${httpUrl}/metrics`)).text();
    const latency = (q: string) =>
      t.quantile(metricsText, 'rasid_balance_decision_latency_seconds', 'kind="disconnect"', q);
    const decisions = /rasid_balance_decision_latency_seconds_count\{kind="disconnect"\} (\d+)/.exec(
      metricsText,
    );
    const pending = await t.metric(httpUrl, 'rasid_balance_pending_meters');
    // Rows = acknowledgements: stop publishing, let the last PUBACKs come, count the rows of the run.
    await t.stop(load.child);
    await new Promise((r) => setTimeout(r, 2000));
    const final = load.last;
    const check = new pg.Client({ connectionString: url.toString() });
    await check.connect();
    const { rows } = await check.query<{ n: string }>(
      'select count(*)::text as n from readings where ts >= $1',
      [runStart],
    );
    await check.end();
    await t.stop(server);

    const f = (n: number | null, d = 1) => (n === null || Number.isNaN(n) ? 'n/a' : n.toFixed(d));
    const serverCpu = cpu(u0, u1, elapsed);
    const pgCpu = cpu(pg0, pg1, elapsed);
    out('');
    out('| figure | Rasid | same-run baseline | baseline | ratio |');
    out('|---|---|---|---|---|');
    out(`| ready after start, ${registered} meters registered (s) | ${f(readyS)} | | | |`);
    out(
      `| readings stored/s | ${f((r1 - r0) / elapsed)} | offered (meters / interval) | ${f(registered / intervalS)} | ${f((100 * (r1 - r0)) / elapsed / (registered / intervalS), 0)}% |`,
    );
    out(`| readings published/s by the gateways in the window | ${f((p1 - p0) / elapsed)} | | | |`);
    out(
      `| rows = acknowledgements (rows stored / PUBACKs, whole run) | ${rows[0]!.n} / ${final.acked} (${final.published} published, ${final.errors} errors) | | | |`,
    );
    out(
      `| PUBACK p50 / p99 as the gateways see it (ms) | ${f(report.p50)} / ${f(report.p99)} | bare aedes p50 / p99 | ${f(bareReport.p50)} / ${f(bareReport.p99)} | |`,
    );
    out(
      `| decision latency p50 / p99 (s), ${decisions?.[1] ?? 0} disconnects | ${f(latency('0.5'), 3)} / ${f(latency('0.99'), 3)} | | | |`,
    );
    out(`| meters evaluated/s by the balance engine | ${f((e1 - e0) / elapsed)} | | | |`);
    out(`| meters waiting for an evaluation at the end | ${pending} | | | |`);
    out(`| server CPU (cores) | ${f(serverCpu, 3)} | bare aedes CPU | ${f(bareCpu, 3)} | |`);
    out(`| PostgreSQL CPU (cores, all postgres processes on the machine) | ${f(pgCpu, 3)} | | | |`);
    out(`| server + PostgreSQL CPU (cores) | ${f(serverCpu + pgCpu, 3)} | goal | 1.000 | |`);
    out(
      `| server RSS (MB, end / peak) | ${f(u1?.rssMb ?? null, 0)} / ${f(peak, 0)} | bare aedes peak | ${f(barePeak, 0)} | |`,
    );
    out(
      `| PostgreSQL RSS (MB, all processes, shared pages counted per process) | ${f(pg1.rssMb, 0)} | | | |`,
    );
  } finally {
    for (const child of children.reverse()) await t.stop(child);
    if (!keep) {
      await admin.query(`drop database if exists ${name} with (force)`).catch(() => undefined);
    } else out(`kept the database ${name}`);
    await admin.end();
  }
}
