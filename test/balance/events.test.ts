/**
 * The balance engine driven by what changed (docs/balance.md "Triggers"): an evaluation reads the same
 * rows whatever the stored history, a meter with no change is not evaluated, a due time fires, a change of
 * tariff is seen, and the reconciliation sweep finds nothing new to decide on a consistent store.
 * Amman is UTC+3; the tariff is 100 fils per kWh; the utility's nights are 22:00-07:00.
 */
import { type KyselyPlugin, sql } from 'kysely';
import { describe, expect } from 'vitest';
import { BalanceEngine } from '../../src/balance/engine.ts';
import { jsonText, minorUnits } from '../../src/store/schema.ts';
import { dbTestFor, SUITE_DIALECT } from '../support/db.ts';
import { assert, makeWorld, THRESHOLDS, type World } from './world.ts';

const dbTest = dbTestFor(SUITE_DIALECT);

const HOUR = 3_600_000;

/** Rows read from the tables that grow with history, from the server's own statistics. */
async function rowsRead(w: World): Promise<number> {
  await sql`select pg_stat_force_next_flush()`.execute(w.db);
  const { rows } = await sql<{ n: string }>`
    select coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0)::text as n
    from pg_stat_user_tables
    where relname in ('readings', 'account_ledger', 'audit_log', 'commands', 'notifications_outbox')`.execute(
    w.db,
  );
  return Number(rows[0]!.n);
}

/**
 * `days` of minutely readings before the clock (10 Wh a minute) and a payment every half hour, as much
 * history as a week of a real meter; returns the last register value.
 */
async function history(w: World, days: number): Promise<bigint> {
  const end = w.clock.now.getTime();
  const rows = [];
  let register = 0n;
  for (let t = end - days * 24 * HOUR; t < end; t += 60_000) {
    rows.push({ meter_id: w.meterId, ts: new Date(t), energy_wh: register, relay: true });
    register += 10n;
  }
  for (let i = 0; i < rows.length; i += 1000) {
    await w.db
      .insertInto('readings')
      .values(rows.slice(i, i + 1000))
      .execute();
  }
  const payments = [];
  for (let i = 0; i < days * 48; i++) {
    payments.push({
      utility_id: w.utilityId,
      account_id: w.accountId,
      kind: 'payment' as const,
      amount_minor: minorUnits(100n),
      ref: `cash-${i}`,
      created_at: new Date(end - days * 24 * HOUR + (i * HOUR) / 2),
    });
  }
  await w.db.insertInto('account_ledger').values(payments).execute();
  return register - 10n;
}

