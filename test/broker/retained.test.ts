/**
 * Retained messages found by topic (src/broker/retained.ts), through a real aedes and mqtt.js over TCP: a
 * subscription to a topic without wildcards gets that topic's retained message without the persistence
 * testing every retained message; a wildcard filter gets every match, as before; an empty retained payload
 * clears the topic.
 */
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { Aedes } from 'aedes';
import persistenceModule from 'aedes-persistence';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { retainedByTopicPersistence } from '../../src/broker/retained.ts';

const memory = persistenceModule as unknown as typeof persistenceModule.default;
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A broker on a free port whose persistence counts the scans of all retained messages. */
async function broker() {
  const base = memory();
  let scans = 0;
  const combi = base.createRetainedStreamCombi.bind(base);
  base.createRetainedStreamCombi = (filters) => {
    scans++;
    return combi(filters);
  };
  const aedes = await Aedes.createBroker({ persistence: retainedByTopicPersistence(base) });
  const server = createServer(aedes.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(
    () => new Promise((r) => aedes.close(() => r(undefined))),
    () => new Promise((r) => server.close(() => r(undefined))),
  );
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, scans: () => scans };
}

async function client(url: string) {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  closers.push(() => c.endAsync(true));
  return c;
}

/** The retained messages a new subscriber to `filter` receives within a short wait. */
async function retainedFor(url: string, filter: string): Promise<string[]> {
  const c = await client(url);
  const got: string[] = [];
  c.on('message', (topic, payload, packet) => {
    if (packet.retain) got.push(`${topic}=${payload.toString()}`);
  });
  await c.subscribeAsync(filter, { qos: 1 });
  await new Promise((r) => setTimeout(r, 200));
  return got.sort();
}

describe('retained messages found by topic', () => {
  it('answers a subscription without wildcards by its topic, and wildcard filters by the scan', async () => {
    const b = await broker();
    const meters = await client(b.url);
    for (let i = 0; i < 50; i++) {
      await meters.publishAsync(`rasid/v1/u/meters/M${i}/up/status`, `online-${i}`, { qos: 1, retain: true });
    }
    await meters.publishAsync('rasid/v1/u/meters/M7/down/cmd', 'pending', { qos: 1, retain: true });

    expect(await retainedFor(b.url, 'rasid/v1/u/meters/M7/down/cmd')).toEqual([
      'rasid/v1/u/meters/M7/down/cmd=pending',
    ]);
    expect(await retainedFor(b.url, 'rasid/v1/u/meters/M8/down/cmd')).toEqual([]);
    // Neither subscription tested the 51 retained messages.
    expect(b.scans()).toBe(0);

    const all = await retainedFor(b.url, 'rasid/v1/u/meters/+/up/status');
    expect(all).toHaveLength(50);
    expect(all).toContain('rasid/v1/u/meters/M42/up/status=online-42');
    expect(await retainedFor(b.url, 'rasid/v1/u/meters/M3/#')).toEqual([
      'rasid/v1/u/meters/M3/up/status=online-3',
    ]);
    expect(b.scans()).toBe(2);
  });

  it('an empty retained payload clears the topic, for either kind of filter', async () => {
    const b = await broker();
    const meter = await client(b.url);
    await meter.publishAsync('rasid/v1/u/meters/M1/up/status', 'online', { qos: 1, retain: true });
    expect(await retainedFor(b.url, 'rasid/v1/u/meters/M1/up/status')).toEqual([
      'rasid/v1/u/meters/M1/up/status=online',
    ]);
    await meter.publishAsync('rasid/v1/u/meters/M1/up/status', '', { qos: 1, retain: true });
    expect(await retainedFor(b.url, 'rasid/v1/u/meters/M1/up/status')).toEqual([]);
    expect(await retainedFor(b.url, 'rasid/v1/u/meters/+/up/status')).toEqual([]);
  });
});
