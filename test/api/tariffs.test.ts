/**
 * Tariffs from an empty install (`rasid init`, then HTTP and MQTT only; docs/tariffs.md): what cannot be
 * priced or sold is refused as problem+json, a time-of-use tariff is stored as seasons of periods, its quote
 * shows the periods, a token meter is not sold on it, and a central meter's readings are charged by period.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Json } from '../online/world.ts';
import {
  type FreshInstall,
  freshInstall,
  publishReadings,
  stsUnderVendingKey,
  VENDING_KEY,
} from '../support/fresh.ts';

const U = 'tariffs';

/** Muscat (UTC+4, no DST), one season all year: 10 baisa per kWh before noon, 40 after, every day. */
const HALF_DAYS = {
  code: 'TOU',
  name: 'Time of use',
  kind: 'electricity',
  effectiveFrom: '2020-01-01',
  tou: [
    {
      name: 'year',
      from: '01-01',
      to: '12-31',
      periods: [
        { name: 'morning', days: 'all', fromHour: 0, toHour: 12, priceMinorPerUnit: 10 },
        { name: 'afternoon', days: 'all', fromHour: 12, toHour: 24, priceMinorPerUnit: 40 },
      ],
    },
  ],
};

describe('tariffs from an empty install', () => {
  let f: FreshInstall;
  let admin: string;
  const call = (method: string, path: string, body?: unknown) => f.call(admin, method, path, body);

  beforeAll(async () => {
    f = await freshInstall('tariffs', [{ code: U }]);
    admin = await f.signIn(U, 'admin');
  }, 180_000);

  afterAll(async () => {
    await f?.close();
  });

  it('refuses a block priced at 0: it could be stored but never sold', async () => {
    const r = await call('POST', '/api/v1/tariffs', {
      code: 'FREE',
      name: 'Free',
      kind: 'electricity',
      effectiveFrom: '2020-01-01',
      blocks: [{ upToUnits: null, priceMinorPerUnit: 0 }],
    });
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('validation_failed');
    expect(r.json.detail).toContain('blocks.0.priceMinorPerUnit');
    expect(r.json.detail).toContain('a price of 0 cannot be sold');
    const list = await call('GET', '/api/v1/tariffs?code=FREE');
    expect(list.json.tariffs).toEqual([]);
  });

  it.each([
    [
      'overlapping periods',
      [
        { name: 'a', days: 'all', fromHour: 0, toHour: 13, priceMinorPerUnit: 10 },
        { name: 'b', days: 'all', fromHour: 12, toHour: 24, priceMinorPerUnit: 40 },
      ],
      'periods "a" and "b" overlap at 12:00',
    ],
    [
      'an hour without a price',
      [
        { name: 'a', days: 'all', fromHour: 0, toHour: 12, priceMinorPerUnit: 10 },
        { name: 'b', days: 'weekday', fromHour: 12, toHour: 24, priceMinorPerUnit: 40 },
      ],
      'season "year", weekends: no period covers 12:00-13:00',
    ],
  ])('refuses a time-of-use tariff with %s as tariff_invalid', async (_name, periods, reason) => {
    const r = await call('POST', '/api/v1/tariffs', {
      ...HALF_DAYS,
      code: 'BAD',
      tou: [{ name: 'year', from: '01-01', to: '12-31', periods }],
    });
    expect(r.status).toBe(422);
    expect(r.json.code).toBe('tariff_invalid');
    expect(r.json.issues.map((i: Json) => i.message).join('; ')).toContain(reason);
  });

  it('refuses seasons that leave days out or overlap', async () => {
    const season = (name: string, from: string, to: string) => ({
      name,
      from,
      to,
      periods: [{ name: 'flat', days: 'all', fromHour: 0, toHour: 24, priceMinorPerUnit: 10 }],
    });
    const gap = await call('POST', '/api/v1/tariffs', {
      ...HALF_DAYS,
      code: 'BAD',
      tou: [season('summer', '05-01', '09-30'), season('winter', '10-02', '04-30')],
    });
    expect(gap.status).toBe(422);
    expect(gap.json.detail).toContain('no season covers 10-01');
    const overlap = await call('POST', '/api/v1/tariffs', {
      ...HALF_DAYS,
      code: 'BAD',
      tou: [season('summer', '05-01', '10-01'), season('winter', '10-01', '04-30')],
    });
    expect(overlap.status).toBe(422);
    expect(overlap.json.detail).toContain('seasons "summer" and "winter" overlap on 10-01');
  });

  it('stores a time-of-use tariff, quotes a central meter with its periods and charges its readings by period; a token meter is not sold on it', async () => {
    const t = await call('POST', '/api/v1/tariffs', HALF_DAYS);
    expect(t.status).toBe(201);
    expect(t.json).toMatchObject({ scheme: 'tou', version: 1, tou: HALF_DAYS.tou });

    const customer = await call('POST', '/api/v1/customers', { name: 'سالم البلوشي', phone: '+96891000002' });
    const premise = await call('POST', '/api/v1/premises', { address: 'Way 1500, Bawshar', area: 'Bawshar' });
    const account = await call('POST', '/api/v1/accounts', {
      customerId: customer.json.id,
      premiseId: premise.json.id,
      tariffCode: 'TOU',
    });
    expect(account.status).toBe(201);
    const reg = await call('POST', '/api/v1/meters', {
      serial: 'TOU-0001',
      kind: 'electricity',
      protocol: 'mqtt',
      mode: 'central',
    });
    expect(reg.status).toBe(201);
    const id = reg.json.id as string;
    expect(
      (await call('POST', `/api/v1/meters/${id}/state`, { to: 'installed', reason: 'fitted' })).status,
    ).toBe(200);
    expect((await call('PUT', `/api/v1/meters/${id}/account`, { accountId: account.json.id })).status).toBe(
      200,
    );
    expect(
      (await call('POST', `/api/v1/meters/${id}/state`, { to: 'active', reason: 'commissioned' })).status,
    ).toBe(200);

    const quote = await call('POST', `/api/v1/utilities/${U}/quotes`, {
      meter: 'TOU-0001',
      amountMinor: 5000,
    });
    expect(quote.status).toBe(200);
    expect(
      quote.json.periods.map((p: Json) => [p.name, p.fromHour, p.toHour, p.priceMinor, p.price]),
    ).toEqual([
      ['morning', 0, 12, '10', '0.010'],
      ['afternoon', 12, 24, '40', '0.040'],
    ]);
    const muscatHour = (new Date().getUTCHours() + 4) % 24;
    expect(quote.json.periods.find((p: Json) => p.current).name).toBe(
      muscatHour < 12 ? 'morning' : 'afternoon',
    );

    // Yesterday 10:00 → 14:00 in Muscat (06:00Z → 10:00Z): 4000 Wh, 2000 before noon at 10, 2000 after at 40.
    const day = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const creds = await call('POST', `/api/v1/meters/${id}/mqtt-credentials`);
    await publishReadings(U, 'TOU-0001', creds.json, [
      { seq: 1, ts: `${day}T06:00:00.000Z`, energyWh: 10_000 },
      { seq: 2, ts: `${day}T10:00:00.000Z`, energyWh: 14_000 },
    ]);
    await f.readingsStored(id, 2);
    // The engine may have taken the readings in as they were committed; the sweep then finds them charged.
    await f.server.metersOnline.runBalance();
    const consumption = await f.server.core.store.db
      .selectFrom('account_ledger')
      .select('amount_minor')
      .where('account_id', '=', account.json.id)
      .where('kind', '=', 'consumption')
      .execute();
    expect(consumption.map((c) => BigInt(c.amount_minor))).toEqual([-100n]);
    const audit = await call('GET', `/api/v1/audit?subject=meter:${id}&action=balance.consumption`);
    const charged = audit.json.entries.filter((e: Json) => e.details.periods !== undefined);
    expect(charged).toHaveLength(1);
    expect(charged[0].details.amountMinor).toBe('100');
    expect(charged[0].details.periods).toEqual([
      { period: 'year/morning', units: '2000', amountMinor: '20' },
      { period: 'year/afternoon', units: '2000', amountMinor: '80' },
    ]);

    // A token meter on the same tariff: refused, not priced at the hour of purchase (docs/tariffs.md).
    expect((await call('POST', '/api/v1/vending-keys', { ...VENDING_KEY, label: 'test key' })).status).toBe(
      201,
    );
    const account2 = await call('POST', '/api/v1/accounts', {
      customerId: customer.json.id,
      premiseId: premise.json.id,
      tariffCode: 'TOU',
    });
    const token = await call('POST', '/api/v1/meters', {
      serial: 'TOU-T-0001',
      kind: 'electricity',
      protocol: 'mqtt',
      mode: 'token',
      sts: stsUnderVendingKey('47000000011'),
      accountId: account2.json.id,
    });
    expect(token.status).toBe(201);
    await call('POST', `/api/v1/meters/${token.json.id}/state`, { to: 'installed', reason: 'fitted' });
    const active = await call('POST', `/api/v1/meters/${token.json.id}/state`, {
      to: 'active',
      reason: 'commissioned',
    });
    expect(active.status).toBe(200);
    const refused = await call('POST', `/api/v1/utilities/${U}/quotes`, {
      meter: 'TOU-T-0001',
      amountMinor: 5000,
    });
    expect(refused.status).toBe(422);
    expect(refused.json.code).toBe('meter_not_vendable');
    expect(refused.json.detail).toContain('time-of-use');
  }, 120_000);
});
