/**
 * Utility settings from an empty install (`rasid init`, then HTTP and MQTT): every change audited; the
 * running balance engine reads emergency credit per pass, vending the tax rate and minimum purchase, and
 * receipts the header and footer — each change taking effect without a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Json } from '../online/world.ts';
import {
  type FreshInstall,
  freshInstall,
  publishReadings,
  RESIDENTIAL_TARIFF,
  stsUnderVendingKey,
  VENDING_KEY,
} from '../support/fresh.ts';

const U = 'settings';

describe('utility settings', () => {
  let f: FreshInstall;
  let admin: string;
  const call = (method: string, path: string, body?: unknown) => f.call(admin, method, path, body);
  let customerId: string;

  beforeAll(async () => {
    f = await freshInstall('settings', [{ code: U, extra: ['--tax-rate', '5'] }]);
    admin = await f.signIn(U, 'admin');
    expect((await call('POST', '/api/v1/tariffs', RESIDENTIAL_TARIFF)).status).toBe(201);
    customerId = (await call('POST', '/api/v1/customers', { name: 'Aisha', phone: '+96891000002' })).json.id;
  }, 180_000);

  afterAll(async () => {
    await f?.close();
  });

  async function account(): Promise<string> {
    const premise = await call('POST', '/api/v1/premises', { address: `Way ${Math.random()}` });
    const a = await call('POST', '/api/v1/accounts', {
      customerId,
      premiseId: premise.json.id,
      tariffCode: 'RES',
    });
    expect(a.status).toBe(201);
    return a.json.id;
  }

  it('reads and changes settings; each change is audited with before and after; bad input is a 400 problem', async () => {
    const before = await call('GET', '/api/v1/utility/settings');
    expect(before.json).toMatchObject({
      code: U,
      currency: 'OMR',
      exponent: 3,
      taxRateBp: 500,
      weekend: ['fri', 'sat'],
      emergencyCreditMinor: '0',
      minPurchaseMinor: '0',
    });
    const changed = await call('PATCH', '/api/v1/utility/settings', {
      friendlyHours: { from: '22:00', to: '06:00' },
      lowCreditMinor: '1500',
      smsSender: 'MuscatPower',
      receipt: {
        header: { ar: 'شركة كهرباء مسقط', en: 'Muscat Power Company' },
        footer: { en: 'Thank you' },
      },
    });
    expect(changed.status).toBe(200);
    expect(changed.json).toMatchObject({
      friendlyHours: { from: '22:00', to: '06:00' },
      lowCreditMinor: '1500',
      smsSender: 'MuscatPower',
      receipt: {
        header: { ar: 'شركة كهرباء مسقط', en: 'Muscat Power Company' },
        footer: { en: 'Thank you', ar: null },
      },
    });
    const audit = await call('GET', '/api/v1/audit?action=utility.settings');
    expect(audit.json.entries[0].details.changes).toEqual({
      friendlyHours: { from: null, to: { from: '22:00', to: '06:00' } },
      lowCreditMinor: { from: null, to: '1500' },
      smsSender: { from: null, to: 'MuscatPower' },
      receipt: {
        from: { header: { en: null, ar: null }, footer: { en: null, ar: null } },
        to: {
          header: { en: 'Muscat Power Company', ar: 'شركة كهرباء مسقط' },
          footer: { en: 'Thank you', ar: null },
        },
      },
    });
    const bad = await call('PATCH', '/api/v1/utility/settings', {
      smsSender: 'a sender name that is far too long',
    });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('validation_failed');
    const unknown = await call('PATCH', '/api/v1/utility/settings', { currency: 'USD' });
    expect(unknown.status).toBe(400);
    const operator = await call('POST', '/api/v1/users', {
      username: 'op',
      role: 'operator',
      password: 'operator-password',
    });
    expect(operator.status).toBe(201);
    const op = await f.signIn(U, 'op', 'operator-password');
    expect((await f.call(op, 'GET', '/api/v1/utility/settings')).status).toBe(200);
    expect((await f.call(op, 'PATCH', '/api/v1/utility/settings', { taxRateBp: 0 })).status).toBe(403);
  });

  it('keeps no-disconnect periods as whole local days with the Hijri date beside the Gregorian one', async () => {
    const made = await call('POST', '/api/v1/utility/no-disconnect-periods', {
      kind: 'public_holiday',
      from: '2026-03-20',
      to: '2026-03-22',
      reason: 'Eid al-Fitr',
    });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({
      from: '2026-03-20',
      to: '2026-03-22',
      startsAt: '2026-03-19T20:00:00.000Z',
      endsAt: '2026-03-22T20:00:00.000Z',
      fromHijri: { en: 'Shawwal 1, 1447 AH' },
    });
    expect(made.json.fromHijri.ar).toContain('شوال');
    const list = await call('GET', '/api/v1/utility/no-disconnect-periods');
    expect(list.json.periods.map((p: Json) => [p.from, p.to, p.reason])).toEqual([
      ['2026-03-20', '2026-03-22', 'Eid al-Fitr'],
    ]);
    const backwards = await call('POST', '/api/v1/utility/no-disconnect-periods', {
      kind: 'declared',
      from: '2026-07-02',
      to: '2026-07-01',
      reason: 'heat alert',
    });
    expect(backwards.status).toBe(400);
    const gone = await f.call(admin, 'DELETE', `/api/v1/utility/no-disconnect-periods/${made.json.id}`, {
      reason: 'entered twice',
    });
    expect(gone.status).toBe(204);
    const audit = await call('GET', '/api/v1/audit?action=utility.no_disconnect_period.*');
    expect(audit.json.entries.map((e: Json) => e.action)).toEqual([
      'utility.no_disconnect_period.remove',
      'utility.no_disconnect_period.add',
    ]);
  });

  it('the running balance engine reads emergency credit at each pass: a change applies without a restart', async () => {
    // No friendly windows today, whatever day the test runs.
    expect(
      (
        await call('PATCH', '/api/v1/utility/settings', {
          weekend: [],
          friendlyHours: null,
          emergencyCreditMinor: 1000,
        })
      ).status,
    ).toBe(200);
    const acc = await account();
    const meter = await call('POST', '/api/v1/meters', {
      serial: 'EM-0001',
      kind: 'electricity',
      protocol: 'mqtt',
      mode: 'central',
      accountId: acc,
    });
    await call('POST', `/api/v1/meters/${meter.json.id}/state`, { to: 'installed', reason: 'fitted' });
    expect(
      (await call('POST', `/api/v1/meters/${meter.json.id}/state`, { to: 'active', reason: 'live' })).status,
    ).toBe(200);
    const creds = (await call('POST', `/api/v1/meters/${meter.json.id}/mqtt-credentials`)).json;
    const t0 = Date.now() - 2 * 3_600_000;
    await publishReadings(U, 'EM-0001', creds, [
      { seq: 1, ts: new Date(t0 + 60_000).toISOString(), energyWh: 0 },
      { seq: 2, ts: new Date(t0 + 2 * 60_000).toISOString(), energyWh: 2_000 },
    ]);
    await f.readingsStored(meter.json.id, 2);

    const first = await f.server.metersOnline.runBalance({ meterIds: [meter.json.id] });
    const d1 = first?.meters[0]?.decisions.map((d) => `${d.kind}:${d.reason}`);
    expect(first?.meters[0]?.chargedMinor).toBe(40n);
    expect(d1).toContain('none:emergency_credit_started');
    expect(d1?.some((d) => d.startsWith('disconnect'))).toBe(false);

    // Emergency credit withdrawn: the next pass of the same running engine disconnects.
    await call('PATCH', '/api/v1/utility/settings', { emergencyCreditMinor: 0 });
    const second = await f.server.metersOnline.runBalance({ meterIds: [meter.json.id] });
    expect(second?.meters[0]?.decisions.map((d) => d.kind)).toContain('disconnect');
  });

  it('vending takes the utility tax rate and minimum purchase, and receipts print the header and footer in both languages', async () => {
    await call('POST', '/api/v1/vending-keys', VENDING_KEY);
    const acc = await account();
    const m = await call('POST', '/api/v1/meters', {
      serial: 'VT-0001',
      kind: 'electricity',
      protocol: 'mqtt',
      mode: 'token',
      accountId: acc,
      sts: stsUnderVendingKey('47000000011'),
    });
    expect(m.status).toBe(201);
    const quote = (amountMinor: number) =>
      f.call(null, 'POST', `/api/v1/utilities/${U}/quotes`, { meter: 'VT-0001', amountMinor });
    expect((await quote(10_500)).json.tax).toBe('0.500'); // the utility's 5 %, tax-inclusive
    await call('PATCH', '/api/v1/utility/settings', { taxRateBp: 1000, minPurchaseMinor: 2000 });
    expect((await quote(11_000)).json.tax).toBe('1.000');
    const small = await quote(1_500);
    expect(small.status).toBe(422);
    expect(small.json.code).toBe('amount_too_small');

    const vendor = await call('POST', '/api/v1/vendors', { name: 'Corner shop', creditLimitMinor: 100_000 });
    const kiosk = await call('POST', `/api/v1/vendors/${vendor.json.id}/kiosks`, { name: 'Till 1' });
    const sale = await fetch(`${f.url}/api/v1/vends`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': kiosk.json.apiKey,
        'idempotency-key': 'settings-sale-1',
      },
      body: JSON.stringify({ meter: 'VT-0001', amountMinor: 5_000 }),
    });
    expect(sale.status).toBe(201);
    const vendId = ((await sale.json()) as Json).vendId;
    const ar = await fetch(`${f.url}/api/v1/vends/${vendId}/receipt?format=80mm&lang=ar`, {
      headers: { 'x-api-key': kiosk.json.apiKey },
    });
    const arHtml = await ar.text();
    expect(arHtml).toContain('شركة كهرباء مسقط');
    const en = await (
      await fetch(`${f.url}/api/v1/vends/${vendId}/receipt?format=a4&lang=en`, {
        headers: { 'x-api-key': kiosk.json.apiKey },
      })
    ).text();
    expect(en).toContain('Muscat Power Company');
    expect(en).toContain('Thank you');
  });
});
