import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { MeterProtocol } from '../meters/protocols.ts';
import type { MinorUnits } from '../money.ts';
import type { Tou } from '../tariffs/model.ts';

/**
 * The kysely view of Rasid's tables. It mirrors `migrations/` column for column; a change to one is a change
 * to the other in the same commit.
 *
 * Conventions:
 * - Entity ids are uuids produced by the database (`Generated<…Id>`), branded so a meter id cannot be passed
 *   where an account id is expected. Append-only logs use `bigint` identity ids.
 * - Money is integer minor units (`MinorUnits`, a branded `bigint`); energy is Wh and water is litres, both
 *   `bigint`. Both dialects return int8 as `bigint` (see `db.ts`).
 * - jsonb columns hold objects (`Record<string, unknown>`), or arrays written through `jsonText()`; no bigint
 *   inside JSON.
 * - Columns that must never change after insert are `ColumnType<T, T, never>`: kysely refuses to compile an
 *   update that sets them. Ledgers and the audit log are entirely so, and a trigger refuses UPDATE and
 *   DELETE on them in the database as well.
 */

declare const brand: unique symbol;
/** A `T` that only its single producer may create. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type UtilityId = Brand<string, 'UtilityId'>;
export type CustomerId = Brand<string, 'CustomerId'>;
export type PremiseId = Brand<string, 'PremiseId'>;
export type AccountId = Brand<string, 'AccountId'>;
export type MeterId = Brand<string, 'MeterId'>;
export type VendingKeyId = Brand<string, 'VendingKeyId'>;
export type VendorId = Brand<string, 'VendorId'>;
export type KioskId = Brand<string, 'KioskId'>;
export type UserId = Brand<string, 'UserId'>;
export type TariffId = Brand<string, 'TariffId'>;
export type VendId = Brand<string, 'VendId'>;
export type PaymentId = Brand<string, 'PaymentId'>;
export type CommandId = Brand<string, 'CommandId'>;
export type GatewayId = Brand<string, 'GatewayId'>;
export type CaseId = Brand<string, 'CaseId'>;
export type DistrictId = Brand<string, 'DistrictId'>;
export type SupplyPointId = Brand<string, 'SupplyPointId'>;

/** Integer amount in the utility currency's minor unit (ISO 4217 exponent); signed in ledgers. */
export type { MinorUnits } from '../money.ts';

/** Set once on insert, readable, never updatable. */
type Immutable<T> = ColumnType<T, T, never>;
/** Produced by the database on insert (default or identity), never updatable. */
type GeneratedImmutable<T> = ColumnType<T, T | undefined, never>;
/** A `timestamptz` written by the database's `now()` unless given. */
type CreatedAt = ColumnType<Date, Date | undefined, never>;
/**
 * JSON text of a `T`. jsonb columns holding arrays take it on insert: `pg` would send a JS array as a
 * Postgres array literal, PGlite as JSON, so text is the one form both read the same way.
 */
export type JsonText<T> = Brand<string, 'JsonText'> & { readonly __json?: T };
/** A jsonb array column: arrays out, `jsonText(array)` in, never updated. */
type JsonArray<T> = ColumnType<T, JsonText<T>, never>;

export type Language = 'ar' | 'en';
export type MeterKind = 'electricity' | 'water';
export type { MeterProtocol } from '../meters/protocols.ts';
export type MeterMode = 'token' | 'central';
export type MeterStatus = 'registered' | 'installed' | 'active' | 'suspended' | 'faulty' | 'decommissioned';
export type AccountStatus = 'active' | 'suspended' | 'closed';
export type Role = 'customer' | 'vendor' | 'operator' | 'technician' | 'service' | 'admin';
export type CalendarKind = 'public_holiday' | 'declared';
export type AccountLedgerKind = 'payment' | 'vend' | 'charge' | 'consumption' | 'adjustment' | 'reversal';
export type VendorLedgerKind = 'vend' | 'commission' | 'float_topup' | 'adjustment' | 'reversal';
export type VendChannel = 'online' | 'vendor';
export type VendStatus = 'completed' | 'reversed' | 'failed';
export type TokenKind =
  | 'credit'
  | 'key_change'
  | 'clear_credit'
  | 'clear_tamper'
  | 'max_power'
  | 'engineering'
  | 'test';
export type PaymentStatus =
  | 'pending'
  | 'succeeded'
  | 'failed'
  | 'refunded'
  | 'partially_refunded'
  | 'disputed';
export type CommandState = 'queued' | 'sent' | 'acknowledged' | 'failed' | 'expired' | 'unknown';
export type OutboxChannel = 'sms' | 'whatsapp' | 'email' | 'webhook';
/** pending = queued; sent = the provider accepted it; delivered or failed: the provider's receipt (0014). */
export type OutboxState = 'pending' | 'sent' | 'delivered' | 'failed';
/** The channels a customer can accept, in the customer's order (0014). */
export type CustomerChannel = 'sms' | 'whatsapp' | 'email';
export type CaseChannel = 'web' | 'phone' | 'sms' | 'email' | 'chat' | 'whatsapp' | 'walk_in' | 'national';
/** A case category's code: the four defaults or one a utility set up (migration 0020). */
export type CaseCategory = string;
export type CaseStatus = 'open' | 'in_progress' | 'waiting_customer' | 'resolved' | 'closed';
export type FieldCampaignId = Brand<string, 'FieldCampaignId'>;
export type FieldVisitId = Brand<string, 'FieldVisitId'>;
export type FieldChangeId = Brand<string, 'FieldChangeId'>;
export type FieldOutcome = 'visited' | 'nobody_home' | 'refused';
export type FieldPremiseUse = 'residential' | 'commercial' | 'vacant' | 'other';
export type FieldChangeKind = 'customer.phone' | 'customer.national_id' | 'account.holder' | 'meter.tamper';
export type FieldChangeStatus = 'proposed' | 'applied' | 'rejected';
export type CaseEventKind =
  | 'opened'
  | 'status'
  | 'note'
  | 'assignment'
  | 'first_response'
  | 'routed'
  | 'work_order'
  | 'survey';
