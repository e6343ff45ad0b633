/**
 * `npm run bench -- fleet [--meters 2000] [--interval 60] [--seconds 60] [--history-days 0]
 *   [--central 100] [--start-rate 1000] [--pg URL] [--cpu-prof DIR]`
 * `npm run bench -- fleet --gateways G --pg URL [--meters 1000000] [--interval 900] [--seconds 120]
 *   [--warmup 30] [--central 300] [--keep]`: a registered fleet in a new PostgreSQL database, reporting
 *   through G data-concentrator connections (bench/_fleet-gateways.ts).
 *
 * A simulated fleet against `bin/rasid start`, each in its own process, as in the field: the demo utility
 * is seeded with N meters and --history-days of hourly readings, --central of them switched to central
 * mode with one minor unit of credit (their next charged reading takes credit to zero: the decision
 * latency), nights and weekends off so no disconnect is deferred. Then, each with `bin/rasid sim fleet`
 * (N MQTT meters, a reading every --interval s, jittered reconnects) in its own process:
 *
 * A. bare aedes (bench/aedes-bare.mjs, no hooks): time for every meter to connect from cold, CPU and RSS
 *    over --seconds — the same-run baseline;
 * B. Rasid (embedded PGlite, or PostgreSQL with --pg), from a cold start: time for every meter to connect,
 *    connect errors, the time until the engine has taken the seeded history in, then over --seconds:
 *    readings stored/s against offered, rows = acknowledgements,
 *    PUBACK p50/p99 as the meters see it, decision latency p50/p99 (commit of the reading → disconnect
 *    queued, rasid_balance_decision_latency_seconds), meters evaluated, CPU and RSS of Rasid (and of the
 *    machine's PostgreSQL processes with --pg);
 * C. Rasid restarted, a new fleet process: the cold reconnect, every meter again, with its connect errors.
 *
 * With --cpu-prof DIR each Rasid server process writes a V8 CPU profile (`.cpuprofile`, for Chrome's DevTools)
 * into DIR when it stops. CPU and memory come from /proc, sampled every second. The machine may be shared: figures are noisy.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import {
  DEMO_DRN_BASE,
  DEMO_METER_PASSWORD,
  DEMO_SERIAL_PREFIX,
  DEMO_UTILITY,
  seedDemo,
} from '../src/demo/seed.ts';
import { openCore } from '../src/roles/core.ts';
import { minorUnits } from '../src/store/schema.ts';
import { freePort } from '../test/support/process.ts';

const BIN = new URL('../bin/rasid', import.meta.url).pathname;
const TICKS = 100; // USER_HZ on Linux

function arg(argv: readonly string[], name: string, def: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : def;
}

/** CPU seconds (user + system) and resident memory of one process, from /proc. */
async function usage(pid: number): Promise<{ cpuS: number; rssMb: number } | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuS = (Number(fields[11]) + Number(fields[12])) / TICKS;
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuS, rssMb: rssKb / 1024 };
  } catch {
    return null;
  }
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** A metric summed over all its labels. */
async function metricSum(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** CPU seconds and RSS of every process named `postgres` (the machine's PostgreSQL), from /proc. */
async function postgresUsage(): Promise<{ cpuS: number; rssMb: number }> {
  const { readdir } = await import('node:fs/promises');
  let cpuS = 0;
  let rssMb = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (comm.trim() !== 'postgres') continue;
    const u = await usage(Number(entry));
    if (u) {
      cpuS += u.cpuS;
      rssMb += u.rssMb;
    }
  }
  return { cpuS, rssMb };
}

/**
 * `bin/rasid start` in its own process with `env`, its HTTP on `port` and its broker on `mqttPort`, once it
 * answers /readyz (ten minutes at most: a cold start migrates and loads a large fleet's store on what may be
 * a busy machine). With `profileDir` it writes a V8 CPU profile there when it stops.
 */
export async function startRasid(opts: {
  env: Record<string, string>;
  port: number;
  mqttPort: number;
  profileDir?: string;
}): Promise<ChildProcess> {
  const profile = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [];
  const server = spawn(process.execPath, [...profile, BIN, 'start'], {
    env: {
      ...process.env,
      ...opts.env,
      PORT: String(opts.port),
      MQTT_PORT: String(opts.mqttPort),
      NODE_ENV: 'development',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; ; i++) {
    if (i > 6000 || server.exitCode !== null) {
      server.kill('SIGKILL');
      throw new Error(
        server.exitCode !== null
          ? `rasid start exited with code ${server.exitCode}`
          : 'rasid start did not become ready',
      );
    }
    const ok = await fetch(`http://127.0.0.1:${opts.port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return server;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Bare aedes (bench/aedes-bare.mjs, no hooks) in its own process on `port`, once it listens. */
export async function startBareAedes(port: number): Promise<ChildProcess> {
  const bare = spawn(
    process.execPath,
    [new URL('./aedes-bare.mjs', import.meta.url).pathname, String(port)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve) => bare.stdout?.once('data', () => resolve()));
  return bare;
}

/** Cores used between two samples of one process `s` seconds apart. */
export const coresBetween = (a: { cpuS: number } | null, b: { cpuS: number } | null, s: number) =>
  a && b ? (b.cpuS - a.cpuS) / s : Number.NaN;

/** A `bin/rasid sim fleet` process and its latest summary line. */
interface Fleet {
  readonly child: ChildProcess;
  last: string;
  /** The number after `label` in the latest summary line. */
  field(label: string): number;
  /** The latest `puback p50 X ms p99 Y ms`. */
  puback(): { p50: number; p99: number } | null;
}

function startFleet(opts: { meters: number; broker: string; intervalS: number; startRate: number }): Fleet {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'sim',
      'fleet',
      '--meters',
      String(opts.meters),
      '--serial-prefix',
      DEMO_SERIAL_PREFIX,
      '--drn-base',
      String(DEMO_DRN_BASE),
      '--utility',
      DEMO_UTILITY,
      '--broker',
      opts.broker,
      '--interval',
      String(opts.intervalS),
      '--initial-credit',
      '50000',
      '--start-rate',
      String(opts.startRate),
      '--summary-every',
      '0.5',
      // The demo meters have no mqtt_username: they log in with their serial.
      '--username-prefix',
      '',
    ],
    { env: { ...process.env, RASID_SIM_PASSWORD: DEMO_METER_PASSWORD }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const fleet: Fleet = {
    child,
    last: '',
    field(label) {
      const m = new RegExp(`${label} (\\d+)`).exec(fleet.last);
      return m ? Number(m[1]) : 0;
    },
    puback() {
      const m = /puback p50 ([\d.]+) ms p99 ([\d.]+) ms/.exec(fleet.last);
      return m ? { p50: Number(m[1]), p99: Number(m[2]) } : null;
    },
  };
  let buffer = '';
  let shown = 0;
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('meters ')) fleet.last = line;
      else if (line.startsWith('error ') && shown++ < 5) process.stderr.write(`sim: ${line}\n`);
    }
  });
  return fleet;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Waits until every meter of the fleet is connected; seconds taken (or throws after `limitS`). */
async function allConnected(fleet: Fleet, meters: number, limitS: number, tick: () => Promise<unknown>) {
  const started = performance.now();
  for (;;) {
    await tick();
    if (fleet.field('connected') >= meters) return (performance.now() - started) / 1000;
    if (fleet.child.exitCode !== null) throw new Error(`the fleet exited: ${fleet.last}`);
    if (performance.now() - started > limitS * 1000) {
      throw new Error(`only ${fleet.field('connected')} of ${meters} meters connected: ${fleet.last}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A Prometheus summary's quantile from the text format. */
function quantile(text: string, name: string, labels: string, q: string): number | null {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && l.includes(labels) && l.includes(`quantile="${q}"`));
  if (line === undefined) return null;
  const v = Number(line.slice(line.lastIndexOf(' ') + 1));
  return Number.isFinite(v) ? v : null;
}

export async function run(argv: readonly string[]): Promise<void> {
  if (argv.includes('--gateways')) {
    const { runGateways } = await import('./_fleet-gateways.ts');
    return runGateways(argv, {
      arg: (name, def) => arg(argv, name, def),
      usage,
      postgresUsage,
      metric,
      quantile,
      stop,
      startRasid,
      startBareAedes,
      coresBetween,
    });
  }
  const meters = Number(arg(argv, 'meters', '2000'));
  const intervalS = Number(arg(argv, 'interval', '60'));
  const seconds = Number(arg(argv, 'seconds', '60'));
  const historyDays = Number(arg(argv, 'history-days', '0'));
  const central = Math.min(meters, Number(arg(argv, 'central', String(Math.min(100, meters)))));
  const startRate = Number(arg(argv, 'start-rate', '1000'));
  const pgUrl = argv.includes('--pg') ? arg(argv, 'pg', '') : '';
  const profileDir = arg(argv, 'cpu-prof', '');
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const dir = await mkdtemp(join(tmpdir(), 'rasid-bench-fleet-'));
  const masterKey = randomBytes(32).toString('hex');
  const env: Record<string, string> = {
    DATA_DIR: dir,
    VENDING_MASTER_KEY: masterKey,
    LOG_LEVEL: 'warn',
    ...(pgUrl ? { DATABASE_URL: pgUrl } : {}),
  };
  const children: ChildProcess[] = [];
  try {
    out('# fleet benchmark: simulated meters against bin/rasid start');
    out(
      `workload: ${meters} MQTT meters (bin/rasid sim fleet, one process, started at ${startRate}/s) -> ` +
        `bin/rasid start (another process), a reading per meter every ${intervalS} s, ${seconds} s measured ` +
        `after all are online; ${historyDays} days of hourly history per meter; ${central} meters in central ` +
        `mode with 1 minor unit of credit; store ${pgUrl ? 'PostgreSQL' : 'embedded PGlite'}, embedded broker. ` +
        'The machine may be shared with other work: figures are noisy.',
    );
    const seedStart = performance.now();
    const core = await openCore({ config: loadConfig(env), log: pino({ level: 'silent' }) });
    await seedDemo(core.store.db, core.keys, { meters, historyDays });
    const db = core.store.db;
    // Nights and weekends off: a meter out of credit is disconnected at once, whatever the hour.
    await db
      .updateTable('utilities')
      .set({ night_start_minute: null, night_end_minute: null, weekend_days: [] })
      .where('code', '=', DEMO_UTILITY)
      .execute();
    const chosen = await db
      .selectFrom('meters')
      .select(['id', 'account_id', 'utility_id'])
      .where('serial', 'like', `${DEMO_SERIAL_PREFIX}%`)
      .orderBy('serial')
      .limit(central)
      .execute();
    if (chosen.length > 0) {
      await db
        .updateTable('meters')
        .set({ mode: 'central' })
        .where(
          'id',
          'in',
          chosen.map((m) => m.id),
        )
        .execute();
      for (const m of chosen) {
        const { rows } = await sql<{ b: string }>`
          select coalesce(sum(amount_minor), 0)::text as b from account_ledger where account_id = ${m.account_id}`.execute(
          db,
        );
        await db
          .insertInto('account_ledger')
          .values({
            utility_id: m.utility_id,
            account_id: m.account_id!,
            kind: 'adjustment',
            amount_minor: minorUnits(1n - BigInt(rows[0]!.b)),
            ref: 'bench:one-unit-left',
          })
          .execute();
      }
    }
    await core.close();
    out(`seeded ${meters} meters in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);

    const cpu = coresBetween;

    // A. Bare aedes, the same fleet.
    const barePort = await freePort();
    const bare = await startBareAedes(barePort);
    children.push(bare);
    const bareFleet = startFleet({ meters, broker: `mqtt://127.0.0.1:${barePort}`, intervalS, startRate });
    children.push(bareFleet.child);
    const bareConnectS = await allConnected(bareFleet, meters, 900, async () => {});
    const b0 = await usage(bare.pid!);
    let barePeak = 0;
    const bt0 = performance.now();
    while (performance.now() - bt0 < seconds * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      barePeak = Math.max(barePeak, (await usage(bare.pid!))?.rssMb ?? 0);
    }
    const b1 = await usage(bare.pid!);
    const bareCpu = cpu(b0, b1, (performance.now() - bt0) / 1000);
    const bareErrors = bareFleet.field('errors');
    await stop(bareFleet.child);
    await stop(bare);
    out(
      `A. bare aedes: all ${meters} connected in ${bareConnectS.toFixed(1)} s; CPU ${bareCpu.toFixed(3)} core`,
    );

    // B. Rasid from a cold start.
    const port = await freePort();
    const mqttPort = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const startServer = async () => {
      const server = await startRasid({ env, port, mqttPort, ...(profileDir ? { profileDir } : {}) });
      children.push(server);
      return server;
    };
    let server = await startServer();
    const peak = { server: 0, sim: 0 };
    let fleet = startFleet({ meters, broker: `mqtt://127.0.0.1:${mqttPort}`, intervalS, startRate });
    children.push(fleet.child);
    const sample = async () => {
      const [a, b] = await Promise.all([usage(server.pid!), usage(fleet.child.pid!)]);
      if (a) peak.server = Math.max(peak.server, a.rssMb);
      if (b) peak.sim = Math.max(peak.sim, b.rssMb);
      return { server: a, sim: b };
    };
    const connectS = await allConnected(fleet, meters, 1800, sample);
    const connectErrors = fleet.field('errors');
    out(
      `B. rasid: all ${meters} connected in ${connectS.toFixed(1)} s from a cold start (${connectErrors} errors)`,
    );
    // The first evaluation of each meter takes its seeded history in (once, as at a go-live after an import):
    // the window measures the steady state after it, when the engine's backlog has been empty twice running.
    const catchUp = performance.now();
    for (let empty = 0; empty < 2 && performance.now() - catchUp < 900_000; ) {
      await new Promise((r) => setTimeout(r, 2000));
      await sample();
      empty = (await metric(url, 'rasid_balance_pending_meters')) === 0 ? empty + 1 : 0;
    }
    out(
      `   the engine took every meter's history in ${((performance.now() - catchUp) / 1000).toFixed(1)} s after the last connect`,
    );

    const r0 = await metric(url, 'rasid_ingest_readings_total');
    const e0 = await metric(url, 'rasid_balance_evaluations_total');
    const acked0 = fleet.field('acked');
    const u0 = await sample();
    const pg0 = pgUrl ? await postgresUsage() : null;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      await sample();
    }
    const u1 = await sample();
    const pg1 = pgUrl ? await postgresUsage() : null;
    const elapsed = (performance.now() - t0) / 1000;
    const r1 = await metric(url, 'rasid_ingest_readings_total');
    const e1 = await metric(url, 'rasid_balance_evaluations_total');
    const acked1 = fleet.field('acked');
    const puback = fleet.puback();
    const metricsText = await (await fetch(`${url}/metrics`)).text();
    const latency = (q: string) =>
      quantile(metricsText, 'rasid_balance_decision_latency_seconds', 'kind="disconnect"', q);
    const decisions = /rasid_balance_decision_latency_seconds_count\{kind="disconnect"\} (\d+)/.exec(
      metricsText,
    );
    const stored = await metric(url, 'rasid_ingest_readings_total');
    // What holds the memory: the JavaScript heap, and memory outside it (PGlite's WebAssembly memory, buffers).
    const heapMb = (await metric(url, 'nodejs_heap_size_used_bytes')) / 2 ** 20;
    const externalMb = (await metric(url, 'nodejs_external_memory_bytes')) / 2 ** 20;
    const ackedAll = fleet.field('acked');
    const idle = await (async () => {
      // Idle: the fleet stopped, the server alone, once the meters' last wills (a status each) are stored
      // and evaluated and the engine's backlog is empty, for 30 s.
      await stop(fleet.child);
      const settle = performance.now();
      while (performance.now() - settle < 120_000) {
        await new Promise((r) => setTimeout(r, 5000));
        const [pending, backlog] = await Promise.all([
          metricSum(url, 'rasid_ingest_pending'),
          metric(url, 'rasid_balance_pending_meters'),
        ]);
        if (pending === 0 && backlog === 0 && performance.now() - settle >= 15_000) break;
      }
      const i0 = await usage(server.pid!);
      await new Promise((r) => setTimeout(r, 30_000));
      const i1 = await usage(server.pid!);
      return cpu(i0, i1, 30);
    })();

    // C. Rasid restarted, a new fleet from cold.
    await stop(server);
    server = await startServer();
    fleet = startFleet({ meters, broker: `mqtt://127.0.0.1:${mqttPort}`, intervalS, startRate });
    children.push(fleet.child);
    const reconnectS = await allConnected(fleet, meters, 1800, sample);
    const reconnectErrors = fleet.field('errors');
    const rehashed = await metric(url, 'rasid_broker_meter_secrets_rehashed_total');

    const f = (n: number | null, d = 1) => (n === null || Number.isNaN(n) ? 'n/a' : n.toFixed(d));
    out('');
    out('| figure | Rasid | same-run baseline | baseline | ratio |');
    out('|---|---|---|---|---|');
    out(
      `| readings stored/s | ${f((r1 - r0) / elapsed)} | offered (meters / interval) | ${f(meters / intervalS)} | ${f((100 * (r1 - r0)) / elapsed / (meters / intervalS), 0)}% |`,
    );
    out(`| rows = acknowledgements (stored / acked by PUBACK, whole run) | ${stored} / ${ackedAll} | | | |`);
    out(`| readings acked in the window | ${acked1 - acked0} | | | |`);
    out(
      `| connect from cold, all meters (s) | ${f(connectS)} | bare aedes | ${f(bareConnectS)} | ${f((100 * bareConnectS) / connectS, 0)}% of bare rate |`,
    );
    out(`| connect rate (meters/s) | ${f(meters / connectS)} | bare aedes | ${f(meters / bareConnectS)} | |`);
    out(`| connect errors (sim) | ${connectErrors} | bare aedes | ${bareErrors} | |`);
    out(
      `| cold reconnect after a restart, all meters (s) | ${f(reconnectS)} | bare aedes | ${f(bareConnectS)} | ${f((100 * bareConnectS) / reconnectS, 0)}% of bare rate |`,
    );
    out(`| cold reconnect errors (sim) | ${reconnectErrors} | | | |`);
    out(
      `| PUBACK p50 / p99 as meters see it (ms) | ${f(puback?.p50 ?? null)} / ${f(puback?.p99 ?? null)} | | | |`,
    );
    out(
      `| decision latency p50 / p99 (s), ${decisions?.[1] ?? 0} disconnects | ${f(latency('0.5'), 3)} / ${f(latency('0.99'), 3)} | | | |`,
    );
    out(`| meters evaluated/s by the balance engine | ${f((e1 - e0) / elapsed)} | | | |`);
    out(
      `| meter secrets moved from scrypt to HMAC | ${rehashed} (after restart; before: all at first connect) | | | |`,
    );
    out(
      `| server CPU (cores) | ${f(cpu(u0.server, u1.server, elapsed), 3)} | bare aedes CPU | ${f(bareCpu, 3)} | |`,
    );
    if (pg0 && pg1)
      out(
        `| PostgreSQL CPU (cores, all postgres processes on the machine) | ${f(cpu(pg0, pg1, elapsed), 3)} | | | |`,
      );
    if (pg1)
      out(
        `| PostgreSQL RSS (MB, all processes, shared pages counted per process) | ${f(pg1.rssMb, 0)} | | | |`,
      );
    out(
      `| server RSS (MB, end / peak) | ${f(u1.server?.rssMb ?? null, 0)} / ${f(peak.server, 0)} | bare aedes peak | ${f(barePeak, 0)} | |`,
    );
    out(
      `| server memory at the end of the window: JS heap used / outside the heap (MB) | ${f(heapMb, 0)} / ${f(externalMb, 0)} | | | |`,
    );
    out(`| server CPU idle, none reporting (cores) | ${f(idle, 3)} | | | |`);
    out(
      `| sim fleet CPU (cores) / RSS peak (MB) | ${f(cpu(u0.sim, u1.sim, elapsed), 3)} / ${f(peak.sim, 0)} | | | |`,
    );
  } finally {
    for (const child of children.reverse()) await stop(child);
    await rm(dir, { recursive: true, force: true });
  }
}
