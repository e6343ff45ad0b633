/**
 * Non-revenue energy from an empty install (docs/losses.md): `rasid init`, a district created over the API,
 * 200 customer meters and a bulk meter imported from CSV (role and district columns), the bulk meter put on
 * the district's supply point, MQTT credentials issued, then `rasid sim fleet --bulk … --bypass …` runs the
 * district for two simulated days: the bulk meter records what every premises draws plus a technical loss,
 * and 30 premises bypass 60 % of their demand from the second day on.
 *
 * The expected figures come from the simulation's own parameters: each meter's demand curve (its seed and
 * profile, as the simulator builds them) integrated over the instants of the readings the report anchors on
 * (the accuracy its readings allow: one Wh of rounding per register), and over the exact UTC day within what
 * the readings around midnight leave open. The suite runs on PGlite here, on PostgreSQL in
 * vitest.services.config.ts ('postgres') and on TimescaleDB (vitest.timescale.config.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS } from '../../firmware-sim/model/curves.ts';
import {
  demandAt,
  type LoadProfile,
  ManualClock,
  SimMeter,
  seedFrom,
  stsParametersFor,
} from '../../firmware-sim/model/index.ts';
import type { RunningServer } from '../../src/server.ts';
import { PG_ADMIN_URL, type PgHarness, postgresHarness } from '../ingest/harness.ts';
import { request } from '../support/api.ts';
import { RASID_BIN, runCli } from '../support/cli.ts';
import { SUITE_DIALECT } from '../support/db.ts';
import { startOnDataDir } from '../support/server.ts';

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON read field by field and checked by expect.
type Json = any;

const DAY = 86_400_000;
const CODE = 'nrw';
const PASSWORD = 'losses-admin-password';
const CUSTOMERS = 200;
const SEED = 7;
const TECHNICAL_LOSS = 0.05;
const BYPASS_SHARE = 0.6;
const serial = (i: number) => `LD-${String(i).padStart(6, '0')}`;
const BULK = 'LD-BULK01';
/** Every seventh premises bypasses its meter: 28 of 200. */
const BYPASSED = Array.from({ length: CUSTOMERS }, (_, i) => i + 1)
  .filter((i) => i % 7 === 3)
  .map(serial);

