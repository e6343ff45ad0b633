import { type Kysely, sql } from 'kysely';

/**
 * Protocol gateways and the meters each serves (src/api/routes/gateways.ts, docs/gateway.md). A gateway
 * signs in with an API key (only its SHA-256 is kept) and fetches its meter list. A meter is served by at
 * most one gateway, so several gateways share a fleet by disjoint lists; moving a meter replaces its row.
 * The per-meter secrets are sealed by the key store (AES-256-GCM, bound to the meter and gateway).
 */
const UP: readonly string[] = [
  `create table gateways (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     code text not null check (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
     name text not null,
     api_key_hash text not null unique,
     active boolean not null default true,
     broker_url text,
     poll_interval_s integer not null default 900 check (poll_interval_s between 1 and 86400),
     created_at timestamptz not null default now(),
     unique (utility_id, code)
   )`,
  `create table gateway_meters (
     meter_id uuid primary key references meters,
     gateway_id uuid not null references gateways,
     utility_id uuid not null references utilities,
     settings jsonb not null,
     secret_box bytea check (secret_box is null or length(secret_box) > 28),
     updated_at timestamptz not null default now()
   )`,
  'create index gateway_meters_gateway on gateway_meters (gateway_id)',
];

const DOWN: readonly string[] = ['drop table if exists gateway_meters', 'drop table if exists gateways'];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
