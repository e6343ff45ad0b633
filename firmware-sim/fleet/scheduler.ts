/**
 * One timer for many meters: each item gets a fixed phase inside a common period (spread evenly), and a
 * single interval walks a list sorted by phase, calling `onDue` for every item whose time has come. A fleet
 * of thousands of meters therefore costs one timer, not one per meter.
 *
 * Time is read from an injectable clock (simulated ms), so `--speed` shortens the real period.
 */
import type { Clock } from '../model/index.ts';

export interface SharedScheduleOptions<T> {
  readonly items: readonly T[];
  /** Simulated milliseconds between two turns of the same item. */
  readonly periodMs: number;
  readonly clock: Clock;
  /** Real milliseconds between two looks at the clock (default 200). */
  readonly tickMs?: number;
  readonly onDue: (item: T) => void;
}

export class SharedSchedule<T> {
  private readonly options: SharedScheduleOptions<T>;
  private timer: NodeJS.Timeout | null = null;
  /** Index of the next item within the current turn. */
  private next = 0;
  /** Simulated start of the current turn. */
  private turnStart = 0;

  constructor(options: SharedScheduleOptions<T>) {
    if (!(options.periodMs > 0))
      throw new RangeError(`periodMs: expected a positive number, got ${options.periodMs}`);
    this.options = options;
  }

  /** Simulated offset of item `i` within a turn. */
  phaseOf(i: number): number {
    return (this.options.periodMs * i) / Math.max(1, this.options.items.length);
  }

  start(): void {
    if (this.timer) return;
    this.turnStart = this.options.clock.now();
    this.next = 0;
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 200);
    this.tick();
  }

  /** Calls `onDue` for every item that is due now. */
  tick(): void {
    const { items, periodMs, clock, onDue } = this.options;
    const now = clock.now();
    // Several turns may be due after a pause (a slow event loop, a large speed): finish each in order,
    // but never run more than two turns in one tick.
    let guard = items.length * 2;
    while (guard-- > 0 && items.length > 0) {
      if (this.next >= items.length) {
        this.next = 0;
        this.turnStart += periodMs;
      }
      if (this.turnStart + this.phaseOf(this.next) > now) break;
      const item = items[this.next++] as T;
      onDue(item);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
