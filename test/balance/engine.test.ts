/**
 * The balance engine on a real PGlite database: consumption charging (repeats, late readings, resets,
 * rollovers, gaps over a month end), token-mode mirroring, command expiry at the next friendly window.
 * Amman is UTC+3; the tariff is 100 fils per kWh.
 */
import { describe, expect } from 'vitest';
import { minorUnits } from '../../src/store/schema.ts';
import { dbTestFor, SUITE_DIALECT } from '../support/db.ts';
import { assert, makeWorld, type World } from './world.ts';

const dbTest = dbTestFor(SUITE_DIALECT);

async function cursor(w: World): Promise<Record<string, unknown>> {
  const row = await w.db
    .selectFrom('audit_log')
    .select('details')
    .where('subject', '=', `meter:${w.meterId}`)
    .where('action', '=', 'balance.consumption')
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow();
  return row.details;
}

async function consumptionEntries(w: World): Promise<bigint[]> {
  const rows = await w.db
    .selectFrom('account_ledger')
    .select('amount_minor')
    .where('account_id', '=', w.accountId)
    .where('kind', '=', 'consumption')
    .orderBy('id')
    .execute();
  return rows.map((r) => BigInt(r.amount_minor));
}

describe('central-mode charging', () => {
  dbTest(
    'a reading is charged once: repeated runs, a late reading and an unchanged register',
    async ({ store }) => {
      const w = await makeWorld(store);
      w.at('2026-03-03T06:00:00Z');
      await w.pay(10_000n);
      await w.reading(100_000n);
      await w.run();
      w.at('2026-03-03T07:00:00Z');
      await w.reading(105_000n);
      const first = await w.run();
      expect(first.chargedMinor).toBe(500n);
      await w.run();
      await w.run();
      // A reading that arrives late, older than the last one charged, is already inside the charged interval.
      await w.reading(102_500n, { ts: '2026-03-03T06:30:00Z' });
      w.at('2026-03-03T08:00:00Z');
      await w.reading(105_000n);
      const later = await w.run();
      expect(later.chargedMinor).toBe(0n);
      expect(await consumptionEntries(w)).toEqual([-500n]);
      await assert.ledgerBalance(9_500n)(w);
      expect(await cursor(w)).toMatchObject({
        ts: '2026-03-03T08:00:00.000Z',
        register: '105000',
        monthToDate: '5000',
      });
    },
  );

  dbTest(
    'a register reset charges what was used since the reset; a rollover the wrapped distance',
    async ({ store }) => {
      const w = await makeWorld(store, { registerModulus: 1_000_000n });
      w.at('2026-03-03T06:00:00Z');
      await w.pay(10_000n);
      await w.reading(999_000n);
      w.at('2026-03-03T07:00:00Z');
      await w.reading(1_000n, {});
      w.at('2026-03-03T08:00:00Z');
      await w.reading(300_000n);
      w.at('2026-03-03T09:00:00Z');
      await w.reading(500n);
      const report = await w.run();
      // Rollover: 2000 Wh; advance: 299 000 Wh; reset (far from the top): 500 Wh.
      expect(report.chargedMinor).toBe(200n + 29_900n + 50n);
      const details = await cursor(w);
      expect(details.events).toEqual([
        { kind: 'rollover', at: '2026-03-03T07:00:00.000Z', units: '2000' },
        { kind: 'reset', at: '2026-03-03T09:00:00.000Z', units: '500' },
      ]);
    },
  );

  dbTest(
    'a gap in readings over the month end: flagged, and the new month starts from its share',
    async ({ store }) => {
      const w = await makeWorld(store);
      // 31 March 16:00 local → 1 April 04:00 local (Amman, UTC+3): 8 h in March, 4 h in April.
      w.at('2026-03-31T13:00:00Z');
      await w.pay(10_000n);
      await w.reading(0n);
      await w.run();
      w.at('2026-04-01T01:00:00Z');
      await w.reading(12_000n);
      const report = await w.run();
      expect(report.chargedMinor).toBe(1_200n);
      expect(await cursor(w)).toMatchObject({
        month: '2026-04',
        monthToDate: '4000',
        units: '12000',
        events: [{ kind: 'gap', at: '2026-04-01T01:00:00.000Z', units: '12000' }],
      });
    },
  );

  dbTest('a meter without a tariff is reported and the others go on', async ({ store }) => {
    // The sweep visits every meter of the store, the other world's too.
    const w = await makeWorld(store, { engine: 'sweep' });
    const other = await makeWorld(store, { code: 'zarqa' });
    await w.db.deleteFrom('tariffs').where('utility_id', '=', other.utilityId).execute();
    w.at('2026-03-03T06:00:00Z');
    other.at('2026-03-03T06:00:00Z');
    await w.reading(0n);
    await other.reading(0n);
    await w.run();
    w.at('2026-03-03T07:00:00Z');
    await w.pay(1_000n);
    await w.reading(1_000n);
    await other.reading(1_000n, { ts: '2026-03-03T07:00:00Z' });
    const report = await w.run();
    const byMeter = new Map(report.meters.map((m) => [m.meterId, m]));
    expect(byMeter.get(w.meterId)).toMatchObject({ ok: true, chargedMinor: 100n });
    expect(byMeter.get(other.meterId)?.ok).toBe(false);
    expect(byMeter.get(other.meterId)?.error).toMatch(/no tariff/);
  });
});

