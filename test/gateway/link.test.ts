/**
 * The command desk when the link to a meter fails (docs/commands.md): a real worker over a driver whose
 * answers are scripted to fail at the worst moment, and a Modbus meter (the simulator's face over real
 * Modbus/TCP) that goes down and comes back behind a gateway on a real broker.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusMeterServer } from '../../firmware-sim/modbus/index.ts';
import { CommandDesk, DriverError, type MeterDriver, MeterWorker, Semaphore } from '../../gateway/index.ts';
import type { Ack, Reading } from '../../protocols/mqtt/index.ts';
import {
  command,
  gatewayConfig,
  modbusGateway,
  startBroker,
  startSimMeter,
  type TestBroker,
  Watcher,
} from './support.ts';

/** A driver whose connection can be taken away and whose operations fail as told. */
class ScriptedDriver implements MeterDriver {
  readonly meterId = 'M-1';
  readonly protocol = 'modbus' as const;
  connected = false;
  up = true;
  /** The meter goes away with the next failure (its answer lost, then nothing). */
  goneWithFailure = false;
  readonly calls: string[] = [];
  /** The next operations' failures, in order (undefined: succeed). */
  readonly failures: (DriverError | undefined)[] = [];

  async connect(): Promise<void> {
    if (!this.up) throw new Error('connect ECONNREFUSED 127.0.0.1:502');
    this.connected = true;
  }
  async close(): Promise<void> {
    this.connected = false;
  }
  private async op<T>(name: string, value: T): Promise<T> {
    this.calls.push(name);
    const failure = this.failures.shift();
    if (failure !== undefined) {
      if (this.goneWithFailure) this.up = false;
      throw failure;
    }
    return value;
  }
  ping = () => this.op('ping', undefined);
  readReading = () => this.op<Reading>('read', { v: 1, seq: 1, ts: Date.now(), energyWh: 1 });
  disconnect = () => this.op('disconnect', 'disconnected' as const);
  reconnect = () => this.op('reconnect', 'connected' as const);
  enterToken = () => this.op('token', { accepted: true as const, result: {} });
  syncTime = () => this.op('time_sync', undefined);
  setEmergencyCredit = () => this.op('emergency', undefined);
  setLowCreditThreshold = () => this.op('threshold', undefined);
}

function desk(driver: ScriptedDriver): { desk: CommandDesk; acks: Ack[]; worker: MeterWorker } {
  const meter = gatewayConfig('mqtt://127.0.0.1:1', [{ id: 'M-1', port: 1, timeoutMs: 1000 }]).meters[0]!;
  const worker = new MeterWorker({
    meter,
    driver,
    semaphore: new Semaphore(1),
    policy: { jitter: 0, backoffInitialMs: 3_600_000, backoffMaxMs: 3_600_000, linkCheckS: 3600 },
    onReading: () => {},
    onStatus: () => {},
    random: () => 1,
  });
  const acks: Ack[] = [];
  const d = new CommandDesk({
    workers: new Map([['M-1', worker]]),
    memory: 64,
    output: { ack: (_m, ack) => acks.push(ack), event: () => {} },
  });
  return { desk: d, acks, worker };
}

describe('the command desk after an ambiguous failure', () => {
  it('an ambiguous failure of an idempotent command, then the meter gone: unreachable, and done when delivered again (docs/commands.md row 4)', async () => {
    const driver = new ScriptedDriver();
    const { desk: d, acks, worker } = desk(driver);
    worker.start();
    try {
      const cmd = command({ kind: 'disconnect', payload: { reason: 'operator' } });
      driver.failures.push(new DriverError('timeout', 'disconnect got no answer within 1000 ms'));
      // The timeout closes the connection; the retry finds the meter gone.
      driver.goneWithFailure = true;
      await d.handle('M-1', cmd);
      expect(acks.map((a) => (a.status === 'ok' ? 'ok' : a.error.code))).toEqual(['unreachable']);
      expect(driver.calls.filter((c) => c === 'disconnect')).toEqual(['disconnect']);
      // The meter is back and Rasid delivers the same id again: it is done (not taken for a repeat).
      driver.up = true;
      await d.handle('M-1', cmd);
      expect(acks.at(-1)).toMatchObject({ id: cmd.id, status: 'ok', result: { relay: 'disconnected' } });
      expect(driver.calls.filter((c) => c === 'disconnect')).toEqual(['disconnect', 'disconnect']);
    } finally {
      await worker.stop();
    }
  });

  it('an ambiguous failure of emergency credit is not done again: unknown (docs/commands.md row 5)', async () => {
    const driver = new ScriptedDriver();
    const { desk: d, acks, worker } = desk(driver);
    worker.start();
    try {
      driver.failures.push(new DriverError('timeout', 'emergency credit got no answer within 1000 ms'));
      await d.handle('M-1', command({ kind: 'set_emergency_credit', payload: { enabled: true } }));
      expect(acks).toEqual([
        expect.objectContaining({ status: 'error', error: expect.objectContaining({ code: 'unknown' }) }),
      ]);
      expect(driver.calls.filter((c) => c === 'emergency')).toEqual(['emergency']);
    } finally {
      await worker.stop();
    }
  });
});

