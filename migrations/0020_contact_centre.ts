import { type Kysely, sql } from 'kysely';

/**
 * The contact centre on top of cases (docs/customer-service.md, "Contact centre"):
 * - Case categories become the utility's own: any code (the four defaults of 0006_cases stay), a name in
 *   English and Arabic, whether the case needs a site visit, and `active`; every case names a category of
 *   its utility (foreign key).
 * - `departments` and `routing_rules` (category, optional area → department): a case lands in the
 *   department's queue; staff may belong to a department (`users.department_id`).
 * - More channels on cases (live chat, WhatsApp, the national complaints system with its external
 *   reference), the caller's number, and how often the case was reopened.
 * - `work_orders`: a site visit for a technician, whose result comes back into the case.
 * - `call_records`: calls and chats from the telephony system (import or webhook), for the answer rate;
 *   `utilities.contact_secret_hash`: the hashed secret the telephony system signs its pushes with.
 * - `case_surveys`: the one satisfaction survey sent after a case is closed and its answer; only the
 *   SHA-256 of the survey link's token is kept.
 */
const CHANNELS = ['web', 'phone', 'sms', 'email', 'chat', 'whatsapp', 'walk_in', 'national'] as const;
const EVENT_KINDS = [
  'opened',
  'status',
  'note',
  'assignment',
  'first_response',
  'routed',
  'work_order',
  'survey',
] as const;
const list = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(', ');

const UP: readonly string[] = [
  `create table departments (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     code text not null check (code ~ '^[a-z][a-z0-9_-]{1,39}$'),
     name_en text not null check (length(name_en) between 1 and 120),
     name_ar text not null check (length(name_ar) between 1 and 120),
     created_at timestamptz not null default now(),
     unique (utility_id, code),
     unique (utility_id, id)
   )`,
  'alter table users add column department_id uuid references departments',

  'alter table case_categories drop constraint case_categories_category_check',
  `alter table case_categories
     add constraint case_categories_code check (category ~ '^[a-z][a-z0-9_]{1,39}$'),
     add column name_en text check (length(name_en) between 1 and 120),
     add column name_ar text check (length(name_ar) between 1 and 120),
     add column needs_visit boolean not null default false,
     add column active boolean not null default true`,
  `update case_categories set needs_visit = true where category = 'meter_fault'`,
  // A new utility's defaults: a meter fault needs a visit.
  `create or replace function rasid_case_categories_defaults() returns trigger language plpgsql as $$
   begin
     insert into case_categories (utility_id, category, sla_hours, needs_visit)
       select new.id, d.category, d.sla_hours, d.category = 'meter_fault'
       from (values ('complaint', 72), ('request', 120), ('meter_fault', 24), ('billing_dispute', 168))
         as d (category, sla_hours);
     return new;
   end $$`,

  'alter table cases drop constraint cases_category_check',
  'alter table cases drop constraint cases_channel_check',
  `alter table cases
     add constraint cases_channel check (channel in (${list(CHANNELS)})),
     add constraint cases_category_known foreign key (utility_id, category)
       references case_categories (utility_id, category),
     add column external_ref text check (length(external_ref) between 1 and 100),
     add column caller_number text check (caller_number ~ '^\\+?[0-9]{3,20}$'),
     add column department_id uuid references departments,
     add column reopened integer not null default 0,
     add constraint cases_national_ref check (channel <> 'national' or external_ref is not null)`,
  'create index cases_department on cases (utility_id, department_id, status)',
  'create unique index cases_external_ref on cases (utility_id, channel, external_ref) where external_ref is not null',

  'alter table case_events drop constraint case_events_kind_check',
  `alter table case_events add constraint case_events_kind check (kind in (${list(EVENT_KINDS)}))`,
  'alter table case_events add column department_id uuid references departments',

  `create table routing_rules (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     category text not null,
     area text check (length(area) between 1 and 100),
     department_id uuid not null references departments,
     created_at timestamptz not null default now(),
     foreign key (utility_id, category) references case_categories (utility_id, category)
   )`,
  `create unique index routing_rules_key on routing_rules (utility_id, category, coalesce(area, ''))`,

  `create table work_orders (
     id uuid primary key default gen_random_uuid(),
     number bigint generated always as identity unique,
     utility_id uuid not null references utilities,
     case_id uuid not null references cases,
     meter_id uuid references meters,
     technician_id uuid references users,
     instructions text not null check (length(instructions) <= 2000),
     status text not null default 'open' check (status in ('open', 'done', 'cancelled')),
     outcome text check (outcome in ('fixed', 'not_fixed', 'no_access')),
     result text check (length(result) <= 2000),
     created_by text not null,
     created_at timestamptz not null default now(),
     completed_at timestamptz,
     check ((status = 'done') = (outcome is not null))
   )`,
  'create index work_orders_open on work_orders (utility_id, status, technician_id)',
  'create index work_orders_case on work_orders (case_id)',

  `create table call_records (
     id bigint generated always as identity primary key,
     utility_id uuid not null references utilities,
     external_id text not null check (length(external_id) between 1 and 100),
     kind text not null check (kind in ('call', 'chat')),
     queue text check (length(queue) <= 100),
     agent text check (length(agent) <= 100),
     caller text check (length(caller) <= 40),
     received_at timestamptz not null,
     outcome text not null check (outcome in ('answered', 'abandoned')),
     wait_seconds integer not null check (wait_seconds >= 0),
     talk_seconds integer not null default 0 check (talk_seconds >= 0),
     source text not null check (source in ('import', 'webhook')),
     created_at timestamptz not null default now(),
     unique (utility_id, external_id),
     check (outcome = 'answered' or talk_seconds = 0)
   )`,
  'create index call_records_received on call_records (utility_id, received_at)',
  'alter table utilities add column contact_secret_hash text',

  `create table case_surveys (
     case_id uuid primary key references cases,
     utility_id uuid not null references utilities,
     token_hash text not null unique,
     channel text not null check (channel in ('sms', 'whatsapp')),
     recipient text not null,
     sent_at timestamptz not null,
     score smallint check (score between 1 and 5),
     comment text check (length(comment) <= 1000),
     answered_via text check (answered_via in ('link', 'reply')),
     answered_at timestamptz,
     check ((score is null) = (answered_at is null))
   )`,
  'create index case_surveys_recipient on case_surveys (utility_id, recipient, sent_at)',
];

const DOWN: readonly string[] = [
  'drop table if exists case_surveys, call_records, work_orders, routing_rules',
  'alter table utilities drop column if exists contact_secret_hash',
  'alter table case_events drop constraint if exists case_events_kind',
  'alter table case_events drop column if exists department_id',
  `alter table case_events add constraint case_events_kind_check
     check (kind in ('opened', 'status', 'note', 'assignment', 'first_response'))`,
  `alter table cases
     drop constraint if exists cases_channel,
     drop constraint if exists cases_category_known,
     drop constraint if exists cases_national_ref,
     drop column if exists external_ref,
     drop column if exists caller_number,
     drop column if exists department_id,
     drop column if exists reopened`,
  `alter table cases add constraint cases_channel_check
     check (channel in ('web', 'phone', 'sms', 'walk_in', 'email'))`,
  `alter table case_categories
     drop constraint if exists case_categories_code,
     drop column if exists name_en,
     drop column if exists name_ar,
     drop column if exists needs_visit,
     drop column if exists active`,
  'alter table users drop column if exists department_id',
  'drop table if exists departments',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
