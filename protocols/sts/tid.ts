/**
 * Token identifier (TID): minutes from the base date (UTC) to the time of issue, 24 bits.
 * IEC 62055-41 TID and base dates (sts.md §2.3): bases 1993-01-01, 2014-01-01 and 2035-01-01 00:00 UTC.
 */
import { StsError } from './errors.ts';

export type BaseDate = 1993 | 2014 | 2035;

/** The base dates as UTC milliseconds. */
export const BASE_DATES: Readonly<Record<BaseDate, number>> = Object.freeze({
  1993: Date.UTC(1993, 0, 1),
  2014: Date.UTC(2014, 0, 1),
  2035: Date.UTC(2035, 0, 1),
});

export const TID_MAX = 0xff_ffff;
const MINUTE_MS = 60_000;

export function isBaseDate(value: unknown): value is BaseDate {
  return value === 1993 || value === 2014 || value === 2035;
}

/** The TID of an issue time (a Date or UTC milliseconds); seconds are dropped. */
export function tidFromDate(issuedAt: Date | number, baseDate: BaseDate): number {
  const ms = typeof issuedAt === 'number' ? issuedAt : issuedAt.getTime();
  if (!Number.isFinite(ms)) throw new StsError('range', 'issuedAt', 'not a valid time');
  const tid = Math.floor((ms - BASE_DATES[baseDate]) / MINUTE_MS);
  if (tid < 0) throw new StsError('range', 'issuedAt', `before the base date ${baseDate}-01-01`);
  // 24 bits last about 31.9 years: the 1993 base overflowed on 2024-11-24 20:16 UTC.
  if (tid > TID_MAX)
    throw new StsError('range', 'issuedAt', `beyond the 24-bit TID range of base date ${baseDate}`);
  return tid;
}

/** The issue time (UTC) of a TID. */
export function dateFromTid(tid: number, baseDate: BaseDate): Date {
  return new Date(BASE_DATES[baseDate] + tid * MINUTE_MS);
}