describe('the engine driven by what changed', () => {
  dbTest(
    'an evaluation reads a handful of rows after a day of history as after a week',
    async ({ store }) => {
      // Two meters in one store, one with a day of history and one with a week.
      const worlds: [World, bigint][] = [];
      for (const [code, days] of [
        ['amman', 1],
        ['zarqa', 7],
      ] as const) {
        const w = await makeWorld(store, { code });
        w.at('2026-03-10T09:00:00Z');
        const register = await history(w, days);
        // The first evaluations take the history in, once (5000 readings at a time).
        while ((await w.engine.run({ meterIds: [w.meterId] })).meters[0]?.decisions.length === 0) {}
        worlds.push([w, register]);
      }
      for (const [w] of worlds) await w.run(); // the ledger feed catches up with the payments
      await sql`analyze`.execute(store.db);
      const measured: number[] = [];
      for (const [w, register] of worlds) {
        w.at('2026-03-10T09:15:00Z');
        await w.reading(register + 250n);
        const before = await rowsRead(w);
        const report = await w.run();
        const read = (await rowsRead(w)) - before;
        expect(report.meters.map((m) => [m.meterId, m.ok, m.chargedMinor])).toEqual([[w.meterId, true, 25n]]);
        measured.push(read);
      }
      // One new reading, the ledger entries after the meter's position and the feed's (the other meter's
      // charge among them): a handful of rows for either history of 1,440 or 10,080 readings.
      expect(measured).toHaveLength(2);
      for (const read of measured) expect(read).toBeLessThan(20);
    },
    180_000,
  );

  dbTest('a meter with no change is not evaluated', async ({ store }) => {
    const w = await makeWorld(store);
    w.at('2026-03-03T06:00:00Z');
    await w.pay(5_000n);
    await w.reading(0n);
    expect((await w.run()).meters.map((m) => m.meterId)).toEqual([w.meterId]);
    const state = await w.db.selectFrom('balance_state').selectAll().executeTakeFirstOrThrow();
    w.at('2026-03-03T07:00:00Z');
    expect((await w.run()).meters).toEqual([]);
    expect((await w.run()).meters).toEqual([]);
    // Nothing was touched: the state is the one of the first evaluation.
    expect(await w.db.selectFrom('balance_state').selectAll().executeTakeFirstOrThrow()).toEqual(state);
    // A reading is a change.
    await w.reading(1_000n);
    expect((await w.run()).meters.map((m) => [m.meterId, m.chargedMinor])).toEqual([[w.meterId, 100n]]);
  });

  dbTest(
    'a deferral leaves its due time; the meter is evaluated when it comes, not before',
    async ({ store }) => {
      const w = await makeWorld(store);
      // Monday 23:00 local.
      w.at('2026-03-02T20:00:00Z');
      await w.pay(100n);
      await w.reading(0n);
      await w.run();
      // Tuesday 01:00 local: out of credit at night.
      w.at('2026-03-02T22:00:00Z');
      await w.reading(2_000n);
      await w.run();
      await assert.commands([])(w);
      const { due_at } = await w.db.selectFrom('balance_state').select('due_at').executeTakeFirstOrThrow();
      expect(due_at?.toISOString()).toBe('2026-03-03T04:00:00.000Z');
      w.at('2026-03-03T03:59:59Z');
      expect((await w.run()).meters).toEqual([]);
      w.at('2026-03-03T04:00:00Z');
      const report = await w.run();
      expect(report.meters.flatMap((m) => m.decisions.map((d) => d.kind))).toEqual(['disconnect']);
      await assert.commands(['disconnect:sent'])(w);
      // The disconnect settles at the next pass into waiting for a top-up; then nothing is due.
      await w.run();
      const after = await w.db.selectFrom('balance_state').selectAll().executeTakeFirstOrThrow();
      expect(after).toMatchObject({ due_at: null, supply: 'disconnected', decision: 'none:awaiting_top_up' });
      expect((await w.run()).meters).toEqual([]);
    },
  );

  dbTest('a new tariff in force re-evaluates the utility’s meters', async ({ store }) => {
    const w = await makeWorld(store);
    w.at('2026-03-03T06:00:00Z');
    await w.pay(5_000n);
    await w.reading(0n);
    await w.run();
    expect((await w.run()).meters).toEqual([]);
    await w.db
      .insertInto('tariffs')
      .values({
        utility_id: w.utilityId,
        code: 'RES',
        name: 'Residential',
        kind: 'electricity',
        subsidised: false,
        version: 2,
        effective_from: new Date('2026-03-03T08:00:00Z'),
        currency: 'JOD',
        unit: 'Wh',
        price_per_units: 1000,
        blocks: jsonText([{ upToUnits: null, priceMinorPerUnit: 200 }]),
        tou: null,
      })
      .execute();
    // Not yet in force: nothing changed for the meter.
    w.at('2026-03-03T07:00:00Z');
    expect((await w.run()).meters).toEqual([]);
    w.at('2026-03-03T08:00:00Z');
    expect((await w.run()).meters.map((m) => m.meterId)).toEqual([w.meterId]);
    expect((await w.run()).meters).toEqual([]);
    // And the next reading is priced at it.
    w.at('2026-03-03T09:00:00Z');
    await w.reading(1_000n);
    expect((await w.run()).chargedMinor).toBe(200n);
  });

  dbTest('the reconciliation sweep decides nothing new on a consistent store', async ({ store }) => {
    const w = await makeWorld(store);
    const counts = async () => ({
      decisions: (
        await w.db
          .selectFrom('audit_log')
          .select('id')
          .where('action', 'like', 'balance.%')
          .where('action', '<>', 'balance.consumption')
          .execute()
      ).length,
      commands: (await w.db.selectFrom('commands').select('id').execute()).length,
      outbox: (await w.db.selectFrom('notifications_outbox').select('id').execute()).length,
      ledger: (await w.db.selectFrom('account_ledger').select('id').execute()).length,
    });
    w.at('2026-03-03T06:00:00Z');
    await w.pay(1_000n);
    await w.reading(0n);
    await w.run();
    w.at('2026-03-03T07:00:00Z');
    await w.reading(9_000n);
    await w.run();
    w.at('2026-03-03T08:00:00Z');
    await w.reading(12_000n);
    await w.run();
    await assert.commands(['disconnect:sent'])(w);
    // The engine's next pass settles the disconnect (waiting for a top-up); after it nothing is pending.
    await w.run();
    expect((await w.run()).meters).toEqual([]);
    const before = await counts();
    const sweep = await w.engine.run();
    expect(sweep.meters.map((m) => m.ok)).toEqual([true]);
    expect(sweep.commandsQueued).toBe(0);
    expect(sweep.notificationsQueued).toBe(0);
    expect(await counts()).toEqual(before);
  });

  dbTest(
    'the sweep corrects a balance the state carried wrong, and the engine then decides on it',
    async ({ store }) => {
      const w = await makeWorld(store);
      w.at('2026-03-03T06:00:00Z');
      await w.pay(1_000n);
      await w.reading(0n);
      await w.run();
      // A state that missed an entry (as a commit out of id order could make it).
      await w.db
        .updateTable('balance_state')
        .set({ balance_minor: 5_000n })
        .where('meter_id', '=', w.meterId)
        .execute();
      w.at('2026-03-03T07:00:00Z');
      await w.reading(20_000n);
      await w.run();
      await assert.commands([])(w);
      await w.engine.run();
      await assert.commands(['disconnect:sent'])(w);
      const state = await w.db.selectFrom('balance_state').selectAll().executeTakeFirstOrThrow();
      expect(BigInt(state.balance_minor)).toBe(-1_000n);
    },
  );

  dbTest('a pass reads a batch of meters together: fewer statements than meters', async ({ store }) => {
    const w = await makeWorld(store, { mode: 'token' });
    w.at('2026-03-10T09:00:00Z');
    // 63 more token meters of the same utility, each reporting its credit.
    const meters = [w.meterId];
    for (let i = 2; i <= 64; i++) {
      const customer = await w.db
        .insertInto('customers')
        .values({ utility_id: w.utilityId, name: `Customer ${i}`, preferred_language: 'ar' })
        .returning('id')
        .executeTakeFirstOrThrow();
      const premise = await w.db
        .insertInto('premises')
        .values({ utility_id: w.utilityId, address: `House ${i}` })
        .returning('id')
        .executeTakeFirstOrThrow();
      const account = await w.db
        .insertInto('accounts')
        .values({
          utility_id: w.utilityId,
          number: `B-${i}`,
          customer_id: customer.id,
          premise_id: premise.id,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const meter = await w.db
        .insertInto('meters')
        .values({
          utility_id: w.utilityId,
          serial: `B-M-${i}`,
          kind: 'electricity',
          protocol: 'mqtt',
          mode: 'token',
          account_id: account.id,
          status: 'active',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      meters.push(meter.id);
    }
    const report = async (register: bigint) => {
      await w.db
        .insertInto('readings')
        .values(
          meters.map((meter_id) => ({
            meter_id,
            ts: w.clock.now,
            energy_wh: register,
            credit_minor: minorUnits(9_000n),
            relay: true,
          })),
        )
        .execute();
    };
    let statements = 0;
    const counting: KyselyPlugin = {
      transformQuery(args) {
        statements++;
        return args.node;
      },
      async transformResult(args) {
        return args.result;
      },
    };
    const engine = new BalanceEngine({
      db: w.db.withPlugin(counting),
      commands: w.dispatcher,
      now: () => w.clock.now,
      thresholds: () => THRESHOLDS,
    });
    await report(100_000n);
    engine.readingsCommitted(meters);
    const first = await engine.tick();
    expect(first.meters.filter((m) => m.ok)).toHaveLength(64);

    // Use seen: the second pass may decide something new (days of credit left are known now).
    w.at('2026-03-10T09:15:00Z');
    await report(100_250n);
    engine.readingsCommitted(meters);
    await engine.tick();

    // The same use again: nothing new to decide, the pass only reads and writes state.
    w.at('2026-03-10T09:30:00Z');
    await report(100_500n);
    engine.readingsCommitted(meters);
    statements = 0;
    const second = await engine.tick();
    expect(second.meters.filter((m) => m.ok)).toHaveLength(64);
    expect(second.meters.every((m) => m.decisions.length > 0)).toBe(true);
    // Two batches of 32: the meters, their states, their readings, their last relay commands and the
    // states written are a statement each per batch, the tariff and the periods one each per pass. Read
    // meter by meter it was five statements a meter (320 here).
    expect(statements).toBeLessThan(meters.length / 2);
    const states = await w.db
      .selectFrom('balance_state')
      .select(['meter_id', 'register', 'credit_minor'])
      .where('meter_id', 'in', meters)
      .execute();
    expect(states).toHaveLength(64);
    expect(states.every((s) => BigInt(s.register!) === 100_500n && BigInt(s.credit_minor!) === 9_000n)).toBe(
      true,
    );
  });
});
