/**
 * Go-live, end to end, through Rasid's public interfaces only — the `rasid` CLI, HTTP and MQTT — from an
 * empty data folder (and, on PostgreSQL, an empty database):
 *
 *   rasid init → rasid import of 1,000 customers, accounts and meters from CSV files (and the same import
 *   again, which adds nothing) → rasid credentials for the live meters → Rasid started → settings, a tariff,
 *   a vendor and its kiosk, a technician, over HTTP → a first kiosk sale → `rasid sim fleet --credentials`
 *   meters connect and report over MQTT → commissioning (installed → active) → the balance engine charges
 *   their consumption → one low-credit alert each → disconnect at zero, acknowledged by the meter → a kiosk
 *   top-up → reconnect, acknowledged.
 *
 * The import is the full 1,000 rows; the live part runs LIVE_METERS of them (each an MQTT client with a
 * simulated load, driven through commissioning and a whole credit cycle) to stay within a test's time on a
 * shared 2-core machine.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { type RunningServer, startServer } from '../../../src/server.ts';
import { RASID_BIN, runCli } from '../cli.ts';
import { TEST_DATABASE_URL } from '../db.ts';

/** The SMS the log provider wrote to a data folder's inbox (development and tests only). */
function readInbox(file: string): { to: string; text: string }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { to: string; text: string });
}

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON read field by field and checked by expect.
type Json = any;

