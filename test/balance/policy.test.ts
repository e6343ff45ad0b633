import { describe, expect, it } from 'vitest';
import type { FriendlyCalendar } from '../../src/balance/calendar.ts';
import {
  type BalanceThresholds,
  DECISION_REASONS,
  type Decision,
  decide,
  INITIAL_STATE,
  type PolicyInput,
  type PolicyState,
} from '../../src/balance/policy.ts';

const CAL: FriendlyCalendar = {
  timeZone: 'Asia/Muscat',
  weekendDays: [5, 6],
  nightStartMinute: 22 * 60,
  nightEndMinute: 7 * 60,
  periods: [],
};
/** Tuesday 3 March 2026, 12:00 and 02:00 in Muscat. */
const NOON = new Date('2026-03-03T08:00:00Z');
const TWO_AM = new Date('2026-03-02T22:00:00Z');

const T: BalanceThresholds = {
  lowCreditMinor: 1000n,
  lowCreditDays: 2,
  rearmMarginMinor: 500n,
  rearmMarginDays: 1,
  reconnectMinor: 100n,
  emergencyCreditMinor: 0n,
};

type Given = Partial<Omit<PolicyInput, 'state'>> & { state?: Partial<PolicyState> };

function input(over: Given): PolicyInput {
  return {
    now: NOON,
    mode: 'central',
    creditMinor: 5000n,
    daysLeft: null,
    protected: false,
    relay: 'connected',
    toppedUp: false,
    thresholds: T,
    calendar: CAL,
    ...over,
    state: { ...INITIAL_STATE, ...over.state },
  };
}

const brief = (ds: readonly Decision[]) => ds.map((d) => `${d.kind}:${d.reason}`);

