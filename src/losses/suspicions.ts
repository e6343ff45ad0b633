/**
 * A district's suspicion list (docs/losses.md): customer meters worth a field visit, each with its evidence.
 *
 * - `consumption_drop`: the meter's daily consumption in the recent window fell to at most `dropRatio` of its
 *   own baseline, and to at most `dropRatio` of what its neighbours (the district's other customer meters)
 *   kept of theirs, so a district-wide fall (a holiday, the weather) flags nobody;
 * - `tamper`: tamper, cover-open or magnetic events from the meter in the recent window;
 * - `silent`: no reading in the recent window while the district's inflow is normal (at least
 *   `inflowNormalRatio` of its baseline): the supply is on, the meter says nothing;
 * - `purchases_stopped`: a token meter that was bought for in the baseline and not in the recent window,
 *   while its account is active with a holder (the premises are occupied).
 *
 * Daily consumption comes from `readings_daily` (the same roll-up as the loss report): the register at the
 * last reading of a day minus the one of the day before, only where both days have readings.
 */
import type { Kysely } from 'kysely';
import type { Database, DistrictId, MeterId, MeterKind, UtilityId } from '../store/schema.ts';
import { dayMs, dayString, districtMeters, type MeterDay, meterDays } from './report.ts';

const DAY_MS = 86_400_000;
export const TAMPER_KINDS = ['tamper', 'cover_open', 'magnetic'] as const;

export type SuspicionReason = 'consumption_drop' | 'tamper' | 'silent' | 'purchases_stopped';

export interface SuspicionOptions {
  /** The recent window ends before this day (exclusive), 'YYYY-MM-DD'. */
  readonly to: string;
  /** Days of the recent window (default 7). */
  readonly recentDays?: number;
  /** Days of the baseline before it (default 28). */
  readonly baselineDays?: number;
  /** Flag a fall to at most this share of the baseline (default 0.6). */
  readonly dropRatio?: number;
  /** The inflow counts as normal at this share of its baseline or more (default 0.8). */
  readonly inflowNormalRatio?: number;
}

export interface Suspicion {
  readonly meterId: MeterId;
  readonly serial: string;
  readonly accountId: string | null;
  readonly reasons: readonly SuspicionReason[];
  readonly evidence: Record<string, unknown>;
}

export interface SuspicionList {
  readonly recent: { readonly from: string; readonly to: string };
  readonly baseline: { readonly from: string; readonly to: string };
  /** Median over the customer meters with both figures of recent ÷ baseline daily consumption. */
  readonly neighboursRatio: number | null;
  /** The district's inflow recent ÷ baseline (daily), null without covered bulk meters. */
  readonly inflowRatio: number | null;
  readonly meters: readonly Suspicion[];
}

