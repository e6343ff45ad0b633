import { type Kysely, sql } from 'kysely';

/**
 * Bulk import (src/import/, docs/import.md): a customer's name in Arabic beside the name as written in the
 * old billing system, and an index for the ledger export of a period.
 */
const UP: readonly string[] = [
  'alter table customers add column if not exists name_ar text',
  'create index if not exists account_ledger_utility_time on account_ledger (utility_id, created_at)',
];

const DOWN: readonly string[] = [
  'drop index if exists account_ledger_utility_time',
  'alter table customers drop column if exists name_ar',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
