/**
 * src/tariffs as pure functions: the validator's refusals, the period of an instant, and the price
 * function's exact rounding (docs/tariffs.md "Rounding").
 */
import { describe, expect, it } from 'vitest';
import {
  costOfUnits,
  pricedTariff,
  rateAt,
  TariffError,
  touShares,
  unitsForMoney,
  validateTariffPrices,
} from '../../../src/tariffs/index.ts';

const MUSCAT = { timeZone: 'Asia/Muscat', weekendDays: [5, 6] };

const TOU = [
  {
    name: 'summer',
    from: '05-01',
    to: '09-30',
    periods: [
      { name: 'off-peak', days: 'weekday' as const, fromHour: 0, toHour: 13, priceMinorPerUnit: 12 },
      { name: 'peak', days: 'weekday' as const, fromHour: 13, toHour: 17, priceMinorPerUnit: 48 },
      { name: 'off-peak', days: 'weekday' as const, fromHour: 17, toHour: 24, priceMinorPerUnit: 12 },
      { name: 'weekend', days: 'weekend' as const, fromHour: 0, toHour: 24, priceMinorPerUnit: 10 },
    ],
  },
  {
    name: 'winter',
    from: '10-01',
    to: '04-30',
    periods: [{ name: 'flat', days: 'all' as const, fromHour: 0, toHour: 24, priceMinorPerUnit: 9 }],
  },
];

function issuesOf(input: unknown): string[] {
  try {
    validateTariffPrices(input);
  } catch (err) {
    if (err instanceof TariffError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('the validator', () => {
  it('stores a time-of-use tariff with one open block at its highest price', () => {
    expect(validateTariffPrices({ tou: TOU })).toEqual({
      pricePerUnits: 1000,
      blocks: [{ upToUnits: null, priceMinorPerUnit: 48 }],
      tou: TOU,
    });
  });

  it.each([
    [
      { blocks: [{ upToUnits: null, priceMinorPerUnit: 0 }] },
      'blocks.0.priceMinorPerUnit: a block price must be positive',
    ],
    [{ blocks: [{ upToUnits: 100, priceMinorPerUnit: 5 }] }, 'the last block must be open'],
    [
      {
        blocks: [
          { upToUnits: 100, priceMinorPerUnit: 5 },
          { upToUnits: 50, priceMinorPerUnit: 6 },
          { upToUnits: null, priceMinorPerUnit: 7 },
        ],
      },
      'blocks.1.upToUnits: block bounds must rise',
    ],
    [{}, 'give the blocks'],
    [{ blocks: [{ upToUnits: null, priceMinorPerUnit: 5 }], tou: TOU }, 'not both'],
    [
      { tou: [{ ...TOU[1], from: '01-01', to: '12-31', periods: [{ ...TOU[1]!.periods[0], toHour: 23 }] }] },
      'no period covers 23:00-24:00',
    ],
    [
      {
        tou: [
          {
            ...TOU[1],
            from: '01-01',
            to: '12-31',
            periods: [{ name: 'night', days: 'all', fromHour: 22, toHour: 6, priceMinorPerUnit: 5 }],
          },
        ],
      },
      'split a period over midnight in two',
    ],
    [{ tou: [{ ...TOU[1], from: '02-30', to: '12-31' }] }, 'no such day of the year'],
  ])('refuses %j', (input, message) => {
    expect(issuesOf(input).join('; ')).toContain(message);
  });
});

describe('the price function', () => {
  const tou = pricedTariff({
    pricePerUnits: 1000,
    blocks: [{ upToUnits: null, priceMinorPerUnit: 48 }],
    tou: TOU,
  });

  it('finds the period of an instant in the local zone, by season and the weekend days', () => {
    // Muscat is UTC+4: 2026-07-01 is a Wednesday; 2026-07-03 a Friday; 2026-12-01 is in winter.
    expect(rateAt(tou, new Date('2026-07-01T08:59:59Z'), MUSCAT).period).toEqual({
      season: 'summer',
      period: 'off-peak',
    });
    expect(rateAt(tou, new Date('2026-07-01T09:00:00Z'), MUSCAT).period).toEqual({
      season: 'summer',
      period: 'peak',
    });
    expect(rateAt(tou, new Date('2026-07-03T10:00:00Z'), MUSCAT).period).toEqual({
      season: 'summer',
      period: 'weekend',
    });
    expect(rateAt(tou, new Date('2026-12-01T10:00:00Z'), MUSCAT).blocks).toEqual([
      { upToUnits: null, priceMinor: 9n },
    ]);
  });

  it('shares an interval by hour in proportion to time, the remainder to the piece that ends it', () => {
    // 12:30 → 14:30 local: half an hour off-peak, two halves of peak; 1001 Wh.
    const shares = touShares(
      TOU,
      MUSCAT,
      new Date('2026-07-01T08:30:00Z'),
      new Date('2026-07-01T10:30:00Z'),
      1001n,
    );
    expect(shares.map((s) => [s.period?.period, s.units])).toEqual([
      ['off-peak', 250n],
      ['peak', 751n],
    ]);
  });

  it('sells whole units and rounds each block cost up, leaving the rest of the money unspent', () => {
    // 7 baisa per 3 kWh: 100 baisa buys floor(100 × 3000 / 7) = 42 857 Wh, costing ceil(42 857 × 7 / 3000) = 100.
    const odd = pricedTariff({ pricePerUnits: 3000, blocks: [{ upToUnits: null, priceMinorPerUnit: 7 }] });
    const rate = rateAt(odd, new Date(), MUSCAT);
    expect(unitsForMoney(rate, 0n, 100n).map((b) => [b.units, b.cost])).toEqual([[42_857n, 100n]]);
    expect(costOfUnits(rate, 0n, 42_800n).map((b) => b.cost)).toEqual([100n]); // 99.87 → 100
    expect(costOfUnits(rate, 0n, 42_000n).map((b) => b.cost)).toEqual([98n]); // exactly 98
  });
});
