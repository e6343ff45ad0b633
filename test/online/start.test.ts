/**
 * Meters online inside one started Rasid (the composition `rasid start` runs), whichever broker it uses: an
 * operator issues a meter's MQTT credentials over HTTP, the meter connects with them over a real socket, its
 * readings are stored once, a command queued over HTTP reaches it and its ack moves the command to
 * acknowledged, a vend's token is pushed to it, a flood of malformed messages does not hold up its readings,
 * and /metrics shows it. The services suite runs this file again against the machine's Mosquitto (MQTT_URL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Command,
  decodeMessage,
  encodeAck,
  encodeReading,
  encodeStatus,
  meterTopic,
} from '../../protocols/mqtt/index.ts';
import { type Json, type OnlineWorld, onlineWorld, waitFor } from './world.ts';

describe('meters online in a started Rasid', () => {
  let w: OnlineWorld;

  beforeAll(async () => {
    w = await onlineWorld('online');
  }, 120_000);

  afterAll(async () => {
    await w?.close();
  });

  const readingsStored = async () =>
    w.server.core.store.db
      .selectFrom('readings')
      .select(['ts', 'energy_wh', 'credit_minor'])
      .where('meter_id', '=', w.seed.meterId)
      .orderBy('ts')
      .execute();

  it('issues MQTT credentials shown once, stored hashed, audited', async () => {
    const creds = await w.credentials();
    expect(creds.username).toBe(`jo.${w.serial}`);
    expect(creds.clientId).toBe(w.serial);
    expect(creds.topicRoot).toBe(`rasid/v1/jo/meters/${w.serial}`);
    const port = w.server.metersOnline.broker?.addresses.tcp?.port;
    expect(creds.brokerUrl).toBe(w.external ? process.env.RASID_TEST_MQTT_URL : `mqtt://127.0.0.1:${port}`);
    const row = await w.server.core.store.db
      .selectFrom('meters')
      .select(['mqtt_username', 'mqtt_password_hash'])
      .where('id', '=', w.seed.meterId)
      .executeTakeFirstOrThrow();
    expect(row.mqtt_username).toBe(creds.username);
    // Meters sign in with a keyed HMAC of their random secret (docs/broker.md), not a password KDF.
    expect(row.mqtt_password_hash).toMatch(/^hmac-sha256\$/);
    expect(row.mqtt_password_hash).not.toContain(creds.password);
    const audit = await w.call('GET', `/api/v1/audit?subject=meter:${w.seed.meterId}`);
    expect(audit.json.entries.map((e: Json) => e.action)).toContain('meter.mqtt_credentials_issued');
    expect(JSON.stringify(audit.json)).not.toContain(creds.password);
    expect(w.test.logs.join('')).not.toContain(creds.password);
    const anonymous = await w.call(
      'POST',
      `/api/v1/meters/${w.seed.meterId}/mqtt-credentials`,
      undefined,
      null,
    );
    expect(anonymous.status).toBe(401);
  });

  it('stores a reading once, however often it is sent, and shows it over HTTP', async () => {
    const meter = await w.meterClient();
    const ts = new Date(Date.UTC(2026, 10, 23, 9, 0, 0));
    const reading = encodeReading({
      v: 1,
      seq: 1,
      ts: ts.toISOString(),
      energyWh: 1_234_567,
      creditMinor: 4200,
      relay: 'connected',
    });
    for (let i = 0; i < 3; i++) {
      await meter.publishAsync(meterTopic('jo', w.serial, 'up/reading'), reading, { qos: 1 });
    }
    await waitFor(async () => (await readingsStored()).length > 0);
    expect(await readingsStored()).toEqual([{ ts, energy_wh: 1_234_567n, credit_minor: 4200n }]);
    const readings = await w.call('GET', `/api/v1/meters/${w.seed.meterId}/readings?limit=5`);
    expect(readings.status).toBe(200);
    expect(readings.json.readings).toHaveLength(1);
    expect(readings.json.readings[0]).toMatchObject({
      energyWh: '1234567',
      creditMinor: '4200',
      relay: true,
    });
    await meter.endAsync();
  });

  it("a flood of malformed messages does not hold up a good meter's readings", async () => {
    const meter = await w.meterClient();
    const topic = meterTopic('jo', w.serial, 'up/reading');
    const junk = [Buffer.from('{not json'), Buffer.from('{"v":1}'), Buffer.alloc(5000, 0x41)];
    for (let i = 0; i < 300; i++) meter.publish(topic, junk[i % junk.length]!, { qos: 1 });
    const good = Date.UTC(2026, 10, 23, 9, 15, 0);
    await meter.publishAsync(
      topic,
      encodeReading({ v: 1, seq: 2, ts: new Date(good).toISOString(), energyWh: 1_234_600 }),
      { qos: 1 },
    );
    await waitFor(async () => (await readingsStored()).length === 2);
    expect((await readingsStored())[1]).toMatchObject({ energy_wh: 1_234_600n });
    const metrics = await (await fetch(`${w.server.url}/metrics`)).text();
    expect(metrics).toMatch(/rasid_ingest_refused_total\{reason="bad_json"\} 100/);
    expect(metrics).toMatch(/rasid_ingest_refused_total\{reason="bad_schema"\} 100/);
    expect(metrics).toMatch(/rasid_ingest_refused_total\{reason="too_large"\} 100/);
    await meter.endAsync();
  });

  it('delivers a command queued over HTTP to the online meter and records its ack', async () => {
    const meter = await w.meterClient();
    const received: Command[] = [];
    meter.on('message', (topic, payload) => {
      const decoded = decodeMessage(topic, payload);
      if (decoded.ok && decoded.channel === 'down/cmd') received.push(decoded.message);
    });
    await meter.subscribeAsync(meterTopic('jo', w.serial, 'down/cmd'), { qos: 1 });
    await meter.publishAsync(
      meterTopic('jo', w.serial, 'up/status'),
      encodeStatus({ v: 1, state: 'online', ts: new Date().toISOString() }),
      { qos: 1, retain: true },
    );
    await waitFor(async () => (await w.call('GET', `/api/v1/meters/${w.seed.meterId}/status`)).json.online);

    const queued = await w.call('POST', `/api/v1/meters/${w.seed.meterId}/commands`, {
      kind: 'disconnect',
      payload: { reason: 'operator' },
      reason: 'site visit',
    });
    expect(queued.status).toBe(201);
    expect(queued.json).toMatchObject({ kind: 'disconnect', state: 'sent', reason: 'site visit' });
    await waitFor(() => received.some((c) => c.id === queued.json.id));
    const command = received.find((c) => c.id === queued.json.id)!;
    expect(command).toMatchObject({ kind: 'disconnect', payload: { reason: 'operator' } });

    await meter.publishAsync(
      meterTopic('jo', w.serial, 'up/ack'),
      encodeAck({
        v: 1,
        id: command.id,
        ts: new Date().toISOString(),
        status: 'ok',
        result: { relay: 'disconnected' },
      }),
      { qos: 1 },
    );
    await waitFor(
      async () => (await w.call('GET', `/api/v1/commands/${command.id}`)).json.state === 'acknowledged',
    );
    const list = await w.call('GET', `/api/v1/meters/${w.seed.meterId}/commands`);
    expect(list.json.commands.map((c: Json) => [c.kind, c.state])).toEqual([['disconnect', 'acknowledged']]);

    const bad = await w.call('POST', `/api/v1/meters/${w.seed.meterId}/commands`, {
      kind: 'disconnect',
      payload: { reason: 'because' },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('validation_failed');

    const audit = await w.call('GET', `/api/v1/audit?subject=command:${command.id}`);
    expect(audit.json.entries.map((e: Json) => [e.action, e.actor.split(':')[0]])).toEqual(
      expect.arrayContaining([
        ['command.queued', 'user'],
        ['command.acknowledged', 'system'],
      ]),
    );
    const metrics = await (await fetch(`${w.server.url}/metrics`)).text();
    expect(metrics).toMatch(/rasid_commands\{state="acknowledged"\} 1/);
    await meter.endAsync();
  });
});
