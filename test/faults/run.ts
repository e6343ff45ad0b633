/**
 * `npm run faults [-- --short]`: Rasid's fault suite against a started Rasid (`bin/rasid start`, a separate
 * process) on a private PostgreSQL cluster (initdb and pg_ctl from PG_BIN, default the newest
 * /usr/lib/postgresql/<version>/bin, on a free port in a temporary folder, so stopping it disturbs nobody). Each
 * case prints its counts; the run fails (exit 1) when anything is lost or doubled, any answer is a 500, or
 * the server's memory is not back within 20 % of its start. `--short` runs smaller bursts (CI).
 * docs/faults.md describes every case and how memory is measured.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pg from 'pg';
import WebSocket from 'ws';
import { encodeReading, meterTopic } from '../../protocols/mqtt/index.ts';
import { newSecret, secretDigest } from '../../src/api/auth.ts';
import { LocalStripe } from '../../src/payments/stripe-local.ts';
import { hashSecret } from '../../src/security/secrets.ts';
import { freePort, type RasidProcess, type SeededWorld, seedWorld, startRasid } from '../support/process.ts';
import { openSocket, streamUntilClosed, varint } from '../support/raw-socket.ts';

const USAGE = `usage: npm run faults [-- --short] [-- --help]

Starts a private PostgreSQL cluster (initdb, on a free port in a temporary folder) and Rasid
(bin/rasid start, a separate process; its broker on a free port, never 1883), runs every fault
case and prints one line of counts per case. Exits 1 when anything is lost or doubled, any answer
is a 500, or the server's memory after the run is more than 20 % above its warmed-up start.

  --short    smaller bursts (the form CI runs; 1–3 minutes)
  --help     this text

env: PG_BIN  folder of initdb and pg_ctl (default: the newest /usr/lib/postgresql/<version>/bin);
             as root they run as the postgres user
`;

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const unknown = args.filter((a) => a !== '--short');
if (unknown.length > 0) {
  process.stderr.write(`unknown option ${unknown.join(' ')}\n\n${USAGE}`);
  process.exit(2);
}
const SHORT = args.includes('--short');
/** PG_BIN, or the newest of Debian's /usr/lib/postgresql/<version>/bin that has initdb. */
function pgBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0]) {
    process.stderr.write(`no initdb under ${root}/<version>/bin: set PG_BIN\n\n${USAGE}`);
    process.exit(2);
  }
  return join(root, versions[0], 'bin');
}
const PG_BIN = pgBin();

/** How big each case is: a tiny warm-up round, then the measured round (short for CI, or full). */
interface Size {
  readonly round: string;
  readonly raceTries: number;
  readonly meters: number;
  readonly perMeter: number;
  readonly flood: number;
  readonly oversized: number;
  readonly pgSales: number;
  readonly pgStop: boolean;
  readonly checkouts: number;
}
const WARM: Size = {
  round: 'warm',
  raceTries: 4,
  meters: 1,
  perMeter: 5,
  flood: 4,
  oversized: 1,
  pgSales: 6,
  pgStop: false,
  checkouts: 1,
};
const MEASURED: Size = SHORT
  ? {
      round: 'run',
      raceTries: 20,
      meters: 3,
      perMeter: 20,
      flood: 20,
      oversized: 4,
      pgSales: 30,
      pgStop: true,
      checkouts: 2,
    }
  : {
      round: 'run',
      raceTries: 60,
      meters: 8,
      perMeter: 100,
      flood: 100,
      oversized: 4,
      pgSales: 120,
      pgStop: true,
      checkouts: 10,
    };
/** Webhook deliveries of one event, all at once. */
const REPLAYS = 20;

interface CaseResult {
  name: string;
  ok: boolean;
  counts: Record<string, number | string>;
}
const results: CaseResult[] = [];
let prefix = '';
let caseStarted = performance.now();
/** Prints a case's line: its counts and the seconds since the previous line. */
function report(caseName: string, ok: boolean, counts: Record<string, number | string>) {
  const name = prefix + caseName;
  const seconds = ((performance.now() - caseStarted) / 1000).toFixed(1);
  caseStarted = performance.now();
  counts = { ...counts, s: seconds };
  results.push({ name, ok, counts });
  const list = Object.entries(counts)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'}  ${name.padEnd(44)} ${list}\n`);
}

// ---- a private PostgreSQL cluster ----

interface Cluster {
  readonly url: string;
  stop(): void;
  start(): void;
  destroy(): void;
}

