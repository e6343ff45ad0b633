/**
 * What a real field link does to a session: corrupt bytes on the wire, a client that vanishes in the
 * middle of a request, a meter that closes or never answers, a late answer, a frame for another meter.
 * Real sockets on 127.0.0.1 only.
 */
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { CosemObjectProvider, MeterObjects } from '../../firmware-sim/dlms/index.ts';
import { DlmsClient, DlmsConnectionError, DlmsTimeoutError } from '../../gateway/dlms/index.ts';
import {
  clientAddress,
  dt,
  encodeHdlcFrame,
  encodeWrapper,
  OBIS,
  serverAddress,
} from '../../protocols/dlms/index.ts';
import { clientOptions, type MeterFixture, startMeter, startProxy, until } from './support.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A provider whose serial-number GET waits until the test opens the gate. */
function gated(objects: MeterObjects) {
  let open: () => void = () => {};
  let calls = 0;
  let gate = new Promise<void>((r) => {
    open = r;
  });
  const provider: CosemObjectProvider = {
    objects: () => objects.objects(),
    get: async (classId, obis, attribute, selector) => {
      if (obis === OBIS.serialNumber) {
        calls += 1;
        await gate;
      }
      return objects.get(classId, obis, attribute, selector);
    },
    set: (classId, obis, attribute, value) => objects.set(classId, obis, attribute, value),
    action: (...a) => objects.action(...a),
  };
  return {
    provider,
    calls: () => calls,
    release: () => {
      open();
      gate = Promise.resolve();
    },
  };
}

async function meterWith(opts: Parameters<typeof startMeter>[0] = {}): Promise<MeterFixture> {
  const m = await startMeter(opts);
  cleanups.push(() => m.close());
  return m;
}

async function client(...args: Parameters<typeof clientOptions>): Promise<DlmsClient> {
  const c = await DlmsClient.open(clientOptions(...args));
  cleanups.push(() => c.close());
  return c;
}

