import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

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

/** Integer amount in the utility currency's minor unit (ISO 4217 exponent); signed in ledgers. */
export type MinorUnits = Brand<bigint, 'MinorUnits'>;

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
export type MeterProtocol = 'mqtt' | 'dlms' | 'modbus';
export type MeterMode = 'token' | 'central';
export type MeterStatus = 'registered' | 'active' | 'faulty' | 'decommissioned';
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
export type CommandState = 'queued' | 'sent' | 'acknowledged' | 'failed' | 'expired';
export type OutboxChannel = 'sms' | 'email' | 'webhook';
export type OutboxState = 'pending' | 'sent' | 'failed';
export type CaseChannel = 'web' | 'phone' | 'sms' | 'walk_in' | 'email';
export type CaseCategory = 'complaint' | 'request' | 'meter_fault' | 'billing_dispute';
export type CaseStatus = 'open' | 'in_progress' | 'waiting_customer' | 'resolved' | 'closed';
export type CaseEventKind = 'opened' | 'status' | 'note' | 'assignment' | 'first_response';

/** One tariff block: units up to `upToUnits` (month to date; `null` = no upper bound) at this price. */
export interface TariffBlock {
  upToUnits: number | null;
  /** Minor units per `tariffs.price_per_units` units (e.g. per 1000 Wh = per kWh). */
  priceMinorPerUnit: number;
}

/** A time-of-use period: local minutes since midnight, on the given ISO weekdays (1 = Monday). */
export interface TouPeriod {
  name: string;
  days: number[];
  fromMinute: number;
  toMinute: number;
  blocks: TariffBlock[];
}

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
  preferred_language: ColumnType<Language, Language | undefined, Language>;
  phone: string | null;
  email: string | null;
  national_id: string | null;
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
  online: ColumnType<boolean, boolean | undefined, boolean>;
  last_seen_at: Date | null;
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
  created_at: CreatedAt;
}

export interface TariffsTable {
  id: Generated<TariffId>;
  utility_id: Immutable<UtilityId>;
  code: Immutable<string>;
  name: string;
  kind: Immutable<MeterKind>;
  subsidised: GeneratedImmutable<boolean>;
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
  tou: ColumnType<TouPeriod[] | null, JsonText<TouPeriod[]> | null | undefined, never>;
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
  payload: Immutable<Record<string, unknown>>;
  /** Makes enqueueing idempotent (e.g. `low-credit:<account>:<crossing>`). */
  dedup_key: Immutable<string | null>;
  state: ColumnType<OutboxState, OutboxState | undefined, OutboxState>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: ColumnType<Date, Date | undefined, Date>;
  last_error: string | null;
  created_at: CreatedAt;
  sent_at: Date | null;
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

export interface Database {
  sessions: SessionsTable;
  one_time_codes: OneTimeCodesTable;
  utilities: UtilitiesTable;
  no_disconnect_periods: NoDisconnectPeriodsTable;
  customers: CustomersTable;
  premises: PremisesTable;
  accounts: AccountsTable;
  account_holders: AccountHoldersTable;
  meters: MetersTable;
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
  store_features: StoreFeaturesTable;
  case_categories: CaseCategoriesTable;
  cases: CasesTable;
  case_events: CaseEventsTable;
  stream_tickets: StreamTicketsTable;
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

/** The single producer of `MinorUnits`: an integer amount, refused when fractional or unsafe. */
export function minorUnits(value: bigint | number): MinorUnits {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new RangeError(`minor units must be a safe integer, got ${value}`);
  }
  return BigInt(value) as MinorUnits;
}
