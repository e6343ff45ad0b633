/**
 * Consumption arithmetic for central-mode meters, pure and in integers:
 *
 * - {@link registerStep}: the units used between two cumulative register values, with a register that rolls
 *   over at its modulus and a meter whose register was reset;
 * - {@link splitByMonth}: an interval's units shared between the local calendar months it spans (a long
 *   gap in readings across a month end), in proportion to time;
 * - {@link monthToDateCost} and {@link consumptionCharge}: the money of units consumed under a blocks
 *   tariff at the month-to-date position, through the one price function of src/tariffs (which the engine
 *   calls directly, time of use included);
 * - {@link usePerDay} and {@link daysOfCreditLeft}: recent use and how long the credit lasts at that pace.
 *
 * Pricing is exact until one rounding: the cost of the month's units so far is `Σ units × price /
 * price_per_units` rounded half up, and a charge is the difference of two such costs. The charges of a
 * month therefore always add up to the rounded cost of its total, however the readings were batched.
 */
import { mulDivRound } from '../money.ts';
import { blocksScaled, pricedTariff } from '../tariffs/price.ts';
import { instantOfLocal, localTime } from './calendar.ts';

/** A stored blocks tariff (`tariffs.price_per_units`, `tariffs.blocks`), as src/tariffs reads it. */
export interface ConsumptionTariff {
  readonly blocks: readonly StoredBlockLike[];
  /** Block prices are per this many base units (1000 = per kWh or per m³). */
  readonly pricePerUnits: number | bigint;
}

interface StoredBlockLike {
  readonly upToUnits: number | bigint | null;
  readonly priceMinorPerUnit: number | bigint;
}

export class ConsumptionError extends Error {
  override readonly name = 'ConsumptionError';
  constructor(
    readonly code: 'invalid_tariff' | 'invalid_input',
    message: string,
  ) {
    super(message);
  }
}

/** What happened to a cumulative register between two readings. */
export type RegisterStepKind = 'advance' | 'unchanged' | 'rollover' | 'reset';

export interface RegisterStep {
  readonly kind: RegisterStepKind;
  /** Units consumed between the two readings (never negative). */
  readonly units: bigint;
}

/**
 * Units consumed from `previous` to `next` of a cumulative register.
 *
 * A register that went down either rolled over (it counts modulo `modulus`, and the wrapped distance is
 * small: at most a tenth of the modulus) or was reset (meter replaced or cleared): then it counts again
 * from zero, so `next` is what was used since the reset; what was used between `previous` and the reset is
 * unknown and is not charged.
 */
export function registerStep(previous: bigint, next: bigint, modulus?: bigint): RegisterStep {
  if (previous < 0n || next < 0n) throw new ConsumptionError('invalid_input', 'registers cannot be negative');
  if (next === previous) return { kind: 'unchanged', units: 0n };
  if (next > previous) return { kind: 'advance', units: next - previous };
  if (modulus !== undefined && modulus > 0n && previous < modulus && next < modulus) {
    const wrapped = modulus - previous + next;
    if (wrapped * 10n <= modulus) return { kind: 'rollover', units: wrapped };
  }
  return { kind: 'reset', units: next };
}

/** The local month last asked for in each zone: its key and its bounds as [start, end) in ms. */
const lastMonthOf = new Map<string, { readonly key: string; readonly start: number; readonly end: number }>();

/**
 * "YYYY-MM" of an instant in a zone. The engine asks this of every reading it folds, nearly always for the
 * month it asked before, so the zone's last month is kept with its bounds and the zone's clock (Intl, tens of
 * microseconds a call) is read only when an instant falls outside them.
 */
