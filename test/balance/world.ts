/**
 * A small world for the balance, command and notification suites: the seeded utility of test/support/db.ts
 * (Asia/Amman, UTC+3, Friday-Saturday weekend, nights 22:00-07:00), its meter switched to central mode and
 * online, a one-block tariff (100 fils per kWh, so 1 kWh costs 0.100 JOD), an injectable clock, the real
 * dispatcher over the in-memory transport and the real engine.
 */
import { expect } from 'vitest';
import { BalanceEngine, type RunReport } from '../../src/balance/engine.ts';
import type { BalanceThresholds } from '../../src/balance/policy.ts';
import { CommandDispatcher } from '../../src/commands/dispatcher.ts';
import { MemoryCommandTransport } from '../../src/commands/transport.ts';
import type { Store } from '../../src/store/db.ts';
import { accountBalance } from '../../src/store/ledger.ts';
import {
  type CommandState,
  jsonText,
  type MeterId,
  type MeterMode,
  minorUnits,
} from '../../src/store/schema.ts';
import { type Seed, seedBasics } from '../support/db.ts';

export const THRESHOLDS: BalanceThresholds = Object.freeze({
  lowCreditMinor: 900n,
  lowCreditDays: null,
  rearmMarginMinor: 500n,
  rearmMarginDays: 1,
  reconnectMinor: 0n,
  emergencyCreditMinor: 0n,
});

export interface World extends Seed {
  readonly store: Store;
  readonly db: Store['db'];
  readonly clock: { now: Date };
  readonly transport: MemoryCommandTransport;
  readonly dispatcher: CommandDispatcher;
  readonly engine: BalanceEngine;
  /** Sets the clock to an ISO instant. */
  at(iso: string): void;
  /** Stores a reading of the meter's cumulative energy register at the current clock (or `ts`). */
  reading(energyWh: bigint, extra?: { ts?: string; relay?: boolean; creditMinor?: bigint }): Promise<void>;
  /** A customer payment on the account (what a vend for a central meter writes first). */
  pay(amount: bigint): Promise<void>;
  run(): Promise<RunReport>;
  balance(): Promise<bigint>;
}

export interface WorldOptions {
  readonly mode?: MeterMode;
  readonly protected?: boolean;
  readonly thresholds?: Partial<BalanceThresholds>;
  readonly online?: boolean;
  readonly registerModulus?: bigint;
  readonly webhookUrl?: string;
  readonly code?: string;
  /**
   * How `run()` evaluates: `events` (default) is the engine's pass over what changed ({@link
   * BalanceEngine.tick}), `sweep` the reconciliation sweep over every meter ({@link BalanceEngine.run}).
   */
  readonly engine?: 'events' | 'sweep';
}

export async function makeWorld(store: Store, options: WorldOptions = {}): Promise<World> {
  const db = store.db;
  const seed = await seedBasics(db, options.code ?? 'amman');
  await db
    .updateTable('meters')
    .set({ mode: options.mode ?? 'central', online: options.online ?? true })
    .where('id', '=', seed.meterId)
    .execute();
  await db
    .updateTable('accounts')
    .set({ protected: options.protected ?? false })
    .where('id', '=', seed.accountId)
    .execute();
  await db
    .updateTable('customers')
    .set({ email: 'huda@example.test' })
    .where('id', '=', seed.customerId)
    .execute();
  await db
    .insertInto('tariffs')
    .values({
      utility_id: seed.utilityId,
      code: 'RES',
      name: 'Residential',
      kind: 'electricity',
      subsidised: false,
      version: 1,
      effective_from: new Date('2020-01-01T00:00:00Z'),
      currency: 'JOD',
      unit: 'Wh',
      price_per_units: 1000,
      blocks: jsonText([{ upToUnits: null, priceMinorPerUnit: 100 }]),
      tou: null,
    })
    .execute();

  const clock = { now: new Date('2026-03-02T12:00:00Z') };
  const now = () => clock.now;
  const transport = new MemoryCommandTransport();
  const dispatcher = new CommandDispatcher({
    db,
    transport,
    now,
    backoff: { initialMs: 60_000, maxMs: 600_000 },
  });
  const thresholds = { ...THRESHOLDS, ...options.thresholds };
  const engine: BalanceEngine = new BalanceEngine({
    db,
    commands: dispatcher,
    now,
    thresholds: () => thresholds,
    ...(options.registerModulus === undefined
      ? {}
      : { registerModulus: { electricity: options.registerModulus } }),
    ...(options.webhookUrl === undefined ? {} : { webhookUrl: () => options.webhookUrl! }),
  });
  // As in a started Rasid: the dispatcher tells the engine of commands that reached a final state.
  dispatcher.onFinal((command) => engine.commandSettled(command.meterId));

  return {
    ...seed,
    store,
    db,
    clock,
    transport,
    dispatcher,
    engine,
    at(iso) {
      clock.now = new Date(iso);
    },
    async reading(energyWh, extra = {}) {
      await db
        .insertInto('readings')
        .values({
          meter_id: seed.meterId,
          ts: extra.ts === undefined ? clock.now : new Date(extra.ts),
          seq: null,
          energy_wh: energyWh,
          volume_l: null,
          power_w: null,
          voltage_dv: null,
          current_ma: null,
          credit_minor: extra.creditMinor === undefined ? null : minorUnits(extra.creditMinor),
          credit_wh: null,
          relay: extra.relay ?? true,
        })
        .execute();
      // What the ingest does after its commit.
      engine.readingsCommitted([seed.meterId]);
    },
    async pay(amount) {
      await db
        .insertInto('account_ledger')
        .values({
          utility_id: seed.utilityId,
          account_id: seed.accountId,
          kind: 'payment',
          amount_minor: minorUnits(amount),
          ref: 'cash',
          created_at: clock.now,
        })
        .execute();
    },
    run: () => (options.engine === 'sweep' ? engine.run() : engine.tick()),
    balance: () => accountBalance(db, seed.accountId),
  };
}

