/**
 * The command dispatcher's state machine on a real PGlite database, through the in-memory transport.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  CommandDispatcher,
  CommandError,
  type FinalCommand,
} from '../../src/commands/dispatcher.ts';
import type { CommandId } from '../../src/store/schema.ts';
import { makeWorld, type World } from '../balance/world.ts';
import { dbTestFor, SUITE_DIALECT } from '../support/db.ts';

const dbTest = dbTestFor(SUITE_DIALECT);

async function row(w: World, id: CommandId) {
  return w.db.selectFrom('commands').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

async function auditActions(w: World, id: CommandId): Promise<string[]> {
  const rows = await w.db
    .selectFrom('audit_log')
    .select('action')
    .where('subject', '=', `command:${id}`)
    .orderBy('id')
    .execute();
  return rows.map((r) => r.action);
}

/** A dispatcher on the world's database and transport that keeps every final command it reports. */
function listeningDispatcher(w: World, extra: { backoff?: { initialMs: number; maxMs: number } } = {}) {
  const finals: FinalCommand[] = [];
  const dispatcher = new CommandDispatcher({
    db: w.db,
    transport: w.transport,
    now: () => w.clock.now,
    ...extra,
    onFinal: (c) => {
      finals.push(c);
    },
  });
  return { dispatcher, finals };
}

const disconnect = (w: World) =>
  w.dispatcher.enqueue({
    utilityId: w.utilityId,
    meterId: w.meterId,
    kind: 'disconnect',
    payload: { reason: 'operator' },
    reason: 'test',
    createdBy: 'user:test',
  });

describe('backoff', () => {
  it.each([
    { attempts: 1, delay: 60_000 },
    { attempts: 2, delay: 120_000 },
    { attempts: 4, delay: 480_000 },
    { attempts: 5, delay: 600_000 },
    { attempts: 40, delay: 600_000 },
  ])('after $attempts attempts wait $delay ms', ({ attempts, delay }) => {
    expect(backoffDelay(attempts, { initialMs: 60_000, maxMs: 600_000 })).toBe(delay);
  });
});

