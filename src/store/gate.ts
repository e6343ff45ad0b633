/**
 * Who goes first at the embedded store's single connection (docs/design.md "Store", docs/balance.md
 * "Sharing the embedded store"). PGlite is one session: every query and transaction waits its turn at one
 * gate ({@link PgliteDialect}). The meters come first, then the people, then the work nobody waits for:
 *
 * - `first`: the ingest's commits (a meter waits for its PUBACK);
 * - `normal`: everything else by default (API requests: sales, operators, customers);
 * - `background`: the balance engine's passes and sweeps, the dispatcher's and the outbox's passes.
 *
 * The level is that of the async context the query starts in ({@link atPriority}); PostgreSQL's pool has
 * no gate and ignores it. A waiting lower level is never starved: it is served after
 * {@link SKIPS_BEFORE_TURN} grants went past it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export type GatePriority = 'first' | 'normal' | 'background';

const LEVELS: readonly GatePriority[] = ['first', 'normal', 'background'];
const storage = new AsyncLocalStorage<GatePriority>();

/** Runs `fn` with its store queries at `priority` (and everything it starts, through async context). */
export function atPriority<T>(priority: GatePriority, fn: () => T): T {
  return storage.run(priority, fn);
}

/** The priority of the current async context (`normal` outside any {@link atPriority}). */
export function currentPriority(): GatePriority {
  return storage.getStore() ?? 'normal';
}

/** Grants that may pass a waiting lower level before it is served. */
export const SKIPS_BEFORE_TURN = 16;

/**
 * A mutex with three queues: the holder releases to the head of the highest level waiting, unless a lower
 * level has been passed over {@link SKIPS_BEFORE_TURN} times.
 */
export class PriorityGate {
  readonly #queues: (() => void)[][] = LEVELS.map(() => []);
  readonly #skipped: number[] = LEVELS.map(() => 0);
  #held = false;
  /** Grants per level, for tests and metrics. */
  readonly granted: Record<GatePriority, number> = { first: 0, normal: 0, background: 0 };

  /** Waiters per level. */
  get waiting(): Record<GatePriority, number> {
    return {
      first: this.#queues[0]!.length,
      normal: this.#queues[1]!.length,
      background: this.#queues[2]!.length,
    };
  }

  /** Resolves when the caller holds the gate; call {@link release} once done. */
  acquire(priority: GatePriority = currentPriority()): Promise<void> {
    const level = LEVELS.indexOf(priority);
    if (!this.#held) {
      this.#held = true;
      this.granted[priority]++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.#queues[level]!.push(resolve);
    });
  }

  release(): void {
    const level = this.#next();
    if (level < 0) {
      this.#held = false;
      return;
    }
    // Lower levels still waiting were passed over once more.
    for (let l = level + 1; l < LEVELS.length; l++) {
      if (this.#queues[l]!.length > 0) this.#skipped[l]!++;
    }
    this.#skipped[level] = 0;
    this.granted[LEVELS[level]!]++;
    this.#queues[level]!.shift()!();
  }

  #next(): number {
    // The lowest level passed over too often first, then the highest level waiting.
    for (let l = LEVELS.length - 1; l > 0; l--) {
      if (this.#queues[l]!.length > 0 && this.#skipped[l]! >= SKIPS_BEFORE_TURN) return l;
    }
    return this.#queues.findIndex((q) => q.length > 0);
  }
}
