/**
 * Running simulated meters: the protocol faces (MQTT, Modbus TCP, DLMS/COSEM) behind one small interface,
 * and a fleet of N meters in one process sharing one clock, one reading schedule and one set of counters.
 * The single-meter CLI uses the same pieces with N = 1.
 *
 * A Modbus or DLMS meter is a server: meter i (from 0) listens on its own port, `basePort + i`, as a meter
 * with its own modem or Ethernet port would. {@link SimFleet.gatewayConfig} writes the matching gateway
 * configuration.
 */

import {
  DlmsServer,
  type SimDlmsSecrets,
  type SimDlmsSecurity,
  SimMeterObjects,
  simAssociations,
} from '../dlms/index.ts';
import { type ModbusFaceStats, ModbusMeterServer } from '../modbus/index.ts';
import {
  type Clock,
  type CreditUnit,
  FileStateStore,
  type MeterKind,
  type MeterStateStore,
  SimMeter,
  type SimMeterConfig,
  StateSaver,
  type StsSetup,
  type SupplyMode,
  seedFrom,
  stsParametersFor,
} from '../model/index.ts';
import { type FaceStats, MqttMeterFace, newFaceStats, pubackQuantile } from '../mqtt/index.ts';
import { SharedSchedule } from './scheduler.ts';

/** Counters of every face of a fleet. */
export interface FleetStats {
  readonly mqtt: FaceStats;
  readonly modbus: ModbusFaceStats;
  readonly dlms: DlmsFaceStats;
  /** Faces that failed to start (refused connection, port in use). */
  startFailures: number;
  /** Scheduled readings skipped because the meter was offline. */
  skipped: number;
}

export function newFleetStats(): FleetStats {
  return {
    mqtt: newFaceStats(),
    modbus: { requests: 0, tokens: 0, errors: 0 },
    dlms: { associations: 0, refused: 0, tokens: 0, errors: 0 },
    startFailures: 0,
    skipped: 0,
  };
}

export interface BrokerSettings {
  readonly url: string;
  readonly utility: string;
  /** Username = prefix + meter serial; no username when undefined. */
  readonly usernamePrefix?: string;
  /** One meter's exact username (wins over the prefix). */
  readonly username?: string;
  readonly password?: string;
}

export interface ModbusSettings {
  readonly host: string;
  /** Meter i (from 0) listens on basePort + i; 0 picks free ports. */
  readonly basePort: number;
  readonly unitId: number;
}

/** Counters of the DLMS faces of a fleet. */
export interface DlmsFaceStats {
  /** Associations accepted, and refused (wrong password, failed HLS pass 3, unknown client). */
  associations: number;
  refused: number;
  /** Tokens entered through the token gateway. */
  tokens: number;
  /** Provider failures and socket errors. */
  errors: number;
}

export interface DlmsSettings {
  readonly host: string;
  /** Meter i (from 0) listens on basePort + i; 0 picks free ports. */
  readonly basePort: number;
  /** HDLC (IEC 62056-46) or the TCP wrapper (IEC 62056-47). */
  readonly framing: 'wrapper' | 'hdlc';
  /** The association a gateway reads and commands through (the public client 16 is always there). */
  readonly security: SimDlmsSecurity;
  readonly secrets: SimDlmsSecrets;
}

/** The demo secrets of docs/dlms-session.md: LLS password, EK and AK. */
export const DEMO_DLMS_SECRETS: SimDlmsSecrets = Object.freeze({
  password: '12345678',
  encryptionKey: Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'),
  authenticationKey: Buffer.from('d0d1d2d3d4d5d6d7d8d9dadbdcdddedf', 'hex'),
});

/** What a protocol face needs from the host. */
export interface FaceContext {
  readonly index: number;
  readonly stats: FleetStats;
  readonly broker?: BrokerSettings;
  readonly modbus?: ModbusSettings;
  readonly dlms?: DlmsSettings;
  /** Simulated seconds between two readings (DLMS: the load profile's capture period). */
  readonly intervalS?: number;
}

