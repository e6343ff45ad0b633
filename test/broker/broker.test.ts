/**
 * Rasid's broker policy over real sockets: mqtt.js clients to aedes on 127.0.0.1 (port 0), credentials
 * from the store's `meters` table on PGlite (plus a gateway and a service from the in-memory store).
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCredentialStore } from '../../src/broker/index.ts';
import { hashSecret, VerifiedSecretCache, verifySecret } from '../../src/security/secrets.ts';
import {
  connectClient,
  endClient,
  type Harness,
  PASSWORD,
  pgliteHarness,
  publishQos1,
  type Rasid,
  reading,
  readingTopic,
  seedMeters,
  startRasid,
  UTILITY,
} from '../ingest/harness.ts';

const cmdTopic = (serial: string) => `rasid/v1/${UTILITY}/meters/${serial}/down/cmd`;

/** SUBACK return codes, one per filter, in order (mqtt.js reports 0x80 as an error; we want the codes). */
function subackCodes(client: MqttClient, filters: string[]): Promise<number[]> {
  return Promise.all(
    filters.map(
      (filter) =>
        new Promise<number>((resolve) => {
          client.subscribe(filter, { qos: 1 }, (err, granted) => {
            if (err) resolve((err as { packet?: { granted?: number[] } }).packet?.granted?.[0] ?? -1);
            else resolve(granted?.[0]?.qos ?? -1);
          });
        }),
    ),
  );
}

describe('meter secrets', () => {
  it('hashes with a fresh salt and verifies only the right secret', async () => {
    const a = await hashSecret('s3cret');
    const b = await hashSecret('s3cret');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifySecret('s3cret', a)).toBe(true);
    expect(await verifySecret('s3cret!', a)).toBe(false);
    expect(await verifySecret('s3cret', 'plain-text')).toBe(false);
  });

  it('verifies a secret once with scrypt, then from the cache, and not after a rotation', async () => {
    let scrypts = 0;
    const cache = new VerifiedSecretCache({
      verify: (secret, stored) => {
        scrypts++;
        return verifySecret(secret, stored);
      },
    });
    const hash = await hashSecret('pw');
    const checks = await Promise.all(Array.from({ length: 20 }, () => cache.check('SN-1', 'pw', hash)));
    expect(checks.every(Boolean)).toBe(true);
    expect(await cache.check('SN-1', 'pw', hash)).toBe(true);
    expect(scrypts).toBe(1);
    expect(await cache.check('SN-1', 'wrong', hash)).toBe(false);
    const rotated = await hashSecret('pw2');
    expect(await cache.check('SN-1', 'pw', rotated)).toBe(false);
    expect(scrypts).toBe(3);
  });
});

