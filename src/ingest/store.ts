/** The ingest's view of the store's `meters` table: topic (utility code, serial) → the meter's uuid keys. */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../store/index.ts';
import type { ResolveMeter } from './ingest.ts';
import type { MeterRef } from './rows.ts';

export interface StoreMeterResolverOptions {
  /** Most meters remembered (least recently used evicted first); default 200,000. */
  maxEntries?: number;
}

/**
 * Resolves meters from the store, remembering known ones (a meter's id and utility never change).
 * A decommissioned meter is unknown. Unknown meters are not remembered, so one commissioned a moment
 * later is found. The meters not remembered that arrive in one turn of the event loop are looked up
 * together, one statement per utility: a fleet larger than the memory (a million meters reporting through
 * gateways) costs a statement per burst, not one per reading.
 */
export function storeMeterResolver(db: Kysely<Database>, opts: StoreMeterResolverOptions = {}): ResolveMeter {
  const max = opts.maxEntries ?? 200_000;
  const cache = new Map<string, MeterRef>();
  const pending = new Map<string, Promise<MeterRef | null>>();
  /** Misses of this turn by utility code: serial → who waits for it. */
  let queued = new Map<
    string,
    Map<string, { resolve: (ref: MeterRef | null) => void; reject: (e: unknown) => void }>
  >();
  let scheduled = false;

  const remember = (key: string, ref: MeterRef) => {
    cache.set(key, ref);
    if (cache.size > max) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
  };

  const lookUp = async (
    utility: string,
    waiting: Map<string, { resolve: (ref: MeterRef | null) => void; reject: (e: unknown) => void }>,
  ) => {
    try {
      const serials = [...waiting.keys()];
      const { rows } = await sql<{ meter_id: string; utility_id: string; serial: string }>`
        select m.id as meter_id, m.utility_id, m.serial
        from meters m join utilities u on u.id = m.utility_id
        where u.code = ${utility} and m.serial = any(${serials}::text[]) and m.status <> 'decommissioned'`.execute(
        db,
      );
      const found = new Map(rows.map((r) => [r.serial, r]));
      for (const [serial, waiter] of waiting) {
        const row = found.get(serial);
        if (row === undefined) {
          waiter.resolve(null);
          continue;
        }
        const ref: MeterRef = { meterId: row.meter_id, utilityId: row.utility_id };
        remember(`${utility}\0${serial}`, ref);
        waiter.resolve(ref);
      }
    } catch (err) {
      for (const waiter of waiting.values()) waiter.reject(err);
    }
  };

  const flush = () => {
    scheduled = false;
    const batch = queued;
    queued = new Map();
    for (const [utility, waiting] of batch) void lookUp(utility, waiting);
  };

  return (utility, serial) => {
    const key = `${utility}\0${serial}`;
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    let lookup = pending.get(key);
    if (lookup === undefined) {
      lookup = new Promise<MeterRef | null>((resolve, reject) => {
        let waiting = queued.get(utility);
        if (waiting === undefined) {
          waiting = new Map();
          queued.set(utility, waiting);
        }
        waiting.set(serial, { resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      }).finally(() => pending.delete(key));
      pending.set(key, lookup);
    }
    return lookup;
  };
}
