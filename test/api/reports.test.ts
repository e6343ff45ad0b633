/**
 * Operators' reports through real HTTP against a started Rasid (embedded PGlite): revenue per local day
 * with a reversal, consumption per UTC day from the roll-ups, both as JSON and as CSV.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server.ts';
import { type Call, caller, signIn, waterMeter } from '../support/api.ts';
import type { Seed } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { seedVending } from '../support/vending-fixture.ts';

describe('reports over HTTP', () => {
  let server: RunningServer;
  let test: TestServer;
  let seed: Seed;
  let saleDay = '';
  let nextDay = '';
  let call: Call<'operator' | 'service'>;
  const get = (path: string, headers: Record<string, string> = {}) => call('GET', path, { headers });

  beforeAll(async () => {
    test = await startTestServer('reports-api');
    server = test.server;
    const db = server.core.store.db;
    seed = await seedVending(db, server.core.keys, 'jo');
    const people = await signIn(server, seed.utilityId, {
      operator: { role: 'operator' },
      service: { role: 'service' },
    });
    call = caller(server, people, 'operator');
    const sale = (key: string, amountMinor: bigint) =>
      server.core.vending.vend({
        utilityId: seed.utilityId,
        meter: 'jo-M-0001',
        amountMinor,
        channel: { kind: 'vendor', vendorId: seed.vendorId, kioskId: seed.kioskId },
        idempotencyKey: key,
        actor: `kiosk:${seed.kioskId}`,
      });
    await sale('report-1', 5000n);
    const second = await sale('report-2', 3000n);
    await server.core.vending.reverse(seed.utilityId, second.vendId, 'user:test', 'keyed wrong meter');
    const vend = await db
      .selectFrom('vends')
      .select('created_at')
      .where('id', '=', second.vendId)
      .executeTakeFirstOrThrow();
    // The sales' day in the utility's zone (Asia/Amman).
    saleDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Amman' }).format(vend.created_at);
    nextDay = new Date(Date.parse(saleDay) + 86_400_000).toISOString().slice(0, 10);

    const reading = (ts: string, energyWh: bigint) => ({
      meter_id: seed.meterId,
      ts: new Date(ts),
      energy_wh: energyWh,
    });
    const water = await waterMeter(db, seed, seed.accountId);
    await db
      .insertInto('readings')
      .values([
        reading('2026-01-04T22:00:00Z', 1000n),
        reading('2026-01-05T10:00:00Z', 1600n),
        reading('2026-01-05T20:00:00Z', 2000n),
        reading('2026-01-06T08:00:00Z', 2500n),
        { meter_id: water, ts: new Date('2026-01-05T09:00:00Z'), volume_l: 100n },
        { meter_id: water, ts: new Date('2026-01-06T09:00:00Z'), volume_l: 340n },
      ])
      .execute();
  }, 120_000);

  afterAll(async () => {
    await test?.close();
  });

  it('revenue per day: completed sales, the reversal apart, units sold', async () => {
    const res = await get(`/api/v1/reports/revenue?from=${saleDay}&to=${nextDay}`);
    expect(res.status).toBe(200);
    const body = JSON.parse(res.text);
    expect(body).toMatchObject({
      currency: 'JOD',
      timezone: 'Asia/Amman',
      total: {
        vends: 1,
        paid: { minor: '5000', amount: '5.000' },
        reversals: 1,
        reversed: { minor: '3000' },
      },
    });
    expect(body.days).toEqual([
      expect.objectContaining({
        day: saleDay,
        vends: 1,
        paid: { minor: '5000', amount: '5.000' },
        online: { minor: '0', amount: '0.000' },
        vendor: { minor: '5000', amount: '5.000' },
        reversals: 1,
        volumeL: '0',
      }),
    ]);
    expect(BigInt(body.days[0].energyWh)).toBeGreaterThan(0n);
    const elsewhere = await get(`/api/v1/reports/revenue?from=${saleDay}&to=${nextDay}&area=Zarqa`);
    expect(JSON.parse(elsewhere.text).days).toEqual([]);
  });

  it('revenue as CSV, by format or by Accept', async () => {
    const byFormat = await get(`/api/v1/reports/revenue?from=${saleDay}&to=${nextDay}&format=csv`);
    expect(byFormat.status).toBe(200);
    expect(byFormat.type).toContain('text/csv');
    expect(byFormat.headers.get('content-disposition')).toBe(
      `attachment; filename="revenue-jo-${saleDay}-${nextDay}.csv"`,
    );
    const lines = byFormat.text.split('\r\n');
    expect(lines[0]).toBe('day,currency,vends,paid,online,vendor,reversals,reversed,energy_wh,volume_l');
    expect(lines[1]).toMatch(new RegExp(`^${saleDay},JOD,1,5\\.000,0\\.000,5\\.000,1,3\\.000,\\d+,0$`));
    expect(lines[2]).toBe('');
    const byAccept = await get(`/api/v1/reports/revenue?from=${saleDay}&to=${nextDay}`, {
      accept: 'text/csv',
    });
    expect(byAccept.text).toBe(byFormat.text);
  });

  it('consumption per UTC day from the roll-ups, JSON and CSV', async () => {
    const res = await get('/api/v1/reports/consumption?from=2026-01-05&to=2026-01-07');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({
      days: [
        { day: '2026-01-05', meters: 2, energyWh: '1000', volumeL: '0' },
        { day: '2026-01-06', meters: 2, energyWh: '500', volumeL: '240' },
      ],
      total: { energyWh: '1500', volumeL: '240' },
    });
    const asCsv = await get('/api/v1/reports/consumption?from=2026-01-05&to=2026-01-07&format=csv');
    expect(asCsv.text).toBe(
      'day,meters,energy_wh,volume_l\r\n2026-01-05,2,1000,0\r\n2026-01-06,2,500,240\r\n',
    );
  });

  it('operators only; a bad period is a problem document', async () => {
    const service = await call('GET', '/api/v1/reports/revenue?from=2026-01-01&to=2026-01-02', {
      as: 'service',
    });
    expect(service.status).toBe(403);
    const backwards = await get('/api/v1/reports/consumption?from=2026-01-07&to=2026-01-05');
    expect(backwards.status).toBe(400);
    expect(backwards.type).toContain('application/problem+json');
    expect(JSON.parse(backwards.text)).toMatchObject({
      code: 'validation_failed',
      detail: 'from: must be before to',
    });
    const tooLong = await get('/api/v1/reports/revenue?from=2024-01-01&to=2026-01-01');
    expect(tooLong.status).toBe(400);
  });
});
