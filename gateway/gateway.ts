/**
 * The gateway's composition root: one MQTT connection speaking for every configured meter, one worker
 * per meter, the command desk and the metrics. Read top to bottom: drivers, workers, desk, then the
 * broker connection.
 *
 * MQTT side (docs/mqtt.md):
 * - client id = gateway id, the configured credentials, last will = `offline` (retained, QoS 1) on
 *   `rasid/v1/<utility>/gateways/<gatewayId>/status`; right after each CONNACK the gateway publishes
 *   `online` there (retained), each meter's current status on its `up/status` (retained), then subscribes
 *   to each meter's `down/cmd` (QoS 1, one exact filter per meter).
 * - readings and events go to the meter's `up/reading` and `up/event` (QoS 1); acknowledgements to
 *   `up/ack` (QoS 1).
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import {
  type Ack,
  decodeMessage,
  encodeAck,
  encodeEvent,
  encodeReading,
  encodeStatus,
  gatewayStatusTopic,
  MAX_SEQ,
  type MeterEvent,
  meterTopic,
  type Reading,
} from '../protocols/mqtt/index.ts';
import { CommandDesk } from './commands.ts';
import type { GatewayConfig, MeterConfig } from './config.ts';
import type { MeterDriver, SequenceSource } from './driver.ts';
import { dlmsClientSessions } from './drivers/cosem-session.ts';
import { type CosemSessionFactory, DlmsDriver } from './drivers/dlms.ts';
import { ModbusDriver } from './drivers/modbus.ts';
import { GatewayMetrics } from './metrics.ts';
import { Semaphore } from './schedule.ts';
import { type GatewayLogger, MeterWorker, silentLogger } from './worker.ts';

/**
 * Numbers messages for a meter whose profile has no counter: seconds since the epoch, or one more than
 * the last number when that is larger. It only goes up, also across gateway restarts (docs/mqtt.md
 * "Sequence numbers": Rasid keeps one reading per meter and seq).
 */
export class ClockSequence implements SequenceSource {
  private last = -1;
  constructor(private readonly now: () => number = Date.now) {}
  next(): number {
    const candidate = Math.max(this.last + 1, Math.floor(this.now() / 1000));
    this.last = candidate > MAX_SEQ ? 0 : candidate;
    return this.last;
  }
}

