/**
 * Time-of-use consumption, priced exactly (docs/tariffs.md): the balance world of ./world.ts (Asia/Amman,
 * UTC+3 all year, a Friday-Saturday weekend, a central meter) with a time-of-use version of its tariff written
 * through the one writer the API uses (src/tariffs createTariffVersion), then readings priced per interval by
 * period in the utility's zone. Written once against `SUITE_DIALECT`: PGlite here, PostgreSQL in the
 * 'postgres' project of vitest.services.config.ts.
 *
 * Summer (05-01..09-30): weekdays 00-12 off-peak 20, 12-18 peak 60, 18-24 evening 30 fils per kWh; the
 * weekend 25 all day. Winter (10-01..04-30): 15 all day, every day.
 */
import { describe, expect } from 'vitest';
import { createTariffVersion, tariffInForce } from '../../src/tariffs/index.ts';
import { dbTestFor, SUITE_DIALECT } from '../support/db.ts';
import { makeWorld, type World } from './world.ts';

const dbTest = dbTestFor(SUITE_DIALECT);

const GULF_TOU = [
  {
    name: 'summer',
    from: '05-01',
    to: '09-30',
    periods: [
      { name: 'off-peak', days: 'weekday', fromHour: 0, toHour: 12, priceMinorPerUnit: 20 },
      { name: 'peak', days: 'weekday', fromHour: 12, toHour: 18, priceMinorPerUnit: 60 },
      { name: 'evening', days: 'weekday', fromHour: 18, toHour: 24, priceMinorPerUnit: 30 },
      { name: 'weekend', days: 'weekend', fromHour: 0, toHour: 24, priceMinorPerUnit: 25 },
    ],
  },
  {
    name: 'winter',
    from: '10-01',
    to: '04-30',
    periods: [{ name: 'flat', days: 'all', fromHour: 0, toHour: 24, priceMinorPerUnit: 15 }],
  },
] as const;

async function touWorld(store: Parameters<typeof makeWorld>[0]): Promise<World> {
  const w = await makeWorld(store);
  await createTariffVersion(w.db, {
    utilityId: w.utilityId,
    code: 'RES',
    name: 'Residential, time of use',
    kind: 'electricity',
    subsidised: false,
    variantOf: null,
    effectiveFrom: new Date('2026-01-01T00:00:00Z'),
    currency: 'JOD',
    fixedMonthlyMinor: 0n,
    taxRateBp: 0,
    debtRecoveryBp: 0,
    minPurchaseMinor: 0n,
    prices: { pricePerUnits: 1000, tou: GULF_TOU },
    actor: 'system:test',
  });
  return w;
}

/** The `balance.consumption` audit rows of the world's meter: units, amount and the periods they fell in. */
async function charges(w: World) {
  const rows = await w.db
    .selectFrom('audit_log')
    .select('details')
    .where('subject', '=', `meter:${w.meterId}`)
    .where('action', '=', 'balance.consumption')
    .orderBy('id')
    .execute();
  return rows
    .filter((r) => r.details.baseline !== true)
    .map((r) => ({ amountMinor: r.details.amountMinor, periods: r.details.periods }));
}

async function readAndRun(w: World, at: string, energyWh: bigint): Promise<void> {
  w.at(at);
  await w.reading(energyWh);
  const report = await w.run();
  expect(report.meters.every((m) => m.ok)).toBe(true);
}

