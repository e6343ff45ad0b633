/**
 * `npm run bench -- vend [--seconds S] [--rounds N] [--connections C] [--meters M] [--vendors V] [--skip-pglite]
 * [--log-level L] [--pool P]`: vends
 * per second through the HTTP API (POST /api/v1/vends: kiosk API key, validation, Idempotency-Key, tariff
 * quote, STS token, one durable transaction) on PostgreSQL and on embedded PGlite, beside a bare Fastify
 * route measured in the same run (../shared/BENCHMARKS.md P8/P9).
 *
 * Each server runs in its own process; the load generator (autocannon) runs in this one. Figures run
 * interleaved A B C, repeated `rounds` times, and are compared by their medians.
 *   A  bare Fastify 5 `GET /` returning {hello:'world'}, logger off
 *   B  Rasid on PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres; a fresh database)
 *   C  Rasid on PGlite (a fresh DATA_DIR)
 * Every vend has its own idempotency key and goes to one of M meters round robin. Rasid logs at `--log-level`
 * (default info, as shipped: Fastify logs each request). On a shared machine vends/s move with the neighbours'
 * load, so each vend figure also gives the CPU time per vend of the Rasid process and, when PostgreSQL runs on
 * this machine, of its backends (from /proc): these move far less.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import {
  freePort,
  type RasidProcess,
  type SeededWorld,
  seedWorld,
  startRasid,
} from '../test/support/process.ts';

function option(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`bench vend: ${name} needs a positive number`);
  return v;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function bareFastify(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const script = `import Fastify from 'fastify';
const f = Fastify({ logger: false });
f.get('/', async () => ({ hello: 'world' }));
await f.listen({ port: ${port}, host: '127.0.0.1' });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: 'ignore',
    cwd: process.cwd(),
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(url);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Clock ticks per second of /proc/<pid>/stat times. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) of a process in ms, or null where /proc cannot tell (another OS or machine). */
function cpuMs(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** What one vend run cost in CPU: the Rasid process and, if readable, the PostgreSQL backends serving it. */
interface CpuProbe {
  read(): Promise<{ node: number | null; db: number | null }>;
}

function cpuProbe(serverPid: number | undefined, databaseUrl: string | undefined): CpuProbe {
  return {
    async read() {
      const node = serverPid === undefined ? null : cpuMs(serverPid);
      if (!databaseUrl) return { node, db: null };
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{ pid: number }>(
          'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
        );
        let db = 0;
        for (const { pid } of rows) {
          const ms = cpuMs(pid);
          if (ms === null) return { node, db: null };
          db += ms;
        }
        return { node, db };
      } finally {
        await client.end();
      }
    },
  };
}

/** The first refusal seen in a run, printed so a failing benchmark says why. */
let firstRefusal: string | null = null;

interface Run {
  readonly rate: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
  /** CPU ms per request of the server process and of the database backends (null: not measurable). */
  readonly nodeMs: number | null;
  readonly dbMs: number | null;
}

async function load(opts: {
  url: string;
  seconds: number;
  connections: number;
  vend?: { kioskKeys: readonly string[]; meters: readonly string[]; prefix: string };
  cpu?: CpuProbe;
}): Promise<Run> {
  let n = 0;
  const v = opts.vend;
  const before = await opts.cpu?.read();
  const result = await autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: opts.seconds,
    ...(v
      ? {
          requests: [
            {
              method: 'POST',
              path: '/api/v1/vends',
              setupRequest: (req) => {
                const i = n++;
                return {
                  ...req,
                  headers: {
                    ...req.headers,
                    'content-type': 'application/json',
                    'x-api-key': v.kioskKeys[i % v.kioskKeys.length]!,
                    'idempotency-key': `bench-${v.prefix}-${String(i).padStart(8, '0')}`,
                  },
                  body: `{"meter":"${v.meters[i % v.meters.length]}","amountMinor":${1000 + (i % 500)}}`,
                };
              },
              onResponse: (status, body) => {
                if (status >= 300 && firstRefusal === null) firstRefusal = `${status} ${body.slice(0, 300)}`;
              },
            },
          ],
        }
      : {}),
  });
  const after = await opts.cpu?.read();
  const perRequest = (a: number | null | undefined, b: number | null | undefined) =>
    a == null || b == null || result.requests.total === 0 ? null : (b - a) / result.requests.total;
  return {
    rate: result.requests.average,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    nodeMs: perRequest(before?.node, after?.node),
    dbMs: perRequest(before?.db, after?.db),
  };
}

