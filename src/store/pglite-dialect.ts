import type { PGliteInterface } from '@electric-sql/pglite';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { PriorityGate } from './gate.ts';

/** PGlite's text parsers for the types Rasid reads differently from its defaults (see `db.ts`). */
export type PgliteParsers = Readonly<Record<number, (text: string, typeId?: number) => unknown>>;

/**
 * A kysely dialect over one PGlite instance. PGlite is a single session, so the driver hands out that one
 * connection to one caller at a time: a transaction holds it from BEGIN to COMMIT and other queries wait
 * (kysely-pglite 0.6 shares the session between concurrent transactions and reports no affected-row
 * counts, which breaks kysely's `numUpdatedRows`).
 *
 * Like a pool of one, it deadlocks if code inside `db.transaction()` queries through `db` instead of `trx`.
 * The gate serves waiters by the priority of the context they query from (src/store/gate.ts): the ingest's
 * commits first, the balance engine and other background passes last.
 */
export class PgliteDialect implements Dialect {
  readonly #client: PGliteInterface;
  readonly #parsers: PgliteParsers;

  constructor(options: { client: PGliteInterface; parsers: PgliteParsers }) {
    this.#client = options.client;
    this.#parsers = options.parsers;
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  createDriver(): Driver {
    return new PgliteDriver(this.#client, this.#parsers);
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
}

class PgliteDriver implements Driver {
  readonly #connection: PgliteConnection;
  readonly #gate = new PriorityGate();

  constructor(client: PGliteInterface, parsers: PgliteParsers) {
    this.#connection = new PgliteConnection(client, parsers);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#gate.acquire();
    return this.#connection;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const begin = settings.isolationLevel
      ? `start transaction isolation level ${settings.isolationLevel}`
      : 'begin';
    await connection.executeQuery(CompiledQuery.raw(begin));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(): Promise<void> {
    this.#gate.release();
  }

  async destroy(): Promise<void> {
    // After every query already waiting (the lowest level is served once the others are done).
    await this.#gate.acquire('background');
    await this.#connection.close();
  }
}

class PgliteConnection implements DatabaseConnection {
  readonly #client: PGliteInterface;
  readonly #parsers: PgliteParsers;

  constructor(client: PGliteInterface, parsers: PgliteParsers) {
    this.#client = client;
    this.#parsers = parsers;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#client.query<R>(compiledQuery.sql, [...compiledQuery.parameters], {
      parsers: { ...this.#parsers },
    });
    const command = (result as { command?: string }).command;
    if (
      result.affectedRows !== undefined &&
      (command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE')
    ) {
      return { rows: result.rows, numAffectedRows: BigInt(result.affectedRows) };
    }
    return { rows: result.rows };
  }

  // biome-ignore lint/correctness/useYield: PGlite has no cursors; the generator only reports that.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite does not support streaming queries');
  }

  async close(): Promise<void> {
    if (!this.#client.closed) await this.#client.close();
  }
}
