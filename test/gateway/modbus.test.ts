/**
 * The gateway end to end over real sockets: simulated meters served over Modbus TCP by the simulator's
 * face, a real aedes broker, and an mqtt.js client standing in for Rasid.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/index.ts';
import { decodeMessage } from '../../protocols/mqtt/index.ts';
import {
  command,
  creditToken,
  gatewayConfig,
  modbusGateway,
  retained,
  startBroker,
  startSilentServer,
  startSimMeter,
  type TestBroker,
  Watcher,
} from './support.ts';

let broker: TestBroker;
let watcher: Watcher;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  broker = await startBroker();
  watcher = await Watcher.start(broker.url);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await watcher.close();
  await broker.close();
});

async function running(gateway: Gateway): Promise<Gateway> {
  await gateway.start();
  cleanups.push(() => gateway.stop());
  return gateway;
}

async function simMeter(serial: string, credit?: number) {
  const sim = await startSimMeter(serial, credit);
  cleanups.push(() => sim.server.close());
  return sim;
}

const payload = (json: Record<string, unknown>) => Buffer.from(JSON.stringify(json));

describe('readings', () => {
  it('reads a Modbus TCP meter and publishes readings in the contract shape, seq going up', async () => {
    const { server } = await simMeter('GW-R1');
    const config = gatewayConfig(broker.url, [{ id: 'GW-R1', port: server.port, pollIntervalS: 0.05 }]);
    await running(modbusGateway(config));

    await watcher.until(() => watcher.on('GW-R1', 'up/reading').length >= 2);
    const readings = watcher.on('GW-R1', 'up/reading');
    for (const r of readings) {
      const decoded = decodeMessage(r.topic, payload(r.json));
      expect(decoded.ok, JSON.stringify(decoded)).toBe(true);
      expect(r.retain).toBe(false);
    }
    const [first, second] = readings;
    expect(first?.json).toMatchObject({ v: 1, relay: 'connected', flags: [], creditWh: expect.any(Number) });
    expect(first?.json.energyWh).toEqual(expect.any(Number));
    expect(first?.json.voltageDv).toBeGreaterThan(0);
    expect(second?.json.seq).toBeGreaterThan(first?.json.seq as number);

    // The gateway's status and the meter's, both online and retained for clients that come later.
    expect(await retained(broker.url, `rasid/v1/demo/gateways/${config.gatewayId}/status`)).toMatchObject({
      v: 1,
      state: 'online',
    });
    expect(await retained(broker.url, 'rasid/v1/demo/meters/GW-R1/up/status')).toMatchObject({
      state: 'online',
    });
  });

  it('answers read_now with a reading and an ok acknowledgement carrying its seq', async () => {
    const { server } = await simMeter('GW-R2');
    await running(modbusGateway(gatewayConfig(broker.url, [{ id: 'GW-R2', port: server.port }])));
    const cmd = command({ kind: 'read_now', payload: {} });
    await watcher.send('GW-R2', cmd);
    await watcher.until(() => watcher.on('GW-R2', 'up/ack').some((a) => a.json.id === cmd.id));
    const ack = watcher.on('GW-R2', 'up/ack').find((a) => a.json.id === cmd.id)?.json ?? {};
    expect(ack).toMatchObject({ status: 'ok', result: { seq: expect.any(Number) } });
    const seqs = watcher.on('GW-R2', 'up/reading').map((r) => r.json.seq);
    expect(seqs).toContain((ack.result as { seq: number }).seq);
  });
});

describe('commands', () => {
  it('a disconnect delivered twice reaches the relay coil once and has one acknowledgement', async () => {
    const { meter, server } = await simMeter('GW-C1');
    await running(modbusGateway(gatewayConfig(broker.url, [{ id: 'GW-C1', port: server.port }])));
    // Let the first scheduled poll pass so that only commands talk to the meter from here on.
    await watcher.until(() => watcher.on('GW-C1', 'up/reading').length >= 1);

    const before = server.stats.requests;
    const cmd = command({ kind: 'disconnect', payload: { reason: 'operator' } });
    await watcher.send('GW-C1', cmd);
    await watcher.send('GW-C1', cmd);
    await watcher.until(() => watcher.on('GW-C1', 'up/ack').some((a) => a.json.id === cmd.id));
    expect(meter.relay).toBe('disconnected');
    const afterDisconnect = server.stats.requests;

    // A reconnect, delivered once, for comparison: one coil write and one read back.
    const again = command({ kind: 'reconnect', payload: { reason: 'operator' } });
    await watcher.send('GW-C1', again);
    await watcher.until(() => watcher.on('GW-C1', 'up/ack').some((a) => a.json.id === again.id));
    expect(meter.relay).toBe('connected');
    expect(afterDisconnect - before).toBe(server.stats.requests - afterDisconnect);

    // Delivered a third time after the meter was reconnected: still not done again.
    await watcher.send('GW-C1', cmd);
    await watcher.until(() => watcher.on('GW-C1', 'up/ack').filter((a) => a.json.id === cmd.id).length >= 2);
    expect(meter.relay).toBe('connected');

    const acks = watcher.on('GW-C1', 'up/ack').filter((a) => a.json.id === cmd.id);
    // Every acknowledgement of the id is the same one (same ts, status and result): Rasid records one.
    expect(new Set(acks.map((a) => JSON.stringify(a.json))).size).toBe(1);
    expect(acks[0]?.json).toMatchObject({
      v: 1,
      id: cmd.id,
      status: 'ok',
      result: { relay: 'disconnected' },
    });
    const relayEvents = watcher
      .on('GW-C1', 'up/event')
      .filter((e) => (e.json.details as { commandId?: string }).commandId === cmd.id);
    expect(relayEvents).toHaveLength(1);
    expect(relayEvents[0]?.json).toMatchObject({
      kind: 'relay_changed',
      details: { relay: 'disconnected', cause: 'command' },
    });
  });

  it('a token command writes the token registers and acknowledges with the meter’s verdict', async () => {
    const { meter, server } = await simMeter('GW-T1', 10_000);
    await running(modbusGateway(gatewayConfig(broker.url, [{ id: 'GW-T1', port: server.port }])));
    const token = creditToken(50);

    const first = command({ kind: 'token', payload: { token } });
    await watcher.send('GW-T1', first);
    await watcher.until(() => watcher.on('GW-T1', 'up/ack').some((a) => a.json.id === first.id));
    expect(watcher.on('GW-T1', 'up/ack').find((a) => a.json.id === first.id)?.json).toMatchObject({
      status: 'ok',
      result: { tokenResult: 'accepted' },
    });
    expect(server.lastOutcome).toMatchObject({ token, accepted: true, source: 'modbus' });
    const credit = meter.credit;
    expect(credit).toBeGreaterThanOrEqual(10_000 + 5000 - 10);

    // The same token under a new command id: the meter refuses it as used.
    const second = command({ kind: 'token', payload: { token } });
    await watcher.send('GW-T1', second);
    await watcher.until(() => watcher.on('GW-T1', 'up/ack').some((a) => a.json.id === second.id));
    expect(watcher.on('GW-T1', 'up/ack').find((a) => a.json.id === second.id)?.json).toMatchObject({
      status: 'error',
      error: { code: 'token_rejected', rejection: 'used' },
    });
    expect(meter.credit).toBeLessThanOrEqual(credit);
    const events = watcher.on('GW-T1', 'up/event').map((e) => e.json);
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'token_accepted', details: { token, commandId: first.id } }),
        expect.objectContaining({
          kind: 'token_rejected',
          details: { code: 'used', token, commandId: second.id },
        }),
      ]),
    );
  });

  it('sets the meter clock on time_sync and refuses an expired command without acting', async () => {
    const { meter, server } = await simMeter('GW-S1');
    await running(modbusGateway(gatewayConfig(broker.url, [{ id: 'GW-S1', port: server.port }])));
    const sync = command({ kind: 'time_sync', payload: { time: '2026-11-23T08:00:00Z' } });
    await watcher.send('GW-S1', sync);
    const expired = {
      ...command({ kind: 'disconnect', payload: { reason: 'operator' } }),
      issuedAt: '2020-01-01T00:00:00Z',
      expiresAt: '2020-01-02T00:00:00Z',
    };
    await watcher.send('GW-S1', expired);
    await watcher.until(() => {
      const ids = watcher.on('GW-S1', 'up/ack').map((a) => a.json.id);
      return ids.includes(sync.id) && ids.includes(expired.id);
    });
    const acks = watcher.on('GW-S1', 'up/ack');
    expect(acks.find((a) => a.json.id === sync.id)?.json).toMatchObject({ status: 'ok' });
    expect(meter.clockMs).toBe(Date.parse('2026-11-23T08:00:00Z'));
    expect(acks.find((a) => a.json.id === expired.id)?.json).toMatchObject({
      status: 'error',
      error: { code: 'expired' },
    });
    expect(meter.relay).toBe('connected');
  });
});

describe('a meter that never answers', () => {
  it('does not delay a live meter: its readings and commands go on while the dead poll still waits', async () => {
    const dead = await startSilentServer();
    cleanups.push(() => dead.close());
    const { meter, server } = await simMeter('GW-L1');
    // The dead meter's timeout is far longer than this test: its first poll never ends while we watch.
    const gateway = await running(
      modbusGateway(
        gatewayConfig(
          broker.url,
          [
            { id: 'GW-D1', port: dead.port, pollIntervalS: 0.05, timeoutMs: 600_000 },
            { id: 'GW-L1', port: server.port, pollIntervalS: 0.05 },
          ],
          { concurrency: 2 },
        ),
      ),
    );
    await watcher.until(() => dead.bytesIn() > 0);
    const start = watcher.on('GW-L1', 'up/reading').length;
    await watcher.until(() => watcher.on('GW-L1', 'up/reading').length >= start + 5);
    const cmd = command({ kind: 'disconnect', payload: { reason: 'test' } });
    await watcher.send('GW-L1', cmd);
    await watcher.until(() => watcher.on('GW-L1', 'up/ack').some((a) => a.json.id === cmd.id));
    expect(meter.relay).toBe('disconnected');

    // The dead meter's one poll is still outstanding: no success, no failure, no reading.
    const text = await gateway.metrics.registry.metrics();
    expect(text).not.toMatch(/rasid_gateway_poll_(success|failure)_total\{[^}]*meter="GW-D1"/);
    expect(text).toMatch(/rasid_gateway_poll_success_total\{meter="GW-L1"\} [1-9]/);
    expect(watcher.on('GW-D1', 'up/reading')).toHaveLength(0);
  });

  it('with one slot, a timeout frees it: the live meter is read and the dead one goes offline', async () => {
    const dead = await startSilentServer();
    cleanups.push(() => dead.close());
    const { server } = await simMeter('GW-L2');
    const gateway = await running(
      modbusGateway(
        gatewayConfig(
          broker.url,
          [
            { id: 'GW-D2', port: dead.port, pollIntervalS: 0.05, timeoutMs: 200 },
            { id: 'GW-L2', port: server.port, pollIntervalS: 0.05 },
          ],
          { concurrency: 1 },
        ),
      ),
    );
    await watcher.until(() => watcher.on('GW-D2', 'up/status').some((s) => s.json.state === 'offline'));
    await watcher.until(() => watcher.on('GW-L2', 'up/reading').length >= 3);
    const text = await gateway.metrics.registry.metrics();
    expect(text).toMatch(/rasid_gateway_poll_failure_total\{meter="GW-D2",reason="timeout"\} [1-9]/);
    expect(text).toMatch(/rasid_gateway_meter_up\{meter="GW-D2"\} 0/);
    expect(text).toMatch(/rasid_gateway_meter_up\{meter="GW-L2"\} 1/);
    expect(text).toMatch(/rasid_gateway_poll_duration_seconds_count\{meter="GW-L2",outcome="ok"\} [1-9]/);
  });
});

describe('a meter that is not there', () => {
  it('is retried with backoff and reported offline; a command for it is acknowledged unreachable (not final)', async () => {
    const dead = await startSilentServer();
    const port = dead.port;
    await dead.close(); // nothing listens on the port any more: connections are refused
    const gateway = await running(
      modbusGateway(
        gatewayConfig(broker.url, [{ id: 'GW-X1', port, pollIntervalS: 0.05 }], { backoffInitialMs: 20 }),
      ),
    );
    await watcher.until(() => watcher.on('GW-X1', 'up/status').some((s) => s.json.state === 'offline'));
    const cmd = command({ kind: 'reconnect', payload: { reason: 'operator' } }, randomUUID());
    await watcher.send('GW-X1', cmd);
    await watcher.until(() => watcher.on('GW-X1', 'up/ack').some((a) => a.json.id === cmd.id));
    expect(watcher.on('GW-X1', 'up/ack').find((a) => a.json.id === cmd.id)?.json).toMatchObject({
      status: 'error',
      error: { code: 'unreachable' },
    });
    const text = await gateway.metrics.registry.metrics();
    expect(text).toMatch(/rasid_gateway_poll_failure_total\{meter="GW-X1",reason="unreachable"\} [1-9]/);
  });
});