/** Whether two settings of one meter are the same (the configuration is plain data: JSON compares it). */
function sameSettings(a: MeterConfig, b: MeterConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export interface DriverDeps {
  readonly sequence: SequenceSource;
  readonly now: () => number;
}

/** Builds the driver of one meter. */
export type DriverFactory = (meter: MeterConfig, deps: DriverDeps) => MeterDriver;

/**
 * The default factory: Modbus meters get a {@link ModbusDriver}; DLMS meters a {@link DlmsDriver} over
 * the sessions `dlmsSessions` opens (Rasid's DLMS client unless another is given).
 */
export function driverFactory(dlmsSessions: CosemSessionFactory = dlmsClientSessions): DriverFactory {
  // One entry per protocol the gateway serves (src/meters/protocols.ts): a protocol added there without a
  // driver here does not compile.
  const drivers: {
    [P in MeterConfig['protocol']]: (
      meter: Extract<MeterConfig, { protocol: P }>,
      deps: DriverDeps,
    ) => MeterDriver;
  } = {
    modbus: (meter, deps) => new ModbusDriver({ meter, ...deps }),
    dlms: (meter, deps) => new DlmsDriver({ meter, session: dlmsSessions(meter), ...deps }),
  };
  return (meter, deps) =>
    (drivers[meter.protocol] as (m: MeterConfig, d: DriverDeps) => MeterDriver)(meter, deps);
}

export interface GatewayOptions {
  readonly config: GatewayConfig;
  readonly createDriver: DriverFactory;
  readonly logger?: GatewayLogger;
  readonly metrics?: GatewayMetrics;
  readonly now?: () => number;
  readonly random?: () => number;
}

export class Gateway {
  readonly config: GatewayConfig;
  readonly metrics: GatewayMetrics;
  /** The worker of each meter served now. */
  readonly workers: ReadonlyMap<string, MeterWorker>;
  private readonly workerMap = new Map<string, MeterWorker>();
  private readonly meterConfigs = new Map<string, MeterConfig>();
  private readonly options: GatewayOptions;
  private readonly semaphore: Semaphore;
  private started = false;
  private readonly logger: GatewayLogger;
  private readonly now: () => number;
  private readonly desk: CommandDesk;
  private readonly eventSeq = new Map<string, ClockSequence>();
  private readonly statusTopic: string;
  private client: MqttClient | null = null;

  constructor(options: GatewayOptions) {
    const config = options.config;
    this.config = config;
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? new GatewayMetrics();
    this.now = options.now ?? Date.now;
    this.statusTopic = gatewayStatusTopic(config.utility, config.gatewayId);
    this.semaphore = new Semaphore(config.polling.concurrency);
    for (const meter of config.meters) this.addMeter(meter);
    this.workers = this.workerMap;

    this.desk = new CommandDesk({
      workers: this.workerMap,
      memory: config.commandMemory,
      metrics: this.metrics,
      logger: this.logger,
      now: this.now,
      output: {
        ack: (meterId, ack) => this.publishAck(meterId, ack),
        event: (meterId, event) => this.publishEvent(meterId, event),
      },
    });
  }

  /** The meters served now (the configuration's, then each {@link Gateway.setMeters} list). */
  get meters(): readonly MeterConfig[] {
    return [...this.meterConfigs.values()];
  }

  private addMeter(meter: MeterConfig): MeterWorker {
    const driver = this.options.createDriver(meter, {
      sequence: new ClockSequence(this.now),
      now: this.now,
    });
    const worker = new MeterWorker({
      meter,
      driver,
      semaphore: this.semaphore,
      policy: this.config.polling,
      onReading: (meterId, reading) => this.publishReading(meterId, reading),
      onStatus: (meterId, online) => this.publishMeterStatus(meterId, online),
      metrics: this.metrics,
      logger: this.logger,
      now: this.now,
      ...(this.options.random ? { random: this.options.random } : {}),
    });
    this.workerMap.set(meter.id, worker);
    this.meterConfigs.set(meter.id, meter);
    if (!this.eventSeq.has(meter.id)) this.eventSeq.set(meter.id, new ClockSequence(this.now));
    return worker;
  }

  /**
   * Replaces the list of meters served, as a gateway whose meters come from Rasid does after each fetch:
   * a meter no longer listed is stopped (after its operation in progress) and its commands unsubscribed;
   * a new meter, or one whose settings changed, gets a fresh worker, polled and subscribed at once. Meters
   * whose settings are the same keep their worker, connection and schedule. Nothing is published for a
   * meter taken off: it may be served by another gateway already (docs/gateway.md).
   */
  async setMeters(
    meters: readonly MeterConfig[],
  ): Promise<{ added: string[]; removed: string[]; changed: string[] }> {
    const next = new Map(meters.map((m) => [m.id, m]));
    const added: string[] = [];
    const removed: string[] = [];
    const changed: string[] = [];
    for (const [id, current] of this.meterConfigs) {
      const wanted = next.get(id);
      if (wanted === undefined) removed.push(id);
      else if (!sameSettings(current, wanted)) changed.push(id);
    }
    for (const id of next.keys()) if (!this.meterConfigs.has(id)) added.push(id);
    const client = this.client;
    const utility = this.config.utility;
    for (const id of [...removed, ...changed]) {
      const worker = this.workerMap.get(id);
      this.workerMap.delete(id);
      this.meterConfigs.delete(id);
      await worker?.stop();
    }
    if (client !== null && removed.length > 0) {
      client.unsubscribe(removed.map((id) => meterTopic(utility, id, 'down/cmd')));
    }
    for (const id of [...changed, ...added]) {
      const meter = next.get(id);
      if (meter === undefined) continue;
      const worker = this.addMeter(meter);
      if (this.started) worker.start();
    }
    if (client !== null && added.length > 0) {
      client.subscribe(
        added.map((id) => meterTopic(utility, id, 'down/cmd')),
        { qos: 1 },
        (err) => {
          if (err) this.logger.error({ err: err.message }, 'subscribing to new meters\u2019 commands failed');
        },
      );
    }
    if (added.length + removed.length + changed.length > 0) {
      this.logger.info(
        {
          gateway: this.config.gatewayId,
          added: added.length,
          removed: removed.length,
          changed: changed.length,
        },
        'meter list changed',
      );
    }
    return { added, removed, changed };
  }

  /** Starts polling every meter, connects to the broker and resolves after the first CONNACK. */
  async start(): Promise<void> {
    this.started = true;
    for (const worker of this.workers.values()) worker.start();
    const { broker, gatewayId } = this.config;
    const options: IClientOptions = {
      clientId: gatewayId,
      keepalive: broker.keepaliveS,
      reconnectPeriod: broker.reconnectMs,
      clean: !broker.persistentSession,
      will: { topic: this.statusTopic, payload: this.statusPayload('offline'), qos: 1, retain: true },
      ...(broker.username === undefined ? {} : { username: broker.username }),
      ...(broker.password === undefined ? {} : { password: broker.password }),
    };
    const client = connect(broker.url, options);
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    client.on('close', () => {
      // The will carries the time of the CONNECT it is sent in (docs/mqtt.md "Status and last will").
      if (client.options.will) client.options.will.payload = this.statusPayload('offline');
    });
    client.on('error', (err) => this.logger.warn({ err: err.message }, 'broker connection error'));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  }

  /**
   * Stops polling, waits for the commands in progress, tells the broker every meter and the gateway are
   * offline (`reason: "shutdown"`) and disconnects.
   */
  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
    await this.desk.drain();
    const client = this.client;
    this.client = null;
    if (client === null) return;
    if (client.connected) {
      const published: Promise<unknown>[] = [];
      for (const meterId of this.workers.keys()) {
        published.push(
          client.publishAsync(
            meterTopic(this.config.utility, meterId, 'up/status'),
            this.statusPayload('offline', 'shutdown'),
            {
              qos: 1,
              retain: true,
            },
          ),
        );
      }
      published.push(
        client.publishAsync(this.statusTopic, this.statusPayload('offline', 'shutdown'), {
          qos: 1,
          retain: true,
        }),
      );
      await Promise.allSettled(published);
    }
    await client.endAsync();
  }

  private statusPayload(state: 'online' | 'offline', reason?: string): Buffer {
    return encodeStatus({ v: 1, state, ts: this.now(), ...(reason === undefined ? {} : { reason }) });
  }

  private onConnect(client: MqttClient): void {
    this.logger.info({ gateway: this.config.gatewayId }, 'connected to the broker');
    const { utility } = this.config;
    this.publish(this.statusTopic, this.statusPayload('online'), true);
    for (const [meterId, worker] of this.workers) {
      if (worker.isOnline !== null) this.publishMeterStatus(meterId, worker.isOnline);
    }
    const filters = [...this.workers.keys()].map((meterId) => meterTopic(utility, meterId, 'down/cmd'));
    client.subscribe(filters, { qos: 1 }, (err) => {
      if (err) this.logger.error({ err: err.message }, 'subscribing to the meters\u2019 commands failed');
    });
  }

  private onMessage(topic: string, payload: Buffer): void {
    const decoded = decodeMessage(topic, payload);
    if (!decoded.ok) {
      this.metrics.badCommands.inc({ reason: decoded.reason });
      this.logger.warn({ topic, reason: decoded.reason, detail: decoded.detail }, 'refused a message');
      return;
    }
    if (decoded.channel !== 'down/cmd' || decoded.utility !== this.config.utility) return;
    if (!this.workers.has(decoded.meterId)) return;
    void this.desk.handle(decoded.meterId, decoded.message);
  }

  private publish(topic: string, payload: Buffer, retain: boolean): void {
    const client = this.client;
    if (client === null) return;
    // QoS 1: while the broker is away mqtt.js keeps the message and sends it after reconnecting.
    client.publish(topic, payload, { qos: 1, retain }, (err) => {
      if (err) this.logger.warn({ topic, err: err.message }, 'publish failed');
    });
  }

  private publishReading(meterId: string, reading: Reading): void {
    let payload: Buffer;
    try {
      payload = encodeReading(reading);
    } catch (err) {
      this.logger.error({ meter: meterId, err: (err as Error).message }, 'reading refused by the contract');
      return;
    }
    this.publish(meterTopic(this.config.utility, meterId, 'up/reading'), payload, false);
  }

  private publishMeterStatus(meterId: string, online: boolean): void {
    this.publish(
      meterTopic(this.config.utility, meterId, 'up/status'),
      this.statusPayload(online ? 'online' : 'offline'),
      true,
    );
  }

  private publishAck(meterId: string, ack: Ack): void {
    this.publish(meterTopic(this.config.utility, meterId, 'up/ack'), encodeAck(ack), false);
  }

  private publishEvent(meterId: string, event: Omit<MeterEvent, 'seq'>): void {
    const seq = this.eventSeq.get(meterId)?.next() ?? 0;
    let payload: Buffer;
    try {
      payload = encodeEvent({ ...event, seq } as MeterEvent);
    } catch (err) {
      this.logger.error({ meter: meterId, err: (err as Error).message }, 'event refused by the contract');
      return;
    }
    this.publish(meterTopic(this.config.utility, meterId, 'up/event'), payload, false);
  }
}
