/**
 * The balance engine (docs/design.md "Balance engine", docs/balance.md). A meter is evaluated when one of
 * its inputs changed, not on a sweep over every meter:
 *
 * - **readings committed**: the ingest tells the engine which meters' readings it committed
 *   ({@link BalanceEngine.readingsCommitted});
 * - **ledger entries** (payments, vends, adjustments, arrears): a change feed over `account_ledger` ids,
 *   its position kept in `balance_feed`, so entries written by any process or tool are seen;
 * - **command outcomes**: the dispatcher calls {@link BalanceEngine.commandSettled} when a command is
 *   acknowledged, fails or expires;
 * - **tariffs, the calendar and the utility's settings**: a fingerprint per utility, compared each pass;
 *   a change re-evaluates that utility's meters ({@link BalanceEngine.touch} does it on demand);
 * - **time**: each evaluation leaves the next moment time alone may change its decision (a friendly window
 *   or no-disconnect period ending, the projected moment credit runs out) in `balance_state.due_at`.
 *
 * One evaluation, per meter in short transactions of a few meters:
 *
 * 1. The readings after the meter's cursor (`balance_state.read_ts`): central mode charges consumption
 *    from the cumulative register between consecutive readings (a rollover, a reset and a gap handled by
 *    {@link registerStep} / {@link splitByMonth}), priced through the tariff's blocks at the month-to-date
 *    position, as one `consumption` ledger entry; a `balance.consumption` audit row records the charge.
 *    Month-to-date units and use per day are kept in the state, so no history is read again.
 * 2. Credit: the account's balance carried in the state up to a ledger id plus the entries after it
 *    (central), or what the meter last reported (token mode); days of credit left from recent use.
 * 3. The policy ({@link decide}) with the utility's friendly-credit calendar; every decision that changes
 *    something is written with its reason as an audit row `balance.<decision>`. A disconnect or reconnect
 *    is queued through the command dispatcher, and the customer's notifications through the outbox, in the
 *    same transaction as the state.
 *
 * {@link BalanceEngine.run} is the slow reconciliation sweep: every active meter, with the balance summed
 * again from the whole ledger; on a consistent store it decides nothing new.
 *
 * Batch results are per meter: a meter whose work fails is reported and the others go on (docs/style.md practice 12).
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Log } from '../log.ts';
import { formatMoney } from '../money.ts';
import { notify } from '../notify/audience.ts';
import type { TemplateName, TemplatePayload } from '../notify/templates.ts';
import { atPriority } from '../store/gate.ts';
import type { Queryable } from '../store/ledger.ts';
import {
  type AccountId,
  type CustomerId,
  type Database,
  type Language,
  type MeterId,
  type MeterKind,
  type MeterMode,
  minorUnits,
  type UtilityId,
} from '../store/schema.ts';
import {
  chargeShare,
  consumptionShares,
  costOver,
  EMPTY_POSITION,
  type MonthPosition,
  type PricedTariff,
  pricedTariff,
  type TariffClock,
  tariffInForce,
} from '../tariffs/index.ts';
import { type FriendlyCalendar, nextFriendlyStart } from './calendar.ts';
import {
  daysOfCreditLeft,
  MIN_USE_SPAN_MS,
  monthKeyOf,
  type RegisterStepKind,
  registerStep,
  splitByMonth,
} from './consumption.ts';
import {
  type BalanceThresholds,
  DEFAULT_THRESHOLDS,
  type Decision,
  decide,
  INITIAL_STATE,
  type PolicyState,
} from './policy.ts';

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

export type EngineLogger = Pick<Log, 'info' | 'warn'>;

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
  /**
   * Meters per transaction (default 32; a batch reads its readings, relay commands and state in one
   * statement each): short transactions, so the ingest's commits never wait long
   * behind the engine on a single-connection store.
   */
  readonly batchSize?: number;
  /** Most meters evaluated per {@link BalanceEngine.tick} (default 2000); the rest in the next one. */
  readonly tickLimit?: number;
  /** Most readings taken in per meter and evaluation (default 5000); the rest in the next one. */
  readonly maxReadingsPerMeter?: number;
  /** The utility system's webhook URL for balance events, if any (it also gets every customer notice). */
  readonly webhookUrl?: (utility: UtilityView) => string | null;
  readonly logger?: EngineLogger;
  /**
   * Seconds from the commit of the readings (or other change) that triggered an evaluation to the relay
   * command it queued, per disconnect or reconnect queued by {@link BalanceEngine.tick}.
   */
  readonly onDecisionLatency?: (kind: 'disconnect' | 'reconnect', seconds: number) => void;
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
  customer_id: CustomerId;
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

/** The cursor of a meter's charging as older versions kept it, in its latest `balance.consumption` row. */
interface ChargeCursor {
  /** Last reading charged. */
  ts: string;
  register: string;
  /** "YYYY-MM" and the units consumed in it so far. */
  month: string;
  monthToDate: string;
}

/**
 * What the engine remembers of its last written decision, in `balance_state.memo` (and, for the record,
 * in the decision's audit row).
 */
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

/** A day in ms. */
const DAY_MS = 86_400_000;
/** Days of use per day kept in the state (the usage window is at most this long). */
const USAGE_DAYS = 8;

/** One UTC day of use: `[utcDay, units, fromMs, toMs]` (units as a string: bigint-safe JSON). */
type UsageDay = [number, string, number, number];

