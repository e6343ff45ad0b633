/**
 * Non-revenue energy and water per district (docs/losses.md): what the bulk meters on the district's supply
 * points let in, what its customers' meters counted, the difference and its share, per UTC day, ISO week or
 * calendar month.
 *
 * Every figure is a register difference read from `readings_daily` (TimescaleDB's continuous aggregate, or
 * the plain view on PostgreSQL and PGlite: the same rows, so the same answers). A meter's consumption over a
 * period [start, end) is its register at its last reading of the period's last day minus its register at its
 * last reading of the day before the period; the meter must also have read on the day after the period, so
 * that its last reading of the period is the nearest one to the end (a day still running is not covered).
 * A meter that has no reading on one of those three days is not covered: its consumption is unknown, and a district with an uncovered customer meter gets no loss figure
 * (status `partial`) but a bound, so that a gap in the readings is never called a loss. Late readings count
 * once they arrive (the roll-up takes them in).
 */
import type { Kysely } from 'kysely';
import type { Database, DistrictId, MeterId, MeterKind, UtilityId } from '../store/schema.ts';

export type LossPeriod = 'day' | 'week' | 'month';
export const LOSS_PERIODS: readonly LossPeriod[] = ['day', 'week', 'month'];

const DAY_MS = 86_400_000;

/** 'YYYY-MM-DD' of a UTC instant. */
export function dayString(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Milliseconds of a 'YYYY-MM-DD' UTC midnight. */
export function dayMs(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

/** The start (UTC midnight) of the period of `kind` that contains `ms`. */
export function periodStart(kind: LossPeriod, ms: number): number {
  const d = new Date(Math.floor(ms / DAY_MS) * DAY_MS);
  if (kind === 'day') return d.getTime();
  if (kind === 'week') return d.getTime() - ((d.getUTCDay() + 6) % 7) * DAY_MS;
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** The start of the period after the one starting at `start`. */
export function periodEnd(kind: LossPeriod, start: number): number {
  if (kind === 'day') return start + DAY_MS;
  if (kind === 'week') return start + 7 * DAY_MS;
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** The periods of `kind` that touch [from, to] (days, inclusive), oldest first; at most `limit`. */
export function periodsBetween(
  kind: LossPeriod,
  from: string,
  to: string,
  limit = 400,
): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  const last = dayMs(to);
  for (let s = periodStart(kind, dayMs(from)); s <= last && out.length < limit; s = periodEnd(kind, s)) {
    out.push({ start: s, end: periodEnd(kind, s) });
  }
  return out;
}

export interface DistrictMeter {
  readonly id: MeterId;
  readonly serial: string;
  readonly role: 'customer' | 'bulk';
  readonly mode: 'token' | 'central';
  readonly accountId: string | null;
}

/** The meters of a district that are in service (not decommissioned). */
export async function districtMeters(
  db: Kysely<Database>,
  utilityId: UtilityId,
  districtId: DistrictId,
): Promise<DistrictMeter[]> {
  const rows = await db
    .selectFrom('meters')
    .select(['id', 'serial', 'role', 'mode', 'account_id'])
    .where('utility_id', '=', utilityId)
    .where('district_id', '=', districtId)
    .where('status', '!=', 'decommissioned')
    .orderBy('serial')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    serial: r.serial,
    role: r.role,
    mode: r.mode,
    accountId: r.account_id,
  }));
}

/** One meter's day in the roll-up: the register at its last reading of the day and the readings' count. */
export interface MeterDay {
  readonly last: bigint;
  readonly first: bigint;
  readonly readings: number;
  readonly lastTs: Date;
}

/** Per meter, per UTC day (ms): its `readings_daily` row, for [fromMs, toMs). */
export async function meterDays(
  db: Kysely<Database>,
  kind: MeterKind,
  meterIds: readonly MeterId[],
  fromMs: number,
  toMs: number,
): Promise<Map<MeterId, Map<number, MeterDay>>> {
  const out = new Map<MeterId, Map<number, MeterDay>>();
  if (meterIds.length === 0) return out;
  const rows = await db
    .selectFrom('readings_daily')
    .select([
      'meter_id',
      'bucket',
      'readings',
      'last_ts',
      'energy_wh_min',
      'energy_wh_max',
      'volume_l_min',
      'volume_l_max',
    ])
    .where('meter_id', 'in', [...meterIds])
    .where('bucket', '>=', new Date(fromMs))
    .where('bucket', '<', new Date(toMs))
    .execute();
  for (const r of rows) {
    const last = kind === 'electricity' ? r.energy_wh_max : r.volume_l_max;
    const first = kind === 'electricity' ? r.energy_wh_min : r.volume_l_min;
    if (last === null || first === null) continue;
    let days = out.get(r.meter_id);
    if (!days) {
      days = new Map();
      out.set(r.meter_id, days);
    }
    days.set(new Date(r.bucket).getTime(), {
      last: BigInt(last),
      first: BigInt(first),
      readings: Number(r.readings),
      lastTs: new Date(r.last_ts),
    });
  }
  return out;
}

