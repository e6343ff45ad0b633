/**
 * `npm run bench -- vend [--seconds S] [--rounds N] [--connections C] [--meters M] [--vendors V] [--skip-pglite]
 * [--log-level L] [--pool P] [--baseline-connections K]`: vends
 * per second through the HTTP API (POST /api/v1/vends: kiosk API key, validation, Idempotency-Key, tariff
 * quote, STS token, one durable transaction) on PostgreSQL and on embedded PGlite, beside a bare Fastify
 * route measured in the same run (docs/benchmarks.md P8/P9).
 *
 * Each server runs in its own process; the load generator (autocannon) runs in this one. Figures run
 * interleaved A D B C, repeated `rounds` times, and are compared by their medians.
 *   A  bare Fastify 5 `GET /` returning {hello:'world'}, logger off
 *   B  Rasid on PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres; a fresh database)
 *   C  Rasid on PGlite (a fresh DATA_DIR)
 *   D  the rows of one vend written by one hand-written statement on K connections (default 16) of this
 *      process, into B's database (P8's baseline; `oneStatementVends` below)
 * Every vend has its own idempotency key and goes to one of M meters round robin. Rasid logs at `--log-level`
 * (default info, as shipped: Fastify logs each request). On a shared machine vends/s move with the neighbours'
 * load, so each vend figure also gives the CPU time per vend of the Rasid process and, when PostgreSQL runs on
 * this machine, of its backends (from /proc): these move far less.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
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
import { optionReader } from './args.ts';

const option = optionReader('vend');

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

/**
 * The baseline's token ids, counted over every round of a run: unique per meter whatever the round, and below
 * any id Rasid issues (minutes since the meter's base date), so the next vend Rasid makes for the same meter
 * still takes the id its clock gives rather than one past the baseline's.
 */
let baselineTids = 0;

/**
 * Baseline D (docs/benchmarks.md P8): the rows one vend writes (the vend, its account ledger lines, its token, its
 * audit row and, for a kiosk sale, the vendor ledger lines with their running float), written by one hand-written
 * statement (data-modifying CTEs, a named prepared statement) on `connections` connections of this process, in
 * the same database. The rows are copied from the probe vend Rasid wrote, varied per statement (id, idempotency
 * key, meter and account round robin, token id, vendor and kiosk round robin), so both sides write the same thing;
 * what the baseline leaves out is everything a vend must do besides writing: authenticate, validate, price, make
 * the STS token, check the state it priced under locks, and answer over HTTP.
 */
