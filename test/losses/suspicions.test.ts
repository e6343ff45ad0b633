/**
 * The suspicion reasons the simulated district does not exercise (tamper events, token purchases stopped at
 * an occupied premises) and the loss alert reaching the operators' alert stream, on a seeded store; PGlite
 * here, PostgreSQL in vitest.services.config.ts ('postgres').
 */
import { expect } from 'vitest';
import { AlertFeed } from '../../src/fleet/alerts.ts';
import { checkLosses } from '../../src/losses/districts.ts';
import { districtSuspicions } from '../../src/losses/suspicions.ts';
import { type MeterId, minorUnits } from '../../src/store/schema.ts';
import { dbTestFor, SUITE_DIALECT, seedBasics } from '../support/db.ts';

const dbTest = dbTestFor(SUITE_DIALECT);
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 4, 1);
const day = (n: number) => new Date(T0 + n * DAY).toISOString().slice(0, 10);

dbTest('tamper events, stopped purchases and a loss alert on the stream', async ({ store }) => {
  const db = store.db;
  const seed = await seedBasics(db, 'sus');
  const district = await db
    .insertInto('districts')
    .values({ utility_id: seed.utilityId, code: 'EAST', name: 'East', kind: 'electricity' })
    .returning(['id', 'kind'])
    .executeTakeFirstOrThrow();
  const meter = async (serial: string, role: 'customer' | 'bulk') =>
    (
      await db
        .insertInto('meters')
        .values({
          utility_id: seed.utilityId,
          serial,
          kind: 'electricity',
          protocol: 'mqtt',
          mode: 'central',
          account_id: null,
          vending_key_id: null,
          mqtt_username: null,
          mqtt_password_hash: null,
          last_seen_at: null,
          role,
          district_id: district.id,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  await db.updateTable('meters').set({ district_id: district.id }).where('id', '=', seed.meterId).execute();
  await db
    .insertInto('account_holders')
    .values({
      utility_id: seed.utilityId,
      account_id: seed.accountId,
      customer_id: seed.customerId,
      from_at: new Date(T0 - 90 * DAY),
      reason: 'opening',
      evidence_ref: null,
      performed_by: null,
    })
    .execute();
  const other = await meter('sus-M-0002', 'customer');
  const bulk = await meter('sus-BULK', 'bulk');

  // Ten days of readings, every six hours: 4 kWh a day each, the bulk meter 10 kWh (20 % lost).
  const rows = [];
  for (let h = 0; h <= 10 * 24; h += 6) {
    const ts = new Date(T0 + h * 3_600_000);
    for (const [id, perDay] of [
      [seed.meterId, 4000],
      [other, 4000],
      [bulk, 10_000],
    ] as const) {
      rows.push({
        meter_id: id as MeterId,
        ts,
        seq: null,
        energy_wh: BigInt(Math.round((perDay * h) / 24)),
        volume_l: null,
        power_w: null,
        voltage_dv: null,
        current_ma: null,
        credit_minor: null,
        credit_wh: null,
        relay: true,
      });
    }
  }
  await db.insertInto('readings').values(rows).execute();
  await db
    .insertInto('meter_events')
    .values({
      utility_id: seed.utilityId,
      meter_id: other,
      ts: new Date(T0 + 8.5 * DAY),
      seq: null,
      kind: 'cover_open',
      details: {},
    })
    .execute();
  // Purchases in the baseline, none in the recent days.
  for (const n of [1, 3, 5]) {
    await db
      .insertInto('vends')
      .values({
        utility_id: seed.utilityId,
        meter_id: seed.meterId,
        account_id: seed.accountId,
        channel: 'online',
        idempotency_key: `sus-${n}`,
        request_hash: `h${n}`,
        amount_paid_minor: minorUnits(1000n),
        units: 5000n,
        token: null,
        tid: null,
        receipt: {},
        created_at: new Date(T0 + n * DAY),
      })
      .execute();
  }

  const list = await districtSuspicions(db, seed.utilityId, district, {
    to: day(10),
    recentDays: 3,
    baselineDays: 6,
  });
  expect(list.inflowRatio).toBe(1);
  const by = new Map(list.meters.map((m) => [m.serial, m]));
  expect(by.get('sus-M-0002')).toMatchObject({
    reasons: ['tamper'],
    evidence: { tamper: { events: 1, kinds: ['cover_open'] } },
  });
  expect(by.get('sus-M-0001')).toMatchObject({
    reasons: ['purchases_stopped'],
    evidence: { purchases: { inBaseline: 3, inRecent: 0 } },
  });
  expect(list.meters).toHaveLength(2);

  // A purchase in the recent days takes the meter off the list.
  await db
    .insertInto('vends')
    .values({
      utility_id: seed.utilityId,
      meter_id: seed.meterId,
      account_id: seed.accountId,
      channel: 'online',
      idempotency_key: 'sus-recent',
      request_hash: 'hr',
      amount_paid_minor: minorUnits(1000n),
      units: 5000n,
      token: null,
      tid: null,
      receipt: {},
      created_at: new Date(T0 + 8 * DAY),
    })
    .execute();
  const again = await districtSuspicions(db, seed.utilityId, district, {
    to: day(10),
    recentDays: 3,
    baselineDays: 6,
  });
  expect(again.meters.map((m) => m.serial)).toEqual(['sus-M-0002']);

  // 20 % lost: over the default 20 % threshold; the operators' stream shows it once.
  const feed = new AlertFeed({ db, pollMs: 60_000 });
  const seen: unknown[] = [];
  const stop = await feed.subscribe(seed.utilityId, (a) => seen.push(a));
  try {
    expect(await checkLosses(db, seed.utilityId, day(4))).toEqual([
      expect.objectContaining({ code: 'EAST', day: day(4), shareBp: 2000, thresholdBp: 2000 }),
    ]);
    expect(await checkLosses(db, seed.utilityId, day(4))).toEqual([]);
    const alerts = await feed.pollOnce();
    expect(alerts).toEqual([
      expect.objectContaining({
        kind: 'loss',
        source: 'losses',
        meterId: bulk,
        serial: 'sus-BULK',
        area: 'East',
        detail: expect.objectContaining({ districtId: district.id, day: day(4), shareBp: 2000 }),
      }),
    ]);
    expect(seen).toHaveLength(1);
    // A higher threshold: the next day raises nothing.
    await db.updateTable('utilities').set({ loss_alert_bp: 2500 }).where('id', '=', seed.utilityId).execute();
    expect(await checkLosses(db, seed.utilityId, day(5))).toEqual([]);
  } finally {
    stop();
  }
});
