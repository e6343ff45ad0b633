/**
 * The message emitter Rasid gives aedes (`mq` option): mqemitter with a guard against the synchronous
 * recursion that overflows the stack under load.
 *
 * The failure (mcollina/mqemitter pull #204, moscajs/aedes issue #193): mqemitter runs at most
 * `concurrency` deliveries at a time and queues the rest. When a delivery finishes, `released` takes the
 * next queued message and calls `_do` on it *synchronously*. If that message has no listener (or only
 * listeners that complete synchronously), it finishes at once and calls `released` again, inside the same
 * stack: draining a queue of n messages nests n levels deep. A queue builds up when a subscriber stops
 * reading (its deliveries wait for socket drain while publishers keep going); when that subscriber is then
 * dropped, its listener is removed and the whole queue drains in one stack, and the process dies with
 * `RangeError: Maximum call stack size exceeded`.
 *
 * The guard, as the mqemitter maintainer suggested on pull #204: count how deeply `_do` is nested in the
 * current stack and, past `maxSyncDepth`, continue on the next turn of the event loop (`setImmediate`),
 * keeping the concurrency slot reserved so ordering and the concurrency bound are unchanged. The normal
 * path pays one counter increment; only a pathological drain is spread over several ticks.
 */
import mqemitter from 'mqemitter';

export type Emitter = ReturnType<typeof mqemitter>;

type Message = Parameters<Emitter['emit']>[0];
type Callback = (error?: Error) => void;

/** The parts of mqemitter's instance the guard wraps (not in its published types). */
interface EmitterInternals {
  current: number;
  _doing: boolean;
  _do(this: EmitterInternals, message: Message, callback: Callback): EmitterInternals;
}

export interface GuardedEmitterOptions {
  /** Deliveries in flight at once; more are queued (aedes's default is 100). */
  concurrency?: number;
  /** Nested `_do` calls allowed in one stack before the drain yields to the event loop. */
  maxSyncDepth?: number;
  /** Called each time a drain yields (for a metric). */
  onDefer?: () => void;
}

export const DEFAULT_MAX_SYNC_DEPTH = 64;

/** mqemitter configured as aedes configures it, with the recursion guard installed. */
export function createGuardedEmitter(opts: GuardedEmitterOptions = {}): Emitter {
  const mq = mqemitter({ concurrency: opts.concurrency ?? 100, matchEmptyLevels: true }); // [MQTT-4.7.1-3]
  guardEmitterRecursion(mq, opts);
  return mq;
}

/** Installs the recursion guard on an existing mqemitter instance. */
export function guardEmitterRecursion(mq: Emitter, opts: GuardedEmitterOptions = {}): Emitter {
  const internals = mq as unknown as EmitterInternals;
  const maxDepth = opts.maxSyncDepth ?? DEFAULT_MAX_SYNC_DEPTH;
  const onDefer = opts.onDefer;
  const original = internals._do;
  let depth = 0;

  function guarded(this: EmitterInternals, message: Message, callback: Callback): EmitterInternals {
    if (depth >= maxDepth) {
      // Reserve the slot `released` just freed, so no newer message overtakes this one.
      this.current++;
      this._doing = true;
      onDefer?.();
      setImmediate(() => {
        this.current--;
        guarded.call(this, message, callback);
      });
      return this;
    }
    depth++;
    try {
      return original.call(this, message, callback);
    } finally {
      depth--;
    }
  }

  internals._do = guarded;
  return mq;
}
