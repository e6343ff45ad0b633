/** The simulated meters' reconnect backoff: exponential, capped, each delay drawn at random. */
import { describe, expect, it } from 'vitest';
import { jitteredBackoff } from '../../firmware-sim/mqtt/face.ts';

describe('jittered reconnect backoff', () => {
  it('draws between half the base and the doubled ceiling, capped at the maximum', () => {
    expect(jitteredBackoff(2000, 60_000, 0, () => 0)).toBe(1000);
    expect(jitteredBackoff(2000, 60_000, 0, () => 1)).toBe(2000);
    expect(jitteredBackoff(2000, 60_000, 3, () => 1)).toBe(16_000);
    expect(jitteredBackoff(2000, 60_000, 10, () => 1)).toBe(60_000);
    expect(jitteredBackoff(2000, 60_000, 50, () => 0.5)).toBe(30_500);
  });

  it('spreads a thousand meters reconnecting at once over the window', () => {
    const delays = Array.from({ length: 1000 }, () => jitteredBackoff(2000, 60_000, 4));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(32_000);
    expect(new Set(delays).size).toBeGreaterThan(500);
  });
});