function privateCluster(port: number): Cluster {
  const dir = mkdtempSync(join(tmpdir(), 'rasid-faults-pg-'));
  const data = join(dir, 'data');
  const asPostgres = process.getuid?.() === 0;
  if (asPostgres) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const run = (bin: string, argv: string[]) => {
    const cmd = join(PG_BIN, bin);
    if (asPostgres) execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...argv], { stdio: 'ignore' });
    else execFileSync(cmd, argv, { stdio: 'ignore' });
  };
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const start = () => run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
    start,
    destroy() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- helpers ----

/**
 * The measured server's memory, read through its inspector (it is started with `--inspect` on a loopback
 * port of its own): a full garbage collection first (`HeapProfiler.collectGarbage`), then
 * `process.memoryUsage()` inside the server. Without the collection, a reading says how much garbage V8
 * has not yet collected as much as what Rasid holds.
 */
interface Memory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}
async function memoryOf(inspectPort: number, opts: { gc: boolean } = { gc: true }): Promise<Memory> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await once(ws, 'open');
  let next = 0;
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = ++next;
      const onMessage = (data: WebSocket.RawData) => {
        const message = JSON.parse(String(data)) as { id?: number; result?: Record<string, unknown> };
        if (message.id !== id) return;
        ws.off('message', onMessage);
        if (message.result) resolve(message.result);
        else reject(new Error(`${method}: ${String(data)}`));
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    if (opts.gc) {
      await send('HeapProfiler.collectGarbage');
      await sleep(200);
      await send('HeapProfiler.collectGarbage');
    }
    const evaluated = await send('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    });
    return JSON.parse(String((evaluated.result as { value: string }).value)) as Memory;
  } finally {
    ws.close();
  }
}