export type DepartmentId = Brand<string, 'DepartmentId'>;
export type WorkOrderId = Brand<string, 'WorkOrderId'>;

/** One tariff block: units up to `upToUnits` (month to date; `null` = no upper bound) at this price. */
export interface TariffBlock {
  upToUnits: number | null;
  /** Minor units per `tariffs.price_per_units` units (e.g. per 1000 Wh = per kWh). */
  priceMinorPerUnit: number;
}

/** A time-of-use schedule: seasons of periods (src/tariffs/model.ts, migration 0018). */
export type TouSchedule = Tou;

export interface UtilitiesTable {
  id: Generated<UtilityId>;
  code: string;
  name: string;
  /** ISO 4217 alphabetic code, e.g. JOD. */
  currency: string;
  /** ISO 4217 minor-unit exponent, 0..3. */
  currency_exponent: number;
  /** Tax rate in basis points (1600 = 16 %). */
  tax_rate_bp: ColumnType<number, number | undefined, number>;
  /** IANA zone, e.g. Asia/Amman. */
  timezone: string;
  /** ISO weekdays (1 = Monday … 7 = Sunday) on which nobody is disconnected. */
  weekend_days: ColumnType<number[], number[] | undefined, number[]>;
  /** Friendly-credit night window in local minutes since midnight; null = no night window. */
  night_start_minute: number | null;
  night_end_minute: number | null;
  /** The payment provider its customers pay through (src/payments/registry.ts); null = the default. */
  payment_provider: ColumnType<string | null, string | null | undefined, string | null>;
  /** Hash of the secret the telephony system authenticates its call-record pushes with (migration 0020). */
  contact_secret_hash: ColumnType<string | null, string | null | undefined, string | null>;
  /** Settings of migration 0009 (src/utilities/settings.ts); null = Rasid's default. */
  name_ar: ColumnType<string | null, string | null | undefined, string | null>;
  country: ColumnType<string | null, string | null | undefined, string | null>;
  low_credit_minor: ColumnType<bigint | null, bigint | null | undefined, bigint | null>;
  low_credit_days: ColumnType<number | null, number | null | undefined, number | null>;
  emergency_credit_minor: ColumnType<bigint, bigint | undefined, bigint>;
  min_purchase_minor: ColumnType<bigint, bigint | undefined, bigint>;
  receipt_header_en: ColumnType<string | null, string | null | undefined, string | null>;
  receipt_header_ar: ColumnType<string | null, string | null | undefined, string | null>;
  receipt_footer_en: ColumnType<string | null, string | null | undefined, string | null>;
  receipt_footer_ar: ColumnType<string | null, string | null | undefined, string | null>;
  sms_sender: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0019: days a dead holder's subsidy is held; days without a call before an outreach stalls. */
  deceased_grace_days: ColumnType<number, number | undefined, number>;
  outreach_stall_days: ColumnType<number, number | undefined, number>;
  /** A district's loss share (basis points) that raises an operator alert; null = default (0022). */
  loss_alert_bp: ColumnType<number | null, number | null | undefined, number | null>;
  created_at: CreatedAt;
}

export interface NoDisconnectPeriodsTable {
  id: Generated<bigint>;
  utility_id: Immutable<UtilityId>;
  kind: CalendarKind;
  starts_at: Date;
  ends_at: Date;
  reason: string;
  created_by: UserId | null;
  created_at: CreatedAt;
}

export interface CustomersTable {
  id: Generated<CustomerId>;
  utility_id: Immutable<UtilityId>;
  name: string;
  /** The name in Arabic when the name above is in another script (migration 0016). */
  name_ar: ColumnType<string | null, string | null | undefined, string | null>;
  preferred_language: ColumnType<Language, Language | undefined, Language>;
  phone: string | null;
  email: string | null;
  national_id: string | null;
  /** Channels the customer accepts, in order (migration 0014). */
  notify_channels: ColumnType<CustomerChannel[], CustomerChannel[] | undefined, CustomerChannel[]>;
  /** No unsolicited messages (alerts, case news); requested ones (sign-in codes) still go (0014). */
  notify_opt_out: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
}

export interface PremisesTable {
  id: Generated<PremiseId>;
  utility_id: Immutable<UtilityId>;
  address: string;
  area: string | null;
  created_at: CreatedAt;
}

export interface AccountsTable {
  id: Generated<AccountId>;
  utility_id: Immutable<UtilityId>;
  /** Human-facing account number, unique per utility. */
  number: string;
  customer_id: CustomerId;
  premise_id: PremiseId;
  status: ColumnType<AccountStatus, AccountStatus | undefined, AccountStatus>;
  /** Tariff code (all versions share it); null = the utility's default for the meter kind. */
  tariff_code: string | null;
  subsidy_eligible: ColumnType<boolean, boolean | undefined, boolean>;
  /** Vulnerable customer: never disconnected. */
  protected: ColumnType<boolean, boolean | undefined, boolean>;
  /** Arrears still to recover through each vend's debt-recovery share. */
  debt_minor: ColumnType<MinorUnits, MinorUnits | undefined, MinorUnits>;
  /** The customer's low-credit alert is on (migration 0006). */
  low_credit_alert_enabled: ColumnType<boolean, boolean | undefined, boolean>;
  /** The customer's low-credit threshold in minor units; null = the utility's default. */
  low_credit_alert_minor: ColumnType<MinorUnits | null, MinorUnits | null | undefined, MinorUnits | null>;
  /** The customer's days-of-credit-left threshold; null = the utility's default. */
  low_credit_alert_days: ColumnType<number | null, number | null | undefined, number | null>;
  created_at: CreatedAt;
}