const ms = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(2)} ms`);
const cpuText = (r: Pick<Run, 'nodeMs' | 'dbMs'>) =>
  r.dbMs === null ? `node ${ms(r.nodeMs)}` : `node ${ms(r.nodeMs)} + db ${ms(r.dbMs)}`;
const medianOf = (xs: readonly (number | null)[]) =>
  xs.some((x) => x === null) ? null : median(xs as number[]);
const medianCpu = (runs: readonly Run[]) => ({
  nodeMs: medianOf(runs.map((x) => x.nodeMs)),
  dbMs: medianOf(runs.map((x) => x.dbMs)),
});

export async function run(args: readonly string[]): Promise<void> {
  const seconds = option(args, '--seconds', 8);
  const rounds = option(args, '--rounds', 3);
  const connections = option(args, '--connections', 100);
  const meterCount = option(args, '--meters', 1000);
  const vendorCount = option(args, '--vendors', 50);
  // Rasid's default DB_POOL_SIZE; on a small machine fewer connections cost the database less per vend.
  const poolSize = option(args, '--pool', 16);
  const skipPglite = args.includes('--skip-pglite');
  const logLevelAt = args.indexOf('--log-level');
  const logLevel = logLevelAt < 0 ? 'info' : (args[logLevelAt + 1] ?? 'info');
  const pgUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const out = (s: string) => process.stdout.write(`${s}\n`);

  out('bench vend: POST /api/v1/vends through the HTTP API');
  out(`  workload: ${connections} connections, ${seconds} s per figure, ${rounds} rounds interleaved A B C;`);
  out(
    `  ${meterCount} meters round robin, one idempotency key per request, kiosk API key, amounts 1.000-1.499 JOD`,
  );
  out(
    `  each server in its own process (LOG_LEVEL=${logLevel}, PostgreSQL pool ${poolSize}); load generator autocannon ${connections} connections in this process`,
  );

  const dirs: string[] = [];
  const worlds: SeededWorld[] = [];
  const servers: RasidProcess[] = [];
  const bare = await bareFastify();
  try {
    const pgDir = await mkdtemp(join(tmpdir(), 'rasid-bench-pg-'));
    dirs.push(pgDir);
    out('  seeding PostgreSQL ...');
    const pgWorld = await seedWorld({
      postgresUrl: pgUrl,
      dataDir: pgDir,
      meters: meterCount,
      vendors: vendorCount,
    });
    worlds.push(pgWorld);
    const pgServer = await startRasid({
      ...pgWorld.env,
      DB_POOL_SIZE: String(poolSize),
      PUBLIC_RATE_LIMIT: '1000000',
      LOG_LEVEL: logLevel,
    });
    const pgCpu = cpuProbe(pgServer.child.pid, pgWorld.env.DATABASE_URL);
    servers.push(pgServer);
    let liteWorld: SeededWorld | null = null;
    let liteServer: RasidProcess | null = null;
    if (!skipPglite) {
      const liteDir = await mkdtemp(join(tmpdir(), 'rasid-bench-lite-'));
      dirs.push(liteDir);
      out('  seeding PGlite ...');
      liteWorld = await seedWorld({ dataDir: liteDir, meters: meterCount, vendors: vendorCount });
      worlds.push(liteWorld);
      liteServer = await startRasid({ ...liteWorld.env, PUBLIC_RATE_LIMIT: '1000000', LOG_LEVEL: logLevel });
      servers.push(liteServer);
    }
    // A probe first: a benchmark that measures refusals measures nothing.
    for (const [name, srv, w] of [
      ['PostgreSQL', pgServer, pgWorld],
      ...(liteServer && liteWorld ? [['PGlite', liteServer, liteWorld] as const] : []),
    ] as const) {
      const res = await fetch(`${srv.url}/api/v1/vends`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-api-key': w.kioskKey,
          'idempotency-key': 'probe-0001',
        },
        body: JSON.stringify({ meter: w.meters[w.meters.length - 1], amountMinor: 1000 }),
      });
      if (res.status !== 201)
        throw new Error(`bench vend: probe on ${name} answered ${res.status}: ${await res.text()}`);
    }
    // Warm-up: JIT, connection pools, decoder-key caches.
    await load({ url: bare.url, seconds: 2, connections });
    await load({
      url: pgServer.url,
      seconds: 2,
      connections,
      vend: { kioskKeys: pgWorld.kioskKeys, meters: pgWorld.meters, prefix: 'warm' },
    });
    if (liteServer && liteWorld) {
      await load({
        url: liteServer.url,
        seconds: 2,
        connections,
        vend: { kioskKeys: liteWorld.kioskKeys, meters: liteWorld.meters, prefix: 'warm' },
      });
    }
    const A: Run[] = [];
    const B: Run[] = [];
    const C: Run[] = [];
    for (let r = 0; r < rounds; r++) {
      A.push(await load({ url: bare.url, seconds, connections }));
      B.push(
        await load({
          url: pgServer.url,
          seconds,
          connections,
          vend: { kioskKeys: pgWorld.kioskKeys, meters: pgWorld.meters, prefix: `r${r}` },
          cpu: pgCpu,
        }),
      );
      if (liteServer && liteWorld) {
        C.push(
          await load({
            url: liteServer.url,
            seconds,
            connections,
            vend: { kioskKeys: liteWorld.kioskKeys, meters: liteWorld.meters, prefix: `r${r}` },
            cpu: cpuProbe(liteServer.child.pid, undefined),
          }),
        );
      }
      out(
        `  round ${r + 1}: bare ${fmt(A[r]!.rate)} req/s | PostgreSQL ${fmt(B[r]!.rate)} vends/s (p99 ${B[r]!.p99} ms, non-2xx ${B[r]!.non2xx}, CPU/vend ${cpuText(B[r]!)})` +
          (C[r]
            ? ` | PGlite ${fmt(C[r]!.rate)} vends/s (p99 ${C[r]!.p99} ms, non-2xx ${C[r]!.non2xx}, CPU/vend ${cpuText(C[r]!)})`
            : ''),
      );
    }
    const a = median(A.map((x) => x.rate));
    const b = median(B.map((x) => x.rate));
    out('');
    out('| figure | median | baseline (same run) | median | ratio | goal |');
    out('|---|---|---|---|---|---|');
    out(
      `| vends/s on PostgreSQL (P9) | ${fmt(b)} | bare Fastify req/s | ${fmt(a)} | ${((100 * b) / a).toFixed(1)}% | >= 10% |`,
    );
    out(
      `| p99 latency on PostgreSQL | ${median(B.map((x) => x.p99))} ms | bare Fastify p99 | ${median(A.map((x) => x.p99))} ms | | <= 50 ms |`,
    );
    out(`| CPU per vend on PostgreSQL | ${cpuText(medianCpu(B))} | | | | |`);
    if (C.length > 0) {
      const c = median(C.map((x) => x.rate));
      out(
        `| vends/s on PGlite | ${fmt(c)} | bare Fastify req/s | ${fmt(a)} | ${((100 * c) / a).toFixed(1)}% | (reported) |`,
      );
      out(`| p99 latency on PGlite | ${median(C.map((x) => x.p99))} ms | | | | |`);
      out(`| CPU per vend on PGlite | ${cpuText(medianCpu(C))} | | | | |`);
    }
    const failures = [...B, ...C].reduce((s, x) => s + x.non2xx + x.errors, 0);
    out(
      `non-2xx or errors across all vend runs: ${failures}${firstRefusal ? ` (first: ${firstRefusal})` : ''}`,
    );
  } finally {
    for (const s of servers) await s.stop();
    await bare.stop();
    for (const w of worlds) await w.drop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
}
