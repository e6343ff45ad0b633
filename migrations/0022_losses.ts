import { type Kysely, sql } from 'kysely';

/**
 * Non-revenue energy and water (src/losses, docs/losses.md):
 * - `districts`: an area of the network, electricity or water, with a code unique per utility;
 * - `supply_points`: where a district is fed (a feeder, a transformer, a district metering area's inlet),
 *   each with the bulk meter that measures it;
 * - `meters.role` customer | bulk and `meters.district_id`: a customer's meter belongs to a district, a bulk
 *   meter sits on one of its supply points. Bulk meters are registered, signed in and read like any other.
 * - `utilities.loss_alert_bp`: the loss share (basis points of the inflow) above which a district's complete
 *   day raises an operator alert; null = Rasid's default (docs/losses.md).
 */
const UP: readonly string[] = [
  `create table districts (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities(id),
     code text not null check (code ~ '^[A-Za-z0-9._-]{1,40}$'),
     name text not null check (length(name) between 1 and 200),
     kind text not null check (kind in ('electricity', 'water')),
     created_at timestamptz not null default now(),
     unique (utility_id, code)
   )`,
  `create table supply_points (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities(id),
     district_id uuid not null references districts(id),
     name text not null check (length(name) between 1 and 200),
     meter_id uuid references meters(id),
     created_at timestamptz not null default now(),
     unique (district_id, name)
   )`,
  'create unique index supply_points_meter on supply_points (meter_id) where meter_id is not null',
  `alter table meters add column role text not null default 'customer' check (role in ('customer', 'bulk'))`,
  'alter table meters add column district_id uuid references districts(id)',
  'create index meters_district on meters (district_id, role) where district_id is not null',
  `alter table utilities add column loss_alert_bp integer check (loss_alert_bp between 1 and 10000)`,
];

const DOWN: readonly string[] = [
  'alter table utilities drop column if exists loss_alert_bp',
  'drop index if exists meters_district',
  'alter table meters drop column if exists district_id',
  'alter table meters drop column if exists role',
  'drop table if exists supply_points',
  'drop table if exists districts',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
