/**
 * Copies the embedded store (PGlite in DATA_DIR) into a PostgreSQL database (`rasid copy-to-postgres`,
 * docs/operations.md "Moving to PostgreSQL"): both migrated to the same schema, every table copied in
 * dependency order (a table after those it references), each row as the source itself writes it in JSON
 * (bigint, bytea, timestamps and arrays unchanged), identity sequences moved past the copied ids, row counts
 * verified table by table. A target that holds any data is refused: the copy never mixes two stores.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.ts';

/** Tables the migrations themselves fill or keep: never copied, never counted. */
const NOT_COPIED: ReadonlySet<string> = new Set([
  'kysely_migration',
  'kysely_migration_lock',
  'store_features',
]);

export interface TableCopy {
  readonly table: string;
  readonly rows: number;
}

export interface CopyProgress {
  /** Rows of every table to copy. */
  readonly total: number;
  /** Rows copied so far. */
  readonly done: number;
  readonly table: string;
}

export class TargetNotEmptyError extends Error {
  constructor(readonly tables: readonly TableCopy[]) {
    super(
      `the target database already holds data (${tables.map((t) => `${t.table}: ${t.rows} rows`).join(', ')}): ` +
        'copy into a new, empty database',
    );
  }
}

export class CopyMismatchError extends Error {
  constructor(
    readonly table: string,
    readonly source: number,
    readonly target: number,
  ) {
    super(`table ${table}: ${source} rows in the embedded store, ${target} in PostgreSQL after the copy`);
  }
}

type Db = Kysely<Database>;

/**
 * The order tables are copied in: each after the tables it references. A reference that cannot be
 * satisfied that way (a table referencing itself, like a meter replaced by another meter; two tables
 * referencing each other, like a sale and its payment) is written after every table is copied: its
 * columns are `deferred`.
 */
export interface CopyPlan {
  readonly order: readonly string[];
  readonly deferred: ReadonlyMap<string, readonly string[]>;
}

export async function copyPlan(db: Db): Promise<CopyPlan> {
  const { rows: tables } = await sql<{ name: string }>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
    order by c.relname`.execute(db);
  const { rows: edges } = await sql<{ child: string; parent: string; columns: string[] }>`
    select c.relname as child, p.relname as parent,
           array(select a.attname::text from unnest(k.conkey) as u (attnum)
                 join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum) as columns
    from pg_constraint k
    join pg_class c on c.oid = k.conrelid join pg_class p on p.oid = k.confrelid
    join pg_namespace n on n.oid = c.relnamespace
    where k.contype = 'f' and n.nspname = 'public'
    order by c.relname, k.conname`.execute(db);
  const names = tables.map((t) => t.name).filter((t) => !NOT_COPIED.has(t));
  const deferred = new Map<string, string[]>();
  const defer = (table: string, columns: readonly string[]) =>
    deferred.set(table, [...new Set([...(deferred.get(table) ?? []), ...columns])]);
  const parents = new Map<string, { parent: string; columns: string[] }[]>(names.map((n) => [n, []]));
  for (const e of edges) {
    if (!parents.has(e.child) || !parents.has(e.parent)) continue;
    if (e.child === e.parent) defer(e.child, e.columns);
    else parents.get(e.child)!.push(e);
  }
  const ordered: string[] = [];
  const placed = new Set<string>();
  const waitingOn = (n: string) => parents.get(n)!.filter((e) => !placed.has(e.parent));
  while (ordered.length < names.length) {
    let ready = names.filter((n) => !placed.has(n) && waitingOn(n).length === 0);
    if (ready.length === 0) {
      // A cycle: the table waiting on the fewest others goes now, its references to them written later.
      const [next] = names
        .filter((n) => !placed.has(n))
        .sort((a, b) => waitingOn(a).length - waitingOn(b).length || a.localeCompare(b));
      for (const e of waitingOn(next!)) defer(next!, e.columns);
      ready = [next!];
    }
    for (const n of ready) {
      ordered.push(n);
      placed.add(n);
    }
  }
  return { order: ordered, deferred };
}

/** The tables copied, in the order they are copied. */
export async function tablesInDependencyOrder(db: Db): Promise<string[]> {
  return [...(await copyPlan(db)).order];
}

async function count(db: Db, table: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)}`.execute(db);
  return Number(rows[0]!.n);
}

/** The columns a row can be written with (generated columns are computed by the target). */
async function writableColumns(db: Db, table: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select a.attname as name from pg_attribute a
    join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relname = ${table} and a.attnum > 0 and not a.attisdropped
      and a.attgenerated = ''
    order by a.attnum`.execute(db);
  return rows.map((r) => r.name);
}

/** The primary key's columns (the order rows are read in), or none. */
async function keyColumns(db: Db, table: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select a.attname as name from pg_index i
    join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
    join lateral unnest(i.indkey) with ordinality as k (attnum, ord) on true
    join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
    where n.nspname = 'public' and c.relname = ${table} and i.indisprimary
    order by k.ord`.execute(db);
  return rows.map((r) => r.name);
}

