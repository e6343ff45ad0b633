/**
 * `rasid sim commission` against a started Rasid (embedded store, broker, ingest and command dispatcher):
 * an operator registers and commissions a meter through a key change; a technician commissions one
 * without a key change through the real `bin/rasid`; a meter whose record says another key revision
 * fails the key check, and the report says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commission, formatReport, type StepResult } from '../../firmware-sim/commission/index.ts';
import { DEMO_VENDING_KEY } from '../../firmware-sim/model/index.ts';
import { hashSecret } from '../../src/security/secrets.ts';
import type { RunningServer } from '../../src/server.ts';
import type { UtilityId } from '../../src/store/schema.ts';
import { runCli } from '../support/cli.ts';
import { seedBasics } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const UTILITY = 'cx';
let test: TestServer;
let server: RunningServer;
let utilityId: UtilityId;

beforeAll(async () => {
  test = await startTestServer('commission');
  server = test.server;
  const db = server.core.store.db;
  utilityId = (await seedBasics(db, UTILITY)).utilityId;
  for (const krn of [1, 2]) {
    await server.core.keys.put({ utilityId, sgc: 123456, krn, key: Buffer.from(DEMO_VENDING_KEY, 'hex') });
  }
  const hash = await hashSecret('correct horse');
  for (const role of ['operator', 'technician'] as const) {
    await db
      .insertInto('users')
      .values({ utility_id: utilityId, username: `${role}-1`, password_hash: hash, role })
      .execute();
  }
}, 120_000);

afterAll(async () => {
  await test?.close();
});

const base = {
  utility: UTILITY,
  password: 'correct horse',
  kind: 'electricity',
  mode: 'token',
  sts: { iin: '600727', sgc: 123456, ti: 1, krn: 1, kt: 2, baseDate: '2014-01-01' },
  vendingKeys: { 1: DEMO_VENDING_KEY, 2: DEMO_VENDING_KEY },
  initialCredit: 10_000,
  timeoutMs: 20_000,
} as const;

const statuses = (results: readonly StepResult[]) =>
  Object.fromEntries(results.map((r) => [r.step, r.status]));

describe('rasid sim commission', () => {
  it('an operator registers the meter, rotates its key and commissions it; without an account it ends installed, and the report says why it is not active', async () => {
    const results = await commission({
      ...base,
      rasidUrl: server.url,
      username: 'operator-1',
      serial: 'CX-1001',
      sts: { ...base.sts, drn: '00000001001' },
      newKrn: 2,
    });
    expect(statuses(results)).toEqual({
      'sign in': 'ok',
      'meter record': 'ok',
      'MQTT credentials': 'ok',
      'meter online': 'ok',
      'key change': 'ok',
      'key check': 'ok',
      'test token': 'ok',
      'first reading': 'ok',
      'relay test': 'ok',
      // Registered here without an account: installed, and the report says why it is not active.
      activate: 'failed',
    });
    expect(results.find((r) => r.step === 'activate')?.detail).toContain(
      'installed, not activated: POST /api/v1/meters/',
    );
    expect(results.find((r) => r.step === 'activate')?.detail).toContain('the meter has no account');
    expect(results.find((r) => r.step === 'meter record')?.detail).toMatch(/^registered CX-1001/);
    expect(results.find((r) => r.step === 'key check')?.detail).toContain('key revision 2');
    const meter = await server.core.store.db
      .selectFrom('meters')
      .select(['sts_krn', 'mqtt_username', 'status'])
      .where('serial', '=', 'CX-1001')
      .executeTakeFirstOrThrow();
    expect(meter.sts_krn).toBe(2);
    expect(meter.mqtt_username).not.toBeNull();
    expect(meter.status).toBe('installed');
    expect(formatReport('CX-1001', results, new Date())).toMatch(
      /Result: commissioned, NOT active: installed, not activated: .*the meter has no account/,
    );
  });

  it('bin/rasid sim commission as a technician, the meter already recorded with an account: activated, report on stdout, exit 0', async () => {
    const db = server.core.store.db;
    const account = await db
      .selectFrom('accounts')
      .select('id')
      .where('utility_id', '=', utilityId)
      .executeTakeFirstOrThrow();
    await db.updateTable('meters').set({ account_id: account.id }).where('serial', '=', 'CX-1001').execute();
    const res = await runCli(
      [
        'sim',
        'commission',
        '--rasid-url',
        server.url,
        '--utility',
        UTILITY,
        '--username',
        'technician-1',
        '--serial',
        'CX-1001',
        '--drn',
        '00000001001',
        '--krn',
        '2',
        '--timeout',
        '20',
      ],
      { env: { RASID_PASSWORD: 'correct horse' }, timeoutMs: 120_000 },
    );
    expect(res.stdout).toMatch(/^Commissioning report: meter CX-1001/);
    expect(res.stdout).toMatch(/meter record +ok +found CX-1001/);
    expect(res.stdout).toMatch(/key change +skipped/);
    expect(res.stdout).toMatch(/activate +ok +installed and activated/);
    expect(res.stdout).toContain('Result: commissioned and active');
    expect(res.code).toBe(0);
    const after = await db
      .selectFrom('meters')
      .select('status')
      .where('serial', '=', 'CX-1001')
      .executeTakeFirstOrThrow();
    expect(after.status).toBe('active');
  }, 120_000);

  it('a meter whose keys do not match its record fails the key check, and the report says not commissioned', async () => {
    const results = await commission({
      ...base,
      rasidUrl: server.url,
      username: 'operator-1',
      serial: 'CX-1002',
      sts: { ...base.sts, drn: '00000001002' },
      vendingKeys: { 1: '0123456789abcdef' },
    });
    expect(statuses(results)).toMatchObject({
      'meter online': 'ok',
      'key check': 'failed',
      'relay test': 'ok',
    });
    expect(results.find((r) => r.step === 'key check')?.detail).toMatch(/refused/);
    expect(formatReport('CX-1002', results, new Date())).toMatch(
      /Result: NOT commissioned \(1 step\(s\) failed\)/,
    );
  });

  it.each([
    [['--rasid-url', 'ftp://x'], '--rasid-url'],
    [['--rasid-url', 'http://127.0.0.1:1', '--drn', '12'], '--drn'],
    [['--rasid-url', 'http://127.0.0.1:1', '--new-krn', '1'], '--new-krn'],
  ])('refuses %j with one line and exit code 2', async (extra, flag) => {
    const res = await runCli(['sim', 'commission', '--username', 'u', '--serial', 'SN-1', ...extra], {
      env: { RASID_PASSWORD: 'x' },
    });
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain(flag);
  });
});