describe('token mode', () => {
  dbTest('mirrors the credit the meter reports and alerts; never sends relay commands', async ({ store }) => {
    const w = await makeWorld(store, { mode: 'token' });
    w.at('2026-03-03T06:00:00Z');
    await w.reading(0n, { creditMinor: 5_000n });
    await w.run();
    w.at('2026-03-03T07:00:00Z');
    await w.reading(1_000n, { creditMinor: 800n });
    await w.run();
    w.at('2026-03-03T08:00:00Z');
    await w.reading(2_000n, { creditMinor: -10n });
    await w.run();
    await assert.decisionsWritten(['none:token_mode', 'alert_low_credit:credit_below_threshold'])(w);
    await assert.commands([])(w);
    await assert.outbox(['sms:low_credit:ar', 'email:low_credit:ar'])(w);
    expect(await consumptionEntries(w)).toEqual([]);
  });
});

describe('disconnects and the next friendly window', () => {
  dbTest(
    'a disconnect expires where the next night begins, so an offline meter never acts on it at night',
    async ({ store }) => {
      const w = await makeWorld(store, { online: false });
      w.at('2026-03-03T06:00:00Z');
      await w.pay(100n);
      await w.reading(0n);
      await w.run();
      // Tuesday 10:00 local: out of credit; the meter is offline, so the command waits.
      w.at('2026-03-03T07:00:00Z');
      await w.reading(2_000n);
      await w.run();
      await assert.commands(['disconnect:queued'])(w);
      const queued = await w.db.selectFrom('commands').select('expires_at').executeTakeFirstOrThrow();
      expect(queued.expires_at.toISOString()).toBe('2026-03-03T19:00:00.000Z');
      // Tuesday 23:00 local: the command expired unsent; the engine sees that and defers to the morning.
      w.at('2026-03-03T20:00:00Z');
      await w.dispatcher.dispatchDue();
      await w.run();
      await assert.commands(['disconnect:expired'])(w);
      await assert.decisionsWritten([
        'alert_low_credit:credit_below_threshold',
        'disconnect:credit_exhausted',
        'defer_disconnect:friendly_window',
      ])(w);
      await assert.published([])(w);
    },
  );

  dbTest('a webhook recipient gets the balance events beside the customer', async ({ store }) => {
    const w = await makeWorld(store, { webhookUrl: 'https://billing.utility.example/rasid' });
    w.at('2026-03-03T06:00:00Z');
    await w.pay(1_000n);
    await w.reading(0n);
    await w.run();
    w.at('2026-03-03T07:00:00Z');
    await w.reading(5_000n);
    await w.run();
    await assert.outbox(['sms:low_credit:ar', 'email:low_credit:ar', 'webhook:low_credit:ar'])(w);
  });
});

describe("the customer's own low-credit alert settings", () => {
  dbTest('an account threshold above the utility one alerts earlier', async ({ store }) => {
    const w = await makeWorld(store, { mode: 'token' });
    await w.db
      .updateTable('accounts')
      .set({ low_credit_alert_minor: minorUnits(3_000n) })
      .where('id', '=', w.accountId)
      .execute();
    w.at('2026-03-03T06:00:00Z');
    await w.reading(0n, { creditMinor: 5_000n });
    await w.run();
    // 2.500: above the utility's 0.900, at or below the customer's 3.000.
    w.at('2026-03-03T07:00:00Z');
    await w.reading(1_000n, { creditMinor: 2_500n });
    await w.run();
    await assert.decisionsWritten(['none:token_mode', 'alert_low_credit:credit_below_threshold'])(w);
    await assert.outbox(['sms:low_credit:ar', 'email:low_credit:ar'])(w);
  });

  dbTest('alerts turned off: the decision is written, the customer is not messaged', async ({ store }) => {
    const w = await makeWorld(store, { mode: 'token', webhookUrl: 'https://billing.utility.example/rasid' });
    await w.db
      .updateTable('accounts')
      .set({ low_credit_alert_enabled: false })
      .where('id', '=', w.accountId)
      .execute();
    w.at('2026-03-03T06:00:00Z');
    await w.reading(0n, { creditMinor: 5_000n });
    await w.run();
    w.at('2026-03-03T07:00:00Z');
    await w.reading(1_000n, { creditMinor: 800n });
    await w.run();
    await assert.decisionsWritten(['none:token_mode', 'alert_low_credit:credit_below_threshold'])(w);
    await assert.outbox(['webhook:low_credit:ar'])(w);
  });
});
