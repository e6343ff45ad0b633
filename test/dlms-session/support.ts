/**
 * A simulated meter's DLMS server on 127.0.0.1 (port 0) with the three standard associations, and a TCP
 * proxy that can inject bytes into the client → server stream. Real sockets only.
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import {
  type CosemObjectProvider,
  createMeterState,
  DlmsServer,
  type DlmsServerOptions,
  MeterObjects,
  type MeterState,
  standardAssociations,
  type TokenDecision,
} from '../../firmware-sim/dlms/index.ts';
import type { DlmsClientOptions } from '../../gateway/dlms/index.ts';

export const PASSWORD = 'Rasid-LLS-1';
export const KEYS = Object.freeze({
  blockCipherKey: Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'),
  authenticationKey: Buffer.from('d0d1d2d3d4d5d6d7d8d9dadbdcdddedf', 'hex'),
});
export const WRONG_KEYS = Object.freeze({
  blockCipherKey: Buffer.from('ff0102030405060708090a0b0c0d0e0f', 'hex'),
  authenticationKey: KEYS.authenticationKey,
});
export const CLIENT_TITLE = Buffer.from('RSDGW001', 'latin1');
export const SERVER_TITLE = Buffer.from('RSDMT001', 'latin1');
/** Fixed host time so clock and profile values are exact. */
export const NOW = new Date('2025-03-01T12:00:00Z');
export const PROFILE_START = new Date('2025-02-20T00:00:00Z');

export interface MeterFixture {
  server: DlmsServer;
  objects: MeterObjects;
  state: MeterState;
  /** Tokens the acceptance callback received. */
  tokens: string[];
  port: number;
  close(): Promise<void>;
}

/** `rows` load profile rows, 15 minutes apart from PROFILE_START, energy rising 25 Wh a row. */
export function meterState(rows = 96): MeterState {
  return createMeterState({
    serial: 'RSD0042',
    energyWh: 12_340,
    powerW: 1500,
    voltageV: 230.1,
    creditMinor: 5000,
    profile: Array.from({ length: rows }, (_, i) => ({
      at: new Date(PROFILE_START.getTime() + i * 900_000),
      energyWh: 10_000 + 25 * i,
      powerW: 100 + i,
    })),
  });
}

export async function startMeter(
  opts: {
    rows?: number;
    transport?: DlmsServerOptions['transport'];
    physicalDevice?: number;
    wrap?: (p: MeterObjects) => CosemObjectProvider;
    decide?: (digits: string) => TokenDecision;
    emptyArrayBlocks?: number;
  } = {},
): Promise<MeterFixture> {
  const state = meterState(opts.rows);
  const tokens: string[] = [];
  const objects = new MeterObjects({
    state,
    now: () => NOW,
    onToken: (digits) => {
      tokens.push(digits);
      return opts.decide?.(digits) ?? { accepted: true, code: 0 };
    },
  });
  const server = new DlmsServer({
    provider: opts.wrap ? opts.wrap(objects) : objects,
    transport: opts.transport ?? 'auto',
    physicalDevice: opts.physicalDevice,
    associations: standardAssociations({ password: PASSWORD, keys: KEYS }),
    systemTitle: SERVER_TITLE,
    random: () => Buffer.from('5354436f5354436f5354436f5354436f', 'hex'),
    ...(opts.emptyArrayBlocks === undefined ? {} : { emptyArrayBlocks: opts.emptyArrayBlocks }),
  });
  const { port } = await server.listen(0);
  return { server, objects, state, tokens, port, close: () => server.close() };
}

export function clientOptions(
  transport: 'hdlc' | 'wrapper',
  port: number,
  extra: Partial<DlmsClientOptions> = {},
): DlmsClientOptions {
  return { host: '127.0.0.1', port, transport, timeoutMs: 3000, ...extra };
}

export function hls(invocationCounter: number, keys = KEYS) {
  return { mechanism: 'hls-gmac' as const, keys, systemTitle: CLIENT_TITLE, invocationCounter };
}

/** A TCP proxy in front of `targetPort`; `inject` writes raw bytes to the server as if from the client. */
export async function startProxy(targetPort: number): Promise<{
  port: number;
  inject(bytes: Buffer): void;
  close(): Promise<void>;
}> {
  const upstreams: Socket[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((down) => {
    const up = connect({ host: '127.0.0.1', port: targetPort });
    upstreams.push(up);
    sockets.add(down).add(up);
    down.pipe(up);
    up.pipe(down);
    const end = () => {
      down.destroy();
      up.destroy();
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    inject: (bytes) => upstreams.at(-1)?.write(bytes),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Resolves when `predicate` holds, polling on the event loop (no time limit beyond the test's own). */
export async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((r) => setImmediate(r));
}
