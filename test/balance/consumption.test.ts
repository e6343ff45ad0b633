import { describe, expect, it } from 'vitest';
import { instantOfLocal, localTime } from '../../src/balance/calendar.ts';
import {
  type ConsumptionTariff,
  consumptionCharge,
  daysOfCreditLeft,
  monthKeyOf,
  monthToDateCost,
  registerStep,
  splitByMonth,
  usePerDay,
} from '../../src/balance/consumption.ts';

/** 33 fils/kWh up to 160 kWh, 72 up to 300 kWh, 86 above (minor units per 1000 Wh). */
const BLOCKS: ConsumptionTariff = {
  pricePerUnits: 1000,
  blocks: [
    { upToUnits: 160_000, priceMinorPerUnit: 33 },
    { upToUnits: 300_000, priceMinorPerUnit: 72 },
    { upToUnits: null, priceMinorPerUnit: 86 },
  ],
};

describe('register steps', () => {
  it.each([
    { name: 'advance', prev: 1000n, next: 1500n, modulus: undefined, kind: 'advance', units: 500n },
    { name: 'repeated reading', prev: 1500n, next: 1500n, modulus: undefined, kind: 'unchanged', units: 0n },
    {
      name: 'rollover at 10^6',
      prev: 999_900n,
      next: 100n,
      modulus: 1_000_000n,
      kind: 'rollover',
      units: 200n,
    },
    {
      name: 'reset (no modulus)',
      prev: 999_900n,
      next: 100n,
      modulus: undefined,
      kind: 'reset',
      units: 100n,
    },
    {
      name: 'reset far from the top',
      prev: 500_000n,
      next: 300n,
      modulus: 1_000_000n,
      kind: 'reset',
      units: 300n,
    },
  ])('$name', ({ prev, next, modulus, kind, units }) => {
    expect(registerStep(prev, next, modulus)).toEqual({ kind, units });
  });
});

describe('pricing through blocks at the month-to-date position', () => {
  it.each([
    { name: 'first block', mtd: 0n, units: 10_000n, charge: 330n },
    { name: 'crossing into block 2', mtd: 150_000n, units: 20_000n, charge: 10n * 33n + 10n * 72n },
    { name: 'inside block 3', mtd: 400_000n, units: 1000n, charge: 86n },
    { name: 'half a fils rounds half up once for the month', mtd: 0n, units: 500n, charge: 17n },
    { name: 'nothing used', mtd: 12_345n, units: 0n, charge: 0n },
  ])('$name', ({ mtd, units, charge }) => {
    expect(consumptionCharge(BLOCKS, mtd, units)).toBe(charge);
  });

  it('charges in any batching add up to the rounded cost of the month', () => {
    const steps = [137n, 4_000n, 155_863n, 1n, 99_999n, 40_000n, 250_001n];
    let mtd = 0n;
    let charged = 0n;
    for (const units of steps) {
      charged += consumptionCharge(BLOCKS, mtd, units);
      mtd += units;
    }
    expect(charged).toBe(monthToDateCost(BLOCKS, mtd));
    expect(monthToDateCost(BLOCKS, 550_001n)).toBe(160n * 33n + 140n * 72n + 250n * 86n);
  });

  it('refuses a tariff without an open last block', () => {
    expect(() =>
      monthToDateCost({ pricePerUnits: 1000, blocks: [{ upToUnits: 10, priceMinorPerUnit: 1 }] }, 1n),
    ).toThrow(/open-ended/);
  });
});

describe('splitting an interval between months', () => {
  it('a gap over the month end is shared in proportion to time (Muscat months)', () => {
    // 30 Apr 20:00 local → 1 May 04:00 local: 4 h in April, 4 h in May.
    const shares = splitByMonth(
      new Date('2026-04-30T16:00:00Z'),
      new Date('2026-05-01T00:00:00Z'),
      8_001n,
      'Asia/Muscat',
    );
    expect(shares).toEqual([
      { month: '2026-04', units: 4_000n },
      { month: '2026-05', units: 4_001n },
    ]);
  });

  it('one month gives one share', () => {
    expect(
      splitByMonth(new Date('2026-04-10T00:00:00Z'), new Date('2026-04-11T00:00:00Z'), 5n, 'Asia/Muscat'),
    ).toEqual([{ month: '2026-04', units: 5n }]);
  });
});

describe('recent use and days left', () => {
  const day = 86_400_000;
  const t0 = Date.UTC(2026, 2, 1);
  it('use per day over the readings, a reset counting from zero', () => {
    const samples = [
      { at: new Date(t0), value: 10_000n },
      { at: new Date(t0 + day), value: 16_000n },
      { at: new Date(t0 + 2 * day), value: 2_000n },
    ];
    expect(usePerDay(samples)).toBe(4_000);
  });
  it('too short a span says nothing', () => {
    expect(
      usePerDay([
        { at: new Date(t0), value: 1n },
        { at: new Date(t0 + 60_000), value: 9n },
      ]),
    ).toBeNull();
  });
  it.each([
    { credit: 1000n, spend: 250, days: 4 },
    { credit: 0n, spend: 250, days: 0 },
    { credit: -5n, spend: null, days: 0 },
    { credit: 1000n, spend: null, days: null },
    { credit: 1000n, spend: 0, days: null },
  ])('credit $credit at $spend a day → $days days', ({ credit, spend, days }) => {
    expect(daysOfCreditLeft(credit, spend)).toBe(days);
  });
});

describe('monthKeyOf keeps the last month of each zone', () => {
  const direct = (at: Date, timeZone: string) => {
    const l = localTime(at, timeZone);
    return `${l.year}-${String(l.month).padStart(2, '0')}`;
  };
  // Zones with DST changes, one of them at local midnight (Santiago), one at midnight on some Sundays
  // (Beirut), and the Gulf's fixed offsets.
  const zones = ['Asia/Muscat', 'Asia/Beirut', 'America/Santiago', 'Europe/London', 'Asia/Kuwait'];

  it('answers as the zone clock does every 3 hours for 13 months, in order and shuffled', () => {
    const from = Date.UTC(2023, 0, 1);
    const instants: number[] = [];
    for (let t = from; t < from + 396 * 86_400_000; t += 3 * 3_600_000) instants.push(t);
    let seed = 7;
    const shuffled = instants
      .filter((_, i) => i % 4 === 0)
      .sort(() => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31 - 0.5;
      });
    for (const tz of zones) {
      for (const t of [...instants, ...shuffled]) {
        const at = new Date(t);
        const got = monthKeyOf(at, tz);
        if (got !== direct(at, tz))
          expect({ tz, at: at.toISOString(), got }).toEqual({ want: direct(at, tz) });
      }
    }
  });

  it('the instant before a local month starts and the instant it starts fall in different months', () => {
    for (const tz of zones) {
      const start = instantOfLocal(2024, 3, 1, 0, tz);
      expect(monthKeyOf(start, tz)).toBe('2024-03');
      expect(monthKeyOf(new Date(start.getTime() - 1), tz)).toBe('2024-02');
      expect(monthKeyOf(start, tz)).toBe('2024-03');
    }
  });
});
