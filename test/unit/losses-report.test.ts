/** The loss of a period from daily roll-up rows (src/losses/report.ts): anchors, coverage, gaps, periods. */
import { describe, expect, it } from 'vitest';
import {
  type DistrictMeter,
  type MeterDay,
  meterSpan,
  periodLoss,
  periodsBetween,
} from '../../src/losses/report.ts';
import type { MeterId } from '../../src/store/schema.ts';

const DAY = 86_400_000;
const D = Date.UTC(2026, 2, 10);

/** Days of one meter: the register at its last reading of each day. */
function days(registers: Record<number, number>): Map<number, MeterDay> {
  return new Map(
    Object.entries(registers).map(([offset, last]) => [
      D + Number(offset) * DAY,
      {
        last: BigInt(last),
        first: BigInt(last - 10),
        readings: 4,
        lastTs: new Date(D + Number(offset) * DAY),
      },
    ]),
  );
}

const meter = (id: string, role: 'customer' | 'bulk'): DistrictMeter => ({
  id: id as MeterId,
  serial: id,
  role,
  mode: 'token',
  accountId: null,
});

describe('the loss of a period', () => {
  it('is a register difference between the day before and the last day, confirmed by the day after', () => {
    expect(meterSpan(days({ [-1]: 100, 0: 130, 1: 170 }), D, D + DAY)).toEqual({ covered: true, units: 30n });
    // No reading after the day: the day may still be running.
    expect(meterSpan(days({ [-1]: 100, 0: 130 }), D, D + DAY)).toMatchObject({ covered: false, readings: 4 });
    // No reading before: what the day's readings show is a floor.
    expect(meterSpan(days({ 0: 130, 1: 170 }), D, D + DAY)).toEqual({
      covered: false,
      seen: 10n,
      readings: 4,
    });
    expect(meterSpan(undefined, D, D + DAY)).toEqual({ covered: false, seen: 0n, readings: 0 });
  });

  it('claims a loss only when every meter is covered; a gap gives a bound, not a loss', () => {
    const meters = [meter('bulk', 'bulk'), meter('a', 'customer'), meter('b', 'customer')];
    const all = new Map([
      ['bulk' as MeterId, days({ [-1]: 1000, 0: 1100, 1: 1200 })],
      ['a' as MeterId, days({ [-1]: 0, 0: 40, 1: 80 })],
      ['b' as MeterId, days({ [-1]: 0, 0: 35, 1: 70 })],
    ]);
    expect(periodLoss(meters, all, D, D + DAY)).toMatchObject({
      status: 'complete',
      inflow: { units: 100n, meters: 1, covered: 1 },
      consumption: { units: 75n, covered: 2, partial: 0, missing: 0 },
      loss: { units: 25n, shareBp: 2500 },
      lossAtMost: null,
    });
    all.delete('b' as MeterId);
    expect(periodLoss(meters, all, D, D + DAY)).toMatchObject({
      status: 'partial',
      consumption: { units: 40n, covered: 1, missing: 1 },
      loss: null,
      lossAtMost: 60n,
    });
    all.delete('bulk' as MeterId);
    expect(periodLoss(meters, all, D, D + DAY)).toMatchObject({ status: 'no_inflow', loss: null });
  });

  it('walks days, ISO weeks from Monday and calendar months', () => {
    const iso = (p: { start: number; end: number }) => [
      new Date(p.start).toISOString().slice(0, 10),
      new Date(p.end).toISOString().slice(0, 10),
    ];
    expect(periodsBetween('day', '2026-03-10', '2026-03-11').map(iso)).toEqual([
      ['2026-03-10', '2026-03-11'],
      ['2026-03-11', '2026-03-12'],
    ]);
    // 2026-03-10 is a Tuesday.
    expect(periodsBetween('week', '2026-03-10', '2026-03-16').map(iso)).toEqual([
      ['2026-03-09', '2026-03-16'],
      ['2026-03-16', '2026-03-23'],
    ]);
    expect(periodsBetween('month', '2026-01-31', '2026-02-01').map(iso)).toEqual([
      ['2026-01-01', '2026-02-01'],
      ['2026-02-01', '2026-03-01'],
    ]);
  });
});