/** The engine's state of a meter, as read from `balance_state`. */
interface StateRow {
  meter_id: MeterId;
  read_ts: Date | null;
  register: bigint | null;
  month: string | null;
  month_to_date: bigint;
  month_cost_scaled: bigint;
  month_cost_per: number;
  relay: boolean | null;
  credit_minor_reported: bigint | null;
  credit_wh_reported: bigint | null;
  usage: UsageDay[];
  ledger_id: bigint;
  balance_minor: bigint;
  memo: Record<string, unknown> | null;
}

/** The columns of `balance_state` an evaluation reads back: its cursors and memo. */
const CURSOR_COLUMNS = [
  'read_ts',
  'register',
  'month',
  'month_to_date',
  'month_cost_scaled',
  'month_cost_per',
  'relay',
  'credit_minor_reported',
  'credit_wh_reported',
  'usage',
  'ledger_id',
  'balance_minor',
  'memo',
] as const;

/** The columns of `balance_state` an evaluation writes (all but the keys): the cursors and what it found. */
const STATE_COLUMNS = [
  ...CURSOR_COLUMNS,
  'credit_minor',
  'days_left',
  'low_credit',
  'supply',
  'decision',
  'evaluated_at',
  'due_at',
] as const;

/** What changed for a meter since it was last evaluated: the earliest moment it changed (for latency). */
type Dirty = Map<MeterId, number>;

/** A reading as an evaluation takes it in. */
interface ReadingRow {
  ts: Date;
  energy_wh: bigint | string | number | null;
  volume_l: bigint | string | number | null;
  credit_minor: bigint | string | number | null;
  credit_wh: bigint | string | number | null;
  relay: boolean | null;
}

/** The last relay command of a meter. */
interface RelayRow {
  kind: string;
  state: string;
  result: { supersededBy?: unknown } | null;
}

/** A no-disconnect period as the calendar takes it. */
interface PeriodRow {
  kind: FriendlyCalendar['periods'][number]['kind'];
  starts_at: Date;
  ends_at: Date;
  reason: string;
}

/**
 * What one pass reads once and every evaluation of the pass shares: the tariffs in force and each
 * utility's no-disconnect periods, both at the pass's `now`. A change to either during the pass is seen by
 * the next one (the utility's fingerprint changes and its meters are evaluated again).
 */
interface PassCache {
  readonly tariffs: Map<string, PricedTariff | null>;
  readonly periods: Map<UtilityId, readonly PeriodRow[]>;
}

/** What a batch reads for all its meters at once, and the state rows it writes at its end. */
interface BatchInputs {
  readonly readings: ReadonlyMap<MeterId, readonly ReadingRow[]>;
  readonly lastRelay: ReadonlyMap<MeterId, RelayRow>;
  readonly pass: PassCache;
  readonly writes: Record<string, unknown>[];
}

/** The query of the meters, accounts, customers and utilities an evaluation needs. */
function meterQuery(db: Queryable) {
  return db
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
      'c.id as customer_id',
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
    .where('a.status', '=', 'active');
}