type Answer = { status: number; body: Record<string, unknown> };
async function call(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
) {
  try {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed } as Answer;
  } catch {
    return { status: 0, body: {} } as Answer;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function query<T extends pg.QueryResultRow>(world: SeededWorld, text: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: world.env.DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** A signed-in admin of the seeded utility (created once, straight in the database). */
let adminReady: Promise<void> | undefined;
async function adminBearer(world: SeededWorld, rasid: RasidProcess): Promise<Record<string, string>> {
  adminReady ??= (async () => {
    await query(
      world,
      `insert into users (utility_id, username, password_hash, role)
       select id, 'fault-admin', $1, 'admin' from utilities where code = 'jo'`,
      [await hashSecret('fault admin password')],
    );
  })();
  await adminReady;
  const login = await call(
    rasid.url,
    'POST',
    '/api/v1/sessions',
    {},
    { utility: 'jo', username: 'fault-admin', password: 'fault admin password' },
  );
  if (login.status !== 201) throw new Error(`admin sign-in answered ${login.status}`);
  return { authorization: `Bearer ${String(login.body.token)}` };
}

/** Issues MQTT credentials to meters through the API. */
async function meterCredentials(world: SeededWorld, rasid: RasidProcess, serials: readonly string[]) {
  const bearer = await adminBearer(world, rasid);
  const out: { serial: string; username: string; password: string }[] = [];
  for (const serial of serials) {
    const [row] = await query<{ id: string }>(world, 'select id from meters where serial = $1', [serial]);
    const cred = await call(rasid.url, 'POST', `/api/v1/meters/${row!.id}/mqtt-credentials`, bearer, {});
    if (cred.status !== 201 && cred.status !== 200) {
      throw new Error(`mqtt credentials for ${serial} answered ${cred.status}`);
    }
    out.push({ serial, username: String(cred.body.username), password: String(cred.body.password) });
  }
  return out;
}

const reading = (seq: number, base: number) =>
  encodeReading({ v: 1, seq, ts: new Date(base + seq * 60_000).toISOString(), energyWh: 1000 + seq });

// ---- the cases ----

/**
 * One SIGKILL of Rasid under two loads at once: kiosks selling and meters publishing. The first to reach
 * its mark fires it; everyone waits for the same new process (started with `nextEnv`, same MQTT port).
 */
class Kill {
  #next: Promise<RasidProcess> | undefined;
  readonly #onFire: (() => void)[] = [];
  constructor(
    private readonly first: RasidProcess,
    private readonly nextEnv: Record<string, string>,
  ) {}
  get fired(): boolean {
    return this.#next !== undefined;
  }
  onFire(f: () => void): void {
    this.#onFire.push(f);
  }
  fire(): Promise<RasidProcess> {
    if (!this.#next) {
      for (const f of this.#onFire) f();
      this.#next = (async () => {
        await this.first.stop('SIGKILL');
        return startRasid(this.nextEnv);
      })();
    }
    return this.#next;
  }
  /** The process after the kill. */
  get next(): Promise<RasidProcess> {
    if (!this.#next) throw new Error('not killed yet');
    return this.#next;
  }
}

/** A burst of vends from many tills, SIGKILL in the middle, every sale retried with its Idempotency-Key. */
async function vendsThroughKill(world: SeededWorld, first: RasidProcess, kill: Kill) {
  const SALES = SHORT ? 60 : 240;
  const TILLS = SHORT ? 8 : 24;
  const key = (i: number) => `fault-kill-${String(i).padStart(4, '0')}`;
  const sale = (url: string, i: number) =>
    call(
      url,
      'POST',
      '/api/v1/vends',
      { 'x-api-key': world.kioskKey, 'idempotency-key': key(i) },
      { meter: world.meters[i % world.meters.length], amountMinor: 1000 + (i % 7) },
    );
  const acked = new Map<number, Answer>();
  let next = 0;
  let fiveHundreds = 0;
  await Promise.all(
    Array.from({ length: TILLS }, async () => {
      while (next < SALES && !kill.fired) {
        const i = next++;
        const r = await sale(first.url, i);
        if (r.status >= 500) fiveHundreds++;
        if (r.status === 201 || r.status === 200) acked.set(i, r);
        if (acked.size >= SALES / 6) void kill.fire();
      }
    }),
  );
  const second = await kill.fire();
  let changed = 0;
  let notOk = 0;
  for (let start = 0; start < SALES; start += TILLS) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(TILLS, SALES - start) }, (_, k) =>
        sale(second.url, start + k).then((r) => ({ i: start + k, r })),
      ),
    );
    for (const { i, r } of batch) {
      if (r.status >= 500) fiveHundreds++;
      if (r.status !== 200 && r.status !== 201) notOk++;
      const before = acked.get(i);
      if (before && (before.body.vendId !== r.body.vendId || before.body.token !== r.body.token)) changed++;
    }
  }
  const [counts] = await query<{ vends: string; keys: string; tokens: string; payments: string }>(
    world,
    `select (select count(*) from vends where idempotency_key like '%:fault-kill-%') as vends,
            (select count(distinct idempotency_key) from vends where idempotency_key like '%:fault-kill-%') as keys,
            (select count(*) from tokens where kind = 'credit') as tokens,
            (select count(*) from account_ledger where kind = 'payment') as payments`,
  );
  const ok =
    Number(counts!.vends) === SALES &&
    Number(counts!.keys) === SALES &&
    Number(counts!.tokens) === Number(counts!.payments) &&
    changed === 0 &&
    notOk === 0 &&
    fiveHundreds === 0;
  report('vends: SIGKILL mid-burst, retried', ok, {
    sales: SALES,
    ackedBeforeKill: acked.size,
    vendsStored: counts!.vends,
    distinctKeys: counts!.keys,
    tokens: counts!.tokens,
    ledgerPayments: counts!.payments,
    ackedChanged: changed,
    http5xx: fiveHundreds,
  });
}

/**
 * Meters publish readings at QoS 1, without pause, until Rasid is SIGKILLed under them, and on after it is
 * started again on the same MQTT port: at least `PER_METER` each and at least 5 on the new process. A meter
 * counts a reading as sent only on its PUBACK; a reading without one is published again (same timestamp) on
 * a new connection once the broker is back. Every acknowledged reading must be stored, and in the end
 * every reading stored once. `aThird` resolves when a third of `PER_METER` are acknowledged (the kiosks
 * start selling then); `finished` gives the report.
 */