describe('broker policy over TCP', () => {
  let h: Harness;
  let rasid: Rasid;

  beforeAll(async () => {
    h = await pgliteHarness();
    await seedMeters(h, ['SN-A', 'SN-B', 'SN-C', 'SN-G1']);
    const extra = new MemoryCredentialStore()
      .set('gw-1', {
        secretHash: await hashSecret('gw-secret'),
        identity: { role: 'gateway', utility: UTILITY, gatewayId: 'GW-1', meters: ['SN-G1'] },
      })
      .set('dispatcher', {
        secretHash: await hashSecret('svc-secret'),
        identity: { role: 'service', name: 'command-dispatcher' },
      });
    rasid = await startRasid(h, { extraCredentials: extra });
  });

  afterAll(async () => {
    await rasid?.close();
    await h?.close();
  });

  async function connackCode(username: string, password: string | undefined, extra = {}): Promise<number> {
    try {
      const client = await connectClient(rasid.url, username, password as string, extra);
      await endClient(client);
      return 0;
    } catch (err) {
      return (err as { code?: number }).code ?? -1;
    }
  }

  it('accepts a meter with its password and refuses bad credentials with CONNACK 4', async () => {
    expect(await connackCode('SN-A', PASSWORD)).toBe(0);
    expect(await connackCode('SN-A', 'wrong password')).toBe(4);
    expect(await connackCode('NO-SUCH-METER', PASSWORD)).toBe(4);
    expect(await connackCode('SN-A', undefined)).toBe(4);
  });

  it("refuses a last will on another meter's topic with CONNACK 5", async () => {
    const will = {
      topic: `rasid/v1/${UTILITY}/meters/SN-B/up/status`,
      payload: Buffer.from('{}'),
      qos: 1 as const,
      retain: true,
    };
    expect(await connackCode('SN-A', PASSWORD, { will })).toBe(5);
  });

  it("closes a meter that publishes on another meter's topic, without a PUBACK or a stored row", async () => {
    const meter = await connectClient(rasid.url, 'SN-A', PASSWORD);
    const closed = new Promise<void>((resolve) => meter.stream.once('close', () => resolve()));
    let acked = false;
    meter.publish(readingTopic('SN-B'), reading(1, Date.UTC(2026, 0, 1)), { qos: 1 }, (err) => {
      if (!err) acked = true;
    });
    await closed;
    expect(acked).toBe(false);
    const rows = await h.query(
      'select 1 from readings r join meters m on m.id = r.meter_id where m.serial = $1',
      ['SN-B'],
    );
    expect(rows).toHaveLength(0);
    await endClient(meter);
  });

  it("grants a meter its own commands, refuses another's (SUBACK 0x80), and delivers a command", async () => {
    const meter = await connectClient(rasid.url, 'SN-A', PASSWORD);
    const service = await connectClient(rasid.url, 'dispatcher', 'svc-secret');
    try {
      const granted = await subackCodes(meter, [
        cmdTopic('SN-A'),
        cmdTopic('SN-B'),
        `rasid/v1/${UTILITY}/meters/+/down/cmd`,
      ]);
      expect(granted).toEqual([1, 128, 128]);
      const received = new Promise<string>((resolve) => meter.once('message', (topic) => resolve(topic)));
      await service.publishAsync(cmdTopic('SN-B'), 'for B', { qos: 1 });
      await service.publishAsync(cmdTopic('SN-A'), 'for A', { qos: 1 });
      expect(await received).toBe(cmdTopic('SN-A'));
    } finally {
      await endClient(meter);
      await endClient(service);
    }
  });

  it('lets a gateway publish and subscribe for the meters it serves only', async () => {
    const gw = await connectClient(rasid.url, 'gw-1', 'gw-secret');
    try {
      await publishQos1(gw, readingTopic('SN-G1'), reading(1, Date.UTC(2026, 0, 1)));
      const rows = await h.query(
        'select 1 from readings r join meters m on m.id = r.meter_id where m.serial = $1',
        ['SN-G1'],
      );
      expect(rows).toHaveLength(1);
      const granted = await subackCodes(gw, [cmdTopic('SN-G1'), cmdTopic('SN-C')]);
      expect(granted).toEqual([1, 128]);
    } finally {
      await endClient(gw);
    }
    const gw2 = await connectClient(rasid.url, 'gw-1', 'gw-secret');
    const closed = new Promise<void>((resolve) => gw2.stream.once('close', () => resolve()));
    gw2.publish(readingTopic('SN-C'), reading(1, Date.UTC(2026, 0, 1)), { qos: 1 });
    await closed;
    await endClient(gw2);
  });

  it('counts connects and denials in its metrics', async () => {
    const text = await rasid.broker.registry.metrics();
    expect(text).toMatch(/rasid_broker_connects_total\{result="bad_credentials"\} [1-9]/);
    expect(text).toMatch(/rasid_broker_acl_denied_total\{action="subscribe"\} [1-9]/);
    expect(text).toMatch(/rasid_broker_acl_denied_total\{action="publish"\} [1-9]/);
  });
});