describe('the link check between polls', () => {
  it('publishes a meter gone and back within its link-check time, without waiting for the next poll', async () => {
    const driver = new ScriptedDriver();
    const meter = gatewayConfig('mqtt://127.0.0.1:1', [{ id: 'M-1', port: 1, pollIntervalS: 3600 }])
      .meters[0]!;
    const statuses: boolean[] = [];
    let changed: () => void = () => {};
    const worker = new MeterWorker({
      meter,
      driver,
      semaphore: new Semaphore(1),
      policy: { jitter: 0, backoffInitialMs: 3_600_000, backoffMaxMs: 3_600_000, linkCheckS: 0.05 },
      onReading: () => {},
      onStatus: (_id, online) => {
        statuses.push(online);
        changed();
      },
      random: () => 0,
    });
    const next = () => new Promise<void>((resolve) => (changed = resolve));
    let step = next();
    worker.start();
    try {
      await step;
      expect(statuses).toEqual([true]);
      const reads = driver.calls.filter((c) => c === 'read').length;
      // The meter drops off its connection: only a link check can notice before the hour's poll.
      step = next();
      driver.connected = false;
      driver.up = false;
      await step;
      expect(statuses).toEqual([true, false]);
      step = next();
      driver.up = true;
      await step;
      expect(statuses).toEqual([true, false, true]);
      // Found back: polled at once, not at the next hour.
      while (driver.calls.filter((c) => c === 'read').length === reads)
        await new Promise((r) => setTimeout(r, 10));
      expect(driver.calls).toContain('ping');
    } finally {
      await worker.stop();
    }
  });
});

describe('a Modbus meter behind the gateway', () => {
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

  it('a Modbus meter that is down: the command is acknowledged unreachable, the meter reported offline, and done once it is back (docs/commands.md row 7)', async () => {
    const id = `MB-${randomUUID().slice(0, 6)}`;
    const sim = await startSimMeter(id);
    const port = sim.server.port;
    const gateway = modbusGateway(
      gatewayConfig(broker.url, [{ id, port, timeoutMs: 1000 }], { linkCheckS: 1, backoffMaxMs: 500 }),
    );
    await gateway.start();
    let back: ModbusMeterServer | undefined;
    try {
      await watcher.until(() => watcher.on(id, 'up/status').some((m) => m.json.state === 'online'));
      await sim.server.close();
      const cmd = command({ kind: 'disconnect', payload: { reason: 'operator' } });
      await watcher.send(id, cmd);
      await watcher.until(() => watcher.on(id, 'up/ack').some((m) => m.json.id === cmd.id));
      expect(watcher.on(id, 'up/ack')[0]?.json).toMatchObject({
        status: 'error',
        error: { code: 'unreachable' },
      });
      await watcher.until(() => watcher.on(id, 'up/status').at(-1)?.json.state === 'offline');
      expect(sim.meter.relay).toBe('connected');

      back = new ModbusMeterServer({ meter: sim.meter, port });
      await back.start();
      // The link check finds it back and says so.
      await watcher.until(() => watcher.on(id, 'up/status').at(-1)?.json.state === 'online');
      await watcher.send(id, cmd);
      await watcher.until(() =>
        watcher.on(id, 'up/ack').some((m) => m.json.id === cmd.id && m.json.status === 'ok'),
      );
      expect(sim.meter.relay).toBe('disconnected');
    } finally {
      await gateway.stop();
      await back?.close();
    }
  });
});
