/**
 * A meter's consumption per UTC day, ISO week or month, from the daily roll-up of its cumulative register
 * (`readings_daily`). The customer's own view and the staff's fleet view answer it alike; each route first
 * makes sure the caller may see the meter.
 */
import { RasidError } from '../errors.ts';
import type { Queryable } from '../store/ledger.ts';
import type { MeterId, MeterKind } from '../store/schema.ts';

const DAY_MS = 86_400_000;

export const CONSUMPTION_BUCKETS = ['day', 'week', 'month'] as const;
export type ConsumptionBucket = (typeof CONSUMPTION_BUCKETS)[number];

/** The unit of a meter's register and consumption. */
export const unitOf = (kind: MeterKind) => (kind === 'electricity' ? ('Wh' as const) : ('L' as const));

export function startOfBucket(t: Date, bucket: ConsumptionBucket): Date {
  const day = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  if (bucket === 'day') return day;
  if (bucket === 'month') return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1));
  const isoWeekday = (day.getUTCDay() + 6) % 7; // Monday = 0
  return new Date(day.getTime() - isoWeekday * DAY_MS);
}

function nextBucket(start: Date, bucket: ConsumptionBucket): Date {
  if (bucket === 'day') return new Date(start.getTime() + DAY_MS);
  if (bucket === 'week') return new Date(start.getTime() + 7 * DAY_MS);
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}

export interface ConsumptionPoint {
  readonly start: Date;
  readonly end: Date;
  readonly units: bigint;
  readonly readings: number;
}

/**
 * Consumption per UTC day, ISO week or month between `from` and `to`, from the daily roll-up of the
 * cumulative register: a bucket's use is its last register value less the previous bucket's (or, for the
 * first, the last reading before `from`, else the bucket's own first value). Use across a gap in the
 * readings lands in the bucket of the next reading; a register that went down (a reset) counts from zero.
 * Buckets without readings are left out.
 */
export async function consumptionSeries(
  db: Queryable,
  meter: { id: MeterId; kind: MeterKind },
  bucket: ConsumptionBucket,
  from: Date,
  to: Date,
): Promise<ConsumptionPoint[]> {
  const electricity = meter.kind === 'electricity';
  const rows = await db
    .selectFrom('readings_daily')
    .select([
      'bucket',
      'readings',
      electricity ? 'energy_wh_min as min' : 'volume_l_min as min',
      electricity ? 'energy_wh_max as max' : 'volume_l_max as max',
    ])
    .where('meter_id', '=', meter.id)
    .where('bucket', '>=', startOfBucket(from, 'day'))
    .where('bucket', '<', to)
    .orderBy('bucket')
    .execute();
  const before = await db
    .selectFrom('readings')
    .select(electricity ? 'energy_wh as value' : 'volume_l as value')
    .where('meter_id', '=', meter.id)
    .where('ts', '<', startOfBucket(from, 'day'))
    .where(electricity ? 'energy_wh' : 'volume_l', 'is not', null)
    .orderBy('ts', 'desc')
    .limit(1)
    .executeTakeFirst();
  let previous: bigint | null = before?.value ?? null;
  const points: ConsumptionPoint[] = [];
  for (const row of rows) {
    if (row.max === null || row.min === null) continue;
    const start = startOfBucket(row.bucket, bucket);
    const base = previous ?? BigInt(row.min);
    const max = BigInt(row.max);
    // A reset inside the day: what was counted since it (the day's own spread is the best we know).
    const used = max >= base ? max - base : max - BigInt(row.min);
    previous = max;
    const last = points.at(-1);
    if (last && last.start.getTime() === start.getTime()) {
      points[points.length - 1] = {
        ...last,
        units: last.units + used,
        readings: last.readings + Number(row.readings),
      };
    } else {
      points.push({ start, end: nextBucket(start, bucket), units: used, readings: Number(row.readings) });
    }
  }
  return points;
}

/** What is asked of a meter's consumption: the bucket and, optionally, the period. */
export interface ConsumptionRequest {
  readonly bucket: ConsumptionBucket;
  /** Default: 30 days (day), 12 weeks (week) or 12 months (month) before `to`. */
  readonly from?: Date | undefined;
  /** Default: now. */
  readonly to?: Date | undefined;
}

/** A meter's consumption per bucket, with its period and total (instants as ISO strings, units as digits). */
export interface MeterConsumption {
  readonly meterId: MeterId;
  readonly unit: 'Wh' | 'L';
  readonly bucket: ConsumptionBucket;
  readonly from: string;
  readonly to: string;
  readonly total: string;
  readonly series: { start: string; end: string; units: string; readings: number }[];
}

/**
 * The consumption of a meter the caller may see: the period defaulted from the bucket and checked (before
 * `to`, at most three years), then the series of {@link consumptionSeries} and its total.
 */
export async function meterConsumption(
  db: Queryable,
  meter: { id: MeterId; kind: MeterKind },
  query: ConsumptionRequest,
  now: Date,
): Promise<MeterConsumption> {
  const { bucket } = query;
  const to = query.to ?? now;
  const back = bucket === 'day' ? 30 * DAY_MS : bucket === 'week' ? 84 * DAY_MS : 365 * DAY_MS;
  const from = startOfBucket(query.from ?? new Date(to.getTime() - back), bucket);
  if (from >= to) throw new RasidError('validation_failed', 'from: must be before to');
  if (to.getTime() - from.getTime() > 3 * 366 * DAY_MS) {
    throw new RasidError('validation_failed', 'from: at most three years at a time');
  }
  const series = await consumptionSeries(db, meter, bucket, from, to);
  return {
    meterId: meter.id,
    unit: unitOf(meter.kind),
    bucket,
    from: from.toISOString(),
    to: to.toISOString(),
    total: series.reduce((s, p) => s + p.units, 0n).toString(),
    series: series.map((p) => ({
      start: p.start.toISOString(),
      end: p.end.toISOString(),
      units: p.units.toString(),
      readings: p.readings,
    })),
  };
}
