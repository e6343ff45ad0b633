/**
 * The first instant after the millisecond `now` falls in. Rasid's clock counts whole milliseconds and the
 * database's timestamps count microseconds: a row given `default now()` within the same millisecond as `now`
 * holds a time up to 999 µs after it. A queue's due test is `next_attempt_at < dueBefore(now)`, so such a
 * row is due on this pass rather than the next one.
 */
export function dueBefore(now: Date): Date {
  return new Date(now.getTime() + 1);
}
