/**
 * The one price function of Rasid (docs/tariffs.md "Rounding"): how units become money for a vend quote and
 * for central-mode consumption, in integers only.
 *
 * - A price is whole minor units per `per` base units (Wh or litres). Costs are kept *scaled* (minor units ×
 *   `per`) until one rounding, so nothing is lost between blocks, periods or readings.
 * - Vend (money → units, {@link unitsForMoney}): the units a sum buys are rounded DOWN to a whole base unit
 *   and their cost UP to a whole minor unit, block by block; the money of what could not be bought is never
 *   kept by the utility: the vend leaves it on the account as credit.
 * - Consumption (units → money, {@link chargeShare}): the month's cost so far is Σ units × price, rounded half
 *   up once; a charge is the difference of the rounded cost after and before it, so the charges of a month
 *   add up to the rounded cost of its total however readings were batched.
 * - Time of use: an interval between two readings is cut at every local hour boundary (and so at every
 *   period, day and season change); its units are shared between the pieces in proportion to time, each
 *   share rounded down to a base unit and the remainder given to the last piece (the reading that ends it).
 */

import { localTime } from '../balance/calendar.ts';
import { ceilDiv, mulDivRound } from '../money.ts';
import { dayOfYear, type StoredBlock, type Tou, type TouPeriod } from './model.ts';

/** The one block type: the price applies while the month-to-date units are below `upToUnits`. */
export interface PriceBlock {
  /** Upper bound in base units (Wh or litres), month to date; null for the last, open block. */
  readonly upToUnits: bigint | null;
  /** Minor units per `per` base units. */
  readonly priceMinor: bigint;
}

/** Where a time-of-use price comes from. */
export interface PeriodRef {
  readonly season: string;
  readonly period: string;
}

/** The prices in force at one instant: blocks over `per` base units, and the period they belong to. */
export interface Rate {
  readonly per: bigint;
  readonly blocks: readonly PriceBlock[];
  readonly period: PeriodRef | null;
}

/** A stored tariff version as the price function reads it. */
export interface PricedTariff {
  readonly per: bigint;
  readonly blocks: readonly PriceBlock[];
  readonly tou: Tou | null;
}

/** The utility's clock: its IANA zone and its weekend days (ISO weekdays, 1 = Monday). */
export interface TariffClock {
  readonly timeZone: string;
  readonly weekendDays: readonly number[];
}

export class PriceError extends Error {
  override readonly name = 'PriceError';
  constructor(
    readonly code: 'invalid_tariff' | 'invalid_input',
    message: string,
  ) {
    super(message);
  }
}

/** Reads a stored version (`tariffs` row or its API shape). */
export function pricedTariff(row: {
  readonly pricePerUnits: number | bigint;
  readonly blocks: readonly StoredBlock[] | readonly PriceBlockLike[];
  readonly tou?: Tou | null;
}): PricedTariff {
  const per = BigInt(row.pricePerUnits);
  if (per <= 0n) throw new PriceError('invalid_tariff', 'price_per_units must be positive');
  const blocks = row.blocks.map((b) => ({
    upToUnits: b.upToUnits === null ? null : BigInt(b.upToUnits),
    priceMinor: BigInt(b.priceMinorPerUnit),
  }));
  checkBlocks(blocks);
  return { per, blocks, tou: row.tou ?? null };
}

interface PriceBlockLike {
  readonly upToUnits: number | bigint | null;
  readonly priceMinorPerUnit: number | bigint;
}

