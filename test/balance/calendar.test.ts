import { describe, expect, it } from 'vitest';
import {
  activeWindows,
  type FriendlyCalendar,
  friendlyWindowEnd,
  inNightWindow,
  instantOfLocal,
  isFriendly,
  localTime,
  nextFriendlyStart,
  zoneOffsetMs,
} from '../../src/balance/calendar.ts';

/** A Gulf utility: Muscat (UTC+4 all year), Friday-Saturday weekend, nights 22:00-07:00. */
const MUSCAT: FriendlyCalendar = {
  timeZone: 'Asia/Muscat',
  weekendDays: [5, 6],
  nightStartMinute: 22 * 60,
  nightEndMinute: 7 * 60,
  periods: [],
};

/** A holiday on Tuesday 3 March 2026, the whole local day in Muscat. */
const MUSCAT_HOLIDAY: FriendlyCalendar = {
  ...MUSCAT,
  periods: [
    {
      kind: 'public_holiday',
      startsAt: new Date('2026-03-02T20:00:00Z'),
      endsAt: new Date('2026-03-03T20:00:00Z'),
      reason: 'National holiday',
    },
  ],
};

/** London (GMT/BST), nights only: shows the window end across both DST changes. */
const LONDON: FriendlyCalendar = {
  timeZone: 'Europe/London',
  weekendDays: [],
  nightStartMinute: 22 * 60,
  nightEndMinute: 7 * 60,
  periods: [],
};

describe('local time in a zone', () => {
  it.each([
    // 2026-03-03 is a Tuesday; Muscat is UTC+4.
    { at: '2026-03-02T22:00:00Z', zone: 'Asia/Muscat', date: [2026, 3, 3], minute: 2 * 60, weekday: 2 },
    { at: '2026-03-05T20:30:00Z', zone: 'Asia/Muscat', date: [2026, 3, 6], minute: 30, weekday: 5 },
    { at: '2026-07-01T12:00:00Z', zone: 'Europe/London', date: [2026, 7, 1], minute: 13 * 60, weekday: 3 },
    { at: '2026-01-15T12:00:00Z', zone: 'Europe/London', date: [2026, 1, 15], minute: 12 * 60, weekday: 4 },
  ])('$at in $zone', ({ at, zone, date, minute, weekday }) => {
    const local = localTime(new Date(at), zone);
    expect([local.year, local.month, local.day]).toEqual(date);
    expect(local.minute).toBe(minute);
    expect(local.isoWeekday).toBe(weekday);
  });

  it.each([
    // Amman kept summer time until 2022, then stayed on UTC+3 all year.
    { at: '2021-01-15T12:00:00Z', zone: 'Asia/Amman', hours: 2 },
    { at: '2021-07-01T12:00:00Z', zone: 'Asia/Amman', hours: 3 },
    { at: '2024-01-15T12:00:00Z', zone: 'Asia/Amman', hours: 3 },
    { at: '2026-01-15T12:00:00Z', zone: 'Asia/Muscat', hours: 4 },
    { at: '2026-07-15T12:00:00Z', zone: 'Asia/Muscat', hours: 4 },
    { at: '2026-01-15T12:00:00Z', zone: 'Europe/London', hours: 0 },
    { at: '2026-07-15T12:00:00Z', zone: 'Europe/London', hours: 1 },
  ])('offset of $zone at $at is $hours h', ({ at, zone, hours }) => {
    expect(zoneOffsetMs(new Date(at), zone)).toBe(hours * 3_600_000);
  });

  it.each([
    { name: 'ordinary', local: [2026, 3, 3, 7 * 60], zone: 'Asia/Muscat', utc: '2026-03-03T03:00:00Z' },
    // 01:30 does not exist in London on 29 March 2026: read with the GMT offset (= 02:30 BST).
    {
      name: 'spring-forward gap',
      local: [2026, 3, 29, 90],
      zone: 'Europe/London',
      utc: '2026-03-29T01:30:00Z',
    },
    // 01:30 happens twice on 25 October 2026: the earlier one (BST).
    { name: 'autumn overlap', local: [2026, 10, 25, 90], zone: 'Europe/London', utc: '2026-10-25T00:30:00Z' },
  ])('instant of a local time: $name', ({ local, zone, utc }) => {
    const [y, m, d, minute] = local as [number, number, number, number];
    expect(instantOfLocal(y, m, d, minute, zone).toISOString()).toBe(new Date(utc).toISOString());
  });
});

describe('night window', () => {
  it.each([
    { minute: 23 * 60, start: 22 * 60, end: 7 * 60, inside: true },
    { minute: 2 * 60, start: 22 * 60, end: 7 * 60, inside: true },
    { minute: 7 * 60, start: 22 * 60, end: 7 * 60, inside: false },
    { minute: 12 * 60, start: 22 * 60, end: 7 * 60, inside: false },
    { minute: 22 * 60, start: 22 * 60, end: 7 * 60, inside: true },
    { minute: 3 * 60, start: 60, end: 5 * 60, inside: true },
    { minute: 6 * 60, start: 60, end: 5 * 60, inside: false },
    { minute: 3 * 60, start: 0, end: 0, inside: false },
  ])('$minute in [$start, $end) → $inside', ({ minute, start, end, inside }) => {
    expect(inNightWindow(minute, start, end)).toBe(inside);
  });
});

