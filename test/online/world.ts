/**
 * A started Rasid (PGlite, its broker embedded or external: test/support/server.ts) with one seeded utility
 * `jo`, its STS meter and an operator signed in, and helpers to call the API and connect as the meter.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { encodeReading, meterTopic } from '../../protocols/mqtt/index.ts';
import { hashSecret } from '../../src/security/secrets.ts';
import type { RunningServer } from '../../src/server.ts';
import type { Seed } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { seedVending } from '../support/vending-fixture.ts';

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON read field by field and checked by expect.
export type Json = any;

export interface MqttCredentials {
  username: string;
  password: string;
  clientId: string;
  brokerUrl: string;
  topicRoot: string;
}

export interface OnlineWorld {
  readonly test: TestServer;
  readonly server: RunningServer;
  readonly seed: Seed;
  readonly serial: string;
  /** True when the suite runs against an external broker (RASID_TEST_MQTT_URL). */
  readonly external: boolean;
  call(
    method: string,
    path: string,
    body?: unknown,
    as?: 'operator' | null,
  ): Promise<{ status: number; json: Json }>;
  /** Issues the meter's credentials over the API (once per world). */
  credentials(): Promise<MqttCredentials>;
  meterClient(opts?: IClientOptions): Promise<MqttClient>;
  close(): Promise<void>;
}

export async function onlineWorld(name: string, env: Record<string, string> = {}): Promise<OnlineWorld> {
  const test = await startTestServer(name, env);
  const server = test.server;
  const db = server.core.store.db;
  const seed = await seedVending(db, server.core.keys, 'jo');
  const { serial } = await db
    .selectFrom('meters')
    .select('serial')
    .where('id', '=', seed.meterId)
    .executeTakeFirstOrThrow();
  await db
    .insertInto('users')
    .values({
      utility_id: seed.utilityId,
      username: 'op-1',
      password_hash: await hashSecret('correct horse'),
      role: 'operator',
    })
    .execute();
  let operator = '';
  const call: OnlineWorld['call'] = async (method, path, body, as = 'operator') => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(as === 'operator' ? { authorization: `Bearer ${operator}` } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : null) as Json };
  };
  const login = await call(
    'POST',
    '/api/v1/sessions',
    { utility: 'jo', username: 'op-1', password: 'correct horse' },
    null,
  );
  if (login.status !== 201) throw new Error(`operator sign-in failed: ${login.status}`);
  operator = login.json.token;

  let creds: Promise<MqttCredentials> | undefined;
  const clients: MqttClient[] = [];
  const credentials = () => {
    creds ??= call('POST', `/api/v1/meters/${seed.meterId}/mqtt-credentials`).then((r) => {
      if (r.status !== 201) throw new Error(`credentials: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json as MqttCredentials;
    });
    return creds;
  };
  return {
    test,
    server,
    seed,
    serial,
    external: server.metersOnline.broker === null,
    call,
    credentials,
    async meterClient(opts = {}) {
      const c = await credentials();
      const client = await mqtt.connectAsync(c.brokerUrl, {
        clientId: c.clientId,
        username: c.username,
        password: c.password,
        reconnectPeriod: 0,
        ...opts,
      });
      clients.push(client);
      return client;
    },
    async close() {
      for (const c of clients) await c.endAsync(true).catch(() => {});
      await test.close();
    },
  };
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The world's meter reports one reading with its credit (0.900) below the low-credit threshold; resolves with
 * the meter's client once the reading is stored.
 */
export async function reportLowCredit(w: OnlineWorld): Promise<MqttClient> {
  const meter = await w.meterClient();
  await meter.publishAsync(
    meterTopic('jo', w.serial, 'up/reading'),
    encodeReading({
      v: 1,
      seq: 1,
      ts: new Date(Date.now() - 60_000).toISOString(),
      energyWh: 10,
      creditMinor: 900,
    }),
    { qos: 1 },
  );
  await waitFor(
    async () => (await w.server.core.store.db.selectFrom('readings').select('ts').execute()).length === 1,
  );
  return meter;
}