export interface AccountHoldersTable {
  id: Generated<bigint>;
  utility_id: Immutable<UtilityId>;
  account_id: Immutable<AccountId>;
  customer_id: Immutable<CustomerId>;
  from_at: Immutable<Date>;
  /** Set when the holding ends (transfer); the only column that changes. */
  to_at: ColumnType<Date | null, Date | null | undefined, Date>;
  reason: Immutable<string>;
  evidence_ref: Immutable<string | null>;
  performed_by: Immutable<UserId | null>;
  subsidy_carried: GeneratedImmutable<boolean>;
}

export interface MetersTable {
  id: Generated<MeterId>;
  utility_id: Immutable<UtilityId>;
  serial: string;
  kind: MeterKind;
  protocol: MeterProtocol;
  mode: MeterMode;
  account_id: AccountId | null;
  /** STS issuer identification number (6 digits). */
  sts_iin: string | null;
  /** STS decoder reference number (meter number, 11 or 13 digits). */
  sts_drn: string | null;
  /** STS supply group code (6 digits). */
  sts_sgc: number | null;
  /** STS tariff index, 0..99. */
  sts_ti: number | null;
  /** STS key revision number, 1..9. */
  sts_krn: number | null;
  /** STS key type, 0..3. */
  sts_kt: number | null;
  /** STS encryption algorithm code (7 = STA, 11 = MISTY1). */
  sts_ea: number | null;
  /** STS base date as 'YYYY-MM-DD' (1993-01-01, 2014-01-01 or 2035-01-01). */
  sts_base_date: string | null;
  /** STS key expiry number, 0..255. */
  sts_ken: number | null;
  vending_key_id: VendingKeyId | null;
  mqtt_username: string | null;
  mqtt_password_hash: string | null;
  status: ColumnType<MeterStatus, MeterStatus | undefined, MeterStatus>;
  /** Why the meter is in its status, and since when (migration 0009). */
  status_reason: ColumnType<string | null, string | null | undefined, string | null>;
  status_changed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** The meter that took over this one's account (a replacement). */
  replaced_by: ColumnType<MeterId | null, MeterId | null | undefined, MeterId | null>;
  online: ColumnType<boolean, boolean | undefined, boolean>;
  last_seen_at: Date | null;
  /** customer (a customer's supply) or bulk (on a district's supply point; migration 0022). */
  role: ColumnType<MeterRole, MeterRole | undefined, MeterRole>;
  /** The district the meter belongs to (migration 0022). */
  district_id: ColumnType<DistrictId | null, DistrictId | null | undefined, DistrictId | null>;
  created_at: CreatedAt;
}

export type MeterRole = 'customer' | 'bulk';

/** A district of the network (migration 0022, src/losses). */
export interface DistrictsTable {
  id: Generated<DistrictId>;
  utility_id: Immutable<UtilityId>;
  code: string;
  name: string;
  kind: MeterKind;
  created_at: CreatedAt;
}

/** Where a district is fed, with the bulk meter measuring it (migration 0022). */
export interface SupplyPointsTable {
  id: Generated<SupplyPointId>;
  utility_id: Immutable<UtilityId>;
  district_id: DistrictId;
  name: string;
  meter_id: MeterId | null;
  created_at: CreatedAt;
}

export interface VendingKeysTable {
  id: Immutable<VendingKeyId>;
  utility_id: Immutable<UtilityId>;
  sgc: Immutable<number>;
  krn: Immutable<number>;
  label: Immutable<string | null>;
  /** AES-256-GCM ciphertext of the key; see `keystore.ts`. */
  ciphertext: Immutable<Buffer>;
  iv: Immutable<Buffer>;
  auth_tag: Immutable<Buffer>;
  created_at: CreatedAt;
}

export interface VendorsTable {
  id: Generated<VendorId>;
  utility_id: Immutable<UtilityId>;
  name: string;
  credit_limit_minor: ColumnType<MinorUnits, MinorUnits | undefined, MinorUnits>;
  commission_bp: ColumnType<number, number | undefined, number>;
  active: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
}

export interface KiosksTable {
  id: Generated<KioskId>;
  utility_id: Immutable<UtilityId>;
  vendor_id: Immutable<VendorId>;
  name: string;
  api_key_hash: string;
  active: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
}

export interface UsersTable {
  id: Generated<UserId>;
  utility_id: Immutable<UtilityId>;
  username: string;
  display_name: string | null;
  password_hash: string;
  role: Role;
  customer_id: CustomerId | null;
  vendor_id: VendorId | null;
  disabled_at: Date | null;
  /** May create further utilities (migration 0009). */
  platform_admin: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
  /** Consecutive wrong passwords (staff sign-in); reset by a right one. */
  failed_sign_ins: Generated<number>;
  /** Every password is refused until then (too many wrong ones). */
  sign_in_locked_until: Date | null;
  /** The department whose case queue the person works (migration 0020). */
  department_id: ColumnType<DepartmentId | null, DepartmentId | null | undefined, DepartmentId | null>;
}

export interface TariffsTable {
  id: Generated<TariffId>;
  utility_id: Immutable<UtilityId>;
  code: Immutable<string>;
  name: string;
  kind: Immutable<MeterKind>;
  subsidised: GeneratedImmutable<boolean>;
  /** A subsidised tariff: the code of the standard tariff it is the variant of (migration 0009). */
  variant_of: ColumnType<string | null, string | null | undefined, never>;
  version: Immutable<number>;
  effective_from: Immutable<Date>;
  currency: Immutable<string>;
  fixed_monthly_minor: GeneratedImmutable<MinorUnits>;
  tax_rate_bp: GeneratedImmutable<number>;
  debt_recovery_bp: GeneratedImmutable<number>;
  min_purchase_minor: GeneratedImmutable<MinorUnits>;
  /** 'Wh' for electricity, 'L' for water. */
  unit: Immutable<'Wh' | 'L'>;
  /** Block prices are per this many units (1000 = per kWh or per m³). */
  price_per_units: GeneratedImmutable<number>;
  blocks: JsonArray<TariffBlock[]>;
  tou: ColumnType<TouSchedule | null, JsonText<TouSchedule> | null | undefined, never>;
  created_at: CreatedAt;
}

