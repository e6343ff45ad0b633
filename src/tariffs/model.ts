/**
 * What a tariff version is (docs/tariffs.md): the one zod schema of a tariff's prices and the one validator
 * that the API, the demo seed and every other writer of `tariffs` run before a version is stored. A version
 * that passes can always be priced: every block price is positive, blocks rise, and a time-of-use tariff
 * has exactly one price for every hour of every day of the year (no overlap, no gap).
 *
 * Two pricing schemes share the `tariffs` row (see {@link SCHEMES}):
 * - `blocks`: inclining blocks by units used in the local month (`blocks`, `tou` null);
 * - `tou`: time of use, by season (date ranges), day type (the utility's weekend days or not) and hour of
 *   the local day (`tou`); `blocks` then holds one open block at the highest period price, which is never
 *   used to price (readers that show one price show it as "up to").
 */
import { z } from 'zod';

/** Prices are whole minor units per `pricePerUnits` base units (Wh or litres): 1000 = per kWh or per m³. */
export const PRICE_PER_UNITS_MAX = 1_000_000;
/** A price above this (minor units per pricePerUnits) is refused: no utility sells at it, and it keeps sums in range. */
export const PRICE_MAX = 100_000_000;

export const Block = z.object({
  upToUnits: z
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .nullable()
    .describe('month-to-date units (Wh or litres) up to which this price applies; null = no bound'),
  priceMinorPerUnit: z
    .number()
    .int()
    .min(1, 'a block price must be positive: a price of 0 cannot be sold')
    .max(PRICE_MAX)
    .describe('minor units per `pricePerUnits` units (e.g. fils per kWh); at least 1'),
});
export type StoredBlock = z.infer<typeof Block>;

/** "MM-DD" of a calendar day; 02-29 is a day of leap years only. */
const MonthDay = z
  .string()
  .regex(/^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/, 'a month and day as MM-DD')
  .refine((s) => dayOfYear(s) !== null, 'no such day of the year');

export const DayType = z.enum(['all', 'weekday', 'weekend']);
export type DayType = z.infer<typeof DayType>;

export const TouPeriod = z.object({
  name: z.string().trim().min(1).max(40).describe('e.g. peak, off-peak, shoulder'),
  days: DayType.describe(
    "'weekend' = the utility's weekend days (a utility setting); 'weekday' = the others",
  ),
  fromHour: z.number().int().min(0).max(23).describe('local hour the period starts (inclusive)'),
  toHour: z
    .number()
    .int()
    .min(1)
    .max(24)
    .describe('local hour the period ends (exclusive, 24 = midnight); a period over midnight is two periods'),
  priceMinorPerUnit: z
    .number()
    .int()
    .min(1, 'a period price must be positive: a price of 0 cannot be sold')
    .max(PRICE_MAX),
});
export type TouPeriod = z.infer<typeof TouPeriod>;

export const TouSeason = z.object({
  name: z.string().trim().min(1).max(40).describe('e.g. summer'),
  from: MonthDay.describe('first local day of the season, MM-DD'),
  to: MonthDay.describe('last local day of the season (inclusive), MM-DD; before `from` = over the new year'),
  periods: z.array(TouPeriod).min(1).max(48),
});
export type TouSeason = z.infer<typeof TouSeason>;

export const Tou = z.array(TouSeason).min(1).max(12);
export type Tou = z.infer<typeof Tou>;

/** Why a tariff's prices cannot be stored: the path of the field at fault and a sentence naming it. */
export interface TariffIssue {
  readonly path: string;
  readonly message: string;
}

export class TariffError extends Error {
  override readonly name = 'TariffError';
  constructor(readonly issues: readonly TariffIssue[]) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('; '));
  }
}

