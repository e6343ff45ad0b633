/**
 * End to end through every part: a kiosk sale on the API, its token pushed by Rasid's dispatcher over the
 * embedded broker, a gateway (logged in with its own code and key, its meters from Rasid's API) that relays
 * it to a DLMS/COSEM meter (the simulator, HDLC and HLS-GMAC) through the token gateway object, the meter's
 * acknowledgement back to Rasid, and the credit the meter then reports going up. Also a disconnect and a
 * reconnect by command, through class 70.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DLMS_SECRETS, SimFleet } from '../../firmware-sim/fleet/index.ts';
import { ScaledClock } from '../../firmware-sim/model/index.ts';
import { DEMO_VENDING_KEY } from '../../firmware-sim/model/sts.ts';
import { driverFactory, fetchMeterList, Gateway, remoteConfig } from '../../gateway/index.ts';
import { secretDigest } from '../../src/api/auth.ts';
import { type Json, type OnlineWorld, onlineWorld, waitFor } from './world.ts';

const KIOSK_KEY = 'rks_e2e_dlms_kiosk_key_0123456789abcdef';
const DRN_BASE = 41_000_000_000;

describe('a vend reaches a DLMS meter through the broker and the gateway', () => {
  let w: OnlineWorld;
  let fleet: SimFleet;
  let gateway: Gateway;
  let serial: string;

  beforeAll(async () => {
    w = await onlineWorld('dlms-e2e');
    if (w.external) throw new Error('this suite logs the gateway in to the embedded broker');
    fleet = new SimFleet({
      meters: 1,
      protocol: 'dlms',
      kind: 'electricity',
      clock: new ScaledClock({ speed: 1 }),
      seed: 11,
      intervalS: 5,
      serialPrefix: 'E2E-',
      drnBase: DRN_BASE,
      initialCredit: 2000,
      dlms: {
        host: '127.0.0.1',
        basePort: 0,
        framing: 'hdlc',
        security: 'hls-gmac',
        secrets: DEMO_DLMS_SECRETS,
      },
    });
    await fleet.start();
    serial = fleet.serialOf(1);
    // The seeded STS meter becomes the simulator's: same serial and DRN, DLMS, the demo vending key.
    const db = w.server.core.store.db;
    const keyId = await w.server.core.keys.put({
      utilityId: w.seed.utilityId,
      sgc: 123456,
      krn: 2,
      key: Buffer.from(DEMO_VENDING_KEY, 'hex'),
      label: 'demo vending key',
    });
    await db
      .updateTable('meters')
      .set({
        serial,
        protocol: 'dlms',
        sts_drn: String(DRN_BASE + 1).padStart(11, '0'),
        sts_krn: 1,
        sts_base_date: '2014-01-01',
      })
      .where('id', '=', w.seed.meterId)
      .execute();
    // The fixture's key for SGC 123456 / KRN 1 is another; point the meter at the demo key's row instead.
    await db.updateTable('meters').set({ vending_key_id: keyId }).where('id', '=', w.seed.meterId).execute();
    await db
      .updateTable('kiosks')
      .set({ api_key_hash: secretDigest(KIOSK_KEY) })
      .where('id', '=', w.seed.kioskId)
      .execute();

    const created = await w.call('POST', '/api/v1/gateways', { gatewayId: 'gw-e2e', name: 'Feeder 7' });
    expect(created.status).toBe(201);
    const assigned = await w.call('PUT', `/api/v1/gateways/${created.json.id}/meters/${w.seed.meterId}`, {
      connection: { type: 'tcp', host: '127.0.0.1', port: fleet.members[0]!.face!.listening!.port },
      transport: { framing: 'hdlc' },
      security: {
        mechanism: 'hls-gmac',
        authenticationKey: DEMO_DLMS_SECRETS.authenticationKey.toString('hex'),
        encryptionKey: DEMO_DLMS_SECRETS.encryptionKey.toString('hex'),
        systemTitle: '4753573030303031',
      },
    });
    expect(assigned.status).toBe(200);
    const apiKey: string = created.json.apiKey;
    const list = await fetchMeterList({ rasidUrl: w.server.url, apiKey });
    const { config } = remoteConfig(list, {
      // The gateway logs in to Rasid's broker as itself: its code and its key.
      brokerUrl: w.server.metersOnline.brokerUrl!,
      brokerPassword: apiKey,
    });
    gateway = new Gateway({
      config,
      createDriver: driverFactory(),
    });
    await gateway.start();
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await fleet?.stop(true);
    await w?.close();
  });

  const status = async () => (await w.call('GET', `/api/v1/meters/${w.seed.meterId}/status`)).json as Json;
  const credit = async (): Promise<bigint | null> => {
    const reading = (await status()).lastReading;
    return reading?.creditWh == null ? null : BigInt(reading.creditWh);
  };

  it('the gateway brings the meter online and its readings into the store', async () => {
    await waitFor(async () => (await status()).online === true, 30_000);
    await waitFor(async () => (await credit()) !== null, 30_000);
  });

  it('a kiosk sale pushed to the meter raises its credit, acknowledged through the gateway', async () => {
    const before = (await credit())!;
    const sale = await fetch(`${w.server.url}/api/v1/vends`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': KIOSK_KEY,
        'idempotency-key': `e2e-${Date.now()}`,
      },
      body: JSON.stringify({ meter: serial, amountMinor: 5000 }),
    });
    const sold = (await sale.json()) as Json;
    expect([sale.status, sold.code]).toEqual([201, undefined]);
    const pushed = await w.call('POST', `/api/v1/vends/${sold.vendId}/push`);
    expect(pushed.status).toBe(201);
    await waitFor(
      async () => (await w.call('GET', `/api/v1/commands/${pushed.json.id}`)).json.state === 'acknowledged',
      30_000,
    );
    expect(fleet.stats.dlms.tokens).toBe(1);
    // Read now, by command: the gateway reads the meter and publishes the reading at once.
    const read = await w.call('POST', `/api/v1/meters/${w.seed.meterId}/commands`, {
      kind: 'read_now',
      payload: {},
    });
    expect(read.status).toBe(201);
    await waitFor(async () => ((await credit()) ?? 0n) > before + 1_000n, 15_000);
  });

  it('a disconnect and a reconnect by command move the relay through class 70', async () => {
    const meter = fleet.members[0]!.meter;
    const send = async (kind: 'disconnect' | 'reconnect') => {
      const queued = await w.call('POST', `/api/v1/meters/${w.seed.meterId}/commands`, {
        kind,
        payload: { reason: 'operator' },
      });
      expect(queued.status).toBe(201);
      await waitFor(
        async () => (await w.call('GET', `/api/v1/commands/${queued.json.id}`)).json.state === 'acknowledged',
        30_000,
      );
    };
    await send('disconnect');
    expect(meter.relay).toBe('disconnected');
    await send('reconnect');
    expect(meter.relay).toBe('connected');
  });
});