describe.each(['wrapper', 'hdlc'] as const)('robustness over %s', (transport) => {
  it('drops a corrupt frame injected on the socket and the session carries on', async () => {
    const meter = await meterWith();
    const proxy = await startProxy(meter.port);
    cleanups.push(() => proxy.close());
    const c = await client(transport, proxy.port);
    expect(await c.get(1, OBIS.serialNumber, 2)).toEqual(dt.octets('RSD0042'));

    if (transport === 'hdlc') {
      // A well-formed I-frame for this link whose FCS is broken, then line noise.
      const frame = encodeHdlcFrame({
        segmented: false,
        destination: serverAddress(1),
        source: clientAddress(16),
        control: { kind: 'I', ns: 1, nr: 1, pf: true },
        info: Buffer.from('e6e600c001c100010000600100ff0200', 'hex'),
      });
      frame[frame.length - 2] = (frame[frame.length - 2] ?? 0) ^ 0xff;
      proxy.inject(Buffer.concat([frame, Buffer.from('deadbeef', 'hex')]));
    } else {
      // Bytes that are no wrapper header (version ≠ 0x0001).
      proxy.inject(Buffer.from('deadbeef7e7e1234', 'hex'));
    }
    await until(() => meter.server.stats.framesDropped > 0);

    expect(await c.readRegister(OBIS.activeEnergyImport)).toMatchObject({ value: 12_340 });
    expect(await c.get(1, OBIS.serialNumber, 2)).toEqual(dt.octets('RSD0042'));
    expect(meter.server.stats.errors).toBe(0);
    await c.release();
  });

  it('cleans up after a client that disconnects mid-request, and serves the next one', async () => {
    let gate: ReturnType<typeof gated> | undefined;
    const meter = await meterWith({
      wrap: (objects) => {
        gate = gated(objects);
        return gate.provider;
      },
    });
    const c = await client(transport, meter.port);
    const pending = c.get(1, OBIS.serialNumber, 2);
    await until(() => gate?.calls() === 1);
    c.close();
    await expect(pending).rejects.toBeInstanceOf(DlmsConnectionError);
    await until(() => meter.server.stats.connections === 0);
    // The provider answers after the client has gone: the server must not throw.
    gate?.release();

    // A raw client that sends half a frame and vanishes.
    const raw: Socket = connect({ host: '127.0.0.1', port: meter.port });
    await new Promise((r) => raw.once('connect', r));
    raw.end(transport === 'hdlc' ? Buffer.from('7ea0', 'hex') : Buffer.from('00010010', 'hex'));
    await until(() => meter.server.stats.accepted === 2 && meter.server.stats.connections === 0);

    const next = await client(transport, meter.port);
    expect(await next.get(1, OBIS.serialNumber, 2)).toEqual(dt.octets('RSD0042'));
    expect(meter.server.stats.errors).toBe(0);
    await next.release();
  });

  it('rejects a pending request when the meter closes the connection', async () => {
    let gate: ReturnType<typeof gated> | undefined;
    const meter = await meterWith({
      wrap: (objects) => {
        gate = gated(objects);
        return gate.provider;
      },
    });
    const c = await client(transport, meter.port);
    const pending = c.get(1, OBIS.serialNumber, 2);
    await until(() => gate?.calls() === 1);
    await meter.server.close();
    await expect(pending).rejects.toBeInstanceOf(DlmsConnectionError);
    // Later calls fail at once instead of hanging.
    await expect(c.get(3, OBIS.activeEnergyImport, 2)).rejects.toBeInstanceOf(DlmsConnectionError);
    gate?.release();
  });

  it('times out a late answer, skips it when it comes, and goes on', async () => {
    let gate: ReturnType<typeof gated> | undefined;
    const meter = await meterWith({
      wrap: (objects) => {
        gate = gated(objects);
        return gate.provider;
      },
    });
    const c = await client(transport, meter.port, { timeoutMs: 300 });
    await expect(c.get(1, OBIS.serialNumber, 2)).rejects.toBeInstanceOf(DlmsTimeoutError);
    gate?.release();
    // The late serial-number answer carries the old invoke id and is skipped.
    expect(await c.readRegister(OBIS.voltageL1)).toMatchObject({ value: 230.1 });
    expect(await c.get(1, OBIS.serialNumber, 2)).toEqual(dt.octets('RSD0042'));
    await c.release();
  });

  it('times out against a peer that never answers', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          silent.close(() => r());
        }),
    );
    const port = (silent.address() as AddressInfo).port;
    const err = await DlmsClient.open(clientOptions(transport, port, { timeoutMs: 200 })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DlmsTimeoutError);
    expect((err as DlmsTimeoutError).what).toBe(transport === 'hdlc' ? 'link set-up' : 'AARQ');
  });
});

describe('addressing', () => {
  it('HDLC: a meter with a physical address ignores frames for another one', async () => {
    const meter = await meterWith({ transport: 'hdlc', physicalDevice: 17 });
    const wrong = await DlmsClient.open(
      clientOptions('hdlc', meter.port, { physicalDevice: 18, timeoutMs: 200 }),
    ).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(DlmsTimeoutError);
    expect(meter.server.stats.framesIgnored).toBeGreaterThan(0);
    const c = await client('hdlc', meter.port, { physicalDevice: 17 });
    expect(await c.get(1, OBIS.serialNumber, 2)).toEqual(dt.octets('RSD0042'));
    await c.release();
  });

  it('wrapper: an APDU for another logical device is ignored', async () => {
    const meter = await meterWith({ transport: 'wrapper' });
    const raw = connect({ host: '127.0.0.1', port: meter.port });
    cleanups.push(() => {
      raw.destroy();
    });
    await new Promise((r) => raw.once('connect', r));
    raw.write(encodeWrapper({ source: 16, destination: 9, apdu: Buffer.from('6200', 'hex') }));
    await until(() => meter.server.stats.framesIgnored === 1);
    expect(meter.server.stats.requests).toBe(0);
  });
});
