/**
 * The meter lifecycle and meter replacement from an empty install (`rasid init`, then HTTP and MQTT only):
 * a meter is charged by the balance engine only while it is active.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimMeter, stsParametersFor, systemClock } from '../../firmware-sim/model/index.ts';
import type { Json } from '../online/world.ts';
import {
  type FreshInstall,
  freshInstall,
  publishReadings,
  RESIDENTIAL_TARIFF,
  stsUnderVendingKey,
  VENDING_KEY,
} from '../support/fresh.ts';

const U = 'lifecycle';

describe('meter lifecycle from an empty install', () => {
  let f: FreshInstall;
  let admin: string;
  const call = (method: string, path: string, body?: unknown) => f.call(admin, method, path, body);
  let accountId: string;

  beforeAll(async () => {
    f = await freshInstall('lifecycle', [{ code: U }]);
    admin = await f.signIn(U, 'admin');
    const tariff = await call('POST', '/api/v1/tariffs', RESIDENTIAL_TARIFF);
    expect(tariff.status).toBe(201);
    const customer = await call('POST', '/api/v1/customers', { name: 'سالم البلوشي', phone: '+96891000001' });
    const premise = await call('POST', '/api/v1/premises', { address: 'Way 1234, Seeb', area: 'Seeb' });
    const account = await call('POST', '/api/v1/accounts', {
      customerId: customer.json.id,
      premiseId: premise.json.id,
      tariffCode: 'RES',
    });
    expect(account.status).toBe(201);
    accountId = account.json.id;
  }, 180_000);

  afterAll(async () => {
    await f?.close();
  });

  const move = (meterId: string, to: string, reason = `to ${to} in the test`) =>
    call('POST', `/api/v1/meters/${meterId}/state`, { to, reason });

  /** The meter's consumption charges in the account's ledger, oldest first, as positive minor units. */
  const charges = async (meterId: string) =>
    (
      await f.server.core.store.db
        .selectFrom('account_ledger')
        .select('amount_minor')
        .where('kind', '=', 'consumption')
        .where('ref', 'like', `consumption:${meterId}:%`)
        .orderBy('id')
        .execute()
    ).map((r) => -BigInt(r.amount_minor));

  const consumption = async (meterId: string) =>
    (
      await f.server.core.store.db
        .selectFrom('audit_log')
        .select('id')
        .where('subject', '=', `meter:${meterId}`)
        .where('action', '=', 'balance.consumption')
        .execute()
    ).length;

  it('moves registered → installed → active → suspended with reasons, refuses skipped or blocked moves, and charges only while active', async () => {
    const reg = await call('POST', '/api/v1/meters', {
      serial: 'CEN-0001',
      kind: 'electricity',
      protocol: 'mqtt',
      mode: 'central',
    });
    expect(reg.status).toBe(201);
    expect(reg.json.status).toBe('registered');
    const id = reg.json.id as string;

    const skip = await move(id, 'active');
    expect(skip.status).toBe(409);
    expect(skip.json.code).toBe('meter_state_invalid');
    expect(skip.json.detail).toContain('can move to installed, decommissioned, not active');

    const installed = await move(id, 'installed', 'fitted at Way 1234');
    expect(installed.status).toBe(200);
    expect(installed.json).toMatchObject({
      from: 'registered',
      to: 'installed',
      next: ['active', 'registered', 'decommissioned'],
    });

    const noAccount = await move(id, 'active');
    expect(noAccount.status).toBe(409);
    expect(noAccount.json.detail).toContain('the meter has no account');

    expect((await call('PUT', `/api/v1/meters/${id}/account`, { accountId })).status).toBe(200);
    const active = await move(id, 'active', 'commissioned');
    expect(active.status).toBe(200);

    const creds = await call('POST', `/api/v1/meters/${id}/mqtt-credentials`);
    expect(creds.status).toBe(201);
    const t0 = Date.now() - 3 * 3_600_000;
    await publishReadings(U, 'CEN-0001', creds.json, [
      { seq: 1, ts: new Date(t0).toISOString(), energyWh: 1_000 },
      { seq: 2, ts: new Date(t0 + 3_600_000).toISOString(), energyWh: 3_000 },
    ]);
    await f.readingsStored(id, 2);
    // The running engine is woken by the stored readings and may charge before this run does: whichever
    // evaluates first charges, and once.
    await f.server.metersOnline.runBalance();
    await expect.poll(() => charges(id)).toEqual([40n]); // 2,000 Wh at 20 minor units per kWh
    expect(await consumption(id)).toBe(1);

    const suspended = await move(id, 'suspended', 'customer asked for a pause (travel)');
    expect(suspended.status).toBe(200);
    await publishReadings(U, 'CEN-0001', creds.json, [
      { seq: 3, ts: new Date(t0 + 2 * 3_600_000).toISOString(), energyWh: 9_000 },
    ]);
    await f.readingsStored(id, 3);
    const second = await f.server.metersOnline.runBalance();
    expect(second?.meters.map((m) => m.meterId)).not.toContain(id);
    expect(await charges(id)).toEqual([40n]);
    expect(await consumption(id)).toBe(1);

    // Back to active: the reading taken while suspended is charged now, once.
    expect((await move(id, 'active', 'customer back')).status).toBe(200);
    await f.server.metersOnline.runBalance();
    await expect.poll(() => charges(id)).toEqual([40n, 120n]);
    expect(await consumption(id)).toBe(2);

    const audit = await call('GET', `/api/v1/audit?subject=meter:${id}&action=meter.state`);
    expect(
      audit.json.entries.map((e: Json) => [e.details.from, e.details.to, e.details.reason]).reverse(),
    ).toEqual([
      ['registered', 'installed', 'fitted at Way 1234'],
      ['installed', 'active', 'commissioned'],
      ['active', 'suspended', 'customer asked for a pause (travel)'],
      ['suspended', 'active', 'customer back'],
    ]);
    const page = await call('GET', `/api/v1/meters/${id}`);
    expect(page.json).toMatchObject({ status: 'active', statusReason: 'customer back' });
    const fleet = await call('GET', '/api/v1/fleet/meters?status=active');
    expect(fleet.status).toBe(200);
  }, 120_000);

  it('replaces a token meter: final reading, the new meter takes the account and the old credit as a credit token; both audited', async () => {
    expect((await call('POST', '/api/v1/vending-keys', { ...VENDING_KEY, label: 'test key' })).status).toBe(
      201,
    );
    const old = await call('POST', '/api/v1/meters', {
      serial: 'TOK-OLD',
      kind: 'electricity',
      protocol: 'mqtt',
      mode: 'token',
      sts: stsUnderVendingKey('47000000001'),
      accountId,
    });
    const next = await call('POST', '/api/v1/meters', {
      serial: 'TOK-NEW',
      kind: 'electricity',
      protocol: 'mqtt',
      mode: 'token',
      sts: stsUnderVendingKey('47000000002'),
    });
    expect([old.status, next.status]).toEqual([201, 201]);
    await move(old.json.id, 'installed');
    expect((await move(old.json.id, 'active')).status).toBe(200);

    const wrong = await call('POST', `/api/v1/meters/${next.json.id}/replacement`, {
      newMeterId: old.json.id,
      finalRegister: 1,
      reason: 'swap',
    });
    expect(wrong.status).toBe(409);

    const r = await call('POST', `/api/v1/meters/${old.json.id}/replacement`, {
      newMeterId: next.json.id,
      finalRegister: '123456',
      creditUnits: 15_050,
      reason: 'display failed',
    });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ accountId, mode: 'token', creditToken: { units: '15000' } });
    // The token is one the new meter accepts, for the 15.0 kWh the old one held (STS carries 0.1 kWh steps).
    const meter = new SimMeter(
      {
        serial: 'TOK-NEW',
        kind: 'electricity',
        mode: 'token',
        seed: 1,
        initialCredit: 0,
        sts: stsParametersFor({
          drn: '47000000002',
          iin: '600727',
          supplyGroupCode: '123456',
          tariffIndex: 1,
          keyRevision: 1,
          keyType: 2,
          baseDate: 2014,
          vendingKey: 'abababababababab',
        }).params,
      },
      { clock: systemClock },
    );
    expect(meter.enterToken(r.json.creditToken.token, 'keypad').accepted).toBe(true);
    expect(meter.credit).toBe(15_000);

    const [o, n] = await Promise.all([
      call('GET', `/api/v1/meters/${old.json.id}`),
      call('GET', `/api/v1/meters/${next.json.id}`),
    ]);
    expect(o.json).toMatchObject({ status: 'decommissioned', accountId: null, replacedBy: next.json.id });
    expect(n.json).toMatchObject({ status: 'active', accountId });
    const final = await f.server.core.store.db
      .selectFrom('readings')
      .select(['energy_wh', 'credit_wh'])
      .where('meter_id', '=', old.json.id)
      .execute();
    expect(final).toEqual([{ energy_wh: 123_456n, credit_wh: 15_050n }]);
    const tokens = await call('GET', `/api/v1/meters/${next.json.id}/tokens`);
    expect(tokens.status).toBe(200);
    for (const id of [old.json.id, next.json.id]) {
      const a = await call('GET', `/api/v1/audit?subject=meter:${id}&action=meter.replace`);
      expect(a.json.entries).toHaveLength(1);
      expect(a.json.entries[0].details).toMatchObject({
        oldMeter: 'TOK-OLD',
        newMeter: 'TOK-NEW',
        creditCarried: '15000',
        finalRegister: '123456',
      });
    }
    // A decommissioned meter moves nowhere.
    const again = await move(old.json.id, 'active');
    expect(again.json.code).toBe('meter_state_invalid');
  }, 120_000);
});