describe('the command state machine', () => {
  dbTest('queued → sent → resent with backoff (same id) → acknowledged once', async ({ store }) => {
    const w = await makeWorld(store);
    w.at('2026-03-03T08:00:00Z');
    const id = await disconnect(w);
    expect((await row(w, id)).state).toBe('queued');

    expect(await w.dispatcher.dispatchDue()).toEqual({ sent: 1, failedToPublish: 0, expired: 0 });
    expect(await row(w, id)).toMatchObject({ state: 'sent', attempts: 1 });
    const [published] = w.transport.to(w.meterId);
    expect(published).toMatchObject({ id, kind: 'disconnect', payload: { reason: 'operator' } });

    // Not acknowledged: nothing before the backoff, then the same id again.
    w.at('2026-03-03T08:00:59Z');
    expect((await w.dispatcher.dispatchDue()).sent).toBe(0);
    w.at('2026-03-03T08:01:00Z');
    expect((await w.dispatcher.dispatchDue()).sent).toBe(1);
    expect(w.transport.to(w.meterId).map((c) => c.id)).toEqual([id, id]);
    expect(await row(w, id)).toMatchObject({ state: 'sent', attempts: 2 });
    expect((await row(w, id)).next_attempt_at.toISOString()).toBe('2026-03-03T08:03:00.000Z');

    const ack = {
      v: 1,
      id,
      ts: '2026-03-03T08:01:02Z',
      status: 'ok',
      result: { relay: 'disconnected' },
    } as const;
    expect(await w.dispatcher.handleAck(ack, { meterId: w.meterId })).toEqual({
      outcome: 'recorded',
      commandId: id,
      state: 'acknowledged',
    });
    expect(await w.dispatcher.handleAck(ack, { meterId: w.meterId })).toEqual({
      outcome: 'duplicate',
      commandId: id,
      state: 'acknowledged',
    });
    expect((await row(w, id)).result).toMatchObject({ status: 'ok', result: { relay: 'disconnected' } });
    w.at('2026-03-03T09:00:00Z');
    expect((await w.dispatcher.dispatchDue()).sent).toBe(0);
    expect(await auditActions(w, id)).toEqual([
      'command.queued',
      'command.sent',
      'command.resent',
      'command.acknowledged',
    ]);
  });

  dbTest('a command due within the clock’s current millisecond goes on this pass', async ({ store }) => {
    const w = await makeWorld(store);
    w.at('2026-03-03T08:00:00Z');
    const id = await disconnect(w);
    // As `default now()` gives it when the dispatcher's clock, in whole milliseconds, reads 08:00:00.000.
    await sql`update commands set next_attempt_at = '2026-03-03T08:00:00.000400Z' where id = ${id}`.execute(
      w.db,
    );
    expect((await w.dispatcher.dispatchDue()).sent).toBe(1);
    expect(await row(w, id)).toMatchObject({ state: 'sent', attempts: 1 });
  });

  dbTest('an offline meter gets nothing until it comes back online', async ({ store }) => {
    const w = await makeWorld(store, { online: false });
    w.at('2026-03-03T08:00:00Z');
    const id = await disconnect(w);
    w.at('2026-03-03T09:00:00Z');
    expect((await w.dispatcher.dispatchDue()).sent).toBe(0);
    expect(await row(w, id)).toMatchObject({ state: 'queued', attempts: 0 });
    await w.db.updateTable('meters').set({ online: true }).where('id', '=', w.meterId).execute();
    expect((await w.dispatcher.onMeterOnline(w.meterId)).sent).toBe(1);
    expect(await row(w, id)).toMatchObject({ state: 'sent', attempts: 1 });
  });

  dbTest('a transport failure keeps the command queued and it is retried', async ({ store }) => {
    const w = await makeWorld(store);
    w.at('2026-03-03T08:00:00Z');
    const id = await disconnect(w);
    w.transport.failing = true;
    expect(await w.dispatcher.dispatchDue()).toEqual({ sent: 0, failedToPublish: 1, expired: 0 });
    expect(await row(w, id)).toMatchObject({ state: 'queued', attempts: 1 });
    w.transport.failing = false;
    w.at('2026-03-03T08:01:00Z');
    expect((await w.dispatcher.dispatchDue()).sent).toBe(1);
    expect(await row(w, id)).toMatchObject({ state: 'sent', attempts: 2 });
  });

  dbTest('unacknowledged commands expire; a late ack does not revive them', async ({ store }) => {
    const w = await makeWorld(store);
    w.at('2026-03-03T08:00:00Z');
    const id = await w.dispatcher.enqueue({
      utilityId: w.utilityId,
      meterId: w.meterId,
      kind: 'read_now',
      payload: {},
      ttlMs: 600_000,
    });
    await w.dispatcher.dispatchDue();
    w.at('2026-03-03T08:10:00Z');
    expect(await w.dispatcher.dispatchDue()).toEqual({ sent: 0, failedToPublish: 0, expired: 1 });
    expect((await row(w, id)).state).toBe('expired');
    const late = await w.dispatcher.handleAck({ v: 1, id, ts: '2026-03-03T08:10:01Z', status: 'ok' });
    expect(late).toEqual({ outcome: 'duplicate', commandId: id, state: 'expired' });
  });

  dbTest('an error ack fails the command; `expired` from the meter expires it', async ({ store }) => {
    const w = await makeWorld(store);
    w.at('2026-03-03T08:00:00Z');
    const a = await disconnect(w);
    const b = await w.dispatcher.enqueue({
      utilityId: w.utilityId,
      meterId: w.meterId,
      kind: 'read_now',
      payload: {},
    });
    await w.dispatcher.dispatchDue();
    const ts = '2026-03-03T08:00:01Z';
    await w.dispatcher.handleAck({ v: 1, id: a, ts, status: 'error', error: { code: 'relay_fault' } });
    await w.dispatcher.handleAck({ v: 1, id: b, ts, status: 'error', error: { code: 'expired' } });
    expect((await row(w, a)).state).toBe('failed');
    expect((await row(w, b)).state).toBe('expired');
  });

  dbTest('an ack from another meter, or for an unknown id, changes nothing', async ({ store }) => {
    const w = await makeWorld(store);
    const other = await makeWorld(store, { code: 'irbid' });
    w.at('2026-03-03T08:00:00Z');
    const id = await disconnect(w);
    await w.dispatcher.dispatchDue();
    const ack = { v: 1, id, ts: '2026-03-03T08:00:01Z', status: 'ok' } as const;
    expect(await w.dispatcher.handleAck(ack, { meterId: other.meterId })).toEqual({
      outcome: 'unknown',
      commandId: id,
    });
    expect(
      await w.dispatcher.handleAck(
        { ...ack, id: '9b0c7a52-4f7e-4c55-a2d3-1f4be0a0c0de' },
        { meterId: w.meterId },
      ),
    ).toMatchObject({ outcome: 'unknown' });
    expect((await row(w, id)).state).toBe('sent');
  });

  dbTest('a reconnect supersedes a disconnect still waiting', async ({ store }) => {
    const w = await makeWorld(store, { online: false });
    w.at('2026-03-03T08:00:00Z');
    const off = await disconnect(w);
    const on = await w.dispatcher.enqueue({
      utilityId: w.utilityId,
      meterId: w.meterId,
      kind: 'reconnect',
      payload: { reason: 'credit_restored' },
    });
    expect(await row(w, off)).toMatchObject({ state: 'expired', result: { supersededBy: on } });
    await w.db.updateTable('meters').set({ online: true }).where('id', '=', w.meterId).execute();
    await w.dispatcher.onMeterOnline(w.meterId);
    expect(w.transport.to(w.meterId).map((c) => c.kind)).toEqual(['reconnect']);
  });

  dbTest("a vend's token is pushed once (kind token)", async ({ store }) => {
    const w = await makeWorld(store);
    w.at('2026-03-03T08:00:00Z');
    const request = {
      utilityId: w.utilityId,
      meterId: w.meterId,
      token: '56475309907536216817',
      vendId: 'v-1',
    };
    const id = await w.dispatcher.pushToken(request);
    expect(await w.dispatcher.pushToken(request)).toBe(id);
    await w.dispatcher.dispatchDue();
    expect(w.transport.to(w.meterId)).toEqual([
      expect.objectContaining({ id, kind: 'token', payload: { token: '56475309907536216817' } }),
    ]);
    expect((await row(w, id)).reason).toBe('vend:v-1');
  });

  dbTest('a payload the MQTT contract refuses is refused at enqueue', async ({ store }) => {
    const w = await makeWorld(store);
    await expect(
      w.dispatcher.pushToken({ utilityId: w.utilityId, meterId: w.meterId, token: '1234' }),
    ).rejects.toBeInstanceOf(CommandError);
    expect(await w.db.selectFrom('commands').select('id').execute()).toEqual([]);
  });

  dbTest(
    'an ack `unreachable` is not final: the command waits, then is sent when the meter is back (docs/commands.md row 1)',
    async ({ store }) => {
      const w = await makeWorld(store);
      const { dispatcher, finals } = listeningDispatcher(w, {
        backoff: { initialMs: 60_000, maxMs: 600_000 },
      });
      w.at('2026-03-03T08:00:00Z');
      const id = await disconnect(w);
      expect((await dispatcher.dispatchDue()).sent).toBe(1);
      const nack = {
        v: 1,
        id,
        ts: '2026-03-03T08:00:01Z',
        status: 'error',
        error: { code: 'unreachable', message: 'connection to 10.0.0.7:4059 failed: ECONNREFUSED' },
      } as const;
      expect(await dispatcher.handleAck(nack, { meterId: w.meterId })).toEqual({
        outcome: 'recorded',
        commandId: id,
        state: 'queued',
      });
      expect(await row(w, id)).toMatchObject({ state: 'queued', attempts: 1, acknowledged_at: null });
      // The gateway has reported the meter offline: nothing goes out while it is.
      await w.db.updateTable('meters').set({ online: false }).where('id', '=', w.meterId).execute();
      w.at('2026-03-03T09:00:00Z');
      expect((await dispatcher.dispatchDue()).sent).toBe(0);
      // Back online (its status message may be handled before the ingest writes it): sent at once.
      expect((await dispatcher.onMeterOnline(w.meterId)).sent).toBe(1);
      expect(w.transport.to(w.meterId).map((c) => c.id)).toEqual([id, id]);
      expect(finals).toEqual([]);
      await dispatcher.handleAck(
        { v: 1, id, ts: '2026-03-03T09:00:01Z', status: 'ok' },
        { meterId: w.meterId },
      );
      expect((await row(w, id)).state).toBe('acknowledged');
      expect(finals).toEqual([
        expect.objectContaining({ id, state: 'acknowledged', kind: 'disconnect', createdBy: 'user:test' }),
      ]);
      expect(await auditActions(w, id)).toEqual([
        'command.queued',
        'command.sent',
        'command.deferred',
        'command.sent',
        'command.acknowledged',
      ]);
    },
  );

  dbTest(
    'an unreachable meter never brought back: the command expires and the subscriber learns it (docs/commands.md row 2)',
    async ({ store }) => {
      const w = await makeWorld(store);
      const { dispatcher, finals } = listeningDispatcher(w);
      w.at('2026-03-03T08:00:00Z');
      const id = await w.dispatcher.enqueue({
        utilityId: w.utilityId,
        meterId: w.meterId,
        kind: 'disconnect',
        payload: { reason: 'credit_exhausted' },
        createdBy: 'system:balance',
        reason: 'credit_exhausted',
      });
      await dispatcher.dispatchDue();
      await dispatcher.handleAck(
        { v: 1, id, ts: '2026-03-03T08:00:01Z', status: 'error', error: { code: 'unreachable' } },
        { meterId: w.meterId },
      );
      w.at('2026-03-03T14:00:00Z');
      expect((await dispatcher.dispatchDue()).expired).toBe(1);
      expect(finals).toEqual([
        expect.objectContaining({ id, state: 'expired', cause: 'expired', createdBy: 'system:balance' }),
      ]);
    },
  );

  dbTest(
    'an ack `unknown` ends the command unknown, told once (docs/commands.md row 5)',
    async ({ store }) => {
      const w = await makeWorld(store);
      const { dispatcher, finals } = listeningDispatcher(w);
      w.at('2026-03-03T08:00:00Z');
      const id = await w.dispatcher.enqueue({
        utilityId: w.utilityId,
        meterId: w.meterId,
        kind: 'set_emergency_credit',
        payload: { enabled: true },
        createdBy: 'system:balance',
      });
      await dispatcher.dispatchDue();
      const ack = {
        v: 1,
        id,
        ts: '2026-03-03T08:00:05Z',
        status: 'error',
        error: { code: 'unknown', message: 'outcome unknown: no answer within 5000 ms' },
      } as const;
      expect(await dispatcher.handleAck(ack, { meterId: w.meterId })).toMatchObject({ state: 'unknown' });
      expect(await dispatcher.handleAck(ack, { meterId: w.meterId })).toMatchObject({ outcome: 'duplicate' });
      expect(finals).toEqual([expect.objectContaining({ id, state: 'unknown', cause: 'unknown' })]);
      w.at('2026-03-03T09:00:00Z');
      expect((await dispatcher.dispatchDue()).sent).toBe(0);
    },
  );
});
