/**
 * The MQTT face of a simulated meter: one mqtt.js client speaking Rasid's contract (docs/mqtt.md).
 *
 * - CONNECT with the meter's username and password, client id = meter id, keep-alive 120 s, last will =
 *   retained `offline` status carrying the time of that CONNECT;
 * - after CONNACK: retained `online` status, then SUBSCRIBE to `down/cmd` (QoS 1);
 * - readings (QoS 1) when the host asks (`publishReading`, driven by a shared schedule), events as the
 *   model emits them, and one acknowledgement per command delivery (a repeated id gets the same ack,
 *   the model acts once);
 * - mqtt.js reconnects on its own; QoS 1 messages published while away go out on reconnect.
 *
 * Counters go into a `FaceStats` object the host may share between many faces (a fleet's summary).
 */
import { EventEmitter } from 'node:events';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import {
  type Ack,
  type ContractMessage,
  decodeMessage,
  type MeterChannel,
  meterTopic,
  outgoing,
  PAYLOAD_VERSION,
} from '../../protocols/mqtt/index.ts';
import type { SimMeter } from '../model/index.ts';

/** Counters of one face or of many (a fleet passes one object to all its faces). */
export interface FaceStats {
  connected: number;
  connects: number;
  readings: number;
  events: number;
  commands: number;
  acks: number;
  errors: number;
  /** Readings the broker acknowledged (PUBACK). */
  acked?: number;
  /** PUBACK latencies of readings as the meter saw them, ms (the latest {@link PUBACK_SAMPLES}). */
  pubackMs?: number[];
}

/** PUBACK latencies kept per stats object. */
export const PUBACK_SAMPLES = 50_000;