/** An async check on the world (docs/style.md practice 14). */
export type Validator = (w: World) => Promise<void>;

/** Reusable validators for scenario tables. */
export const assert = {
  ledgerBalance:
    (minor: bigint): Validator =>
    async (w) => {
      expect(await w.balance()).toBe(minor);
    },
  /** The decisions written so far for the meter, oldest first, as `kind:reason`. */
  decisionsWritten:
    (expected: string[]): Validator =>
    async (w) => {
      const rows = await w.db
        .selectFrom('audit_log')
        .select(['action', 'details'])
        .where('subject', '=', `meter:${w.meterId}`)
        .where('action', 'like', 'balance.%')
        .where('action', '<>', 'balance.consumption')
        .orderBy('id')
        .execute();
      expect(rows.map((r) => `${r.action.slice('balance.'.length)}:${String(r.details.reason)}`)).toEqual(
        expected,
      );
    },
  /** The relay commands of the meter, oldest first, as `kind:state`. */
  commands:
    (expected: string[]): Validator =>
    async (w) => {
      const rows = await w.db
        .selectFrom('commands')
        .select(['kind', 'state'])
        .where('meter_id', '=', w.meterId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      expect(rows.map((r) => `${r.kind}:${r.state}`)).toEqual(expected);
    },
  /** What the transport published to the meter, as kinds in order. */
  published:
    (kinds: string[]): Validator =>
    async (w) => {
      expect(w.transport.to(w.meterId).map((c) => c.kind)).toEqual(kinds);
    },
  /** Outbox rows of the meter's utility, as `channel:template:language`, oldest first. */
  outbox:
    (expected: string[]): Validator =>
    async (w) => {
      const rows = await w.db
        .selectFrom('notifications_outbox')
        .select(['channel', 'template', 'language'])
        .where('utility_id', '=', w.utilityId)
        .orderBy('id')
        .execute();
      expect(rows.map((r) => `${r.channel}:${r.template}:${r.language}`)).toEqual(expected);
    },
};

/** Feeds the meter's acknowledgement of its latest command of `kind` through the dispatcher. */
export async function ackLatest(
  w: World,
  kind: string,
  status: 'ok' | 'error' = 'ok',
): Promise<{ outcome: string; state?: CommandState }> {
  const sent = w.transport
    .to(w.meterId)
    .filter((c) => c.kind === kind)
    .at(-1);
  if (sent === undefined) throw new Error(`no ${kind} command was published`);
  const ack =
    status === 'ok'
      ? ({ v: 1, id: sent.id, ts: w.clock.now.toISOString(), status: 'ok' } as const)
      : ({
          v: 1,
          id: sent.id,
          ts: w.clock.now.toISOString(),
          status: 'error',
          error: { code: 'relay_fault' },
        } as const);
  return w.dispatcher.handleAck(ack, { meterId: w.meterId as MeterId });
}
