// The fleet state query, the overview's grouping sets and the alert feed on the machine's PostgreSQL
// (vitest.services.config.ts).
import { expect } from 'vitest';
import { AlertFeed } from '../../src/fleet/alerts.ts';
import { fleetOverview, meterStateQuery } from '../../src/fleet/queries.ts';
import { minorUnits } from '../../src/store/schema.ts';
import { dbTestFor, seedBasics } from '../support/db.ts';

const test = dbTestFor('postgres');

test('meter state: a clear-tamper token ends the tamper; the relay beats the engine memo; by area', async ({
  store,
}) => {
  const db = store.db;
  const seed = await seedBasics(db, 'jo');
  await db
    .insertInto('meter_events')
    .values({
      utility_id: seed.utilityId,
      meter_id: seed.meterId,
      ts: new Date('2026-02-01T10:00:00Z'),
      kind: 'magnetic',
      details: {},
    })
    .execute();
  // The balance engine's state of the meter: alert fired, supply ordered off.
  await db
    .insertInto('balance_state')
    .values({ meter_id: seed.meterId, utility_id: seed.utilityId, low_credit: true, supply: 'disconnected' })
    .execute();
  const state = async () => (await meterStateQuery({ utilityId: seed.utilityId }).execute(db)).rows[0]!;
  expect(await state()).toMatchObject({
    tamper: true,
    low_credit: true,
    disconnected: true,
    area: 'Jabal Amman',
  });

  await db
    .insertInto('tokens')
    .values({
      utility_id: seed.utilityId,
      meter_id: seed.meterId,
      tid: 1,
      kind: 'clear_tamper',
      token: '12345678901234567890',
      issued_at: new Date('2026-02-01T11:00:00Z'),
    })
    .execute();
  // The meter reports its relay closed again: connected, whatever the engine last ordered.
  await db
    .insertInto('readings')
    .values({
      meter_id: seed.meterId,
      ts: new Date('2026-02-01T12:00:00Z'),
      relay: true,
      credit_minor: minorUnits(10n),
    })
    .execute();
  expect(await state()).toMatchObject({ tamper: false, low_credit: true, disconnected: false });

  expect(await fleetOverview(db, seed.utilityId)).toEqual({
    total: 1,
    online: 0,
    offline: 1,
    lowCredit: 1,
    disconnected: 0,
    tamper: 0,
    byArea: [
      { area: 'Jabal Amman', total: 1, online: 0, offline: 1, lowCredit: 1, disconnected: 0, tamper: 0 },
    ],
  });
});

test('alert feed: only what happened after subscribing, only for the subscribed utility', async ({
  store,
}) => {
  const db = store.db;
  const jo = await seedBasics(db, 'jo');
  const om = await seedBasics(db, 'om');
  const tamper = (s: typeof jo, ts: string) =>
    db
      .insertInto('meter_events')
      .values({ utility_id: s.utilityId, meter_id: s.meterId, ts: new Date(ts), kind: 'tamper', details: {} })
      .execute();
  await tamper(jo, '2026-02-01T09:00:00Z');
  await db.updateTable('meters').set({ online: true }).where('id', '=', jo.meterId).execute();

  const feed = new AlertFeed({ db, pollMs: 60_000 });
  const seen: string[] = [];
  const unsubscribe = await feed.subscribe(jo.utilityId, (a) => seen.push(`${a.kind}:${a.serial}`));
  try {
    await tamper(jo, '2026-02-01T10:00:00Z');
    await tamper(om, '2026-02-01T10:00:00Z');
    await db.updateTable('meters').set({ online: false }).where('id', '=', jo.meterId).execute();
    await db
      .insertInto('meter_events')
      .values({
        utility_id: jo.utilityId,
        meter_id: jo.meterId,
        ts: new Date('2026-02-01T10:05:00Z'),
        kind: 'relay_changed',
        details: { relay: 'disconnected', cause: 'credit_exhausted' },
      })
      .execute();
    await feed.pollOnce();
    expect(seen.sort()).toEqual(['disconnect:jo-M-0001', 'offline:jo-M-0001', 'tamper:jo-M-0001']);
    seen.length = 0;
    await db.updateTable('meters').set({ online: true }).where('id', '=', jo.meterId).execute();
    await feed.pollOnce();
    expect(seen).toEqual(['online:jo-M-0001']);
    seen.length = 0;
    await feed.pollOnce();
    expect(seen).toEqual([]);
  } finally {
    unsubscribe();
    await feed.stop();
  }
});
