// The operators' report queries on the machine's PostgreSQL (vitest.services.config.ts): revenue falls on
// the utility's local day, and consumption per UTC day carries the register across days and gaps.
import { sql } from 'kysely';
import { expect } from 'vitest';
import { consumptionByDay, revenueByDay } from '../../src/reports/queries.ts';
import { dbTestFor } from '../support/db.ts';
import { vendingWorld } from '../support/vending-fixture.ts';

const test = dbTestFor('postgres');

test('revenue: a sale at 22:30 UTC is the next day in Amman (UTC+3); reversals apart', async ({ store }) => {
  const world = await vendingWorld(store);
  const sell = (key: string, amountMinor: bigint) =>
    world.service.vend({
      utilityId: world.utilityId,
      meter: 'jo-M-0001',
      amountMinor,
      channel: { kind: 'vendor', vendorId: world.vendorId, kioskId: world.kioskId },
      idempotencyKey: key,
      actor: 'kiosk:test',
    });
  await sell('late-evening', 4000n);
  const reversed = await sell('morning', 6000n);
  await world.service.reverse(world.utilityId, reversed.vendId, 'user:test', 'wrong meter');
  await sell('night', 2000n);
  // The sale time is the database's clock: place each sale at its moment.
  for (const [key, at] of [
    ['late-evening', '2026-11-09T22:30:00Z'],
    ['morning', '2026-11-10T09:30:00Z'],
    ['night', '2026-11-10T21:30:00Z'],
  ] as const) {
    await sql`update vends set created_at = ${new Date(at)} where idempotency_key = ${key}`.execute(store.db);
  }

  const days = await revenueByDay(store.db, world.utilityId, '2026-11-09', '2026-11-12');
  expect(days.map((d) => [d.day, d.vends, d.paidMinor, d.vendorMinor, d.reversals, d.reversedMinor])).toEqual(
    [
      ['2026-11-10', 1, 4000n, 4000n, 1, 6000n],
      ['2026-11-11', 1, 2000n, 2000n, 0, 0n],
    ],
  );
  expect(days.every((d) => d.energyWh > 0n && d.volumeL === 0n)).toBe(true);
});

test('consumption: the previous day carries the register, across a gap and a reset', async ({ store }) => {
  const world = await vendingWorld(store);
  const r = (ts: string, energyWh: bigint) => ({
    meter_id: world.meterId,
    ts: new Date(ts),
    energy_wh: energyWh,
  });
  await store.db
    .insertInto('readings')
    .values([
      r('2026-03-01T10:00:00Z', 100n),
      r('2026-03-02T10:00:00Z', 400n),
      // no readings on the 3rd: the 4th carries both days' use
      r('2026-03-04T10:00:00Z', 1000n),
      // a reset on the 5th: the day's own spread
      r('2026-03-05T08:00:00Z', 20n),
      r('2026-03-05T20:00:00Z', 70n),
    ])
    .execute();
  const days = await consumptionByDay(store.db, world.utilityId, '2026-03-02', '2026-03-06');
  expect(days.map((d) => [d.day, d.meters, d.energyWh])).toEqual([
    ['2026-03-02', 1, 300n],
    ['2026-03-04', 1, 600n],
    ['2026-03-05', 1, 50n],
  ]);
  expect(await consumptionByDay(store.db, world.utilityId, '2026-03-02', '2026-03-06', 'Zarqa')).toEqual([]);
});
