import { type Kysely, sql } from 'kysely';

/**
 * The balance engine's own state (src/balance/engine.ts, docs/balance.md), one row per meter, so an
 * evaluation reads a few rows whatever the stored history:
 *
 * - the reading cursor (last reading taken in, its register), month-to-date units, the latest relay and
 *   reported credit, and recent use per UTC day (`usage`: `[[day, units, fromMs, toMs], ...]`, last 8 days);
 * - the ledger cursor: the account's balance up to `ledger_id`, so only newer entries are read;
 * - the policy memo (`memo`: state, ledger id and credit at the last written decision, its signature) and
 *   the latest evaluation's credit, days left and decision, which the operator and customer screens show;
 * - `due_at`: the next moment time alone may change a decision (a friendly window ending, the projected
 *   moment credit runs out), found through a partial index.
 *
 * `balance_feed` keeps the engine's positions in change feeds (the ledger's highest id seen) across starts.
 */
const UP: readonly string[] = [
  `create table balance_state (
     meter_id uuid primary key references meters,
     utility_id uuid not null references utilities,
     read_ts timestamptz,
     register bigint,
     month text,
     month_to_date bigint not null default 0,
     relay boolean,
     credit_minor_reported bigint,
     credit_wh_reported bigint,
     usage jsonb not null default '[]',
     ledger_id bigint not null default 0,
     balance_minor bigint not null default 0,
     memo jsonb,
     credit_minor bigint,
     days_left double precision,
     low_credit boolean not null default false,
     supply text not null default 'connected' check (supply in ('connected', 'disconnected')),
     decision text,
     evaluated_at timestamptz,
     due_at timestamptz
   )`,
  'create index balance_state_due on balance_state (due_at) where due_at is not null',
  'create index balance_state_utility on balance_state (utility_id)',
  // The ledger entries of an account after a position, without reading the account's whole history.
  'create index account_ledger_account_id on account_ledger (account_id, id)',
  `create table balance_feed (
     name text primary key,
     position bigint not null
   )`,
];

const DOWN: readonly string[] = [
  'drop table if exists balance_feed',
  'drop index if exists account_ledger_account_id',
  'drop table if exists balance_state',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