function mqttThroughKill(
  world: SeededWorld,
  kill: Kill,
  mqttPort: number,
  creds: readonly { serial: string; username: string; password: string }[],
) {
  const PER_METER = SHORT ? 30 : 100;
  const base = Date.UTC(2026, 6, 1);
  const last = new Map<string, number>();
  const acked = new Map<string, Set<number>>(creds.map((c) => [c.serial, new Set<number>()]));
  let ackedTotal = 0;
  let ackedBeforeKill = 0;
  let resent = 0;
  kill.onFire(() => {
    ackedBeforeKill = ackedTotal;
  });
  let third: () => void = () => {};
  const aThird = new Promise<void>((r) => {
    third = r;
  });
  const deadline = Date.now() + 240_000;

  const connect = async (c: (typeof creds)[number]) => {
    for (;;) {
      try {
        const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
          username: c.username,
          password: c.password,
          clientId: c.serial,
          reconnectPeriod: 0,
          connectTimeout: 5000,
        });
        client.on('error', () => {});
        const gone = new Promise<false>((r) => client.once('close', () => r(false)));
        return { client, gone };
      } catch {
        if (Date.now() > deadline) throw new Error(`meter ${c.serial} could not connect again`);
        await sleep(250);
      }
    }
  };

  const finished = (async () => {
    await Promise.all(
      creds.map(async (c) => {
        let link = await connect(c);
        let seq = 1;
        let afterRestart = 0;
        let reconnected = false;
        while (seq <= PER_METER || !kill.fired || !reconnected || afterRestart < 5) {
          if (Date.now() > deadline) throw new Error(`meter ${c.serial} still publishing`);
          const ok = await Promise.race([
            link.client
              .publishAsync(meterTopic('jo', c.serial, 'up/reading'), reading(seq, base), { qos: 1 })
              .then(
                () => true,
                () => false,
              ),
            link.gone,
          ]);
          if (!ok) {
            // No PUBACK: the broker went away. Reconnect and publish the same reading again.
            link.client.end(true);
            resent++;
            link = await connect(c);
            reconnected = true;
            continue;
          }
          if (reconnected) afterRestart++;
          acked.get(c.serial)!.add(seq);
          ackedTotal++;
          seq++;
          if (ackedTotal >= (creds.length * PER_METER) / 3) third();
        }
        last.set(c.serial, seq - 1);
        await link.client.endAsync();
      }),
    );
    const serials = creds.map((c) => c.serial);
    const rows = await query<{ serial: string; ts: Date }>(
      world,
      `select m.serial, r.ts from readings r join meters m on m.id = r.meter_id
        where m.serial = any($1) and r.ts > $2`,
      [serials, new Date(base)],
    );
    const stored = new Set(rows.map((r) => `${r.serial}@${r.ts.getTime()}`));
    let ackedMissing = 0;
    for (const [serial, seqs] of acked) {
      for (const seq of seqs) if (!stored.has(`${serial}@${base + seq * 60_000}`)) ackedMissing++;
    }
    const published = [...last.values()].reduce((a, b) => a + b, 0);
    return () =>
      report(
        'mqtt: meters publishing through SIGKILL',
        ackedMissing === 0 &&
          rows.length === published &&
          stored.size === published &&
          ackedTotal === published &&
          ackedBeforeKill > 0 &&
          resent > 0,
        {
          meters: creds.length,
          published,
          ackedBeforeKill,
          resentAfterKill: resent,
          acked: ackedTotal,
          stored: rows.length,
          distinctStored: stored.size,
          ackedMissing,
        },
      );
  })();
  return { aThird, finished };
}

/** Both loads through one SIGKILL: meters publishing, then kiosks selling; returns the new process. */
async function throughKill(
  world: SeededWorld,
  env: Record<string, string>,
  nextEnv: Record<string, string>,
  mqttPort: number,
): Promise<RasidProcess> {
  const first = await startRasid(env);
  const kill = new Kill(first, nextEnv);
  const creds = await meterCredentials(world, first, world.meters.slice(10, 10 + (SHORT ? 3 : 8)));
  const meters = mqttThroughKill(world, kill, mqttPort, creds);
  await Promise.race([meters.aThird, meters.finished]);
  await vendsThroughKill(world, first, kill);
  (await meters.finished)();
  return kill.next;
}

