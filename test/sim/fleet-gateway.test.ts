/**
 * A Modbus or DLMS fleet of simulated meters served by a gateway in one step: the fleet writes the
 * gateway's configuration (`SimFleet.gatewayConfig`, `sim fleet --gateway-config`), the gateway reads
 * every meter over real sockets and carries commands to the model: a token raises the meter's credit and
 * a disconnect opens its relay.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimDlmsSecurity } from '../../firmware-sim/dlms/index.ts';
import { DEMO_DLMS_SECRETS, SimFleet, type SimProtocol } from '../../firmware-sim/fleet/index.ts';
import { ManualClock, stsParametersFor } from '../../firmware-sim/model/index.ts';
import { driverFactory, Gateway, loadConfig } from '../../gateway/index.ts';
import { decodeMessage } from '../../protocols/mqtt/index.ts';
import { encodeToken, tidFromDate } from '../../protocols/sts/index.ts';
import { command, startBroker, T0, type TestBroker, UTILITY, Watcher } from '../gateway/support.ts';

let broker: TestBroker;
let watcher: Watcher;

beforeAll(async () => {
  broker = await startBroker();
  watcher = await Watcher.start(broker.url);
});

afterAll(async () => {
  await watcher.close();
  await broker.close();
});

interface Case {
  readonly name: string;
  readonly kind?: 'electricity' | 'water';
  readonly protocol: Exclude<SimProtocol, 'mqtt'>;
  readonly framing?: 'wrapper' | 'hdlc';
  readonly security?: SimDlmsSecurity;
}

function fleetOf(c: Case, prefix: string): SimFleet {
  return new SimFleet({
    meters: 2,
    protocol: c.protocol,
    kind: c.kind ?? 'electricity',
    clock: new ManualClock(T0),
    seed: 3,
    intervalS: 900,
    serialPrefix: prefix,
    drnBase: 20_000_000_000,
    initialCredit: 10_000,
    modbus: { host: '127.0.0.1', basePort: 0, unitId: 1 },
    dlms: {
      host: '127.0.0.1',
      basePort: 0,
      framing: c.framing ?? 'wrapper',
      security: c.security ?? 'none',
      secrets: DEMO_DLMS_SECRETS,
    },
  });
}

/** A 10 kWh credit token for meter i of a fleet with DRN base 20000000000. */
function tokenFor(i: number): string {
  const { params } = stsParametersFor({ drn: String(20_000_000_000 + i) });
  return encodeToken(
    { type: 'electricity-credit', rnd: 4, tid: tidFromDate(T0, 2014) + i, value: 100 },
    { key: params.decoderKey },
  ).token;
}

