/**
 * The balance engine (ARCHITECTURE.md "Balance engine"). One {@link BalanceEngine.run} does, per active
 * meter with an account, in batches of meters that share one transaction each:
 *
 * 1. Central mode: consumption from the cumulative register between consecutive readings since the last
 *    charged one (a rollover, a reset and a gap handled by {@link registerStep} / {@link splitByMonth}),
 *    priced through the tariff's blocks at the month-to-date position, charged to `account_ledger` as one
 *    `consumption` entry per meter and run; a `balance.consumption` audit row in the same transaction is the
 *    meter's cursor (last reading charged, month-to-date units), so a reading is never charged twice: the
 *    meter row is locked, the cursor read, and the charge and the new cursor committed together.
 * 2. Credit: the ledger (central) or what the meter last reported (token mode); days of credit left from the
 *    last week's use priced at the month-to-date position.
 * 3. The policy ({@link decide}) with the utility's friendly-credit calendar; every decision is written with
 *    its reason as an audit row `balance.<decision>` carrying the policy state, and a decision that changes
 *    nothing and repeats the previous one is not written again. A disconnect or reconnect is queued through
 *    the command dispatcher, and the customer's notifications through the outbox, in the same transaction.
 *
 * Batch results are per meter: a meter whose work fails is reported and the others go on (STYLE.md 12).
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import { formatMoney } from '../money.ts';
import { enqueueNotification } from '../notify/outbox.ts';
import type { TemplateName, TemplatePayload } from '../notify/templates.ts';
import {
  type AccountId,
  type Database,
  type Language,
  type MeterId,
  type MeterKind,
  type MeterMode,
  minorUnits,
  type NewAccountLedgerEntry,
  type NewAuditEntry,
  type UtilityId,
} from '../store/schema.ts';
import { type FriendlyCalendar, nextFriendlyStart } from './calendar.ts';
import {
  type ConsumptionTariff,
  consumptionCharge,
  daysOfCreditLeft,
  monthKeyOf,
  type RegisterStepKind,
  registerStep,
  splitByMonth,
  usePerDay,
} from './consumption.ts';
import {
  type BalanceThresholds,
  DEFAULT_THRESHOLDS,
  type Decision,
  decide,
  INITIAL_STATE,
  type PolicyState,
} from './policy.ts';

type Queryable = Kysely<Database> | Transaction<Database>;

/** What the engine needs of the command dispatcher (src/commands/dispatcher.ts). */
export interface RelayCommands {
  enqueue(
    request: {
      utilityId: UtilityId;
      meterId: MeterId;
      kind: 'disconnect' | 'reconnect';
      payload: { reason: 'credit_exhausted' } | { reason: 'credit_restored' };
      reason?: string;
      createdBy?: string;
      ttlMs?: number;
    },
    db: Queryable,
  ): Promise<string>;
  /** Sends what is due (called after a run that queued commands). */
  dispatchDue(): Promise<unknown>;
}

export interface EngineLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** The utility a meter belongs to, as the engine sees it. */
export interface UtilityView {
  readonly id: UtilityId;
  readonly code: string;
  readonly currency: string;
  readonly exponent: number;
}

export interface BalanceEngineOptions {
  readonly db: Kysely<Database>;
  readonly commands: RelayCommands;
  readonly now?: () => Date;
  /** Thresholds per utility (default {@link DEFAULT_THRESHOLDS} for every utility). */
  readonly thresholds?: (utility: UtilityView) => BalanceThresholds;
  /** Registers count modulo this (a 9-digit Wh register: 10⁹); unset: a register going down is a reset. */
  readonly registerModulus?: Partial<Record<MeterKind, bigint>>;
  /** Readings further apart than this are flagged as a gap in the charge's audit row (default 6 h). */
  readonly gapMs?: number;
  /** Recent use is measured over this window (default 7 days). */
  readonly usageWindowMs?: number;
  /** Meters per transaction (default 50). */
  readonly batchSize?: number;
  /** Most readings charged per meter and run (default 5000); the rest wait for the next run. */
  readonly maxReadingsPerMeter?: number;
  /** The utility system's webhook URL for balance events, if any (it also gets every customer notice). */
  readonly webhookUrl?: (utility: UtilityView) => string | null;
  readonly logger?: EngineLogger;
}

