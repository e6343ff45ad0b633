/**
 * Vending: a payment becomes exactly one token. Read as named steps on a context (STYLE.md practice 14):
 * resolve the meter, load the account's position, quote, check the channel (vendor float), issue the token,
 * write ledgers + token + vend + audit in ONE transaction. The idempotency key makes retries harmless: the
 * same key returns the same vend; the same key with another request is refused.
 */
import { createHash, randomUUID } from 'node:crypto';
import { type Kysely, sql, type Transaction } from 'kysely';
import { AppError } from '../api/errors.ts';
import { accountBalance, vendorFloat } from '../store/ledger.ts';
import {
  type AccountId,
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
import { type Quote, QuoteError, quoteVend } from './quote.ts';
import { buildReceipt, type Receipt } from './receipt.ts';
import {
  creditableTenths,
  type StsMeterParams,
  stsParamsOf,
  TokenEngine,
  TokenEngineError,
} from './tokens.ts';

export type Db = Kysely<Database>;

/** Thrown inside a vend transaction when the meter's decoder key is not cached yet (derive it outside). */
class DecoderKeyNeeded extends Error {
  constructor(readonly params: StsMeterParams) {
    super('decoder key not cached');
  }
}
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
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
  }).formatToParts(at);
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
  private readonly utilities = new Map<string, { at: number; utility: Utility }>();

  async utility(utilityId: UtilityId, db: Db | Trx = this.db): Promise<Utility> {
    const hit = this.utilities.get(utilityId);
    if (hit && Date.now() - hit.at < 60_000) return hit.utility;
    const u = await db
      .selectFrom('utilities')
      .select(['id', 'code', 'name', 'currency', 'currency_exponent', 'timezone'])
      .where('id', '=', utilityId)
      .executeTakeFirst();
    if (!u) throw new AppError('not_found', `utility ${utilityId} is unknown`);
    const utility: Utility = {
      id: u.id,
      code: u.code,
      name: u.name,
      currency: u.currency,
      exponent: u.currency_exponent,
      timezone: u.timezone,
    };
    this.utilities.set(utilityId, { at: Date.now(), utility });
    return utility;
  }

  async utilityByCode(code: string): Promise<Utility> {
    const u = await this.db.selectFrom('utilities').select('id').where('code', '=', code).executeTakeFirst();
    if (!u) throw new AppError('not_found', `utility ${code} is unknown`);
    return this.utility(u.id);
  }

  /** Finds a meter by serial, STS meter number (11/13 digits) or PAN (with or without its check digit). */
  async findMeter(db: Db | Trx, utilityId: UtilityId, number: string): Promise<Meter | undefined> {
    const bySerial = await db
      .selectFrom('meters')
      .selectAll()
      .where('utility_id', '=', utilityId)
      .where('serial', '=', number.trim())
      .executeTakeFirst();
    // Meter numbers are often written in groups ("6007 2701 2345 6789 0"): compare digits only.
    const n = number.replace(/[\s-]/g, '');
    if (bySerial || !DIGITS.test(n)) return bySerial;
    const candidates: [string | null, string][] = [];
    if (n.length === 11 || n.length === 13) candidates.push([null, n]);
    if (n.length === 17 || n.length === 18) candidates.push([n.slice(0, 6), n.slice(6, 17)]);
    for (const [iin, drn] of candidates) {
      let q = db
        .selectFrom('meters')
        .selectAll()
        .where('utility_id', '=', utilityId)
        .where('sts_drn', '=', drn);
      if (iin) q = q.where('sts_iin', '=', iin);
      const m = await q.executeTakeFirst();
      if (m) return m;
    }
    return undefined;
  }

  /** The public top-up lookup: the meter and its holder's masked name. */
  async lookup(utilityId: UtilityId, number: string): Promise<MeterView> {
    const meter = await this.findMeter(this.db, utilityId, number);
    if (!meter) throw new AppError('not_found', `meter ${number} is unknown`);
    return this.viewOf(this.db, meter);
  }

  private async viewOf(db: Db | Trx, meter: Meter): Promise<MeterView> {
    if (!meter.account_id) throw new AppError('meter_not_vendable', `meter ${meter.serial} has no account`);
    const row = await db
      .selectFrom('accounts')
      .innerJoin('customers', 'customers.id', 'accounts.customer_id')
      .select(['accounts.number', 'customers.name', 'customers.preferred_language'])
      .where('accounts.id', '=', meter.account_id)
      .executeTakeFirstOrThrow();
    return {
      meterId: meter.id,
      serial: meter.serial,
      kind: meter.kind,
      mode: meter.mode,
      customerName: maskName(row.name),
      language: row.preferred_language,
      accountId: meter.account_id,
      accountNumber: row.number,
      utility: await this.utility(meter.utility_id, db),
    };
  }

  /** The tariff in force for an account's meter: subsidised variant when eligible, latest effective version. */
  async tariffFor(
    db: Db | Trx,
    meter: Meter,
    at: Date,
    known?: { tariff_code: string | null; subsidy_eligible: boolean },
  ): Promise<Tariff> {
    const account =
      known ??
      (await db
        .selectFrom('accounts')
        .select(['tariff_code', 'subsidy_eligible'])
        .where('id', '=', meter.account_id!)
        .executeTakeFirstOrThrow());
    let q = db
      .selectFrom('tariffs')
      .selectAll()
      .where('utility_id', '=', meter.utility_id)
      .where('kind', '=', meter.kind)
      .where('effective_from', '<=', at);
    if (account.tariff_code) q = q.where('code', '=', account.tariff_code);
    if (!account.subsidy_eligible) q = q.where('subsidised', '=', false);
    // Eligible accounts take the subsidised variant first; others only the standard one.
    const rows = await q
      .orderBy('subsidised', 'desc')
      .orderBy('effective_from', 'desc')
      .orderBy('version', 'desc')
      .execute();
    const tariff = rows[0];
    if (!tariff) throw new AppError('meter_not_vendable', `no tariff in force for meter ${meter.serial}`);
    return tariff;
  }

  /** Quote lines for an amount: what the customer sees before paying. */
  async quote(
    utilityId: UtilityId,
    number: string,
    amountMinor: bigint,
  ): Promise<{ view: MeterView; quote: Quote }> {
    const meter = await this.findMeter(this.db, utilityId, number);
    if (!meter) throw new AppError('not_found', `meter ${number} is unknown`);
    const view = await this.viewOf(this.db, meter);
    const quote = await this.computeQuote(this.db, meter, view.utility, amountMinor, this.now());
    return { view, quote };
  }

  private async computeQuote(
    db: Db | Trx,
    meter: Meter,
    utility: Utility,
    amount: bigint,
    at: Date,
  ): Promise<Quote> {
    if (meter.status === 'decommissioned' || meter.status === 'faulty') {
      throw new AppError('meter_not_vendable', `meter ${meter.serial} is ${meter.status}`);
    }
    const accountId = meter.account_id!;
    const account = await db
      .selectFrom('accounts')
      .select(['status', 'debt_minor', 'tariff_code', 'subsidy_eligible'])
      .where('id', '=', accountId)
      .executeTakeFirstOrThrow();
    if (account.status !== 'active') throw new AppError('meter_not_vendable', `account is ${account.status}`);
    const tariff = await this.tariffFor(db, meter, at, account);
    const from = monthStart(at, utility.timezone);
    const position = await db
      .selectFrom('vends')
      .select(sql<bigint>`coalesce(sum(units), 0)::bigint`.as('units'))
      .where('meter_id', '=', meter.id)
      .where('status', '=', 'completed')
      .where('created_at', '>=', from)
      .executeTakeFirstOrThrow();
    const fixedKey = `fixed_charge:${monthKey(at, utility.timezone)}`;
    const sums = await db
      .selectFrom('account_ledger')
      .select([
        sql<bigint>`coalesce(sum(amount_minor), 0)::bigint`.as('balance'),
        sql<bigint>`coalesce(-sum(amount_minor) filter (where ref = 'debt_recovery'), 0)::bigint`.as(
          'recovered',
        ),
        sql<bigint>`coalesce(-sum(amount_minor) filter (where ref = ${fixedKey}), 0)::bigint`.as('fixedPaid'),
      ])
      .where('account_id', '=', accountId)
      .executeTakeFirstOrThrow();
    const recovered = { recovered: sums.recovered };
    const fixedPaid = { paid: sums.fixedPaid };
    const fixedDue = BigInt(tariff.fixed_monthly_minor) - fixedPaid.paid;
    const balance = meter.mode === 'token' ? sums.balance : 0n;
    const debt = BigInt(account.debt_minor) - recovered.recovered;
    try {
      return quoteVend({
        amountPaid: amount,
        tariff: {
          taxRateBp: tariff.tax_rate_bp,
          debtRecoveryBp: tariff.debt_recovery_bp,
          minPurchaseMinor: BigInt(tariff.min_purchase_minor),
          blocks: tariff.blocks.map((b) => ({
            upToUnits: b.upToUnits === null ? null : BigInt(b.upToUnits),
            priceMinorPerKUnit: (BigInt(b.priceMinorPerUnit) * 1000n) / BigInt(tariff.price_per_units),
          })),
        },
        debtOutstanding: debt > 0n ? debt : 0n,
        fixedChargesDue: fixedDue > 0n ? fixedDue : 0n,
        monthToDateUnits: position.units,
        accountCredit: balance > 0n ? balance : 0n,
        // Central-mode meters take money, not tokens: no units are bought at the vend.
        creditableTenths: meter.mode === 'token' ? creditableTenths : () => 0n,
      });
    } catch (err) {
      if (err instanceof QuoteError) {
        throw new AppError(
          err.code === 'amount_too_small' ? 'amount_too_small' : 'meter_not_vendable',
          err.message,
        );
      }
      throw err;
    }
  }

  /** Issues exactly one token for a payment (see the file comment). */
  async vend(req: VendRequest): Promise<VendResult> {
    if (req.amountMinor <= 0n) throw new AppError('validation_failed', 'amountMinor must be positive');
    const meter = await this.findMeter(this.db, req.utilityId, req.meter);
    if (!meter) throw new AppError('not_found', `meter ${req.meter} is unknown`);
    const hash = requestHash(meter.id, req.amountMinor, req.channel);
    const earlier = await this.replay(req.utilityId, req.idempotencyKey, hash);
    if (earlier) return earlier;
    // The key store is read outside the transaction (an embedded database has one session).
    if (meter.mode === 'token') await this.warmKey(meter);
    try {
      return await this.db.transaction().execute((trx) => this.vendInTransaction(trx, req, meter.id, hash));
    } catch (err) {
      if (err instanceof DecoderKeyNeeded) {
        // The meter's key changed between the lookup and the lock: derive the new one and go again.
        await this.tokens.decoderKey(err.params);
        return this.db.transaction().execute((trx) => this.vendInTransaction(trx, req, meter.id, hash));
      }
      // A concurrent request with the same key won the race: answer with its vend.
      if (isUniqueViolation(err)) {
        const won = await this.replay(req.utilityId, req.idempotencyKey, hash);
        if (won) return won;
      }
      throw err;
    }
  }

  private async warmKey(meter: Meter): Promise<void> {
    try {
      await this.tokens.decoderKey(stsParamsOf(meter));
    } catch (err) {
      if (err instanceof TokenEngineError || (err instanceof Error && err.name === 'StsError')) {
        throw new AppError('meter_not_vendable', err.message);
      }
      throw err;
    }
  }

  private async replay(utilityId: UtilityId, key: string, hash: string): Promise<VendResult | undefined> {
    const row = await this.db
      .selectFrom('vends')
      .select(['id', 'request_hash', 'token', 'receipt'])
      .where('utility_id', '=', utilityId)
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
    if (!row) return undefined;
    if (row.request_hash !== hash) {
      throw new AppError('idempotency_key_reused', `idempotency key ${key} was used for another request`);
    }
    return { vendId: row.id, replayed: true, token: row.token, receipt: row.receipt as unknown as Receipt };
  }

  private async vendInTransaction(
    trx: Trx,
    req: VendRequest,
    meterId: MeterId,
    hash: string,
  ): Promise<VendResult> {
    const at = this.now();
    // Step 1: lock the meter (serialises TIDs and the month-to-date position of this meter).
    const meter = await trx
      .selectFrom('meters')
      .selectAll()
      .where('id', '=', meterId)
      .forNoKeyUpdate()
      .executeTakeFirstOrThrow();
    const view = await this.viewOf(trx, meter);
    const utility = view.utility;
    // Step 2: quote against the account's position inside the transaction.
    const quote = await this.computeQuote(trx, meter, utility, req.amountMinor, at);
    // Step 3: the channel. The vendor's float is checked at the end, under its row lock, so the lock is held
    // only for the last statements and the commit (many kiosks of one vendor sell at once).
    let commission = 0n;
    let vendorName: string | null = null;
    let creditLimit = 0n;
    if (req.channel.kind === 'vendor') {
      const vendor = await trx
        .selectFrom('vendors')
        .select(['id', 'name', 'credit_limit_minor', 'commission_bp', 'active', 'utility_id'])
        .where('id', '=', req.channel.vendorId)
        .executeTakeFirst();
      if (!vendor?.active || vendor.utility_id !== req.utilityId)
        throw new AppError('forbidden', 'vendor is not active');
      commission = (req.amountMinor * BigInt(vendor.commission_bp)) / 10_000n;
      vendorName = vendor.name;
      creditLimit = BigInt(vendor.credit_limit_minor);
    }
    // Step 4: the token (token-mode meters only), with a TID above every earlier one of this meter.
    let sts: StsMeterParams | null = null;
    let token: string | null = null;
    let tid: number | null = null;
    if (meter.mode === 'token' && quote.tenths > 0n) {
      try {
        sts = stsParamsOf(meter);
        const last = await trx
          .selectFrom('tokens')
          .select(sql<number | null>`max(tid)`.as('tid'))
          .where('meter_id', '=', meter.id)
          .executeTakeFirstOrThrow();
        tid = TokenEngine.nextTid(sts, at, last.tid === null ? null : Number(last.tid));
        const key = this.tokens.cached(sts);
        if (!key) throw new DecoderKeyNeeded(sts);
        token = this.tokens.credit(sts, key, tid, quote.tenths).token;
      } catch (err) {
        if (err instanceof TokenEngineError || (err instanceof Error && err.name === 'StsError')) {
          throw new AppError('meter_not_vendable', err.message);
        }
        throw err;
      }
    } else if (meter.mode === 'token') {
      throw new AppError('amount_too_small', 'the amount buys no units after deductions');
    }
    // Step 5: the vend row (unique idempotency key), ledgers, token row, audit row.
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
    const vend = await trx
      .insertInto('vends')
      .values({
        id: vendId,
        utility_id: req.utilityId,
        meter_id: meter.id,
        account_id: view.accountId,
        channel: req.channel.kind,
        vendor_id: req.channel.kind === 'vendor' ? req.channel.vendorId : null,
        kiosk_id: req.channel.kind === 'vendor' ? req.channel.kioskId : null,
        payment_id: req.channel.kind === 'online' ? req.channel.paymentId : null,
        idempotency_key: req.idempotencyKey,
        request_hash: hash,
        amount_paid_minor: minorUnits(req.amountMinor),
        units: quote.units,
        token,
        tid,
        receipt: receipt as unknown as Record<string, unknown>,
      })
      .returning('id')
      .executeTakeFirstOrThrow();

    const ledger: { kind: 'payment' | 'charge' | 'vend'; amount: bigint; ref: string }[] = [
      { kind: 'payment', amount: req.amountMinor, ref: req.channel.kind === 'vendor' ? 'cash' : 'online' },
    ];
    if (quote.tax > 0n) ledger.push({ kind: 'charge', amount: -quote.tax, ref: 'tax' });
    if (quote.debtRecovery > 0n)
      ledger.push({ kind: 'charge', amount: -quote.debtRecovery, ref: 'debt_recovery' });
    if (quote.fixedCharges > 0n) {
      ledger.push({
        kind: 'charge',
        amount: -quote.fixedCharges,
        ref: `fixed_charge:${monthKey(at, utility.timezone)}`,
      });
    }
    if (quote.unitsCost > 0n)
      ledger.push({ kind: 'vend', amount: -quote.unitsCost, ref: token ? `token:${tid}` : 'units' });
    await trx
      .insertInto('account_ledger')
      .values(
        ledger.map((l) => ({
          utility_id: req.utilityId,
          account_id: view.accountId,
          kind: l.kind,
          amount_minor: minorUnits(l.amount),
          ref: l.ref,
          vend_id: vend.id,
        })),
      )
      .execute();
    if (token !== null && tid !== null) {
      await trx
        .insertInto('tokens')
        .values({
          utility_id: req.utilityId,
          meter_id: meter.id,
          tid,
          kind: 'credit',
          token,
          vend_id: vend.id,
          issued_at: at,
        })
        .execute();
    }
    if (req.channel.kind === 'online') {
      await trx
        .updateTable('payments')
        .set({ vend_id: vend.id, updated_at: at })
        .where('id', '=', req.channel.paymentId)
        .execute();
    }
    await trx
      .insertInto('audit_log')
      .values({
        utility_id: req.utilityId,
        actor: req.actor,
        action: 'vend.issue',
        subject: `vend:${vend.id}`,
        details: {
          meter: meter.serial,
          amountMinor: req.amountMinor.toString(),
          units: quote.units.toString(),
          tid,
          channel: req.channel.kind,
          idempotencyKey: req.idempotencyKey,
        },
      })
      .execute();
    if (req.channel.kind === 'vendor') {
      const vendorId = req.channel.vendorId;
      // NO KEY UPDATE: the vend rows of this transaction hold KEY SHARE on the vendor through their foreign keys.
      await trx.selectFrom('vendors').select('id').where('id', '=', vendorId).forNoKeyUpdate().execute();
      const float = await vendorFloat(trx, vendorId);
      if (float + creditLimit < req.amountMinor) {
        throw new AppError(
          'insufficient_float',
          `float ${float} plus credit limit ${creditLimit} is short of ${req.amountMinor}`,
          { floatMinor: float.toString() },
        );
      }
      const rows = [
        { kind: 'vend' as const, amount: -req.amountMinor, ref: `sale:${meter.serial}` },
        ...(commission > 0n ? [{ kind: 'commission' as const, amount: commission, ref: 'commission' }] : []),
      ];
      await trx
        .insertInto('vendor_ledger')
        .values(
          rows.map((r) => ({
            utility_id: req.utilityId,
            vendor_id: (req.channel as { vendorId: VendorId }).vendorId,
            kiosk_id: (req.channel as { kioskId: KioskId | null }).kioskId,
            kind: r.kind,
            amount_minor: minorUnits(r.amount),
            ref: r.ref,
            vend_id: vend.id,
          })),
        )
        .execute();
    }
    return { vendId: vend.id, replayed: false, token, receipt };
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
      throw new AppError('not_found', `vend ${vendId} is unknown`);
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
      if (!vend) throw new AppError('not_found', `vend ${vendId} is unknown`);
      if (vend.status !== 'completed') throw new AppError('token_not_reversible', `vend is ${vend.status}`);
      if (this.now().getTime() - vend.created_at.getTime() > this.reversalWindowMs) {
        throw new AppError('token_not_reversible', 'the reversal window has passed');
      }
      const used = await trx
        .selectFrom('tokens')
        .select('used_at')
        .where('vend_id', '=', vendId)
        .where('used_at', 'is not', null)
        .executeTakeFirst();
      if (used) throw new AppError('token_not_reversible', 'the meter has already accepted this token');
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
