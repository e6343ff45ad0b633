/**
 * Vending: a payment becomes exactly one token. Read as named steps on a context (docs/style.md practice 14):
 * read the vend's context (meter, account, tariff, vendor, position, an earlier vend under the key) in one
 * statement, quote, check the channel, issue the token, then write ledgers + token + vend + audit (+ vendor
 * float check and lines) in ONE statement, and so in one transaction (`rasid_vend`, migration 0005). The write
 * checks, under the meter's and account's row locks, that their state is still the one the vend was priced
 * against; if not, nothing is written and the vend is read and priced again. The idempotency key makes retries
 * harmless: the same key returns the same vend; the same key with another request is refused.
 */
import { createHash, randomUUID } from 'node:crypto';
import { type Kysely, sql, type Transaction } from 'kysely';
import { RasidError } from '../errors.ts';
import { accountBalance } from '../store/ledger.ts';
import {
  type Account,
  type AccountId,
  type Customer,
  type Database,
  type KioskId,
  type Meter,
  type MeterId,
  type MinorUnits,
  minorUnits,
  type PaymentId,
  type Tariff,
  type UtilityId,
  type VendId,
  type VendorId,
} from '../store/schema.ts';
import {
  type PricedTariff,
  PriceError,
  pricedTariff,
  type Rate,
  rateAt,
  scheduleAt,
} from '../tariffs/price.ts';
import { settingsGeneration } from '../utilities/settings.ts';
import { type Quote, QuoteError, quoteVend } from './quote.ts';
import { buildReceipt, type Receipt, type ReceiptNotes } from './receipt.ts';
import { creditableTenths, isTokenRefusal, type StsColumns, stsParamsOf, TokenEngine } from './tokens.ts';

export type Db = Kysely<Database>;

type Trx = Transaction<Database>;

export interface VendingOptions {
  readonly db: Db;
  readonly tokens: TokenEngine;
  readonly now?: () => Date;
  /** How long after a vend an unused token may still be reversed. */
  readonly reversalWindowMs?: number;
}

export interface Utility {
  readonly id: UtilityId;
  readonly code: string;
  readonly name: string;
  readonly currency: string;
  readonly exponent: number;
  readonly timezone: string;
  /** ISO weekdays of the utility's weekend (time-of-use day types, the friendly-credit calendar). */
  readonly weekendDays: readonly number[];
  /** Utility settings (src/utilities/settings.ts): the tax rate of tariffs that set none, the minimum sale. */
  readonly taxRateBp: number;
  readonly minPurchaseMinor: bigint;
  readonly receiptNotes: ReceiptNotes | null;
}

export interface MeterView {
  readonly meterId: MeterId;
  readonly serial: string;
  readonly kind: 'electricity' | 'water';
  readonly mode: 'token' | 'central';
  readonly customerName: string;
  readonly language: 'ar' | 'en';
  readonly accountId: AccountId;
  readonly accountNumber: string;
  readonly utility: Utility;
}

export type Channel =
  | { readonly kind: 'vendor'; readonly vendorId: VendorId; readonly kioskId: KioskId | null }
  | { readonly kind: 'online'; readonly paymentId: PaymentId };

export interface VendRequest {
  readonly utilityId: UtilityId;
  readonly meter: string;
  readonly amountMinor: bigint;
  readonly channel: Channel;
  readonly idempotencyKey: string;
  /** Audit actor (`user:<id>`, `kiosk:<id>`, `system:stripe`). */
  readonly actor: string;
}

export interface VendResult {
  readonly vendId: VendId;
  readonly replayed: boolean;
  readonly token: string | null;
  readonly receipt: Receipt;
}

/** Masks a name for a public lookup: "Huda Haddad" → "H*** H*****". */
export function maskName(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => {
      const chars = [...w];
      return chars[0] + '*'.repeat(Math.max(chars.length - 1, 1));
    })
    .join(' ');
}

/** Building an Intl formatter costs far more than using one: one per time zone, kept. */
const wallClockFormats = new Map<string, Intl.DateTimeFormat>();
function wallClock(timeZone: string): Intl.DateTimeFormat {
  let f = wallClockFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    wallClockFormats.set(timeZone, f);
  }
  return f;
}