export interface MeterResult {
  readonly meterId: MeterId;
  readonly ok: boolean;
  /** Minor units charged for consumption in this run (central mode). */
  readonly chargedMinor: bigint;
  readonly decisions: readonly Decision[];
  readonly error?: string;
}

export interface RunReport {
  readonly meters: readonly MeterResult[];
  readonly chargedMinor: bigint;
  readonly commandsQueued: number;
  readonly notificationsQueued: number;
}

const ACTOR = 'system:balance';
const CONSUMPTION_ACTION = 'balance.consumption';
/** The audit actions of the engine's decisions on a meter; the latest one carries the memo of its state. */
export const DECISION_ACTIONS = [
  'balance.alert_low_credit',
  'balance.disconnect',
  'balance.defer_disconnect',
  'balance.reconnect',
  'balance.none',
] as const;

/** The meter, account, customer and utility fields one meter's run needs. */
interface MeterRow {
  meter_id: MeterId;
  serial: string;
  kind: MeterKind;
  mode: MeterMode;
  utility_id: UtilityId;
  account_id: AccountId;
  account_number: string;
  protected: boolean;
  tariff_code: string | null;
  subsidy_eligible: boolean;
  /** The customer's own low-credit alert settings (null: the utility's threshold). */
  low_credit_alert_enabled: boolean;
  low_credit_alert_minor: bigint | null;
  low_credit_alert_days: number | null;
  customer_name: string;
  phone: string | null;
  email: string | null;
  language: Language;
  utility_code: string;
  currency: string;
  currency_exponent: number;
  timezone: string;
  weekend_days: number[];
  night_start_minute: number | null;
  night_end_minute: number | null;
}

/** The cursor of a central meter's charging, kept in its latest `balance.consumption` audit row. */
interface ChargeCursor {
  /** Last reading charged. */
  ts: string;
  register: string;
  /** "YYYY-MM" and the units consumed in it so far. */
  month: string;
  monthToDate: string;
}

/** What the engine remembers between runs, kept in the latest decision row of the meter. */
interface Memo {
  state: PolicyState;
  /** Highest account_ledger id seen: money added above it is a top-up. */
  ledgerId: string;
  /** Credit at the previous written decision (token mode: a rise is a top-up). */
  credit: string;
  /** The written decisions' signature: the same decisions with the same state are not written again. */
  signature: string;
}

const RELAY_REASON = {
  disconnect: { reason: 'credit_exhausted' },
  reconnect: { reason: 'credit_restored' },
} as const;

const DECISION_TEMPLATE: Partial<Record<Decision['kind'], TemplateName>> = {
  alert_low_credit: 'low_credit',
  disconnect: 'disconnect',
  reconnect: 'reconnect',
};

function registerOf(kind: MeterKind): 'energy_wh' | 'volume_l' {
  return kind === 'electricity' ? 'energy_wh' : 'volume_l';
}

/** Routine outcomes: written only with a change of state, never for themselves. */
const ROUTINE_REASONS: ReadonlySet<string> = new Set([
  'credit_ok',
  'low_credit_already_alerted',
  'token_mode',
]);

/**
 * What a run decided, for "is this news?": the policy state and the standing decisions (a deferral and
 * its window end, a protected account at zero…). One-shot decisions change the state, so they count too.
 */
function signatureOf(decisions: readonly Decision[], state: PolicyState): string {
  const standing = decisions.filter((d) => d.kind !== 'alert_low_credit' && !ROUTINE_REASONS.has(d.reason));
  return JSON.stringify([
    standing.map((d) => [d.kind, d.reason, d.windowEndsAt?.toISOString() ?? null]),
    state,
  ]);
}

/** The utility's thresholds with the account holder's own low-credit amount and days where set. */
export function accountThresholds(
  utility: BalanceThresholds,
  account: Pick<MeterRow, 'low_credit_alert_minor' | 'low_credit_alert_days'>,
): BalanceThresholds {
  return {
    ...utility,
    ...(account.low_credit_alert_minor !== null ? { lowCreditMinor: account.low_credit_alert_minor } : {}),
    ...(account.low_credit_alert_days !== null ? { lowCreditDays: account.low_credit_alert_days } : {}),
  };
}

