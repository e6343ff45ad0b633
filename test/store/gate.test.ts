/**
 * The embedded store's connection gate (src/store/gate.ts): the meters' commits first, the background
 * passes last, a lower level never starved; through kysely on a real PGlite session.
 */
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openPglite } from '../../src/store/db.ts';
import { atPriority, currentPriority, PriorityGate, SKIPS_BEFORE_TURN } from '../../src/store/gate.ts';

describe('PriorityGate', () => {
  it('serves the highest level waiting, first come first served within a level', async () => {
    const gate = new PriorityGate();
    const order: string[] = [];
    await gate.acquire('normal');
    const wait = (name: string, level: 'first' | 'normal' | 'background') =>
      gate.acquire(level).then(() => {
        order.push(name);
        gate.release();
      });
    const all = Promise.all([
      wait('b1', 'background'),
      wait('n1', 'normal'),
      wait('b2', 'background'),
      wait('f1', 'first'),
      wait('n2', 'normal'),
    ]);
    expect(gate.waiting).toEqual({ first: 1, normal: 2, background: 2 });
    gate.release();
    await all;
    expect(order).toEqual(['f1', 'n1', 'n2', 'b1', 'b2']);
  });

  it('a waiting lower level is served after a bounded number of grants passed it', async () => {
    const gate = new PriorityGate();
    const order: string[] = [];
    await gate.acquire('normal');
    const background = gate.acquire('background').then(() => {
      order.push('background');
      gate.release();
    });
    // A steady stream of sales: each, once served, queues the next.
    let sales = 0;
    const sale = async (): Promise<void> => {
      await gate.acquire('normal');
      order.push('sale');
      sales++;
      const more = sales < 3 * SKIPS_BEFORE_TURN;
      const next = more ? sale() : Promise.resolve();
      gate.release();
      await next;
    };
    const stream = sale();
    gate.release();
    await Promise.all([stream, background]);
    const at = order.indexOf('background');
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThanOrEqual(SKIPS_BEFORE_TURN + 1);
  });

  it('the level follows the async context', async () => {
    expect(currentPriority()).toBe('normal');
    await atPriority('background', async () => {
      await Promise.resolve();
      expect(currentPriority()).toBe('background');
    });
    expect(atPriority('first', () => currentPriority())).toBe('first');
  });
});

describe('PGlite through the gate', () => {
  it("a meter's commit and a sale go before the engine's transactions queued earlier", async () => {
    const store = await openPglite(new PGlite());
    try {
      const db = store.db;
      await sql`create table t (who text, n serial)`.execute(db);
      // Something holds the session (a transaction in progress) while the others queue.
      let releaseHolder!: () => void;
      const held = new Promise<void>((r) => {
        releaseHolder = r;
      });
      const holder = db.transaction().execute(async (trx) => {
        await sql`insert into t (who) values ('holder')`.execute(trx);
        await held;
      });
      await new Promise((r) => setTimeout(r, 20));
      const engine = atPriority('background', () =>
        Promise.all(
          [1, 2, 3].map((i) =>
            db.transaction().execute(async (trx) => {
              await sql`insert into t (who) values (${`engine${i}`})`.execute(trx);
            }),
          ),
        ),
      );
      await new Promise((r) => setTimeout(r, 20));
      const saleDone = sql`insert into t (who) values ('sale')`.execute(db);
      const meterDone = atPriority('first', () => sql`insert into t (who) values ('meter')`.execute(db));
      await new Promise((r) => setTimeout(r, 20));
      releaseHolder();
      await Promise.all([holder, engine, saleDone, meterDone]);
      const { rows } = await sql<{ who: string }>`select who from t order by n`.execute(db);
      expect(rows.map((r) => r.who)).toEqual(['holder', 'meter', 'sale', 'engine1', 'engine2', 'engine3']);
    } finally {
      await store.close();
    }
  }, 60_000);
});