/** A started face. */
export interface RunningFace {
  /** Where it can be reached (a broker URL, host:port). */
  readonly endpoint: string;
  /** A server face's TCP address, for a gateway's configuration. */
  readonly listening?: { readonly host: string; readonly port: number };
  /** Settles when the face is first up (MQTT: the first CONNACK); rejects when it gave up. */
  readonly ready: Promise<void>;
  /** Called by the shared schedule once per reading interval. */
  onSchedule(): void;
  stop(graceful: boolean): Promise<void>;
}

export interface ProtocolDriver {
  readonly description: string;
  start(meter: SimMeter, ctx: FaceContext): Promise<RunningFace>;
}

/** The faces a simulated meter can show. */
export const SIM_PROTOCOLS = Object.freeze({
  mqtt: {
    description: "Rasid's MQTT contract, as an MQTT-native meter",
    async start(meter, ctx) {
      const broker = ctx.broker;
      if (!broker) throw new Error('the mqtt protocol needs a broker URL');
      const face = new MqttMeterFace({
        meter,
        brokerUrl: broker.url,
        utility: broker.utility,
        ...(broker.username !== undefined
          ? { username: broker.username }
          : broker.usernamePrefix !== undefined
            ? { username: `${broker.usernamePrefix}${meter.serial}` }
            : {}),
        ...(broker.password !== undefined ? { password: broker.password } : {}),
        stats: ctx.stats.mqtt,
      });
      // Errors are counted in the shared stats; a listener keeps them from being thrown.
      face.on('error', () => {});
      const ready = face.start();
      ready.catch(() => {});
      return {
        endpoint: broker.url,
        ready,
        onSchedule: () => {
          if (face.connected) void face.publishReading();
          else ctx.stats.skipped++;
        },
        stop: (graceful) => face.stop(graceful),
      };
    },
  },
  modbus: {
    description: "a Modbus TCP server with Rasid's register map",
    async start(meter, ctx) {
      const m = ctx.modbus ?? { host: '127.0.0.1', basePort: 0, unitId: 1 };
      const server = new ModbusMeterServer({
        meter,
        host: m.host,
        port: m.basePort === 0 ? 0 : m.basePort + ctx.index,
        unitId: m.unitId,
        stats: ctx.stats.modbus,
      });
      await server.start();
      return {
        endpoint: `${m.host}:${server.port}`,
        listening: { host: m.host, port: server.port },
        ready: Promise.resolve(),
        // A Modbus meter is read when polled; keep its registers integrated meanwhile.
        onSchedule: () => meter.advance(),
        stop: () => server.close(),
      };
    },
  },
  dlms: {
    description: 'a DLMS/COSEM server (wrapper or HDLC over TCP) with the prepaid objects',
    async start(meter, ctx) {
      const d = ctx.dlms ?? {
        host: '127.0.0.1',
        basePort: 0,
        framing: 'wrapper',
        security: 'none',
        secrets: DEMO_DLMS_SECRETS,
      };
      const stats = ctx.stats.dlms;
      const objects = new SimMeterObjects({
        meter,
        capturePeriodS: ctx.intervalS ?? 900,
        onToken: () => {
          stats.tokens++;
        },
      });
      const server = new DlmsServer({
        provider: objects,
        transport: d.framing,
        systemTitle: simSystemTitle(ctx.index),
        associations: simAssociations(d.security, d.secrets),
      });
      server.on('association', () => {
        stats.associations++;
      });
      server.on('association-refused', () => {
        stats.refused++;
      });
      server.on('session-error', () => {
        stats.errors++;
      });
      const address = await server.listen(d.basePort === 0 ? 0 : d.basePort + ctx.index, d.host);
      return {
        endpoint: `${d.host}:${address.port}`,
        listening: { host: d.host, port: address.port },
        ready: Promise.resolve(),
        // A DLMS meter is read when polled; at each period it captures a load profile row.
        onSchedule: () => objects.capture(),
        stop: () => server.close(),
      };
    },
  },
} satisfies Readonly<Record<string, ProtocolDriver>>);
export type SimProtocol = keyof typeof SIM_PROTOCOLS;