/** Two kiosks of one vendor sell at once against a float that covers only some of the sales. */
async function floatRace(world: SeededWorld, rasid: RasidProcess, size: Size) {
  const [utility] = await query<{ id: string }>(world, "select id from utilities where code = 'jo'");
  const [vendor] = await query<{ id: string }>(
    world,
    'insert into vendors (utility_id, name, commission_bp) values ($1, $2, 0) returning id',
    [utility!.id, `Race vendor ${size.round}`],
  );
  const keys = [newSecret('rks_'), newSecret('rks_')];
  for (const [n, k] of keys.entries()) {
    await query(
      world,
      'insert into kiosks (utility_id, vendor_id, name, api_key_hash) values ($1, $2, $3, $4)',
      [utility!.id, vendor!.id, `Race till ${n + 1}`, secretDigest(k)],
    );
  }
  // The float covers half of the tries.
  const FLOAT = BigInt(size.raceTries / 2) * 1000n;
  await query(
    world,
    "insert into vendor_ledger (utility_id, vendor_id, kind, amount_minor, ref) values ($1, $2, 'float_topup', $3, 'race float')",
    [utility!.id, vendor!.id, String(FLOAT)],
  );
  const answers = await Promise.all(
    Array.from({ length: size.raceTries }, (_, i) =>
      call(
        rasid.url,
        'POST',
        '/api/v1/vends',
        { 'x-api-key': keys[i % 2]!, 'idempotency-key': `fault-race-${size.round}-${i}` },
        { meter: world.meters[i % world.meters.length], amountMinor: 1000 },
      ),
    ),
  );
  const sold = answers.filter((a) => a.status === 201).length;
  const short = answers.filter((a) => a.status === 402).length;
  const other = answers.filter((a) => a.status !== 201 && a.status !== 402).length;
  const [balance] = await query<{ sum: string; vends: string }>(
    world,
    `select coalesce(sum(amount_minor), 0) as sum,
            (select count(*) from vends where vendor_id = $1) as vends
       from vendor_ledger where vendor_id = $1`,
    [vendor!.id],
  );
  const ok =
    Number(balance!.sum) >= 0 && Number(balance!.vends) === sold && other === 0 && sold > 0 && short > 0;
  report('float race: two kiosks, one float', ok, {
    tries: size.raceTries,
    sold,
    refused402: short,
    other,
    vendsStored: balance!.vends,
    floatLeftMinor: balance!.sum,
  });
}

/** NUL bytes and lone surrogates in the strings of public and kiosk routes: 400 naming the field, never 500. */
async function badStrings(world: SeededWorld, rasid: RasidProcess) {
  const bads = ['x\u0000y', 'x\ud800y', '\udc00', '\u0000'];
  const requests: [string, string, Record<string, string>, unknown][] = [];
  for (const bad of bads) {
    requests.push(['POST', '/api/v1/sessions', {}, { utility: bad, username: bad, password: bad }]);
    requests.push(['POST', '/api/v1/sessions/codes', {}, { utility: 'jo', contact: `+9627900000${bad}` }]);
    requests.push([
      'POST',
      '/api/v1/sessions/code',
      {},
      { utility: bad, contact: '+962790000001', code: bad },
    ]);
    requests.push(['POST', '/api/v1/utilities/jo/quotes', {}, { meter: bad, amountMinor: 1000 }]);
    requests.push([
      'POST',
      '/api/v1/vends',
      { 'x-api-key': world.kioskKey, 'idempotency-key': 'fault-bad' },
      { meter: bad, amountMinor: 1000 },
    ]);
    requests.push(['POST', '/api/v1/utilities/jo/checkout', {}, { meter: bad, amountMinor: 1000, [bad]: 1 }]);
  }
  for (const path of [
    '/api/v1/utilities/jo/meters/x%00y',
    '/api/v1/utilities/x%00/meters/1',
    '/api/v1/web/utilities?x=%00',
  ]) {
    requests.push(['GET', path, {}, undefined]);
  }
  const answers = await Promise.all(requests.map(([m, p, h, b]) => call(rasid.url, m, p, h, b)));
  const refused = answers.filter((a) => a.status === 400 && a.body.code === 'validation_failed').length;
  const other = answers.filter((a) => a.status !== 400 && a.status !== 404).length;
  const fiveHundreds = answers.filter((a) => a.status >= 500).length;
  report('bad-string fuzz', fiveHundreds === 0 && other === 0, {
    requests: answers.length,
    refused400: refused,
    notFound404: answers.filter((a) => a.status === 404).length,
    other,
    http5xx: fiveHundreds,
  });
}

