import { type Kysely, sql } from 'kysely';

/**
 * Go-live: several utilities on one install, the meter lifecycle, utility settings.
 *
 * - Usernames are unique within a utility (two utilities may both have an `admin`); a platform
 *   administrator (`users.platform_admin`) may create further utilities.
 * - Meter lifecycle: registered → installed (commissioned) → active → suspended → decommissioned, each
 *   change with its reason (the audit log keeps the history; the meter row keeps the latest). A replaced
 *   meter names the meter that took over its account.
 * - Utility settings beside the calendar columns of 0001: the Arabic name and country, the balance
 *   thresholds (low credit, emergency credit), the minimum purchase, receipt header and footer in both
 *   languages and the SMS sender name. Null means "Rasid's default".
 * - A subsidised tariff names the standard tariff it is the variant of, so an eligible account given the
 *   standard tariff's code is priced at the subsidised variant.
 */
const UP: readonly string[] = [
  'alter table users drop constraint users_username_key',
  'alter table users add constraint users_utility_username unique (utility_id, username)',
  'alter table users add column platform_admin boolean not null default false',

  'alter table meters drop constraint meters_status_check',
  `alter table meters add constraint meters_status_check
     check (status in ('registered', 'installed', 'active', 'suspended', 'faulty', 'decommissioned'))`,
  'alter table meters add column status_reason text',
  'alter table meters add column status_changed_at timestamptz',
  'alter table meters add column replaced_by uuid references meters',

  'alter table utilities add column name_ar text',
  `alter table utilities add column country char(2) check (country is null or country ~ '^[A-Z]{2}$')`,
  'alter table utilities add column low_credit_minor bigint check (low_credit_minor >= 0)',
  'alter table utilities add column low_credit_days smallint check (low_credit_days between 0 and 60)',
  'alter table utilities add column emergency_credit_minor bigint not null default 0 check (emergency_credit_minor >= 0)',
  'alter table utilities add column min_purchase_minor bigint not null default 0 check (min_purchase_minor >= 0)',
  'alter table utilities add column receipt_header_en text',
  'alter table utilities add column receipt_header_ar text',
  'alter table utilities add column receipt_footer_en text',
  'alter table utilities add column receipt_footer_ar text',
  `alter table utilities add column sms_sender text check (sms_sender is null or sms_sender ~ '^[A-Za-z0-9 .-]{1,11}$')`,

  'alter table tariffs add column variant_of text',
];

const DOWN: readonly string[] = [
  'alter table tariffs drop column variant_of',
  ...[
    'sms_sender',
    'receipt_footer_ar',
    'receipt_footer_en',
    'receipt_header_ar',
    'receipt_header_en',
    'min_purchase_minor',
    'emergency_credit_minor',
    'low_credit_days',
    'low_credit_minor',
    'country',
    'name_ar',
  ].map((c) => `alter table utilities drop column ${c}`),
  'alter table meters drop column replaced_by',
  'alter table meters drop column status_changed_at',
  'alter table meters drop column status_reason',
  'alter table meters drop constraint meters_status_check',
  `alter table meters add constraint meters_status_check
     check (status in ('registered', 'active', 'faulty', 'decommissioned'))`,
  'alter table users drop column platform_admin',
  'alter table users drop constraint users_utility_username',
  'alter table users add constraint users_username_key unique (username)',
];

/** The tariff choice of 0005's `rasid_vend_context`, and the one that also takes the subsidised variant. */
const TARIFF_CHOICE = 'and (a.tariff_code is null or tt.code = a.tariff_code)';
const TARIFF_CHOICE_WITH_VARIANT =
  'and (a.tariff_code is null or tt.code = a.tariff_code or (tt.subsidised and tt.variant_of = a.tariff_code))';

/** Rewrites `rasid_vend_context` (0005) with `from` → `to` in its tariff choice; the rest stays as it was. */
async function rewriteVendContext(db: Kysely<unknown>, from: string, to: string): Promise<void> {
  const { rows } = await sql<{ def: string }>`
    select pg_get_functiondef('rasid_vend_context'::regproc) as def
  `.execute(db);
  const def = rows[0]?.def ?? '';
  if (!def.includes(from)) throw new Error('rasid_vend_context: the tariff choice to rewrite is not there');
  await sql.raw(def.replace(from, to)).execute(db);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
  // An eligible account given the standard tariff's code is priced at its subsidised variant.
  await rewriteVendContext(db, TARIFF_CHOICE, TARIFF_CHOICE_WITH_VARIANT);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await rewriteVendContext(db, TARIFF_CHOICE_WITH_VARIANT, TARIFF_CHOICE);
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