/** Server system title of meter i (from 0): `RSD` and five digits, 8 bytes (Green Book §4.3.4). */
export function simSystemTitle(index: number): Buffer {
  return Buffer.from(`RSD${String((index + 1) % 100_000).padStart(5, '0')}`, 'latin1');
}
export const SIM_PROTOCOL_NAMES = Object.freeze(Object.keys(SIM_PROTOCOLS) as SimProtocol[]);

/** What makes one meter, apart from its clock. */
export interface MeterSpec {
  readonly serial: string;
  readonly kind: MeterKind;
  readonly phases?: 1 | 3;
  readonly mode?: SupplyMode;
  readonly creditUnit?: CreditUnit;
  readonly sts: StsSetup;
  readonly seed: number;
  readonly initialCredit?: number;
  readonly initialRegister?: number;
  readonly emergencyCredit?: number;
  readonly lowCreditThreshold?: number;
  readonly tamperRatePerDay?: number;
  readonly bypassShare?: number;
  readonly bypassFromMs?: number;
}

/** Builds a meter, resuming from its stored state when there is one. */
export async function openMeter(
  spec: MeterSpec,
  clock: Clock,
  store: MeterStateStore | null,
): Promise<{ meter: SimMeter; saver: StateSaver | null }> {
  const { params } = stsParametersFor(spec.sts);
  const config: SimMeterConfig = {
    serial: spec.serial,
    kind: spec.kind,
    sts: params,
    seed: spec.seed,
    ...(spec.phases ? { phases: spec.phases } : {}),
    ...(spec.mode ? { mode: spec.mode } : {}),
    ...(spec.creditUnit ? { creditUnit: spec.creditUnit } : {}),
    ...(spec.initialCredit !== undefined ? { initialCredit: spec.initialCredit } : {}),
    ...(spec.initialRegister !== undefined ? { initialRegister: spec.initialRegister } : {}),
    ...(spec.emergencyCredit !== undefined ? { emergencyCredit: spec.emergencyCredit } : {}),
    ...(spec.lowCreditThreshold !== undefined ? { lowCreditThreshold: spec.lowCreditThreshold } : {}),
    ...(spec.tamperRatePerDay !== undefined ? { tamperRatePerDay: spec.tamperRatePerDay } : {}),
    ...(spec.bypassShare !== undefined ? { bypassShare: spec.bypassShare } : {}),
    ...(spec.bypassFromMs !== undefined ? { bypassFromMs: spec.bypassFromMs } : {}),
  };
  const state = store ? await store.load(spec.serial) : null;
  const meter = new SimMeter(config, { clock, state });
  if (!store) return { meter, saver: null };
  const saver = new StateSaver(store, () => meter.toState());
  meter.on('changed', () => saver.request());
  if (!state) saver.request();
  return { meter, saver };
}

export interface FleetOptions {
  readonly meters: number;
  readonly protocol: SimProtocol;
  readonly kind: MeterKind;
  readonly phases?: 1 | 3;
  readonly mode?: SupplyMode;
  readonly creditUnit?: CreditUnit;
  readonly clock: Clock;
  readonly seed: number;
  /** Simulated seconds between readings of one meter. */
  readonly intervalS: number;
  /** Serial of meter i = prefix + i (6 digits). */
  readonly serialPrefix: string;
  /** DRN of meter i = drnBase + i, 11 digits. */
  readonly drnBase: number;
  readonly vendingKey?: string;
  readonly supplyGroupCode?: string;
  readonly initialCredit?: number;
  /** The register a new meter starts from (Wh or litres), by serial: where the history Rasid holds ends. */
  readonly initialRegisters?: ReadonlyMap<string, number>;
  readonly emergencyCredit?: number;
  readonly tamperRatePerDay?: number;
  readonly broker?: BrokerSettings;
  readonly modbus?: ModbusSettings;
  readonly dlms?: DlmsSettings;
  readonly stateDir?: string;
  /** Faces started per real second (default 200): a ramp that spares the broker a connect storm. */
  readonly startRate?: number;
  /** Real milliseconds between two looks of the schedule at the clock. */
  readonly tickMs?: number;
  /**
   * Named meters (e.g. from a credentials file Rasid issued for an imported fleet) instead of
   * prefix + index: meter i is `named[i - 1]`, with its own serial, DRN, kind, mode and MQTT sign-in.
   */
  readonly named?: readonly NamedMeter[];
  /**
   * A district (docs/losses.md): this meter of the fleet is the bulk meter of all the others; its register
   * grows by what they draw divided by (1 − `technicalLoss`).
   */
  readonly bulkSerial?: string;
  readonly technicalLoss?: number;
  /** These meters have a bypass: `share` of their demand goes around the meter from `fromMs` on. */
  readonly bypass?: {
    readonly serials: ReadonlySet<string>;
    readonly share: number;
    readonly fromMs?: number;
  };
}