/** Good meters publish readings (QoS 1) beside a malformed-packet flood, oversized announcements and silent sockets. */
async function mqttCases(world: SeededWorld, rasid: RasidProcess, mqttPort: number, size: Size) {
  const serials = world.meters.slice(0, size.meters);
  const creds = await meterCredentials(world, rasid, serials);
  const meters: { serial: string; client: mqtt.MqttClient }[] = [];
  for (const c of creds) {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
      username: c.username,
      password: c.password,
      clientId: c.serial,
      reconnectPeriod: 0,
    });
    meters.push({ serial: c.serial, client });
  }
  let acked = 0;
  // Each round publishes at times of its own, so that the rows it counts are its own.
  const base = Date.UTC(2026, 5, size.round === WARM.round ? 1 : 10);
  const publishing = Promise.all(
    meters.map(async ({ serial, client }) => {
      for (let seq = 1; seq <= size.perMeter; seq++) {
        await client.publishAsync(meterTopic('jo', serial, 'up/reading'), reading(seq, base), { qos: 1 });
        acked++;
      }
    }),
  );
  // The flood: sockets sending garbage fixed headers, and MQTT clients without credentials.
  let floodClosed = 0;
  const flood = Promise.all(
    Array.from({ length: size.flood }, async (_, i) => {
      const s = await openSocket(mqttPort);
      s.on('error', () => {});
      const closed = new Promise<void>((r) => s.once('close', () => r()));
      s.write(i % 2 === 0 ? Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]) : randomBytes(64));
      await closed;
      floodClosed++;
    }),
  );
  // Sockets announcing a 200 MB CONNECT and streaming up to 16 MB each.
  const announce = Buffer.concat([Buffer.from([0x10]), varint(200 * 1024 * 1024)]);
  const oversized = await Promise.all(
    Array.from({ length: size.oversized }, async () =>
      streamUntilClosed(await openSocket(mqttPort), announce, 16 * 1024 * 1024, 2000),
    ),
  );
  // Half-open: sockets that never send a CONNECT, or stop in the middle of one.
  const halfOpen = await Promise.all(
    [Buffer.alloc(0), Buffer.from([0x10, 0x20, 0x00, 0x04])].map(async (bytes) => {
      const s = await openSocket(mqttPort);
      s.on('error', () => {});
      const closed = new Promise<boolean>((r) => s.once('close', () => r(true)));
      s.write(bytes);
      return Promise.race([closed, sleep(20_000).then(() => false)]);
    }),
  );
  await Promise.all([publishing, flood]);
  for (const m of meters) await m.client.endAsync();
  const [count] = await query<{ n: string }>(
    world,
    `select count(*) as n from readings r join meters m on m.id = r.meter_id
      where m.serial = any($1) and r.ts > $2 and r.ts <= $3`,
    [serials, new Date(base), new Date(base + size.perMeter * 60_000)],
  );
  const stored = Number(count!.n);
  const expected = size.meters * size.perMeter;
  report(
    'mqtt: good meters beside a flood',
    stored === acked && acked === expected && floodClosed === size.flood,
    {
      published: expected,
      acked,
      stored,
      floodSockets: size.flood,
      floodClosed,
    },
  );
  report(
    `mqtt: 200 MB CONNECT announced ×${size.oversized}`,
    oversized.every((o) => o.closed && o.written < 16 * 1024 * 1024),
    {
      closed: oversized.filter((o) => o.closed).length,
      maxBytesTaken: Math.max(...oversized.map((o) => o.written)),
    },
  );
  report('mqtt: half-open sockets', halfOpen.every(Boolean), {
    sockets: halfOpen.length,
    closedWithin20s: halfOpen.filter(Boolean).length,
  });
}

/**
 * Half-open HTTP: a connection that sends nothing, one that stops inside its headers, one that announces a
 * body and stops inside it. Each must be closed by the server's own timeouts (headers, request), which the
 * run sets to 3 and 5 s.
 */
async function httpHalfOpen(rasid: RasidProcess) {
  const port = Number(new URL(rasid.url).port);
  const openings = [
    '',
    'POST /api/v1/vends HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: app',
    'POST /api/v1/vends HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{"meter":',
  ];
  const started = performance.now();
  const closed = await Promise.all(
    openings.map(async (bytes) => {
      const s = await openSocket(port);
      s.on('error', () => {});
      s.resume();
      const gone = new Promise<boolean>((r) => s.once('close', () => r(true)));
      s.write(bytes);
      const ok = await Promise.race([gone, sleep(20_000).then(() => false)]);
      s.destroy();
      return ok;
    }),
  );
  return () =>
    report('http: half-open connections', closed.every(Boolean), {
      connections: closed.length,
      closedWithin20s: closed.filter(Boolean).length,
      lastClosedAfterS: ((performance.now() - started) / 1000).toFixed(1),
    });
}

/**
 * Online top-ups: checkout through Rasid (the real Stripe SDK against the local Stripe-compatible server),
 * then each session's signed `checkout.session.completed` event delivered 20 times at once. One payment,
 * one vend, one token and one ledger payment per session; every delivery answered, none with a 5xx.
 */
