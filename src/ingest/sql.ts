/**
 * SQL writers for readings: PostgreSQL (through `pg`) and PGlite. Both skip a row whose
 * (meter_id, ts) is already stored, so a retried batch or a repeated reading is stored once.
 */
import { pipeline } from 'node:stream/promises';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import { CompiledQuery, type Kysely } from 'kysely';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { atPriority, type GatePriority } from '../store/gate.ts';
import type { EventRow, StatusRow } from './rows.ts';
import { READING_COLUMNS, type ReadingRow } from './rows.ts';
import type { EventWriter, ReadingWriter, StatusWriter, WriteResult } from './writer.ts';

type Cell = string | number | boolean | null;

function cell(row: ReadingRow, field: (typeof READING_COLUMNS)[number]['field']): Cell {
  if (field === 'tsMs') return new Date(row.tsMs).toISOString();
  return row[field];
}

const COLUMN_LIST = READING_COLUMNS.map((c) => c.column).join(', ');

function assertIdentifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/.test(name)) throw new Error(`unsafe table name ${name}`);
  return name;
}

export interface PgReadingWriterOptions {
  pool: Pool;
  /** `unnest` (one INSERT ... SELECT unnest(arrays)) or `copy` (COPY into a temp table, then INSERT). */
  method?: 'unnest' | 'copy';
  /** Default `readings`. */
  table?: string;
}

/** Readings into PostgreSQL: one statement (unnest) or one COPY + INSERT, one transaction per batch. */
export class PgReadingWriter implements ReadingWriter {
  readonly #pool: Pool;
  readonly #method: 'unnest' | 'copy';
  readonly #table: string;
  readonly #unnestSql: string;
  readonly #staged = new WeakSet<PoolClient>();

  constructor(opts: PgReadingWriterOptions) {
    this.#pool = opts.pool;
    this.#method = opts.method ?? 'unnest';
    this.#table = assertIdentifier(opts.table ?? 'readings');
    const arrays = READING_COLUMNS.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ');
    this.#unnestSql =
      `INSERT INTO ${this.#table} (${COLUMN_LIST}) SELECT * FROM unnest(${arrays}) ` +
      'ON CONFLICT (meter_id, ts) DO NOTHING';
  }

  async write(rows: readonly ReadingRow[]): Promise<WriteResult> {
    if (rows.length === 0) return { inserted: 0 };
    return this.#method === 'copy' ? this.#copy(rows) : this.#unnest(rows);
  }

  async #unnest(rows: readonly ReadingRow[]): Promise<WriteResult> {
    const values = READING_COLUMNS.map((c) => rows.map((row) => cell(row, c.field)));
    // A named statement: PostgreSQL parses and plans it once per connection.
    const result = await this.#pool.query({
      name: `rasid_ingest_${this.#table}`,
      text: this.#unnestSql,
      values,
    });
    return { inserted: result.rowCount ?? 0 };
  }

  async #copy(rows: readonly ReadingRow[]): Promise<WriteResult> {
    const client = await this.#pool.connect();
    const stage = 'rasid_ingest_stage';
    try {
      await client.query('BEGIN');
      if (!this.#staged.has(client)) {
        await client.query(
          `CREATE TEMP TABLE IF NOT EXISTS ${stage} (LIKE ${this.#table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`,
        );
        this.#staged.add(client);
      }
      const copy = client.query(copyFrom(`COPY ${stage} (${COLUMN_LIST}) FROM STDIN`));
      await pipeline(copyText(rows), copy);
      const result = await client.query(
        `INSERT INTO ${this.#table} (${COLUMN_LIST}) SELECT ${COLUMN_LIST} FROM ${stage} ` +
          'ON CONFLICT (meter_id, ts) DO NOTHING',
      );
      await client.query('COMMIT');
      client.release();
      return { inserted: result.rowCount ?? 0 };
    } catch (err) {
      // The connection may be broken: drop it from the pool rather than reuse it.
      this.#staged.delete(client);
      client.release(err instanceof Error ? err : true);
      throw err;
    }
  }
}

