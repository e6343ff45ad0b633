/**
 * A gateway's meters from Rasid, over real HTTP against a started Rasid: operators create gateways and
 * assign meters with their connection and secrets; the secrets are sealed in the store and only the
 * gateway's own key gets them back; a meter is served by one gateway at a time. Then a gateway built from
 * that list reads a simulated DLMS fleet (HLS-GMAC), and a refresh picks up a meter assigned later.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DLMS_SECRETS, SimFleet } from '../../firmware-sim/fleet/index.ts';
import { ManualClock } from '../../firmware-sim/model/index.ts';
import {
  driverFactory,
  fetchMeterList,
  Gateway,
  MeterListError,
  MeterListRefresher,
  remoteConfig,
  silentLogger,
} from '../../gateway/index.ts';
import type { RunningServer } from '../../src/server.ts';
import type { MeterId, UtilityId } from '../../src/store/schema.ts';
import { type Call, type CallOptions, caller, type Json, signIn } from '../support/api.ts';
import { RASID_BIN, runCli } from '../support/cli.ts';
import { seedBasics } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { startBroker, T0, type TestBroker, UTILITY, Watcher } from './support.ts';

const AK = DEMO_DLMS_SECRETS.authenticationKey.toString('hex');
const EK = DEMO_DLMS_SECRETS.encryptionKey.toString('hex');

let test: TestServer;
let server: RunningServer;
let broker: TestBroker;
let watcher: Watcher;
let fleet: SimFleet;
let utilityId: UtilityId;
let call: Call<'operator'>;
const meterIds: Record<string, MeterId> = {};

/** A request signed by a gateway's API key rather than the operator. */
const asGateway = (apiKey: string): CallOptions<'operator'> => ({
  as: null,
  headers: { 'x-api-key': apiKey },
});

async function meter(serial: string, protocol: 'dlms' | 'modbus' | 'mqtt'): Promise<MeterId> {
  const row = await server.core.store.db
    .insertInto('meters')
    .values({ utility_id: utilityId, serial, kind: 'electricity', protocol, mode: 'token', status: 'active' })
    .returning('id')
    .executeTakeFirstOrThrow();
  meterIds[serial] = row.id;
  return row.id;
}

function port(i: number): number {
  return fleet.members[i]?.face?.listening?.port ?? 0;
}

beforeAll(async () => {
  test = await startTestServer('gateways');
  server = test.server;
  const db = server.core.store.db;
  utilityId = (await seedBasics(db, UTILITY)).utilityId;
  const people = await signIn(server, utilityId, { operator: { role: 'operator', username: 'op-1' } });
  call = caller(server, people, 'operator');
  broker = await startBroker();
  watcher = await Watcher.start(broker.url);
  fleet = new SimFleet({
    meters: 2,
    protocol: 'dlms',
    kind: 'electricity',
    clock: new ManualClock(T0),
    seed: 5,
    intervalS: 900,
    serialPrefix: 'GWR-',
    drnBase: 30_000_000_000,
    initialCredit: 7000,
    dlms: {
      host: '127.0.0.1',
      basePort: 0,
      framing: 'hdlc',
      security: 'hls-gmac',
      secrets: DEMO_DLMS_SECRETS,
    },
  });
  await fleet.start();
  await meter(fleet.serialOf(1), 'dlms');
  await meter(fleet.serialOf(2), 'dlms');
  await meter('GWR-MB-1', 'modbus');
  await meter('GWR-MQ-1', 'mqtt');
}, 120_000);

afterAll(async () => {
  await fleet?.stop(true);
  await watcher?.close();
  await broker?.close();
  await test?.close();
});

const hls = {
  mechanism: 'hls-gmac',
  authenticationKey: AK,
  encryptionKey: EK,
  systemTitle: '4753573030303031',
};

