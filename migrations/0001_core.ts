import { type Kysely, sql } from 'kysely';

/**
 * Rasid's core tables. Every business row carries `utility_id`; money is bigint minor units; ledgers and
 * the audit log are append-only (a trigger refuses UPDATE, DELETE and TRUNCATE). Runs unchanged on
 * PostgreSQL 15+ and PGlite. `src/store/schema.ts` mirrors it.
 */
const UP: readonly string[] = [
  // Refuses any change to an append-only table; corrections are new rows (adjustment, reversal).
  `create function rasid_refuse_change() returns trigger language plpgsql as $$
   begin
     raise exception 'rasid: % is append-only; % refused', tg_table_name, tg_op
       using errcode = 'restrict_violation';
   end $$`,

  `create table utilities (
     id uuid primary key default gen_random_uuid(),
     code text not null unique,
     name text not null,
     currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
     currency_exponent smallint not null check (currency_exponent between 0 and 3),
     tax_rate_bp integer not null default 0 check (tax_rate_bp between 0 and 10000),
     timezone text not null,
     weekend_days integer[] not null default '{}'
       check (weekend_days <@ array[1, 2, 3, 4, 5, 6, 7]),
     night_start_minute smallint check (night_start_minute between 0 and 1439),
     night_end_minute smallint check (night_end_minute between 0 and 1439),
     created_at timestamptz not null default now()
   )`,

  `create table customers (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     name text not null,
     preferred_language text not null default 'ar' check (preferred_language in ('ar', 'en')),
     phone text,
     email text,
     national_id text,
     created_at timestamptz not null default now()
   )`,
  'create unique index customers_national_id on customers (utility_id, national_id) where national_id is not null',

  `create table premises (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     address text not null,
     area text,
     created_at timestamptz not null default now()
   )`,

  `create table users (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     username text not null unique,
     display_name text,
     password_hash text not null,
     role text not null check (role in ('customer', 'vendor', 'operator', 'technician', 'service', 'admin')),
     customer_id uuid references customers,
     vendor_id uuid,
     disabled_at timestamptz,
     created_at timestamptz not null default now()
   )`,

  `create table no_disconnect_periods (
     id bigint generated always as identity primary key,
     utility_id uuid not null references utilities,
     kind text not null check (kind in ('public_holiday', 'declared')),
     starts_at timestamptz not null,
     ends_at timestamptz not null,
     reason text not null,
     created_by uuid references users,
     created_at timestamptz not null default now(),
     check (ends_at > starts_at)
   )`,
  'create index no_disconnect_periods_window on no_disconnect_periods (utility_id, starts_at, ends_at)',
  `create view public_holidays as
     select id, utility_id, starts_at, ends_at, reason from no_disconnect_periods where kind = 'public_holiday'`,

  `create table accounts (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     number text not null,
     customer_id uuid not null references customers,
     premise_id uuid not null references premises,
     status text not null default 'active' check (status in ('active', 'suspended', 'closed')),
     tariff_code text,
     subsidy_eligible boolean not null default false,
     protected boolean not null default false,
     debt_minor bigint not null default 0 check (debt_minor >= 0),
     created_at timestamptz not null default now(),
     unique (utility_id, number)
   )`,

  `create table account_holders (
     id bigint generated always as identity primary key,
     utility_id uuid not null references utilities,
     account_id uuid not null references accounts,
     customer_id uuid not null references customers,
     from_at timestamptz not null,
     to_at timestamptz,
     reason text not null,
     evidence_ref text,
     performed_by uuid references users,
     subsidy_carried boolean not null default false,
     check (to_at is null or to_at >= from_at)
   )`,
  // One current holder per account.
  'create unique index account_holders_current on account_holders (account_id) where to_at is null',

  `create table vending_keys (
     id uuid primary key,
     utility_id uuid not null references utilities,
     sgc integer not null check (sgc between 0 and 999999),
     krn smallint not null check (krn between 1 and 9),
     label text,
     ciphertext bytea not null,
     iv bytea not null check (length(iv) = 12),
     auth_tag bytea not null check (length(auth_tag) = 16),
     created_at timestamptz not null default now(),
     unique (utility_id, sgc, krn)
   )`,

  `create table meters (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     serial text not null,
     kind text not null check (kind in ('electricity', 'water')),
     protocol text not null check (protocol in ('mqtt', 'dlms', 'modbus')),
     mode text not null check (mode in ('token', 'central')),
     account_id uuid references accounts,
     sts_iin text check (sts_iin ~ '^[0-9]{6}$'),
     sts_drn text check (sts_drn ~ '^[0-9]{11,13}$'),
     sts_sgc integer check (sts_sgc between 0 and 999999),
     sts_ti smallint check (sts_ti between 0 and 99),
     sts_krn smallint check (sts_krn between 1 and 9),
     sts_kt smallint check (sts_kt between 0 and 3),
     sts_ea smallint check (sts_ea between 0 and 99),
     sts_base_date date,
     sts_ken smallint check (sts_ken between 0 and 255),
     vending_key_id uuid references vending_keys,
     mqtt_username text unique,
     mqtt_password_hash text,
     status text not null default 'registered'
       check (status in ('registered', 'active', 'faulty', 'decommissioned')),
     online boolean not null default false,
     last_seen_at timestamptz,
     created_at timestamptz not null default now(),
     unique (utility_id, serial)
   )`,
  'create index meters_account on meters (account_id) where account_id is not null',

  `create table vendors (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     name text not null,
     credit_limit_minor bigint not null default 0 check (credit_limit_minor >= 0),
     commission_bp integer not null default 0 check (commission_bp between 0 and 10000),
     active boolean not null default true,
     created_at timestamptz not null default now()
   )`,
  'alter table users add foreign key (vendor_id) references vendors',

  `create table kiosks (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     vendor_id uuid not null references vendors,
     name text not null,
     api_key_hash text not null unique,
     active boolean not null default true,
     created_at timestamptz not null default now()
   )`,

  `create table tariffs (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     code text not null,
     name text not null,
     kind text not null check (kind in ('electricity', 'water')),
     subsidised boolean not null default false,
     version integer not null check (version >= 1),
     effective_from timestamptz not null,
     currency char(3) not null,
     fixed_monthly_minor bigint not null default 0 check (fixed_monthly_minor >= 0),
     tax_rate_bp integer not null default 0 check (tax_rate_bp between 0 and 10000),
     debt_recovery_bp integer not null default 0 check (debt_recovery_bp between 0 and 10000),
     min_purchase_minor bigint not null default 0 check (min_purchase_minor >= 0),
     unit text not null check (unit in ('Wh', 'L')),
     price_per_units integer not null default 1000 check (price_per_units > 0),
     blocks jsonb not null check (jsonb_typeof(blocks) = 'array' and jsonb_array_length(blocks) > 0),
     tou jsonb check (tou is null or jsonb_typeof(tou) = 'array'),
     created_at timestamptz not null default now(),
     unique (utility_id, code, version)
   )`,
  'create index tariffs_effective on tariffs (utility_id, code, effective_from desc)',

  `create table payments (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     provider text not null,
     provider_ref text not null,
     status text not null check (status in
       ('pending', 'succeeded', 'failed', 'refunded', 'partially_refunded', 'disputed')),
     amount_minor bigint not null check (amount_minor > 0),
     currency char(3) not null,
     meter_id uuid references meters,
     account_id uuid references accounts,
     vend_id uuid,
     refunded_minor bigint not null default 0 check (refunded_minor >= 0),
     disputed boolean not null default false,
     created_at timestamptz not null default now(),
     updated_at timestamptz not null default now(),
     unique (provider, provider_ref)
   )`,

  `create table payment_events (
     provider text not null,
     event_id text not null,
     utility_id uuid not null references utilities,
     type text not null,
     payment_id uuid references payments,
     received_at timestamptz not null default now(),
     processed_at timestamptz,
     primary key (provider, event_id)
   )`,

  `create table vends (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     meter_id uuid not null references meters,
     account_id uuid not null references accounts,
     channel text not null check (channel in ('online', 'vendor')),
     vendor_id uuid references vendors,
     kiosk_id uuid references kiosks,
     payment_id uuid references payments,
     idempotency_key text not null,
     request_hash text not null,
     amount_paid_minor bigint not null check (amount_paid_minor >= 0),
     units bigint not null check (units >= 0),
     token text,
     tid integer,
     receipt jsonb not null,
     status text not null default 'completed' check (status in ('completed', 'reversed', 'failed')),
     created_at timestamptz not null default now(),
     reversed_at timestamptz,
     unique (utility_id, idempotency_key),
     check (channel <> 'vendor' or vendor_id is not null)
   )`,
  'create index vends_meter on vends (meter_id, created_at desc)',
  'create index vends_vendor on vends (vendor_id, created_at) where vendor_id is not null',
  'alter table payments add foreign key (vend_id) references vends',

  `create table tokens (
     id bigint generated always as identity primary key,
     utility_id uuid not null references utilities,
     meter_id uuid not null references meters,
     tid integer not null check (tid >= 0),
     kind text not null check (kind in
       ('credit', 'key_change', 'clear_credit', 'clear_tamper', 'max_power', 'engineering', 'test')),
     token text not null check (token ~ '^[0-9]{20}$'),
     vend_id uuid references vends,
     issued_by uuid references users,
     reason text,
     issued_at timestamptz not null default now(),
     used_at timestamptz
   )`,
  // A key-change pair shares one TID; every other token has its own TID per meter.
  `create unique index tokens_meter_tid on tokens (meter_id, tid) where kind <> 'key_change'`,
  'create index tokens_vend on tokens (vend_id) where vend_id is not null',

  `create table account_ledger (
     id bigint generated always as identity primary key,
     utility_id uuid not null references utilities,
     account_id uuid not null references accounts,
     kind text not null check (kind in ('payment', 'vend', 'charge', 'consumption', 'adjustment', 'reversal')),
     amount_minor bigint not null,
     ref text,
     vend_id uuid references vends,
     created_at timestamptz not null default now()
   )`,
  'create index account_ledger_account on account_ledger (account_id, created_at)',

  `create table vendor_ledger (
     id bigint generated always as identity primary key,
     utility_id uuid not null references utilities,
     vendor_id uuid not null references vendors,
     kiosk_id uuid references kiosks,
     kind text not null check (kind in ('vend', 'commission', 'float_topup', 'adjustment', 'reversal')),
     amount_minor bigint not null,
     ref text,
     vend_id uuid references vends,
     created_at timestamptz not null default now()
   )`,
  'create index vendor_ledger_vendor on vendor_ledger (vendor_id, created_at)',

  `create table audit_log (
     id bigint generated always as identity primary key,
     utility_id uuid not null references utilities,
     actor text not null,
     action text not null,
     subject text not null,
     details jsonb not null default '{}',
     created_at timestamptz not null default now()
   )`,
  'create index audit_log_subject on audit_log (utility_id, subject, created_at)',

  ...['account_ledger', 'vendor_ledger', 'audit_log'].flatMap((table) => [
    `create trigger ${table}_append_only before update or delete on ${table}
       for each row execute function rasid_refuse_change()`,
    `create trigger ${table}_no_truncate before truncate on ${table}
       for each statement execute function rasid_refuse_change()`,
  ]),

  // Telemetry: keyed by meter (whose row holds utility_id) to keep the hot table narrow; no foreign key so
  // batched ingest stays one COPY. `0002_readings_rollups` may turn it into a hypertable.
  `create table readings (
     meter_id uuid not null,
     ts timestamptz not null,
     seq bigint,
     energy_wh bigint,
     volume_l bigint,
     power_w integer,
     voltage_dv integer,
     current_ma integer,
     credit_minor bigint,
     credit_wh bigint,
     relay boolean,
     flags integer not null default 0,
     primary key (meter_id, ts)
   )`,

  `create table meter_events (
     id bigint generated always as identity primary key,
     utility_id uuid not null references utilities,
     meter_id uuid not null references meters,
     ts timestamptz not null,
     seq bigint,
     kind text not null,
     details jsonb not null default '{}',
     received_at timestamptz not null default now(),
     unique (meter_id, ts, kind)
   )`,

  `create table commands (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     meter_id uuid not null references meters,
     kind text not null,
     payload jsonb not null default '{}',
     state text not null default 'queued'
       check (state in ('queued', 'sent', 'acknowledged', 'failed', 'expired')),
     attempts integer not null default 0 check (attempts >= 0),
     next_attempt_at timestamptz not null default now(),
     expires_at timestamptz not null,
     sent_at timestamptz,
     acknowledged_at timestamptz,
     result jsonb,
     reason text,
     created_by text,
     created_at timestamptz not null default now()
   )`,
  `create index commands_due on commands (next_attempt_at) where state in ('queued', 'sent')`,
  'create index commands_meter on commands (meter_id, created_at desc)',

  `create table notifications_outbox (
     id bigint generated always as identity primary key,
     utility_id uuid not null references utilities,
     channel text not null check (channel in ('sms', 'email', 'webhook')),
     recipient text not null,
     template text not null,
     language text not null check (language in ('ar', 'en')),
     payload jsonb not null default '{}',
     dedup_key text unique,
     state text not null default 'pending' check (state in ('pending', 'sent', 'failed')),
     attempts integer not null default 0 check (attempts >= 0),
     next_attempt_at timestamptz not null default now(),
     last_error text,
     created_at timestamptz not null default now(),
     sent_at timestamptz
   )`,
  `create index notifications_outbox_due on notifications_outbox (next_attempt_at) where state = 'pending'`,

  `create table store_features (
     name text primary key,
     enabled boolean not null,
     detail text not null,
     recorded_at timestamptz not null default now()
   )`,
];

const DOWN: readonly string[] = [
  'drop table if exists store_features, notifications_outbox, commands, meter_events, readings, audit_log, ' +
    'vendor_ledger, account_ledger, tokens, payments, payment_events, vends, tariffs, kiosks, users, ' +
    'vendors, meters, vending_keys, account_holders, accounts, no_disconnect_periods, premises, customers, ' +
    'utilities cascade',
  'drop view if exists public_holidays',
  'drop function if exists rasid_refuse_change()',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