/** COPY text format, rows joined into chunks of ~64 KiB (one `write` per row is much slower). */
function* copyText(rows: readonly ReadingRow[]): Generator<string> {
  let chunk = '';
  for (const row of rows) {
    let line = '';
    for (let i = 0; i < READING_COLUMNS.length; i++) {
      const c = READING_COLUMNS[i]!;
      const v = cell(row, c.field);
      // Values are numbers, ISO times or contract enums: none holds a tab, newline or backslash.
      line += (i === 0 ? '' : '\t') + (v === null ? '\\N' : String(v));
    }
    chunk += `${line}\n`;
    if (chunk.length >= 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Largest number of bind parameters in one PostgreSQL statement. */
const MAX_PARAMS = 65_535;

export interface PgliteReadingWriterOptions {
  db: PGlite;
  table?: string;
}

/** Readings into PGlite: multi-row `INSERT ... VALUES ... ON CONFLICT DO NOTHING`, one transaction. */
export class PgliteReadingWriter implements ReadingWriter {
  readonly #db: PGlite;
  readonly #table: string;

  constructor(opts: PgliteReadingWriterOptions) {
    this.#db = opts.db;
    this.#table = assertIdentifier(opts.table ?? 'readings');
  }

  async write(rows: readonly ReadingRow[]): Promise<WriteResult> {
    if (rows.length === 0) return { inserted: 0 };
    const perStatement = Math.floor(MAX_PARAMS / READING_COLUMNS.length);
    if (rows.length <= perStatement) return { inserted: await this.#insert(this.#db, rows) };
    return this.#db.transaction(async (tx) => {
      let inserted = 0;
      for (let i = 0; i < rows.length; i += perStatement) {
        inserted += await this.#insert(tx, rows.slice(i, i + perStatement));
      }
      return { inserted };
    });
  }

  async #insert(db: PGlite | Transaction, rows: readonly ReadingRow[]): Promise<number> {
    const { text, params } = readingsInsert(this.#table, rows);
    const result = await db.query(text, params);
    return result.affectedRows ?? 0;
  }
}

/** One multi-row `INSERT ... VALUES ... ON CONFLICT (meter_id, ts) DO NOTHING` for `rows`. */
function readingsInsert(table: string, rows: readonly ReadingRow[]): { text: string; params: Cell[] } {
  const params: Cell[] = [];
  const tuples: string[] = [];
  for (const row of rows) {
    const marks: string[] = [];
    for (const c of READING_COLUMNS) {
      params.push(cell(row, c.field));
      marks.push(`$${params.length}::${c.type}`);
    }
    tuples.push(`(${marks.join(', ')})`);
  }
  return {
    text: `INSERT INTO ${table} (${COLUMN_LIST}) VALUES ${tuples.join(', ')} ON CONFLICT (meter_id, ts) DO NOTHING`,
    params,
  };
}

/**
 * Readings through any {@link SqlExecutor}: multi-row inserts of at most 65,535 parameters each. A batch
 * larger than one statement is written in parts, each idempotent on its own, so a retried batch is still
 * stored once. Rasid's PGlite deployment uses it over {@link kyselyExecutor}, which shares the store's
 * single session fairly with every other query.
 */
export class SqlReadingWriter implements ReadingWriter {
  readonly #exec: SqlExecutor;
  readonly #table: string;

  constructor(exec: SqlExecutor, opts: { table?: string } = {}) {
    this.#exec = exec;
    this.#table = assertIdentifier(opts.table ?? 'readings');
  }

  async write(rows: readonly ReadingRow[]): Promise<WriteResult> {
    const perStatement = Math.floor(MAX_PARAMS / READING_COLUMNS.length);
    let inserted = 0;
    for (let i = 0; i < rows.length; i += perStatement) {
      const { text, params } = readingsInsert(this.#table, rows.slice(i, i + perStatement));
      inserted += await this.#exec(text, params);
    }
    return { inserted };
  }
}

/** One parameterised statement, answering the number of rows it affected: the seam for both dialects. */
export type SqlExecutor = (text: string, params: readonly Cell[]) => Promise<number>;

export function pgExecutor(pool: Pool): SqlExecutor {
  return async (text, params) => (await pool.query(text, params as Cell[])).rowCount ?? 0;
}

export function pgliteExecutor(db: PGlite): SqlExecutor {
  return async (text, params) => (await db.query(text, params as Cell[])).affectedRows ?? 0;
}

/**
 * Statements through the store's kysely instance: the same pool on PostgreSQL, and on PGlite the same
 * connection gate as every other query (a raw PGlite query could land inside another caller's transaction),
 * at `priority` there (src/store/gate.ts; the ingest's commits go `first`).
 */
export function kyselyExecutor<DB>(db: Kysely<DB>, opts: { priority?: GatePriority } = {}): SqlExecutor {
  const priority = opts.priority ?? 'normal';
  return async (text, params) => {
    const result = await atPriority(priority, () => db.executeQuery(CompiledQuery.raw(text, [...params])));
    return Number(result.numAffectedRows ?? 0n);
  };
}

function valuesList(rowCount: number, types: readonly string[]): string {
  const tuples: string[] = [];
  for (let r = 0; r < rowCount; r++) {
    tuples.push(`(${types.map((t, c) => `$${r * types.length + c + 1}::${t}`).join(', ')})`);
  }
  return tuples.join(', ');
}

const EVENT_TYPES = ['uuid', 'uuid', 'timestamptz', 'bigint', 'text', 'jsonb'] as const;

/** Events into `meter_events`, `ON CONFLICT (meter_id, ts, kind) DO NOTHING`; one statement per batch. */
export class SqlEventWriter implements EventWriter {
  readonly #exec: SqlExecutor;

  constructor(exec: SqlExecutor) {
    this.#exec = exec;
  }

  async write(rows: readonly EventRow[]): Promise<WriteResult> {
    if (rows.length === 0) return { inserted: 0 };
    const per = Math.floor(MAX_PARAMS / EVENT_TYPES.length);
    let inserted = 0;
    // Batches are at most a few thousand rows: over `per`, split (each part is idempotent on its own).
    for (let i = 0; i < rows.length; i += per) {
      const part = rows.slice(i, i + per);
      const params = part.flatMap((e) => [
        e.utilityId,
        e.meterId,
        new Date(e.tsMs).toISOString(),
        e.seq,
        e.kind,
        e.details,
      ]);
      inserted += await this.#exec(
        `INSERT INTO meter_events (utility_id, meter_id, ts, seq, kind, details) VALUES ${valuesList(part.length, EVENT_TYPES)} ` +
          'ON CONFLICT (meter_id, ts, kind) DO NOTHING',
        params,
      );
    }
    await this.#markTokensUsed(rows);
    return { inserted };
  }

  /**
   * A `token_accepted` event (from the meter over MQTT, or from a gateway relaying a DLMS or Modbus
   * meter's token status) marks the token used: by its digits, or by the `token` command that delivered
   * it. Only the first acceptance counts (`used_at` is set once). A used token can no longer be reversed.
   */
  async #markTokensUsed(rows: readonly EventRow[]): Promise<void> {
    const accepted: { meterId: string; token: string | null; commandId: string | null; ts: string }[] = [];
    for (const e of rows) {
      if (e.kind !== 'token_accepted') continue;
      let details: { token?: unknown; commandId?: unknown };
      try {
        details = JSON.parse(e.details) as typeof details;
      } catch {
        continue;
      }
      const token = typeof details.token === 'string' ? details.token.replace(/\D/g, '') : null;
      const commandId = typeof details.commandId === 'string' ? details.commandId : null;
      if (token === null && commandId === null) continue;
      accepted.push({ meterId: e.meterId, token, commandId, ts: new Date(e.tsMs).toISOString() });
    }
    if (accepted.length === 0) return;
    const types = ['uuid', 'text', 'uuid', 'timestamptz'] as const;
    await this.#exec(
      `UPDATE tokens t SET used_at = a.ts
         FROM (VALUES ${valuesList(accepted.length, types)}) AS a (meter_id, token, command_id, ts)
        WHERE t.meter_id = a.meter_id AND t.used_at IS NULL
          AND t.token = coalesce(a.token,
                (SELECT c.payload->>'token' FROM commands c WHERE c.id = a.command_id AND c.meter_id = a.meter_id))`,
      accepted.flatMap((a) => [a.meterId, a.token, a.commandId, a.ts]),
    );
  }
}