/** Moves each identity or serial sequence of the table past the largest value copied. */
async function advanceSequences(db: Db, table: string): Promise<void> {
  const { rows } = await sql<{ column: string; seq: string }>`
    select a.attname as column, pg_get_serial_sequence(quote_ident(${table}), a.attname) as seq
    from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relname = ${table} and a.attnum > 0 and not a.attisdropped
      and pg_get_serial_sequence(quote_ident(${table}), a.attname) is not null`.execute(db);
  for (const r of rows) {
    await sql`select setval(${r.seq}::regclass,
      coalesce((select max(${sql.ref(r.column)}) from ${sql.table(table)}), 0) + 1, false)`.execute(db);
  }
}

/**
 * Copies `source` (migrated) into `target` (migrated, empty). `batchRows` rows per statement; `onProgress`
 * after each batch. Returns the rows copied per table, each verified against the source's count.
 */
export async function copyStore(
  source: Db,
  target: Db,
  opts: { batchRows?: number; onProgress?: (p: CopyProgress) => void } = {},
): Promise<TableCopy[]> {
  const batchRows = opts.batchRows ?? 5000;
  const plan = await copyPlan(source);
  const tables = plan.order;
  const targetTables = new Set(await tablesInDependencyOrder(target));
  const missing = tables.filter((t) => !targetTables.has(t));
  if (missing.length > 0)
    throw new Error(`the target has no table ${missing.join(', ')}: not the same schema`);
  const occupied: TableCopy[] = [];
  for (const table of targetTables) {
    const rows = await count(target, table);
    if (rows > 0) occupied.push({ table, rows });
  }
  if (occupied.length > 0) throw new TargetNotEmptyError(occupied);

  const sizes = new Map<string, number>();
  for (const table of tables) sizes.set(table, await count(source, table));
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  let done = 0;
  const copied: TableCopy[] = [];
  for (const table of tables) {
    const columns = await writableColumns(source, table);
    const key = await keyColumns(source, table);
    const order = key.length > 0 ? sql.join(key.map((k) => sql.ref(k))) : sql`ctid`;
    const list = sql.join(columns.map((c) => sql.ref(c)));
    const later = plan.deferred.get(table) ?? [];
    // Deferred references go in empty now and are written once every table is there.
    const values = sql.join(columns.map((c) => (later.includes(c) ? sql`null` : sql.ref(c))));
    const size = sizes.get(table)!;
    await target.transaction().execute(async (trx) => {
      // The target's own triggers (defaults made for a new utility, running floats) would write again what
      // the source already holds: off for the copy, in this transaction only.
      await sql`alter table ${sql.table(table)} disable trigger user`.execute(trx);
      for (let offset = 0; offset < size; offset += batchRows) {
        const { rows } = await sql<{ batch: string | null }>`
          select json_agg(row_to_json(t))::text as batch
          from (select ${list} from ${sql.table(table)} order by ${order} limit ${batchRows} offset ${offset}) t`.execute(
          source,
        );
        const batch = rows[0]?.batch ?? null;
        if (batch === null) break;
        const { numAffectedRows } = await sql`
          insert into ${sql.table(table)} (${list}) overriding system value
          select ${values} from json_populate_recordset(null::${sql.table(table)}, ${batch}::json)`.execute(
          trx,
        );
        done += Number(numAffectedRows ?? 0n);
        opts.onProgress?.({ total, done, table });
      }
      await sql`alter table ${sql.table(table)} enable trigger user`.execute(trx);
      await advanceSequences(trx, table);
    });
    const there = await count(target, table);
    if (there !== size) throw new CopyMismatchError(table, size, there);
    copied.push({ table, rows: there });
    opts.onProgress?.({ total, done, table });
  }
  for (const [table, later] of plan.deferred) await writeDeferred(source, target, table, later, batchRows);
  return copied;
}

/** Writes the deferred reference columns of a copied table, matched on its primary key. */
async function writeDeferred(
  source: Db,
  target: Db,
  table: string,
  columns: readonly string[],
  batchRows: number,
): Promise<void> {
  const key = await keyColumns(source, table);
  if (key.length === 0) throw new Error(`table ${table} has a deferred reference and no primary key`);
  const keyList = sql.join(key.map((k) => sql.ref(k)));
  const set = sql.join(columns.map((c) => sql`${sql.ref(c)} = s.${sql.ref(c)}`));
  const match = sql.join(
    key.map((k) => sql`t.${sql.ref(k)} = s.${sql.ref(k)}`),
    sql` and `,
  );
  const anySet = sql.join(
    columns.map((c) => sql`${sql.ref(c)} is not null`),
    sql` or `,
  );
  await target.transaction().execute(async (trx) => {
    // The user triggers (append-only tables refuse updates) stay off while the references are written.
    await sql`alter table ${sql.table(table)} disable trigger user`.execute(trx);
    for (let offset = 0; ; offset += batchRows) {
      const { rows } = await sql<{ batch: string | null }>`
        select json_agg(row_to_json(r))::text as batch
        from (select ${keyList}, ${sql.join(columns.map((c) => sql.ref(c)))} from ${sql.table(table)}
              where ${anySet} order by ${keyList} limit ${batchRows} offset ${offset}) r`.execute(source);
      const batch = rows[0]?.batch ?? null;
      if (batch === null) break;
      await sql`
        update ${sql.table(table)} as t set ${set}
        from json_populate_recordset(null::${sql.table(table)}, ${batch}::json) s
        where ${match}`.execute(trx);
    }
    await sql`alter table ${sql.table(table)} enable trigger user`.execute(trx);
  });
}