async function oneStatementVends(opts: {
  databaseUrl: string;
  probeVendId: string;
  seconds: number;
  connections: number;
  prefix: string;
}): Promise<Run> {
  const admin = new pg.Client({ connectionString: opts.databaseUrl });
  await admin.connect();
  type Row = Record<string, unknown>;
  let plan: {
    text: string;
    vend: Row;
    accountLines: Row[];
    token: Row | null;
    audit: Row;
    vendorLines: Row[];
    meters: { meter_id: string; account_id: string }[];
    kiosks: { vendor_id: string; kiosk_id: string }[];
  };
  try {
    const one = async (q: string, params: unknown[] = []) => (await admin.query(q, params)).rows as Row[];
    const [vend] = await one('select * from vends where id = $1', [opts.probeVendId]);
    if (!vend) throw new Error('bench vend: the probe vend is not in the database');
    const accountLines = await one('select * from account_ledger where vend_id = $1 order by id', [
      opts.probeVendId,
    ]);
    const [token] = await one('select * from tokens where vend_id = $1', [opts.probeVendId]);
    const [audit] = await one('select * from audit_log where subject = $1', [`vend:${opts.probeVendId}`]);
    if (!audit) throw new Error('bench vend: the probe vend has no audit row');
    const vendorLines = await one('select * from vendor_ledger where vend_id = $1 order by id', [
      opts.probeVendId,
    ]);
    // Each meter with the account it sells to: the pairs Rasid's vends go to.
    const pairs = (await one(
      'select id as meter_id, account_id from meters where account_id is not null order by id',
    )) as { meter_id: string; account_id: string }[];
    const kiosks = (await one(
      'select k.vendor_id, k.id as kiosk_id from kiosks k where k.vendor_id is not null order by k.id',
    )) as { vendor_id: string; kiosk_id: string }[];
    let n = 0;
    const p = () => `$${++n}`;
    const values = (columns: readonly string[]) => `(${columns.map(() => p()).join(', ')})`;
    const vendCols = [
      'id',
      'utility_id',
      'meter_id',
      'account_id',
      'channel',
      'vendor_id',
      'kiosk_id',
      'idempotency_key',
      'request_hash',
      'amount_paid_minor',
      'units',
      'token',
      'tid',
      'receipt',
    ];
    const ledgerCols = ['utility_id', 'account_id', 'kind', 'amount_minor', 'ref', 'vend_id'];
    const tokenCols = ['utility_id', 'meter_id', 'tid', 'kind', 'token', 'vend_id', 'issued_at'];
    const auditCols = ['utility_id', 'actor', 'action', 'subject', 'details'];
    const vendorCols = ['utility_id', 'vendor_id', 'kiosk_id', 'kind', 'amount_minor', 'ref', 'vend_id'];
    const parts = [
      `v as (insert into vends (${vendCols.join(', ')}) values ${values(vendCols)} returning id)`,
      `al as (insert into account_ledger (${ledgerCols.join(', ')}) values ${accountLines.map(() => values(ledgerCols)).join(', ')})`,
      ...(token ? [`t as (insert into tokens (${tokenCols.join(', ')}) values ${values(tokenCols)})`] : []),
      `a as (insert into audit_log (${auditCols.join(', ')}) values ${values(auditCols)})`,
      ...(vendorLines.length > 0
        ? [
            `vl as (insert into vendor_ledger (${vendorCols.join(', ')}) values ${vendorLines.map(() => values(vendorCols)).join(', ')})`,
          ]
        : []),
    ];
    plan = {
      text: `with ${parts.join(',\n')} select id from v`,
      vend,
      accountLines,
      token: token ?? null,
      audit,
      vendorLines,
      meters: pairs,
      kiosks,
    };
  } finally {
    await admin.end();
  }
  const { text, vend, accountLines, token, audit, vendorLines, meters, kiosks } = plan;
  if (meters.length === 0 || kiosks.length === 0)
    throw new Error('bench vend: no meters or kiosks to sell to');
  let i = 0;
  const paramsFor = () => {
    const k = i++;
    const tid = ++baselineTids;
    const id = randomUUID();
    const { meter_id, account_id } = meters[k % meters.length]!;
    const { vendor_id, kiosk_id } = kiosks[k % kiosks.length]!;
    const params: unknown[] = [
      id,
      vend.utility_id,
      meter_id,
      account_id,
      vend.channel,
      vendor_id,
      kiosk_id,
      `baseline-${opts.prefix}-${k}`,
      vend.request_hash,
      vend.amount_paid_minor,
      vend.units,
      vend.token,
      tid,
      vend.receipt,
    ];
    for (const l of accountLines) params.push(l.utility_id, account_id, l.kind, l.amount_minor, l.ref, id);
    if (token) params.push(token.utility_id, meter_id, tid, token.kind, token.token, id, new Date());
    params.push(audit.utility_id, audit.actor, audit.action, `vend:${id}`, audit.details);
    for (const l of vendorLines)
      params.push(l.utility_id, vendor_id, kiosk_id, l.kind, l.amount_minor, l.ref, id);
    return params;
  };
  const clients = await Promise.all(
    Array.from({ length: opts.connections }, async () => {
      const c = new pg.Client({ connectionString: opts.databaseUrl });
      await c.connect();
      return c;
    }),
  );
  const pidOf = async (c: pg.Client) =>
    Number((await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid);
  const pids = await Promise.all(clients.map(pidOf));
  const dbCpu = () =>
    pids.reduce<number | null>((s, pid) => {
      const ms = cpuMs(pid);
      return s === null || ms === null ? null : s + ms;
    }, 0);
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | null = null;
  const before = dbCpu();
  const end = performance.now() + opts.seconds * 1000;
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await c.query({ name: 'baseline-vend', text, values: paramsFor() });
          latencies.push(performance.now() - t0);
        } catch (err) {
          errors++;
          firstError ??= (err as Error).message;
        }
      }
    }),
  );
  const after = dbCpu();
  await Promise.all(clients.map((c) => c.end()));
  if (firstError) process.stdout.write(`  baseline statement error (first of ${errors}): ${firstError}\n`);
  latencies.sort((a, b) => a - b);
  const total = latencies.length;
  return {
    rate: total / opts.seconds,
    p99: total ? Math.round(latencies[Math.min(total - 1, Math.floor(total * 0.99))]!) : 0,
    non2xx: 0,
    errors,
    nodeMs: null,
    dbMs: before === null || after === null || total === 0 ? null : (after - before) / total,
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
    // Answers that sold (2xx) per second: a refusal is counted in non2xx, never as a vend.
    rate: result['2xx'] / result.duration,
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
  // P8's baseline runs at 16 connections: where PostgreSQL's group commit peaks on this kind of machine.
  const baselineConnections = option(args, '--baseline-connections', 16);
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
    // A probe first: a benchmark that measures refusals measures nothing. The PostgreSQL probe's rows are the
    // ones baseline D writes again.
    let probeVendId = '';
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
      if (name === 'PostgreSQL') probeVendId = ((await res.json()) as { vendId: string }).vendId;
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
    const D: Run[] = [];
    const pgDatabaseUrl = pgWorld.env.DATABASE_URL!;
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
      D.push(
        await oneStatementVends({
          databaseUrl: pgDatabaseUrl,
          probeVendId,
          seconds,
          connections: baselineConnections,
          prefix: `r${r}`,
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
        `  round ${r + 1}: bare ${fmt(A[r]!.rate)} req/s | one-statement vend ${fmt(D[r]!.rate)}/s (p99 ${D[r]!.p99} ms, CPU ${cpuText(D[r]!)}) | PostgreSQL ${fmt(B[r]!.rate)} vends/s (p99 ${B[r]!.p99} ms, non-2xx ${B[r]!.non2xx}, CPU/vend ${cpuText(B[r]!)})` +
          (C[r]
            ? ` | PGlite ${fmt(C[r]!.rate)} vends/s (p99 ${C[r]!.p99} ms, non-2xx ${C[r]!.non2xx}, CPU/vend ${cpuText(C[r]!)})`
            : ''),
      );
    }
    const a = median(A.map((x) => x.rate));
    const b = median(B.map((x) => x.rate));
    const d = median(D.map((x) => x.rate));
    out('');
    out('| figure | median | baseline (same run) | median | ratio | goal |');
    out('|---|---|---|---|---|---|');
    out(
      `| vends/s on PostgreSQL (P8) | ${fmt(b)} | the same rows by one statement, ${baselineConnections} connections | ${fmt(d)} | ${((100 * b) / d).toFixed(1)}% | >= 50% |`,
    );
    out(
      `| p99 latency on PostgreSQL, ${connections} connections | ${median(B.map((x) => x.p99))} ms | one statement p99 | ${median(D.map((x) => x.p99))} ms | | <= 100 ms |`,
    );
    out(`| CPU per vend of the one-statement baseline | ${cpuText(medianCpu(D))} | | | | |`);
    out(
      `| vends/s on PostgreSQL (P9) | ${fmt(b)} | bare Fastify req/s | ${fmt(a)} | ${((100 * b) / a).toFixed(1)}% | >= 10% |`,
    );
    out(
      `| p99 latency on PostgreSQL (P9) | ${median(B.map((x) => x.p99))} ms | bare Fastify p99 | ${median(A.map((x) => x.p99))} ms | | <= 50 ms |`,
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
    // A baseline whose statements fail writes less and looks faster: its failures void the ratio.
    out(`baseline statement errors across all rounds: ${D.reduce((s, x) => s + x.errors, 0)}`);
  } finally {
    for (const s of servers) await s.stop();
    await bare.stop();
    for (const w of worlds) await w.drop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
}
