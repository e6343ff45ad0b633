/**
 * The customer's own API through real HTTP against a started Rasid (embedded PGlite): my accounts and
 * meters with credit and days left, consumption per day, week and month from the readings roll-ups, token
 * and payment history, low-credit alert settings; another customer's meter and account answer 404.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server.ts';
import { type MeterId, minorUnits } from '../../src/store/schema.ts';
import { type Call, caller, type Json, secondCustomer, signIn, waterMeter } from '../support/api.ts';
import type { Seed } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { seedVending } from '../support/vending-fixture.ts';

describe('customer API over HTTP', () => {
  let server: RunningServer;
  let test: TestServer;
  let seed: Seed;
  let otherMeterId: MeterId;
  let otherAccountId: string;
  let call: Call<'customer' | 'other' | 'operator'>;

  beforeAll(async () => {
    test = await startTestServer('customer-api');
    server = test.server;
    const db = server.core.store.db;
    seed = await seedVending(db, server.core.keys, 'jo');
    const other = await secondCustomer(db, seed, { email: 'sami@example.com' });
    otherAccountId = other.accountId;
    otherMeterId = await waterMeter(db, seed, other.accountId, 'active');
    const people = await signIn(server, seed.utilityId, {
      customer: { role: 'customer', customerId: seed.customerId },
      other: { role: 'customer', customerId: other.customerId },
      operator: { role: 'operator' },
    });
    call = caller(server, people, 'customer');

    // Readings of the token-mode electricity meter: cumulative Wh, and the credit the meter reports.
    const reading = (ts: string, energyWh: bigint, creditMinor: bigint | null = null) => ({
      meter_id: seed.meterId,
      ts: new Date(ts),
      energy_wh: energyWh,
      credit_minor: creditMinor === null ? null : minorUnits(creditMinor),
      relay: true,
    });
    await db
      .insertInto('readings')
      .values([
        reading('2026-01-04T20:00:00Z', 800n),
        reading('2026-01-05T00:30:00Z', 1000n),
        reading('2026-01-05T23:00:00Z', 3000n),
        reading('2026-01-06T12:00:00Z', 4500n),
        reading('2026-01-07T12:00:00Z', 4500n),
        reading('2026-01-12T10:00:00Z', 10_000n, 4500n),
      ])
      .execute();
    await server.core.vending.vend({
      utilityId: seed.utilityId,
      meter: 'jo-M-0001',
      amountMinor: 5000n,
      channel: { kind: 'vendor', vendorId: seed.vendorId, kioskId: seed.kioskId },
      idempotencyKey: 'customer-test-1',
      actor: `kiosk:${seed.kioskId}`,
    });
  }, 120_000);

  afterAll(async () => {
    await test?.close();
  });

  it('who I am: masked contacts, my accounts with credit and alert settings', async () => {
    const me = await call('GET', '/api/v1/me');
    expect(me.status).toBe(200);
    expect(me.json.customer).toMatchObject({
      id: seed.customerId,
      name: 'Huda Haddad',
      preferredLanguage: 'ar',
      phone: '•••0001',
      email: null,
    });
    expect(me.json.accounts).toEqual([
      {
        id: seed.accountId,
        number: 'jo-0001',
        status: 'active',
        premise: { address: '12 Rainbow St', area: 'Jabal Amman' },
        credit: expect.objectContaining({ currency: 'JOD' }),
        alerts: { enabled: true, threshold: null, days: null },
      },
    ]);
    const other = await call('GET', '/api/v1/me', { as: 'other' });
    expect(other.json.customer.email).toBe('s•••@example.com');
  });

  it('my meters: credit the token meter reported, the last reading', async () => {
    const res = await call('GET', '/api/v1/me/meters');
    expect(res.status).toBe(200);
    expect(res.json.meters).toEqual([
      expect.objectContaining({
        id: seed.meterId,
        serial: 'jo-M-0001',
        kind: 'electricity',
        mode: 'token',
        unit: 'Wh',
        account: { id: seed.accountId, number: 'jo-0001' },
        credit: { minor: '4500', amount: '4.500', currency: 'JOD' },
        creditAt: '2026-01-12T10:00:00.000Z',
        creditUnits: null,
        // Use from January is outside the engine's window of recent use: no estimate.
        daysLeft: null,
        daysLeftAt: null,
        lastReading: { ts: '2026-01-12T10:00:00.000Z', register: '10000', relay: true },
      }),
    ]);
    // A token meter that keeps its credit as energy reports Wh left; the customer sees that instead.
    await server.core.store.db
      .insertInto('readings')
      .values({
        meter_id: seed.meterId,
        ts: new Date('2026-01-12T11:00:00Z'),
        energy_wh: 10_100n,
        credit_wh: 91_250n,
      })
      .execute();
    const energy = (await call('GET', '/api/v1/me/meters')).json.meters[0];
    expect([energy.credit, energy.creditUnits, energy.creditAt]).toEqual([
      null,
      '91250',
      '2026-01-12T11:00:00.000Z',
    ]);
    await server.core.store.db
      .deleteFrom('readings')
      .where('ts', '=', new Date('2026-01-12T11:00:00Z'))
      .execute();
    const theirs = await call('GET', '/api/v1/me/meters', { as: 'other' });
    expect(
      theirs.json.meters.map((m: { serial: string; credit: Json }) => [m.serial, m.credit.amount]),
    ).toEqual([['jo-W-0002', '0.000']]);
  });

  it.each([
    {
      bucket: 'day',
      from: '2026-01-05',
      series: [
        ['2026-01-05T00:00:00.000Z', '2200', 2],
        ['2026-01-06T00:00:00.000Z', '1500', 1],
        ['2026-01-07T00:00:00.000Z', '0', 1],
        ['2026-01-12T00:00:00.000Z', '5500', 1],
      ],
      total: '9200',
    },
    {
      bucket: 'week',
      from: '2026-01-05',
      series: [
        ['2026-01-05T00:00:00.000Z', '3700', 4],
        ['2026-01-12T00:00:00.000Z', '5500', 1],
      ],
      total: '9200',
    },
    // From the first of the month the reading of the 4th is the baseline: its day uses nothing.
    { bucket: 'month', from: '2026-01-10', series: [['2026-01-01T00:00:00.000Z', '9200', 6]], total: '9200' },
  ])('consumption per $bucket', async ({ bucket, from, series, total }) => {
    const res = await call(
      'GET',
      `/api/v1/me/meters/${seed.meterId}/consumption?bucket=${bucket}&from=${from}&to=2026-01-20`,
    );
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ meterId: seed.meterId, unit: 'Wh', bucket, total });
    expect(res.json.series.map((p: Json) => [p.start, p.units, p.readings])).toEqual(series);
  });

  it("another customer's meter is unknown; a bad bucket is 400", async () => {
    const foreign = await call('GET', `/api/v1/me/meters/${otherMeterId}/consumption`);
    expect(foreign.status).toBe(404);
    expect(foreign.json.code).toBe('not_found');
    const bad = await call('GET', `/api/v1/me/meters/${seed.meterId}/consumption?bucket=year`);
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('validation_failed');
  });

  it('token and payment history', async () => {
    const t = await call('GET', '/api/v1/me/tokens');
    expect(t.status).toBe(200);
    expect(t.json.tokens).toHaveLength(1);
    expect(t.json.tokens[0]).toMatchObject({
      meterSerial: 'jo-M-0001',
      kind: 'credit',
      token: expect.stringMatching(/^\d{20}$/),
      vendId: expect.any(String),
      usedAt: null,
    });
    const p = await call('GET', '/api/v1/me/payments');
    expect(p.json.payments).toEqual([
      expect.objectContaining({
        vendId: t.json.tokens[0].vendId,
        channel: 'vendor',
        accountNumber: 'jo-0001',
        meterSerial: 'jo-M-0001',
        amountPaid: { minor: '5000', amount: '5.000', currency: 'JOD' },
        unit: 'Wh',
        token: t.json.tokens[0].token,
        status: 'completed',
        paymentStatus: null,
      }),
    ]);
    expect((await call('GET', '/api/v1/me/payments', { as: 'other' })).json.payments).toEqual([]);
    expect((await call('GET', `/api/v1/me/tokens?meterId=${otherMeterId}`)).status).toBe(404);
  });

  it('low-credit alert settings: set, read back, audited; not on another account', async () => {
    const set = await call('PUT', `/api/v1/me/accounts/${seed.accountId}/alerts`, {
      body: { enabled: true, thresholdMinor: 1500, days: 3 },
    });
    expect(set.status).toBe(200);
    expect(set.json).toEqual({
      enabled: true,
      threshold: { minor: '1500', amount: '1.500', currency: 'JOD' },
      days: 3,
    });
    const off = await call('PUT', `/api/v1/me/accounts/${seed.accountId}/alerts`, {
      body: { enabled: false },
    });
    expect(off.json).toMatchObject({ enabled: false, days: 3 });
    const me = await call('GET', '/api/v1/me');
    expect(me.json.accounts[0].alerts).toEqual({
      enabled: false,
      threshold: { minor: '1500', amount: '1.500', currency: 'JOD' },
      days: 3,
    });
    const row = await server.core.store.db
      .selectFrom('accounts')
      .select(['low_credit_alert_enabled', 'low_credit_alert_minor', 'low_credit_alert_days'])
      .where('id', '=', seed.accountId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({
      low_credit_alert_enabled: false,
      low_credit_alert_minor: 1500n,
      low_credit_alert_days: 3,
    });
    const audit = await server.core.store.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'account.alerts')
      .orderBy('id')
      .execute();
    expect(audit.map((a) => a.details.to)).toEqual([
      { enabled: true, thresholdMinor: '1500', days: 3 },
      { enabled: false, thresholdMinor: '1500', days: 3 },
    ]);
    const foreign = await call('PUT', `/api/v1/me/accounts/${otherAccountId}/alerts`, {
      body: { enabled: false },
    });
    expect(foreign.status).toBe(404);
    const bad = await call('PUT', `/api/v1/me/accounts/${seed.accountId}/alerts`, {
      body: { enabled: true, days: 99 },
    });
    expect(bad.status).toBe(400);
  });

  it('staff are not customers here: 403; no session: 401', async () => {
    expect((await call('GET', '/api/v1/me/meters', { as: 'operator' })).status).toBe(403);
    expect((await call('GET', '/api/v1/me/meters', { as: null })).status).toBe(401);
  });

  it("days left is the balance engine's estimate in the meter's state, not an audit row", async () => {
    const db = server.core.store.db;
    // Recent use: 7 kWh over the last two days, and the credit the meter reports now.
    const hour = 3_600_000;
    const at = (hoursAgo: number) => new Date(Date.now() - hoursAgo * hour);
    await db
      .insertInto('readings')
      .values([
        { meter_id: seed.meterId, ts: at(48), energy_wh: 20_000n, relay: true },
        { meter_id: seed.meterId, ts: at(24), energy_wh: 24_000n, relay: true },
        {
          meter_id: seed.meterId,
          ts: at(1),
          energy_wh: 27_000n,
          credit_minor: minorUnits(3_500n),
          relay: true,
        },
      ])
      .execute();
    await server.metersOnline.runBalance({ meterIds: [seed.meterId] });
    const state = await db
      .selectFrom('balance_state')
      .select(['days_left', 'evaluated_at'])
      .where('meter_id', '=', seed.meterId)
      .executeTakeFirstOrThrow();
    expect(state.days_left).toBeGreaterThan(0);
    // An audit row is a record of the past, not the meter's state: a later one with another figure is not read.
    await db
      .insertInto('audit_log')
      .values({
        utility_id: seed.utilityId,
        actor: 'system:balance',
        action: 'balance.alert_low_credit',
        subject: `meter:${seed.meterId}`,
        details: { reason: 'days_left_below_threshold', creditMinor: '3500', daysLeft: 999.5 },
      })
      .execute();
    const mine = (await call('GET', '/api/v1/me/meters')).json.meters[0];
    expect(mine.daysLeft).toBe(state.days_left);
    expect(mine.daysLeftAt).toBe(state.evaluated_at!.toISOString());
    expect(mine.credit.minor).toBe('3500');
  });
});