describe('the balance policy', () => {
  it.each([
    { name: 'plenty of credit', given: {}, decisions: ['none:credit_ok'], state: {} },
    {
      name: 'credit falls to the threshold: alert once',
      given: { creditMinor: 1000n },
      decisions: ['alert_low_credit:credit_below_threshold'],
      state: { lowCreditArmed: false },
    },
    {
      name: 'already alerted: nothing again',
      given: { creditMinor: 800n, state: { lowCreditArmed: false } },
      decisions: ['none:low_credit_already_alerted'],
      state: { lowCreditArmed: false },
    },
    {
      name: 'above the threshold but inside the margin: stays disarmed',
      given: { creditMinor: 1400n, state: { lowCreditArmed: false } },
      decisions: ['none:credit_ok'],
      state: { lowCreditArmed: false },
    },
    {
      name: 'above threshold + margin: re-armed',
      given: { creditMinor: 1501n, state: { lowCreditArmed: false } },
      decisions: ['none:low_credit_rearmed'],
      state: { lowCreditArmed: true },
    },
    {
      name: 'days left at the threshold alerts with plenty of money',
      given: { creditMinor: 5000n, daysLeft: 1.5 },
      decisions: ['alert_low_credit:days_left_below_threshold'],
      state: { lowCreditArmed: false },
    },
    {
      name: 'days left inside the margin does not re-arm',
      given: { creditMinor: 5000n, daysLeft: 2.5, state: { lowCreditArmed: false } },
      decisions: ['none:credit_ok'],
      state: { lowCreditArmed: false },
    },
    {
      name: 'out of credit at noon on a weekday: alert and disconnect',
      given: { creditMinor: -10n },
      decisions: ['alert_low_credit:credit_below_threshold', 'disconnect:credit_exhausted'],
      state: { lowCreditArmed: false, supply: 'disconnected' },
    },
    {
      name: 'out of credit at 02:00: deferred to 07:00',
      given: { now: TWO_AM, creditMinor: 0n, state: { lowCreditArmed: false } },
      decisions: ['defer_disconnect:friendly_window'],
      state: { lowCreditArmed: false },
    },
    {
      name: 'a protected account is never disconnected',
      given: { creditMinor: -5000n, protected: true, state: { lowCreditArmed: false } },
      decisions: ['none:protected_account'],
      state: { lowCreditArmed: false },
    },
    {
      name: 'token mode: alerts only',
      given: { mode: 'token', creditMinor: -1n, state: { lowCreditArmed: false } },
      decisions: ['none:token_mode'],
      state: { lowCreditArmed: false },
    },
    {
      name: 'the meter already reports its relay open',
      given: { creditMinor: -1n, relay: 'disconnected', state: { lowCreditArmed: false } },
      decisions: ['none:already_disconnected'],
      state: { lowCreditArmed: false, supply: 'disconnected' },
    },
    {
      name: 'disconnected, credit at the reconnect threshold: wait',
      given: { creditMinor: 100n, state: { supply: 'disconnected', lowCreditArmed: false } },
      decisions: ['none:awaiting_top_up'],
      state: { supply: 'disconnected', lowCreditArmed: false },
    },
    {
      name: 'disconnected, topped up above the threshold: reconnect (even at night)',
      given: {
        now: TWO_AM,
        creditMinor: 3000n,
        toppedUp: true,
        state: { supply: 'disconnected', lowCreditArmed: false },
      },
      decisions: ['none:low_credit_rearmed', 'reconnect:credit_restored'],
      state: { supply: 'connected', lowCreditArmed: true },
    },
  ] satisfies {
    name: string;
    given: Given;
    decisions: string[];
    state: Partial<PolicyState>;
  }[])('$name', ({ given, decisions, state }) => {
    const out = decide(input(given));
    expect(brief(out.decisions)).toEqual(decisions);
    expect(out.state).toEqual({ ...INITIAL_STATE, ...state });
  });

  it('a deferral carries the end of the window and the windows in force', () => {
    const thursdayNight = new Date('2026-03-05T19:00:00Z');
    const out = decide(input({ now: thursdayNight, creditMinor: 0n }));
    const deferral = out.decisions.find((d) => d.kind === 'defer_disconnect');
    expect(deferral?.windowEndsAt?.toISOString()).toBe('2026-03-08T03:00:00.000Z');
    expect(deferral?.windows).toEqual(['night']);
  });

  it('emergency credit: once at zero, disconnect at its end, again only after a top-up', () => {
    const thresholds = { ...T, emergencyCreditMinor: 500n };
    let state: PolicyState = { ...INITIAL_STATE, lowCreditArmed: false };
    const step = (creditMinor: bigint, toppedUp = false) => {
      const out = decide(input({ thresholds, creditMinor, toppedUp, state }));
      state = out.state;
      return brief(out.decisions);
    };
    expect(step(0n)).toEqual(['none:emergency_credit_started']);
    expect(state.emergency).toBe('in_use');
    expect(step(-300n)).toEqual(['none:low_credit_already_alerted']);
    expect(step(-500n)).toEqual(['disconnect:emergency_credit_exhausted']);
    expect(state).toMatchObject({ emergency: 'used', supply: 'disconnected' });
    // A top-up that leaves the account in debt gives no new emergency credit …
    expect(step(-100n, true)).toEqual(['none:awaiting_top_up']);
    expect(state.emergency).toBe('used');
    // … one that lifts it above zero reconnects and gives it back.
    expect(step(2000n, true)).toEqual(['none:low_credit_rearmed', 'reconnect:credit_restored']);
    expect(state).toMatchObject({ emergency: 'available', supply: 'connected' });
    expect(step(0n)).toEqual(['alert_low_credit:credit_below_threshold', 'none:emergency_credit_started']);
  });

  it('used emergency credit without a top-up means a plain disconnect at zero', () => {
    const out = decide(
      input({
        thresholds: { ...T, emergencyCreditMinor: 500n },
        creditMinor: 0n,
        state: { emergency: 'used', lowCreditArmed: false },
      }),
    );
    expect(brief(out.decisions)).toEqual(['disconnect:credit_exhausted']);
  });

  it('every reason a decision carries is in the catalogue', () => {
    const inputs = [
      input({}),
      input({ creditMinor: 0n }),
      input({ now: TWO_AM, creditMinor: 0n }),
      input({ creditMinor: -1n, protected: true }),
      input({ creditMinor: 5000n, state: { supply: 'disconnected' } }),
    ];
    for (const i of inputs) {
      for (const d of decide(i).decisions) {
        expect(DECISION_REASONS[d.kind] as readonly string[]).toContain(d.reason);
      }
    }
  });
});