/** The day the bypasses start (the day measured): three days ago, UTC. */
const D = Math.floor(Date.now() / DAY) * DAY - 3 * DAY;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | null | false>, ms = 120_000) {
  const until = Date.now() + ms;
  for (;;) {
    const got = await probe();
    if (got) return got;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** What a simulated premises draws over [from, to), minute by minute, times `factor` of each minute. */
function drawn(
  profile: LoadProfile,
  seed: number,
  from: number,
  to: number,
  factor: (minuteStart: number) => number = () => 1,
): number {
  let total = 0;
  for (let t = from; t < to; ) {
    const minute = Math.floor(t / MINUTE_MS) * MINUTE_MS;
    const end = Math.min(to, minute + MINUTE_MS);
    total += (demandAt(profile, seed, minute) * factor(minute) * (end - t)) / HOUR_MS;
    t = end;
  }
  return total;
}

/** The demand curve of a fleet meter, as `rasid sim fleet --seed SEED` builds it. */
function profileOf(s: string): { profile: LoadProfile; seed: number } {
  const seed = seedFrom(SEED, s);
  const m = new SimMeter(
    { serial: s, kind: 'electricity', seed, sts: stsParametersFor({ drn: '00000000001' }).params },
    { clock: new ManualClock(0) },
  );
  return { profile: m.profile, seed: seed >>> 0 };
}

describe(`a simulated district's non-revenue energy (${SUITE_DIALECT})`, () => {
  let dir: string;
  let pg: PgHarness | undefined;
  let server: RunningServer;
  let fleet: ChildProcess | null = null;
  let fleetLog = '';
  let token = '';
  let districtId = '';
  const env: Record<string, string> = {};
  const call = async (method: string, path: string, body?: unknown) =>
    request(server.url, method, path, { token, ...(body !== undefined ? { body } : {}) });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rasid-losses-'));
    env.DATA_DIR = dir;
    if (SUITE_DIALECT === 'postgres') {
      pg = await postgresHarness();
      const url = new URL(PG_ADMIN_URL);
      url.pathname = `/${pg.database}`;
      env.DATABASE_URL = url.toString();
    }
    const init = await runCli(
      [
        'init',
        '--utility',
        CODE,
        '--name',
        'NRW utility',
        '--currency',
        'OMR',
        '--timezone',
        'Asia/Muscat',
      ].concat(['--admin', 'admin']),
      { env: { ...env, RASID_ADMIN_PASSWORD: PASSWORD }, timeoutMs: 300_000 },
    );
    expect(init.code, init.stderr).toBe(0);
    ({ server } = await startOnDataDir('losses', dir, {
      ...env,
      LOG_LEVEL: 'warn',
      BALANCE_INTERVAL_SECONDS: '86400',
      LOSS_CHECK_INTERVAL_SECONDS: '0',
      // 201 meters sign in at once on a shared 2-core machine: give each CONNECT time for its check.
      MQTT_CONNECT_TIMEOUT_SECONDS: '60',
    }));
    const session = await request(server.url, 'POST', '/api/v1/sessions', {
      body: { utility: CODE, username: 'admin', password: PASSWORD },
    });
    expect(session.status).toBe(201);
    token = session.json.token;
  }, 420_000);

  afterAll(async () => {
    if (fleet && fleet.exitCode === null) {
      fleet.kill('SIGTERM');
      await new Promise((r) => fleet?.once('exit', r));
    }
    await server?.close();
    await pg?.close();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('a district, its meters imported from CSV and its bulk meter on the supply point', async () => {
    const created = await call('POST', '/api/v1/districts', {
      code: 'NORTH',
      name: 'North feeder',
      kind: 'electricity',
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    districtId = created.json.id;

    const rows = ['serial,kind,protocol,mode,role,district'];
    for (let i = 1; i <= CUSTOMERS; i++) rows.push(`${serial(i)},electricity,mqtt,token,customer,NORTH`);
    rows.push(`${BULK},electricity,mqtt,central,bulk,NORTH`);
    rows.push('LD-ELSEWHERE,electricity,mqtt,token,,SOUTH');
    const res = await fetch(`${server.url}/api/v1/imports/meters`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
      body: rows.join('\n'),
    });
    const report = (await res.json()) as Json;
    expect(res.status, JSON.stringify(report)).toBe(200);
    expect(report.added).toBe(CUSTOMERS + 1);
    expect(report.errors).toEqual([{ row: CUSTOMERS + 3, column: 'district', reason: 'no district SOUTH' }]);

    const bulk = (await call('GET', `/api/v1/meters?serial=${BULK}`)).json.meters[0];
    expect(bulk).toMatchObject({ role: 'bulk', districtId });
    const point = await call('POST', `/api/v1/districts/${districtId}/supply-points`, {
      name: 'Substation 11 kV',
      meterId: bulk.id,
    });
    expect(point.status, JSON.stringify(point.json)).toBe(201);
    const list = (await call('GET', '/api/v1/districts')).json.districts;
    expect(list).toEqual([
      expect.objectContaining({
        code: 'NORTH',
        customerMeters: CUSTOMERS,
        supplyPoints: [expect.objectContaining({ name: 'Substation 11 kV', serial: BULK })],
      }),
    ]);
  }, 60_000);

  it('runs the district in the simulator for two days', async () => {
    const creds = await call('POST', '/api/v1/meters/mqtt-credentials', { serialPrefix: 'LD-', limit: 1000 });
    expect(creds.status).toBe(201);
    expect(creds.json.meters).toHaveLength(CUSTOMERS + 1);
    const file = join(dir, 'fleet.json');
    await writeFile(file, JSON.stringify(creds.json), { mode: 0o600 });
    const child = spawn(
      RASID_BIN,
      [
        'sim',
        'fleet',
        '--credentials',
        file,
        '--broker',
        server.metersOnline.brokerUrl ?? '',
        '--seed',
        String(SEED),
        '--speed',
        '1800',
        '--interval',
        '3600',
        '--initial-credit',
        '100000000',
        '--start',
        new Date(D - DAY - 36 * HOUR_MS).toISOString(),
        '--until',
        new Date(D + DAY + 4 * HOUR_MS).toISOString(),
        '--bulk',
        BULK,
        '--technical-loss',
        String(TECHNICAL_LOSS),
        '--bypass',
        BYPASSED.join(','),
        '--bypass-share',
        String(BYPASS_SHARE),
        '--bypass-from',
        new Date(D).toISOString(),
        '--summary-every',
        '10',
        // A shared machine: spare the broker a connect storm; the first simulated day and a half is lead.
        '--start-rate',
        '40',
      ],
      { env: { ...process.env, LOG_LEVEL: 'silent' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    fleet = child;
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      fleetLog += d;
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, fleetLog).toBe(0);
    // Every reading the fleet had acknowledged is stored: wait until the count holds still.
    const db = server.core.store.db;
    let last = -1;
    let still = 0;
    await waitUntil('the readings to be stored', async () => {
      await new Promise((r) => setTimeout(r, 1500));
      const n = Number(
        (
          await db
            .selectFrom('readings')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
      still = n === last && n > 0 ? still + 1 : 0;
      last = n;
      return still >= 3;
    });
    const perMeter = await db
      .selectFrom('readings')
      .select((eb) => ['meter_id', eb.fn.countAll<string>().as('n')])
      .where('ts', '>=', new Date(D + DAY))
      .groupBy('meter_id')
      .execute();
    expect(perMeter.length, fleetLog.split('\n').slice(-3).join('\n')).toBe(CUSTOMERS + 1);
  }, 400_000);

  it('the day shows the loss the simulation put in, within one Wh per register', async () => {
    const answer = await call(
      'GET',
      `/api/v1/districts/${districtId}/losses?period=day&from=${day(D)}&to=${day(D)}`,
    );
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    const [p] = answer.json.periods;
    expect(p).toMatchObject({
      start: day(D),
      end: day(D + DAY),
      status: 'complete',
      inflow: { meters: 1, covered: 1 },
      consumption: { meters: CUSTOMERS, covered: CUSTOMERS, partial: 0, missing: 0 },
    });

    // The anchors: each meter's last reading before the day and before the next one.
    const db = server.core.store.db;
    const anchors = new Map<string, { from: number; to: number }>();
    const rows = await db
      .selectFrom('readings as r')
      .innerJoin('meters as m', 'm.id', 'r.meter_id')
      .select(['m.serial', 'r.ts'])
      .where('r.ts', '<', new Date(D + DAY))
      .where('r.ts', '>=', new Date(D - DAY))
      .execute();
    for (const r of rows) {
      const t = r.ts.getTime();
      const a = anchors.get(r.serial) ?? { from: 0, to: 0 };
      if (t < D) a.from = Math.max(a.from, t);
      else a.to = Math.max(a.to, t);
      anchors.set(r.serial, a);
    }
    const bypassed = new Set(BYPASSED);
    let metered = 0;
    let inflow = 0;
    let meteredDay = 0;
    let drawnDay = 0;
    let slack = 0;
    const bulk = anchors.get(BULK)!;
    for (let i = 1; i <= CUSTOMERS; i++) {
      const s = serial(i);
      const { profile, seed } = profileOf(s);
      const a = anchors.get(s)!;
      expect(a.from).toBeGreaterThan(D - 2 * HOUR_MS);
      expect(a.to).toBeGreaterThan(D + DAY - 2 * HOUR_MS);
      const through = (minute: number) => (bypassed.has(s) && minute >= D ? 1 - BYPASS_SHARE : 1);
      metered += drawn(profile, seed, a.from, a.to, through);
      inflow += drawn(profile, seed, bulk.from, bulk.to) / (1 - TECHNICAL_LOSS);
      meteredDay += drawn(profile, seed, D, D + DAY, through);
      drawnDay += drawn(profile, seed, D, D + DAY);
      // What the readings around midnight leave open: the draw between each anchor and midnight.
      slack += drawn(profile, seed, a.from, D) + drawn(profile, seed, a.to, D + DAY);
      slack +=
        (drawn(profile, seed, bulk.from, D) + drawn(profile, seed, bulk.to, D + DAY)) / (1 - TECHNICAL_LOSS);
    }
    const rounding = 2 * (CUSTOMERS + 1);
    const reportedInflow = Number(p.inflow.units);
    const reportedMetered = Number(p.consumption.units);
    const reportedLoss = Number(p.loss.units);
    expect(Math.abs(reportedInflow - inflow)).toBeLessThanOrEqual(2 + inflow * 1e-9);
    expect(Math.abs(reportedMetered - metered)).toBeLessThanOrEqual(2 * CUSTOMERS + metered * 1e-9);
    expect(Math.abs(reportedLoss - (inflow - metered))).toBeLessThanOrEqual(rounding + inflow * 1e-9);
    expect(p.loss.shareBp).toBe(Math.floor((reportedLoss * 10_000) / reportedInflow));

    // Over the exact day, from the parameters alone: technical loss plus the bypassed share.
    const inflowDay = drawnDay / (1 - TECHNICAL_LOSS);
    const lossDay = inflowDay - meteredDay;
    expect(Math.abs(reportedLoss - lossDay)).toBeLessThanOrEqual(slack + rounding);
    const bypassLoss = drawnDay - meteredDay;
    expect(bypassLoss).toBeGreaterThan(0.03 * drawnDay);
    expect(lossDay).toBeCloseTo(inflowDay * TECHNICAL_LOSS + bypassLoss, 3);

    // The same figures per week and month (the day is inside both).
    const week = await call(
      'GET',
      `/api/v1/districts/${districtId}/losses?period=week&from=${day(D)}&to=${day(D)}`,
    );
    expect(week.status).toBe(200);
    expect(week.json.periods).toHaveLength(1);
    // The week began before the simulation: nothing covers it, and no loss is claimed.
    expect(week.json.periods[0].loss).toBeNull();
  });

  it('puts the bypassed meters on the suspicion list, with the evidence and a visit case', async () => {
    const answer = await call(
      'GET',
      `/api/v1/districts/${districtId}/suspicions?to=${day(D + DAY)}&recentDays=1&baselineDays=1`,
    );
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    const s = answer.json;
    expect(s.recent).toEqual({ from: day(D), to: day(D + DAY) });
    const dropped = s.meters
      .filter((m: Json) => m.reasons.includes('consumption_drop'))
      .map((m: Json) => m.serial)
      .sort();
    expect(dropped).toEqual([...BYPASSED].sort());
    const one = s.meters.find((m: Json) => m.serial === BYPASSED[0]);
    expect(one.evidence.consumption.ratio).toBeLessThan(0.6);
    expect(one.evidence.consumption.neighboursRatio).toBeGreaterThan(0.8);
    expect(one.visit).toMatchObject({ category: 'meter_fault', meterId: one.meterId });

    // The field visit is a case of the existing case API.
    const opened = await call('POST', '/api/v1/cases', one.visit);
    expect(opened.status, JSON.stringify(opened.json)).toBe(201);
    expect(opened.json.meter).toEqual({ id: one.meterId, serial: one.serial });

    const cmp = await call(
      'GET',
      `/api/v1/districts/${districtId}/meters/${one.meterId}/comparison?from=${day(D - DAY)}&to=${day(D)}`,
    );
    expect(cmp.status).toBe(200);
    const [before, after] = cmp.json.days;
    expect(Number(after.units) / Number(before.units)).toBeLessThan(0.6);
    expect(after.neighboursMedian).toBeGreaterThan(Number(after.units));
  });

  it('a loss over the threshold raises one alert; a meter without readings is a gap, not a loss', async () => {
    const settings = await call('PATCH', '/api/v1/utility/settings', { lossAlertBp: 500 });
    expect(settings.status).toBe(200);
    const first = await call('POST', '/api/v1/districts/loss-check', { day: day(D) });
    expect(first.status).toBe(200);
    expect(first.json.alerts).toEqual([
      expect.objectContaining({ code: 'NORTH', day: day(D), thresholdBp: 500 }),
    ]);
    const again = await call('POST', '/api/v1/districts/loss-check', { day: day(D) });
    expect(again.json.alerts).toEqual([]);

    const before = (
      await call('GET', `/api/v1/districts/${districtId}/losses?period=day&from=${day(D)}&to=${day(D)}`)
    ).json.periods[0];
    // A meter joins the district and never reports.
    const silent = await call('POST', '/api/v1/meters', {
      serial: 'LD-SILENT',
      kind: 'electricity',
      protocol: 'mqtt',
      mode: 'token',
      districtId,
    });
    expect(silent.status, JSON.stringify(silent.json)).toBe(201);
    const after = (
      await call('GET', `/api/v1/districts/${districtId}/losses?period=day&from=${day(D)}&to=${day(D)}`)
    ).json.periods[0];
    expect(after).toMatchObject({
      status: 'partial',
      loss: null,
      lossAtMost: before.loss.units,
      consumption: { meters: CUSTOMERS + 1, covered: CUSTOMERS, missing: 1 },
    });
    const list = (
      await call(
        'GET',
        `/api/v1/districts/${districtId}/suspicions?to=${day(D + DAY)}&recentDays=1&baselineDays=1`,
      )
    ).json;
    const quiet = list.meters.find((m: Json) => m.serial === 'LD-SILENT');
    expect(quiet.reasons).toEqual(['silent']);
    expect(quiet.evidence.silent).toEqual({ lastReadingAt: null, inflowRatio: list.inflowRatio });
  });
});
