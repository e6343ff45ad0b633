/**
 * The customer's own view of their accounts and meters (a signed-in customer, src/api/routes/customer.ts):
 * who they are, their accounts with credit and alert settings, their meters with credit, days of credit left
 * and the last reading, their meters' consumption, and their tokens and purchases. Everything is scoped to the
 * accounts the customer holds now; another customer's meter or account is `not_found`.
 */
import { RasidError } from '../errors.ts';
import {
  type ConsumptionRequest,
  type MeterConsumption,
  meterConsumption,
  unitOf,
} from '../meters/consumption.ts';
import { formatMoney } from '../money.ts';
import { accountBalance, type Queryable } from '../store/ledger.ts';
import type {
  AccountId,
  AccountStatus,
  CustomerId,
  Language,
  MeterId,
  MeterKind,
  MeterStatus,
  PremiseId,
  UtilityId,
} from '../store/schema.ts';
import { likeEscape } from './audit.ts';
import { type CustomerRow, customerColumns } from './customers.ts';

/** A signed-in customer: the utility and the customer whose accounts they see. */
export interface OwnCustomer {
  readonly utilityId: UtilityId;
  readonly customerId: CustomerId;
}

/** An amount as the customer reads it: minor units as digits, formatted, and the currency. */
export interface MoneyView {
  readonly minor: string;
  readonly amount: string;
  readonly currency: string;
}

/** The utility's currency and its exponent. */
export interface Currency {
  currency: string;
  currency_exponent: number;
}

export async function utilityCurrency(db: Queryable, utilityId: UtilityId): Promise<Currency> {
  return db
    .selectFrom('utilities')
    .select(['currency', 'currency_exponent'])
    .where('id', '=', utilityId)
    .executeTakeFirstOrThrow();
}

function money(minor: bigint, m: Currency): MoneyView {
  return { minor: minor.toString(), amount: formatMoney(minor, m.currency_exponent), currency: m.currency };
}

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

/** An account's low-credit alert: on or off, and its thresholds (null: the utility's defaults). */
export interface AlertsView {
  readonly enabled: boolean;
  readonly threshold: MoneyView | null;
  readonly days: number | null;
}

/** An account's low-credit alert columns. */
export interface AlertColumns {
  low_credit_alert_enabled: boolean;
  low_credit_alert_minor: bigint | null;
  low_credit_alert_days: number | null;
}

export function alertsView(r: AlertColumns, m: Currency): AlertsView {
  return {
    enabled: r.low_credit_alert_enabled,
    threshold: r.low_credit_alert_minor === null ? null : money(BigInt(r.low_credit_alert_minor), m),
    days: r.low_credit_alert_days,
  };
}

export interface OwnAccount {
  readonly id: AccountId;
  readonly number: string;
  readonly status: AccountStatus;
  readonly premise: { readonly address: string; readonly area: string | null };
  /** The account ledger: central-mode credit, or what a token-mode vend left over. */
  readonly credit: MoneyView;
  readonly alerts: AlertsView;
}

/** The customer's accounts, by number, each with its credit and alert settings. */
export async function ownAccounts(db: Queryable, c: OwnCustomer): Promise<OwnAccount[]> {
  const m = await utilityCurrency(db, c.utilityId);
  const rows = await db
    .selectFrom('accounts as a')
    .innerJoin('premises as p', 'p.id', 'a.premise_id')
    .select([
      'a.id',
      'a.number',
      'a.status',
      'p.address',
      'p.area',
      'a.low_credit_alert_enabled',
      'a.low_credit_alert_minor',
      'a.low_credit_alert_days',
    ])
    .where('a.utility_id', '=', c.utilityId)
    .where('a.customer_id', '=', c.customerId)
    .orderBy('a.number')
    .execute();
  const accounts: OwnAccount[] = [];
  for (const r of rows) {
    accounts.push({
      id: r.id,
      number: r.number,
      status: r.status,
      premise: { address: r.address, area: r.area },
      credit: money(await accountBalance(db, r.id), m),
      alerts: alertsView(r, m),
    });
  }
  return accounts;
}

export interface OwnProfile {
  readonly customer: {
    readonly id: CustomerId;
    readonly name: string;
    readonly preferredLanguage: Language;
    /** Masked: the last four digits. */
    readonly phone: string | null;
    /** Masked: the first letter and the domain. */
    readonly email: string | null;
  };
  readonly accounts: OwnAccount[];
}