/** A meter over one period: covered (both anchors, register not gone back) or what little is known. */
export type MeterSpan =
  | { readonly covered: true; readonly units: bigint }
  | { readonly covered: false; readonly seen: bigint; readonly readings: number };

/** The consumption of one meter over [start, end) from its days (see the module comment). */
export function meterSpan(days: Map<number, MeterDay> | undefined, start: number, end: number): MeterSpan {
  const before = days?.get(start - DAY_MS);
  const lastDay = days?.get(end - DAY_MS);
  // The meter went on reading after the period: its last reading of the period is the one nearest the end.
  const after = days?.get(end);
  if (before && lastDay && after && lastDay.last >= before.last) {
    return { covered: true, units: lastDay.last - before.last };
  }
  // Not covered: what the readings inside the period show is a floor of its consumption.
  let lo: bigint | null = before ? before.last : null;
  let hi: bigint | null = null;
  let readings = 0;
  for (let d = start; d < end; d += DAY_MS) {
    const day = days?.get(d);
    if (!day) continue;
    readings += day.readings;
    if (!before && (lo === null || day.first < lo)) lo = day.first;
    if (hi === null || day.last > hi) hi = day.last;
  }
  const seen = lo !== null && hi !== null && hi > lo ? hi - lo : 0n;
  return { covered: false, seen, readings };
}

export type LossStatus = 'complete' | 'partial' | 'no_inflow';

export interface PeriodLoss {
  readonly start: string;
  /** Exclusive: the first day of the next period. */
  readonly end: string;
  readonly inflow: { readonly units: bigint | null; readonly meters: number; readonly covered: number };
  readonly consumption: {
    /** Sum over the covered customer meters. */
    readonly units: bigint;
    readonly meters: number;
    readonly covered: number;
    /** Meters with some readings in the period but not both anchors (a gap, a late meter). */
    readonly partial: number;
    /** Meters with no reading in the period at all. */
    readonly missing: number;
    /** What the partial meters' readings show at least. */
    readonly partialUnits: bigint;
  };
  /** complete: every meter covered; partial: a customer meter is not (no loss figure); no_inflow: a bulk meter is not. */
  readonly status: LossStatus;
  readonly loss: { readonly units: bigint; readonly shareBp: number } | null;
  /** When partial: the loss is at most this (inflow − covered − what the partial meters showed). */
  readonly lossAtMost: bigint | null;
}

/** The loss of a district for each period of `kind` touching [from, to]. */
export async function districtLoss(
  db: Kysely<Database>,
  utilityId: UtilityId,
  district: { readonly id: DistrictId; readonly kind: MeterKind },
  kind: LossPeriod,
  from: string,
  to: string,
): Promise<PeriodLoss[]> {
  const periods = periodsBetween(kind, from, to);
  if (periods.length === 0) return [];
  const meters = await districtMeters(db, utilityId, district.id);
  const first = periods[0]!.start - DAY_MS;
  const last = periods.at(-1)!.end + DAY_MS;
  const days = await meterDays(
    db,
    district.kind,
    meters.map((m) => m.id),
    first,
    last,
  );
  return periods.map((p) => periodLoss(meters, days, p.start, p.end));
}

export function periodLoss(
  meters: readonly DistrictMeter[],
  days: Map<MeterId, Map<number, MeterDay>>,
  start: number,
  end: number,
): PeriodLoss {
  let inflow = 0n;
  let bulk = 0;
  let bulkCovered = 0;
  let units = 0n;
  let customers = 0;
  let covered = 0;
  let partial = 0;
  let missing = 0;
  let partialUnits = 0n;
  for (const m of meters) {
    const span = meterSpan(days.get(m.id), start, end);
    if (m.role === 'bulk') {
      bulk++;
      if (span.covered) {
        bulkCovered++;
        inflow += span.units;
      }
      continue;
    }
    customers++;
    if (span.covered) {
      covered++;
      units += span.units;
    } else if (span.readings > 0) {
      partial++;
      partialUnits += span.seen;
    } else {
      missing++;
    }
  }
  const inflowKnown = bulk > 0 && bulkCovered === bulk;
  const status: LossStatus = !inflowKnown ? 'no_inflow' : covered === customers ? 'complete' : 'partial';
  const lossUnits = inflow - units;
  return {
    start: dayString(start),
    end: dayString(end),
    inflow: { units: inflowKnown ? inflow : null, meters: bulk, covered: bulkCovered },
    consumption: { units, meters: customers, covered, partial, missing, partialUnits },
    status,
    loss:
      status === 'complete'
        ? { units: lossUnits, shareBp: inflow > 0n ? Number((lossUnits * 10_000n) / inflow) : 0 }
        : null,
    lossAtMost: status === 'partial' ? inflow - units - partialUnits : null,
  };
}
