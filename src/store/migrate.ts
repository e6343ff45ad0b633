import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Kysely, sql } from 'kysely';
import { type Migration, type MigrationProvider, type MigrationResult, Migrator } from 'kysely/migration';
import type { Database } from './schema.ts';

/** Rasid's migrations folder: `migrations/` at the project root. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

/** `0001_core.ts`: four digits, an underscore, a lower-case name. The digits give the order. */
const MIGRATION_FILE = /^(\d{4}_[a-z0-9_]+)\.ts$/;

/** The migration files of a folder, in the order they run. */
export async function listMigrationFiles(folder: string = MIGRATIONS_DIR): Promise<string[]> {
  const names = await readdir(folder);
  return names.filter((name) => MIGRATION_FILE.test(name)).sort();
}

/** Hex digest of the migration files' names and contents: equal digests mean equal schemas. */
export async function migrationsFingerprint(folder: string = MIGRATIONS_DIR): Promise<string> {
  const hash = createHash('sha256');
  for (const name of await listMigrationFiles(folder)) {
    hash
      .update(name)
      .update('\0')
      .update(await readFile(join(folder, name)))
      .update('\0');
  }
  return hash.digest('hex');
}

/** Loads each `NNNN_name.ts` module of a folder as the migration named `NNNN_name`. */
export class FolderMigrationProvider implements MigrationProvider {
  readonly #folder: string;

  constructor(folder: string = MIGRATIONS_DIR) {
    this.#folder = folder;
  }

  async getMigrations(): Promise<Record<string, Migration>> {
    const migrations: Record<string, Migration> = {};
    for (const file of await listMigrationFiles(this.#folder)) {
      const module = (await import(pathToFileURL(join(this.#folder, file)).href)) as Partial<Migration>;
      if (typeof module.up !== 'function') throw new Error(`migration ${file} exports no up()`);
      const name = file.replace(/\.ts$/, '');
      migrations[name] = module.down ? { up: module.up, down: module.down } : { up: module.up };
    }
    return migrations;
  }
}

export interface MigrationOutcome {
  /** One entry per migration that was due, in order: Success, Error or NotExecuted. */
  results: readonly MigrationResult[];
  /** Why the run stopped; absent when every due migration succeeded. Nothing was half applied. */
  error?: unknown;
}

/**
 * Brings the schema to the latest migration. Never throws: the outcome lists each migration's status and
 * the error, if any. All due migrations run in one transaction under kysely's migration lock, so
 * concurrent starts are safe and a failure leaves the schema as it was.
 */
export async function migrateToLatest(db: Kysely<Database>, folder?: string): Promise<MigrationOutcome> {
  // A database that already has a later migration still gets an earlier one that arrived after it (a branch
  // merged later); due migrations always run in name order.
  const migrator = new Migrator({
    db,
    provider: new FolderMigrationProvider(folder),
    allowUnorderedMigrations: true,
  });
  try {
    const { results, error } = await migrator.migrateToLatest();
    return error === undefined ? { results: results ?? [] } : { results: results ?? [], error };
  } catch (error) {
    return { results: [], error };
  }
}

/** The optional features the migrations enabled, e.g. `{ timescaledb: false }`. */
export async function storeFeatures(db: Kysely<Database>): Promise<Record<string, boolean>> {
  const rows = await db.selectFrom('store_features').select(['name', 'enabled']).execute();
  return Object.fromEntries(rows.map((row) => [row.name, row.enabled]));
}

/** Names of the migrations already applied, in order. */
export async function appliedMigrations(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  return rows.map((row) => row.name);
}
