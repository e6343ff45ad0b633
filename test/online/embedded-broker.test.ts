/**
 * What only Rasid's embedded broker promises, inside a started Rasid: a meter's PUBACK comes after its
 * reading is committed, a wrong password is refused, and a meter that publishes under another meter's
 * topic is disconnected while the others go on.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeReading, meterTopic } from '../../protocols/mqtt/index.ts';
import { type OnlineWorld, onlineWorld } from './world.ts';

describe('the embedded broker in a started Rasid', () => {
  let w: OnlineWorld;

  beforeAll(async () => {
    w = await onlineWorld('embedded');
    if (w.external)
      throw new Error('this suite is about the embedded broker: run it without RASID_TEST_MQTT_URL');
  }, 120_000);

  afterAll(async () => {
    await w?.close();
  });

  const stored = () =>
    w.server.core.store.db
      .selectFrom('readings')
      .select('ts')
      .where('meter_id', '=', w.seed.meterId)
      .execute();

  it("the reading is in the store when the meter's PUBACK arrives", async () => {
    const meter = await w.meterClient();
    const ts = new Date(Date.UTC(2026, 10, 23, 10, 0, 0));
    await meter.publishAsync(
      meterTopic('jo', w.serial, 'up/reading'),
      encodeReading({ v: 1, seq: 1, ts: ts.toISOString(), energyWh: 500 }),
      { qos: 1 },
    );
    expect(await stored()).toEqual([{ ts }]);
    await meter.endAsync();
  });

  it('refuses a wrong password', async () => {
    const creds = await w.credentials();
    await expect(
      mqtt.connectAsync(creds.brokerUrl, {
        username: creds.username,
        password: 'not-it',
        reconnectPeriod: 0,
      }),
    ).rejects.toThrow(/Bad username or password/i);
  });

  it("disconnects a meter publishing under another meter's topic; the meter reconnects and goes on", async () => {
    const meter = await w.meterClient();
    const closed = new Promise<void>((resolve) => meter.once('close', () => resolve()));
    meter.publish(
      meterTopic('jo', 'SOMEONE-ELSE', 'up/reading'),
      encodeReading({ v: 1, seq: 9, ts: new Date().toISOString(), energyWh: 1 }),
      { qos: 1 },
    );
    await closed;
    const again = await w.meterClient();
    await again.publishAsync(
      meterTopic('jo', w.serial, 'up/reading'),
      encodeReading({
        v: 1,
        seq: 2,
        ts: new Date(Date.UTC(2026, 10, 23, 10, 15)).toISOString(),
        energyWh: 600,
      }),
      { qos: 1 },
    );
    expect(await stored()).toHaveLength(2);
    const metrics = await (await fetch(`${w.server.url}/metrics`)).text();
    expect(metrics).toMatch(/rasid_broker_acl_denied_total\{action="publish"\} 1/);
    expect(metrics).toMatch(/rasid_broker_connects_total\{result="bad_credentials"\} 1/);
  });
});