/** Who the customer is (contacts masked) and their accounts. */
export async function ownProfile(db: Queryable, c: OwnCustomer): Promise<OwnProfile> {
  const cu = await db
    .selectFrom('customers')
    .select(['id', 'name', 'preferred_language', 'phone', 'email'])
    .where('id', '=', c.customerId)
    .executeTakeFirstOrThrow();
  return {
    customer: {
      id: cu.id,
      name: cu.name,
      preferredLanguage: cu.preferred_language,
      phone: cu.phone === null ? null : `•••${cu.phone.slice(-4)}`,
      email: cu.email === null ? null : cu.email.replace(/^(.).*(@.*)$/, '$1•••$2'),
    },
    accounts: await ownAccounts(db, c),
  };
}

export interface OwnMeter {
  readonly id: MeterId;
  readonly serial: string;
  readonly kind: MeterKind;
  readonly mode: 'token' | 'central';
  readonly status: MeterStatus;
  readonly online: boolean;
  readonly lastSeenAt: string | null;
  readonly account: { readonly id: AccountId; readonly number: string };
  readonly premise: { readonly address: string; readonly area: string | null };
  /** Unit of the register and of consumption. */
  readonly unit: 'Wh' | 'L';
  /** Central: the account ledger; token: the credit the meter last reported (null when never reported). */
  readonly credit: MoneyView | null;
  /** When that credit was true (token mode: the reading time). */
  readonly creditAt: string | null;
  /** Token meters that keep their credit as energy: the Wh left, as the meter last reported. */
  readonly creditUnits: string | null;
  /** Days of credit left at recent use, the balance engine's last estimate; null when unknown. */
  readonly daysLeft: number | null;
  readonly daysLeftAt: string | null;
  readonly lastReading: { ts: string; register: string | null; relay: boolean | null } | null;
  /** Token meters: money the account holds beside the meter (what a top-up left over); null when none. */
  readonly accountCredit: MoneyView | null;
  /** The meter's latest completed top-up. */
  readonly lastTopUp: { at: string; amount: MoneyView; units: string; channel: 'online' | 'vendor' } | null;
}

