/**
 * Whole-flow scenario tables (docs/style.md practice 14): balance → disconnect → top-up → reconnect, on a real
 * PGlite database, with the real engine, dispatcher (in-memory transport) and outbox rows.
 *
 * The utility is in Amman (UTC+3): Tuesday 3 March 2026 02:00 local is 2026-03-02T23:00Z; the night window
 * (22:00-07:00) ends at 04:00Z. The tariff is 100 fils per kWh; credit is in fils (JOD, exponent 3).
 */
import { describe, expect } from 'vitest';
import { dbTestFor, SUITE_DIALECT } from '../support/db.ts';
import { ackLatest, assert, makeWorld, type Validator, type World, type WorldOptions } from './world.ts';

const dbTest = dbTestFor(SUITE_DIALECT);

interface Step {
  readonly name: string;
  /** The clock for this step. */
  readonly at: string;
  /** What happens in the world before the engine runs (readings, payments, acks). */
  readonly given?: (w: World) => Promise<void>;
  /** Run the engine (default) or do something else. */
  readonly when?: (w: World) => Promise<void>;
  readonly assert: readonly Validator[];
}

interface Scenario {
  readonly name: string;
  readonly world?: WorldOptions;
  readonly steps: readonly Step[];
}

const run = async (w: World) => {
  await w.run();
};

/** Monday 23:00 local: 1.000 JOD paid and the first reading (a baseline: nothing charged). */
const start: Step = {
  name: 'paid 1.000 JOD, first reading',
  at: '2026-03-02T20:00:00Z',
  given: async (w) => {
    await w.pay(1_000n);
    await w.reading(1_000_000n);
  },
  assert: [assert.ledgerBalance(1_000n), assert.commands([])],
};

/** 02:00 local on the Tuesday: 12 kWh used since, 1.200 JOD: credit is -0.200. */
const runsOutAtTwo: Step = {
  name: '02:00 on a weekday: credit runs out',
  at: '2026-03-02T23:00:00Z',
  given: (w) => w.reading(1_012_000n),
  assert: [assert.ledgerBalance(-200n)],
};

