import { type Kysely, sql } from 'kysely';

/**
 * A command whose request reached the meter but whose answer never came, and that is not safe to do twice,
 * ends `unknown` (docs/commands.md): neither done nor failed for sure. The state joins the check.
 */
const UP: readonly string[] = [
  'alter table commands drop constraint if exists commands_state_check',
  `alter table commands add constraint commands_state_check
     check (state in ('queued', 'sent', 'acknowledged', 'failed', 'expired', 'unknown'))`,
];

const DOWN: readonly string[] = [
  `update commands set state = 'failed' where state = 'unknown'`,
  'alter table commands drop constraint if exists commands_state_check',
  `alter table commands add constraint commands_state_check
     check (state in ('queued', 'sent', 'acknowledged', 'failed', 'expired'))`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