/** One meter of a fleet given by name rather than by index. */
export interface NamedMeter {
  readonly serial: string;
  readonly drn?: string;
  readonly supplyGroupCode?: string;
  readonly kind?: MeterKind;
  readonly mode?: SupplyMode;
  readonly username?: string;
  readonly password?: string;
}

interface FleetMember {
  readonly meter: SimMeter;
  readonly saver: StateSaver | null;
  readonly named: NamedMeter | undefined;
  face: RunningFace | null;
}

/** A named meter's own MQTT sign-in over the fleet's. */
function brokerFor(broker: BrokerSettings, named: NamedMeter | undefined): BrokerSettings {
  if (!named || (named.username === undefined && named.password === undefined)) return broker;
  return {
    ...broker,
    ...(named.username !== undefined ? { username: named.username } : {}),
    ...(named.password !== undefined ? { password: named.password } : {}),
  };
}

/** N simulated meters in one process: one clock, one schedule, one set of counters. */
export class SimFleet {
  readonly stats = newFleetStats();
  readonly members: FleetMember[] = [];
  private readonly options: FleetOptions;
  private schedule: SharedSchedule<FleetMember> | null = null;
  private stopped = false;

  constructor(options: FleetOptions) {
    if (!Number.isInteger(options.meters) || options.meters < 1) {
      throw new RangeError(`meters: expected a positive integer, got ${options.meters}`);
    }
    this.options = options;
  }

  /** The serial of meter `i` (from 1). */
  serialOf(i: number): string {
    return `${this.options.serialPrefix}${String(i).padStart(6, '0')}`;
  }