/** Units used per day over the kept days inside the window, or null (less than an hour spanned). */
function perDayFromUsage(usage: readonly UsageDay[], since: number): number | null {
  const inWindow = usage.filter((d) => d[3] > since);
  if (inWindow.length === 0) return null;
  const from = Math.max(since, inWindow[0]![2]);
  const to = inWindow.at(-1)![3];
  const span = to - from;
  if (span < MIN_USE_SPAN_MS) return null;
  let units = 0n;
  for (const d of inWindow) units += BigInt(d[1]);
  return (Number(units) * DAY_MS) / span;
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
  readonly #tickLimit: number;
  readonly #maxReadings: number;
  readonly #webhookUrl: (utility: UtilityView) => string | null;
  readonly #logger: EngineLogger | undefined;
  readonly #onLatency: BalanceEngineOptions['onDecisionLatency'];
  /** Meters with a change not yet evaluated, with the time (ms, wall clock) of their first change. */
  #dirty: Dirty = new Map();
  /** Utilities whose every meter is to be evaluated (a settings change). */
  #dirtyUtilities = new Set<UtilityId>();
  /** Each utility's fingerprint of tariffs, calendar and settings, as last seen. */
  #fingerprints: Map<UtilityId, string> | null = null;
  #ledgerPosition: bigint | null = null;
  #timer: NodeJS.Timeout | undefined;
  #wakeTimer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #onReport: ((report: RunReport) => void) | undefined;
  #onError: ((err: unknown) => void) | undefined;

  constructor(options: BalanceEngineOptions) {
    this.#db = options.db;
    this.#commands = options.commands;
    this.#now = options.now ?? (() => new Date());
    this.#thresholds = options.thresholds ?? (() => DEFAULT_THRESHOLDS);
    this.#modulus = options.registerModulus ?? {};
    this.#gapMs = options.gapMs ?? 6 * 3_600_000;
    this.#usageWindowMs = options.usageWindowMs ?? 7 * DAY_MS;
    this.#batchSize = options.batchSize ?? 32;
    this.#tickLimit = options.tickLimit ?? 2000;
    this.#maxReadings = options.maxReadingsPerMeter ?? 5000;
    this.#webhookUrl = options.webhookUrl ?? (() => null);
    this.#logger = options.logger;
    this.#onLatency = options.onDecisionLatency;
  }

  // ---- What changed ---------------------------------------------------------------------------------

  /** The ingest committed readings of these meters. */
  readingsCommitted(meterIds: Iterable<string>): void {
    this.#mark(meterIds);
  }

  /** The dispatcher moved a command of this meter to acknowledged, failed or expired. */
  commandSettled(meterId: string): void {
    this.#mark([meterId]);
  }

  /** Something else about these meters, or every meter of a utility, changed: evaluate them. */
  touch(target: { meterIds?: Iterable<string>; utilityId?: UtilityId }): void {
    if (target.meterIds !== undefined) this.#mark(target.meterIds);
    if (target.utilityId !== undefined) {
      this.#dirtyUtilities.add(target.utilityId);
      this.#wake();
    }
  }

  /** Meters waiting for an evaluation (changes seen, not yet evaluated). */
  get pending(): number {
    return this.#dirty.size;
  }

  #mark(meterIds: Iterable<string>): void {
    const at = Date.now();
    for (const id of meterIds) {
      if (!this.#dirty.has(id as MeterId)) this.#dirty.set(id as MeterId, at);
    }
    this.#wake();
  }

  // ---- Running on its own ---------------------------------------------------------------------------

  /**
   * Evaluates changes as they come: a pass shortly after a change (`coalesceMs`, default 50 ms, gathers
   * the changes of one ingest burst) and at least every `tickMs` (due times, the feeds). Never throws.
   */
  start(options: {
    tickMs: number;
    coalesceMs?: number;
    onReport?: (report: RunReport) => void;
    onError?: (err: unknown) => void;
  }): void {
    this.#onReport = options.onReport;
    this.#onError = options.onError;
    this.#coalesceMs = options.coalesceMs ?? 50;
    this.#timer = setInterval(() => this.#pass(), options.tickMs);
    this.#timer.unref();
  }

  #coalesceMs = 50;

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    clearTimeout(this.#wakeTimer);
    this.#timer = undefined;
    await this.#running;
  }

  #wake(): void {
    if (this.#timer === undefined || this.#wakeTimer !== undefined) return;
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = undefined;
      this.#pass();
    }, this.#coalesceMs);
    this.#wakeTimer.unref();
  }

  #pass(): void {
    if (this.#running !== undefined) return;
    // Behind the meters' commits and the sales at the embedded store's gate (src/store/gate.ts): a sale that
    // wakes the engine never waits for the evaluation it caused.
    this.#running = atPriority('background', () => this.tick())
      .then((report) => {
        this.#onReport?.(report);
        // More than one pass's worth waiting: go on at once.
        if (this.#dirty.size > 0) this.#wake();
      })
      .catch((err: unknown) => this.#onError?.(err))
      .finally(() => {
        this.#running = undefined;
      });
  }

  // ---- The event-driven pass ------------------------------------------------------------------------

  /**
   * One pass over what changed: meters whose readings were committed or whose commands settled, accounts
   * with new ledger entries, utilities whose tariffs, calendar or settings changed, and meters whose due
   * time has come. A meter with no change is not evaluated.
   */
  async tick(): Promise<RunReport> {
    const now = this.#now();
    await this.#followLedger();
    await this.#followUtilities(now);
    const due = await this.#db
      .selectFrom('balance_state')
      .select('meter_id')
      .where('due_at', '<=', now)
      .orderBy('due_at')
      .limit(this.#tickLimit)
      .execute();
    const dirty = this.#dirty;
    this.#dirty = new Map();
    const wall = Date.now();
    for (const row of due) if (!dirty.has(row.meter_id)) dirty.set(row.meter_id, wall);
    const utilities = [...this.#dirtyUtilities];
    this.#dirtyUtilities.clear();
    for (const utilityId of utilities) {
      const rows = await this.#db
        .selectFrom('meters')
        .select('id')
        .where('utility_id', '=', utilityId)
        .where('status', '=', 'active')
        .execute();
      for (const r of rows) if (!dirty.has(r.id)) dirty.set(r.id, wall);
    }
    if (dirty.size === 0) return { meters: [], chargedMinor: 0n, commandsQueued: 0, notificationsQueued: 0 };
    // Past the pass's limit, the rest waits for the next pass.
    const ids = [...dirty.keys()];
    const now_ = ids.slice(0, this.#tickLimit);
    for (const id of ids.slice(this.#tickLimit)) this.#dirty.set(id, dirty.get(id)!);
    const report = await this.#evaluateMeters(now_, now, { full: false, since: dirty });
    // Meters with nothing to evaluate (no account, not active) lose their due time.
    const evaluated = new Set(report.meters.map((m) => m.meterId));
    const gone = due.map((r) => r.meter_id).filter((id) => !evaluated.has(id));
    if (gone.length > 0) {
      await this.#db
        .updateTable('balance_state')
        .set({ due_at: null })
        .where('meter_id', 'in', gone)
        .execute();
    }
    return report;
  }

  /** Ledger entries written since the feed's position (by anyone) mark their accounts' meters. */
  async #followLedger(): Promise<void> {
    if (this.#ledgerPosition === null) {
      const row = await this.#db
        .selectFrom('balance_feed')
        .select('position')
        .where('name', '=', 'account_ledger')
        .executeTakeFirst();
      this.#ledgerPosition = row === undefined ? 0n : BigInt(row.position);
    }
    const entries = await this.#db
      .selectFrom('account_ledger')
      .select(['id', 'account_id', 'kind'])
      .where('id', '>', this.#ledgerPosition)
      .orderBy('id')
      .limit(10_000)
      .execute();
    if (entries.length === 0) return;
    const accounts = [...new Set(entries.filter((e) => e.kind !== 'consumption').map((e) => e.account_id))];
    if (accounts.length > 0) {
      const meters = await this.#db
        .selectFrom('meters')
        .select('id')
        .where('account_id', 'in', accounts)
        .execute();
      this.#mark(meters.map((m) => m.id));
    }
    const position = BigInt(entries.at(-1)!.id);
    this.#ledgerPosition = position;
    await this.#db
      .insertInto('balance_feed')
      .values({ name: 'account_ledger', position })
      .onConflict((oc) => oc.column('name').doUpdateSet({ position }))
      .execute();
  }

  /** Tariffs in force, the calendar and each utility's settings: a changed fingerprint marks the utility. */
  async #followUtilities(now: Date): Promise<void> {
    const { rows } = await sql<{ id: UtilityId; fp: string }>`
      select u.id, md5(concat_ws('|', u.timezone, u.weekend_days::text, u.night_start_minute,
        u.night_end_minute,
        (select string_agg(t.id::text || t.effective_from::text, ',' order by t.id)
           from tariffs t where t.utility_id = u.id and t.effective_from <= ${now}),
        (select string_agg(p.id::text || p.starts_at::text || p.ends_at::text, ',' order by p.id)
           from no_disconnect_periods p where p.utility_id = u.id))) as fp
      from utilities u`.execute(this.#db);
    const seen = new Map(rows.map((r) => [r.id, r.fp]));
    if (this.#fingerprints !== null) {
      for (const [id, fp] of seen) {
        const before = this.#fingerprints.get(id);
        if (before !== undefined && before !== fp) this.#dirtyUtilities.add(id);
      }
    }
    this.#fingerprints = seen;
  }

  // ---- The sweep ------------------------------------------------------------------------------------

  /**
   * The reconciliation sweep over the active meters (or the given ones): each is evaluated with its
   * balance summed again from the whole ledger. A balance that differs from the one the state carried is
   * logged and corrected. On a consistent store it decides nothing new. Never throws for one meter's failure.
   */
  async run(filter: { meterIds?: readonly MeterId[]; utilityId?: UtilityId } = {}): Promise<RunReport> {
    let query = this.#db
      .selectFrom('meters as m')
      .innerJoin('accounts as a', 'a.id', 'm.account_id')
      .select('m.id')
      .where('m.status', '=', 'active')
      .where('a.status', '=', 'active')
      .orderBy('m.id');
    if (filter.meterIds !== undefined) {
      if (filter.meterIds.length === 0)
        return { meters: [], chargedMinor: 0n, commandsQueued: 0, notificationsQueued: 0 };
      query = query.where('m.id', 'in', filter.meterIds);
    }
    if (filter.utilityId !== undefined) query = query.where('m.utility_id', '=', filter.utilityId);
    const ids = (await query.execute()).map((r) => r.id);
    return this.#evaluateMeters(ids, this.#now(), { full: true, since: new Map() });
  }

  // ---- Evaluation -----------------------------------------------------------------------------------

  async #evaluateMeters(
    ids: readonly MeterId[],
    now: Date,
    how: { full: boolean; since: Dirty },
  ): Promise<RunReport> {
    const results: MeterResult[] = [];
    const counters = { commands: 0, notifications: 0 };
    const pass: PassCache = { tariffs: new Map(), periods: new Map() };
    for (let i = 0; i < ids.length; i += this.#batchSize) {
      const chunk = ids.slice(i, i + this.#batchSize);
      try {
        const local = { commands: 0, notifications: 0 };
        const done = await this.#db
          .transaction()
          .execute((trx) => this.#runBatch(trx, chunk, now, how, local, pass));
        results.push(...done);
        counters.commands += local.commands;
        counters.notifications += local.notifications;
      } catch {
        // One meter spoiled the batch: do each alone, so only that meter is held back.
        for (const meterId of chunk) {
          const local = { commands: 0, notifications: 0 };
          try {
            const done = await this.#db
              .transaction()
              .execute((trx) => this.#runBatch(trx, [meterId], now, how, local, pass));
            results.push(...done);
            counters.commands += local.commands;
            counters.notifications += local.notifications;
          } catch (error) {
            const message = (error as Error).message;
            this.#logger?.warn({ meterId, err: message }, 'balance evaluation failed for meter');
            results.push({ meterId, ok: false, chargedMinor: 0n, decisions: [], error: message });
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
    ids: readonly MeterId[],
    now: Date,
    how: { full: boolean; since: Dirty },
    counters: { commands: number; notifications: number },
    pass: PassCache,
  ): Promise<MeterResult[]> {
    // Lock the batch's meters: two engines never charge or decide for the same meter at once.
    await trx.selectFrom('meters').select('id').where('id', 'in', ids).orderBy('id').forUpdate().execute();
    const meters = (await meterQuery(trx).where('m.id', 'in', ids).orderBy('m.id').execute()) as MeterRow[];
    if (meters.length === 0) return [];
    const states = await trx
      .selectFrom('balance_state')
      .select(['meter_id', ...CURSOR_COLUMNS])
      .where('meter_id', 'in', ids)
      .execute();
    const byMeter = new Map(states.map((s) => [s.meter_id, s as unknown as StateRow]));
    const priors: (StateRow & { fresh?: true })[] = [];
    for (const meter of meters)
      priors.push(byMeter.get(meter.meter_id) ?? (await this.#legacyState(trx, meter)));
    const inputs: BatchInputs = {
      readings: await this.#readingsAfter(trx, meters, priors, now),
      lastRelay: await this.#lastRelays(trx, meters),
      pass,
      writes: [],
    };
    const results: MeterResult[] = [];
    for (const [i, meter] of meters.entries()) {
      results.push(await this.#evaluate(trx, meter, priors[i]!, now, how, counters, inputs));
    }
    await this.#writeStates(trx, inputs.writes);
    return results;
  }

  /**
   * The readings of each meter after its cursor, up to `now`, oldest first, at most `maxReadingsPerMeter`
   * each: one statement for the batch, each meter's rows by the `(meter_id, ts)` index.
   */
  async #readingsAfter(
    trx: Transaction<Database>,
    meters: readonly MeterRow[],
    priors: readonly StateRow[],
    now: Date,
  ): Promise<Map<MeterId, ReadingRow[]>> {
    const cursors = meters.map(
      (m, i) =>
        sql`(${m.meter_id}::uuid, ${priors[i]!.read_ts ?? new Date(0)}::timestamptz, ${priors[i]!.read_ts === null}::boolean)`,
    );
    const { rows } = await sql<ReadingRow & { meter_id: MeterId }>`
      select c.meter_id, r.ts, r.energy_wh, r.volume_l, r.credit_minor, r.credit_wh, r.relay
      from (values ${sql.join(cursors)}) as c(meter_id, after, whole)
      cross join lateral (
        select x.ts, x.energy_wh, x.volume_l, x.credit_minor, x.credit_wh, x.relay
        from readings x
        where x.meter_id = c.meter_id and (c.whole or x.ts > c.after) and x.ts <= ${now}
        order by x.ts
        limit ${this.#maxReadings}
      ) r
      order by c.meter_id, r.ts`.execute(trx);
    const out = new Map<MeterId, ReadingRow[]>();
    for (const row of rows) {
      const list = out.get(row.meter_id);
      if (list === undefined) out.set(row.meter_id, [row]);
      else list.push(row);
    }
    return out;
  }

  /** The last disconnect or reconnect command of each meter of the batch. */
  async #lastRelays(
    trx: Transaction<Database>,
    meters: readonly MeterRow[],
  ): Promise<Map<MeterId, RelayRow>> {
    const rows = await trx
      .selectFrom('commands')
      .distinctOn('meter_id')
      .select(['meter_id', 'kind', 'state', 'result'])
      .where(
        'meter_id',
        'in',
        meters.map((m) => m.meter_id),
      )
      .where('kind', 'in', ['disconnect', 'reconnect'])
      .orderBy('meter_id')
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return new Map(rows.map((r) => [r.meter_id, r as unknown as RelayRow]));
  }

  /** The batch's state rows, written in one statement at its end. */
  async #writeStates(trx: Transaction<Database>, writes: readonly Record<string, unknown>[]): Promise<void> {
    if (writes.length === 0) return;
    await trx
      .insertInto('balance_state')
      .values(writes as never)
      .onConflict((oc) =>
        oc
          .column('meter_id')
          .doUpdateSet(Object.fromEntries(STATE_COLUMNS.map((c) => [c, sql.ref(`excluded.${c}`)])) as never),
      )
      .execute();
  }

  /**
   * The state of a meter the engine has not evaluated since `balance_state` came: its charge cursor and
   * memo from the audit rows older versions kept them in, or nothing.
   */
  async #legacyState(trx: Transaction<Database>, meter: MeterRow): Promise<StateRow & { fresh: true }> {
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
    const decision = await trx
      .selectFrom('audit_log')
      .select('details')
      .where('utility_id', '=', meter.utility_id)
      .where('subject', '=', subject)
      .where('action', 'in', DECISION_ACTIONS)
      .orderBy('id', 'desc')
      .executeTakeFirst();
    return {
      fresh: true,
      meter_id: meter.meter_id,
      read_ts: cursor === null ? null : new Date(cursor.ts),
      register: cursor === null ? null : BigInt(cursor.register),
      month: cursor?.month ?? null,
      month_to_date: cursor === null ? 0n : BigInt(cursor.monthToDate),
      month_cost_scaled: 0n,
      month_cost_per: 1000,
      relay: null,
      credit_minor_reported: null,
      credit_wh_reported: null,
      usage: [],
      ledger_id: 0n,
      balance_minor: 0n,
      memo: (decision?.details.memo ?? null) as Record<string, unknown> | null,
    };
  }

  /** The utility's thresholds for the meter's account: the one place the engine reads thresholds. */
  #thresholdsFor(meter: MeterRow, utility: UtilityView): BalanceThresholds {
    return accountThresholds(this.#thresholds(utility), meter);
  }

  /** The tariff in force for the meter's account: the one rule of src/tariffs (migration 0018). */
  async #tariff(db: Queryable, meter: MeterRow, at: Date, pass: PassCache): Promise<PricedTariff | null> {
    const key = `${meter.utility_id}|${meter.kind}|${meter.tariff_code ?? ''}|${meter.subsidy_eligible}`;
    const cached = pass.tariffs.get(key);
    if (cached !== undefined) return cached;
    const row = await tariffInForce(db as Transaction<Database>, {
      utilityId: meter.utility_id,
      kind: meter.kind,
      code: meter.tariff_code,
      eligible: meter.subsidy_eligible,
      at,
    });
    const priced =
      row === undefined
        ? null
        : pricedTariff({ pricePerUnits: row.price_per_units, blocks: row.blocks, tou: row.tou });
    pass.tariffs.set(key, priced);
    return priced;
  }

  async #calendar(db: Queryable, meter: MeterRow, now: Date, pass: PassCache): Promise<FriendlyCalendar> {
    let periods = pass.periods.get(meter.utility_id);
    if (periods === undefined) {
      periods = (await db
        .selectFrom('no_disconnect_periods')
        .select(['kind', 'starts_at', 'ends_at', 'reason'])
        .where('utility_id', '=', meter.utility_id)
        .where('ends_at', '>', now)
        .where('starts_at', '<', new Date(now.getTime() + 60 * DAY_MS))
        .orderBy('starts_at')
        .execute()) as PeriodRow[];
      pass.periods.set(meter.utility_id, periods);
    }
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
    prior: StateRow & { fresh?: true },
    now: Date,
    how: { full: boolean; since: Dirty },
    counters: { commands: number; notifications: number },
    inputs: BatchInputs,
  ): Promise<MeterResult> {
    const subject = `meter:${meter.meter_id}`;
    const tz = meter.timezone;
    const utility: UtilityView = {
      id: meter.utility_id,
      code: meter.utility_code,
      currency: meter.currency,
      exponent: meter.currency_exponent,
    };
    const column = registerOf(meter.kind);

    // 1. The readings after the cursor (read for the whole batch): registers, relay, reported credit, use
    // per day, the charge.
    const rows = inputs.readings.get(meter.meter_id) ?? [];
    const behind = rows.length === this.#maxReadings;

    let readTs = prior.read_ts;
    let register = prior.register === null ? null : BigInt(prior.register);
    let prevTs = prior.read_ts;
    let month = prior.month;
    let monthToDate = BigInt(prior.month_to_date);
    let position: MonthPosition = {
      units: monthToDate,
      scaled: BigInt(prior.month_cost_scaled),
      per: BigInt(prior.month_cost_per),
    };
    const clock: TariffClock = { timeZone: tz, weekendDays: meter.weekend_days };
    const periodUse = new Map<string, { units: bigint; amount: bigint }>();
    let relay = prior.relay;
    let creditMinorReported =
      prior.credit_minor_reported === null ? null : BigInt(prior.credit_minor_reported);
    let creditWhReported = prior.credit_wh_reported === null ? null : BigInt(prior.credit_wh_reported);
    const usage: UsageDay[] = prior.usage.map((d) => [...d] as UsageDay);
    const central = meter.mode === 'central';
    const tariffNow = await this.#tariff(trx, meter, now, inputs.pass);
    let units = 0n;
    let amount = 0n;
    let steps = 0;
    const from = prior.read_ts;
    const events: { kind: RegisterStepKind | 'gap'; at: string; units: string }[] = [];
    for (const reading of rows) {
      readTs = reading.ts;
      if (reading.relay !== null) relay = reading.relay;
      if (reading.credit_minor !== null) {
        creditMinorReported = BigInt(reading.credit_minor);
        creditWhReported = null;
      } else if (reading.credit_wh !== null) {
        creditWhReported = BigInt(reading.credit_wh);
        creditMinorReported = null;
      }
      const value = reading[column];
      if (value === null) continue;
      const next = BigInt(value);
      if (register === null || prevTs === null) {
        // The first register value: the baseline, nothing used before it is known.
        register = next;
        prevTs = reading.ts;
        month ??= monthKeyOf(reading.ts, tz);
        continue;
      }
      const step = registerStep(register, next, this.#modulus[meter.kind]);
      if (step.kind === 'rollover' || step.kind === 'reset') {
        events.push({ kind: step.kind, at: reading.ts.toISOString(), units: step.units.toString() });
      }
      if (reading.ts.getTime() - prevTs.getTime() > this.#gapMs) {
        events.push({ kind: 'gap', at: reading.ts.toISOString(), units: step.units.toString() });
      }
      if (central && tariffNow === null) throw new Error(`no tariff in force for meter ${meter.serial}`);
      const shares =
        central && tariffNow !== null
          ? consumptionShares(tariffNow, clock, prevTs, reading.ts, step.units, (f, t, u) =>
              splitByMonth(f, t, u, tz),
            )
          : splitByMonth(prevTs, reading.ts, step.units, tz).map((x) => ({
              ...x,
              period: null,
              priceMinor: null,
            }));
      for (const share of shares) {
        if (share.month !== month) {
          month = share.month;
          monthToDate = 0n;
          position = EMPTY_POSITION(tariffNow?.per ?? 1000n);
        }
        if (central) {
          const charged = chargeShare(tariffNow!, position, share);
          amount += charged.amount;
          position = charged.position;
          if (share.period !== null) {
            const key = `${share.period.season}/${share.period.period}`;
            const use = periodUse.get(key) ?? { units: 0n, amount: 0n };
            periodUse.set(key, { units: use.units + share.units, amount: use.amount + charged.amount });
          }
        } else {
          position = { ...position, units: position.units + share.units };
        }
        monthToDate += share.units;
      }
      // Use per UTC day: the step belongs to the day of the reading that ends it.
      const day = Math.floor(reading.ts.getTime() / DAY_MS);
      const last = usage.at(-1);
      if (last !== undefined && last[0] === day) {
        last[1] = (BigInt(last[1]) + step.units).toString();
        last[3] = reading.ts.getTime();
      } else {
        usage.push([day, step.units.toString(), prevTs.getTime(), reading.ts.getTime()]);
      }
      units += step.units;
      steps++;
      register = next;
      prevTs = reading.ts;
    }
    while (usage.length > USAGE_DAYS) usage.shift();

    if (central && rows.length > 0 && (steps > 0 || (from === null && register !== null))) {
      // The charge's record (its cursor, for older tools): one audit row per evaluation that took readings in.
      const lastTs = (prevTs ?? readTs)!.toISOString();
      await trx
        .insertInto('audit_log')
        .values({
          utility_id: meter.utility_id,
          actor: ACTOR,
          action: CONSUMPTION_ACTION,
          subject,
          details: {
            ts: lastTs,
            register: (register ?? 0n).toString(),
            month: month ?? monthKeyOf(now, tz),
            monthToDate: monthToDate.toString(),
            from: from?.toISOString() ?? null,
            readings: steps,
            units: units.toString(),
            amountMinor: amount.toString(),
            ...(from === null ? { baseline: true } : {}),
            ...(events.length > 0 ? { events } : {}),
            ...(periodUse.size > 0
              ? {
                  periods: [...periodUse].map(([period, u]) => ({
                    period,
                    units: u.units.toString(),
                    amountMinor: u.amount.toString(),
                  })),
                }
              : {}),
          },
          created_at: now,
        })
        .execute();
      if (amount > 0n) {
        await trx
          .insertInto('account_ledger')
          .values({
            utility_id: meter.utility_id,
            account_id: meter.account_id,
            kind: 'consumption',
            amount_minor: minorUnits(-amount),
            ref: `consumption:${meter.meter_id}:${lastTs}`,
            created_at: now,
          })
          .execute();
      }
    }

    // 2. Credit.
    const memo = (prior.memo ?? null) as Memo | null;
    let state = memo?.state ?? INITIAL_STATE;
    const monthNow = monthKeyOf(now, tz);

    const mtdPosition: MonthPosition =
      month === monthNow ? position : EMPTY_POSITION(tariffNow?.per ?? position.per);
    let ledgerId = BigInt(prior.ledger_id);
    let balance = BigInt(prior.balance_minor);
    let topups = 0;
    if (central) {
      const fresh = await trx
        .selectFrom('account_ledger')
        .select(['id', 'kind', 'amount_minor'])
        .where('account_id', '=', meter.account_id)
        .where('id', '>', ledgerId)
        .orderBy('id')
        .execute();
      for (const e of fresh) {
        balance += BigInt(e.amount_minor);
        if (BigInt(e.amount_minor) > 0n && ['payment', 'vend', 'adjustment'].includes(e.kind)) topups++;
        ledgerId = BigInt(e.id);
      }
      if (how.full) {
        // The safety net: the balance summed again from the whole ledger.
        const whole = await trx
          .selectFrom('account_ledger')
          .select([
            sql<bigint>`coalesce(sum(amount_minor), 0)::bigint`.as('balance'),
            sql<string | null>`max(id)::text`.as('id'),
          ])
          .where('account_id', '=', meter.account_id)
          .executeTakeFirstOrThrow();
        if (BigInt(whole.balance) !== balance) {
          this.#logger?.warn(
            { meterId: meter.meter_id, carried: balance.toString(), summed: String(whole.balance) },
            'balance state corrected by the sweep',
          );
          balance = BigInt(whole.balance);
          ledgerId = BigInt(whole.id ?? '0');
        }
      }
    }
    const result = (decisions: readonly Decision[]): MeterResult => ({
      meterId: meter.meter_id,
      ok: true,
      chargedMinor: amount,
      decisions,
    });

    let credit: bigint | null;
    let toppedUp: boolean;
    if (central) {
      credit = balance;
      toppedUp = memo !== null && topups > 0;
    } else if (creditMinorReported !== null) {
      credit = creditMinorReported;
      toppedUp = memo !== null && credit > BigInt(memo.credit);
    } else if (creditWhReported !== null) {
      // Energy credit valued at the prices in force now (a blocks tariff: from the month-to-date position).
      credit = tariffNow === null ? 0n : costOver(tariffNow, clock, mtdPosition, now, now, creditWhReported);
      toppedUp = memo !== null && credit > BigInt(memo.credit);
    } else {
      credit = null;
      toppedUp = false;
    }

    const perDay = perDayFromUsage(usage, now.getTime() - this.#usageWindowMs);
    const spendPerDay =
      perDay === null || tariffNow === null
        ? null
        : Number(
            costOver(
              tariffNow,
              clock,
              mtdPosition,
              now,
              new Date(now.getTime() + DAY_MS),
              BigInt(Math.round(perDay)),
            ),
          );
    const daysLeft = credit === null ? null : daysOfCreditLeft(credit, spendPerDay);

    const saveState = async (extra: {
      memo: Memo | null;
      decision: string | null;
      dueAt: Date | null;
      policy: PolicyState;
    }) => {
      const values: Record<(typeof STATE_COLUMNS)[number], unknown> = {
        read_ts: readTs,
        register,
        month,
        month_to_date: monthToDate,
        month_cost_scaled: position.scaled,
        month_cost_per: Number(position.per),
        relay,
        credit_minor_reported: creditMinorReported,
        credit_wh_reported: creditWhReported,
        usage: JSON.stringify(usage),
        ledger_id: ledgerId,
        balance_minor: balance,
        memo: extra.memo === null ? null : JSON.stringify(extra.memo),
        credit_minor: credit,
        days_left: daysLeft === null ? null : Math.round(daysLeft * 100) / 100,
        low_credit: !extra.policy.lowCreditArmed,
        supply: extra.policy.supply,
        decision: extra.decision,
        evaluated_at: now,
        due_at: behind ? now : extra.dueAt,
      };
      inputs.writes.push({ meter_id: meter.meter_id, utility_id: meter.utility_id, ...values });
    };

    // Not decided while readings are still to be taken in (the state would be of the past), nor without credit.
    if (behind || credit === null) {
      await saveState({ memo, decision: null, dueAt: null, policy: state });
      return result([]);
    }

    // A relay command that failed or expired did not happen: the state goes back to what the meter has.
    const lastRelay = inputs.lastRelay.get(meter.meter_id);
    if (
      lastRelay !== undefined &&
      (lastRelay.state === 'failed' || lastRelay.state === 'expired') &&
      lastRelay.result?.supersededBy === undefined
    ) {
      const undone = lastRelay.kind === 'disconnect' ? 'connected' : 'disconnected';
      if (state.supply !== undone) state = { ...state, supply: undone };
    }

    // 3. The policy.
    const thresholds = this.#thresholdsFor(meter, utility);
    const calendar = await this.#calendar(trx, meter, now, inputs.pass);
    const input = {
      now,
      mode: meter.mode,
      creditMinor: credit,
      daysLeft,
      protected: meter.protected,
      relay: relay === null ? null : relay ? ('connected' as const) : ('disconnected' as const),
      toppedUp,
      thresholds,
      calendar,
      state,
    };
    const outcome = decide(input);
    const decisions = outcome.decisions;
    const dueAt = this.#dueAt(meter, outcome.decisions, outcome.state, credit, daysLeft, now);
    const headline = decisions.find((d) => d.kind !== 'none') ?? decisions[0] ?? null;
    const decisionText = headline === null ? null : `${headline.kind}:${headline.reason}`;

    const signature = signatureOf(decisions, outcome.state);
    // The same decisions with the same state as last time say nothing new: not written again.
    if (memo !== null && signature === memo.signature && !toppedUp) {
      await saveState({ memo, decision: decisionText, dueAt, policy: outcome.state });
      return result(decisions);
    }

    const newMemo: Memo = {
      state: outcome.state,
      ledgerId: ledgerId.toString(),
      credit: credit.toString(),
      signature,
    };
    // A one-shot decision (a disconnect) settles into a standing one (awaiting a top-up) at the next
    // evaluation with the same inputs, as the sweep would find it: then the meter is due again at once.
    const settled = decide({ ...input, toppedUp: false, state: outcome.state });
    const settles = signatureOf(settled.decisions, settled.state) !== signature;
    await saveState({
      memo: newMemo,
      decision: decisionText,
      dueAt: settles ? now : dueAt,
      policy: outcome.state,
    });
    const changedAt = how.since.get(meter.meter_id);
    for (const decision of decisions) {
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
        if (changedAt !== undefined) this.#onLatency?.(decision.kind, (Date.now() - changedAt) / 1000);
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
    return result(decisions);
  }

  /**
   * The next moment time alone may change the meter's decision: the end of the friendly window a
   * disconnect waits for, or (central mode, supply on, credit being used) the projected moment credit
   * runs out. Null: only a new input can.
   */
  #dueAt(
    meter: MeterRow,
    decisions: readonly Decision[],
    state: PolicyState,
    credit: bigint,
    daysLeft: number | null,
    now: Date,
  ): Date | null {
    const deferral = decisions.find((d) => d.kind === 'defer_disconnect');
    if (deferral !== undefined) return deferral.windowEndsAt ?? null;
    if (meter.mode !== 'central' || state.supply !== 'connected' || credit <= 0n || daysLeft === null) {
      return null;
    }
    if (daysLeft > 366) return null;
    return new Date(now.getTime() + Math.ceil(daysLeft * DAY_MS));
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
    // Who hears it is decided in one place (notify/audience.ts); a customer who turned low-credit alerts off
    // gets none, and the utility's systems still hear of it.
    const ids = await notify(trx, {
      utilityId: meter.utility_id,
      template,
      payload: payload as TemplatePayload<typeof template>,
      dedupKey: `balance:${auditId}`,
      notBefore: now,
      customerId: meter.customer_id,
      customerMuted: template === 'low_credit' && !meter.low_credit_alert_enabled,
      configuredWebhook: this.#webhookUrl(utility),
    });
    const queued = ids.length;
    return queued;
  }
}