describe('gateways and their meters in Rasid', () => {
  let keyA = '';
  let keyB = '';
  let idA = '';
  let idB = '';

  it('creates gateways, each with an API key shown once', async () => {
    const a = await call('POST', '/api/v1/gateways', {
      body: { gatewayId: 'gw-north', name: 'North substation', pollIntervalS: 3600 },
    });
    expect(a.status).toBe(201);
    expect(a.json).toMatchObject({ gatewayId: 'gw-north', active: true, meters: 0, pollIntervalS: 3600 });
    expect(a.json.apiKey).toMatch(/^rgw_/);
    keyA = a.json.apiKey;
    idA = a.json.id;
    const b = await call('POST', '/api/v1/gateways', {
      body: { gatewayId: 'gw-south', name: 'South', brokerUrl: broker.url },
    });
    keyB = b.json.apiKey;
    idB = b.json.id;
    const again = await call('POST', '/api/v1/gateways', { body: { gatewayId: 'gw-north', name: 'x' } });
    expect(again.status).toBe(409);
    const bad = await call('POST', '/api/v1/gateways', { body: { gatewayId: 'gw north', name: 'x' } });
    expect(bad.status).toBe(400);
    const list = await call('GET', '/api/v1/gateways');
    expect(list.json.gateways.map((g: Json) => g.gatewayId)).toEqual(['gw-north', 'gw-south']);
    expect(list.text).not.toContain('rgw_');
  });

  it('assigns meters with their settings and refuses what a gateway could not use', async () => {
    const put = (serial: string, body: unknown, gateway = idA) =>
      call('PUT', `/api/v1/gateways/${gateway}/meters/${meterIds[serial]}`, { body });
    const dlms = await put(fleet.serialOf(1), {
      connection: { type: 'tcp', host: '127.0.0.1', port: port(0) },
      transport: { framing: 'hdlc', serverLogical: 1 },
      security: hls,
    });
    expect(dlms.status).toBe(200);
    expect(dlms.json).toMatchObject({
      serial: fleet.serialOf(1),
      protocol: 'dlms',
      security: { mechanism: 'hls-gmac', secretsStored: true },
    });
    expect(dlms.text).not.toContain(AK);
    expect(dlms.text).not.toContain(EK);
    const modbus = await put('GWR-MB-1', {
      connection: { type: 'tcp', host: '10.0.0.9', port: 502 },
      unitId: 3,
    });
    expect(modbus.status).toBe(200);
    expect(modbus.json.security).toEqual({ mechanism: 'none', secretsStored: false });

    expect((await put('GWR-MQ-1', { connection: { type: 'tcp', host: 'h', port: 1 } })).status).toBe(409);
    const secured = await put('GWR-MB-1', {
      connection: { type: 'tcp', host: 'h', port: 502 },
      security: { mechanism: 'none' },
    });
    expect(secured.status).toBe(400);
    const badPort = await put(fleet.serialOf(1), { connection: { type: 'tcp', host: 'h', port: 70_000 } });
    expect(badPort.status).toBe(400);
    expect(badPort.json.detail).toMatch(/^connection\.port/);
    const badKey = await put(fleet.serialOf(1), {
      connection: { type: 'tcp', host: 'h', port: 1 },
      security: { ...hls, encryptionKey: 'abcd' },
    });
    expect(badKey.status).toBe(400);
    const unknown = await call('PUT', `/api/v1/gateways/${idA}/meters/00000000-0000-4000-8000-000000000000`, {
      body: { connection: { type: 'tcp', host: 'h', port: 1 } },
    });
    expect(unknown.status).toBe(404);
  });

  it('seals the secrets in the store and shows operators only that they are there', async () => {
    const row = await server.core.store.db
      .selectFrom('gateway_meters')
      .selectAll()
      .where('meter_id', '=', meterIds[fleet.serialOf(1)] as MeterId)
      .executeTakeFirstOrThrow();
    const stored = `${JSON.stringify(row.settings)}${row.secret_box?.toString('latin1')}`;
    expect(stored).not.toContain(AK);
    expect(row.secret_box?.includes(DEMO_DLMS_SECRETS.authenticationKey)).toBe(false);
    expect(row.settings).toMatchObject({
      security: { mechanism: 'hls-gmac', systemTitle: '4753573030303031' },
    });
    const read = await call('GET', `/api/v1/gateways/${idA}`);
    expect(read.status).toBe(200);
    expect(read.json.assignments).toHaveLength(2);
    expect(read.text).not.toContain(AK);
    expect(read.text).not.toContain(EK);
  });

  it('answers a gateway its own meters, secrets included, and nothing else to its key', async () => {
    const mine = await call('GET', '/api/v1/gateway/meters', asGateway(keyA));
    expect(mine.status).toBe(200);
    expect(mine.headers.get('cache-control')).toBe('no-store');
    expect(mine.json).toMatchObject({
      gatewayId: 'gw-north',
      utility: UTILITY,
      brokerUrl: null,
      polling: { intervalS: 3600 },
    });
    expect(mine.json.meters.map((m: Json) => m.id)).toEqual([fleet.serialOf(1), 'GWR-MB-1']);
    expect(mine.json.meters[0]).toMatchObject({ protocol: 'dlms', kind: 'electricity', security: hls });
    const theirs = await call('GET', '/api/v1/gateway/meters', asGateway(keyB));
    expect(theirs.json.meters).toEqual([]);

    expect((await call('GET', '/api/v1/gateways', asGateway(keyA))).status).toBe(403);
    expect((await call('GET', '/api/v1/gateway/meters')).status).toBe(403);
    expect((await call('GET', '/api/v1/gateway/meters', asGateway('rgw_nonsense'))).status).toBe(401);
    await expect(fetchMeterList({ rasidUrl: server.url, apiKey: 'rgw_nonsense' })).rejects.toMatchObject({
      refused: true,
    });
    await expect(fetchMeterList({ rasidUrl: server.url, apiKey: 'rgw_nonsense' })).rejects.toBeInstanceOf(
      MeterListError,
    );
  });

  it('moves a meter: a second assignment replaces the first, so two gateways never serve one meter', async () => {
    const moved = await call('PUT', `/api/v1/gateways/${idB}/meters/${meterIds['GWR-MB-1']}`, {
      body: { connection: { type: 'tcp', host: '10.0.0.9', port: 502 } },
    });
    expect(moved.status).toBe(200);
    const a = await fetchMeterList({ rasidUrl: server.url, apiKey: keyA });
    const b = await fetchMeterList({ rasidUrl: server.url, apiKey: keyB });
    expect(a.meters.map((m) => (m as { id: string }).id)).toEqual([fleet.serialOf(1)]);
    expect(b.meters.map((m) => (m as { id: string }).id)).toEqual(['GWR-MB-1']);
    const off = await call('DELETE', `/api/v1/gateways/${idB}/meters/${meterIds['GWR-MB-1']}`);
    expect(off.status).toBe(204);
    expect((await call('DELETE', `/api/v1/gateways/${idB}/meters/${meterIds['GWR-MB-1']}`)).status).toBe(404);
    const audit = await server.core.store.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', 'like', 'gateway.%')
      .execute();
    expect(audit.map((r) => r.action)).toEqual(
      expect.arrayContaining(['gateway.create', 'gateway.assign_meter', 'gateway.unassign_meter']),
    );
  });

  it('a gateway built from the list reads its DLMS meters, and a refresh adds a meter assigned later', async () => {
    const list = await fetchMeterList({ rasidUrl: server.url, apiKey: keyA });
    const { config, skipped } = remoteConfig(list, {
      brokerUrl: broker.url,
      brokerUsername: 'gw',
      brokerPassword: 'secret',
    });
    expect(skipped).toEqual([]);
    expect(config.meters.map((m) => m.id)).toEqual([fleet.serialOf(1)]);
    const gateway = new Gateway({ config, createDriver: driverFactory() });
    const refresher = new MeterListRefresher({
      source: { rasidUrl: server.url, apiKey: keyA },
      local: { brokerUrl: broker.url, brokerUsername: 'gw', brokerPassword: 'secret' },
      intervalMs: 3_600_000,
      logger: silentLogger,
      onList: async (result) => {
        await gateway.setMeters(result.config.meters);
      },
    });
    await gateway.start();
    try {
      await watcher.until(() => watcher.on(fleet.serialOf(1), 'up/reading').length >= 1);
      expect(watcher.on(fleet.serialOf(1), 'up/reading')[0]?.json).toMatchObject({ creditWh: 7000 });

      const added = await call('PUT', `/api/v1/gateways/${idA}/meters/${meterIds[fleet.serialOf(2)]}`, {
        body: {
          connection: { type: 'tcp', host: '127.0.0.1', port: port(1) },
          transport: { framing: 'hdlc' },
          security: hls,
        },
      });
      expect(added.status).toBe(200);
      await refresher.refresh();
      expect(gateway.meters.map((m) => m.id)).toEqual([fleet.serialOf(1), fleet.serialOf(2)]);
      await watcher.until(() => watcher.on(fleet.serialOf(2), 'up/reading').length >= 1);

      await call('DELETE', `/api/v1/gateways/${idA}/meters/${meterIds[fleet.serialOf(1)]}`);
      await refresher.refresh();
      expect(gateway.meters.map((m) => m.id)).toEqual([fleet.serialOf(2)]);
      expect(gateway.workers.has(fleet.serialOf(1))).toBe(false);
    } finally {
      await refresher.stop();
      await gateway.stop();
    }
  });

  it('bin/rasid gateway --rasid-url fetches its meters and publishes their readings', async () => {
    const before = watcher.on(fleet.serialOf(2), 'up/reading').length;
    const child = spawn(
      RASID_BIN,
      [
        'gateway',
        '--rasid-url',
        server.url,
        '--broker',
        broker.url,
        '--broker-username',
        'gw',
        '--refresh',
        '60',
        '--log-level',
        'warn',
      ],
      { env: { ...process.env, RASID_GATEWAY_KEY: keyA, RASID_GATEWAY_BROKER_PASSWORD: 'secret' } },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    await watcher.until(
      () =>
        watcher.on(fleet.serialOf(2), 'up/reading').length > before &&
        watcher.got.some((m) => m.topic.endsWith('gateways/gw-north/status') && m.json.state === 'online'),
    );
    child.kill('SIGINT');
    expect(await closed).toBe(0);
    expect(stderr).toBe('');
  });

  it.each([
    [['gateway'], '--config or --rasid-url'],
    [['gateway', '--config', 'g.json', '--rasid-url', 'http://127.0.0.1:1'], '--config and --rasid-url'],
    [['gateway', '--rasid-url', 'ftp://rasid'], '--rasid-url'],
    [['gateway', '--rasid-url', 'http://127.0.0.1:1'], '--gateway-key'],
    [['gateway', '--config', 'g.json', '--gateway-key', 'k'], '--gateway-key'],
  ])('bin/rasid %j: one line and exit code 2', async (args, flag) => {
    const res = await runCli(args, { env: { RASID_GATEWAY_KEY: '' } });
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain(flag);
  });

  it('bin/rasid gateway with a key Rasid refuses: one line and exit code 2', async () => {
    const res = await runCli(['gateway', '--rasid-url', server.url, '--gateway-key', 'rgw_wrong']);
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/--gateway-key: .* answered 401/);
  });

  it('a disabled gateway is refused; a new key lets it in again and the old one stays out', async () => {
    expect((await call('POST', `/api/v1/gateways/${idB}/disable`)).json.active).toBe(false);
    expect((await call('GET', '/api/v1/gateway/meters', asGateway(keyB))).status).toBe(401);
    const rotated = await call('POST', `/api/v1/gateways/${idB}/key`);
    expect(rotated.json).toMatchObject({ active: true });
    expect((await call('GET', '/api/v1/gateway/meters', asGateway(keyB))).status).toBe(401);
    expect((await call('GET', '/api/v1/gateway/meters', asGateway(rotated.json.apiKey))).status).toBe(200);
  });
});