export interface AccountLedgerTable {
  id: Generated<bigint>;
  utility_id: Immutable<UtilityId>;
  account_id: Immutable<AccountId>;
  kind: Immutable<AccountLedgerKind>;
  /** Positive adds to the account's credit, negative takes from it. */
  amount_minor: Immutable<MinorUnits>;
  ref: Immutable<string | null>;
  vend_id: GeneratedImmutable<VendId | null>;
  created_at: CreatedAt;
}

export interface VendorLedgerTable {
  id: Generated<bigint>;
  utility_id: Immutable<UtilityId>;
  vendor_id: Immutable<VendorId>;
  kiosk_id: GeneratedImmutable<KioskId | null>;
  kind: Immutable<VendorLedgerKind>;
  /** Positive adds to the vendor's float, negative uses it. */
  amount_minor: Immutable<MinorUnits>;
  /** The float after this row, computed by the database on insert (migration 0004). */
  balance_after: GeneratedImmutable<MinorUnits>;
  ref: Immutable<string | null>;
  vend_id: GeneratedImmutable<VendId | null>;
  created_at: CreatedAt;
}

export interface VendsTable {
  id: Generated<VendId>;
  utility_id: Immutable<UtilityId>;
  meter_id: Immutable<MeterId>;
  account_id: Immutable<AccountId>;
  channel: Immutable<VendChannel>;
  vendor_id: GeneratedImmutable<VendorId | null>;
  kiosk_id: GeneratedImmutable<KioskId | null>;
  payment_id: GeneratedImmutable<PaymentId | null>;
  idempotency_key: Immutable<string>;
  /** Hash of the canonical request: the same key with another request is refused. */
  request_hash: Immutable<string>;
  amount_paid_minor: Immutable<MinorUnits>;
  /** Units credited: Wh or litres. */
  units: Immutable<bigint>;
  token: Immutable<string | null>;
  tid: Immutable<number | null>;
  receipt: Immutable<Record<string, unknown>>;
  status: ColumnType<VendStatus, VendStatus | undefined, VendStatus>;
  created_at: CreatedAt;
  reversed_at: ColumnType<Date | null, Date | null | undefined, Date>;
}

export interface TokensTable {
  id: Generated<bigint>;
  utility_id: Immutable<UtilityId>;
  meter_id: Immutable<MeterId>;
  /** STS token identifier: minutes since the base date; unique per meter. */
  tid: Immutable<number>;
  kind: Immutable<TokenKind>;
  /** The 20-digit token. */
  token: Immutable<string>;
  vend_id: GeneratedImmutable<VendId | null>;
  issued_by: GeneratedImmutable<UserId | null>;
  reason: GeneratedImmutable<string | null>;
  issued_at: CreatedAt;
  used_at: ColumnType<Date | null, Date | null | undefined, Date>;
}