/** The customer's meters, by serial, with credit, days of credit left and the last reading. */
export async function ownMeters(db: Queryable, c: OwnCustomer, now: Date): Promise<OwnMeter[]> {
  const m = await utilityCurrency(db, c.utilityId);
  const rows = await db
    .selectFrom('meters as m')
    .innerJoin('accounts as a', 'a.id', 'm.account_id')
    .innerJoin('premises as p', 'p.id', 'a.premise_id')
    .select([
      'm.id',
      'm.serial',
      'm.kind',
      'm.mode',
      'm.status',
      'm.online',
      'm.last_seen_at',
      'a.id as account_id',
      'a.number as account_number',
      'p.address',
      'p.area',
    ])
    .where('m.utility_id', '=', c.utilityId)
    .where('a.customer_id', '=', c.customerId)
    .orderBy('m.serial')
    .execute();
  const meters: OwnMeter[] = [];
  for (const r of rows) {
    const electricity = r.kind === 'electricity';
    const last = await db
      .selectFrom('readings')
      .select(['ts', 'energy_wh', 'volume_l', 'relay'])
      .where('meter_id', '=', r.id)
      .orderBy('ts', 'desc')
      .limit(1)
      .executeTakeFirst();
    let credit: bigint | null = null;
    let creditAt: Date | null = null;
    let creditUnits: bigint | null = null;
    if (r.mode === 'central') {
      credit = await accountBalance(db, r.account_id);
      creditAt = now;
    } else {
      const reported = await db
        .selectFrom('readings')
        .select(['ts', 'credit_minor', 'credit_wh'])
        .where('meter_id', '=', r.id)
        .where((eb) => eb.or([eb('credit_minor', 'is not', null), eb('credit_wh', 'is not', null)]))
        .orderBy('ts', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (reported?.credit_minor != null) credit = BigInt(reported.credit_minor);
      if (reported?.credit_wh != null) creditUnits = BigInt(reported.credit_wh);
      if (reported) creditAt = reported.ts;
    }
    // Token mode: money the account keeps beside the meter (a top-up's remainder), shown when there is some.
    let accountCredit: bigint | null = null;
    if (r.mode === 'token') {
      const b = await accountBalance(db, r.account_id);
      if (b !== 0n) accountCredit = b;
    }
    const lastVend = await db
      .selectFrom('vends')
      .select(['created_at', 'amount_paid_minor', 'units', 'channel'])
      .where('meter_id', '=', r.id)
      .where('status', '=', 'completed')
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    // The balance engine keeps its estimate of days left in the meter's state (docs/balance.md "State").
    const estimate = await db
      .selectFrom('balance_state')
      .select(['days_left', 'evaluated_at'])
      .where('meter_id', '=', r.id)
      .executeTakeFirst();
    const days = estimate?.days_left ?? null;
    const register = last ? (electricity ? last.energy_wh : last.volume_l) : null;
    meters.push({
      id: r.id,
      serial: r.serial,
      kind: r.kind,
      mode: r.mode,
      status: r.status,
      online: r.online,
      lastSeenAt: iso(r.last_seen_at),
      account: { id: r.account_id, number: r.account_number },
      premise: { address: r.address, area: r.area },
      unit: unitOf(r.kind),
      credit: credit === null ? null : money(credit, m),
      creditAt: iso(creditAt),
      creditUnits: creditUnits === null ? null : creditUnits.toString(),
      daysLeft: days,
      daysLeftAt: days !== null && estimate?.evaluated_at ? estimate.evaluated_at.toISOString() : null,
      lastReading: last
        ? {
            ts: last.ts.toISOString(),
            register: register === null ? null : String(register),
            relay: last.relay,
          }
        : null,
      accountCredit: accountCredit === null ? null : money(accountCredit, m),
      lastTopUp: lastVend
        ? {
            at: lastVend.created_at.toISOString(),
            amount: money(BigInt(lastVend.amount_paid_minor), m),
            units: String(lastVend.units),
            channel: lastVend.channel === 'online' ? ('online' as const) : ('vendor' as const),
          }
        : null,
    });
  }
  return meters;
}

/** A meter on one of the customer's accounts. */
export interface OwnedMeter {
  id: MeterId;
  serial: string;
  kind: MeterKind;
  mode: 'token' | 'central';
  account_id: AccountId;
}

/** A meter on one of the customer's accounts, or `not_found`. */
export async function ownedMeter(db: Queryable, c: OwnCustomer, meterId: string): Promise<OwnedMeter> {
  const m = await db
    .selectFrom('meters as m')
    .innerJoin('accounts as a', 'a.id', 'm.account_id')
    .select(['m.id', 'm.serial', 'm.kind', 'm.mode', 'a.id as account_id'])
    .where('m.id', '=', meterId as MeterId)
    .where('m.utility_id', '=', c.utilityId)
    .where('a.customer_id', '=', c.customerId)
    .executeTakeFirst();
  if (!m) throw new RasidError('not_found', `meter ${meterId} is unknown`);
  return m;
}

/** The consumption of one of the customer's meters (src/meters/consumption.ts). */
export async function ownMeterConsumption(
  db: Queryable,
  c: OwnCustomer,
  meterId: string,
  query: ConsumptionRequest,
  now: Date,
): Promise<MeterConsumption> {
  const meter = await ownedMeter(db, c, meterId);
  return meterConsumption(db, meter, query, now);
}

/**
 * Refuses an account the customer does not hold (`not_found`, "is not yours"), as the customer's statement
 * route checks before building the statement.
 */
export async function assertOwnAccount(
  db: Queryable,
  customerId: CustomerId,
  accountId: AccountId,
): Promise<void> {
  const mine = await db
    .selectFrom('accounts')
    .select('id')
    .where('id', '=', accountId)
    .where('customer_id', '=', customerId)
    .executeTakeFirst();
  if (!mine) throw new RasidError('not_found', `account ${accountId} is not yours`);
}

export interface PremiseRow {
  id: PremiseId;
  address: string;
  area: string | null;
  created_at: Date;
}

export interface Page {
  readonly limit: number;
  readonly offset: number;
}

export interface OwnToken {
  readonly issuedAt: string;
  readonly meterId: MeterId;
  readonly meterSerial: string;
  readonly kind: string;
  readonly token: string;
  /** Wh or litres on a credit token. */
  readonly units: string | null;
  readonly vendId: string | null;
  readonly usedAt: string | null;
}

/**
 * Tokens issued to the customer's meters (or to one of them), newest first; engineering and test tokens are
 * not shown. A meter not the customer's is `not_found`.
 */
export async function ownTokens(
  db: Queryable,
  c: OwnCustomer,
  filter: Page & { readonly meterId?: string | undefined },
): Promise<OwnToken[]> {
  if (filter.meterId) await ownedMeter(db, c, filter.meterId);
  let q = db
    .selectFrom('tokens as t')
    .innerJoin('meters as m', 'm.id', 't.meter_id')
    .innerJoin('accounts as a', 'a.id', 'm.account_id')
    .leftJoin('vends as v', 'v.id', 't.vend_id')
    .select([
      't.issued_at',
      't.meter_id',
      'm.serial',
      't.kind',
      't.token',
      'v.units',
      't.vend_id',
      't.used_at',
    ])
    .where('t.utility_id', '=', c.utilityId)
    .where('a.customer_id', '=', c.customerId)
    .where('t.kind', 'not in', ['engineering', 'test']);
  if (filter.meterId) q = q.where('t.meter_id', '=', filter.meterId as MeterId);
  const rows = await q
    .orderBy('t.issued_at', 'desc')
    .orderBy('t.id', 'desc')
    .limit(filter.limit)
    .offset(filter.offset)
    .execute();
  return rows.map((r) => ({
    issuedAt: r.issued_at.toISOString(),
    meterId: r.meter_id,
    meterSerial: r.serial,
    kind: r.kind,
    token: r.token,
    units: r.units === null ? null : String(r.units),
    vendId: r.vend_id,
    usedAt: iso(r.used_at),
  }));
}

export interface OwnPayment {
  /** Also the receipt id. */
  readonly vendId: string;
  readonly at: string;
  readonly channel: 'online' | 'vendor';
  readonly accountNumber: string;
  readonly meterSerial: string;
  readonly amountPaid: MoneyView;
  readonly units: string;
  readonly unit: 'Wh' | 'L';
  readonly token: string | null;
  readonly status: 'completed' | 'reversed' | 'failed';
  /** Online payments: the provider status. */
  readonly paymentStatus: string | null;
}

/** The customer's purchases (online and at vendors), on all their accounts or one, newest first. */
export async function ownPayments(
  db: Queryable,
  c: OwnCustomer,
  filter: Page & { readonly accountId?: string | undefined },
): Promise<OwnPayment[]> {
  const m = await utilityCurrency(db, c.utilityId);
  let q = db
    .selectFrom('vends as v')
    .innerJoin('accounts as a', 'a.id', 'v.account_id')
    .innerJoin('meters as m', 'm.id', 'v.meter_id')
    .leftJoin('payments as p', 'p.id', 'v.payment_id')
    .select([
      'v.id',
      'v.created_at',
      'v.channel',
      'a.number',
      'm.serial',
      'm.kind',
      'v.amount_paid_minor',
      'v.units',
      'v.token',
      'v.status',
      'p.status as payment_status',
    ])
    .where('v.utility_id', '=', c.utilityId)
    .where('a.customer_id', '=', c.customerId);
  if (filter.accountId) q = q.where('v.account_id', '=', filter.accountId as AccountId);
  const rows = await q.orderBy('v.created_at', 'desc').limit(filter.limit).offset(filter.offset).execute();
  return rows.map((r) => ({
    vendId: r.id,
    at: r.created_at.toISOString(),
    channel: r.channel,
    accountNumber: r.number,
    meterSerial: r.serial,
    amountPaid: money(BigInt(r.amount_paid_minor), m),
    units: String(r.units),
    unit: unitOf(r.kind),
    token: r.token,
    status: r.status,
    paymentStatus: r.payment_status,
  }));
}

/** Customers of a utility by name; `q` searches names (any part) and, from three digits, phone numbers. */
export async function listCustomers(
  db: Queryable,
  utilityId: UtilityId,
  filter: Page & { readonly q?: string | undefined },
): Promise<CustomerRow[]> {
  let q = db.selectFrom('customers').select(customerColumns).where('utility_id', '=', utilityId);
  const text = filter.q;
  if (text) {
    const pattern = `%${likeEscape(text)}%`;
    const digits = text.replace(/[^0-9]/g, '');
    q = q.where((eb) =>
      eb.or([
        eb('name', 'ilike', pattern),
        ...(digits.length >= 3 ? [eb('phone', 'like', `%${digits}%`)] : []),
      ]),
    );
  }
  return q.orderBy('name').orderBy('id').limit(filter.limit).offset(filter.offset).execute();
}

/** A customer and the accounts they hold (by number), or `not_found`. */
export async function customerWithAccounts(
  db: Queryable,
  utilityId: UtilityId,
  id: string,
): Promise<{
  customer: CustomerRow;
  accounts: { id: AccountId; number: string; status: AccountStatus }[];
}> {
  const c = await db
    .selectFrom('customers')
    .select(customerColumns)
    .where('id', '=', id as CustomerId)
    .where('utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!c) throw new RasidError('not_found', `customer ${id} is unknown`);
  const accounts = await db
    .selectFrom('accounts')
    .select(['id', 'number', 'status'])
    .where('customer_id', '=', c.id)
    .orderBy('number')
    .execute();
  return { customer: c, accounts };
}

/** Premises of a utility by address; `q` searches the address and area. */
export async function listPremises(
  db: Queryable,
  utilityId: UtilityId,
  filter: Page & { readonly q?: string | undefined },
): Promise<PremiseRow[]> {
  let q = db
    .selectFrom('premises')
    .select(['id', 'address', 'area', 'created_at'])
    .where('utility_id', '=', utilityId);
  if (filter.q) {
    const pattern = `%${likeEscape(filter.q)}%`;
    q = q.where((eb) => eb.or([eb('address', 'ilike', pattern), eb('area', 'ilike', pattern)]));
  }
  return q.orderBy('address').orderBy('id').limit(filter.limit).offset(filter.offset).execute();
}