const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** 0-based day of a 366-day year (02-29 included) of "MM-DD", or null for a day that does not exist. */
export function dayOfYear(monthDay: string): number | null {
  const m = Number(monthDay.slice(0, 2));
  const d = Number(monthDay.slice(3, 5));
  if (!(m >= 1 && m <= 12) || !(d >= 1 && d <= MONTH_DAYS[m - 1]!)) return null;
  let n = 0;
  for (let i = 0; i < m - 1; i++) n += MONTH_DAYS[i]!;
  return n + d - 1;
}

/** "MM-DD" of a 0-based day of the 366-day year. */
function monthDayOf(n: number): string {
  let m = 0;
  while (n >= MONTH_DAYS[m]!) n -= MONTH_DAYS[m++]!;
  return `${String(m + 1).padStart(2, '0')}-${String(n + 1).padStart(2, '0')}`;
}

/** The days of the 366-day year a season covers (a season may run over the new year). */
function seasonDays(s: TouSeason): number[] {
  const from = dayOfYear(s.from)!;
  const to = dayOfYear(s.to)!;
  const out: number[] = [];
  for (let d = from; ; d = (d + 1) % 366) {
    out.push(d);
    if (d === to) break;
  }
  return out;
}

const HOURS: readonly number[] = Array.from({ length: 24 }, (_, h) => h);

const DAY_TYPES: readonly ('weekday' | 'weekend')[] = ['weekday', 'weekend'];

function coversDayType(p: TouPeriod, t: 'weekday' | 'weekend'): boolean {
  return p.days === 'all' || p.days === t;
}

/** Every issue of a time-of-use schedule: seasons that overlap or leave a day out, periods likewise for hours. */
export function touIssues(tou: Tou): TariffIssue[] {
  const issues: TariffIssue[] = [];
  const byDay = new Map<number, number>();
  tou.forEach((s, si) => {
    for (const d of seasonDays(s)) {
      const other = byDay.get(d);
      if (other !== undefined) {
        issues.push({
          path: `tou.${si}.from`,
          message: `seasons "${tou[other]!.name}" and "${s.name}" overlap on ${monthDayOf(d)}`,
        });
        return;
      }
      byDay.set(d, si);
    }
  });
  for (let d = 0; d < 366; d++) {
    if (!byDay.has(d)) {
      issues.push({ path: 'tou', message: `no season covers ${monthDayOf(d)}: every day needs a price` });
      break;
    }
  }
  tou.forEach((s, si) => {
    s.periods.forEach((p, pi) => {
      if (p.toHour <= p.fromHour) {
        issues.push({
          path: `tou.${si}.periods.${pi}.toHour`,
          message: `period "${p.name}" ends at ${p.toHour}:00, not after it starts (${p.fromHour}:00); split a period over midnight in two`,
        });
      }
    });
    for (const t of DAY_TYPES) {
      const byHour: (number | undefined)[] = new Array(24);
      let reported = false;
      s.periods.forEach((p, pi) => {
        if (!coversDayType(p, t) || reported) return;
        for (let h = p.fromHour; h < p.toHour; h++) {
          const other = byHour[h];
          if (other !== undefined) {
            issues.push({
              path: `tou.${si}.periods.${pi}`,
              message: `season "${s.name}", ${t}s: periods "${s.periods[other]!.name}" and "${p.name}" overlap at ${h}:00`,
            });
            reported = true;
            return;
          }
          byHour[h] = pi;
        }
      });
      if (reported) continue;
      const h = HOURS.find((x) => byHour[x] === undefined);
      if (h !== undefined) {
        issues.push({
          path: `tou.${si}.periods`,
          message: `season "${s.name}", ${t}s: no period covers ${h}:00-${h + 1}:00: every hour needs a price`,
        });
      }
    }
  });
  return issues;
}

