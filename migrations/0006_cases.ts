import { type Kysely, sql } from 'kysely';

/**
 * Customer service and the people's side of the API:
 * - `case_categories`: the SLA of each case category per utility (hours from opening to resolution),
 *   seeded with defaults for every utility, those that exist now and those created later (a trigger).
 * - `cases`: one row per case with its current state (status, assignee, SLA due time, first response,
 *   resolution); `case_events`: the case's timeline, append-only (the `rasid_refuse_change` trigger of
 *   0001_core), so what was said and done on a case is never rewritten.
 * - Low-credit alert settings per account (`accounts.low_credit_alert_*`), chosen by the customer; the
 *   balance engine reads them in place of the utility's default thresholds.
 * - `stream_tickets`: single-use, short-lived tickets that open the operators' alert stream from a browser
 *   (EventSource cannot send an Authorization header); only the ticket's SHA-256 is stored.
 */
const CATEGORIES = ['complaint', 'request', 'meter_fault', 'billing_dispute'] as const;

/** Default SLA hours per category: a meter fault may leave a home without supply, so it comes first. */
const DEFAULT_SLA_HOURS: Readonly<Record<(typeof CATEGORIES)[number], number>> = Object.freeze({
  meter_fault: 24,
  complaint: 72,
  request: 120,
  billing_dispute: 168,
});

const DEFAULTS_VALUES = CATEGORIES.map((c) => `('${c}', ${DEFAULT_SLA_HOURS[c]})`).join(', ');

const UP: readonly string[] = [
  `create table case_categories (
     utility_id uuid not null references utilities,
     category text not null check (category in (${CATEGORIES.map((c) => `'${c}'`).join(', ')})),
     sla_hours integer not null check (sla_hours between 1 and 8760),
     updated_at timestamptz not null default now(),
     primary key (utility_id, category)
   )`,
  `insert into case_categories (utility_id, category, sla_hours)
     select u.id, d.category, d.sla_hours from utilities u
     cross join (values ${DEFAULTS_VALUES}) as d (category, sla_hours)`,
  `create function rasid_case_categories_defaults() returns trigger language plpgsql as $$
   begin
     insert into case_categories (utility_id, category, sla_hours)
       select new.id, d.category, d.sla_hours from (values ${DEFAULTS_VALUES}) as d (category, sla_hours);
     return new;
   end $$`,
  `create trigger utilities_case_categories after insert on utilities
     for each row execute function rasid_case_categories_defaults()`,

  `create table cases (
     id uuid primary key default gen_random_uuid(),
     number bigint generated always as identity unique,
     utility_id uuid not null references utilities,
     customer_id uuid references customers,
     account_id uuid references accounts,
     meter_id uuid references meters,
     channel text not null check (channel in ('web', 'phone', 'sms', 'walk_in', 'email')),
     category text not null check (category in (${CATEGORIES.map((c) => `'${c}'`).join(', ')})),
     subject text not null check (length(subject) between 1 and 200),
     description text not null check (length(description) <= 4000),
     status text not null default 'open'
       check (status in ('open', 'in_progress', 'waiting_customer', 'resolved', 'closed')),
     assignee_id uuid references users,
     opened_by text not null,
     sla_hours integer not null,
     sla_due_at timestamptz not null,
     first_response_at timestamptz,
     resolved_at timestamptz,
     closed_at timestamptz,
     created_at timestamptz not null default now(),
     updated_at timestamptz not null default now()
   )`,
  'create index cases_status on cases (utility_id, status, sla_due_at)',
  'create index cases_created on cases (utility_id, created_at)',
  'create index cases_customer on cases (customer_id) where customer_id is not null',
  'create index cases_assignee on cases (assignee_id) where assignee_id is not null',

  `create table case_events (
     id bigint generated always as identity primary key,
     utility_id uuid not null references utilities,
     case_id uuid not null references cases,
     kind text not null check (kind in ('opened', 'status', 'note', 'assignment', 'first_response')),
     from_status text,
     to_status text,
     assignee_id uuid references users,
     note text check (length(note) <= 4000),
     internal boolean not null default false,
     actor text not null,
     created_at timestamptz not null default now()
   )`,
  'create index case_events_case on case_events (case_id, id)',
  `create trigger case_events_append_only before update or delete on case_events
     for each row execute function rasid_refuse_change()`,
  `create trigger case_events_no_truncate before truncate on case_events
     for each statement execute function rasid_refuse_change()`,

  // The customer's own low-credit alert: null thresholds mean the utility's defaults.
  `alter table accounts
     add column low_credit_alert_enabled boolean not null default true,
     add column low_credit_alert_minor bigint check (low_credit_alert_minor >= 0),
     add column low_credit_alert_days smallint check (low_credit_alert_days between 0 and 60)`,

  `create table stream_tickets (
     ticket_hash text primary key,
     utility_id uuid not null references utilities,
     user_id uuid not null references users,
     expires_at timestamptz not null,
     used_at timestamptz,
     created_at timestamptz not null default now()
   )`,
  // Operators filter meters by area; premises.area exists since 0001_core.
  'create index premises_area on premises (utility_id, area)',
];

const DOWN: readonly string[] = [
  'drop index if exists premises_area',
  'drop table if exists stream_tickets',
  `alter table accounts
     drop column if exists low_credit_alert_enabled,
     drop column if exists low_credit_alert_minor,
     drop column if exists low_credit_alert_days`,
  'drop table if exists case_events, cases, case_categories',
  'drop trigger if exists utilities_case_categories on utilities',
  'drop function if exists rasid_case_categories_defaults()',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
