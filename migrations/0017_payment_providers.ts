import { type Kysely, sql } from 'kysely';

/**
 * Payment providers chosen per utility (src/payments/registry.ts, docs/payments.md): the name of the provider
 * a utility's customers pay through; null = the installation's default. Receipt numbers: a receipt prints the
 * first eight characters of the vend id in capitals, and this index finds the sale from them (reprint).
 */
const UP: readonly string[] = [
  `alter table utilities add column payment_provider text
     check (payment_provider is null or payment_provider ~ '^[a-z][a-z0-9_-]{1,31}$')`,
  'create index vends_receipt_number on vends (utility_id, (upper(left(id::text, 8))))',
];

const DOWN: readonly string[] = [
  'drop index if exists vends_receipt_number',
  'alter table utilities drop column if exists payment_provider',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