/** Blocks rise strictly and only the last is open: each problem with its place in the list. */
function blockProblems(blocks: readonly StoredBlock[]): { at: [number, string]; message: string }[] {
  const out: { at: [number, string]; message: string }[] = [];
  let previous = 0;
  blocks.forEach((b, i) => {
    const last = i === blocks.length - 1;
    if (b.priceMinorPerUnit < 1)
      out.push({ at: [i, 'priceMinorPerUnit'], message: 'a block price must be positive' });
    if (b.upToUnits === null && !last) {
      out.push({ at: [i, 'upToUnits'], message: 'only the last block may be open' });
    } else if (b.upToUnits !== null && last) {
      out.push({ at: [i, 'upToUnits'], message: 'the last block must be open (upToUnits null)' });
    } else if (b.upToUnits !== null && b.upToUnits <= previous) {
      out.push({ at: [i, 'upToUnits'], message: 'block bounds must rise' });
    }
    previous = b.upToUnits ?? previous;
  });
  return out;
}

export function blockIssues(blocks: readonly StoredBlock[], path = 'blocks'): TariffIssue[] {
  return blockProblems(blocks).map((p) => ({ path: `${path}.${p.at.join('.')}`, message: p.message }));
}

/** A blocks tariff's blocks, refused at the edge (zod) when they do not rise or the last is not open. */
export const Blocks = z
  .array(Block)
  .min(1)
  .max(20)
  .superRefine((blocks, ctx) => {
    for (const p of blockProblems(blocks)) ctx.addIssue({ code: 'custom', path: p.at, message: p.message });
  });

/** The prices of a tariff version as the API takes them (the rest of the row is the route's business). */
export const TariffPrices = z.object({
  pricePerUnits: z
    .number()
    .int()
    .positive()
    .max(PRICE_PER_UNITS_MAX)
    .default(1000)
    .describe('prices are minor units per this many base units (1000 = per kWh or per m³)'),
  blocks: Blocks.optional().describe('a blocks tariff: inclining blocks by units used in the local month'),
  tou: Tou.optional().describe(
    'a time-of-use tariff: seasons (date ranges) of periods (day type and hours), each with its price; docs/tariffs.md',
  ),
});
export type TariffPrices = z.infer<typeof TariffPrices>;

/** What is stored for a version's prices: `price_per_units`, `blocks`, `tou`. */
export interface StoredPrices {
  readonly pricePerUnits: number;
  readonly blocks: StoredBlock[];
  readonly tou: Tou | null;
}

/**
 * THE validator of a tariff's prices: every writer of `tariffs` calls it. Returns what to store, or throws
 * {@link TariffError} with every issue found (the API answers them as problem+json `tariff_invalid`).
 */
export function validateTariffPrices(input: unknown): StoredPrices {
  const parsed = TariffPrices.safeParse(input);
  if (!parsed.success) {
    throw new TariffError(
      parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message })),
    );
  }
  const p = parsed.data;
  if (p.tou !== undefined) {
    if (p.blocks !== undefined) {
      throw new TariffError([
        {
          path: 'blocks',
          message:
            'a time-of-use tariff prices each period flat: give `tou` or `blocks`, not both (docs/tariffs.md)',
        },
      ]);
    }
    const issues = touIssues(p.tou);
    if (issues.length > 0) throw new TariffError(issues);
    const ceiling = Math.max(...p.tou.flatMap((s) => s.periods.map((x) => x.priceMinorPerUnit)));
    return {
      pricePerUnits: p.pricePerUnits,
      blocks: [{ upToUnits: null, priceMinorPerUnit: ceiling }],
      tou: p.tou,
    };
  }
  if (p.blocks === undefined) {
    throw new TariffError([
      { path: 'blocks', message: 'give the blocks, or `tou` for a time-of-use tariff' },
    ]);
  }
  const issues = blockIssues(p.blocks);
  if (issues.length > 0) throw new TariffError(issues);
  return { pricePerUnits: p.pricePerUnits, blocks: p.blocks, tou: null };
}

/** The pricing scheme of a stored version. */
export type SchemeName = 'blocks' | 'tou';

export function schemeOf(prices: { readonly tou: unknown }): SchemeName {
  return prices.tou === null || prices.tou === undefined ? 'blocks' : 'tou';
}