export interface PaymentsTable {
  id: Generated<PaymentId>;
  utility_id: Immutable<UtilityId>;
  provider: Immutable<string>;
  provider_ref: Immutable<string>;
  /** The provider's id of the money movement (e.g. a PaymentIntent), set when the payment succeeds. */
  provider_payment_ref: ColumnType<string | null, string | null | undefined, string | null>;
  status: PaymentStatus;
  amount_minor: Immutable<MinorUnits>;
  currency: Immutable<string>;
  meter_id: GeneratedImmutable<MeterId | null>;
  account_id: GeneratedImmutable<AccountId | null>;
  vend_id: VendId | null;
  refunded_minor: ColumnType<MinorUnits, MinorUnits | undefined, MinorUnits>;
  disputed: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export interface PaymentEventsTable {
  provider: Immutable<string>;
  event_id: Immutable<string>;
  utility_id: Immutable<UtilityId>;
  type: Immutable<string>;
  payment_id: PaymentId | null;
  received_at: CreatedAt;
  processed_at: Date | null;
}

export interface AuditLogTable {
  id: Generated<bigint>;
  utility_id: Immutable<UtilityId>;
  /** Who: `user:<id>`, `kiosk:<id>`, `system:<role>`. */
  actor: Immutable<string>;
  action: Immutable<string>;
  /** What: `meter:<id>`, `vend:<id>`… */
  subject: Immutable<string>;
  details: Immutable<Record<string, unknown>>;
  created_at: CreatedAt;
}

export interface ReadingsTable {
  meter_id: Immutable<MeterId>;
  ts: Immutable<Date>;
  seq: Immutable<bigint | null>;
  energy_wh: Immutable<bigint | null>;
  volume_l: Immutable<bigint | null>;
  power_w: Immutable<number | null>;
  voltage_dv: Immutable<number | null>;
  current_ma: Immutable<number | null>;
  credit_minor: Immutable<MinorUnits | null>;
  credit_wh: Immutable<bigint | null>;
  relay: Immutable<boolean | null>;
  flags: ColumnType<number, number | undefined, never>;
}

/** `readings_hourly` and `readings_daily`: continuous aggregates on TimescaleDB, plain views elsewhere. */
export interface ReadingsRollupView {
  meter_id: ColumnType<MeterId, never, never>;
  /** Start of the hour or UTC day. */
  bucket: ColumnType<Date, never, never>;
  readings: ColumnType<bigint, never, never>;
  energy_wh_min: ColumnType<bigint | null, never, never>;
  energy_wh_max: ColumnType<bigint | null, never, never>;
  volume_l_min: ColumnType<bigint | null, never, never>;
  volume_l_max: ColumnType<bigint | null, never, never>;
  power_w_avg: ColumnType<number | null, never, never>;
  power_w_max: ColumnType<number | null, never, never>;
  voltage_dv_min: ColumnType<number | null, never, never>;
  voltage_dv_max: ColumnType<number | null, never, never>;
  credit_minor_min: ColumnType<MinorUnits | null, never, never>;
  credit_wh_min: ColumnType<bigint | null, never, never>;
  last_ts: ColumnType<Date, never, never>;
}

export interface MeterEventsTable {
  id: Generated<bigint>;
  utility_id: Immutable<UtilityId>;
  meter_id: Immutable<MeterId>;
  ts: Immutable<Date>;
  seq: Immutable<bigint | null>;
  kind: Immutable<string>;
  details: Immutable<Record<string, unknown>>;
  received_at: CreatedAt;
}

export interface CommandsTable {
  id: Generated<CommandId>;
  utility_id: Immutable<UtilityId>;
  meter_id: Immutable<MeterId>;
  kind: Immutable<string>;
  payload: Immutable<Record<string, unknown>>;
  state: ColumnType<CommandState, CommandState | undefined, CommandState>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: ColumnType<Date, Date | undefined, Date>;
  expires_at: Immutable<Date>;
  sent_at: Date | null;
  acknowledged_at: Date | null;
  result: Record<string, unknown> | null;
  /** Why the command exists (the balance decision, an operator's note). */
  reason: Immutable<string | null>;
  created_by: Immutable<string | null>;
  created_at: CreatedAt;
}

export interface NotificationsOutboxTable {
  id: Generated<bigint>;
  utility_id: Immutable<UtilityId>;
  channel: Immutable<OutboxChannel>;
  recipient: Immutable<string>;
  template: Immutable<string>;
  language: Immutable<Language>;
  /** Written once, then rewritten only to drop its secret part after delivery (notify/outbox.ts). */
  payload: ColumnType<Record<string, unknown>, Record<string, unknown>, Record<string, unknown>>;
  /** Makes enqueueing idempotent (e.g. `low-credit:<account>:<crossing>`). */
  dedup_key: Immutable<string | null>;
  state: ColumnType<OutboxState, OutboxState | undefined, OutboxState>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: ColumnType<Date, Date | undefined, Date>;
  last_error: string | null;
  created_at: CreatedAt;
  sent_at: Date | null;
  /** The customer the message is about, for customer service (0014). */
  customer_id: ColumnType<CustomerId | null, CustomerId | null | undefined, CustomerId | null>;
  /** The provider's message id (SMSC message_id, WhatsApp wamid, the HTTP provider's id) (0014). */
  provider_ref: ColumnType<string | null, string | null | undefined, string | null>;
  delivered_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** Set while a worker delivers the row; still set on a due row: the delivery was interrupted (0014). */
  claimed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

/** Delivery receipts from providers, applied to the outbox row with the same provider id (0014). */
export interface NotificationReceiptsTable {
  channel: OutboxChannel;
  provider_ref: string;
  state: 'delivered' | 'failed';
  detail: string | null;
  received_at: ColumnType<Date, Date | undefined, never>;
}

/** A utility's webhook receiver and the events it wants (0014); the secret is sealed by the key store. */
export interface WebhookEndpointsTable {
  id: Generated<string>;
  utility_id: Immutable<UtilityId>;
  url: string;
  secret_box: Buffer;
  events: string[];
  active: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
}

/** Which optional store features the migrations enabled (e.g. `timescaledb`). */
export interface StoreFeaturesTable {
  name: Immutable<string>;
  enabled: boolean;
  detail: string;
  recorded_at: ColumnType<Date, Date | undefined, Date>;
}

export interface SessionsTable {
  /** SHA-256 (hex) of the bearer token; the token itself is never stored. */
  token_hash: Immutable<string>;
  utility_id: Immutable<UtilityId>;
  user_id: Immutable<UserId>;
  created_at: CreatedAt;
  expires_at: Immutable<Date>;
  revoked_at: ColumnType<Date | null, Date | null | undefined, Date>;
}

export interface OneTimeCodesTable {
  id: Generated<bigint>;
  utility_id: Immutable<UtilityId>;
  user_id: Immutable<UserId>;
  /** SHA-256 (hex) of the code with the user id. */
  code_hash: Immutable<string>;
  channel: Immutable<'sms' | 'email'>;
  attempts: ColumnType<number, number | undefined, number>;
  created_at: CreatedAt;
  expires_at: Immutable<Date>;
  used_at: ColumnType<Date | null, Date | null | undefined, Date>;
}

/** The SLA of a case category in a utility (seeded with defaults for every utility). */
export interface CaseCategoriesTable {
  utility_id: Immutable<UtilityId>;
  category: Immutable<CaseCategory>;
  /** Hours from opening to resolution. */
  sla_hours: number;
  updated_at: ColumnType<Date, Date | undefined, Date>;
  /** Names set by the utility (migration 0020); null for a default category never renamed. */
  name_en: ColumnType<string | null, string | null | undefined, string | null>;
  name_ar: ColumnType<string | null, string | null | undefined, string | null>;
  /** A case of this category needs a site visit (a work order). */
  needs_visit: ColumnType<boolean, boolean | undefined, boolean>;
  /** New cases may use it. */
  active: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface CasesTable {
  id: Generated<CaseId>;
  /** Human-facing case number (shown as C-<number>). */
  number: GeneratedImmutable<bigint>;
  utility_id: Immutable<UtilityId>;
  customer_id: Immutable<CustomerId | null>;
  account_id: Immutable<AccountId | null>;
  meter_id: Immutable<MeterId | null>;
  channel: Immutable<CaseChannel>;
  category: Immutable<CaseCategory>;
  subject: Immutable<string>;
  description: Immutable<string>;
  status: ColumnType<CaseStatus, CaseStatus | undefined, CaseStatus>;
  assignee_id: ColumnType<UserId | null, UserId | null | undefined, UserId | null>;
  /** Actor who opened it: `user:<id>`. */
  opened_by: Immutable<string>;
  /** The category's SLA when the case was opened. */
  sla_hours: Immutable<number>;
  sla_due_at: Immutable<Date>;
  first_response_at: ColumnType<Date | null, Date | null | undefined, Date>;
  resolved_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  closed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | undefined, Date>;
  /** The national complaints system's reference, or another system's (migration 0020). */
  external_ref: GeneratedImmutable<string | null>;
  /** The number the customer called from. */
  caller_number: GeneratedImmutable<string | null>;
  /** The department whose queue holds the case. */
  department_id: ColumnType<DepartmentId | null, DepartmentId | null | undefined, DepartmentId | null>;
  /** Times the case was reopened after resolution or closure. */
  reopened: ColumnType<number, number | undefined, number>;
}

/** A case's timeline: append-only (a trigger refuses UPDATE and DELETE). */
export interface CaseEventsTable {
  id: Generated<bigint>;
  utility_id: Immutable<UtilityId>;
  case_id: Immutable<CaseId>;
  kind: Immutable<CaseEventKind>;
  from_status: GeneratedImmutable<CaseStatus | null>;
  to_status: GeneratedImmutable<CaseStatus | null>;
  assignee_id: GeneratedImmutable<UserId | null>;
  note: GeneratedImmutable<string | null>;
  /** Staff-only note: never shown to the customer nor sent to them. */
  internal: GeneratedImmutable<boolean>;
  actor: Immutable<string>;
  created_at: CreatedAt;
  /** A `routed` event: the department the case went to. */
  department_id: GeneratedImmutable<DepartmentId | null>;
}

/** A department of the utility with its case queue (migration 0020). */
export interface DepartmentsTable {
  id: Generated<DepartmentId>;
  utility_id: Immutable<UtilityId>;
  code: Immutable<string>;
  name_en: string;
  name_ar: string;
  created_at: CreatedAt;
}

/** Which department a case of a category (in an area, or anywhere) goes to. */
export interface RoutingRulesTable {
  id: Generated<string>;
  utility_id: Immutable<UtilityId>;
  category: Immutable<CaseCategory>;
  area: Immutable<string | null>;
  department_id: DepartmentId;
  created_at: CreatedAt;
}

export type WorkOrderStatus = 'open' | 'done' | 'cancelled';
export type WorkOrderOutcome = 'fixed' | 'not_fixed' | 'no_access';

/** A site visit for a technician, made from a case. */
export interface WorkOrdersTable {
  id: Generated<WorkOrderId>;
  number: GeneratedImmutable<bigint>;
  utility_id: Immutable<UtilityId>;
  case_id: Immutable<CaseId>;
  meter_id: Immutable<MeterId | null>;
  technician_id: ColumnType<UserId | null, UserId | null | undefined, UserId | null>;
  instructions: Immutable<string>;
  status: ColumnType<WorkOrderStatus, WorkOrderStatus | undefined, WorkOrderStatus>;
  outcome: ColumnType<WorkOrderOutcome | null, WorkOrderOutcome | null | undefined, WorkOrderOutcome>;
  result: ColumnType<string | null, string | null | undefined, string | null>;
  created_by: Immutable<string>;
  created_at: CreatedAt;
  completed_at: ColumnType<Date | null, Date | null | undefined, Date>;
}

/** One call or chat as the telephony system reported it. */
export interface CallRecordsTable {
  id: Generated<bigint>;
  utility_id: Immutable<UtilityId>;
  external_id: Immutable<string>;
  kind: Immutable<'call' | 'chat'>;
  queue: Immutable<string | null>;
  agent: Immutable<string | null>;
  caller: Immutable<string | null>;
  received_at: Immutable<Date>;
  outcome: Immutable<'answered' | 'abandoned'>;
  wait_seconds: Immutable<number>;
  talk_seconds: Immutable<number>;
  source: Immutable<'import' | 'webhook'>;
  created_at: CreatedAt;
}

/** The satisfaction survey of a closed case and its answer. */
export interface CaseSurveysTable {
  case_id: Immutable<CaseId>;
  utility_id: Immutable<UtilityId>;
  token_hash: Immutable<string>;
  channel: Immutable<'sms' | 'whatsapp'>;
  recipient: Immutable<string>;
  sent_at: Immutable<Date>;
  score: ColumnType<number | null, number | null | undefined, number>;
  comment: ColumnType<string | null, string | null | undefined, string | null>;
  answered_via: ColumnType<'link' | 'reply' | null, 'link' | 'reply' | null | undefined, 'link' | 'reply'>;
  answered_at: ColumnType<Date | null, Date | null | undefined, Date>;
}

/** Single-use tickets that open the alert stream from a browser; only the SHA-256 is stored. */
export interface StreamTicketsTable {
  ticket_hash: Immutable<string>;
  utility_id: Immutable<UtilityId>;
  user_id: Immutable<UserId>;
  expires_at: Immutable<Date>;
  used_at: ColumnType<Date | null, Date | null | undefined, Date>;
  created_at: CreatedAt;
}

/** A protocol gateway (migration 0008): it fetches its meter list with its API key. */
export interface GatewaysTable {
  id: Generated<GatewayId>;
  utility_id: Immutable<UtilityId>;
  /** The gateway's id on the broker (client id, `gateways/<code>/status`), unique in the utility. */
  code: Immutable<string>;
  name: string;
  /** SHA-256 of the API key (`rgw_…`), shown once at creation. */
  api_key_hash: string;
  active: ColumnType<boolean, boolean | undefined, boolean>;
  /** The broker URL the gateway is told to use; null: the gateway's own setting. */
  broker_url: string | null;
  /** Seconds between two readings of a meter, unless the meter says otherwise. */
  poll_interval_s: ColumnType<number, number | undefined, number>;
  created_at: CreatedAt;
}

/**
 * One meter served by one gateway: how the gateway reaches it. A meter is served by at most one gateway.
 * `settings` is the gateway configuration's meter entry (docs/gateway.md) without its id, kind, protocol
 * and secrets; the secrets (LLS password, HLS keys) are `secret_box`, sealed by the key store.
 */
export interface GatewayMetersTable {
  meter_id: Immutable<MeterId>;
  gateway_id: GatewayId;
  utility_id: Immutable<UtilityId>;
  settings: Record<string, unknown>;
  /** iv (12) ‖ GCM tag (16) ‖ ciphertext of the secrets as JSON; null when the meter needs none. */
  secret_box: Buffer | null;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/**
 * `balance_state`: the balance engine's state of one meter (migrations/0011_balance_state.ts,
 * docs/balance.md "State"). Written by the engine only.
 */
export interface BalanceStateTable {
  meter_id: Immutable<MeterId>;
  utility_id: Immutable<UtilityId>;
  read_ts: Date | null;
  register: bigint | null;
  month: string | null;
  month_to_date: ColumnType<bigint, bigint | undefined, bigint>;
  /** The month's consumption cost so far, in minor units × `month_cost_per` (migration 0018). */
  month_cost_scaled: ColumnType<bigint, bigint | undefined, bigint>;
  month_cost_per: ColumnType<number, number | undefined, number>;
  relay: boolean | null;
  credit_minor_reported: bigint | null;
  credit_wh_reported: bigint | null;
  /** `[[utcDay, units, fromMs, toMs], ...]`, units as strings, the last 8 days. */
  usage: ColumnType<[number, string, number, number][], string | undefined, string>;
  ledger_id: ColumnType<bigint, bigint | undefined, bigint>;
  balance_minor: ColumnType<bigint, bigint | undefined, bigint>;
  memo: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  credit_minor: bigint | null;
  days_left: number | null;
  low_credit: ColumnType<boolean, boolean | undefined, boolean>;
  supply: ColumnType<'connected' | 'disconnected', 'connected' | 'disconnected' | undefined>;
  decision: string | null;
  evaluated_at: Date | null;
  due_at: Date | null;
}

/** A door-to-door campaign that cleans up the records (migration 0021, docs/field.md). */
export interface FieldCampaignsTable {
  id: Generated<FieldCampaignId>;
  utility_id: Immutable<UtilityId>;
  name: string;
  status: ColumnType<'open' | 'closed', 'open' | 'closed' | undefined, 'open' | 'closed'>;
  created_by: Immutable<string>;
  created_at: CreatedAt;
}

/** A premise a campaign covers, and the field agent (a technician) who visits it; null = not yet assigned. */
export interface FieldAssignmentsTable {
  id: Generated<bigint>;
  utility_id: Immutable<UtilityId>;
  campaign_id: Immutable<FieldCampaignId>;
  premise_id: Immutable<PremiseId>;
  agent_id: UserId | null;
  assigned_at: Date | null;
}

/** One visit as the agent's phone recorded it; the id is the phone's, so a visit sent twice is kept once. */
export interface FieldVisitsTable {
  id: Immutable<FieldVisitId>;
  utility_id: Immutable<UtilityId>;
  campaign_id: Immutable<FieldCampaignId>;
  premise_id: Immutable<PremiseId>;
  agent_id: Immutable<UserId>;
  outcome: Immutable<FieldOutcome>;
  /** The phone's clock when the visit was recorded. */
  visited_at: Immutable<Date>;
  received_at: CreatedAt;
  occupant_name: Immutable<string | null>;
  payer_name: Immutable<string | null>;
  phone: Immutable<string | null>;
  national_id: Immutable<string | null>;
  premise_use: Immutable<FieldPremiseUse | null>;
  premise_note: Immutable<string | null>;
  meter_serial: Immutable<string | null>;
  /** The register as read off the meter's display, a decimal string. */
  meter_reading: Immutable<string | null>;
  seal_number: Immutable<string | null>;
  seal_intact: Immutable<boolean | null>;
  tamper_signs: Immutable<boolean | null>;
  latitude: Immutable<number | null>;
  longitude: Immutable<number | null>;
  accuracy_m: Immutable<number | null>;
  photo: Immutable<Buffer | null>;
  photo_type: Immutable<string | null>;
}

/** A difference a visit found from the records, which a supervisor applies (through the usual services) or rejects. */
export interface FieldChangesTable {
  id: Generated<FieldChangeId>;
  utility_id: Immutable<UtilityId>;
  campaign_id: Immutable<FieldCampaignId>;
  visit_id: Immutable<FieldVisitId>;
  premise_id: Immutable<PremiseId>;
  kind: Immutable<FieldChangeKind>;
  /** `<kind>:<id>` of the record the change is to, as in the audit log. */
  subject: Immutable<string>;
  current_value: Immutable<string | null>;
  proposed_value: Immutable<string | null>;
  details: ColumnType<Record<string, unknown>, Record<string, unknown> | undefined, never>;
  status: ColumnType<FieldChangeStatus, FieldChangeStatus | undefined, FieldChangeStatus>;
  reviewed_by: string | null;
  reviewed_at: Date | null;
  review_note: string | null;
  created_at: CreatedAt;
}

export interface BalanceFeedTable {
  name: string;
  position: bigint;
}

export interface Database {
  balance_state: BalanceStateTable;
  balance_feed: BalanceFeedTable;
  sessions: SessionsTable;
  one_time_codes: OneTimeCodesTable;
  utilities: UtilitiesTable;
  no_disconnect_periods: NoDisconnectPeriodsTable;
  customers: CustomersTable;
  premises: PremisesTable;
  accounts: AccountsTable;
  account_holders: AccountHoldersTable;
  holder_deaths: HolderDeathsTable;
  deceased_accounts: DeceasedAccountsTable;
  outreach_contacts: OutreachContactsTable;
  outreach_attempts: OutreachAttemptsTable;
  meters: MetersTable;
  districts: DistrictsTable;
  supply_points: SupplyPointsTable;
  vending_keys: VendingKeysTable;
  vendors: VendorsTable;
  kiosks: KiosksTable;
  gateways: GatewaysTable;
  gateway_meters: GatewayMetersTable;
  users: UsersTable;
  tariffs: TariffsTable;
  account_ledger: AccountLedgerTable;
  vendor_ledger: VendorLedgerTable;
  vends: VendsTable;
  tokens: TokensTable;
  payments: PaymentsTable;
  payment_events: PaymentEventsTable;
  audit_log: AuditLogTable;
  readings: ReadingsTable;
  readings_hourly: ReadingsRollupView;
  readings_daily: ReadingsRollupView;
  meter_events: MeterEventsTable;
  commands: CommandsTable;
  notifications_outbox: NotificationsOutboxTable;
  notification_receipts: NotificationReceiptsTable;
  webhook_endpoints: WebhookEndpointsTable;
  store_features: StoreFeaturesTable;
  case_categories: CaseCategoriesTable;
  cases: CasesTable;
  case_events: CaseEventsTable;
  departments: DepartmentsTable;
  routing_rules: RoutingRulesTable;
  work_orders: WorkOrdersTable;
  call_records: CallRecordsTable;
  case_surveys: CaseSurveysTable;
  stream_tickets: StreamTicketsTable;
  setup_codes: SetupCodesTable;
  field_campaigns: FieldCampaignsTable;
  field_assignments: FieldAssignmentsTable;
  field_visits: FieldVisitsTable;
  field_changes: FieldChangesTable;
}

/** Deceased account holders (migration 0019, src/deceased/). */
export type DeathSource = 'registry' | 'agent';
export type DeceasedStatus = 'held' | 'transferred' | 'ended' | 'noted';
export type OutreachOutcome = 'reached' | 'no_answer' | 'busy' | 'wrong_number' | 'call_back' | 'declined';

export interface HolderDeathsTable {
  id: Generated<string>;
  utility_id: UtilityId;
  customer_id: CustomerId;
  /** The date of death, YYYY-MM-DD. */
  date_of_death: ColumnType<string, string, never>;
  evidence_ref: string;
  source: DeathSource;
  recorded_by: string;
  created_at: CreatedAt;
}

export interface DeceasedAccountsTable {
  id: Generated<string>;
  utility_id: UtilityId;
  death_id: string;
  account_id: AccountId;
  /** Whether the account was subsidy-eligible when the death was recorded. */
  subsidised: boolean;
  status: DeceasedStatus;
  case_id: CaseId | null;
  grace_ends_at: Date | null;
  first_reached_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  last_attempt_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  reminded_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  transferred_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  subsidy_carried: ColumnType<boolean | null, boolean | null | undefined, boolean | null>;
  ended_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  created_at: CreatedAt;
}

export interface OutreachContactsTable {
  id: Generated<string>;
  utility_id: UtilityId;
  deceased_account_id: string;
  name: string;
  relation: string | null;
  phone: string | null;
  language: Language;
  created_by: string;
  created_at: CreatedAt;
}

export interface OutreachAttemptsTable {
  id: Generated<bigint>;
  utility_id: UtilityId;
  deceased_account_id: string;
  contact_id: string | null;
  outcome: OutreachOutcome;
  note: string | null;
  actor: string;
  created_at: CreatedAt;
}

/** One-time first-run setup codes (migration 0010): only the SHA-256 is kept. */
export interface SetupCodesTable {
  id: Generated<bigint>;
  code_hash: string;
  created_at: CreatedAt;
  used_at: Date | null;
}

export type Utility = Selectable<UtilitiesTable>;
export type NewUtility = Insertable<UtilitiesTable>;
export type Customer = Selectable<CustomersTable>;
export type Account = Selectable<AccountsTable>;
export type AccountUpdate = Updateable<AccountsTable>;
export type Meter = Selectable<MetersTable>;
export type NewMeter = Insertable<MetersTable>;
export type MeterUpdate = Updateable<MetersTable>;
export type Tariff = Selectable<TariffsTable>;
export type NewTariff = Insertable<TariffsTable>;
export type AccountLedgerEntry = Selectable<AccountLedgerTable>;
export type NewAccountLedgerEntry = Insertable<AccountLedgerTable>;
export type VendorLedgerEntry = Selectable<VendorLedgerTable>;
export type NewVendorLedgerEntry = Insertable<VendorLedgerTable>;
export type Vend = Selectable<VendsTable>;
export type NewVend = Insertable<VendsTable>;
export type Token = Selectable<TokensTable>;
export type NewToken = Insertable<TokensTable>;
export type Reading = Selectable<ReadingsTable>;
export type NewReading = Insertable<ReadingsTable>;
export type Command = Selectable<CommandsTable>;
export type NewCommand = Insertable<CommandsTable>;
export type NewAuditEntry = Insertable<AuditLogTable>;

/** The single producer of `JsonText`. Values must be plain JSON (no bigint: write amounts as strings). */
export function jsonText<T>(value: T): JsonText<T> {
  return JSON.stringify(value) as JsonText<T>;
}

export { minorUnits } from '../money.ts';
