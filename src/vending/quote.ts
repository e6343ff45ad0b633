/**
 * The vend quote: how a payment becomes units (docs/design.md "Money, tariffs, units"). A pure function of
 * the amount, the tariff and the account's position, in integers only:
 *
 *   amount paid (+ credit carried on the account)
 *   − tax (the amount is tax-inclusive: tax = amount × rate / (1 + rate), rounded half up)
 *   − debt recovery (a share of the payment net of tax, never more than the debt)
 *   − fixed charges due
 *   = money for units, spent through the tariff's blocks from the month-to-date position;
 *   units are credited in STS steps (0.1 kWh / 0.1 kL, then the STS amount encoding's coarser steps),
 *   rounded down, and the money of what could not be credited stays on the account as credit.
 */
import { mulDivRound } from '../money.ts';
import {
  costOfUnits,
  type PeriodRef,
  PriceError,
  pricedTariff,
  pricePerThousand,
  type Rate,
  type ScheduleLine,
  unitsForMoney,
} from '../tariffs/price.ts';

export interface TariffTerms {
  readonly taxRateBp: number;
  readonly debtRecoveryBp: number;
  readonly minPurchaseMinor: bigint;
  /** The prices in force at the sale (src/tariffs: blocks over `per` units, and the time-of-use period). */
  readonly rate: Rate;
}

export interface QuoteInput {
  readonly amountPaid: bigint;
  readonly tariff: TariffTerms;
  /** Debt outstanding on the account (>= 0). */
  readonly debtOutstanding: bigint;
  /** Fixed charges due and not yet paid (>= 0). */
  readonly fixedChargesDue: bigint;
  /** Units already bought this month (base units), which decides the starting block. */
  readonly monthToDateUnits: bigint;
  /** Credit left on the account by earlier vends (>= 0), spent before the new money. */
  readonly accountCredit?: bigint;
  /**
   * The largest amount the token can carry that is not above `tenths` (IEC 62055-41 §2.4 steps). Supplied by
   * the STS codec; the default allows every tenth (exponent 0 range only).
   */
  readonly creditableTenths?: (tenths: bigint) => bigint;
}

export type QuoteLineCode =
  | 'amount_paid'
  | 'account_credit_used'
  | 'tax'
  | 'debt_recovery'
  | 'fixed_charge'
  | 'block'
  | 'rounding_to_account_credit';

export interface QuoteLine {
  readonly code: QuoteLineCode;
  /** Signed money effect on what is left for units (paid and credit used +, deductions −). */
  readonly amountMinor: bigint;
  /** Units bought in this line (block lines only). */
  readonly units?: bigint;
  /** 1-based block number and price (block lines only): minor units per `perUnits` base units. */
  readonly block?: number;
  readonly priceMinor?: bigint;
  readonly perUnits?: bigint;
  /** The same price per 1000 base units (per kWh or m³), when it is a whole number of minor units. */
  readonly priceMinorPerKUnit?: bigint;
  /** The time-of-use period whose price the block line is at. */
  readonly period?: PeriodRef;
}

export interface Quote {
  readonly amountPaid: bigint;
  readonly accountCreditUsed: bigint;
  readonly tax: bigint;
  readonly debtRecovery: bigint;
  readonly fixedCharges: bigint;
  /** Money spent on the units credited. */
  readonly unitsCost: bigint;
  /** Money not turned into units: it stays on the account as credit. */
  readonly toAccountCredit: bigint;
  /** Units credited, in base units (Wh or litres): a whole number of STS tenths (100 base units). */
  readonly units: bigint;
  /** The same in STS tenths of a kWh / kL. */
  readonly tenths: bigint;
  readonly lines: readonly QuoteLine[];
  /** A time-of-use tariff: its periods in the season of the sale (what the money is priced at). */
  readonly schedule?: readonly ScheduleLine[];
}

export class QuoteError extends Error {
  override readonly name = 'QuoteError';
  constructor(
    readonly code: 'amount_too_small' | 'invalid_tariff' | 'invalid_input',
    message: string,
  ) {
    super(message);
  }
}

