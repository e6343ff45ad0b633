/**
 * The seam between the ingest and the database: a batch writer per kind of row. Each `write` is one
 * transaction: it either commits every row of the batch (rows already present are skipped, so a
 * retried or repeated message is stored once) or throws and commits none.
 */
import type { EventRow, ReadingRow, StatusRow } from './rows.ts';

/** Per-batch result: how many rows were new (the rest were already stored). */
export interface WriteResult {
  readonly inserted: number;
}

export interface BatchWriter<Row> {
  write(rows: readonly Row[]): Promise<WriteResult>;
}

/** Readings into `readings`, `ON CONFLICT (meter_id, ts) DO NOTHING`. */
export type ReadingWriter = BatchWriter<ReadingRow>;
/** Events into `meter_events`, once per (meter, ts, kind). */
export type EventWriter = BatchWriter<EventRow>;
/** Online flag and last-seen time of meters. */
export type StatusWriter = BatchWriter<StatusRow>;

/**
 * In-memory writers behind the same interfaces: for the simulator and for tests of callers that do not
 * test the database. They keep the same uniqueness rules as the SQL writers.
 */
export class MemoryReadingWriter implements ReadingWriter {
  readonly rows = new Map<string, ReadingRow>();

  async write(rows: readonly ReadingRow[]): Promise<WriteResult> {
    let inserted = 0;
    for (const row of rows) {
      const key = `${row.meterId}\0${row.tsMs}`;
      if (!this.rows.has(key)) {
        this.rows.set(key, row);
        inserted++;
      }
    }
    return { inserted };
  }
}

export class MemoryEventWriter implements EventWriter {
  readonly rows = new Map<string, EventRow>();

  async write(rows: readonly EventRow[]): Promise<WriteResult> {
    let inserted = 0;
    for (const row of rows) {
      const key = `${row.meterId}\0${row.tsMs}\0${row.kind}`;
      if (!this.rows.has(key)) {
        this.rows.set(key, row);
        inserted++;
      }
    }
    return { inserted };
  }
}

export interface MeterPresence {
  online: boolean;
  /** ms since the epoch of the last status change applied (a late, older status is ignored). */
  changedAtMs: number;
  lastSeenAtMs: number;
}

export class MemoryStatusWriter implements StatusWriter {
  readonly meters = new Map<string, MeterPresence>();

  async write(rows: readonly StatusRow[]): Promise<WriteResult> {
    for (const row of rows) {
      const current = this.meters.get(row.meterId);
      const lastSeenAtMs = Math.max(current?.lastSeenAtMs ?? 0, row.seenAtMs);
      if (current === undefined || row.tsMs >= current.changedAtMs) {
        this.meters.set(row.meterId, { online: row.online, changedAtMs: row.tsMs, lastSeenAtMs });
      } else {
        current.lastSeenAtMs = lastSeenAtMs;
      }
    }
    return { inserted: rows.length };
  }
}
