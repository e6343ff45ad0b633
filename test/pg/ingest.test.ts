/** The durable-ingest suite on PostgreSQL (127.0.0.1:5432), plus what only a server can show: an outage. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectClient,
  endClient,
  PASSWORD,
  type PgHarness,
  postgresHarness,
  type Rasid,
  reading,
  readingTopic,
  seedMeters,
  startRasid,
} from '../ingest/harness.ts';
import { ingestSuite } from '../ingest/suite.ts';

ingestSuite('PostgreSQL (unnest)', () => postgresHarness({ method: 'unnest' }));
ingestSuite('PostgreSQL (COPY)', () => postgresHarness({ method: 'copy' }));

describe('PostgreSQL stops mid-stream', () => {
  let h: PgHarness;
  let rasid: Rasid;
  let ids: Map<string, string>;
  const T0 = Date.UTC(2026, 10, 23);

  beforeAll(async () => {
    h = await postgresHarness();
    ids = await seedMeters(h, ['OUT-1', 'OUT-2', 'OUT-3']);
    rasid = await startRasid(h, { batch: { retryInitialMs: 20, retryMaxMs: 200 } });
  });

  afterAll(async () => {
    await rasid?.close();
    await h?.close();
  });

  it('sends no PUBACK while the database is down and loses nothing after it is back', async () => {
    const meters = await Promise.all(
      ['OUT-1', 'OUT-2', 'OUT-3'].map((s) => connectClient(rasid.url, s, PASSWORD)),
    );
    const acked = new Set<string>();
    const publish = (m: number, seq: number) =>
      new Promise<void>((resolve, reject) => {
        const serial = `OUT-${m + 1}`;
        meters[m]!.publish(readingTopic(serial), reading(seq, T0 + seq * 60_000), { qos: 1 }, (err) => {
          if (err) return reject(err);
          acked.add(`${serial}:${seq}`);
          resolve();
        });
      });
    try {
      // Phase 1: database up.
      await Promise.all([0, 1, 2].flatMap((m) => [0, 1, 2, 3, 4].map((seq) => publish(m, seq))));
      expect(acked.size).toBe(15);

      // Phase 2: database down. Publish more; they are parked, not acknowledged.
      await h.stopDatabase();
      const during = [0, 1, 2].flatMap((m) => [5, 6, 7, 8, 9].map((seq) => publish(m, seq)));
      // Wait until the ingest has tried and failed at least twice (it retries, holding the acks).
      await expect
        .poll(
          async () => (await rasid.ingest.metrics.writeErrors.get()).values.reduce((s, v) => s + v.value, 0),
          { timeout: 15_000 },
        )
        .toBeGreaterThanOrEqual(2);
      expect(acked.size).toBe(15);
      expect(rasid.ingest.pending).toBe(15);

      // Phase 3: database back. Every parked reading is committed, then acknowledged.
      await h.startDatabase();
      await Promise.all(during);
      expect(acked.size).toBe(30);
      for (const [serial, id] of ids) {
        const rows = await h.query<{ n: string }>(
          'select count(*) as n, count(distinct ts) as d from readings where meter_id = $1',
          [id],
        );
        expect(Number(rows[0]!.n), serial).toBe(10);
      }
    } finally {
      for (const m of meters) await endClient(m);
    }
  });
});
