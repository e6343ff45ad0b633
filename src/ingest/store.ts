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
 * later is found.
 */
export function storeMeterResolver(db: Kysely<Database>, opts: StoreMeterResolverOptions = {}): ResolveMeter {
  const max = opts.maxEntries ?? 200_000;
  const cache = new Map<string, MeterRef>();
  const pending = new Map<string, Promise<MeterRef | null>>();
  return (utility, serial) => {
    const key = `${utility}\0${serial}`;
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    let lookup = pending.get(key);
    if (lookup === undefined) {
      lookup = sql<{ meter_id: string; utility_id: string }>`
        select m.id as meter_id, m.utility_id
        from meters m join utilities u on u.id = m.utility_id
        where u.code = ${utility} and m.serial = ${serial} and m.status <> 'decommissioned'`
        .execute(db)
        .then(({ rows }) => {
          const row = rows[0];
          if (row === undefined) return null;
          const ref: MeterRef = { meterId: row.meter_id, utilityId: row.utility_id };
          cache.set(key, ref);
          if (cache.size > max) {
            const oldest = cache.keys().next();
            if (!oldest.done) cache.delete(oldest.value);
          }
          return ref;
        })
        .finally(() => pending.delete(key));
      pending.set(key, lookup);
    }
    return lookup;
  };
}
