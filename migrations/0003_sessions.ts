import { type Kysely, sql } from 'kysely';

/**
 * People's sign-in, and the payment provider's reference of the money movement. Sign-in: sessions (the bearer token is never stored, only its SHA-256) and one-time codes sent by
 * SMS or e-mail to customers who sign in without a password (only the code's hash is stored).
 */
const UP: readonly string[] = [
  `create table sessions (
     token_hash text primary key,
     utility_id uuid not null references utilities,
     user_id uuid not null references users,
     created_at timestamptz not null default now(),
     expires_at timestamptz not null,
     revoked_at timestamptz
   )`,
  'create index sessions_user on sessions (user_id)',
  `create table one_time_codes (
     id bigint generated always as identity primary key,
     utility_id uuid not null references utilities,
     user_id uuid not null references users,
     code_hash text not null,
     channel text not null check (channel in ('sms', 'email')),
     attempts smallint not null default 0,
     created_at timestamptz not null default now(),
     expires_at timestamptz not null,
     used_at timestamptz
   )`,
  'create index one_time_codes_user on one_time_codes (user_id, created_at desc)',
  // The provider's id of the money movement (e.g. a Stripe PaymentIntent): refunds and disputes name it.
  'alter table payments add column provider_payment_ref text',
  'create index payments_provider_payment_ref on payments (provider, provider_payment_ref)',
];

const DOWN: readonly string[] = [
  'alter table payments drop column if exists provider_payment_ref',
  'drop table if exists one_time_codes, sessions',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