describe('a simulated fleet served by a gateway from the configuration it writes', () => {
  it.each<Case>([
    { name: 'modbus', protocol: 'modbus' },
    { name: 'dlms wrapper none', protocol: 'dlms', framing: 'wrapper', security: 'none' },
    { name: 'dlms hdlc lls', protocol: 'dlms', framing: 'hdlc', security: 'lls' },
    { name: 'dlms wrapper hls-gmac', protocol: 'dlms', framing: 'wrapper', security: 'hls-gmac' },
    { name: 'dlms hdlc hls-gmac', protocol: 'dlms', framing: 'hdlc', security: 'hls-gmac' },
  ])('$name: readings from every meter, a token and a disconnect', async (c) => {
    const prefix = `F${randomUUID().slice(0, 6)}-`;
    const fleet = fleetOf(c, prefix);
    await fleet.start();
    const json = fleet.gatewayConfig({
      gatewayId: `gw-${randomUUID().slice(0, 8)}`,
      utility: UTILITY,
      brokerUrl: broker.url,
      username: 'gw',
      password: 'secret',
      pollIntervalS: 3600,
    });
    // The file a gateway is started on: it passes the gateway's own schema as JSON.
    const config = loadConfig(JSON.parse(JSON.stringify(json)));
    expect(config.meters.map((m) => m.id)).toEqual([fleet.serialOf(1), fleet.serialOf(2)]);
    const gateway = new Gateway({ config, createDriver: driverFactory() });
    await gateway.start();
    try {
      for (const m of config.meters) {
        await watcher.until(() => watcher.on(m.id, 'up/reading').length >= 1);
        const reading = watcher.on(m.id, 'up/reading')[0];
        expect(decodeMessage(reading?.topic ?? '', Buffer.from(JSON.stringify(reading?.json))).ok).toBe(true);
        expect(reading?.json).toMatchObject({ creditWh: 10_000, relay: 'connected' });
      }

      const id = fleet.serialOf(1);
      const meter = fleet.members[0]?.meter;
      const ack = async (cmd: ReturnType<typeof command>) => {
        await watcher.send(id, cmd);
        await watcher.until(() => watcher.on(id, 'up/ack').some((a) => a.json.id === cmd.id));
        return watcher.on(id, 'up/ack').find((a) => a.json.id === cmd.id)?.json;
      };
      expect(await ack(command({ kind: 'token', payload: { token: tokenFor(1) } }))).toMatchObject({
        status: 'ok',
      });
      expect(meter?.credit).toBe(20_000);
      const again = await ack(command({ kind: 'token', payload: { token: tokenFor(1) } }));
      expect(again).toMatchObject({ status: 'error' });
      expect(meter?.credit).toBe(20_000);

      expect(await ack(command({ kind: 'disconnect', payload: { reason: 'operator' } }))).toMatchObject({
        status: 'ok',
        result: { relay: 'disconnected' },
      });
      expect(meter?.relay).toBe('disconnected');
      expect(await ack(command({ kind: 'reconnect', payload: { reason: 'operator' } }))).toMatchObject({
        status: 'ok',
      });
      expect(meter?.relay).toBe('connected');
    } finally {
      await gateway.stop();
      await fleet.stop(true);
    }
    if (c.protocol === 'dlms') {
      expect(fleet.stats.dlms.associations).toBeGreaterThan(0);
      expect(fleet.stats.dlms.refused).toBe(0);
      expect(fleet.stats.dlms.tokens).toBe(2);
    }
  });

  it.each<Case>([
    { name: 'modbus', kind: 'water', protocol: 'modbus' },
    { name: 'dlms', kind: 'water', protocol: 'dlms', framing: 'hdlc', security: 'lls' },
  ])('water meters over $name: volume and credit in litres', async (c) => {
    const fleet = fleetOf(c, `W${randomUUID().slice(0, 6)}-`);
    await fleet.start();
    const config = loadConfig(
      JSON.parse(
        JSON.stringify(
          fleet.gatewayConfig({
            gatewayId: `gw-${randomUUID().slice(0, 8)}`,
            utility: UTILITY,
            brokerUrl: broker.url,
            username: 'gw',
            password: 'secret',
            pollIntervalS: 3600,
          }),
        ),
      ),
    );
    const gateway = new Gateway({ config, createDriver: driverFactory() });
    await gateway.start();
    const id = fleet.serialOf(2);
    try {
      await watcher.until(() => watcher.on(id, 'up/reading').length >= 1);
    } finally {
      await gateway.stop();
      await fleet.stop(true);
    }
    const reading = watcher.on(id, 'up/reading')[0]?.json;
    expect(reading).toMatchObject({ volumeL: 0, creditL: 10_000, relay: 'connected' });
    expect(reading).not.toHaveProperty('energyWh');
  });

  it('an MQTT fleet has no gateway configuration', async () => {
    const fleet = new SimFleet({
      meters: 1,
      protocol: 'mqtt',
      kind: 'electricity',
      clock: new ManualClock(T0),
      seed: 1,
      intervalS: 900,
      serialPrefix: 'M-',
      drnBase: 1,
    });
    expect(() =>
      fleet.gatewayConfig({ gatewayId: 'g', utility: UTILITY, brokerUrl: broker.url, pollIntervalS: 1 }),
    ).toThrow(/no gateway/);
  });
});
