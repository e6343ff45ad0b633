/**
 * The friendly-credit calendar (docs/design.md "Balance engine"): the times when Rasid never sends a
 * disconnect, even to an account out of credit. Pure functions of an instant and a utility's calendar:
 *
 * - night hours, in local minutes since midnight; the window may wrap midnight (22:00 → 07:00);
 * - the utility's weekend days, ISO weekdays (1 = Monday … 7 = Sunday) in the utility's IANA time zone;
 * - periods from `no_disconnect_periods`: public holidays and periods an operator declares (a heat alert).
 *
 * Local wall time comes from `Intl.DateTimeFormat` (the IANA database Node ships), so DST zones are right on
 * both sides of a change. A local time that does not exist (inside a spring-forward gap) is read the way
 * Temporal's `disambiguation: 'compatible'` reads it: moved later by the length of the gap.
 */

export const MINUTES_PER_DAY = 24 * 60;

/** Why an instant is inside a friendly window. */
export type FriendlyReason = 'night' | 'weekend' | 'public_holiday' | 'declared';

/** One period in which nobody is disconnected (a `no_disconnect_periods` row). */
export interface NoDisconnectPeriod {
  readonly kind: 'public_holiday' | 'declared';
  readonly startsAt: Date;
  /** Exclusive. */
  readonly endsAt: Date;
  readonly reason: string;
}

/** A utility's friendly-credit calendar. */
export interface FriendlyCalendar {
  /** IANA zone, e.g. Asia/Muscat. */
  readonly timeZone: string;
  /** ISO weekdays on which nobody is disconnected, e.g. [5, 6] for a Friday-Saturday weekend. */
  readonly weekendDays: readonly number[];
  /** Local minutes since midnight; `null`, or equal start and end, means no night window. */
  readonly nightStartMinute: number | null;
  readonly nightEndMinute: number | null;
  readonly periods: readonly NoDisconnectPeriod[];
}

/** Local wall-clock fields of an instant in a zone. */
export interface LocalTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  /** Minutes since local midnight, 0..1439. */
  readonly minute: number;
  /** ISO weekday, 1 = Monday … 7 = Sunday. */
  readonly isoWeekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

const WEEKDAYS: Readonly<Record<string, number>> = Object.freeze({
  Mon: 1,
  Tue: 2,
  Wed: 3,
  Thu: 4,
  Fri: 5,
  Sat: 6,
  Sun: 7,
});

interface WallClock extends LocalTime {
  readonly second: number;
}

function wallClock(at: Date, timeZone: string): WallClock {
  const fields: Record<string, string> = {};
  for (const part of formatterFor(timeZone).formatToParts(at)) fields[part.type] = part.value;
  const hour = Number(fields.hour) % 24;
  return {
    year: Number(fields.year),
    month: Number(fields.month),
    day: Number(fields.day),
    minute: hour * 60 + Number(fields.minute),
    second: Number(fields.second),
    isoWeekday: WEEKDAYS[fields.weekday ?? ''] ?? 0,
  };
}

/** The local date, minute of the day and ISO weekday of `at` in `timeZone`. */
export function localTime(at: Date, timeZone: string): LocalTime {
  const { second: _second, ...local } = wallClock(at, timeZone);
  return local;
}

