/**
 * Seeded consumption curves: a daily shape (24 hourly factors), a season and noise. Demand is a pure
 * function of (profile, seed, minute), constant within each minute, so integrating it over any split of a
 * time span gives the same total.
 */
import { gaussianAt, hash32 } from './random.ts';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Hourly factors (mean 1) of typical households, hour 0 first. */
export const DAILY_SHAPES = Object.freeze({
  /** Electricity: night base, a morning rise, an afternoon cooling plateau and an evening peak. */
  residential: Object.freeze([
    0.55, 0.5, 0.48, 0.47, 0.48, 0.55, 0.8, 1.05, 1.05, 0.95, 0.95, 1.0, 1.1, 1.15, 1.15, 1.1, 1.15, 1.3,
    1.55, 1.7, 1.65, 1.45, 1.05, 0.75,
  ]),
  /** Water: almost nothing at night, peaks at washing and cooking times. */
  water: Object.freeze([
    0.1, 0.05, 0.05, 0.05, 0.1, 0.5, 1.6, 2.2, 1.8, 1.2, 1.0, 1.0, 1.3, 1.2, 0.9, 0.8, 0.9, 1.2, 1.6, 1.8,
    1.5, 1.1, 0.6, 0.3,
  ]),
} as const);
export type DailyShapeName = keyof typeof DAILY_SHAPES;

export interface LoadProfile {
  /** Mean demand: W for electricity, litres per hour for water. */
  readonly mean: number;
  /** 24 hourly factors, local time, interpolated linearly between hours. */
  readonly daily: readonly number[];
  /** Relative swing over the year: 0.3 means ±30 %. */
  readonly seasonAmplitude: number;
  /** Day of the year (0-364) with the highest demand (about 200: mid-July, air conditioning). */
  readonly seasonPeakDay: number;
  /** Relative standard deviation of the per-minute noise. */
  readonly noise: number;
  /** Local time offset from UTC, minutes, for the daily shape. */
  readonly utcOffsetMinutes: number;
}

/** The daily factor at a local time of day (ms since local midnight). */
function dailyFactor(daily: readonly number[], msOfDay: number): number {
  const h = msOfDay / HOUR_MS;
  const i = Math.floor(h) % 24;
  const f = h - Math.floor(h);
  const a = daily[i] ?? 1;
  const b = daily[(i + 1) % 24] ?? 1;
  return a + (b - a) * f;
}

/** The season factor of a day of the year. */
function seasonFactor(profile: LoadProfile, dayOfYear: number): number {
  return 1 + profile.seasonAmplitude * Math.cos((2 * Math.PI * (dayOfYear - profile.seasonPeakDay)) / 365.25);
}

/** Demand during the minute that contains `ms`: W or L/h, never negative. */
export function demandAt(profile: LoadProfile, seed: number, ms: number): number {
  const minute = Math.floor(ms / MINUTE_MS);
  const local = minute * MINUTE_MS + profile.utcOffsetMinutes * MINUTE_MS;
  const msOfDay = ((local % DAY_MS) + DAY_MS) % DAY_MS;
  const dayOfYear = Math.floor((local - Date.UTC(new Date(local).getUTCFullYear(), 0, 1)) / DAY_MS);
  const noise = 1 + profile.noise * gaussianAt(seed, minute);
  const value = profile.mean * dailyFactor(profile.daily, msOfDay) * seasonFactor(profile, dayOfYear) * noise;
  return value > 0 ? value : 0;
}

/** Supply voltage in decivolts during the minute that contains `ms`: nominal ±2 %. */
export function voltageAt(nominalDv: number, seed: number, ms: number): number {
  const minute = Math.floor(ms / MINUTE_MS);
  const u = hash32(seed ^ 0x5bd1e995, minute) / 0x1_0000_0000;
  return Math.round(nominalDv * (0.98 + 0.04 * u));
}
