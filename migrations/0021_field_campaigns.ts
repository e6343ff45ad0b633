import { type Kysely, sql } from 'kysely';

/**
 * Door-to-door campaigns that clean up a utility's records (src/field/, docs/field.md): a campaign covers
 * premises (by area), each assigned to a field agent (a technician); agents record visits on their phones,
 * offline if need be, each under an id the phone generates so a visit sent twice is stored once; what a
 * visit found that differs from the records is a proposed change a supervisor applies or rejects.
 */
const UP: readonly string[] = [
  `create table field_campaigns (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     name text not null check (length(name) between 1 and 200),
     status text not null default 'open' check (status in ('open', 'closed')),
     created_by text not null,
     created_at timestamptz not null default now()
   )`,
  'create index field_campaigns_utility on field_campaigns (utility_id, created_at)',

  `create table field_assignments (
     id bigint generated always as identity primary key,
     utility_id uuid not null references utilities,
     campaign_id uuid not null references field_campaigns,
     premise_id uuid not null references premises,
     agent_id uuid references users,
     assigned_at timestamptz,
     unique (campaign_id, premise_id)
   )`,
  'create index field_assignments_agent on field_assignments (agent_id, campaign_id)',

  `create table field_visits (
     id uuid primary key,
     utility_id uuid not null references utilities,
     campaign_id uuid not null references field_campaigns,
     premise_id uuid not null references premises,
     agent_id uuid not null references users,
     outcome text not null check (outcome in ('visited', 'nobody_home', 'refused')),
     visited_at timestamptz not null,
     received_at timestamptz not null default now(),
     occupant_name text check (length(occupant_name) <= 200),
     payer_name text check (length(payer_name) <= 200),
     phone text check (phone ~ '^\\+[1-9][0-9]{6,14}$'),
     national_id text check (length(national_id) <= 40),
     premise_use text check (premise_use in ('residential', 'commercial', 'vacant', 'other')),
     premise_note text check (length(premise_note) <= 1000),
     meter_serial text check (length(meter_serial) <= 64),
     meter_reading text check (meter_reading ~ '^[0-9]{1,12}(\\.[0-9]{1,3})?$'),
     seal_number text check (length(seal_number) <= 64),
     seal_intact boolean,
     tamper_signs boolean,
     latitude double precision check (latitude between -90 and 90),
     longitude double precision check (longitude between -180 and 180),
     accuracy_m double precision check (accuracy_m >= 0),
     photo bytea check (length(photo) <= 524288),
     photo_type text check (photo_type in ('image/jpeg', 'image/png', 'image/webp')),
     check ((photo is null) = (photo_type is null))
   )`,
  'create index field_visits_campaign on field_visits (campaign_id, premise_id, visited_at)',

  `create table field_changes (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     campaign_id uuid not null references field_campaigns,
     visit_id uuid not null references field_visits,
     premise_id uuid not null references premises,
     kind text not null check (kind in ('customer.phone', 'customer.national_id', 'account.holder', 'meter.tamper')),
     subject text not null,
     current_value text,
     proposed_value text,
     details jsonb not null default '{}',
     status text not null default 'proposed' check (status in ('proposed', 'applied', 'rejected')),
     reviewed_by text,
     reviewed_at timestamptz,
     review_note text check (length(review_note) <= 1000),
     created_at timestamptz not null default now(),
     unique (visit_id, kind)
   )`,
  'create index field_changes_status on field_changes (utility_id, status, created_at)',
];

const DOWN: readonly string[] = [
  'drop table if exists field_changes',
  'drop table if exists field_visits',
  'drop table if exists field_assignments',
  'drop table if exists field_campaigns',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