/** Start of the calendar month containing `at`, in the utility's time zone, as an instant. */
export function monthStart(at: Date, timeZone: string): Date {
  const parts = wallClock(timeZone).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  // Local wall time of `at` as if it were UTC, minus the same for the month start, gives the elapsed time.
  const localAsUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  const offset = localAsUtc - Math.floor(at.getTime() / 1000) * 1000;
  const startLocal = Date.UTC(get('year'), get('month') - 1, 1);
  return new Date(startLocal - offset);
}

/** "YYYY-MM" of `at` in the time zone: the key of a month's fixed charge. */
export function monthKey(at: Date, timeZone: string): string {
  const parts = wallClock(timeZone).formatToParts(at);
  return `${parts.find((p) => p.type === 'year')?.value}-${parts.find((p) => p.type === 'month')?.value}`;
}

function requestHash(meterId: string, amount: bigint, channel: Channel): string {
  const canonical = JSON.stringify({
    meterId,
    amount: amount.toString(),
    channel: channel.kind,
    vendorId: channel.kind === 'vendor' ? channel.vendorId : null,
    kioskId: channel.kind === 'vendor' ? channel.kioskId : null,
    paymentId: channel.kind === 'online' ? channel.paymentId : null,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505';
}

const DIGITS = /^[0-9]+$/;

/** How often a vend is read and priced again when its meter's or account's state moved meanwhile. */
const MAX_VEND_ATTEMPTS = 8;

/** One row of `rasid_vend_context` (migration 0005): the meter and what a vend of it is priced against. */
type ContextRow = Pick<
  Meter,
  'id' | 'utility_id' | 'serial' | 'kind' | 'mode' | 'status' | 'account_id' | StsColumns
> & {
  readonly account_number: Account['number'] | null;
  readonly account_status: Account['status'] | null;
  readonly debt_minor: Account['debt_minor'] | null;
  readonly tariff_code: Account['tariff_code'];
  readonly subsidy_eligible: Account['subsidy_eligible'] | null;
  readonly customer_name: Customer['name'] | null;
  readonly preferred_language: Customer['preferred_language'] | null;
  readonly tariff_id: Tariff['id'] | null;
  readonly fixed_monthly_minor: Tariff['fixed_monthly_minor'] | null;
  readonly tax_rate_bp: Tariff['tax_rate_bp'] | null;
  readonly debt_recovery_bp: Tariff['debt_recovery_bp'] | null;
  readonly min_purchase_minor: Tariff['min_purchase_minor'] | null;
  readonly price_per_units: Tariff['price_per_units'] | null;
  readonly blocks: Tariff['blocks'] | null;
  readonly tou: Tariff['tou'];
  readonly vendor_name: string | null;
  readonly vendor_active: boolean | null;
  readonly vendor_utility_id: UtilityId | null;
  readonly commission_bp: number | null;
  readonly earlier_id: VendId | null;
  readonly earlier_hash: string | null;
  readonly earlier_token: string | null;
  readonly earlier_receipt: unknown;
  readonly last_tid: number | null;
  readonly month_units: bigint;
  readonly balance: bigint;
  readonly recovered: bigint;
  readonly fixed_paid: bigint;
  readonly version: string;
};

interface VendContext {
  readonly row: ContextRow;
  readonly utility: Utility;
  /** The instant the vend is priced at (its TID and month), and its month's start and fixed-charge ref. */
  readonly at: Date;
  readonly monthFrom: Date;
  readonly fixedRef: string;
}

interface EarlierVend {
  readonly id: VendId;
  readonly request_hash: string;
  readonly token: string | null;
  readonly receipt: unknown;
}

/** What `rasid_vend` answers (migration 0005). */
type VendOutcome =
  | { readonly outcome: 'done' }
  | { readonly outcome: 'stale' }
  | ({ readonly outcome: 'replay' } & EarlierVend)
  | { readonly outcome: 'insufficient_float'; readonly float: string; readonly credit_limit: string };

interface LedgerLine {
  readonly kind: 'payment' | 'charge' | 'vend' | 'commission';
  readonly amount: bigint;
  readonly ref: string;
}

/** The earlier vend under an idempotency key: the same request gets it again; another one is refused. */
function replayOf(key: string, hash: string, earlier: EarlierVend): VendResult {
  if (earlier.request_hash !== hash) {
    throw new RasidError('idempotency_key_reused', `idempotency key ${key} was used for another request`);
  }
  return { vendId: earlier.id, replayed: true, token: earlier.token, receipt: earlier.receipt as Receipt };
}

/** The quote of an amount against a context: the account's position, the tariff in force, the month so far. */
function priceOf(ctx: VendContext, amount: bigint, utility: Utility): Quote {
  const { row } = ctx;
  if (row.status === 'decommissioned' || row.status === 'faulty') {
    throw new RasidError('meter_not_vendable', `meter ${row.serial} is ${row.status}`);
  }
  if (row.account_status !== 'active') {
    throw new RasidError('meter_not_vendable', `account is ${row.account_status}`);
  }
  if (
    row.tariff_id === null ||
    row.blocks === null ||
    row.price_per_units === null ||
    row.fixed_monthly_minor === null
  ) {
    throw new RasidError('meter_not_vendable', `no tariff in force for meter ${row.serial}`);
  }
  const fixedDue = BigInt(row.fixed_monthly_minor) - row.fixed_paid;
  const balance = row.mode === 'token' ? row.balance : 0n;
  const debt = BigInt(row.debt_minor ?? 0n) - row.recovered;
  const clock = { timeZone: utility.timezone, weekendDays: utility.weekendDays };
  let tariff: PricedTariff;
  let rate: Rate;
  try {
    tariff = pricedTariff({ pricePerUnits: row.price_per_units, blocks: row.blocks, tou: row.tou });
    rate = rateAt(tariff, ctx.at, clock);
  } catch (err) {
    if (err instanceof PriceError) throw new RasidError('meter_not_vendable', err.message);
    throw err;
  }
  if (tariff.tou !== null && row.mode === 'token') {
    // docs/tariffs.md "Token meters": a token meter cannot tell when its credit is used, so a time-of-use
    // price cannot be honoured for it; the sale is refused rather than priced at the hour of purchase.
    throw new RasidError(
      'meter_not_vendable',
      `meter ${row.serial} is a token meter and its tariff is time-of-use: token meters are sold on a blocks tariff only`,
    );
  }
  const schedule = scheduleAt(tariff, ctx.at, clock);
  try {
    const quote = quoteVend({
      amountPaid: amount,
      tariff: {
        // A tariff's own tax rate, else the utility's; the larger of the two minimum purchases.
        taxRateBp: row.tax_rate_bp || utility.taxRateBp,
        debtRecoveryBp: row.debt_recovery_bp ?? 0,
        minPurchaseMinor:
          BigInt(row.min_purchase_minor ?? 0n) > utility.minPurchaseMinor
            ? BigInt(row.min_purchase_minor ?? 0n)
            : utility.minPurchaseMinor,
        rate,
      },
      debtOutstanding: debt > 0n ? debt : 0n,
      fixedChargesDue: fixedDue > 0n ? fixedDue : 0n,
      monthToDateUnits: row.month_units,
      accountCredit: balance > 0n ? balance : 0n,
      // Central-mode meters take money, not tokens: no units are bought at the vend.
      creditableTenths: row.mode === 'token' ? creditableTenths : () => 0n,
    });
    return schedule.length > 0 ? { ...quote, schedule } : quote;
  } catch (err) {
    if (err instanceof QuoteError) {
      throw new RasidError(
        err.code === 'amount_too_small' ? 'amount_too_small' : 'meter_not_vendable',
        err.message,
      );
    }
    throw err;
  }
}

export class VendingService {
  private readonly db: Db;
  private readonly now: () => Date;
  private readonly reversalWindowMs: number;

  constructor(private readonly opts: VendingOptions) {
    this.db = opts.db;
    this.now = opts.now ?? (() => new Date());
    this.reversalWindowMs = opts.reversalWindowMs ?? 24 * 3600_000;
  }

  get tokens(): TokenEngine {
    return this.opts.tokens;
  }

  /** Utilities change rarely: kept for a minute so a vend does not read the row each time. */
  private readonly utilities = new Map<string, { at: number; generation: number; utility: Utility }>();

  async utility(utilityId: UtilityId, db: Db | Trx = this.db): Promise<Utility> {
    const hit = this.utilities.get(utilityId);
    // Settings change without a restart: a change here drops the entry at once, elsewhere within 5 s.
    const generation = settingsGeneration(utilityId);
    if (hit && Date.now() - hit.at < 5_000 && hit.generation === generation) return hit.utility;
    const u = await db
      .selectFrom('utilities')
      .select([
        'id',
        'code',
        'name',
        'currency',
        'currency_exponent',
        'timezone',
        'weekend_days',
        'tax_rate_bp',
        'min_purchase_minor',
        'receipt_header_en',
        'receipt_header_ar',
        'receipt_footer_en',
        'receipt_footer_ar',
      ])
      .where('id', '=', utilityId)
      .executeTakeFirst();
    if (!u) throw new RasidError('not_found', `utility ${utilityId} is unknown`);
    const utility: Utility = {
      id: u.id,
      code: u.code,
      name: u.name,
      currency: u.currency,
      exponent: u.currency_exponent,
      timezone: u.timezone,
      weekendDays: u.weekend_days,
      taxRateBp: u.tax_rate_bp,
      minPurchaseMinor: u.min_purchase_minor,
      receiptNotes:
        u.receipt_header_en || u.receipt_header_ar || u.receipt_footer_en || u.receipt_footer_ar
          ? {
              header: { en: u.receipt_header_en, ar: u.receipt_header_ar },
              footer: { en: u.receipt_footer_en, ar: u.receipt_footer_ar },
            }
          : null,
    };
    this.utilities.set(utilityId, { at: Date.now(), generation, utility });
    return utility;
  }

  async utilityByCode(code: string): Promise<Utility> {
    const u = await this.db.selectFrom('utilities').select('id').where('code', '=', code).executeTakeFirst();
    if (!u) throw new RasidError('not_found', `utility ${code} is unknown`);
    return this.utility(u.id);
  }

  /** The public top-up lookup: the meter (by serial, STS meter number or PAN) and its holder's masked name. */
  async lookup(utilityId: UtilityId, number: string): Promise<MeterView> {
    const ctx = await this.readContext(await this.utility(utilityId), number, this.now());
    if (!ctx) throw new RasidError('not_found', `meter ${number} is unknown`);
    return this.viewOfContext(ctx);
  }

  /**
   * Everything a quote or a vend is priced against, read in ONE statement (`rasid_vend_context`, migration
   * 0005): the meter (by serial, STS meter number or PAN), its account and holder, the tariff in force, the
   * selling vendor, an earlier vend under the idempotency key, and the meter's last TID and units this month
   * and the account's balance, debt recovered and this month's fixed charge paid, with their `version`.
   */
  private async readContext(
    utility: Utility,
    number: string,
    at: Date,
    sale: { readonly vendorId: VendorId | null; readonly idempotencyKey: string | null } = {
      vendorId: null,
      idempotencyKey: null,
    },
  ): Promise<VendContext | undefined> {
    const serial = number.trim();
    // Meter numbers are often written in groups ("6007 2701 2345 6789 0"): compare digits only.
    const n = number.replace(/[\s-]/g, '');
    let iin: string | null = null;
    let drn: string | null = null;
    if (DIGITS.test(n) && (n.length === 11 || n.length === 13)) drn = n;
    if (DIGITS.test(n) && (n.length === 17 || n.length === 18)) [iin, drn] = [n.slice(0, 6), n.slice(6, 17)];
    const monthFrom = monthStart(at, utility.timezone);
    const fixedRef = `fixed_charge:${monthKey(at, utility.timezone)}`;
    const { rows } = await sql<ContextRow>`
      select * from rasid_vend_context(${utility.id}, ${serial}, ${drn}, ${iin}, ${sale.vendorId},
        ${sale.idempotencyKey}, ${at}, ${monthFrom}, ${fixedRef})
    `.execute(this.db);
    const row = rows[0];
    if (!row) return undefined;
    return { row, utility, at, monthFrom, fixedRef };
  }

  /** The holder's view of a context's meter; a meter without an account is not vendable. */
  private viewOfContext(ctx: VendContext): MeterView {
    const { row } = ctx;
    if (
      !row.account_id ||
      row.account_number === null ||
      row.customer_name === null ||
      row.preferred_language === null
    ) {
      throw new RasidError('meter_not_vendable', `meter ${row.serial} has no account`);
    }
    return {
      meterId: row.id,
      serial: row.serial,
      kind: row.kind,
      mode: row.mode,
      customerName: maskName(row.customer_name),
      language: row.preferred_language,
      accountId: row.account_id,
      accountNumber: row.account_number,
      utility: ctx.utility,
    };
  }

  /** Quote lines for an amount: what the customer sees before paying. */
  async quote(
    utilityId: UtilityId,
    number: string,
    amountMinor: bigint,
  ): Promise<{ view: MeterView; quote: Quote }> {
    const utility = await this.utility(utilityId);
    const ctx = await this.readContext(utility, number, this.now());
    if (!ctx) throw new RasidError('not_found', `meter ${number} is unknown`);
    const view = this.viewOfContext(ctx);
    return { view, quote: priceOf(ctx, amountMinor, utility) };
  }

  /**
   * Issues exactly one token for a payment (see the file comment): one statement reads the context, Node
   * prices the vend and computes the token, one statement (`rasid_vend`) writes it. When the meter's or
   * account's state moved in between, nothing is written and the vend is read and priced again.
   */
  async vend(req: VendRequest): Promise<VendResult> {
    if (req.amountMinor <= 0n) throw new RasidError('validation_failed', 'amountMinor must be positive');
    const utility = await this.utility(req.utilityId);
    const sale = {
      vendorId: req.channel.kind === 'vendor' ? req.channel.vendorId : null,
      idempotencyKey: req.idempotencyKey,
    };
    for (let attempt = 1; ; attempt++) {
      const at = this.now();
      const ctx = await this.readContext(utility, req.meter, at, sale);
      if (!ctx) throw new RasidError('not_found', `meter ${req.meter} is unknown`);
      const hash = requestHash(ctx.row.id, req.amountMinor, req.channel);
      const { row } = ctx;
      if (row.earlier_id !== null) {
        return replayOf(req.idempotencyKey, hash, {
          id: row.earlier_id,
          request_hash: row.earlier_hash!,
          token: row.earlier_token,
          receipt: row.earlier_receipt,
        });
      }
      const vend = await this.priceVend(ctx, req, hash);
      let outcome: VendOutcome;
      try {
        const { rows } = await sql<{ outcome: VendOutcome }>`
          select rasid_vend(${JSON.stringify(vend.statement)}::jsonb) as outcome
        `.execute(this.db);
        outcome = rows[0]!.outcome;
      } catch (err) {
        // A concurrent request with the same key won the race: the next read answers with its vend.
        if (isUniqueViolation(err) && attempt < MAX_VEND_ATTEMPTS) continue;
        throw err;
      }
      switch (outcome.outcome) {
        case 'done':
          return vend.result;
        case 'replay':
          return replayOf(req.idempotencyKey, hash, outcome);
        case 'insufficient_float':
          throw new RasidError(
            'insufficient_float',
            `float ${outcome.float} plus credit limit ${outcome.credit_limit} is short of ${req.amountMinor}`,
            { floatMinor: outcome.float },
          );
        case 'stale':
          if (attempt < MAX_VEND_ATTEMPTS) continue;
          throw new RasidError('conflict', `meter ${row.serial} is vending too often at once: try again`);
      }
    }
  }

  /**
   * Prices a vend against its context and computes its token (the decoder key is derived here, before any
   * statement writes, as an embedded database has one session); returns the `rasid_vend` argument.
   */
  private async priceVend(
    ctx: VendContext,
    req: VendRequest,
    hash: string,
  ): Promise<{ statement: Record<string, unknown>; result: VendResult }> {
    const { row, at, utility } = ctx;
    const view = this.viewOfContext(ctx);
    const quote = priceOf(ctx, req.amountMinor, utility);
    // The channel: an active vendor of this utility earns its commission (its float is checked by rasid_vend).
    let commission = 0n;
    let vendorName: string | null = null;
    if (req.channel.kind === 'vendor') {
      if (!row.vendor_active || row.vendor_utility_id !== req.utilityId)
        throw new RasidError('forbidden', 'vendor is not active');
      commission = (req.amountMinor * BigInt(row.commission_bp ?? 0)) / 10_000n;
      vendorName = row.vendor_name;
    }
    // The token (token-mode meters only), with a TID above every earlier one of this meter.
    let token: string | null = null;
    let tid: number | null = null;
    if (row.mode === 'token' && quote.tenths > 0n) {
      try {
        const sts = stsParamsOf(row);
        const key = await this.tokens.decoderKey(sts);
        tid = TokenEngine.nextTid(sts, at, row.last_tid === null ? null : Number(row.last_tid));
        token = this.tokens.credit(sts, key, tid, quote.tenths).token;
      } catch (err) {
        if (isTokenRefusal(err)) {
          throw new RasidError('meter_not_vendable', err.message);
        }
        throw err;
      }
    } else if (row.mode === 'token') {
      throw new RasidError('amount_too_small', 'the amount buys no units after deductions');
    }
    const vendId = randomUUID() as VendId;
    const receipt = buildReceipt({
      vendId,
      at,
      utility,
      meter: view,
      quote,
      token,
      tid,
      channel: req.channel.kind,
      vendorName,
    });
    const ledger: LedgerLine[] = [
      { kind: 'payment', amount: req.amountMinor, ref: req.channel.kind === 'vendor' ? 'cash' : 'online' },
    ];
    if (quote.tax > 0n) ledger.push({ kind: 'charge', amount: -quote.tax, ref: 'tax' });
    if (quote.debtRecovery > 0n)
      ledger.push({ kind: 'charge', amount: -quote.debtRecovery, ref: 'debt_recovery' });
    if (quote.fixedCharges > 0n)
      ledger.push({ kind: 'charge', amount: -quote.fixedCharges, ref: ctx.fixedRef });
    if (quote.unitsCost > 0n)
      ledger.push({ kind: 'vend', amount: -quote.unitsCost, ref: token ? `token:${tid}` : 'units' });
    const vendorLedger: LedgerLine[] =
      req.channel.kind === 'vendor'
        ? [
            { kind: 'vend', amount: -req.amountMinor, ref: `sale:${row.serial}` },
            ...(commission > 0n
              ? [{ kind: 'commission' as const, amount: commission, ref: 'commission' }]
              : []),
          ]
        : [];
    const json = (lines: readonly LedgerLine[]) =>
      lines.map((l) => ({ kind: l.kind, amount_minor: l.amount.toString(), ref: l.ref }));
    const statement = {
      id: vendId,
      utility_id: req.utilityId,
      meter_id: row.id,
      account_id: view.accountId,
      channel: req.channel.kind,
      vendor_id: req.channel.kind === 'vendor' ? req.channel.vendorId : null,
      kiosk_id: req.channel.kind === 'vendor' ? req.channel.kioskId : null,
      payment_id: req.channel.kind === 'online' ? req.channel.paymentId : null,
      idempotency_key: req.idempotencyKey,
      request_hash: hash,
      amount_paid_minor: req.amountMinor.toString(),
      units: quote.units.toString(),
      token,
      tid,
      receipt,
      at: at.toISOString(),
      month_start: ctx.monthFrom.toISOString(),
      fixed_ref: ctx.fixedRef,
      version: row.version,
      account_ledger: json(ledger),
      vendor_ledger: json(vendorLedger),
      actor: req.actor,
      audit: {
        meter: row.serial,
        amountMinor: req.amountMinor.toString(),
        units: quote.units.toString(),
        tid,
        channel: req.channel.kind,
        idempotencyKey: req.idempotencyKey,
      },
    };
    return { statement, result: { vendId, replayed: false, token, receipt } };
  }

  /** A vend's receipt again; a vendor may reprint only its own sales. */
  async reprint(
    utilityId: UtilityId,
    vendId: VendId,
    actor: string,
    vendorId: VendorId | null,
  ): Promise<Receipt> {
    const row = await this.db
      .selectFrom('vends')
      .select(['receipt', 'vendor_id', 'status'])
      .where('id', '=', vendId)
      .where('utility_id', '=', utilityId)
      .executeTakeFirst();
    if (!row || (vendorId !== null && row.vendor_id !== vendorId))
      throw new RasidError('not_found', `vend ${vendId} is unknown`);
    await this.db
      .insertInto('audit_log')
      .values({
        utility_id: utilityId,
        actor,
        action: 'vend.reprint',
        subject: `vend:${vendId}`,
        details: {},
      })
      .execute();
    return { ...(row.receipt as unknown as Receipt), reprint: true, status: row.status };
  }

  /**
   * Reverses a vend whose token the meter has not used, within the window: every ledger entry of the vend is
   * answered by a reversal entry (nothing is edited), the vend is marked reversed, and an audit row written.
   */
  async reverse(
    utilityId: UtilityId,
    vendId: VendId,
    actor: string,
    reason: string,
  ): Promise<{ reversedMinor: bigint }> {
    return this.db.transaction().execute(async (trx) => {
      const vend = await trx
        .selectFrom('vends')
        .selectAll()
        .where('id', '=', vendId)
        .where('utility_id', '=', utilityId)
        .forUpdate()
        .executeTakeFirst();
      if (!vend) throw new RasidError('not_found', `vend ${vendId} is unknown`);
      if (vend.status !== 'completed') throw new RasidError('token_not_reversible', `vend is ${vend.status}`);
      if (this.now().getTime() - vend.created_at.getTime() > this.reversalWindowMs) {
        throw new RasidError('token_not_reversible', 'the reversal window has passed');
      }
      const used = await trx
        .selectFrom('tokens')
        .select('used_at')
        .where('vend_id', '=', vendId)
        .where('used_at', 'is not', null)
        .executeTakeFirst();
      if (used) {
        throw new RasidError(
          'token_already_used',
          `the meter accepted this token at ${used.used_at?.toISOString()}; it cannot be reversed`,
        );
      }
      const accountRows = await trx
        .selectFrom('account_ledger')
        .selectAll()
        .where('vend_id', '=', vendId)
        .execute();
      const vendorRows = await trx
        .selectFrom('vendor_ledger')
        .selectAll()
        .where('vend_id', '=', vendId)
        .execute();
      if (accountRows.length > 0) {
        await trx
          .insertInto('account_ledger')
          .values(
            accountRows.map((r) => ({
              utility_id: r.utility_id,
              account_id: r.account_id,
              kind: 'reversal' as const,
              amount_minor: minorUnits(-BigInt(r.amount_minor)),
              ref: `reversal:${r.kind}:${r.ref ?? ''}`,
              vend_id: vendId,
            })),
          )
          .execute();
      }
      if (vendorRows.length > 0) {
        await trx
          .insertInto('vendor_ledger')
          .values(
            vendorRows.map((r) => ({
              utility_id: r.utility_id,
              vendor_id: r.vendor_id,
              kiosk_id: r.kiosk_id,
              kind: 'reversal' as const,
              amount_minor: minorUnits(-BigInt(r.amount_minor)),
              ref: `reversal:${r.kind}`,
              vend_id: vendId,
            })),
          )
          .execute();
      }
      await trx
        .updateTable('vends')
        .set({ status: 'reversed', reversed_at: this.now() })
        .where('id', '=', vendId)
        .execute();
      await trx
        .insertInto('audit_log')
        .values({
          utility_id: utilityId,
          actor,
          action: 'vend.reverse',
          subject: `vend:${vendId}`,
          details: { reason, amountMinor: String(vend.amount_paid_minor), token: vend.tid },
        })
        .execute();
      return { reversedMinor: BigInt(vend.amount_paid_minor) };
    });
  }

  /** Tokens issued to a meter, newest first. */
  async history(utilityId: UtilityId, meterId: MeterId, limit = 50) {
    return this.db
      .selectFrom('tokens')
      .leftJoin('vends', 'vends.id', 'tokens.vend_id')
      .select([
        'tokens.id',
        'tokens.kind',
        'tokens.token',
        'tokens.tid',
        'tokens.issued_at',
        'tokens.used_at',
        'tokens.vend_id',
        'tokens.reason',
        'vends.amount_paid_minor',
        'vends.units',
        'vends.status',
        'vends.channel',
      ])
      .where('tokens.utility_id', '=', utilityId)
      .where('tokens.meter_id', '=', meterId)
      .orderBy('tokens.issued_at', 'desc')
      .orderBy('tokens.id', 'desc')
      .limit(limit)
      .execute();
  }

  /** Balance of an account (sum of its ledger). */
  async balance(accountId: AccountId): Promise<MinorUnits> {
    return accountBalance(this.db, accountId);
  }
}