  /**
   * Builds every meter, starts the schedule, then starts the faces at `startRate` per second. Resolves
   * when every face is up or has given up (see `stats.startFailures`).
   */
  async start(): Promise<void> {
    const o = this.options;
    const store = o.stateDir ? new FileStateStore(o.stateDir) : null;
    for (let i = 1; i <= o.meters; i++) {
      const named = o.named?.[i - 1];
      const serial = named?.serial ?? this.serialOf(i);
      const mode = named?.mode ?? o.mode;
      const sgc = named?.supplyGroupCode ?? o.supplyGroupCode;
      const { meter, saver } = await openMeter(
        {
          serial,
          kind: named?.kind ?? o.kind,
          ...(o.phases ? { phases: o.phases } : {}),
          ...(mode ? { mode } : {}),
          ...(o.creditUnit ? { creditUnit: o.creditUnit } : {}),
          sts: {
            drn: named?.drn ?? String(o.drnBase + i).padStart(11, '0'),
            ...(o.vendingKey ? { vendingKey: o.vendingKey } : {}),
            ...(sgc ? { supplyGroupCode: sgc } : {}),
          },
          seed: seedFrom(o.seed, serial),
          ...(o.initialCredit !== undefined ? { initialCredit: o.initialCredit } : {}),
          ...(o.initialRegisters?.has(serial) ? { initialRegister: o.initialRegisters.get(serial) } : {}),
          ...(o.emergencyCredit !== undefined ? { emergencyCredit: o.emergencyCredit } : {}),
          ...(o.tamperRatePerDay !== undefined ? { tamperRatePerDay: o.tamperRatePerDay } : {}),
          ...(o.bypass?.serials.has(serial)
            ? {
                bypassShare: o.bypass.share,
                ...(o.bypass.fromMs !== undefined ? { bypassFromMs: o.bypass.fromMs } : {}),
              }
            : {}),
        },
        o.clock,
        store,
      );
      this.members.push({ meter, saver, named, face: null });
    }
    if (o.bulkSerial !== undefined) {
      const bulk = this.members.find((m) => m.meter.serial === o.bulkSerial);
      if (!bulk) throw new RangeError(`bulk meter ${o.bulkSerial} is not in the fleet`);
      bulk.meter.feedFrom(
        this.members.filter((m) => m !== bulk).map((m) => m.meter),
        o.technicalLoss ?? 0,
      );
    }
    this.schedule = new SharedSchedule({
      items: this.members,
      periodMs: o.intervalS * 1000,
      clock: o.clock,
      ...(o.tickMs ? { tickMs: o.tickMs } : {}),
      onDue: (m) => {
        if (!m.face) return;
        m.face.onSchedule();
        m.saver?.request();
      },
    });
    const driver: ProtocolDriver = SIM_PROTOCOLS[o.protocol];
    const rate = o.startRate ?? 200;
    const batch = Math.max(1, Math.ceil(rate / 10));
    const starts: Promise<void>[] = [];
    for (let i = 0; i < this.members.length && !this.stopped; i += batch) {
      for (const [j, member] of this.members.slice(i, i + batch).entries()) {
        const ctx: FaceContext = {
          index: i + j,
          stats: this.stats,
          ...(o.broker ? { broker: brokerFor(o.broker, member.named) } : {}),
          ...(o.modbus ? { modbus: o.modbus } : {}),
          ...(o.dlms ? { dlms: o.dlms } : {}),
          intervalS: o.intervalS,
        };
        starts.push(
          driver
            .start(member.meter, ctx)
            .then((face) => {
              if (this.stopped) return face.stop(false);
              member.face = face;
              return face.ready;
            })
            .catch(() => {
              this.stats.startFailures++;
            }),
        );
      }
      if (i === 0) this.schedule.start();
      if (i + batch < this.members.length) await new Promise((r) => setTimeout(r, 100));
    }
    await Promise.all(starts);
  }

  /** One line for people: connected, readings, acks, errors. */
  summary(): string {
    const s = this.stats;
    const started = this.members.filter((m) => m.face).length;
    const clock = new Date(this.options.clock.now()).toISOString().slice(0, 19);
    if (this.options.protocol === 'dlms') {
      const d = s.dlms;
      return `meters ${this.members.length} | listening ${started} | associations ${d.associations} | refused ${d.refused} | tokens ${d.tokens} | errors ${d.errors + s.startFailures} | sim ${clock}Z`;
    }
    if (this.options.protocol === 'modbus') {
      return `meters ${this.members.length} | listening ${started} | requests ${s.modbus.requests} | tokens ${s.modbus.tokens} | errors ${s.modbus.errors + s.startFailures} | sim ${clock}Z`;
    }
    const p99 = pubackQuantile(s.mqtt, 0.99);
    const p50 = pubackQuantile(s.mqtt, 0.5);
    const puback = p99 === null ? '' : ` | puback p50 ${p50!.toFixed(1)} ms p99 ${p99.toFixed(1)} ms`;
    return `meters ${this.members.length} | connected ${s.mqtt.connected} | readings ${s.mqtt.readings} | acked ${s.mqtt.acked ?? 0} | commands ${s.mqtt.commands} | acks ${s.mqtt.acks} | errors ${s.mqtt.errors + s.startFailures}${puback} | sim ${clock}Z`;
  }