export class BalanceEngine {
  readonly #db: Kysely<Database>;
  readonly #commands: RelayCommands;
  readonly #now: () => Date;
  readonly #thresholds: (utility: UtilityView) => BalanceThresholds;
  readonly #modulus: Partial<Record<MeterKind, bigint>>;
  readonly #gapMs: number;
  readonly #usageWindowMs: number;
  readonly #batchSize: number;
  readonly #maxReadings: number;
  readonly #webhookUrl: (utility: UtilityView) => string | null;
  readonly #logger: EngineLogger | undefined;

  constructor(options: BalanceEngineOptions) {
    this.#db = options.db;
    this.#commands = options.commands;
    this.#now = options.now ?? (() => new Date());
    this.#thresholds = options.thresholds ?? (() => DEFAULT_THRESHOLDS);
    this.#modulus = options.registerModulus ?? {};
    this.#gapMs = options.gapMs ?? 6 * 3_600_000;
    this.#usageWindowMs = options.usageWindowMs ?? 7 * 86_400_000;
    this.#batchSize = options.batchSize ?? 50;
    this.#maxReadings = options.maxReadingsPerMeter ?? 5000;
    this.#webhookUrl = options.webhookUrl ?? (() => null);
    this.#logger = options.logger;
  }

  /** One pass over the active meters (or the given ones). Never throws for one meter's failure. */
  async run(filter: { meterIds?: readonly MeterId[]; utilityId?: UtilityId } = {}): Promise<RunReport> {
    let query = this.#db
      .selectFrom('meters as m')
      .innerJoin('accounts as a', 'a.id', 'm.account_id')
      .innerJoin('customers as c', 'c.id', 'a.customer_id')
      .innerJoin('utilities as u', 'u.id', 'm.utility_id')
      .select([
        'm.id as meter_id',
        'm.serial',
        'm.kind',
        'm.mode',
        'm.utility_id',
        'a.id as account_id',
        'a.number as account_number',
        'a.protected',
        'a.tariff_code',
        'a.subsidy_eligible',
        'a.low_credit_alert_enabled',
        'a.low_credit_alert_minor',
        'a.low_credit_alert_days',
        'c.name as customer_name',
        'c.phone',
        'c.email',
        'c.preferred_language as language',
        'u.code as utility_code',
        'u.currency',
        'u.currency_exponent',
        'u.timezone',
        'u.weekend_days',
        'u.night_start_minute',
        'u.night_end_minute',
      ])
      .where('m.status', '=', 'active')
      .where('a.status', '=', 'active')
      .orderBy('m.id');
    if (filter.meterIds !== undefined) {
      if (filter.meterIds.length === 0)
        return { meters: [], chargedMinor: 0n, commandsQueued: 0, notificationsQueued: 0 };
      query = query.where('m.id', 'in', filter.meterIds);
    }
    if (filter.utilityId !== undefined) query = query.where('m.utility_id', '=', filter.utilityId);
    const meters = (await query.execute()) as MeterRow[];

    const now = this.#now();
    const results: MeterResult[] = [];
    const counters = { commands: 0, notifications: 0 };
    for (let i = 0; i < meters.length; i += this.#batchSize) {
      const chunk = meters.slice(i, i + this.#batchSize);
      try {
        const local = { commands: 0, notifications: 0 };
        const done = await this.#db.transaction().execute((trx) => this.#runBatch(trx, chunk, now, local));
        results.push(...done);
        counters.commands += local.commands;
        counters.notifications += local.notifications;
      } catch {
        // One meter spoiled the batch: do each alone, so only that meter is held back.
        for (const meter of chunk) {
          const local = { commands: 0, notifications: 0 };
          try {
            const done = await this.#db
              .transaction()
              .execute((trx) => this.#runBatch(trx, [meter], now, local));
            results.push(...done);
            counters.commands += local.commands;
            counters.notifications += local.notifications;
          } catch (error) {
            const message = (error as Error).message;
            this.#logger?.warn({ meterId: meter.meter_id, err: message }, 'balance run failed for meter');
            results.push({
              meterId: meter.meter_id,
              ok: false,
              chargedMinor: 0n,
              decisions: [],
              error: message,
            });
          }
        }
      }
    }
    if (counters.commands > 0) await this.#commands.dispatchDue();
    return {
      meters: results,
      chargedMinor: results.reduce((s, r) => s + r.chargedMinor, 0n),
      commandsQueued: counters.commands,
      notificationsQueued: counters.notifications,
    };
  }

  async #runBatch(
    trx: Transaction<Database>,
    meters: readonly MeterRow[],
    now: Date,
    counters: { commands: number; notifications: number },
  ): Promise<MeterResult[]> {
    // Lock the batch's meters: two engines never charge or decide for the same meter at once.
    await trx
      .selectFrom('meters')
      .select('id')
      .where(
        'id',
        'in',
        meters.map((m) => m.meter_id),
      )
      .orderBy('id')
      .forUpdate()
      .execute();

    const ledger: NewAccountLedgerEntry[] = [];
    const audits: NewAuditEntry[] = [];
    const charged = new Map<MeterId, bigint>();
    for (const meter of meters) {
      if (meter.mode !== 'central') continue;
      const charge = await this.#charge(trx, meter, now);
      if (charge === null) continue;
      audits.push(charge.audit);
      if (charge.amount > 0n) ledger.push(charge.ledger);
      charged.set(meter.meter_id, charge.amount);
    }
    if (ledger.length > 0) await trx.insertInto('account_ledger').values(ledger).execute();
    if (audits.length > 0) await trx.insertInto('audit_log').values(audits).execute();

    const results: MeterResult[] = [];
    for (const meter of meters) {
      const decisions = await this.#evaluate(trx, meter, now, counters);
      results.push({
        meterId: meter.meter_id,
        ok: true,
        chargedMinor: charged.get(meter.meter_id) ?? 0n,
        decisions,
      });
    }
    return results;
  }

  /** The tariff in force for the meter's account: the subsidised variant when eligible, latest version. */
  async #tariff(db: Queryable, meter: MeterRow, at: Date): Promise<ConsumptionTariff | null> {
    let q = db
      .selectFrom('tariffs')
      .select(['blocks', 'price_per_units'])
      .where('utility_id', '=', meter.utility_id)
      .where('kind', '=', meter.kind)
      .where('effective_from', '<=', at);
    if (meter.tariff_code !== null) q = q.where('code', '=', meter.tariff_code);
    if (!meter.subsidy_eligible) q = q.where('subsidised', '=', false);
    const row = await q
      .orderBy('subsidised', 'desc')
      .orderBy('effective_from', 'desc')
      .orderBy('version', 'desc')
      .executeTakeFirst();
    return row === undefined ? null : { blocks: row.blocks, pricePerUnits: row.price_per_units };
  }

