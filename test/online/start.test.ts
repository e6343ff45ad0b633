/**
 * Meters online inside one started Rasid (the composition `rasid start` runs): an operator issues a meter's
 * MQTT credentials over HTTP, the meter connects to the embedded broker with them over a real socket, its
 * reading is in the store when its PUBACK arrives, a command queued over HTTP reaches it and its ack moves
 * the command to acknowledged, a vend's token is pushed to it, the ACL holds, and /metrics shows it all.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Command,
  decodeMessage,
  encodeAck,
  encodeReading,
  encodeStatus,
  meterTopic,
} from '../../protocols/mqtt/index.ts';
import { hashSecret } from '../../src/security/secrets.ts';
import type { RunningServer } from '../../src/server.ts';
import type { Seed } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { seedVending } from '../support/vending-fixture.ts';

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON read field by field and checked by expect.
type Json = any;

describe('meters online in a started Rasid', () => {
  let test: TestServer;
  let server: RunningServer;
  let seed: Seed;
  let serial: string;
  let operator: string;
  let creds: { username: string; password: string; clientId: string; brokerUrl: string; topicRoot: string };
  const clients: MqttClient[] = [];

  async function call(method: string, path: string, body?: unknown, token: string | null = operator) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : null) as Json };
  }

  async function meterClient(opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
    const client = await mqtt.connectAsync(creds.brokerUrl, {
      clientId: creds.clientId,
      username: creds.username,
      password: creds.password,
      reconnectPeriod: 0,
      ...opts,
    });
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    test = await startTestServer('online');
    server = test.server;
    const db = server.core.store.db;
    seed = await seedVending(db, server.core.keys, 'jo');
    const meter = await db
      .selectFrom('meters')
      .select('serial')
      .where('id', '=', seed.meterId)
      .executeTakeFirstOrThrow();
    serial = meter.serial;
    await db
      .insertInto('users')
      .values({
        utility_id: seed.utilityId,
        username: 'op-1',
        password_hash: await hashSecret('correct horse'),
        role: 'operator',
      })
      .execute();
    const login = await call(
      'POST',
      '/api/v1/sessions',
      { utility: 'jo', username: 'op-1', password: 'correct horse' },
      null,
    );
    expect(login.status).toBe(201);
    operator = login.json.token;
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => {});
    await test?.close();
  });

  it('issues MQTT credentials once, stored hashed, and audits it', async () => {
    const issued = await call('POST', `/api/v1/meters/${seed.meterId}/mqtt-credentials`);
    expect(issued.status).toBe(201);
    creds = issued.json;
    expect(creds.username).toBe(`jo.${serial}`);
    expect(creds.clientId).toBe(serial);
    expect(creds.topicRoot).toBe(`rasid/v1/jo/meters/${serial}`);
    const port = server.metersOnline.broker?.addresses.tcp?.port;
    expect(port).toBeGreaterThan(0);
    expect(creds.brokerUrl).toBe(`mqtt://127.0.0.1:${port}`);
    const row = await server.core.store.db
      .selectFrom('meters')
      .select(['mqtt_username', 'mqtt_password_hash'])
      .where('id', '=', seed.meterId)
      .executeTakeFirstOrThrow();
    expect(row.mqtt_username).toBe(creds.username);
    expect(row.mqtt_password_hash).not.toContain(creds.password);
    const audit = await call('GET', `/api/v1/audit?subject=meter:${seed.meterId}`);
    expect(JSON.stringify(audit.json)).toContain('meter.mqtt_credentials_issued');
    expect(JSON.stringify(audit.json)).not.toContain(creds.password);
    expect(test.logs.join('')).not.toContain(creds.password);
  });

  it('refuses a wrong password and a technician-less caller', async () => {
    await expect(
      mqtt.connectAsync(creds.brokerUrl, {
        username: creds.username,
        password: 'not-the-password',
        reconnectPeriod: 0,
      }),
    ).rejects.toThrow(/Bad username or password|Not authorized/i);
    const anonymous = await call('POST', `/api/v1/meters/${seed.meterId}/mqtt-credentials`, undefined, null);
    expect(anonymous.status).toBe(401);
  });

  it("stores a meter's reading before its PUBACK, and shows it over HTTP", async () => {
    const meter = await meterClient();
    const ts = new Date(Date.UTC(2026, 10, 23, 9, 0, 0));
    await meter.publishAsync(
      meterTopic('jo', serial, 'up/reading'),
      encodeReading({
        v: 1,
        seq: 1,
        ts: ts.toISOString(),
        energyWh: 1_234_567,
        creditMinor: 4200,
        relay: 'connected',
      }),
      { qos: 1 },
    );
    // PUBACK received: the row is already committed.
    const rows = await server.core.store.db
      .selectFrom('readings')
      .select(['ts', 'energy_wh', 'credit_minor'])
      .where('meter_id', '=', seed.meterId)
      .execute();
    expect(rows).toEqual([{ ts, energy_wh: 1_234_567n, credit_minor: 4200n }]);
    const readings = await call('GET', `/api/v1/meters/${seed.meterId}/readings?limit=5`);
    expect(readings.status).toBe(200);
    expect(readings.json.readings[0]).toMatchObject({
      energyWh: '1234567',
      creditMinor: '4200',
      relay: true,
    });
    await meter.endAsync();
  });

  it('delivers a command queued over HTTP to the online meter and records its ack', async () => {
    const meter = await meterClient({
      will: {
        topic: meterTopic('jo', serial, 'up/status'),
        payload: encodeStatus({ v: 1, state: 'offline', ts: new Date().toISOString() }),
        qos: 1,
        retain: true,
      },
    });
    const received: Command[] = [];
    meter.on('message', (topic, payload) => {
      const decoded = decodeMessage(topic, payload);
      if (decoded.ok && decoded.channel === 'down/cmd') received.push(decoded.message);
    });
    await meter.subscribeAsync(meterTopic('jo', serial, 'down/cmd'), { qos: 1 });
    await meter.publishAsync(
      meterTopic('jo', serial, 'up/status'),
      encodeStatus({ v: 1, state: 'online', ts: new Date().toISOString() }),
      { qos: 1, retain: true },
    );
    await waitFor(
      async () => (await call('GET', `/api/v1/meters/${seed.meterId}/status`)).json.online === true,
    );

    const queued = await call('POST', `/api/v1/meters/${seed.meterId}/commands`, {
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
      meterTopic('jo', serial, 'up/ack'),
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
      async () => (await call('GET', `/api/v1/commands/${command.id}`)).json.state === 'acknowledged',
    );
    const list = await call('GET', `/api/v1/meters/${seed.meterId}/commands`);
    expect(list.json.commands.map((c: Json) => [c.kind, c.state])).toEqual([['disconnect', 'acknowledged']]);

    const bad = await call('POST', `/api/v1/meters/${seed.meterId}/commands`, {
      kind: 'disconnect',
      payload: { reason: 'because' },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('validation_failed');

    const audit = await call('GET', `/api/v1/audit?subject=command:${command.id}`);
    expect(audit.json.entries.map((e: Json) => [e.action, e.actor.split(':')[0]])).toEqual(
      expect.arrayContaining([
        ['command.queued', 'user'],
        ['command.acknowledged', 'system'],
      ]),
    );
    await meter.endAsync();
  });

  it("closes a meter that publishes under another meter's topic, and keeps serving the others", async () => {
    const meter = await meterClient();
    const closed = new Promise<void>((resolve) => meter.once('close', () => resolve()));
    meter.publish(
      meterTopic('jo', 'SOMEONE-ELSE', 'up/reading'),
      encodeReading({ v: 1, seq: 9, ts: new Date().toISOString(), energyWh: 1 }),
      { qos: 1 },
    );
    await closed;
    const again = await meterClient();
    await again.publishAsync(
      meterTopic('jo', serial, 'up/reading'),
      encodeReading({
        v: 1,
        seq: 2,
        ts: new Date(Date.UTC(2026, 10, 23, 9, 15)).toISOString(),
        energyWh: 1_234_600,
      }),
      { qos: 1 },
    );
    const readings = await call('GET', `/api/v1/meters/${seed.meterId}/readings`);
    expect(readings.json.readings).toHaveLength(2);
  });

  it('exposes broker, ingest and command metrics', async () => {
    const res = await fetch(`${server.url}/metrics`);
    const text = await res.text();
    expect(text).toMatch(/rasid_broker_connects_total\{result="ok"\} [1-9]/);
    expect(text).toMatch(/rasid_commands\{state="acknowledged"\} 1/);
    expect(text).toMatch(/rasid_broker_acl_denied_total\{action="publish"\} 1/);
    expect(text).toContain('rasid_ingest');
  });
});

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