export function monthKeyOf(at: Date, timeZone: string): string {
  const t = at.getTime();
  const last = lastMonthOf.get(timeZone);
  if (last !== undefined && t >= last.start && t < last.end) return last.key;
  const l = localTime(at, timeZone);
  const key = `${l.year}-${String(l.month).padStart(2, '0')}`;
  const start = instantOfLocal(l.year, l.month, 1, 0, timeZone).getTime();
  const end = nextMonthStart(at, timeZone).getTime();
  // A month's first instant is its midnight, or where a gap at midnight ends: either way `at` is inside.
  if (start <= t && t < end) lastMonthOf.set(timeZone, { key, start, end });
  return key;
}

/** The start of the local month after the one containing `at`. */
function nextMonthStart(at: Date, timeZone: string): Date {
  const l = localTime(at, timeZone);
  const year = l.month === 12 ? l.year + 1 : l.year;
  const month = l.month === 12 ? 1 : l.month + 1;
  return instantOfLocal(year, month, 1, 0, timeZone);
}

export interface MonthShare {
  /** "YYYY-MM" in the utility's zone. */
  readonly month: string;
  readonly units: bigint;
}

/**
 * Shares `units` used over (from, to] between the local months the interval touches, in proportion to the
 * time spent in each; the rounding remainder goes to the last month. One month gives one share.
 */
export function splitByMonth(from: Date, to: Date, units: bigint, timeZone: string): MonthShare[] {
  const lastMonth = monthKeyOf(to, timeZone);
  if (to <= from || monthKeyOf(from, timeZone) === lastMonth) return [{ month: lastMonth, units }];
  const total = BigInt(to.getTime() - from.getTime());
  const shares: MonthShare[] = [];
  let cursor = from;
  let given = 0n;
  while (monthKeyOf(cursor, timeZone) !== lastMonth) {
    const end = nextMonthStart(cursor, timeZone);
    const part = (units * BigInt(end.getTime() - cursor.getTime())) / total;
    shares.push({ month: monthKeyOf(cursor, timeZone), units: part });
    given += part;
    cursor = end;
  }
  shares.push({ month: lastMonth, units: units - given });
  return shares.filter((s, i) => s.units > 0n || i === shares.length - 1);
}

/**
 * The cost of the first `units` base units of a month through the blocks, rounded half up to a minor unit
 * once, at the end (the price function of src/tariffs).
 */
export function monthToDateCost(tariff: ConsumptionTariff, units: bigint): bigint {
  const t = pricedTariff(tariff);
  return mulDivRound(blocksScaled(t.blocks, units), 1n, t.per);
}

/** The charge for `units` consumed after `monthToDate` units of the same month. */
export function consumptionCharge(tariff: ConsumptionTariff, monthToDate: bigint, units: bigint): bigint {
  return monthToDateCost(tariff, monthToDate + units) - monthToDateCost(tariff, monthToDate);
}

/** A register value at an instant. */
export interface RegisterSample {
  readonly at: Date;
  readonly value: bigint;
}

/** Shortest span of readings {@link usePerDay} trusts: an hour. */
export const MIN_USE_SPAN_MS = 3_600_000;

/**
 * Units used per day over the samples (oldest first): the sum of their steps over the time they span, or
 * `null` when they span less than {@link MIN_USE_SPAN_MS}. A reset counts the units since the reset.
 */
export function usePerDay(samples: readonly RegisterSample[], modulus?: bigint): number | null {
  if (samples.length < 2) return null;
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const span = last.at.getTime() - first.at.getTime();
  if (span < MIN_USE_SPAN_MS) return null;
  let units = 0n;
  for (let i = 1; i < samples.length; i++) {
    units += registerStep(samples[i - 1]!.value, samples[i]!.value, modulus).units;
  }
  return (Number(units) * 86_400_000) / span;
}

/**
 * Days the credit lasts at `spendPerDay` (minor units a day): 0 when there is no credit, `null` when nothing
 * is being spent (the credit lasts indefinitely, so no days-left alert can fire).
 */
export function daysOfCreditLeft(creditMinor: bigint, spendPerDay: number | null): number | null {
  if (creditMinor <= 0n) return 0;
  if (spendPerDay === null || !(spendPerDay > 0)) return null;
  return Number(creditMinor) / spendPerDay;
}