/** The zone's offset from UTC at `at`, in ms (local = UTC + offset). Whole seconds. */
export function zoneOffsetMs(at: Date, timeZone: string): number {
  const w = wallClock(at, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, 0, w.minute, w.second);
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

/**
 * The instant at which the wall clock in `timeZone` reads the given local date and minute. In a DST overlap
 * the earlier instant; in a gap the wall time is read with the offset from before the gap (later by the
 * gap's length), as Temporal's 'compatible' disambiguation does.
 */
export function instantOfLocal(
  year: number,
  month: number,
  day: number,
  minute: number,
  timeZone: string,
): Date {
  const asUtc = Date.UTC(year, month - 1, day, 0, minute);
  // The offsets a few hours either side cover every real zone transition (at most one per such span).
  const before = zoneOffsetMs(new Date(asUtc - 12 * 3_600_000), timeZone);
  const after = zoneOffsetMs(new Date(asUtc + 12 * 3_600_000), timeZone);
  const candidates = [asUtc - before, asUtc - after].filter(
    (t) => zoneOffsetMs(new Date(t), timeZone) === asUtc - t,
  );
  if (candidates.length > 0) return new Date(Math.min(...candidates));
  return new Date(asUtc - before);
}

/** The local calendar day after the given one (year, month, day), through JS Date's UTC arithmetic. */
function nextDay(year: number, month: number, day: number): [number, number, number] {
  const d = new Date(Date.UTC(year, month - 1, day + 1));
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
}

function hasNight(cal: FriendlyCalendar): cal is FriendlyCalendar & {
  nightStartMinute: number;
  nightEndMinute: number;
} {
  return (
    cal.nightStartMinute !== null &&
    cal.nightEndMinute !== null &&
    cal.nightStartMinute !== cal.nightEndMinute
  );
}

/** True when the local minute is inside the night window [start, end), which may wrap midnight. */
export function inNightWindow(minute: number, startMinute: number, endMinute: number): boolean {
  if (startMinute === endMinute) return false;
  return startMinute < endMinute
    ? minute >= startMinute && minute < endMinute
    : minute >= startMinute || minute < endMinute;
}

/** One reason `at` is friendly, and the instant that reason stops applying. */
export interface ActiveWindow {
  readonly reason: FriendlyReason;
  readonly endsAt: Date;
  /** The period's own reason text, for holidays and declared periods. */
  readonly detail?: string;
}

/** Every reason `at` is inside a friendly window, each with when it ends; empty when none applies. */
export function activeWindows(at: Date, cal: FriendlyCalendar): ActiveWindow[] {
  const out: ActiveWindow[] = [];
  const local = localTime(at, cal.timeZone);
  if (hasNight(cal) && inNightWindow(local.minute, cal.nightStartMinute, cal.nightEndMinute)) {
    const end = cal.nightEndMinute;
    const [y, m, d] =
      local.minute < end ? [local.year, local.month, local.day] : nextDay(local.year, local.month, local.day);
    out.push({ reason: 'night', endsAt: instantOfLocal(y, m, d, end, cal.timeZone) });
  }
  if (cal.weekendDays.includes(local.isoWeekday)) {
    const [y, m, d] = nextDay(local.year, local.month, local.day);
    out.push({ reason: 'weekend', endsAt: instantOfLocal(y, m, d, 0, cal.timeZone) });
  }
  const t = at.getTime();
  for (const p of cal.periods) {
    if (p.startsAt.getTime() <= t && t < p.endsAt.getTime()) {
      out.push({ reason: p.kind, endsAt: p.endsAt, detail: p.reason });
    }
  }
  return out;
}

/** True when `at` is inside any friendly-credit window of the calendar. */
export function isFriendly(at: Date, cal: FriendlyCalendar): boolean {
  return activeWindows(at, cal).length > 0;
}

/** How far ahead {@link friendlyWindowEnd} looks before it gives up (a calendar friendly every day). */
const MAX_STEPS = 400;

/**
 * The first instant at or after `at` that is outside every friendly window: the next moment a disconnect
 * may be sent. Returns `at` itself when it is not friendly, and `null` when no end is found within
 * {@link MAX_STEPS} windows (for example a calendar whose weekend is all seven days).
 *
 * Windows that touch or overlap (a Thursday night running into a Friday weekend, a holiday after it) are
 * one window: the search steps to the earliest end among the reasons in force and looks again.
 */
export function friendlyWindowEnd(at: Date, cal: FriendlyCalendar): Date | null {
  let t = at;
  for (let step = 0; step < MAX_STEPS; step++) {
    const active = activeWindows(t, cal);
    if (active.length === 0) return t;
    let earliest = active[0]!.endsAt;
    for (const w of active) if (w.endsAt < earliest) earliest = w.endsAt;
    // Never step backwards or stand still (a period ending exactly now has already been left out above).
    t = earliest.getTime() > t.getTime() ? earliest : new Date(t.getTime() + 60_000);
  }
  return null;
}

/**
 * The first instant after `at` at which a friendly window begins (a night, a weekend day, a period), or
 * null when none begins within `horizonMs` (default 60 days). A disconnect queued outside a window expires
 * there, so a meter that was offline cannot act on it inside the next window.
 */
export function nextFriendlyStart(at: Date, cal: FriendlyCalendar, horizonMs = 60 * 86_400_000): Date | null {
  const candidates: number[] = [];
  const local = localTime(at, cal.timeZone);
  let [y, m, d] = [local.year, local.month, local.day];
  // Night starts and weekend-day starts on each local day from today, up to eight days ahead.
  for (let i = 0; i < 8; i++) {
    if (hasNight(cal)) candidates.push(instantOfLocal(y, m, d, cal.nightStartMinute, cal.timeZone).getTime());
    const midnight = instantOfLocal(y, m, d, 0, cal.timeZone);
    if (
      cal.weekendDays.includes(
        localTime(new Date(midnight.getTime() + 12 * 3_600_000), cal.timeZone).isoWeekday,
      )
    ) {
      candidates.push(midnight.getTime());
    }
    [y, m, d] = nextDay(y, m, d);
  }
  for (const p of cal.periods) candidates.push(p.startsAt.getTime());
  const t = at.getTime();
  const next = candidates.filter((c) => c > t && c - t <= horizonMs).sort((a, b) => a - b)[0];
  return next === undefined ? null : new Date(next);
}