function checkBlocks(blocks: readonly PriceBlock[]): void {
  if (blocks.length === 0) throw new PriceError('invalid_tariff', 'tariff has no blocks');
  let last = 0n;
  blocks.forEach((b, i) => {
    if (b.priceMinor <= 0n) throw new PriceError('invalid_tariff', `block ${i + 1}: price must be positive`);
    if (b.upToUnits === null && i !== blocks.length - 1) {
      throw new PriceError('invalid_tariff', `block ${i + 1}: only the last block may be open-ended`);
    }
    if (b.upToUnits !== null) {
      if (b.upToUnits <= last) throw new PriceError('invalid_tariff', `block ${i + 1}: bounds must increase`);
      last = b.upToUnits;
    }
  });
  if (blocks.at(-1)?.upToUnits !== null) {
    throw new PriceError('invalid_tariff', 'the last block must be open-ended');
  }
}

// ---- Time of use ------------------------------------------------------------------------------------

/** Day of the 366-day year of a local date (02-29 counted, so 03-01 is day 60 in every year). */
function localDayOfYear(month: number, day: number): number {
  return dayOfYear(`${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`)!;
}

/** The season and period of a time-of-use schedule at an instant, in the utility's zone. */
export function periodAt(
  tou: Tou,
  at: Date,
  clock: TariffClock,
): { readonly season: string; readonly period: TouPeriod } {
  const l = localTime(at, clock.timeZone);
  const doy = localDayOfYear(l.month, l.day);
  const hour = Math.floor(l.minute / 60);
  const dayType = clock.weekendDays.includes(l.isoWeekday) ? 'weekend' : 'weekday';
  for (const s of tou) {
    const from = dayOfYear(s.from)!;
    const to = dayOfYear(s.to)!;
    const inSeason = from <= to ? doy >= from && doy <= to : doy >= from || doy <= to;
    if (!inSeason) continue;
    const p = s.periods.find(
      (x) => (x.days === 'all' || x.days === dayType) && hour >= x.fromHour && hour < x.toHour,
    );
    if (p) return { season: s.name, period: p };
  }
  throw new PriceError('invalid_tariff', `no time-of-use period covers ${at.toISOString()}`);
}

/** The prices in force at `at`: the blocks, or the time-of-use period's one price. */
export function rateAt(t: PricedTariff, at: Date, clock: TariffClock): Rate {
  if (t.tou === null) return { per: t.per, blocks: t.blocks, period: null };
  const { season, period } = periodAt(t.tou, at, clock);
  return {
    per: t.per,
    blocks: [{ upToUnits: null, priceMinor: BigInt(period.priceMinorPerUnit) }],
    period: { season, period: period.name },
  };
}

/** The next local hour boundary after `at` (every period, day and season change is one). */
function nextHour(at: Date, timeZone: string): Date {
  const l = localTime(at, timeZone);
  const intoMinute = ((at.getTime() % 60_000) + 60_000) % 60_000;
  return new Date(at.getTime() - intoMinute + (60 - (l.minute % 60)) * 60_000);
}

/** The schedule of the season in force at `at`, for a quote or a receipt: each period with its price. */
export interface ScheduleLine {
  readonly season: string;
  readonly period: string;
  readonly days: 'all' | 'weekday' | 'weekend';
  readonly fromHour: number;
  readonly toHour: number;
  readonly priceMinor: bigint;
  readonly per: bigint;
  /** The period in force at `at`. */
  readonly current: boolean;
}

export function scheduleAt(t: PricedTariff, at: Date, clock: TariffClock): ScheduleLine[] {
  if (t.tou === null) return [];
  const now = periodAt(t.tou, at, clock);
  const season = t.tou.find((s) => s.name === now.season)!;
  return season.periods.map((p) => ({
    season: season.name,
    period: p.name,
    days: p.days,
    fromHour: p.fromHour,
    toHour: p.toHour,
    priceMinor: BigInt(p.priceMinorPerUnit),
    per: t.per,
    current: p === now.period,
  }));
}

// ---- Vend: money → units ----------------------------------------------------------------------------

export interface BlockSpend {
  /** 1-based block number. */
  readonly block: number;
  readonly priceMinor: bigint;
  readonly per: bigint;
  readonly units: bigint;
  /** Rounded up to a minor unit. */
  readonly cost: bigint;
  readonly period: PeriodRef | null;
}

