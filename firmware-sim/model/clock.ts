/**
 * Time for the simulator: an injectable clock (docs/style.md practice 8). `ScaledClock` lets simulated time run
 * faster than real time; `ManualClock` is the test double that moves only when told.
 */

/** Milliseconds since the epoch, simulated. */
export interface Clock {
  now(): number;
}

/** Real time. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

export interface ScaledClockOptions {
  /** Simulated seconds per real second; 1 is real time. */
  readonly speed?: number;
  /** Simulated time at the moment the clock is made; the real time otherwise. */
  readonly startMs?: number;
  /** The real clock it follows. */
  readonly base?: Clock;
}

/** Simulated time = start + (real elapsed) × speed. */
export class ScaledClock implements Clock {
  readonly speed: number;
  private readonly base: Clock;
  private readonly realStart: number;
  private readonly simStart: number;

  constructor(options: ScaledClockOptions = {}) {
    const speed = options.speed ?? 1;
    if (!Number.isFinite(speed) || speed <= 0)
      throw new RangeError(`speed: expected a positive number, got ${speed}`);
    this.speed = speed;
    this.base = options.base ?? systemClock;
    this.realStart = this.base.now();
    this.simStart = options.startMs ?? this.realStart;
  }

  now(): number {
    return this.simStart + (this.base.now() - this.realStart) * this.speed;
  }

  /** Real milliseconds that `simMs` of simulated time take. */
  toRealMs(simMs: number): number {
    return simMs / this.speed;
  }
}

/** A clock that moves only when `set` or `advance` is called. */
export class ManualClock implements Clock {
  private ms: number;

  constructor(startMs: number) {
    this.ms = startMs;
  }

  now(): number {
    return this.ms;
  }

  set(ms: number): void {
    this.ms = ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}
