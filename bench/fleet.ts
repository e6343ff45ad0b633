/**
 * `npm run bench -- fleet [--meters 2000] [--interval 60] [--seconds 60] [--pg URL]`
 *
 * A simulated fleet against `bin/rasid start`, each in its own process, as in the field: the demo utility
 * is seeded with N meters (no history), Rasid starts on its embedded defaults (PGlite, embedded broker; or
 * PostgreSQL with --pg), then `bin/rasid sim fleet` connects N MQTT meters that report every --interval
 * seconds. Prints the time until every meter is online, then over --seconds the readings stored per second
 * beside the readings the fleet sent (the baseline: what was offered), and the CPU and memory of both
 * processes (from /proc, sampled every second).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import {
  DEMO_DRN_BASE,
  DEMO_METER_PASSWORD,
  DEMO_SERIAL_PREFIX,
  DEMO_STAFF_PASSWORD,
  DEMO_UTILITY,
  seedDemo,
} from '../src/demo/seed.ts';
import { openCore } from '../src/roles/core.ts';
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

export async function run(argv: readonly string[]): Promise<void> {
  const meters = Number(arg(argv, 'meters', '2000'));
  const intervalS = Number(arg(argv, 'interval', '60'));
  const seconds = Number(arg(argv, 'seconds', '60'));
  const pgUrl = argv.includes('--pg') ? arg(argv, 'pg', '') : '';
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
      `workload: ${meters} MQTT meters (bin/rasid sim fleet, one process) -> bin/rasid start (another process), ` +
        `a reading per meter every ${intervalS} s, ${seconds} s measured after all are online; ` +
        `store ${pgUrl ? 'PostgreSQL' : 'embedded PGlite'}, embedded broker`,
    );
    const seedStart = performance.now();
    const core = await openCore({ config: loadConfig(env), log: pino({ level: 'silent' }) });
    await seedDemo(core.store.db, core.keys, { meters, historyDays: 0 });
    await core.close();
    out(`seeded ${meters} meters in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);

    const port = await freePort();
    const mqttPort = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = spawn(process.execPath, [BIN, 'start'], {
      env: {
        ...process.env,
        ...env,
        PORT: String(port),
        MQTT_PORT: String(mqttPort),
        NODE_ENV: 'development',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(server);
    for (let i = 0; ; i++) {
      if (i > 600) throw new Error('rasid start did not become ready');
      const ok = await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const login = await fetch(`${url}/api/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ utility: DEMO_UTILITY, username: 'operator', password: DEMO_STAFF_PASSWORD }),
    });
    const token = ((await login.json()) as { token: string }).token;
    const online = async () => {
      const res = await fetch(`${url}/api/v1/fleet/overview`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await res.json()) as { online?: number };
      return body.online ?? 0;
    };

    const fleetStart = performance.now();
    const sim = spawn(
      process.execPath,
      [
        BIN,
        'sim',
        'fleet',
        '--meters',
        String(meters),
        '--serial-prefix',
        DEMO_SERIAL_PREFIX,
        '--drn-base',
        String(DEMO_DRN_BASE),
        '--utility',
        DEMO_UTILITY,
        '--broker',
        `mqtt://127.0.0.1:${mqttPort}`,
        '--interval',
        String(intervalS),
        '--initial-credit',
        '50000',
        // The demo meters have no mqtt_username: they log in with their serial.
        '--username-prefix',
        '',
      ],
      {
        env: { ...process.env, RASID_SIM_PASSWORD: DEMO_METER_PASSWORD },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.push(sim);
    let simErr = '';
    sim.stderr?.setEncoding('utf8').on('data', (d: string) => {
      simErr = (simErr + d).slice(-2000);
    });
    const peak = { server: 0, sim: 0 };
    const sample = async () => {
      const [a, b] = await Promise.all([usage(server.pid!), usage(sim.pid!)]);
      if (a) peak.server = Math.max(peak.server, a.rssMb);
      if (b) peak.sim = Math.max(peak.sim, b.rssMb);
      return { server: a, sim: b };
    };
    let seen = 0;
    for (;;) {
      await sample();
      seen = await online();
      if (seen >= meters) break;
      if (performance.now() - fleetStart > 600_000)
        throw new Error(`only ${seen} of ${meters} meters online`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const toOnline = (performance.now() - fleetStart) / 1000;
    out(`all ${meters} meters online ${toOnline.toFixed(1)} s after the fleet started`);

    const r0 = await metric(url, 'rasid_ingest_readings_total');
    const u0 = await sample();
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      await sample();
    }
    const u1 = await sample();
    const r1 = await metric(url, 'rasid_ingest_readings_total');
    const elapsed = (performance.now() - t0) / 1000;
    const stillOnline = await online();
    const cpu = (a: { cpuS: number } | null, b: { cpuS: number } | null) =>
      a && b ? (100 * (b.cpuS - a.cpuS)) / elapsed : Number.NaN;
    const offered = meters / intervalS;
    out('');
    out('| figure | value | baseline (same run) | value | ratio |');
    out('|---|---|---|---|---|');
    out(
      `| readings stored/s | ${((r1 - r0) / elapsed).toFixed(1)} | readings offered/s (meters / interval) | ${offered.toFixed(1)} | ${((100 * (r1 - r0)) / elapsed / offered).toFixed(0)}% |`,
    );
    out(`| meters online at the end | ${stillOnline} | meters | ${meters} | |`);
    out(`| rasid start CPU (% of one core) | ${cpu(u0.server, u1.server).toFixed(1)} | | | |`);
    out(
      `| rasid start RSS (MB, end / peak) | ${u1.server?.rssMb.toFixed(0)} / ${peak.server.toFixed(0)} | | | |`,
    );
    out(`| sim fleet CPU (% of one core) | ${cpu(u0.sim, u1.sim).toFixed(1)} | | | |`);
    out(`| sim fleet RSS (MB, end / peak) | ${u1.sim?.rssMb.toFixed(0)} / ${peak.sim.toFixed(0)} | | | |`);
    out(`| time to all online (s) | ${toOnline.toFixed(1)} | | | |`);
  } finally {
    for (const child of children.reverse()) {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
}
