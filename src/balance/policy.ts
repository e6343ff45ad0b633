/**
 * The balance policy: one pure decision function from an account's position to what Rasid does about it
 * (docs/design.md "Balance engine"). No clock, no database: the engine gathers the input, calls
 * {@link decide}, writes every decision with its reason and carries the returned state to the next run.
 *
 * - Low credit: an alert when credit falls to the amount threshold or the days of credit left fall to the
 *   days threshold; once per crossing: the alert disarms itself and re-arms only when credit rises above
 *   the threshold plus a margin (hysteresis), so credit wobbling around the threshold does not repeat it.
 * - Out of credit (central mode only): a disconnect at or below the floor (zero, or minus the emergency
 *   credit while it is in use); never for a protected account; inside a friendly-credit window the
 *   disconnect is deferred to the window's end. Emergency credit is granted once, the first time credit
 *   reaches zero, and again only after a top-up has lifted credit above zero.
 * - Back in credit: a reconnect when Rasid had disconnected the supply and credit is above the reconnect
 *   threshold (after a top-up), at any hour.
 * - Token mode: the meter keeps the credit and cuts the supply itself; Rasid only alerts.
 */
import { activeWindows, type FriendlyCalendar, type FriendlyReason, friendlyWindowEnd } from './calendar.ts';

export const DECISION_KINDS = [
  'alert_low_credit',
  'disconnect',
  'defer_disconnect',
  'reconnect',
  'none',
] as const;
export type DecisionKind = (typeof DECISION_KINDS)[number];

/** Every reason code a decision can carry, by decision kind. The codes are stable (stored, documented). */
export const DECISION_REASONS = Object.freeze({
  alert_low_credit: ['credit_below_threshold', 'days_left_below_threshold'],
  disconnect: ['credit_exhausted', 'emergency_credit_exhausted'],
  defer_disconnect: ['friendly_window', 'friendly_window_without_end'],
  reconnect: ['credit_restored'],
  none: [
    'credit_ok',
    'protected_account',
    'token_mode',
    'emergency_credit_started',
    'low_credit_rearmed',
    'low_credit_already_alerted',
    'awaiting_top_up',
    'already_disconnected',
  ],
} as const satisfies Readonly<Record<DecisionKind, readonly string[]>>);

export type DecisionReason<K extends DecisionKind = DecisionKind> = (typeof DECISION_REASONS)[K][number];

export type Decision = {
  [K in DecisionKind]: {
    readonly kind: K;
    readonly reason: DecisionReason<K>;
    /** defer_disconnect: the first moment a disconnect may be sent (null when the calendar never ends). */
    readonly windowEndsAt?: Date | null;
    /** defer_disconnect: the windows in force now. */
    readonly windows?: readonly FriendlyReason[];
  };
}[DecisionKind];

/** Configurable thresholds, in the utility's minor units and days. */
export interface BalanceThresholds {
  /** Alert when credit is at or below this. */
  readonly lowCreditMinor: bigint;
  /** Alert when the days of credit left at recent use are at or below this; null: no days alert. */
  readonly lowCreditDays: number | null;
  /** Re-arm the alert only when credit rises above `lowCreditMinor + rearmMarginMinor`. */
  readonly rearmMarginMinor: bigint;
  /** … and days left above `lowCreditDays + rearmMarginDays`. */
  readonly rearmMarginDays: number;
  /** Reconnect when credit is above this (0 = any positive credit). */
  readonly reconnectMinor: bigint;
  /** Emergency credit granted once until the next top-up; 0 = none. */
  readonly emergencyCreditMinor: bigint;
}

export const DEFAULT_THRESHOLDS: BalanceThresholds = Object.freeze({
  lowCreditMinor: 2_000n,
  lowCreditDays: 2,
  rearmMarginMinor: 500n,
  rearmMarginDays: 1,
  reconnectMinor: 0n,
  emergencyCreditMinor: 0n,
});

export type EmergencyCreditState = 'available' | 'in_use' | 'used';

/** What the policy remembers between runs (the engine stores it with each decision it writes). */
export interface PolicyState {
  /** The low-credit alert can fire (no alert since credit was last comfortably above the threshold). */
  readonly lowCreditArmed: boolean;
  /** The supply as Rasid last ordered it. */
  readonly supply: 'connected' | 'disconnected';
  readonly emergency: EmergencyCreditState;
}

export const INITIAL_STATE: PolicyState = Object.freeze({
  lowCreditArmed: true,
  supply: 'connected',
  emergency: 'available',
});

