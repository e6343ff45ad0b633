import { type Kysely, sql } from 'kysely';

/**
 * Notification channels (docs/notifications.md): WhatsApp beside SMS, e-mail and webhooks; the provider's
 * message id and the delivery receipt on each outbox row (queued → sent → delivered or failed); the
 * customer each row is about, so customer service sees it on the customer's page; each customer's channels
 * in order and opt-out; several signed webhook endpoints per utility, each with the events it wants.
 * A receipt can arrive before the worker has written the provider's id (an SMSC answers fast), so receipts
 * are kept in their own table and applied whichever comes second.
 */
const UP: readonly string[] = [
  'alter table notifications_outbox drop constraint if exists notifications_outbox_channel_check',
  `alter table notifications_outbox add constraint notifications_outbox_channel_check
     check (channel in ('sms', 'whatsapp', 'email', 'webhook'))`,
  'alter table notifications_outbox drop constraint if exists notifications_outbox_state_check',
  `alter table notifications_outbox add constraint notifications_outbox_state_check
     check (state in ('pending', 'sent', 'delivered', 'failed'))`,
  'alter table notifications_outbox add column customer_id uuid references customers',
  'alter table notifications_outbox add column provider_ref text',
  'alter table notifications_outbox add column delivered_at timestamptz',
  // Set while a worker delivers the row: a due row that still has it was interrupted (the process died).
  'alter table notifications_outbox add column claimed_at timestamptz',
  `create index notifications_outbox_provider_ref on notifications_outbox (channel, provider_ref)
     where provider_ref is not null`,
  `create index notifications_outbox_customer on notifications_outbox (customer_id, id)
     where customer_id is not null`,
  `create table notification_receipts (
     channel text not null,
     provider_ref text not null,
     state text not null check (state in ('delivered', 'failed')),
     detail text,
     received_at timestamptz not null default now(),
     primary key (channel, provider_ref)
   )`,
  `alter table customers add column notify_channels text[] not null default '{sms,email}'
     check (notify_channels <@ array['sms', 'whatsapp', 'email']::text[])`,
  'alter table customers add column notify_opt_out boolean not null default false',
  `create table webhook_endpoints (
     id uuid primary key default gen_random_uuid(),
     utility_id uuid not null references utilities,
     url text not null,
     secret_box bytea not null,
     events text[] not null,
     active boolean not null default true,
     created_at timestamptz not null default now(),
     unique (utility_id, url)
   )`,
];

const DOWN: readonly string[] = [
  'drop table if exists webhook_endpoints',
  'alter table customers drop column if exists notify_opt_out',
  'alter table customers drop column if exists notify_channels',
  'drop table if exists notification_receipts',
  'alter table notifications_outbox drop column if exists claimed_at',
  'alter table notifications_outbox drop column if exists delivered_at',
  'alter table notifications_outbox drop column if exists provider_ref',
  'alter table notifications_outbox drop column if exists customer_id',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
