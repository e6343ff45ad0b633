import { describe, expect, it } from 'vitest';
import { type QuoteInput, quoteVend, type TariffTerms } from '../../../src/vending/quote.ts';

const kWh = (n: number) => BigInt(Math.round(n * 1000));

/** OMR (3 decimals): 20 baisa/kWh up to 100 kWh a month, then 30 baisa/kWh; 5% tax; 10% debt recovery. */
const TWO_BLOCKS: TariffTerms = {
  taxRateBp: 500,
  debtRecoveryBp: 1000,
  minPurchaseMinor: 1000n,
  rate: {
    per: 1000n,
    blocks: [
      { upToUnits: kWh(100), priceMinor: 20n },
      { upToUnits: null, priceMinor: 30n },
    ],
    period: null,
  },
};

function sumOfLines(q: ReturnType<typeof quoteVend>): bigint {
  return q.lines.reduce((s, l) => s + l.amountMinor, 0n);
}

describe('quoteVend', () => {
  it('works a kiosk sale with tax, debt recovery, a fixed charge and two blocks to the exact Wh', () => {
    const q = quoteVend({
      amountPaid: 5000n,
      tariff: TWO_BLOCKS,
      debtOutstanding: 2000n,
      fixedChargesDue: 500n,
      monthToDateUnits: kWh(95),
    });
    // tax = 5000 × 500 / 10500 = 238.1 → 238; net 4762; debt 10% = 476; fixed 500; 3786 for units.
    expect(q.tax).toBe(238n);
    expect(q.debtRecovery).toBe(476n);
    expect(q.fixedCharges).toBe(500n);
    // 5 kWh left in block 1 cost 100; 3686 buys 122.866 kWh at 30; credited in tenths: 127.8 kWh.
    expect(q.units).toBe(127_800n);
    expect(q.tenths).toBe(1278n);
    const blocks = q.lines.filter((l) => l.code === 'block');
    expect(blocks).toEqual([
      {
        code: 'block',
        amountMinor: -100n,
        units: 5000n,
        block: 1,
        priceMinor: 20n,
        perUnits: 1000n,
        priceMinorPerKUnit: 20n,
      },
      {
        code: 'block',
        amountMinor: -3684n,
        units: 122_800n,
        block: 2,
        priceMinor: 30n,
        perUnits: 1000n,
        priceMinorPerKUnit: 30n,
      },
    ]);
    expect(q.unitsCost).toBe(3784n);
    expect(q.toAccountCredit).toBe(2n);
    expect(sumOfLines(q)).toBe(0n);
  });

  it('never recovers more debt than is owed', () => {
    const q = quoteVend({
      amountPaid: 10_000n,
      tariff: TWO_BLOCKS,
      debtOutstanding: 50n,
      fixedChargesDue: 0n,
      monthToDateUnits: 0n,
    });
    expect(q.debtRecovery).toBe(50n);
    expect(sumOfLines(q)).toBe(0n);
  });

  it('spends account credit carried from earlier vends', () => {
    const base: QuoteInput = {
      amountPaid: 2000n,
      tariff: { ...TWO_BLOCKS, taxRateBp: 0, debtRecoveryBp: 0 },
      debtOutstanding: 0n,
      fixedChargesDue: 0n,
      monthToDateUnits: 0n,
    };
    const without = quoteVend(base);
    const withCredit = quoteVend({ ...base, accountCredit: 20n });
    expect(without.units).toBe(100_000n);
    // 20 more baisa buy 0.666 kWh in block 2 at 30 baisa/kWh: 0.6 kWh credited.
    expect(withCredit.units).toBe(100_600n);
    expect(sumOfLines(withCredit)).toBe(0n);
  });

  it('keeps what the token cannot carry as account credit', () => {
    // 2010 baisa buy 100 kWh in block 1 and 0.333 kWh in block 2.
    const q = quoteVend({
      amountPaid: 2010n,
      tariff: { ...TWO_BLOCKS, taxRateBp: 0, debtRecoveryBp: 0, minPurchaseMinor: 0n },
      debtOutstanding: 0n,
      fixedChargesDue: 0n,
      monthToDateUnits: 0n,
      // A codec whose steps are 10 tenths (1 kWh) in this range.
      creditableTenths: (t) => (t / 10n) * 10n,
    });
    expect(q.units).toBe(100_000n);
    expect(q.toAccountCredit).toBe(10n);
    expect(sumOfLines(q)).toBe(0n);
  });

  it('refuses an amount below the minimum purchase', () => {
    expect(() =>
      quoteVend({
        amountPaid: 999n,
        tariff: TWO_BLOCKS,
        debtOutstanding: 0n,
        fixedChargesDue: 0n,
        monthToDateUnits: 0n,
      }),
    ).toThrow(/minimum purchase/);
  });

  it.each([
    [{ rate: { per: 1000n, blocks: [], period: null } }, /no blocks/],
    [{ rate: { per: 1000n, blocks: [{ upToUnits: 10n, priceMinor: 5n }], period: null } }, /open-ended/],
    [{ rate: { per: 1000n, blocks: [{ upToUnits: null, priceMinor: 0n }], period: null } }, /positive/],
  ])('refuses a broken tariff %#', (patch, message) => {
    expect(() =>
      quoteVend({
        amountPaid: 5000n,
        tariff: { ...TWO_BLOCKS, ...patch },
        debtOutstanding: 0n,
        fixedChargesDue: 0n,
        monthToDateUnits: 0n,
      }),
    ).toThrow(message);
  });

  it('balances every line for a spread of amounts and positions', () => {
    // IEC 62055-41 amount steps: every tenth up to 1638.3 kWh, then steps of 1 kWh.
    const sts = (t: bigint) => (t <= 16_383n ? t : 16_384n + ((t - 16_384n) / 10n) * 10n);
    for (let amount = 1000n; amount <= 60_000n; amount += 777n) {
      for (const mtd of [0n, kWh(33.3), kWh(99.95), kWh(250)]) {
        const q = quoteVend({
          amountPaid: amount,
          tariff: TWO_BLOCKS,
          debtOutstanding: 1234n,
          fixedChargesDue: 300n,
          monthToDateUnits: mtd,
          creditableTenths: sts,
        });
        expect(sumOfLines(q)).toBe(0n);
        expect(q.toAccountCredit).toBeGreaterThanOrEqual(0n);
        // At most one STS step's price (3 baisa a tenth at 30 baisa/kWh) plus a rounding baisa is left over.
        const step = q.tenths < 16_384n ? 1n : 10n;
        expect(q.toAccountCredit).toBeLessThanOrEqual(step * 3n + 1n);
        expect(q.units % 100n).toBe(0n);
      }
    }
  });
});