export interface PolicyInput {
  readonly now: Date;
  readonly mode: 'token' | 'central';
  /** Credit on the account (central: the ledger; token: what the meter reports), minor units. */
  readonly creditMinor: bigint;
  /** Days of credit left at recent use; null when nothing is being used. */
  readonly daysLeft: number | null;
  readonly protected: boolean;
  /** The relay as the meter last reported it; null when unknown. */
  readonly relay: 'connected' | 'disconnected' | null;
  /** Money was added to the account since the previous run (payment, vend, positive adjustment). */
  readonly toppedUp: boolean;
  readonly thresholds: BalanceThresholds;
  readonly calendar: FriendlyCalendar;
  readonly state: PolicyState;
}

export interface PolicyOutcome {
  /** At least one decision; `none` alone when nothing is to be done. */
  readonly decisions: readonly Decision[];
  readonly state: PolicyState;
}

function lowCredit(input: PolicyInput): DecisionReason<'alert_low_credit'> | null {
  const { thresholds: t } = input;
  if (input.creditMinor <= t.lowCreditMinor) return 'credit_below_threshold';
  if (t.lowCreditDays !== null && input.daysLeft !== null && input.daysLeft <= t.lowCreditDays) {
    return 'days_left_below_threshold';
  }
  return null;
}

function comfortablyAbove(input: PolicyInput): boolean {
  const { thresholds: t } = input;
  if (input.creditMinor <= t.lowCreditMinor + t.rearmMarginMinor) return false;
  if (t.lowCreditDays === null || input.daysLeft === null) return true;
  return input.daysLeft > t.lowCreditDays + t.rearmMarginDays;
}

/** The decision function. Pure: the same input always gives the same outcome. */
export function decide(input: PolicyInput): PolicyOutcome {
  const decisions: Decision[] = [];
  let state = input.state;
  const { thresholds: t } = input;

  // A top-up that lifts credit above zero gives emergency credit back for the next time.
  if (input.toppedUp && input.creditMinor > 0n && state.emergency !== 'available') {
    state = { ...state, emergency: 'available' };
  }

  // Low-credit alert, once per crossing, with hysteresis.
  const low = lowCredit(input);
  if (low !== null && state.lowCreditArmed) {
    decisions.push({ kind: 'alert_low_credit', reason: low });
    state = { ...state, lowCreditArmed: false };
  } else if (low === null && !state.lowCreditArmed && comfortablyAbove(input)) {
    decisions.push({ kind: 'none', reason: 'low_credit_rearmed' });
    state = { ...state, lowCreditArmed: true };
  }

  if (input.mode === 'token') {
    if (decisions.length === 0) decisions.push({ kind: 'none', reason: 'token_mode' });
    return { decisions, state };
  }

  if (state.supply === 'disconnected') {
    if (input.creditMinor > t.reconnectMinor) {
      decisions.push({ kind: 'reconnect', reason: 'credit_restored' });
      state = { ...state, supply: 'connected' };
    } else if (decisions.length === 0) {
      decisions.push({ kind: 'none', reason: 'awaiting_top_up' });
    }
    return { decisions, state };
  }

  // Supply on: is the credit at or below the floor?
  if (input.creditMinor <= 0n && state.emergency === 'available' && t.emergencyCreditMinor > 0n) {
    state = { ...state, emergency: 'in_use' };
    decisions.push({ kind: 'none', reason: 'emergency_credit_started' });
  }
  const floor = state.emergency === 'in_use' ? -t.emergencyCreditMinor : 0n;
  if (input.creditMinor > floor) {
    if (decisions.length === 0) {
      decisions.push({ kind: 'none', reason: low === null ? 'credit_ok' : 'low_credit_already_alerted' });
    }
    return { decisions, state };
  }

  if (input.protected) {
    decisions.push({ kind: 'none', reason: 'protected_account' });
    return { decisions, state };
  }
  if (input.relay === 'disconnected') {
    // The meter is already off (cut locally or by an operator): record it, send nothing.
    decisions.push({ kind: 'none', reason: 'already_disconnected' });
    return { decisions, state: { ...state, supply: 'disconnected' } };
  }
  const windows = activeWindows(input.now, input.calendar);
  if (windows.length > 0) {
    const windowEndsAt = friendlyWindowEnd(input.now, input.calendar);
    decisions.push({
      kind: 'defer_disconnect',
      reason: windowEndsAt === null ? 'friendly_window_without_end' : 'friendly_window',
      windowEndsAt,
      windows: [...new Set(windows.map((w) => w.reason))],
    });
    return { decisions, state };
  }
  const reason = state.emergency === 'in_use' ? 'emergency_credit_exhausted' : 'credit_exhausted';
  decisions.push({ kind: 'disconnect', reason });
  state = {
    ...state,
    supply: 'disconnected',
    emergency: state.emergency === 'in_use' ? 'used' : state.emergency,
  };
  return { decisions, state };
}