async function webhookReplay(world: SeededWorld, rasid: RasidProcess, stripe: LocalStripe, size: Size) {
  stripe.setWebhookUrl(`${rasid.url}/api/v1/payments/stripe/webhook`);
  const sessions: string[] = [];
  for (let i = 0; i < size.checkouts; i++) {
    const start = await call(
      rasid.url,
      'POST',
      '/api/v1/utilities/jo/checkout',
      {},
      { meter: world.meters[i % world.meters.length], amountMinor: 2000 + i },
    );
    if (start.status !== 201) throw new Error(`checkout answered ${start.status}`);
    sessions.push(String(start.body.sessionId));
  }
  const statuses = (
    await Promise.all(
      sessions.map((sessionId) => {
        const signed = stripe.completeSession(sessionId);
        return Promise.all(
          Array.from({ length: REPLAYS }, () =>
            stripe.deliver(signed, 'checkout.session.completed').catch(() => 0),
          ),
        );
      }),
    )
  ).flat();
  const rows = await query<{ status: string; vends: string; tokens: string; ledger: string }>(
    world,
    `select p.status,
            (select count(*) from vends v where v.payment_id = p.id) as vends,
            (select count(*) from tokens t join vends v on v.id = t.vend_id where v.payment_id = p.id) as tokens,
            (select count(*) from account_ledger l join vends v on v.id = l.vend_id
              where v.payment_id = p.id and l.kind = 'payment') as ledger
       from payments p where p.provider_ref = any($1)`,
    [sessions],
  );
  const sum = (k: 'vends' | 'tokens' | 'ledger') => rows.reduce((n, r) => n + Number(r[k]), 0);
  const once = rows.filter(
    (r) => r.status === 'succeeded' && r.vends === '1' && r.tokens === '1' && r.ledger === '1',
  ).length;
  const fiveHundreds = statuses.filter((s) => s >= 500).length;
  const answered200 = statuses.filter((s) => s === 200).length;
  report(
    `webhook: each event ×${REPLAYS} at once`,
    once === sessions.length && rows.length === sessions.length && fiveHundreds === 0,
    {
      sessions: sessions.length,
      deliveries: statuses.length,
      answered200,
      other: statuses.length - answered200,
      http5xx: fiveHundreds,
      paymentsOnce: once,
      vends: sum('vends'),
      tokens: sum('tokens'),
      ledgerPayments: sum('ledger'),
    },
  );
}

/** PostgreSQL stopped and started while kiosks sell; every sale retried until it is acknowledged. */
async function postgresRestart(world: SeededWorld, rasid: RasidProcess, cluster: Cluster, size: Size) {
  const SALES = size.pgSales;
  const statuses = new Map<string, number>();
  let next = 0;
  let stopped = false;
  const sale = (i: number) =>
    call(
      rasid.url,
      'POST',
      '/api/v1/vends',
      { 'x-api-key': world.kioskKey, 'idempotency-key': `fault-pg-${size.round}-${i}` },
      { meter: world.meters[i % world.meters.length], amountMinor: 1000 },
    );
  let fiveHundreds = 0;
  let acked = 0;
  let restarted: Promise<void> | undefined;
  const selling = Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < SALES) {
        const i = next++;
        // A kiosk retries a failed sale with the same key; it gives up after a minute.
        for (let attempt = 0; attempt < 300; attempt++) {
          const r = await sale(i);
          const label = `${r.status}${r.body.code ? `/${String(r.body.code)}` : ''}`;
          statuses.set(label, (statuses.get(label) ?? 0) + 1);
          if (r.status === 500) fiveHundreds++;
          if (r.status === 201 || r.status === 200) break;
          await sleep(200);
        }
        acked++;
        // A third of the way in, PostgreSQL stops for three seconds while the tills keep selling.
        if (size.pgStop && acked === Math.floor(SALES / 3) && !restarted) {
          restarted = (async () => {
            cluster.stop();
            stopped = true;
            await sleep(3000);
            cluster.start();
          })();
        }
        await sleep(50);
      }
    }),
  );
  await selling;
  await restarted;
  const [counts] = await query<{ vends: string; keys: string }>(
    world,
    'select count(*) as vends, count(distinct idempotency_key) as keys from vends where idempotency_key like $1',
    [`%:fault-pg-${size.round}-%`],
  );
  report(
    size.pgStop ? 'postgres stopped and started' : 'postgres: sales with retries',
    Number(counts!.vends) === SALES &&
      Number(counts!.keys) === SALES &&
      fiveHundreds === 0 &&
      stopped === size.pgStop,
    {
      sales: SALES,
      vendsStored: counts!.vends,
      distinctKeys: counts!.keys,
      answers: [...statuses.entries()].map(([s, n]) => `${s}:${n}`).join(','),
      http500: fiveHundreds,
    },
  );
}

