import { type Kysely, sql } from 'kysely';

/**
 * Staff password sign-in: consecutive wrong passwords of a user, and until when the account refuses every
 * password after too many of them (the lock grows with each further failure; see src/api/routes/sessions.ts).
 */
const UP: readonly string[] = [
  'alter table users add column failed_sign_ins integer not null default 0',
  'alter table users add column sign_in_locked_until timestamptz',
];

const DOWN: readonly string[] = [
  'alter table users drop column if exists sign_in_locked_until',
  'alter table users drop column if exists failed_sign_ins',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