const N = 1000;
const LIVE_METERS = 5;
const CODE = 'batinah';
const ADMIN_PASSWORD = 'go-live-admin-password';
const TECH_PASSWORD = 'go-live-technician-pw';
const pad = (i: number) => String(i).padStart(6, '0');
const serial = (i: number) => `BTN-${pad(i)}`;

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | null | false>, ms = 120_000) {
  const until = Date.now() + ms;
  for (;;) {
    const got = await probe();
    if (got) return got;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function files(): Record<'customers' | 'accounts' | 'meters', string> {
  const customers = ['national_id,name,name_ar,phone,email,language'];
  const accounts = ['account_number,national_id,address,area,tariff_code,subsidy_eligible'];
  const meters = [
    'serial,kind,protocol,mode,account_number,sts_iin,sts_drn,sts_sgc,sts_ti,sts_krn,sts_kt,sts_ea,sts_base_date',
  ];
  for (let i = 1; i <= N; i++) {
    customers.push(
      `9${pad(i)},Customer ${i},مشترك ${i},+9689${String(i).padStart(7, '0')},,${i % 3 ? 'ar' : 'en'}`,
    );
    accounts.push(`BA-${pad(i)},9${pad(i)},"Way ${i}, House ${i % 40}",Sohar,,no`);
    meters.push(
      `${serial(i)},electricity,mqtt,central,BA-${pad(i)},600727,${String(20_000_000_000 + i)},123456,01,1,2,07,2014`,
    );
  }
  return { customers: customers.join('\n'), accounts: accounts.join('\n'), meters: meters.join('\n') };
}

export function goLiveScenario(dialect: 'pglite' | 'postgres'): void {
  describe(`go-live from an empty install (${dialect})`, () => {
    let dir: string;
    let env: Record<string, string>;
    let database: string | null = null;
    let server: RunningServer | null = null;
    let fleet: ChildProcess | null = null;
    let fleetLog = '';
    const logs: string[] = [];
    let admin = '';
    let tech = '';
    let kioskKey = '';
    const meterIds: string[] = [];

    const call = async (token: string | null, method: string, path: string, body?: unknown, headers = {}) => {
      const res = await fetch(`${server!.url}${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: (text.startsWith('{') ? JSON.parse(text) : text) as Json };
    };
    const sell = (meter: string, amountMinor: number, key: string) =>
      call(
        null,
        'POST',
        '/api/v1/vends',
        { meter, amountMinor },
        { 'x-api-key': kioskKey, 'idempotency-key': key },
      );
    const audit = async (action: string, meterId: string) =>
      (await call(admin, 'GET', `/api/v1/audit?action=${action}&subject=meter:${meterId}&limit=100`)).json
        .entries as Json[];
    const commands = async (meterId: string) =>
      (await call(admin, 'GET', `/api/v1/meters/${meterId}/commands`)).json.commands as Json[];
    const balance = async (i: number) => {
      const accounts = (await call(admin, 'GET', `/api/v1/accounts?number=BA-${pad(i)}`)).json.accounts;
      return BigInt((await call(admin, 'GET', `/api/v1/accounts/${accounts[0].id}`)).json.balanceMinor);
    };

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), `rasid-golive-${dialect}-`));
      env = { DATA_DIR: dir, LOG_LEVEL: 'silent', NODE_ENV: 'test' };
      if (dialect === 'postgres') {
        database = `rasid_golive_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
        const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await c.connect();
        await c.query(`CREATE DATABASE ${database}`);
        await c.end();
        const url = new URL(TEST_DATABASE_URL);
        url.pathname = `/${database}`;
        env.DATABASE_URL = url.toString();
      }
      const f = files();
      for (const [name, text] of Object.entries(f)) await writeFile(join(dir, `${name}.csv`), text);
    }, 60_000);

    afterAll(async () => {
      if (process.env.RASID_SCENARIO_DEBUG) {
        await writeFile(process.env.RASID_SCENARIO_DEBUG, `${fleetLog}\n----\n${logs.join('')}`);
      }
      if (fleet && fleet.exitCode === null) {
        fleet.kill('SIGTERM');
        await new Promise((r) => fleet?.once('exit', r));
      }
      await server?.close();
      if (database) {
        const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        await c.end();
      }
      await rm(dir, { recursive: true, force: true });
    }, 60_000);

    it('rasid init makes the utility and its admin on the empty store', async () => {
      const r = await runCli(
        [
          'init',
          '--utility',
          CODE,
          '--name',
          'Batinah Electricity',
          '--currency',
          'OMR',
          '--timezone',
          'Asia/Muscat',
        ].concat(['--admin', 'admin']),
        { env: { ...env, RASID_ADMIN_PASSWORD: ADMIN_PASSWORD }, timeoutMs: 120_000 },
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }, 150_000);

    it('imports 1,000 customers, accounts and meters from CSV files; the same import again adds nothing', async () => {
      for (const kind of ['customers', 'accounts', 'meters']) {
        const r = await runCli(['import', kind, join(dir, `${kind}.csv`), '--utility', CODE, '--json'], {
          env,
          timeoutMs: 180_000,
        });
        expect(r.code, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toMatchObject({
          kind,
          rows: N,
          added: N,
          skipped: [],
          errors: [],
          written: true,
        });
      }
      for (const kind of ['customers', 'accounts', 'meters']) {
        const r = await runCli(['import', kind, join(dir, `${kind}.csv`), '--utility', CODE, '--json'], {
          env,
          timeoutMs: 180_000,
        });
        expect(r.code, r.stderr).toBe(0);
        const report = JSON.parse(r.stdout);
        expect(report).toMatchObject({ rows: N, added: 0, errors: [], written: false });
        expect(report.skipped).toHaveLength(N);
      }
    }, 600_000);

    it('issues MQTT credentials for the live meters into a file', async () => {
      const serials = Array.from({ length: LIVE_METERS }, (_, i) => serial(i + 1)).join(',');
      const r = await runCli(
        ['credentials', '--utility', CODE, '--serials', serials, '--out', join(dir, 'fleet.json')],
        { env, timeoutMs: 120_000 },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`${LIVE_METERS} meters of ${CODE} issued MQTT credentials`);
    }, 150_000);

    it('Rasid starts on the store; the admin sets it up over HTTP', async () => {
      const sink = new Writable({
        write(chunk, _enc, done) {
          logs.push(String(chunk));
          done();
        },
      });
      server = await startServer(
        loadConfig({
          ...env,
          PORT: '0',
          MQTT_PORT: '0',
          LOG_LEVEL: 'info',
          BALANCE_INTERVAL_SECONDS: '1',
          DISPATCH_INTERVAL_SECONDS: '1',
          OUTBOX_INTERVAL_SECONDS: '1',
        }),
        { logDestination: sink },
      );
      const signIn = await call(null, 'POST', '/api/v1/sessions', {
        utility: CODE,
        username: 'admin',
        password: ADMIN_PASSWORD,
      });
      expect(signIn.status).toBe(201);
      admin = signIn.json.token;
      const settings = await call(admin, 'PATCH', '/api/v1/utility/settings', {
        weekend: [],
        friendlyHours: null,
        lowCreditMinor: 1500,
        lowCreditDays: 0,
        emergencyCreditMinor: 0,
      });
      expect(settings.status).toBe(200);
      const tariff = await call(admin, 'POST', '/api/v1/tariffs', {
        code: 'RES',
        name: 'Residential',
        kind: 'electricity',
        effectiveFrom: '2020-01-01T00:00:00Z',
        pricePerUnits: 1000,
        blocks: [{ upToUnits: null, priceMinorPerUnit: 200 }],
      });
      expect(tariff.status).toBe(201);
      const user = await call(admin, 'POST', '/api/v1/users', {
        username: 'tech1',
        role: 'technician',
        password: TECH_PASSWORD,
      });
      expect(user.status).toBe(201);
      tech = (
        await call(null, 'POST', '/api/v1/sessions', {
          utility: CODE,
          username: 'tech1',
          password: TECH_PASSWORD,
        })
      ).json.token;
      const vendor = await call(admin, 'POST', '/api/v1/vendors', { name: 'Sohar corner shop' });
      expect(vendor.status).toBe(201);
      const float = await call(
        admin,
        'POST',
        `/api/v1/vendors/${vendor.json.id}/float-topups`,
        { amountMinor: 100_000 },
        { 'idempotency-key': 'float-0001' },
      );
      expect(float.status).toBe(201);
      const kiosk = await call(admin, 'POST', `/api/v1/vendors/${vendor.json.id}/kiosks`, { name: 'Till 1' });
      expect(kiosk.status).toBe(201);
      kioskKey = kiosk.json.apiKey;
      for (let i = 1; i <= LIVE_METERS; i++) {
        const m = (await call(admin, 'GET', `/api/v1/meters?serial=${serial(i)}`)).json.meters;
        expect(m).toHaveLength(1);
        expect(m[0].status).toBe('registered');
        meterIds.push(m[0].id);
      }
      // The whole import is there, and nothing of it twice.
      const exported = await call(admin, 'GET', '/api/v1/exports/meters');
      expect(String(exported.json).trim().split('\n')).toHaveLength(N + 1);
    }, 180_000);

    it('the first sale at the kiosk; the simulated meters connect and report over MQTT', async () => {
      for (let i = 1; i <= LIVE_METERS; i++) {
        const sale = await sell(serial(i), 2000, `first-sale-${i}`);
        expect(sale.status, JSON.stringify(sale.json)).toBe(201);
        expect(sale.json.token).toBeNull();
        expect(await balance(i)).toBe(2000n);
      }
      const brokerUrl = server?.metersOnline.brokerUrl ?? '';
      const child = spawn(
        RASID_BIN,
        [
          'sim',
          'fleet',
          '--credentials',
          join(dir, 'fleet.json'),
          '--broker',
          brokerUrl,
          // Half an hour a second, from five days ago: the readings stay in the past (the engine charges
          // nothing ahead of its clock) for the few minutes of the test.
          '--speed',
          '1800',
          '--interval',
          '900',
          '--start',
          new Date(Date.now() - 5 * 86_400_000).toISOString(),
        ],
        { env: { ...process.env, LOG_LEVEL: 'silent' }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      fleet = child;
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        fleetLog += d;
      });
      for (const id of meterIds) {
        await waitUntil(`meter ${id} online with readings`, async () => {
          const s = (await call(admin, 'GET', `/api/v1/meters/${id}/status`)).json;
          const r = (await call(admin, 'GET', `/api/v1/meters/${id}/readings?limit=2`)).json;
          return s.online === true && (r.readings?.length ?? 0) >= 2;
        });
      }
      // Registered, not yet commissioned: nothing is charged.
      expect(await balance(1)).toBe(2000n);
    }, 180_000);

    it('commissioning activates them; the engine charges, alerts once, disconnects at zero; a top-up reconnects', async () => {
      for (const id of meterIds) {
        for (const to of ['installed', 'active']) {
          const moved = await call(tech, 'POST', `/api/v1/meters/${id}/state`, {
            to,
            reason: 'commissioned on site',
          });
          expect(moved.status, JSON.stringify(moved.json)).toBe(200);
          expect(moved.json.to).toBe(to);
        }
      }
      for (const [k, id] of meterIds.entries()) {
        const i = k + 1;
        await waitUntil(`meter ${i} charged`, async () => (await balance(i)) < 2000n);
        const disconnect = await waitUntil(`meter ${i} disconnected`, async () =>
          (await commands(id)).find((c) => c.kind === 'disconnect' && c.state === 'acknowledged'),
        );
        expect(disconnect.result).toMatchObject({ status: 'ok', result: { relay: 'disconnected' } });
        expect(await balance(i)).toBeLessThanOrEqual(0n);
        const alerts = await audit('balance.alert_low_credit', id);
        expect(alerts).toHaveLength(1);
        expect(alerts[0].details.reason).toBe('credit_below_threshold');
        expect((await audit('balance.disconnect', id)).length).toBe(1);
      }
      for (const [k, id] of meterIds.entries()) {
        const i = k + 1;
        const topUp = await sell(serial(i), 2000, `top-up-${i}`);
        expect(topUp.status).toBe(201);
        const reconnect = await waitUntil(`meter ${i} reconnected`, async () =>
          (await commands(id)).find((c) => c.kind === 'reconnect' && c.state === 'acknowledged'),
        );
        expect(reconnect.result).toMatchObject({ status: 'ok', result: { relay: 'connected' } });
        expect(await audit('balance.alert_low_credit', id)).toHaveLength(1);
      }
      // Each customer was told, in their language: credit low once, supply disconnected, supply reconnected.
      // The log SMS provider masks digits in the log; outside production it writes each whole SMS to the
      // data folder's inbox, the developer's phone.
      const sms = (to: string) =>
        readInbox(join(dir, 'sms-inbox.jsonl'))
          .filter((m) => m.to === to)
          .map((m) => m.text);
      await waitUntil(
        'the messages to the customers',
        async () => sms('+96890000003').length >= 3 && sms('+96890000001').length >= 3,
      );
      expect(sms('+96890000003')).toEqual([
        expect.stringContaining('the credit on account BA-000003 is low'),
        expect.stringContaining('has run out and the supply to meter BTN-000003 has been disconnected'),
        expect.stringContaining('the supply to meter BTN-000003 has been reconnected'),
      ]);
      const arabic = sms('+96890000001');
      expect(arabic).toHaveLength(3);
      expect(arabic[0]).toContain('منخفض');
      expect(fleetLog).toMatch(new RegExp(`meters ${LIVE_METERS} \\| connected ${LIVE_METERS}`));
    }, 300_000);
  });
}