/** Units `money` buys from `position`, block by block: units rounded down, each block's cost rounded up. */
export function unitsForMoney(rate: Rate, position: bigint, money: bigint): BlockSpend[] {
  const out: BlockSpend[] = [];
  let left = money;
  let pos = position;
  for (let i = 0; i < rate.blocks.length && left > 0n; i++) {
    const b = rate.blocks[i]!;
    if (b.upToUnits !== null && pos >= b.upToUnits) continue;
    const room = b.upToUnits === null ? null : b.upToUnits - pos;
    const affordable = (left * rate.per) / b.priceMinor;
    const units = room === null || affordable < room ? affordable : room;
    if (units === 0n) break;
    const cost = ceilDiv(units * b.priceMinor, rate.per);
    out.push({ block: i + 1, priceMinor: b.priceMinor, per: rate.per, units, cost, period: rate.period });
    left -= cost;
    pos += units;
  }
  return out;
}

/** Cost of exactly `units` base units from `position`, each block's cost rounded up to a minor unit. */
export function costOfUnits(rate: Rate, position: bigint, units: bigint): BlockSpend[] {
  const out: BlockSpend[] = [];
  let want = units;
  let pos = position;
  for (let i = 0; i < rate.blocks.length && want > 0n; i++) {
    const b = rate.blocks[i]!;
    if (b.upToUnits !== null && pos >= b.upToUnits) continue;
    const room = b.upToUnits === null ? want : b.upToUnits - pos;
    const take = want < room ? want : room;
    out.push({
      block: i + 1,
      priceMinor: b.priceMinor,
      per: rate.per,
      units: take,
      cost: ceilDiv(take * b.priceMinor, rate.per),
      period: rate.period,
    });
    want -= take;
    pos += take;
  }
  return out;
}

/** Price per 1000 base units (per kWh or m³) when exact, for a display that shows one; else undefined. */
export function pricePerThousand(priceMinor: bigint, per: bigint): bigint | undefined {
  return (priceMinor * 1000n) % per === 0n ? (priceMinor * 1000n) / per : undefined;
}

// ---- Consumption: units → money ---------------------------------------------------------------------

/** Σ units × price of the first `units` base units of a month through the blocks (minor units × per). */
export function blocksScaled(blocks: readonly PriceBlock[], units: bigint): bigint {
  if (units < 0n) throw new PriceError('invalid_input', 'units cannot be negative');
  let scaled = 0n;
  let floor = 0n;
  for (const block of blocks) {
    if (floor >= units) break;
    const top = block.upToUnits === null ? units : block.upToUnits;
    const inBlock = (top < units ? top : units) - floor;
    if (inBlock > 0n) scaled += inBlock * block.priceMinor;
    if (top > floor) floor = top;
  }
  return scaled;
}

/** A month's consumption so far: its units and their scaled cost (minor units × `per`). */
export interface MonthPosition {
  readonly units: bigint;
  readonly scaled: bigint;
  readonly per: bigint;
}

export const EMPTY_POSITION = (per: bigint): MonthPosition => ({ units: 0n, scaled: 0n, per });

/** The units of an interval in one local month and (time of use) one period. */
export interface ConsumptionShare {
  /** "YYYY-MM" in the utility's zone. */
  readonly month: string;
  readonly units: bigint;
  /** The time-of-use period (null for a blocks tariff). */
  readonly period: PeriodRef | null;
  readonly priceMinor: bigint | null;
}

function monthKeyOf(at: Date, timeZone: string): string {
  const l = localTime(at, timeZone);
  return `${l.year}-${String(l.month).padStart(2, '0')}`;
}

/**
 * The units used over (from, to] of a time-of-use tariff cut by local hour, shared in proportion to time
 * (each share rounded down, the remainder to the last piece), then merged where month and period repeat.
 */
