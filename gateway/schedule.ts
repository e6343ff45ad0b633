/** Small scheduling pieces of the gateway: a counting semaphore, jitter and exponential backoff. */

/** A counting semaphore: at most `limit` holders at once, the rest wait in arrival order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`a semaphore limit is >= 1, got ${limit}`);
  }

  /** Holders right now. */
  get inUse(): number {
    return this.active;
  }

  /** Waiters right now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with a release function once a slot is free. Call the release exactly once. */
  async acquire(): Promise<() => void> {
    if (this.active < this.limit) {
      this.active++;
    } else {
      // The slot is handed over by release(): `active` stays the same.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }
}

/** `base` scaled by a random factor in [1 − jitter, 1 + jitter]. */
export function jittered(baseMs: number, jitter: number, random: () => number): number {
  return Math.max(0, Math.round(baseMs * (1 + jitter * (2 * random() - 1))));
}

/** Wait after `failures` failures in a row: initial × 2^(failures − 1), at most `maxMs`. */
export function backoffDelay(failures: number, initialMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, initialMs * 2 ** Math.min(failures - 1, 30));
}
