/**
 * The durable-ingest suite, run on each dialect (ingest.pglite.test.ts, ingest.pg.test.ts): real mqtt.js
 * meters over TCP to Rasid's broker, rows checked in the real database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectClient,
  endClient,
  type Harness,
  PASSWORD,
  publishQos1,
  type Rasid,
  reading,
  readingTopic,
  seedMeters,
  startRasid,
  UTILITY,
} from './harness.ts';

const T0 = Date.UTC(2026, 10, 23, 0, 0, 0);
const SLOT = 15 * 60 * 1000;

export function ingestSuite(name: string, makeHarness: () => Promise<Harness>): void {
  describe(`durable ingest on ${name}`, () => {
    let h: Harness;
    let rasid: Rasid;
    let ids: Map<string, string>;

    beforeAll(async () => {
      h = await makeHarness();
      ids = await seedMeters(h, ['SN-1', 'SN-2', 'SN-3', 'SN-4', 'SN-5', 'SN-6']);
      rasid = await startRasid(h);
    });

    afterAll(async () => {
      await rasid?.close();
      await h?.close();
    });

    async function countReadings(serial: string): Promise<number> {
      const rows = await h.query<{ n: string | number | bigint }>(
        'select count(*) as n from readings where meter_id = $1',
        [ids.get(serial)],
      );
      return Number(rows[0]!.n);
    }

    it('stores a reading before its PUBACK reaches the meter', async () => {
      const meter = await connectClient(rasid.url, 'SN-1', PASSWORD);
      try {
        const seenAtPuback: number[] = [];
        for (let i = 0; i < 5; i++) {
          await new Promise<void>((resolve, reject) => {
            meter.publish(readingTopic('SN-1'), reading(i, T0 + i * SLOT), { qos: 1 }, (err) => {
              if (err) return reject(err);
              // Inside the PUBACK callback: the row must already be committed.
              h.query<{ energy_wh: unknown; seq: unknown }>(
                'select energy_wh, seq from readings where meter_id = $1 and ts = $2',
                [ids.get('SN-1'), new Date(T0 + i * SLOT).toISOString()],
              ).then((rows) => {
                seenAtPuback.push(rows.length);
                expect(Number(rows[0]?.energy_wh)).toBe(1000 + i);
                resolve();
              }, reject);
            });
          });
        }
        expect(seenAtPuback).toEqual([1, 1, 1, 1, 1]);
        expect(rasid.ingest.metrics.readings).toBeDefined();
        const metrics = await rasid.ingest.registry.getSingleMetricAsString('rasid_ingest_readings_total');
        expect(metrics).toMatch(/rasid_ingest_readings_total \d+/);
      } finally {
        await endClient(meter);
      }
    });

    it('stores a repeated or out-of-order reading once', async () => {
      const meter = await connectClient(rasid.url, 'SN-2', PASSWORD);
      try {
        const order = [3, 1, 2, 1, 3, 0, 2, 0];
        await Promise.all(
          order.map((i) => publishQos1(meter, readingTopic('SN-2'), reading(i, T0 + i * SLOT))),
        );
        expect(await countReadings('SN-2')).toBe(4);
        // The same reading again, after commit: acknowledged, still stored once.
        await publishQos1(meter, readingTopic('SN-2'), reading(1, T0 + SLOT));
        expect(await countReadings('SN-2')).toBe(4);
      } finally {
        await endClient(meter);
      }
    });

    it("keeps storing a good meter's readings while another floods malformed messages", async () => {
      const bad = await connectClient(rasid.url, 'SN-3', PASSWORD);
      const good = await connectClient(rasid.url, 'SN-4', PASSWORD);
      const refusedBefore = await refusedCount(rasid);
      try {
        const garbage = [
          Buffer.from('not json'),
          Buffer.from('{"v":1}'),
          Buffer.from(JSON.stringify({ v: 1, seq: -1, ts: T0, energyWh: 1 })),
          Buffer.from([0xff, 0xfe, 0x00]),
          Buffer.alloc(5000, 0x20),
        ];
        const flood = Array.from({ length: 500 }, (_, i) =>
          publishQos1(bad, readingTopic('SN-3'), garbage[i % garbage.length]!),
        );
        const goods = Array.from({ length: 50 }, (_, i) =>
          publishQos1(good, readingTopic('SN-4'), reading(i, T0 + i * SLOT)),
        );
        await Promise.all([...flood, ...goods]);
        expect(await countReadings('SN-4')).toBe(50);
        expect(await countReadings('SN-3')).toBe(0);
        expect((await refusedCount(rasid)) - refusedBefore).toBe(500);
        const byReason = await rasid.ingest.registry.getSingleMetricAsString('rasid_ingest_refused_total');
        for (const reason of ['bad_json', 'bad_schema', 'too_large'])
          expect(byReason).toContain(`reason="${reason}"`);
        // The flooding meter is still connected and can still send a good reading.
        await publishQos1(bad, readingTopic('SN-3'), reading(1, T0));
        expect(await countReadings('SN-3')).toBe(1);
      } finally {
        await endClient(bad);
        await endClient(good);
      }
    });

    it('stores events once and keeps online / last-seen from status and the last will', async () => {
      const statusTopic = `rasid/v1/${UTILITY}/meters/SN-5/up/status`;
      const will = {
        topic: statusTopic,
        payload: Buffer.from(JSON.stringify({ v: 1, state: 'offline', ts: T0 })),
        qos: 1 as const,
        retain: true,
      };
      const meter = await connectClient(rasid.url, 'SN-5', PASSWORD, { will });
      const event = Buffer.from(
        JSON.stringify({ v: 1, seq: 7, ts: T0, kind: 'tamper', details: { cover: true } }),
      );
      await publishQos1(meter, `rasid/v1/${UTILITY}/meters/SN-5/up/event`, event);
      await publishQos1(meter, `rasid/v1/${UTILITY}/meters/SN-5/up/event`, event);
      const events = await h.query<{ kind: string }>('select kind from meter_events where meter_id = $1', [
        ids.get('SN-5'),
      ]);
      expect(events.map((e) => e.kind)).toEqual(['tamper']);

      await publishQos1(
        meter,
        statusTopic,
        Buffer.from(JSON.stringify({ v: 1, state: 'online', ts: T0 + 1000 })),
      );
      const online = await h.query<{ online: boolean; last_seen_at: Date | null }>(
        'select online, last_seen_at from meters where id = $1',
        [ids.get('SN-5')],
      );
      expect(online[0]?.online).toBe(true);
      expect(online[0]?.last_seen_at).not.toBeNull();

      // Drop the connection without DISCONNECT: the broker publishes the will, the ingest stores "offline".
      meter.stream.destroy();
      await expect
        .poll(
          async () => {
            const rows = await h.query<{ online: boolean }>('select online from meters where id = $1', [
              ids.get('SN-5'),
            ]);
            return rows[0]?.online;
          },
          { timeout: 10_000 },
        )
        .toBe(false);
      await endClient(meter);
    });
  });
}

async function refusedCount(rasid: Rasid): Promise<number> {
  const metric = await rasid.ingest.metrics.refused.get();
  return metric.values.reduce((sum, v) => sum + v.value, 0);
}
