/**
 * Rasid on an external broker (the machine's Mosquitto, MQTT_URL) and PostgreSQL: readings published while
 * the database is down are not acknowledged to the broker by Rasid's ingest, stay with the broker, and are
 * all stored once the database is back — nothing lost, nothing doubled. The meters talk to Mosquitto only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeReading, meterTopic } from '../../protocols/mqtt/index.ts';
import { loadConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/server.ts';
import { PG_ADMIN_URL, type PgHarness, postgresHarness, seedMeters, UTILITY } from '../ingest/harness.ts';
import { waitFor } from '../online/world.ts';

const MQTT_URL = process.env.RASID_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

describe('ingest through an external broker on PostgreSQL', () => {
  let h: PgHarness;
  let server: RunningServer;
  let dir: string;
  const logs: string[] = [];

  beforeAll(async () => {
    h = await postgresHarness();
    dir = await mkdtemp(join(tmpdir(), 'rasid-ext-'));
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${h.database}`;
    const unique = `t${process.pid}-ext-${Math.random().toString(36).slice(2, 8)}`;
    server = await startServer(
      loadConfig({
        PORT: '0',
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        DATA_DIR: dir,
        DATABASE_URL: url.toString(),
        DB_POOL_SIZE: '4',
        MQTT_URL,
        MQTT_SHARE_GROUP: unique,
        MQTT_CLIENT_ID: unique,
        MQTT_SESSION_EXPIRY_SECONDS: '120',
        MQTT_INGEST_CLIENTS: '2',
      }),
      {
        logDestination: new Writable({
          write(chunk, _enc, done) {
            logs.push(String(chunk));
            done();
          },
        }),
      },
    );
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('holds what it cannot store while the database is down and stores it all, once, afterwards', async () => {
    const serial = `ext-${process.pid}-${Date.now()}`;
    const ids = await seedMeters(h, [serial]);
    const meterId = ids.get(serial)!;
    const meter = await mqtt.connectAsync(MQTT_URL, { clientId: serial, reconnectPeriod: 0 });
    const topic = meterTopic(UTILITY, serial, 'up/reading');
    const base = Date.UTC(2026, 10, 23, 0, 0, 0);
    const publish = (i: number) =>
      meter.publishAsync(
        topic,
        encodeReading({ v: 1, seq: i, ts: new Date(base + i * 60_000).toISOString(), energyWh: 1000 + i }),
        { qos: 1 },
      );
    const count = async () =>
      Number(
        (
          await h.query<{ n: string }>('select count(*) as n from readings where meter_id = $1', [meterId])
        )[0]!.n,
      );
    try {
      for (let i = 0; i < 20; i++) await publish(i);
      await waitFor(async () => (await count()) === 20);

      await h.stopDatabase();
      // Mosquitto acknowledges the meter; Rasid's ingest cannot commit and so does not acknowledge Mosquitto.
      for (let i = 20; i < 60; i++) await publish(i);
      // Some of them are also sent twice (a meter retrying).
      for (let i = 50; i < 60; i++) await publish(i);
      await new Promise((r) => setTimeout(r, 1500));
      await h.startDatabase();

      await waitFor(async () => (await count()) === 60, 60_000);
      const rows = await h.query<{ energy_wh: string }>(
        'select energy_wh from readings where meter_id = $1 order by ts',
        [meterId],
      );
      expect(rows.map((r) => Number(r.energy_wh))).toEqual(Array.from({ length: 60 }, (_, i) => 1000 + i));
      expect(logs.join('')).toMatch(/ingest batch write failed; retrying/);
    } finally {
      await meter.endAsync();
    }
  });
});