describe('friendly windows and when they end', () => {
  it.each([
    {
      name: '02:00 on a weekday (Tuesday) is night; it ends at 07:00 local',
      cal: MUSCAT,
      at: '2026-03-02T22:00:00Z',
      reasons: ['night'],
      end: '2026-03-03T03:00:00Z',
    },
    {
      name: 'noon on a weekday is not friendly: a disconnect may go now',
      cal: MUSCAT,
      at: '2026-03-03T08:00:00Z',
      reasons: [],
      end: '2026-03-03T08:00:00Z',
    },
    {
      name: 'Thursday 23:00 runs through the Friday-Saturday weekend and Sunday night, to Sunday 07:00',
      cal: MUSCAT,
      at: '2026-03-05T19:00:00Z',
      reasons: ['night'],
      end: '2026-03-08T03:00:00Z',
    },
    {
      name: 'Friday noon is the weekend',
      cal: MUSCAT,
      at: '2026-03-06T08:00:00Z',
      reasons: ['weekend'],
      end: '2026-03-08T03:00:00Z',
    },
    {
      name: 'Sunday noon (a Gulf working day) is not friendly',
      cal: MUSCAT,
      at: '2026-03-08T08:00:00Z',
      reasons: [],
      end: '2026-03-08T08:00:00Z',
    },
    {
      name: 'a public holiday at noon, then the night after it, ends on Wednesday 07:00',
      cal: MUSCAT_HOLIDAY,
      at: '2026-03-03T08:00:00Z',
      reasons: ['public_holiday'],
      end: '2026-03-04T03:00:00Z',
    },
    {
      name: 'London, the night the clocks go forward: ends 07:00 BST = 06:00 UTC',
      cal: LONDON,
      at: '2026-03-28T23:00:00Z',
      reasons: ['night'],
      end: '2026-03-29T06:00:00Z',
    },
    {
      name: 'London, the night the clocks go back: ends 07:00 GMT = 07:00 UTC',
      cal: LONDON,
      at: '2026-10-24T22:00:00Z',
      reasons: ['night'],
      end: '2026-10-25T07:00:00Z',
    },
    {
      name: 'London in summer: 06:30 BST is still night',
      cal: LONDON,
      at: '2026-07-01T05:30:00Z',
      reasons: ['night'],
      end: '2026-07-01T06:00:00Z',
    },
  ])('$name', ({ cal, at, reasons, end }) => {
    const t = new Date(at);
    expect(activeWindows(t, cal).map((w) => w.reason)).toEqual(reasons);
    expect(isFriendly(t, cal)).toBe(reasons.length > 0);
    expect(friendlyWindowEnd(t, cal)?.toISOString()).toBe(new Date(end).toISOString());
  });

  it('a declared period ending exactly at the instant no longer applies', () => {
    const cal: FriendlyCalendar = {
      ...MUSCAT,
      periods: [
        {
          kind: 'declared',
          startsAt: new Date('2026-03-03T06:00:00Z'),
          endsAt: new Date('2026-03-03T08:00:00Z'),
          reason: 'heat alert',
        },
      ],
    };
    expect(activeWindows(new Date('2026-03-03T07:59:59Z'), cal).map((w) => w.reason)).toEqual(['declared']);
    expect(isFriendly(new Date('2026-03-03T08:00:00Z'), cal)).toBe(false);
  });

  it('a calendar friendly every day has no end', () => {
    const always: FriendlyCalendar = { ...MUSCAT, weekendDays: [1, 2, 3, 4, 5, 6, 7] };
    expect(friendlyWindowEnd(new Date('2026-03-03T08:00:00Z'), always)).toBeNull();
  });

  it.each([
    { name: 'Tuesday noon → Tuesday 22:00', at: '2026-03-03T08:00:00Z', next: '2026-03-03T18:00:00Z' },
    { name: 'Thursday 08:00 → Thursday 22:00', at: '2026-03-05T04:00:00Z', next: '2026-03-05T18:00:00Z' },
  ])('next friendly start: $name', ({ at, next }) => {
    expect(nextFriendlyStart(new Date(at), MUSCAT)?.toISOString()).toBe(new Date(next).toISOString());
  });

  it('next friendly start can be a holiday before the night', () => {
    const cal: FriendlyCalendar = {
      ...MUSCAT,
      periods: [
        {
          kind: 'declared',
          startsAt: new Date('2026-03-03T10:00:00Z'),
          endsAt: new Date('2026-03-03T12:00:00Z'),
          reason: 'x',
        },
      ],
    };
    expect(nextFriendlyStart(new Date('2026-03-03T08:00:00Z'), cal)?.toISOString()).toBe(
      '2026-03-03T10:00:00.000Z',
    );
  });
});
