/**
 * The vend quote: how a payment becomes units (ARCHITECTURE.md "Money, tariffs, units"). A pure function of
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
import { ceilDiv, mulDivRound } from '../money.ts';

/** One block of a tariff: the price applies while the month-to-date units are below `upToUnits`. */
export interface TariffBlock {
  /** Upper bound of the block in base units (Wh or litres), month to date; null for the last block. */
  readonly upToUnits: bigint | null;
  /** Price in minor units per 1000 base units (per kWh or per m³). */
  readonly priceMinorPerKUnit: bigint;
}

export interface TariffTerms {
  readonly taxRateBp: number;
  readonly debtRecoveryBp: number;
  readonly minPurchaseMinor: bigint;
  readonly blocks: readonly TariffBlock[];
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
  /** 1-based block number and price (block lines only). */
  readonly block?: number;
  readonly priceMinorPerKUnit?: bigint;
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
const BASE_PER_PRICE_UNIT = 1000n;

interface BlockSpend {
  readonly block: number;
  readonly price: bigint;
  readonly units: bigint;
  readonly cost: bigint;
}

/** Units the money buys from `position`, block by block; each block's cost rounded up to a minor unit. */
function spendThroughBlocks(blocks: readonly TariffBlock[], position: bigint, money: bigint): BlockSpend[] {
  const out: BlockSpend[] = [];
  let left = money;
  let pos = position;
  for (let i = 0; i < blocks.length && left > 0n; i++) {
    const b = blocks[i]!;
    if (b.upToUnits !== null && pos >= b.upToUnits) continue;
    const room = b.upToUnits === null ? null : b.upToUnits - pos;
    const price = b.priceMinorPerKUnit;
    const affordable = (left * BASE_PER_PRICE_UNIT) / price;
    const units = room === null || affordable < room ? affordable : room;
    if (units === 0n) break;
    const cost = ceilDiv(units * price, BASE_PER_PRICE_UNIT);
    out.push({ block: i + 1, price, units, cost });
    left -= cost;
    pos += units;
  }
  return out;
}

/** Cost of exactly `units` base units from `position` through the blocks. */
function costOfUnits(blocks: readonly TariffBlock[], position: bigint, units: bigint): BlockSpend[] {
  const out: BlockSpend[] = [];
  let want = units;
  let pos = position;
  for (let i = 0; i < blocks.length && want > 0n; i++) {
    const b = blocks[i]!;
    if (b.upToUnits !== null && pos >= b.upToUnits) continue;
    const room = b.upToUnits === null ? want : b.upToUnits - pos;
    const take = want < room ? want : room;
    out.push({
      block: i + 1,
      price: b.priceMinorPerKUnit,
      units: take,
      cost: ceilDiv(take * b.priceMinorPerKUnit, BASE_PER_PRICE_UNIT),
    });
    want -= take;
    pos += take;
  }
  return out;
}

function checkTariff(t: TariffTerms): void {
  if (t.blocks.length === 0) throw new QuoteError('invalid_tariff', 'tariff has no blocks');
  let last = -1n;
  t.blocks.forEach((b, i) => {
    if (b.priceMinorPerKUnit <= 0n)
      throw new QuoteError('invalid_tariff', `block ${i + 1}: price must be positive`);
    if (b.upToUnits === null && i !== t.blocks.length - 1) {
      throw new QuoteError('invalid_tariff', `block ${i + 1}: only the last block may be open-ended`);
    }
    if (b.upToUnits !== null) {
      if (b.upToUnits <= last) throw new QuoteError('invalid_tariff', `block ${i + 1}: bounds must increase`);
      last = b.upToUnits;
    }
  });
  if (t.blocks.at(-1)?.upToUnits !== null) {
    throw new QuoteError('invalid_tariff', 'the last block must be open-ended');
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
  const bought = spendThroughBlocks(tariff.blocks, input.monthToDateUnits, forUnits);
  const boughtUnits = bought.reduce((s, b) => s + b.units, 0n);
  const creditable = input.creditableTenths ?? ((t: bigint) => (t <= 16_383n ? t : 16_383n));
  const tenths = creditable(boughtUnits / BASE_PER_TENTH);
  const units = tenths * BASE_PER_TENTH;
  const spent = costOfUnits(tariff.blocks, input.monthToDateUnits, units);
  const unitsCost = spent.reduce((s, b) => s + b.cost, 0n);
  for (const b of spent) {
    lines.push({
      code: 'block',
      amountMinor: -b.cost,
      units: b.units,
      block: b.block,
      priceMinorPerKUnit: b.price,
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