describe(`time-of-use consumption (${SUITE_DIALECT})`, () => {
  dbTest(
    'a weekday across off-peak and peak: the interval is shared by hour and the sub-fils remainder carried',
    async ({ store }) => {
      const w = await touWorld(store);
      w.at('2026-06-02T07:00:00Z');
      await w.pay(10_000n);
      // Tuesday 2 June 2026, 11:00 local: the baseline.
      await readAndRun(w, '2026-06-02T08:00:00Z', 1_000_000n);
      expect(await w.balance()).toBe(10_000n);
      // 11:00 → 13:00 local, 10 001 Wh: 5000 Wh off-peak (11-12) and 5001 Wh peak (12-13, the remainder).
      // 5000 × 20 + 5001 × 60 = 400 060 fils/1000 → 400.06 → 400 fils (half up), 0.06 carried.
      await readAndRun(w, '2026-06-02T10:00:00Z', 1_010_001n);
      expect(await w.balance()).toBe(10_000n - 400n);
      // 13:00 → 14:00 local, 1000 Wh at peak: 460 060 → 460 fils for the month so far, so this charge is 60.
      await readAndRun(w, '2026-06-02T11:00:00Z', 1_011_001n);
      expect(await w.balance()).toBe(10_000n - 460n);
      expect(await charges(w)).toEqual([
        {
          amountMinor: '400',
          periods: [
            { period: 'summer/off-peak', units: '5000', amountMinor: '100' },
            { period: 'summer/peak', units: '5001', amountMinor: '300' },
          ],
        },
        { amountMinor: '60', periods: [{ period: 'summer/peak', units: '1000', amountMinor: '60' }] },
      ]);
      const state = await w.db
        .selectFrom('balance_state')
        .select(['month', 'month_to_date', 'month_cost_scaled', 'month_cost_per'])
        .where('meter_id', '=', w.meterId)
        .executeTakeFirstOrThrow();
      expect(state).toEqual({
        month: '2026-06',
        month_to_date: 11_001n,
        month_cost_scaled: 460_060n,
        month_cost_per: 1000,
      });
    },
  );

  dbTest(
    "a weekday evening into the utility's weekend: Thursday 23:00 to Friday 01:00",
    async ({ store }) => {
      const w = await touWorld(store);
      w.at('2026-06-04T19:00:00Z');
      await w.pay(10_000n);
      await readAndRun(w, '2026-06-04T20:00:00Z', 500_000n);
      // 23:00 Thursday → 01:00 Friday local, 2000 Wh: 1000 Wh evening at 30, 1000 Wh weekend at 25.
      await readAndRun(w, '2026-06-04T22:00:00Z', 502_000n);
      expect(await w.balance()).toBe(10_000n - 55n);
      expect(await charges(w)).toEqual([
        {
          amountMinor: '55',
          periods: [
            { period: 'summer/evening', units: '1000', amountMinor: '30' },
            { period: 'summer/weekend', units: '1000', amountMinor: '25' },
          ],
        },
      ]);
    },
  );

  dbTest('the season changes at local midnight on 1 October, and so does the month', async ({ store }) => {
    const w = await touWorld(store);
    w.at('2026-09-30T18:00:00Z');
    await w.pay(10_000n);
    // Wednesday 30 September 22:00 local: the baseline.
    await readAndRun(w, '2026-09-30T19:00:00Z', 2_000_000n);
    // 22:00 → 02:00 local, 8000 Wh: 4000 Wh of summer evening (30) in September, 4000 Wh of winter (15) in
    // October: 120 + 60 fils, each month's cost rounded on its own.
    await readAndRun(w, '2026-09-30T23:00:00Z', 2_008_000n);
    expect(await w.balance()).toBe(10_000n - 180n);
    expect(await charges(w)).toEqual([
      {
        amountMinor: '180',
        periods: [
          { period: 'summer/evening', units: '4000', amountMinor: '120' },
          { period: 'winter/flat', units: '4000', amountMinor: '60' },
        ],
      },
    ]);
    const state = await w.db
      .selectFrom('balance_state')
      .select(['month', 'month_to_date', 'month_cost_scaled'])
      .where('meter_id', '=', w.meterId)
      .executeTakeFirstOrThrow();
    expect(state).toEqual({ month: '2026-10', month_to_date: 4000n, month_cost_scaled: 60_000n });
  });

  dbTest('SQL and TypeScript share one tariff-in-force rule', async ({ store }) => {
    const w = await touWorld(store);
    const at = (iso: string) =>
      tariffInForce(w.db, {
        utilityId: w.utilityId,
        kind: 'electricity',
        code: null,
        eligible: false,
        at: new Date(iso),
      });
    expect((await at('2025-12-31T23:59:59Z'))?.version).toBe(1);
    const v2 = await at('2026-06-02T00:00:00Z');
    expect(v2?.version).toBe(2);
    expect(v2?.tou?.map((s) => s.name)).toEqual(['summer', 'winter']);
  });
});