const BASE_PER_TENTH = 100n;

function checkTariff(t: TariffTerms): void {
  try {
    pricedTariff({
      pricePerUnits: t.rate.per,
      blocks: t.rate.blocks.map((b) => ({ upToUnits: b.upToUnits, priceMinorPerUnit: b.priceMinor })),
    });
  } catch (err) {
    if (err instanceof PriceError) throw new QuoteError('invalid_tariff', err.message);
    throw err;
  }
  if (t.taxRateBp < 0 || t.debtRecoveryBp < 0 || t.debtRecoveryBp > 10_000) {
    throw new QuoteError('invalid_tariff', 'tax and debt-recovery rates must be within range');
  }
}

/** Computes the quote; throws QuoteError for an invalid tariff or an amount below the minimum purchase. */
export function quoteVend(input: QuoteInput): Quote {
  const { amountPaid, tariff } = input;
  checkTariff(tariff);
  const accountCredit = input.accountCredit ?? 0n;
  if (amountPaid <= 0n) throw new QuoteError('invalid_input', 'amount paid must be positive');
  if (input.debtOutstanding < 0n || input.fixedChargesDue < 0n || accountCredit < 0n) {
    throw new QuoteError('invalid_input', 'debt, charges due and account credit cannot be negative');
  }
  if (amountPaid < tariff.minPurchaseMinor) {
    throw new QuoteError(
      'amount_too_small',
      `the minimum purchase is ${tariff.minPurchaseMinor} minor units`,
    );
  }
  const lines: QuoteLine[] = [{ code: 'amount_paid', amountMinor: amountPaid }];
  if (accountCredit > 0n) lines.push({ code: 'account_credit_used', amountMinor: accountCredit });

  const tax = mulDivRound(amountPaid, BigInt(tariff.taxRateBp), 10_000n + BigInt(tariff.taxRateBp));
  if (tax > 0n) lines.push({ code: 'tax', amountMinor: -tax });
  const net = amountPaid - tax;

  const share = (net * BigInt(tariff.debtRecoveryBp)) / 10_000n;
  const debtRecovery = share < input.debtOutstanding ? share : input.debtOutstanding;
  if (debtRecovery > 0n) lines.push({ code: 'debt_recovery', amountMinor: -debtRecovery });

  const afterDebt = net - debtRecovery + accountCredit;
  const fixedCharges = input.fixedChargesDue < afterDebt ? input.fixedChargesDue : afterDebt;
  if (fixedCharges > 0n) lines.push({ code: 'fixed_charge', amountMinor: -fixedCharges });

  const forUnits = afterDebt - fixedCharges;
  const bought = unitsForMoney(tariff.rate, input.monthToDateUnits, forUnits);
  const boughtUnits = bought.reduce((s, b) => s + b.units, 0n);
  const creditable = input.creditableTenths ?? ((t: bigint) => (t <= 16_383n ? t : 16_383n));
  const tenths = creditable(boughtUnits / BASE_PER_TENTH);
  const units = tenths * BASE_PER_TENTH;
  const spent = costOfUnits(tariff.rate, input.monthToDateUnits, units);
  const unitsCost = spent.reduce((s, b) => s + b.cost, 0n);
  for (const b of spent) {
    const perK = pricePerThousand(b.priceMinor, b.per);
    lines.push({
      code: 'block',
      amountMinor: -b.cost,
      units: b.units,
      block: b.block,
      priceMinor: b.priceMinor,
      perUnits: b.per,
      ...(perK !== undefined ? { priceMinorPerKUnit: perK } : {}),
      ...(b.period !== null ? { period: b.period } : {}),
    });
  }
  const toAccountCredit = forUnits - unitsCost;
  if (toAccountCredit > 0n) lines.push({ code: 'rounding_to_account_credit', amountMinor: -toAccountCredit });

  return {
    amountPaid,
    accountCreditUsed: accountCredit,
    tax,
    debtRecovery,
    fixedCharges,
    unitsCost,
    toAccountCredit,
    units,
    tenths,
    lines,
  };
}