async function main() {
  const pgPort = await freePort();
  process.stdout.write(
    `Rasid fault suite${SHORT ? ' (short)' : ''}: private PostgreSQL on 127.0.0.1:${pgPort}\n`,
  );
  const cluster = privateCluster(pgPort);
  const dataDir = mkdtempSync(join(tmpdir(), 'rasid-faults-'));
  const webhookSecret = `whsec_faults_${randomBytes(16).toString('hex')}`;
  const stripe = new LocalStripe({ webhookSecret });
  let rasid: RasidProcess | undefined;
  try {
    const stripeUrl = await stripe.start();
    const world = await seedWorld({ postgresUrl: cluster.url, dataDir, meters: 20 });
    // The broker listens on a free port of its own (a port-0 pick), never on 1883 where Mosquitto may be.
    const mqttPort = await freePort();
    const env = {
      ...world.env,
      MQTT_PORT: String(mqttPort),
      PUBLIC_RATE_LIMIT: '100000',
      DB_POOL_SIZE: '8',
      HTTP_HEADERS_TIMEOUT_SECONDS: '3',
      HTTP_REQUEST_TIMEOUT_SECONDS: '5',
      STRIPE_SECRET_KEY: 'sk_test_faults',
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      STRIPE_API_BASE: stripeUrl,
    };
    // The process the rest runs against (the one started after the SIGKILL) has an inspector on a
    // loopback port, so that its memory can be read after a full garbage collection.
    const inspectPort = await freePort();
    rasid = await throughKill(
      world,
      env,
      { ...env, NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}` },
      mqttPort,
    );
    const measured = rasid;
    let stderr = '';
    measured.child.stderr?.on('data', (d: Buffer | string) => {
      stderr = (stderr + String(d)).slice(-4000);
    });
    let ending = false;
    measured.child.once('exit', (code, signal) => {
      if (!ending) process.stdout.write(`rasid exited (${code ?? signal}) during the run:\n${stderr}\n`);
    });
    const round = async (size: Size) => {
      await floatRace(world, measured, size);
      await badStrings(world, measured);
      const http = httpHalfOpen(measured);
      await mqttCases(world, measured, mqttPort, size);
      (await http)();
      await webhookReplay(world, measured, stripe, size);
      await postgresRestart(world, measured, cluster, size);
    };
    // A small round of every case first: code paths compiled, pools and caches filled, the heap at its
    // working size. The start figure is read after it, the end figure after the measured round.
    const cold = await memoryOf(inspectPort);
    caseStarted = performance.now();
    prefix = 'warm-up · ';
    await round(WARM);
    prefix = '';
    const start = await memoryOf(inspectPort);
    caseStarted = performance.now();
    await round(MEASURED);
    const raw = await memoryOf(inspectPort, { gc: false });
    // Let the server settle (sockets closed by their timeouts, timers, the allocator) before the end figure.
    let end = await memoryOf(inspectPort);
    for (let i = 0; i < 15 && end.rss > start.rss * 1.2; i++) {
      await sleep(2000);
      end = await memoryOf(inspectPort);
    }
    const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
    report('memory back within 20 %', end.rss <= start.rss * 1.2 && measured.child.exitCode === null, {
      rssColdMB: mb(cold.rss),
      rssStartMB: mb(start.rss),
      rssEndNoGcMB: mb(raw.rss),
      rssEndMB: mb(end.rss),
      ratio: (end.rss / start.rss).toFixed(2),
      heapColdMB: mb(cold.heapUsed),
      heapStartMB: mb(start.heapUsed),
      heapEndNoGcMB: mb(raw.heapUsed),
      heapEndMB: mb(end.heapUsed),
      externalStartMB: mb(start.external),
      externalEndMB: mb(end.external),
    });
    ending = true;
  } finally {
    await rasid?.stop();
    await stripe.stop();
    cluster.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const failed = results.filter((r) => !r.ok);
  process.stdout.write(`\n${results.length - failed.length}/${results.length} cases held\n`);
  process.exit(failed.length === 0 ? 0 : 1);
}

await main();
