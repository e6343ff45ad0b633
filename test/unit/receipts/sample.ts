/** A receipt as vending builds it (src/vending/receipt.ts), for an Omani utility: a sale at 01:12 on 5 December in Muscat. */
import { buildReceipt, type Receipt } from '../../../src/vending/receipt.ts';

export function sampleReceipt(overrides: Partial<Receipt> = {}): Receipt {
  const r = buildReceipt({
    vendId: 'a76395c1-2b7e-4d0e-9a51-0c6f1e2d3b4a',
    at: new Date('2026-12-04T21:12:00Z'),
    utility: { code: 'om', name: 'Muscat Electricity', currency: 'OMR', exponent: 3 },
    meter: {
      serial: 'OM-M-0001',
      kind: 'electricity',
      customerName: 'هدى الحارثي',
      accountNumber: 'om-0001',
    },
    quote: {
      amountPaid: 5000n,
      accountCreditUsed: 0n,
      tax: 690n,
      debtRecovery: 862n,
      fixedCharges: 500n,
      unitsCost: 2947n,
      toAccountCredit: 1n,
      tenths: 893n,
      units: 89_300n,
      lines: [
        { code: 'amount_paid', amountMinor: 5000n },
        { code: 'tax', amountMinor: -690n },
        { code: 'debt_recovery', amountMinor: -862n },
        { code: 'fixed_charge', amountMinor: -500n },
        { code: 'block', amountMinor: -2947n, units: 89_300n, block: 1, priceMinorPerKUnit: 33n },
        { code: 'rounding_to_account_credit', amountMinor: -1n },
      ],
    },
    token: '43775018945933508681',
    tid: 6798072,
    channel: 'vendor',
    vendorName: 'محل السعادة',
  });
  return { ...r, ...overrides };
}
