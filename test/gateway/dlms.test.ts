/**
 * The gateway against the simulator's DLMS server over real sockets: the standard prepaid profile read
 * through the wrapper and HDLC with no security, LLS and HLS-GMAC; disconnect, reconnect and a token
 * through the token gateway, each acknowledged on `up/ack`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMeterState,
  DlmsServer,
  MeterObjects,
  type MeterState,
  standardAssociations,
} from '../../firmware-sim/dlms/index.ts';
import { driverFactory, Gateway, loadConfig } from '../../gateway/index.ts';
import { decodeMessage } from '../../protocols/mqtt/index.ts';
import { command, startBroker, type TestBroker, UTILITY, Watcher } from './support.ts';

const PASSWORD = '12345678';
const EK = '000102030405060708090a0b0c0d0e0f';
const AK = 'd0d1d2d3d4d5d6d7d8d9dadbdcdddedf';

let broker: TestBroker;
let watcher: Watcher;
let server: DlmsServer;
let state: MeterState;
const tokens: string[] = [];

beforeAll(async () => {
  broker = await startBroker();
  watcher = await Watcher.start(broker.url);
  state = createMeterState({ energyWh: 12_340, powerW: 850, voltageV: 230.4, creditMinor: 5000 });
  const objects = new MeterObjects({
    state,
    onToken: (digits) => {
      tokens.push(digits);
      return digits.startsWith('1') ? { accepted: true, code: 0 } : { accepted: false, code: 22 };
    },
  });
  server = new DlmsServer({
    provider: objects,
    transport: 'auto',
    systemTitle: Buffer.from('5253443030303031', 'hex'),
    associations: standardAssociations({
      password: PASSWORD,
      keys: { blockCipherKey: Buffer.from(EK, 'hex'), authenticationKey: Buffer.from(AK, 'hex') },
    }),
  });
  await server.listen(0, '127.0.0.1');
});

afterAll(async () => {
  await watcher.close();
  await server.close();
  await broker.close();
});

const SECURITY = {
  none: { mechanism: 'none' },
  lls: { mechanism: 'lls', password: PASSWORD },
  'hls-gmac': {
    mechanism: 'hls-gmac',
    authenticationKey: AK,
    encryptionKey: EK,
    systemTitle: '4753573030303031',
  },
} as const;

function dlmsGateway(id: string, framing: 'wrapper' | 'hdlc', security: keyof typeof SECURITY): Gateway {
  const port = server.port;
  const config = loadConfig({
    gatewayId: `gw-${randomUUID().slice(0, 8)}`,
    utility: UTILITY,
    broker: { url: broker.url, username: 'gw', password: 'secret' },
    polling: { intervalS: 3600 },
    meters: [
      {
        id,
        protocol: 'dlms',
        connection: { type: 'tcp', host: '127.0.0.1', port },
        transport: { framing },
        security: SECURITY[security],
        creditField: 'creditMinor',
      },
    ],
  });
  return new Gateway({ config, createDriver: driverFactory() });
}

describe('gateway over DLMS', () => {
  it.each([
    ['wrapper', 'none'],
    ['wrapper', 'lls'],
    ['hdlc', 'lls'],
    ['wrapper', 'hls-gmac'],
    ['hdlc', 'hls-gmac'],
  ] as const)('reads the prepaid profile over %s with %s security', async (framing, security) => {
    const id = `DL-${framing}-${security}`;
    const gateway = dlmsGateway(id, framing, security);
    await gateway.start();
    try {
      await watcher.until(() => watcher.on(id, 'up/reading').length >= 1);
    } finally {
      await gateway.stop();
    }
    const reading = watcher.on(id, 'up/reading')[0];
    expect(decodeMessage(reading?.topic ?? '', Buffer.from(JSON.stringify(reading?.json))).ok).toBe(true);
    expect(reading?.json).toMatchObject({
      v: 1,
      energyWh: 12_340,
      powerW: 850,
      voltageDv: 2304,
      creditMinor: 5000,
      relay: 'connected',
    });
  });

  it('disconnects, reconnects and delivers a token through the token gateway (LLS, wrapper)', async () => {
    const id = 'DL-CMD';
    const gateway = dlmsGateway(id, 'wrapper', 'lls');
    await gateway.start();
    try {
      const ack = async (cmd: ReturnType<typeof command>) => {
        await watcher.send(id, cmd);
        await watcher.until(() => watcher.on(id, 'up/ack').some((a) => a.json.id === cmd.id));
        return watcher.on(id, 'up/ack').find((a) => a.json.id === cmd.id)?.json;
      };
      expect(await ack(command({ kind: 'disconnect', payload: { reason: 'operator' } }))).toMatchObject({
        status: 'ok',
        result: { relay: 'disconnected' },
      });
      expect(state.relay.controlState).toBe(0);
      const reconnect = await ack(command({ kind: 'reconnect', payload: { reason: 'operator' } }));
      expect(reconnect).toMatchObject({ status: 'ok' });
      expect(state.relay.controlState).not.toBe(0);

      const good = '12345678901234567890';
      expect(await ack(command({ kind: 'token', payload: { token: good } }))).toMatchObject({
        status: 'ok',
        result: { tokenStatus: 'execution-ok' },
      });
      expect(tokens).toContain(good);
      expect(await ack(command({ kind: 'token', payload: { token: '98765432109876543210' } }))).toMatchObject(
        {
          status: 'error',
          error: { code: 'token_rejected' },
        },
      );
    } finally {
      await gateway.stop();
    }
  });
});
