import { type Kysely, sql } from 'kysely';

/**
 * The first-run setup code: `rasid start` on an install without a utility prints a one-time code in its
 * log; the web app's first-run screen asks for it before it creates the first utility and admin. Only the
 * code's SHA-256 is kept; a code is spent once and a new start replaces an unspent one.
 */
const UP: readonly string[] = [
  `create table setup_codes (
     id bigint generated always as identity primary key,
     code_hash text not null,
     created_at timestamptz not null default now(),
     used_at timestamptz
   )`,
];

const DOWN: readonly string[] = ['drop table if exists setup_codes'];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