/** The q-quantile (0..1) of PUBACK latencies, ms; null when none. */
export function pubackQuantile(stats: FaceStats, q: number): number | null {
  const xs = stats.pubackMs;
  if (xs === undefined || xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function newFaceStats(): FaceStats {
  return {
    connected: 0,
    connects: 0,
    readings: 0,
    events: 0,
    commands: 0,
    acks: 0,
    errors: 0,
    acked: 0,
    pubackMs: [],
  };
}

/**
 * The delay before reconnect attempt `n` (0 = the first): uniform in [base/2, min(max, base·2ⁿ)].
 */
export function jitteredBackoff(baseMs: number, maxMs: number, n: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(n, 30));
  const floor = Math.min(baseMs / 2, ceiling);
  return Math.max(1, Math.round(floor + random() * (ceiling - floor)));
}

export interface MqttFaceOptions {
  readonly meter: SimMeter;
  /** `mqtt://host:port` (or mqtts://, ws://). */
  readonly brokerUrl: string;
  /** Utility code of the topics. */
  readonly utility: string;
  readonly username?: string;
  readonly password?: string;
  /** Default: the meter's serial. */
  readonly clientId?: string;
  /** Seconds (default 120). */
  readonly keepalive?: number;
  /**
   * Real milliseconds before the first reconnect attempt (default 2000); later attempts back off
   * exponentially up to `reconnectMaxMs`, each delay drawn at random ("full jitter"), as real meters do so
   * that an area coming back after a power cut does not reconnect in lockstep.
   */
  readonly reconnectPeriodMs?: number;
  /** Longest delay between reconnect attempts (default 60,000 ms). */
  readonly reconnectMaxMs?: number;
  /** Shared counters; a private object otherwise. */
  readonly stats?: FaceStats;
  /** Extra mqtt.js options (TLS material, protocol version). */
  readonly mqtt?: Partial<IClientOptions>;
}

export interface MqttFaceEvents {
  connect: [];
  close: [];
  /** A failure worth showing (refused connection, publish error, a command that could not be decoded). */
  error: [Error];
  /** An acknowledgement was published (or queued while away). */
  ack: [Ack];
}

export class MqttMeterFace extends EventEmitter<MqttFaceEvents> {
  readonly meter: SimMeter;
  readonly stats: FaceStats;
  private readonly options: MqttFaceOptions;
  private client: MqttClient | null = null;
  private online = false;
  private readonly cmdTopic: string;
  private readonly onEvent = (event: ContractMessage<'up/event'>): void => {
    this.publish('up/event', event);
    this.stats.events++;
  };
  private readonly onReadNow = (): void => {
    void this.publishReading();
  };

  constructor(options: MqttFaceOptions) {
    super();
    this.options = options;
    this.meter = options.meter;
    this.stats = options.stats ?? newFaceStats();
    this.cmdTopic = meterTopic(options.utility, options.meter.serial, 'down/cmd');
  }

  get connected(): boolean {
    return this.online;
  }

  /**
   * Starts connecting. Resolves at the first accepted CONNACK. Rejects (and gives up) when the broker
   * refuses the CONNECT (bad credentials, not authorised) or when `stop` is called first; a broker that
   * cannot be reached is retried every reconnect period meanwhile.
   */
  start(): Promise<void> {
    const o = this.options;
    const client = connect(o.brokerUrl, {
      clientId: o.clientId ?? this.meter.serial,
      keepalive: o.keepalive ?? 120,
      clean: false,
      reconnectPeriod: jitteredBackoff(o.reconnectPeriodMs ?? 2000, o.reconnectMaxMs ?? 60_000, 0),
      connectTimeout: 30_000,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      will: this.will(),
      ...o.mqtt,
    });
    this.client = client;
    this.meter.on('event', this.onEvent);
    this.meter.on('read-now', this.onReadNow);
    let failures = 0;
    client.on('connect', () => {
      failures = 0;
      client.options.reconnectPeriod = jitteredBackoff(
        o.reconnectPeriodMs ?? 2000,
        o.reconnectMaxMs ?? 60_000,
        0,
      );
      this.online = true;
      this.stats.connected++;
      this.stats.connects++;
      // docs/mqtt.md "Connecting": online status (retained) first, then the command subscription.
      this.publish('up/status', {
        v: PAYLOAD_VERSION,
        state: 'online',
        ts: this.meter.clockMs,
        firmware: this.meter.firmware,
      });
      client.subscribe(this.cmdTopic, { qos: 1 }, (err) => {
        if (err) this.fail(err);
      });
      this.emit('connect');
    });
    client.on('close', () => {
      if (this.online) {
        this.online = false;
        this.stats.connected--;
        this.emit('close');
      }
      // The will of the next CONNECT carries that CONNECT's time (docs/mqtt.md "Status and last will").
      client.options.will = this.will();
      // The attempt after the one mqtt.js has just scheduled waits longer, at random.
      failures++;
      client.options.reconnectPeriod = jitteredBackoff(
        o.reconnectPeriodMs ?? 2000,
        o.reconnectMaxMs ?? 60_000,
        failures,
      );
    });
    client.on('error', (err) => this.fail(err));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    return new Promise((resolve, reject) => {
      const ok = (): void => {
        client.off('error', bad);
        client.off('end', ended);
        resolve();
      };
      const bad = (err: Error): void => {
        // A CONNACK refusal carries its return code; network errors are retried.
        if (typeof (err as Error & { code?: unknown }).code !== 'number') return;
        client.off('connect', ok);
        client.off('error', bad);
        client.off('end', ended);
        void this.stop(false).finally(() => reject(err));
      };
      const ended = (): void => {
        client.off('connect', ok);
        client.off('error', bad);
        reject(new Error('stopped before the broker accepted the connection'));
      };
      client.once('connect', ok);
      client.on('error', bad);
      client.once('end', ended);
    });
  }

  private will(): NonNullable<IClientOptions['will']> {
    const m = outgoing(this.options.utility, this.meter.serial, 'up/status', {
      v: PAYLOAD_VERSION,
      state: 'offline',
      ts: this.meter.clockMs,
    });
    return { topic: m.topic, payload: m.payload, qos: 1, retain: true };
  }

  private fail(err: Error): void {
    this.stats.errors++;
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private publish<C extends MeterChannel>(channel: C, message: ContractMessage<C>): Promise<boolean> {
    const client = this.client;
    if (!client) return Promise.resolve(false);
    const m = outgoing(this.options.utility, this.meter.serial, channel, message);
    return new Promise((resolve) => {
      client.publish(m.topic, m.payload, { qos: m.qos, retain: m.retain }, (err) => {
        if (err) this.fail(err);
        resolve(!err);
      });
    });
  }

  /** Takes a reading from the model and publishes it (QoS 1); resolves at PUBACK (or on failure). */
  publishReading(): Promise<void> {
    const reading = this.meter.takeReading();
    this.stats.readings++;
    // PUBACK latency as the meter sees it: only while connected (a reading queued offline waits longer).
    const started = this.online ? performance.now() : null;
    return this.publish('up/reading', reading).then((ok) => {
      if (!ok) return;
      this.stats.acked = (this.stats.acked ?? 0) + 1;
      const xs = this.stats.pubackMs;
      if (started === null || xs === undefined) return;
      if (xs.length >= PUBACK_SAMPLES) xs.splice(0, xs.length - PUBACK_SAMPLES + 1);
      xs.push(performance.now() - started);
    });
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic !== this.cmdTopic) return;
    this.stats.commands++;
    const decoded = decodeMessage(topic, payload);
    if (!decoded.ok || decoded.channel !== 'down/cmd') {
      const id = commandIdOf(payload);
      this.fail(new Error(`command refused: ${decoded.ok ? 'not a command' : decoded.detail}`));
      if (id) {
        const detail = decoded.ok ? 'not a command' : decoded.detail;
        this.sendAck({
          v: PAYLOAD_VERSION,
          id,
          ts: this.meter.clockMs,
          status: 'error',
          error: { code: 'bad_payload', message: detail.slice(0, 256) },
        });
      }
      return;
    }
    // The model acts once per id; a repeated delivery gets the same acknowledgement again.
    this.sendAck(this.meter.execute(decoded.message));
  }

  private sendAck(ack: Ack): void {
    this.stats.acks++;
    void this.publish('up/ack', ack);
    this.emit('ack', ack);
  }

  /**
   * Stops. `graceful` (default): publish a retained `offline` status with reason `shutdown`, then
   * DISCONNECT (no will). Otherwise the socket is destroyed and the broker publishes the will.
   */
  async stop(graceful = true): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = null;
    this.meter.off('event', this.onEvent);
    this.meter.off('read-now', this.onReadNow);
    if (graceful && client.connected) {
      const m = outgoing(this.options.utility, this.meter.serial, 'up/status', {
        v: PAYLOAD_VERSION,
        state: 'offline',
        ts: this.meter.clockMs,
        reason: 'shutdown',
      });
      await new Promise<void>((resolve) =>
        client.publish(m.topic, m.payload, { qos: 1, retain: true }, () => resolve()),
      );
      await client.endAsync();
    } else {
      client.stream?.destroy();
      await client.endAsync(true);
    }
    if (this.online) {
      this.online = false;
      this.stats.connected--;
    }
  }
}

/** The `id` of a command payload that failed validation, if it has a usable one. */
function commandIdOf(payload: Buffer): string | null {
  try {
    const json = JSON.parse(payload.toString('utf8')) as { id?: unknown };
    return typeof json.id === 'string' && /^[0-9a-f-]{36}$/i.test(json.id) ? json.id : null;
  } catch {
    return null;
  }
}
