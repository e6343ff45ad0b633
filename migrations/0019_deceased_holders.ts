import { type Kysely, sql } from 'kysely';

/**
 * Deceased account holders (src/deceased/, docs/customer-service.md "Deceased holders"):
 * - `utilities.deceased_grace_days`: how long a dead holder's subsidy is held for the family to transfer the
 *   account to an heir; `utilities.outreach_stall_days`: days without a call attempt before a case is flagged.
 * - `holder_deaths`: one row per customer known to have died (from the civil registry import or an agent),
 *   with the date of death and the evidence.
 * - `deceased_accounts`: every account the dead person held, marked with the death; a subsidised one has an
 *   outreach case, a grace end and an outcome (transferred to an heir, or the subsidy ended).
 * - `outreach_contacts` and `outreach_attempts`: the family's contacts and each call attempt with its
 *   outcome; attempts are append-only (the `rasid_refuse_change` trigger of 0001_core).
 */
const UP: readonly string[] = [
  `alter table utilities
     add column deceased_grace_days integer not null default 90
       check (deceased_grace_days between 1 and 730),
     add column outreach_stall_days integer not null default 3
       check (outreach_stall_days between 1 and 60)`,

  `create table holder_deaths (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     customer_id uuid not null references customers,
     date_of_death date not null,
     evidence_ref text not null check (length(evidence_ref) between 1 and 200),
     source text not null check (source in ('registry', 'agent')),
     recorded_by text not null,
     created_at timestamptz not null default now(),
     unique (utility_id, customer_id)
   )`,

  `create table deceased_accounts (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     death_id uuid not null references holder_deaths,
     account_id uuid not null references accounts,
     subsidised boolean not null,
     status text not null check (status in ('held', 'transferred', 'ended', 'noted')),
     case_id uuid references cases,
     grace_ends_at timestamptz,
     first_reached_at timestamptz,
     last_attempt_at timestamptz,
     reminded_at timestamptz,
     transferred_at timestamptz,
     subsidy_carried boolean,
     ended_at timestamptz,
     created_at timestamptz not null default now(),
     unique (death_id, account_id)
   )`,
  'create index deceased_accounts_status on deceased_accounts (utility_id, status, grace_ends_at)',
  'create index deceased_accounts_account on deceased_accounts (account_id)',

  `create table outreach_contacts (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     deceased_account_id uuid not null references deceased_accounts,
     name text not null check (length(name) between 1 and 200),
     relation text check (length(relation) <= 60),
     phone text check (phone ~ '^\\+[1-9][0-9]{6,14}$'),
     language text not null default 'ar' check (language in ('ar', 'en')),
     created_by text not null,
     created_at timestamptz not null default now()
   )`,
  'create index outreach_contacts_case on outreach_contacts (deceased_account_id)',

  `create table outreach_attempts (
     id bigint generated always as identity primary key,
     utility_id uuid not null references utilities,
     deceased_account_id uuid not null references deceased_accounts,
     contact_id uuid references outreach_contacts,
     outcome text not null
       check (outcome in ('reached', 'no_answer', 'busy', 'wrong_number', 'call_back', 'declined')),
     note text check (length(note) <= 2000),
     actor text not null,
     created_at timestamptz not null default now()
   )`,
  'create index outreach_attempts_case on outreach_attempts (deceased_account_id, id)',
  `create trigger outreach_attempts_append_only before update or delete on outreach_attempts
     for each row execute function rasid_refuse_change()`,
];

const DOWN: readonly string[] = [
  'drop table if exists outreach_attempts, outreach_contacts, deceased_accounts, holder_deaths',
  `alter table utilities
     drop column if exists deceased_grace_days,
     drop column if exists outreach_stall_days`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