  /**
   * The configuration of a `rasid gateway` that reads and commands every started meter of a Modbus or
   * DLMS fleet (docs/gateway.md), as plain JSON. Secrets are written inline: they are the simulator's.
   */
  gatewayConfig(options: GatewayConfigOptions): SimGatewayConfig {
    const o = this.options;
    if (o.protocol === 'mqtt') throw new Error('an MQTT fleet speaks to the broker itself: no gateway');
    const meters: SimGatewayMeter[] = [];
    for (const member of this.members) {
      const at = member.face?.listening;
      if (!at) continue;
      const meter = member.meter;
      const connection = { type: 'tcp' as const, host: options.meterHost ?? at.host, port: at.port };
      if (o.protocol === 'modbus') {
        meters.push({
          id: meter.serial,
          protocol: 'modbus',
          kind: meter.kind,
          connection,
          unitId: o.modbus?.unitId === 255 ? 1 : (o.modbus?.unitId ?? 1),
        });
        continue;
      }
      const d = o.dlms ?? { framing: 'wrapper', security: 'none', secrets: DEMO_DLMS_SECRETS };
      meters.push({
        id: meter.serial,
        protocol: 'dlms',
        kind: meter.kind,
        connection,
        transport:
          d.framing === 'hdlc'
            ? { framing: 'hdlc', serverLogical: 1 }
            : { framing: 'wrapper', serverWPort: 1 },
        security: dlmsSecurityJson(d.security, d.secrets),
        creditField: meter.creditField,
      });
    }
    return {
      gatewayId: options.gatewayId,
      utility: options.utility,
      broker: {
        url: options.brokerUrl,
        ...(options.username !== undefined ? { username: options.username } : {}),
        ...(options.password !== undefined ? { password: options.password } : {}),
      },
      polling: { intervalS: options.pollIntervalS },
      meters,
    };
  }

  /** Stops the schedule and every face; saves every state. */
  async stop(graceful = true): Promise<void> {
    this.stopped = true;
    this.schedule?.stop();
    await Promise.all(this.members.map((m) => m.face?.stop(graceful)));
    for (const m of this.members) m.saver?.request();
    await Promise.all(this.members.map((m) => m.saver?.flush()));
  }
}

/** The gateway's side of {@link SimFleet.gatewayConfig}. */
export interface GatewayConfigOptions {
  readonly gatewayId: string;
  readonly utility: string;
  readonly brokerUrl: string;
  readonly username?: string;
  readonly password?: string;
  /** Real seconds between two polls of a meter. */
  readonly pollIntervalS: number;
  /** The address the gateway reaches the meters at, when not the one they listen on (0.0.0.0). */
  readonly meterHost?: string;
}

type SimGatewayConnection = { readonly type: 'tcp'; readonly host: string; readonly port: number };

export type SimGatewayMeter =
  | {
      readonly id: string;
      readonly protocol: 'modbus';
      readonly kind: MeterKind;
      readonly connection: SimGatewayConnection;
      readonly unitId: number;
    }
  | {
      readonly id: string;
      readonly protocol: 'dlms';
      readonly kind: MeterKind;
      readonly connection: SimGatewayConnection;
      readonly transport:
        | { readonly framing: 'wrapper'; readonly serverWPort: number }
        | { readonly framing: 'hdlc'; readonly serverLogical: number };
      readonly security: Readonly<Record<string, string>>;
      readonly creditField: string;
    };

/** A gateway configuration file (docs/gateway.md), as JSON. */
export interface SimGatewayConfig {
  readonly gatewayId: string;
  readonly utility: string;
  readonly broker: { readonly url: string; readonly username?: string; readonly password?: string };
  readonly polling: { readonly intervalS: number };
  readonly meters: readonly SimGatewayMeter[];
}

/** The gateway's (client's) system title in the configurations the simulator writes: `GSW00001`. */
export const SIM_GATEWAY_SYSTEM_TITLE = '4753573030303031';

function dlmsSecurityJson(security: SimDlmsSecurity, secrets: SimDlmsSecrets): Record<string, string> {
  if (security === 'none') return { mechanism: 'none' };
  if (security === 'lls') return { mechanism: 'lls', password: secrets.password };
  return {
    mechanism: 'hls-gmac',
    authenticationKey: secrets.authenticationKey.toString('hex'),
    encryptionKey: secrets.encryptionKey.toString('hex'),
    systemTitle: SIM_GATEWAY_SYSTEM_TITLE,
  };
}