/** Average daily consumption over the days of [from, to) that have a figure; null when none has. */
export function dailyAverage(
  days: Map<number, MeterDay> | undefined,
  from: number,
  to: number,
): number | null {
  if (!days) return null;
  let sum = 0n;
  let n = 0;
  for (let d = from; d < to; d += DAY_MS) {
    const today = days.get(d);
    const before = days.get(d - DAY_MS);
    if (!today || !before || today.last < before.last) continue;
    sum += today.last - before.last;
    n++;
  }
  return n === 0 ? null : Number(sum) / n;
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

export async function districtSuspicions(
  db: Kysely<Database>,
  utilityId: UtilityId,
  district: { readonly id: DistrictId; readonly kind: MeterKind },
  opts: SuspicionOptions,
): Promise<SuspicionList> {
  const recentDays = opts.recentDays ?? 7;
  const baselineDays = opts.baselineDays ?? 28;
  const dropRatio = opts.dropRatio ?? 0.6;
  const inflowNormal = opts.inflowNormalRatio ?? 0.8;
  const to = dayMs(opts.to);
  const recentFrom = to - recentDays * DAY_MS;
  const baseFrom = recentFrom - baselineDays * DAY_MS;
  const meters = await districtMeters(db, utilityId, district.id);
  const days = await meterDays(
    db,
    district.kind,
    meters.map((m) => m.id),
    baseFrom - DAY_MS,
    to,
  );
  const customers = meters.filter((m) => m.role === 'customer');
  const bulk = meters.filter((m) => m.role === 'bulk');

  // The inflow: the sum of the bulk meters' daily averages, when every one has both.
  let inflowRatio: number | null = null;
  if (bulk.length > 0) {
    const recent = bulk.map((m) => dailyAverage(days.get(m.id), recentFrom, to));
    const base = bulk.map((m) => dailyAverage(days.get(m.id), baseFrom, recentFrom));
    if (recent.every((x) => x !== null) && base.every((x) => x !== null)) {
      const b = base.reduce<number>((a, x) => a + (x ?? 0), 0);
      const r = recent.reduce<number>((a, x) => a + (x ?? 0), 0);
      inflowRatio = b > 0 ? r / b : null;
    }
  }

  const figures = new Map<MeterId, { recent: number | null; base: number | null }>();
  for (const m of customers) {
    figures.set(m.id, {
      recent: dailyAverage(days.get(m.id), recentFrom, to),
      base: dailyAverage(days.get(m.id), baseFrom, recentFrom),
    });
  }
  const ratios = [...figures.values()].flatMap((f) =>
    f.recent !== null && f.base !== null && f.base > 0 ? [f.recent / f.base] : [],
  );
  const neighboursRatio = median(ratios);
  const neighboursDaily = median([...figures.values()].flatMap((f) => (f.recent !== null ? [f.recent] : [])));

  const ids = customers.map((m) => m.id);
  const tampers =
    ids.length === 0
      ? []
      : await db
          .selectFrom('meter_events')
          .select(['meter_id', 'kind', 'ts'])
          .where('meter_id', 'in', ids)
          .where('kind', 'in', [...TAMPER_KINDS])
          .where('ts', '>=', new Date(recentFrom))
          .where('ts', '<', new Date(to))
          .orderBy('ts')
          .execute();
  const tokenMeters = customers.filter((m) => m.mode === 'token' && m.accountId !== null).map((m) => m.id);
  const vends =
    tokenMeters.length === 0
      ? []
      : await db
          .selectFrom('vends')
          .select(['meter_id', 'created_at'])
          .where('meter_id', 'in', tokenMeters)
          .where('status', '!=', 'reversed')
          .where('created_at', '>=', new Date(baseFrom))
          .where('created_at', '<', new Date(to))
          .execute();
  const accountIds = customers.flatMap((m) => (m.accountId ? [m.accountId] : []));
  const occupied =
    accountIds.length === 0
      ? []
      : await db
          .selectFrom('accounts as a')
          .innerJoin('account_holders as h', (j) =>
            j.onRef('h.account_id', '=', 'a.id').on('h.to_at', 'is', null),
          )
          .select(['a.id', 'h.from_at'])
          .where('a.id', 'in', accountIds as never[])
          .where('a.status', '=', 'active')
          .execute();
  const holderSince = new Map(occupied.map((o) => [o.id as string, o.from_at]));

  const out: Suspicion[] = [];
  for (const m of customers) {
    const reasons: SuspicionReason[] = [];
    const evidence: Record<string, unknown> = {};
    const f = figures.get(m.id)!;
    if (
      f.recent !== null &&
      f.base !== null &&
      f.base > 0 &&
      neighboursRatio !== null &&
      neighboursRatio > 0
    ) {
      const ratio = f.recent / f.base;
      const relative = ratio / neighboursRatio;
      if (ratio <= dropRatio && relative <= dropRatio) {
        reasons.push('consumption_drop');
        evidence.consumption = {
          baselineDaily: Math.round(f.base),
          recentDaily: Math.round(f.recent),
          ratio: round(ratio),
          neighboursRatio: round(neighboursRatio),
          neighboursRecentDaily: neighboursDaily === null ? null : Math.round(neighboursDaily),
          neighbours: ratios.length - 1,
        };
      }
    }
    const events = tampers.filter((t) => t.meter_id === m.id);
    if (events.length > 0) {
      reasons.push('tamper');
      evidence.tamper = {
        events: events.length,
        kinds: [...new Set(events.map((e) => e.kind))],
        lastAt: events.at(-1)!.ts.toISOString(),
      };
    }
    const mine = days.get(m.id);
    let lastReading: Date | null = null;
    let recentReadings = 0;
    for (const [d, day] of mine ?? []) {
      if (d >= recentFrom && d < to) recentReadings += day.readings;
      if (lastReading === null || day.lastTs > lastReading) lastReading = day.lastTs;
    }
    if (recentReadings === 0 && inflowRatio !== null && inflowRatio >= inflowNormal) {
      reasons.push('silent');
      evidence.silent = {
        lastReadingAt: lastReading === null ? null : lastReading.toISOString(),
        inflowRatio: round(inflowRatio),
      };
    }
    if (m.mode === 'token' && m.accountId !== null && holderSince.has(m.accountId)) {
      const bought = vends.filter((v) => v.meter_id === m.id);
      const before = bought.filter((v) => v.created_at.getTime() < recentFrom);
      const recent = bought.length - before.length;
      if (before.length > 0 && recent === 0) {
        reasons.push('purchases_stopped');
        evidence.purchases = {
          inBaseline: before.length,
          inRecent: 0,
          lastAt: before
            .map((v) => v.created_at)
            .reduce((a, b) => (a > b ? a : b))
            .toISOString(),
          holderSince: holderSince.get(m.accountId)!.toISOString(),
        };
      }
    }
    if (reasons.length > 0)
      out.push({ meterId: m.id, serial: m.serial, accountId: m.accountId, reasons, evidence });
  }
  return {
    recent: { from: dayString(recentFrom), to: dayString(to) },
    baseline: { from: dayString(baseFrom), to: dayString(recentFrom) },
    neighboursRatio: neighboursRatio === null ? null : round(neighboursRatio),
    inflowRatio: inflowRatio === null ? null : round(inflowRatio),
    meters: out,
  };
}

/** One meter's daily consumption beside its district's median, for the comparison screen. */
export interface MeterComparison {
  readonly meterId: MeterId;
  readonly serial: string;
  readonly days: readonly {
    readonly day: string;
    readonly units: bigint | null;
    readonly neighboursMedian: number | null;
  }[];
}

export async function meterComparison(
  db: Kysely<Database>,
  utilityId: UtilityId,
  district: { readonly id: DistrictId; readonly kind: MeterKind },
  meter: { readonly id: MeterId; readonly serial: string },
  from: string,
  to: string,
): Promise<MeterComparison> {
  const start = dayMs(from);
  const end = dayMs(to) + DAY_MS;
  const meters = (await districtMeters(db, utilityId, district.id)).filter((m) => m.role === 'customer');
  const days = await meterDays(
    db,
    district.kind,
    meters.map((m) => m.id),
    start - DAY_MS,
    end,
  );
  const out: MeterComparison['days'][number][] = [];
  for (let d = start; d < end && out.length < 400; d += DAY_MS) {
    const unitsOf = (id: MeterId): bigint | null => {
      const today = days.get(id)?.get(d);
      const before = days.get(id)?.get(d - DAY_MS);
      return today && before && today.last >= before.last ? today.last - before.last : null;
    };
    const others = meters
      .filter((m) => m.id !== meter.id)
      .flatMap((m) => {
        const u = unitsOf(m.id);
        return u === null ? [] : [Number(u)];
      });
    const med = median(others);
    out.push({
      day: dayString(d),
      units: unitsOf(meter.id),
      neighboursMedian: med === null ? null : Math.round(med),
    });
  }
  return { meterId: meter.id, serial: meter.serial, days: out };
}