  async #charge(
    trx: Transaction<Database>,
    meter: MeterRow,
    now: Date,
  ): Promise<{ amount: bigint; ledger: NewAccountLedgerEntry; audit: NewAuditEntry } | null> {
    const subject = `meter:${meter.meter_id}`;
    const last = await trx
      .selectFrom('audit_log')
      .select('details')
      .where('utility_id', '=', meter.utility_id)
      .where('subject', '=', subject)
      .where('action', '=', CONSUMPTION_ACTION)
      .orderBy('id', 'desc')
      .executeTakeFirst();
    const cursor = (last?.details ?? null) as ChargeCursor | null;
    const column = registerOf(meter.kind);
    let q = trx
      .selectFrom('readings')
      .select(['ts', column])
      .where('meter_id', '=', meter.meter_id)
      .where(column, 'is not', null)
      .where('ts', '<=', now)
      .orderBy('ts')
      .limit(this.#maxReadings);
    if (cursor !== null) q = q.where('ts', '>', new Date(cursor.ts));
    const rows = await q.execute();
    if (rows.length === 0) return null;
    const readings = rows.map((r) => ({ ts: r.ts, value: (r as Record<string, unknown>)[column] as bigint }));

    const tz = meter.timezone;
    let prev = cursor === null ? readings[0]! : { ts: new Date(cursor.ts), value: BigInt(cursor.register) };
    const todo = cursor === null ? readings.slice(1) : readings;
    let month = cursor?.month ?? monthKeyOf(prev.ts, tz);
    let monthToDate = cursor === null ? 0n : BigInt(cursor.monthToDate);
    let units = 0n;
    let amount = 0n;
    const events: { kind: RegisterStepKind | 'gap'; at: string; units: string }[] = [];
    const tariff = todo.length > 0 ? await this.#tariff(trx, meter, now) : null;
    if (todo.length > 0 && tariff === null) throw new Error(`no tariff in force for meter ${meter.serial}`);
    for (const reading of todo) {
      const step = registerStep(prev.value, reading.value, this.#modulus[meter.kind]);
      if (step.kind === 'rollover' || step.kind === 'reset') {
        events.push({ kind: step.kind, at: reading.ts.toISOString(), units: step.units.toString() });
      }
      if (reading.ts.getTime() - prev.ts.getTime() > this.#gapMs) {
        events.push({ kind: 'gap', at: reading.ts.toISOString(), units: step.units.toString() });
      }
      for (const share of splitByMonth(prev.ts, reading.ts, step.units, tz)) {
        if (share.month !== month) {
          month = share.month;
          monthToDate = 0n;
        }
        amount += consumptionCharge(tariff!, monthToDate, share.units);
        monthToDate += share.units;
      }
      units += step.units;
      prev = reading;
    }
    // A month that turned with no reading in it yet starts at zero when its first reading comes.
    const lastTs = prev.ts.toISOString();
    const details: ChargeCursor & Record<string, unknown> = {
      ts: lastTs,
      register: prev.value.toString(),
      month,
      monthToDate: monthToDate.toString(),
      from: cursor?.ts ?? null,
      readings: todo.length,
      units: units.toString(),
      amountMinor: amount.toString(),
      ...(cursor === null ? { baseline: true } : {}),
      ...(events.length > 0 ? { events } : {}),
    };
    return {
      amount,
      ledger: {
        utility_id: meter.utility_id,
        account_id: meter.account_id,
        kind: 'consumption',
        amount_minor: minorUnits(-amount),
        ref: `consumption:${meter.meter_id}:${lastTs}`,
        created_at: now,
      },
      audit: {
        utility_id: meter.utility_id,
        actor: ACTOR,
        action: CONSUMPTION_ACTION,
        subject,
        details,
        created_at: now,
      },
    };
  }

  async #calendar(db: Queryable, meter: MeterRow, now: Date): Promise<FriendlyCalendar> {
    const periods = await db
      .selectFrom('no_disconnect_periods')
      .select(['kind', 'starts_at', 'ends_at', 'reason'])
      .where('utility_id', '=', meter.utility_id)
      .where('ends_at', '>', now)
      .where('starts_at', '<', new Date(now.getTime() + 60 * 86_400_000))
      .orderBy('starts_at')
      .execute();
    return {
      timeZone: meter.timezone,
      weekendDays: meter.weekend_days,
      nightStartMinute: meter.night_start_minute,
      nightEndMinute: meter.night_end_minute,
      periods: periods.map((p) => ({
        kind: p.kind,
        startsAt: p.starts_at,
        endsAt: p.ends_at,
        reason: p.reason,
      })),
    };
  }

  async #evaluate(
    trx: Transaction<Database>,
    meter: MeterRow,
    now: Date,
    counters: { commands: number; notifications: number },
  ): Promise<Decision[]> {
    const subject = `meter:${meter.meter_id}`;
    const utility: UtilityView = {
      id: meter.utility_id,
      code: meter.utility_code,
      currency: meter.currency,
      exponent: meter.currency_exponent,
    };
    const thresholds = accountThresholds(this.#thresholds(utility), meter);
    const lastDecision = await trx
      .selectFrom('audit_log')
      .select('details')
      .where('utility_id', '=', meter.utility_id)
      .where('subject', '=', subject)
      .where('action', 'in', DECISION_ACTIONS)
      .orderBy('id', 'desc')
      .executeTakeFirst();
    const memo = (lastDecision?.details.memo ?? null) as Memo | null;
    let state = memo?.state ?? INITIAL_STATE;

    const column = registerOf(meter.kind);
    const since = new Date(now.getTime() - this.#usageWindowMs);
    const recent = await trx
      .selectFrom('readings')
      .select(['ts', 'energy_wh', 'volume_l', 'credit_minor', 'credit_wh', 'relay'])
      .where('meter_id', '=', meter.meter_id)
      .where('ts', '>', since)
      .where('ts', '<=', now)
      .orderBy('ts')
      .execute();
    const latest = recent.at(-1);
    const tariff = await this.#tariff(trx, meter, now);

    // Month-to-date units from this month's readings (the block position of the next units used).
    const monthNow = monthKeyOf(now, meter.timezone);
    const samples = recent
      .filter((r) => r[column] !== null)
      .map((r) => ({ at: r.ts, value: r[column] as bigint, month: monthKeyOf(r.ts, meter.timezone) }));
    const thisMonth = samples.filter((s) => s.month === monthNow);
    const monthToDate =
      thisMonth.length >= 2 ? registerStep(thisMonth[0]!.value, thisMonth.at(-1)!.value).units : 0n;

    let credit: bigint;
    let toppedUp: boolean;
    const maxLedger = await trx
      .selectFrom('account_ledger')
      .select(sql<string | null>`max(id)::text`.as('id'))
      .where('account_id', '=', meter.account_id)
      .executeTakeFirstOrThrow();
    const ledgerId = maxLedger.id ?? '0';
    if (meter.mode === 'central') {
      const row = await trx
        .selectFrom('account_ledger')
        .select([
          sql<bigint>`coalesce(sum(amount_minor), 0)::bigint`.as('balance'),
          sql<bigint>`coalesce(sum(case when amount_minor > 0 and kind in ('payment', 'vend', 'adjustment') and id > ${memo?.ledgerId ?? '0'}::bigint then 1 else 0 end), 0)::bigint`.as(
            'topups',
          ),
        ])
        .where('account_id', '=', meter.account_id)
        .executeTakeFirstOrThrow();
      credit = BigInt(row.balance);
      toppedUp = memo !== null && BigInt(row.topups) > 0n;
    } else {
      const reported = [...recent].reverse().find((r) => r.credit_minor !== null || r.credit_wh !== null);
      if (reported === undefined) return [];
      credit =
        reported.credit_minor !== null
          ? BigInt(reported.credit_minor)
          : tariff === null
            ? 0n
            : consumptionCharge(tariff, monthToDate, BigInt(reported.credit_wh!));
      toppedUp = memo !== null && credit > BigInt(memo.credit);
    }

    const perDay = usePerDay(
      samples.map((s) => ({ at: s.at, value: s.value })),
      this.#modulus[meter.kind],
    );
    const spendPerDay =
      perDay === null || tariff === null
        ? null
        : Number(consumptionCharge(tariff, monthToDate, BigInt(Math.round(perDay))));
    const daysLeft = daysOfCreditLeft(credit, spendPerDay);

    // A relay command that failed or expired did not happen: the state goes back to what the meter has.
    const lastRelay = await trx
      .selectFrom('commands')
      .select(['kind', 'state', 'result'])
      .where('meter_id', '=', meter.meter_id)
      .where('kind', 'in', ['disconnect', 'reconnect'])
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .executeTakeFirst();
    if (
      lastRelay !== undefined &&
      (lastRelay.state === 'failed' || lastRelay.state === 'expired') &&
      lastRelay.result?.supersededBy === undefined
    ) {
      const undone = lastRelay.kind === 'disconnect' ? 'connected' : 'disconnected';
      if (state.supply !== undone) state = { ...state, supply: undone };
    }

    const calendar = await this.#calendar(trx, meter, now);
    const outcome = decide({
      now,
      mode: meter.mode,
      creditMinor: credit,
      daysLeft,
      protected: meter.protected,
      relay:
        latest?.relay === null || latest === undefined ? null : latest.relay ? 'connected' : 'disconnected',
      toppedUp,
      thresholds,
      calendar,
      state,
    });

    const signature = signatureOf(outcome.decisions, outcome.state);
    // The same decisions with the same state as last time say nothing new: not written again.
    if (memo !== null && signature === memo.signature && !toppedUp) return [...outcome.decisions];

    const newMemo: Memo = { state: outcome.state, ledgerId, credit: credit.toString(), signature };
    for (const decision of outcome.decisions) {
      const auditId = await this.#writeDecision(trx, meter, decision, newMemo, credit, daysLeft, now);
      if (decision.kind === 'disconnect' || decision.kind === 'reconnect') {
        // A disconnect must not be acted on inside the next friendly window (an offline meter coming back).
        const windowStart = decision.kind === 'disconnect' ? nextFriendlyStart(now, calendar) : null;
        await this.#commands.enqueue(
          {
            utilityId: meter.utility_id,
            meterId: meter.meter_id,
            kind: decision.kind,
            payload: RELAY_REASON[decision.kind],
            reason: `balance.${decision.kind}:${decision.reason}:${auditId}`,
            createdBy: ACTOR,
            ...(windowStart === null
              ? {}
              : { ttlMs: Math.max(60_000, windowStart.getTime() - now.getTime()) }),
          },
          trx,
        );
        counters.commands++;
      }
      counters.notifications += await this.#notify(
        trx,
        meter,
        utility,
        decision,
        auditId,
        credit,
        daysLeft,
        now,
      );
    }
    return [...outcome.decisions];
  }

  async #writeDecision(
    trx: Transaction<Database>,
    meter: MeterRow,
    decision: Decision,
    memo: Memo,
    credit: bigint,
    daysLeft: number | null,
    now: Date,
  ): Promise<string> {
    const row = await trx
      .insertInto('audit_log')
      .values({
        utility_id: meter.utility_id,
        actor: ACTOR,
        action: `balance.${decision.kind}`,
        subject: `meter:${meter.meter_id}`,
        details: {
          reason: decision.reason,
          accountId: meter.account_id,
          mode: meter.mode,
          creditMinor: credit.toString(),
          daysLeft: daysLeft === null ? null : Math.round(daysLeft * 100) / 100,
          ...(decision.windowEndsAt === undefined
            ? {}
            : {
                windowEndsAt: decision.windowEndsAt?.toISOString() ?? null,
                windows: decision.windows ?? [],
              }),
          memo,
        },
        created_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    // int8 identity: a bigint at run time on both dialects.
    return String(row.id);
  }

  async #notify(
    trx: Transaction<Database>,
    meter: MeterRow,
    utility: UtilityView,
    decision: Decision,
    auditId: string,
    credit: bigint,
    daysLeft: number | null,
    now: Date,
  ): Promise<number> {
    const template = DECISION_TEMPLATE[decision.kind];
    if (template === undefined) return 0;
    const base = {
      customerName: meter.customer_name,
      accountNumber: meter.account_number,
      credit: formatMoney(credit, meter.currency_exponent),
      currency: meter.currency,
    };
    const payload =
      template === 'low_credit'
        ? ({
            ...base,
            daysLeft: daysLeft === null ? null : Math.floor(daysLeft),
          } satisfies TemplatePayload<'low_credit'>)
        : ({ ...base, meterSerial: meter.serial } satisfies TemplatePayload<'disconnect'>);
    const targets: { channel: 'sms' | 'email' | 'webhook'; recipient: string }[] = [];
    // A customer who turned low-credit alerts off gets none; the utility's webhook still hears of it.
    const toCustomer = template !== 'low_credit' || meter.low_credit_alert_enabled;
    if (toCustomer && meter.phone !== null) targets.push({ channel: 'sms', recipient: meter.phone });
    if (toCustomer && meter.email !== null) targets.push({ channel: 'email', recipient: meter.email });
    const hook = this.#webhookUrl(utility);
    if (hook !== null) targets.push({ channel: 'webhook', recipient: hook });
    let queued = 0;
    for (const target of targets) {
      const id = await enqueueNotification(trx, {
        utilityId: meter.utility_id,
        channel: target.channel,
        recipient: target.recipient,
        template,
        language: meter.language,
        payload: payload as TemplatePayload<typeof template>,
        dedupKey: `balance:${auditId}:${target.channel}`,
        notBefore: now,
      });
      if (id !== null) queued++;
    }
    return queued;
  }
}
