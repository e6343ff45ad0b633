import { randomUUID } from 'node:crypto';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { connect, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, SimMeter } from '../../firmware-sim/model/index.ts';
import { MqttMeterFace } from '../../firmware-sim/mqtt/index.ts';
import {
  type Ack,
  encodeCommand,
  type MeterEvent,
  meterTopic,
  type Reading,
} from '../../protocols/mqtt/index.ts';
import { encodeToken, tidFromDate } from '../../protocols/sts/index.ts';
import { command, meterConfig, STS, T0 } from './support.ts';

interface Received {
  topic: string;
  retain: boolean;
  json: Record<string, unknown>;
}

/** A real aedes broker on 127.0.0.1 (port 0) that checks every client's username and password. */
let broker: Aedes;
let server: Server;
let url: string;
const logins: { clientId: string; username: string | undefined; password: string | undefined }[] = [];

beforeAll(async () => {
  broker = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      logins.push({ clientId: client.id, username, password: password?.toString() });
      done(null, password?.toString() === 'secret-1');
    },
  });
  server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A client that records everything under one meter's subtree. */
async function watcher(
  serial: string,
): Promise<{ client: MqttClient; got: Received[]; until: (f: (r: Received[]) => boolean) => Promise<void> }> {
  const client = connect(url, { clientId: `watch-${randomUUID()}`, username: 'ops', password: 'secret-1' });
  const got: Received[] = [];
  const waiters: (() => void)[] = [];
  client.on('message', (topic, payload, packet) => {
    got.push({ topic, retain: packet.retain, json: JSON.parse(payload.toString()) });
    for (const w of waiters.splice(0)) w();
  });
  await client.subscribeAsync(`rasid/v1/demo/meters/${serial}/#`, { qos: 1 });
  const until = async (f: (r: Received[]) => boolean): Promise<void> => {
    while (!f(got)) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { client, got, until };
}

function meterAndFace(serial: string): { meter: SimMeter; face: MqttMeterFace } {
  const meter = new SimMeter(meterConfig({ serial, initialCredit: 50_000 }), { clock: new ManualClock(T0) });
  const face = new MqttMeterFace({
    meter,
    brokerUrl: url,
    utility: 'demo',
    username: serial,
    password: 'secret-1',
    reconnectPeriodMs: 100,
  });
  return { meter, face };
}

const on = (r: Received[], channel: string) => r.filter((m) => m.topic.endsWith(channel));

describe('MQTT face against a real broker', () => {
  it('connects with its credentials, publishes a retained online status and readings with seq', async () => {
    const w = await watcher('SIM-M1');
    const { face } = meterAndFace('SIM-M1');
    await face.start();
    expect(logins).toContainEqual({ clientId: 'SIM-M1', username: 'SIM-M1', password: 'secret-1' });
    await face.publishReading();
    await face.publishReading();
    await w.until((r) => on(r, 'up/reading').length === 2);
    const readings = on(w.got, 'up/reading').map((m) => m.json as unknown as Reading);
    expect(readings.map((r) => r.seq)).toEqual([0, 1]);
    expect(readings[0]).toMatchObject({ v: 1, creditWh: 50_000, relay: 'connected', energyWh: 0 });

    // A client that subscribes later gets the online status as a retained message.
    const late = await watcher('SIM-M1');
    await late.until((r) => on(r, 'up/status').length > 0);
    expect(on(late.got, 'up/status')[0]).toMatchObject({ retain: true, json: { v: 1, state: 'online' } });
    await face.stop();
    await w.until((r) => on(r, 'up/status').some((m) => m.json.reason === 'shutdown'));
    await w.client.endAsync();
    await late.client.endAsync();
  });

  it('executes a disconnect command once and acknowledges the same way when it is delivered twice', async () => {
    const w = await watcher('SIM-M2');
    const { meter, face } = meterAndFace('SIM-M2');
    const acks: Ack[] = [];
    face.on('ack', (a) => acks.push(a));
    await face.start();
    const cmd = command({ kind: 'disconnect', payload: { reason: 'operator' } });
    const topic = meterTopic('demo', 'SIM-M2', 'down/cmd');
    await w.client.publishAsync(topic, encodeCommand(cmd), { qos: 1 });
    await w.client.publishAsync(topic, encodeCommand(cmd), { qos: 1 });
    await w.until((r) => on(r, 'up/ack').length === 2);

    const events = on(w.got, 'up/event').map((m) => m.json as unknown as MeterEvent);
    expect(events.filter((e) => e.kind === 'relay_changed')).toHaveLength(1);
    expect(events[0]).toMatchObject({
      kind: 'relay_changed',
      details: { relay: 'disconnected', cause: 'command', commandId: cmd.id },
    });
    const published = on(w.got, 'up/ack').map((m) => m.json);
    // docs/mqtt.md: a repeated id is not acted on again and gets the very same acknowledgement, so Rasid
    // records one acknowledgement for the command.
    expect(published[0]).toEqual(published[1]);
    expect(new Set(published.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(published[0]).toMatchObject({ id: cmd.id, status: 'ok', result: { relay: 'disconnected' } });
    expect(meter.relay).toBe('disconnected');
    expect(acks).toHaveLength(2);
    await face.stop();
    await w.client.endAsync();
  });

  it('delivers a token command: token_accepted event with the command id, then the ack', async () => {
    const w = await watcher('SIM-M3');
    const { meter, face } = meterAndFace('SIM-M3');
    await face.start();
    const token = encodeToken(
      { type: 'electricity-credit', rnd: 1, tid: tidFromDate(T0, 2014), value: 100 },
      { key: STS.params.decoderKey },
    ).token;
    const cmd = command({ kind: 'token', payload: { token } });
    await w.client.publishAsync(meterTopic('demo', 'SIM-M3', 'down/cmd'), encodeCommand(cmd), { qos: 1 });
    await w.until((r) => on(r, 'up/ack').length === 1);
    const kinds = w.got
      .filter((m) => m.topic.endsWith('up/event') || m.topic.endsWith('up/ack'))
      .map((m) => m.topic.split('/').pop());
    expect(kinds).toEqual(['event', 'ack']);
    expect(on(w.got, 'up/event')[0]?.json).toMatchObject({
      kind: 'token_accepted',
      details: { commandId: cmd.id, creditWh: 60_000 },
    });
    expect(meter.credit).toBe(60_000);
    await face.stop();
    await w.client.endAsync();
  });

  it('leaves a retained offline last will when the connection drops', async () => {
    const w = await watcher('SIM-M4');
    const { face } = meterAndFace('SIM-M4');
    await face.start();
    await w.until((r) => on(r, 'up/status').some((m) => m.json.state === 'online'));
    await face.stop(false);
    await w.until((r) => on(r, 'up/status').some((m) => m.json.state === 'offline'));
    const will = on(w.got, 'up/status').find((m) => m.json.state === 'offline');
    expect(will?.json).toEqual({ v: 1, state: 'offline', ts: T0 });
    const late = await watcher('SIM-M4');
    await late.until((r) => on(r, 'up/status').length > 0);
    expect(on(late.got, 'up/status')[0]).toMatchObject({ retain: true, json: { state: 'offline' } });
    await w.client.endAsync();
    await late.client.endAsync();
  });

  it('gives up when the broker refuses its credentials', async () => {
    const meter = new SimMeter(meterConfig({ serial: 'SIM-M6' }), { clock: new ManualClock(T0) });
    const face = new MqttMeterFace({
      meter,
      brokerUrl: url,
      utility: 'demo',
      username: 'SIM-M6',
      password: 'wrong',
    });
    face.on('error', () => {});
    await expect(face.start()).rejects.toMatchObject({ code: 5 });
    expect(face.connected).toBe(false);
  });

  it('reconnects after the broker drops it and announces itself online again', async () => {
    const w = await watcher('SIM-M5');
    const { face } = meterAndFace('SIM-M5');
    await face.start();
    const reconnected = new Promise<void>((resolve) => face.once('connect', () => resolve()));
    for (const client of Object.values(
      (broker as unknown as { clients: Record<string, { id: string; close(): void }> }).clients,
    )) {
      if (client.id === 'SIM-M5') client.close();
    }
    await reconnected;
    await w.until((r) => on(r, 'up/status').filter((m) => m.json.state === 'online').length >= 2);
    expect(face.stats.connects).toBe(2);
    await face.stop();
    await w.client.endAsync();
  });
});
