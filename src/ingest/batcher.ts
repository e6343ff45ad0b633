/**
 * Group commit with parked callbacks: items wait in memory until their batch is committed, then every
 * callback of the batch is released together. One batch in flight per batcher, so the database paces
 * the producers (the broker holds each meter's PUBACK, and the meter its next message). On a write error
 * the same batch is retried with backoff and its callbacks stay parked: nothing is acknowledged that is
 * not stored.
 */

export interface BatcherOptions<T> {
  /** Commits one batch; throws to have it retried. */
  write(items: readonly T[]): Promise<unknown>;
  /** Most items per batch (default 2000). */
  maxItems?: number;
  /** Longest an item waits for more to join its batch, ms (default 5). */
  maxDelayMs?: number;
  /** First retry delay after a failed write, ms (default 25); doubles up to `retryMaxMs`. */
  retryInitialMs?: number;
  /** Largest retry delay, ms (default 2000). */
  retryMaxMs?: number;
  onCommit?(size: number, seconds: number): void;
  onError?(error: unknown, attempt: number, size: number): void;
  now?: () => number;
  random?: () => number;
}

interface Parked<T> {
  item: T;
  done: (error: Error | null) => void;
  at: number;
}

export class BatcherClosedError extends Error {
  override readonly name = 'BatcherClosedError';
}

export class Batcher<T> {
  readonly #write: (items: readonly T[]) => Promise<unknown>;
  readonly #maxItems: number;
  readonly #maxDelayMs: number;
  readonly #retryInitialMs: number;
  readonly #retryMaxMs: number;
  readonly #onCommit: ((size: number, seconds: number) => void) | undefined;
  readonly #onError: ((error: unknown, attempt: number, size: number) => void) | undefined;
  readonly #now: () => number;
  readonly #random: () => number;

  #queue: Parked<T>[] = [];
  #inFlight: Parked<T>[] | null = null;
  #timer: NodeJS.Timeout | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #closed = false;
  #idleWaiters: Array<() => void> = [];

  constructor(opts: BatcherOptions<T>) {
    this.#write = opts.write;
    this.#maxItems = opts.maxItems ?? 2000;
    this.#maxDelayMs = opts.maxDelayMs ?? 5;
    this.#retryInitialMs = opts.retryInitialMs ?? 25;
    this.#retryMaxMs = opts.retryMaxMs ?? 2000;
    this.#onCommit = opts.onCommit;
    this.#onError = opts.onError;
    this.#now = opts.now ?? performance.now.bind(performance);
    this.#random = opts.random ?? Math.random;
  }

  /** Items waiting or being written. */
  get pending(): number {
    return this.#queue.length + (this.#inFlight?.length ?? 0);
  }

  /** Parks `done` until `item` is committed (`done(null)`), or the batcher is closed (`done(error)`). */
  add(item: T, done: (error: Error | null) => void): void {
    if (this.#closed) {
      done(new BatcherClosedError('ingest is closed'));
      return;
    }
    this.#queue.push({ item, done, at: this.#now() });
    if (this.#inFlight !== null) return;
    if (this.#queue.length >= this.#maxItems) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), this.#maxDelayMs);
  }

  /** Writes everything queued now and resolves when nothing is left (retrying as long as it takes). */
  drain(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    if (this.#inFlight === null) this.#flush();
    return idle;
  }

  /**
   * Stops: queued items and a batch waiting for a retry are released with an error (no acknowledgement,
   * so their senders will resend). A write in progress finishes normally.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const error = new BatcherClosedError('ingest is closed');
    const queued = this.#queue;
    this.#queue = [];
    if (this.#retryTimer !== null) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
      queued.unshift(...(this.#inFlight ?? []));
      this.#inFlight = null;
    }
    release(queued, error);
    this.#notifyIdle();
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#inFlight !== null || this.#queue.length === 0) return;
    const batch = this.#queue.length <= this.#maxItems ? this.#queue : this.#queue.slice(0, this.#maxItems);
    this.#queue = batch === this.#queue ? [] : this.#queue.slice(this.#maxItems);
    this.#inFlight = batch;
    this.#attempt(batch, 0);
  }

  #attempt(batch: Parked<T>[], attempt: number): void {
    const started = this.#now();
    let promise: Promise<unknown>;
    try {
      promise = this.#write(batch.map((p) => p.item));
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.then(
      () => {
        this.#onCommit?.(batch.length, (this.#now() - started) / 1000);
        this.#inFlight = null;
        release(batch, null);
        this.#next();
      },
      (err: unknown) => {
        this.#onError?.(err, attempt + 1, batch.length);
        if (this.#closed) {
          this.#inFlight = null;
          release(batch, err instanceof Error ? err : new Error(String(err)));
          this.#notifyIdle();
          return;
        }
        const base = Math.min(this.#retryMaxMs, this.#retryInitialMs * 2 ** Math.min(attempt, 20));
        const delay = base / 2 + (this.#random() * base) / 2;
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = null;
          this.#attempt(batch, attempt + 1);
        }, delay);
      },
    );
  }

  /** After a commit: the items that arrived meanwhile go now if full or due, else when due. */
  #next(): void {
    const first = this.#queue[0];
    if (first === undefined) {
      this.#notifyIdle();
      return;
    }
    const waited = this.#now() - first.at;
    const draining = this.#idleWaiters.length > 0;
    if (draining || this.#queue.length >= this.#maxItems || waited >= this.#maxDelayMs) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), this.#maxDelayMs - waited);
  }

  #notifyIdle(): void {
    if (this.pending > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function release<T>(items: readonly Parked<T>[], error: Error | null): void {
  for (const p of items) {
    try {
      p.done(error);
    } catch {
      // A callback that throws must not keep the rest of the batch from its acknowledgement.
    }
  }
}