const scenarios: Scenario[] = [
  {
    name: 'credit runs out at 02:00 on a weekday: deferred until 07:00, then disconnected, acked; a top-up reconnects',
    steps: [
      start,
      {
        ...runsOutAtTwo,
        assert: [
          ...runsOutAtTwo.assert,
          assert.decisionsWritten([
            'none:credit_ok',
            'alert_low_credit:credit_below_threshold',
            'defer_disconnect:friendly_window',
          ]),
          assert.commands([]),
          assert.published([]),
          assert.outbox(['sms:low_credit:ar', 'email:low_credit:ar']),
        ],
      },
      {
        name: '06:59 local: still the night window, nothing new written or sent',
        at: '2026-03-03T03:59:00Z',
        assert: [
          assert.decisionsWritten([
            'none:credit_ok',
            'alert_low_credit:credit_below_threshold',
            'defer_disconnect:friendly_window',
          ]),
          assert.commands([]),
        ],
      },
      {
        name: '07:00 local: the window has ended, the disconnect is queued and sent',
        at: '2026-03-03T04:00:00Z',
        assert: [
          assert.decisionsWritten([
            'none:credit_ok',
            'alert_low_credit:credit_below_threshold',
            'defer_disconnect:friendly_window',
            'disconnect:credit_exhausted',
          ]),
          assert.commands(['disconnect:sent']),
          assert.published(['disconnect']),
          assert.outbox([
            'sms:low_credit:ar',
            'email:low_credit:ar',
            'sms:disconnect:ar',
            'email:disconnect:ar',
          ]),
        ],
      },
      {
        name: 'the meter acknowledges; the same ack again changes nothing',
        at: '2026-03-03T04:00:05Z',
        when: async (w) => {
          expect(await ackLatest(w, 'disconnect')).toMatchObject({
            outcome: 'recorded',
            state: 'acknowledged',
          });
          expect(await ackLatest(w, 'disconnect')).toMatchObject({
            outcome: 'duplicate',
            state: 'acknowledged',
          });
          await w.reading(1_012_000n, { relay: false });
          await w.run();
        },
        assert: [assert.commands(['disconnect:acknowledged']), assert.published(['disconnect'])],
      },
      {
        name: 'a top-up of 5.000 JOD reconnects',
        at: '2026-03-03T09:00:00Z',
        given: (w) => w.pay(5_000n),
        assert: [
          assert.ledgerBalance(4_800n),
          assert.commands(['disconnect:acknowledged', 'reconnect:sent']),
          assert.published(['disconnect', 'reconnect']),
        ],
      },
      {
        name: 'the reconnect is acknowledged',
        at: '2026-03-03T09:00:05Z',
        when: async (w) => {
          expect(await ackLatest(w, 'reconnect')).toMatchObject({
            outcome: 'recorded',
            state: 'acknowledged',
          });
        },
        assert: [
          assert.commands(['disconnect:acknowledged', 'reconnect:acknowledged']),
          assert.outbox([
            'sms:low_credit:ar',
            'email:low_credit:ar',
            'sms:disconnect:ar',
            'email:disconnect:ar',
            'sms:reconnect:ar',
            'email:reconnect:ar',
          ]),
        ],
      },
    ],
  },
  {
    name: 'a protected account is never disconnected, at any hour',
    world: { protected: true },
    steps: [
      start,
      runsOutAtTwo,
      {
        name: 'Tuesday noon, deep in debt',
        at: '2026-03-03T09:00:00Z',
        given: (w) => w.reading(1_100_000n),
        assert: [
          assert.ledgerBalance(-9_000n),
          assert.decisionsWritten([
            'none:credit_ok',
            'alert_low_credit:credit_below_threshold',
            'none:protected_account',
          ]),
          assert.commands([]),
          assert.published([]),
        ],
      },
    ],
  },
  {
    name: 'emergency credit works once until the next top-up',
    world: { thresholds: { emergencyCreditMinor: 500n } },
    steps: [
      start,
      {
        name: 'Tuesday 10:00: exactly out of credit: emergency credit starts, no disconnect',
        at: '2026-03-03T07:00:00Z',
        given: (w) => w.reading(1_010_000n),
        assert: [
          assert.ledgerBalance(0n),
          assert.decisionsWritten([
            'none:credit_ok',
            'alert_low_credit:credit_below_threshold',
            'none:emergency_credit_started',
          ]),
          assert.commands([]),
        ],
      },
      {
        name: '-0.400: still inside the emergency credit',
        at: '2026-03-03T08:00:00Z',
        given: (w) => w.reading(1_014_000n),
        assert: [assert.ledgerBalance(-400n), assert.commands([])],
      },
      {
        name: '-0.500: emergency credit used up: disconnect',
        at: '2026-03-03T09:00:00Z',
        given: (w) => w.reading(1_015_000n),
        assert: [assert.commands(['disconnect:sent'])],
      },
      {
        name: 'top-up of 1.000: reconnect, emergency credit available again',
        at: '2026-03-03T10:00:00Z',
        given: async (w) => {
          await ackLatest(w, 'disconnect');
          await w.pay(1_000n);
        },
        assert: [assert.ledgerBalance(500n), assert.commands(['disconnect:acknowledged', 'reconnect:sent'])],
      },
      {
        name: 'runs out again: emergency credit once more (after that top-up), no disconnect',
        at: '2026-03-03T11:00:00Z',
        given: async (w) => {
          await ackLatest(w, 'reconnect');
          await w.reading(1_020_000n);
        },
        assert: [
          assert.ledgerBalance(0n),
          assert.commands(['disconnect:acknowledged', 'reconnect:acknowledged']),
        ],
      },
      {
        name: 'used up again: disconnect',
        at: '2026-03-03T12:00:00Z',
        given: (w) => w.reading(1_025_000n),
        assert: [
          assert.ledgerBalance(-500n),
          assert.commands(['disconnect:acknowledged', 'reconnect:acknowledged', 'disconnect:sent']),
        ],
      },
    ],
  },
  {
    name: 'the low-credit alert fires once per crossing, with hysteresis',
    steps: [
      {
        name: 'paid 3.000, first reading',
        at: '2026-03-03T06:00:00Z',
        given: async (w) => {
          await w.pay(3_000n);
          await w.reading(0n);
        },
        assert: [assert.decisionsWritten(['none:credit_ok'])],
      },
      {
        name: 'down to 0.900: alert',
        at: '2026-03-03T07:00:00Z',
        given: (w) => w.reading(21_000n),
        assert: [assert.decisionsWritten(['none:credit_ok', 'alert_low_credit:credit_below_threshold'])],
      },
      {
        name: 'down to 0.800: no second alert',
        at: '2026-03-03T08:00:00Z',
        given: (w) => w.reading(22_000n),
        assert: [
          assert.decisionsWritten(['none:credit_ok', 'alert_low_credit:credit_below_threshold']),
          assert.outbox(['sms:low_credit:ar', 'email:low_credit:ar']),
        ],
      },
      {
        name: 'a 0.500 top-up to 1.300 stays inside the margin: not re-armed',
        at: '2026-03-03T09:00:00Z',
        given: (w) => w.pay(500n),
        assert: [assert.ledgerBalance(1_300n), assert.outbox(['sms:low_credit:ar', 'email:low_credit:ar'])],
      },
      {
        name: 'down to 0.700 again: still no alert',
        at: '2026-03-03T10:00:00Z',
        given: (w) => w.reading(28_000n),
        assert: [assert.ledgerBalance(700n), assert.outbox(['sms:low_credit:ar', 'email:low_credit:ar'])],
      },
      {
        name: 'a top-up to 2.700 re-arms',
        at: '2026-03-03T11:00:00Z',
        given: (w) => w.pay(2_000n),
        assert: [assert.ledgerBalance(2_700n)],
      },
      {
        name: 'down to 0.900: a second alert for the second crossing',
        at: '2026-03-03T12:00:00Z',
        given: (w) => w.reading(46_000n),
        assert: [
          assert.ledgerBalance(900n),
          assert.outbox([
            'sms:low_credit:ar',
            'email:low_credit:ar',
            'sms:low_credit:ar',
            'email:low_credit:ar',
          ]),
        ],
      },
    ],
  },
];

describe.each([
  { engine: 'events' as const, name: 'the engine driven by what changed' },
  { engine: 'sweep' as const, name: 'the reconciliation sweep' },
])('balance scenarios: $name', ({ engine }) => {
  for (const scenario of scenarios) {
    dbTest(scenario.name, async ({ store }) => {
      const w = await makeWorld(store, { ...scenario.world, engine });
      for (const step of scenario.steps) {
        w.at(step.at);
        await step.given?.(w);
        await (step.when ?? run)(w);
        for (const check of step.assert) {
          await check(w).catch((error: Error) => {
            error.message = `step "${step.name}": ${error.message}`;
            throw error;
          });
        }
      }
    });
  }
});
