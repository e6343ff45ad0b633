/**
 * The broker refuses a packet as soon as its fixed header announces more than it allows (a CONNECT much
 * less than anything else), closes the socket and counts it; a socket that sends no CONNECT is closed after
 * the connect timeout. Raw sockets, counted in bytes: the client keeps writing, with backpressure, until
 * the broker closes the connection.
 */
import type { Socket } from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, MemoryCredentialStore, type RasidBroker } from '../../src/broker/index.ts';
import { hashSecret } from '../../src/security/secrets.ts';
import { openSocket, streamUntilClosed, varint } from '../support/raw-socket.ts';

const MB = 1024 * 1024;

async function refused(broker: RasidBroker, reason: string): Promise<number> {
  const metric = await broker.registry.getSingleMetric('rasid_broker_refused_connections_total')?.get();
  return metric?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('broker packet limits', () => {
  let broker: RasidBroker;
  let port: number;

  beforeAll(async () => {
    const credentials = new MemoryCredentialStore().set('SN-1', {
      secretHash: await hashSecret('pw'),
      identity: { role: 'meter', utility: 'jo', meterId: 'SN-1' },
    });
    broker = await createBroker({
      credentials,
      tcp: { port: 0 },
      limits: { maxPacketBytes: 16 * 1024, maxConnectBytes: 1024, connectTimeoutMs: 500 },
    });
    port = broker.addresses.tcp!.port;
  });

  afterAll(async () => {
    await broker?.close();
  });

  /** Meter SN-1 signed in to the broker with its own credentials. */
  const connectMeter = () =>
    mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      username: 'SN-1',
      password: 'pw',
      clientId: 'SN-1',
      reconnectPeriod: 0,
    });

  it('closes a socket announcing a 200 MB CONNECT after its fixed header, reading almost none of it', async () => {
    const sockets = await Promise.all([1, 2, 3, 4].map(() => openSocket(port)));
    const results = await Promise.all(
      sockets.map((s) =>
        streamUntilClosed(s, Buffer.concat([Buffer.from([0x10]), varint(200 * MB)]), 64 * MB),
      ),
    );
    for (const r of results) {
      expect(r.closed).toBe(true);
      // What the kernel's buffers took before the close, not what the broker kept.
      expect(r.written).toBeLessThan(16 * MB);
    }
    expect(await refused(broker, 'connect_too_large')).toBe(4);
  });

  it('closes an authenticated meter announcing a 20 MB PUBLISH, without acknowledging it', async () => {
    const meter = await connectMeter();
    const socket = (meter as unknown as { stream: Socket }).stream;
    const topic = Buffer.from('rasid/v1/jo/meters/SN-1/up/reading');
    const header = Buffer.concat([
      Buffer.from([0x32]),
      varint(20 * MB),
      Buffer.from([topic.length >> 8, topic.length & 0xff]),
      topic,
      Buffer.from([0x00, 0x01]),
    ]);
    const r = await streamUntilClosed(socket, header, 20 * MB);
    expect(r.closed).toBe(true);
    expect(r.written).toBeLessThan(16 * MB);
    expect(await refused(broker, 'packet_too_large')).toBe(1);
    await meter.endAsync(true).catch(() => {});
  });

  it('still accepts a meter whose packets are within the limits', async () => {
    const meter = await connectMeter();
    await meter.publishAsync('rasid/v1/jo/meters/SN-1/up/reading', Buffer.alloc(4000, 0x20), { qos: 1 });
    await meter.endAsync();
  });

  it('closes a socket that sends no CONNECT within the connect timeout', async () => {
    const before = await refused(broker, 'connect_timeout');
    const socket = await openSocket(port);
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(await refused(broker, 'connect_timeout')).toBe(before + 1);
  });
});