const STATUS_TYPES = ['uuid', 'boolean', 'timestamptz'] as const;

/**
 * `meters.online` and `meters.last_seen_at` from status messages and last wills. Within a batch the
 * latest status of each meter (by its own timestamp) wins; `last_seen_at` only moves forward.
 */
export class SqlStatusWriter implements StatusWriter {
  readonly #exec: SqlExecutor;

  constructor(exec: SqlExecutor) {
    this.#exec = exec;
  }

  async write(rows: readonly StatusRow[]): Promise<WriteResult> {
    const latest = new Map<string, StatusRow>();
    for (const row of rows) {
      const seen = latest.get(row.meterId);
      if (seen === undefined || row.tsMs >= seen.tsMs) latest.set(row.meterId, row);
    }
    if (latest.size === 0) return { inserted: 0 };
    const list = [...latest.values()];
    const params = list.flatMap((s) => [s.meterId, s.online, new Date(s.seenAtMs).toISOString()]);
    const updated = await this.#exec(
      `UPDATE meters SET online = s.online, last_seen_at = greatest(meters.last_seen_at, s.seen_at)
       FROM (VALUES ${valuesList(list.length, STATUS_TYPES)}) AS s (id, online, seen_at) WHERE meters.id = s.id`,
      params,
    );
    return { inserted: updated };
  }
}