export function touShares(
  tou: Tou,
  clock: TariffClock,
  from: Date,
  to: Date,
  units: bigint,
): ConsumptionShare[] {
  const share = (at: Date, u: bigint): ConsumptionShare => {
    const { season, period } = periodAt(tou, at, clock);
    return {
      month: monthKeyOf(at, clock.timeZone),
      units: u,
      period: { season, period: period.name },
      priceMinor: BigInt(period.priceMinorPerUnit),
    };
  };
  if (to <= from) return [share(new Date(to.getTime() - 1), units)];
  const total = BigInt(to.getTime() - from.getTime());
  const pieces: ConsumptionShare[] = [];
  let cursor = from;
  let given = 0n;
  while (cursor < to) {
    const boundary = nextHour(cursor, clock.timeZone);
    const end = boundary < to ? boundary : to;
    const last = end.getTime() === to.getTime();
    const u = last ? units - given : (units * BigInt(end.getTime() - cursor.getTime())) / total;
    given += u;
    pieces.push(share(cursor, u));
    cursor = end;
  }
  const merged: ConsumptionShare[] = [];
  for (const p of pieces) {
    const prev = merged.at(-1);
    if (
      prev &&
      prev.month === p.month &&
      prev.period?.season === p.period?.season &&
      prev.period?.period === p.period?.period &&
      prev.priceMinor === p.priceMinor
    ) {
      merged[merged.length - 1] = { ...prev, units: prev.units + p.units };
    } else {
      merged.push(p);
    }
  }
  return merged;
}

/**
 * The charge of one share after `position` (same month): a blocks tariff prices the month's units through
 * its blocks, a time-of-use tariff adds the share at its period's price; either way the charge is the rounded
 * (half up) scaled cost after minus the rounded cost before.
 */
export function chargeShare(
  t: PricedTariff,
  position: MonthPosition,
  share: ConsumptionShare,
): { readonly amount: bigint; readonly position: MonthPosition } {
  let before = position.scaled;
  if (position.per !== t.per) {
    // The price base changed with a new version: carry what was charged, exactly, in the new base.
    before = mulDivRound(position.scaled, 1n, position.per) * t.per;
  }
  let after: bigint;
  if (t.tou === null || share.priceMinor === null) {
    before = blocksScaled(t.blocks, position.units);
    after = blocksScaled(t.blocks, position.units + share.units);
  } else {
    after = before + share.units * share.priceMinor;
  }
  const amount = mulDivRound(after, 1n, t.per) - mulDivRound(before, 1n, t.per);
  return { amount, position: { units: position.units + share.units, scaled: after, per: t.per } };
}

/** The shares of an interval: by month for a blocks tariff, by month and period for a time-of-use one. */
export function consumptionShares(
  t: PricedTariff,
  clock: TariffClock,
  from: Date,
  to: Date,
  units: bigint,
  byMonth: (from: Date, to: Date, units: bigint) => readonly { month: string; units: bigint }[],
): ConsumptionShare[] {
  if (t.tou !== null) return touShares(t.tou, clock, from, to, units);
  return byMonth(from, to, units).map((s) => ({ ...s, period: null, priceMinor: null }));
}

/**
 * What `units` used over (from, to] cost after `position` (the month of `from`), in one figure: the days-left
 * estimate and a reported energy credit are valued with it.
 */
export function costOver(
  t: PricedTariff,
  clock: TariffClock,
  position: MonthPosition,
  from: Date,
  to: Date,
  units: bigint,
): bigint {
  let pos = position;
  let amount = 0n;
  let month: string | null = null;
  const shares =
    t.tou === null
      ? [{ month: '', units, period: null, priceMinor: null }]
      : touShares(t.tou, clock, from, to, units);
  for (const s of shares) {
    if (month !== null && s.month !== month) pos = EMPTY_POSITION(t.per);
    month = s.month;
    const r = chargeShare(t, pos, s);
    amount += r.amount;
    pos = r.position;
  }
  return amount;
}
