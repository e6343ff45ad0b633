/**
 * Rasid's simulated prepaid meter: electricity (single- or three-phase) or water, a credit register, the
 * STS acceptance model of protocols/sts for keypad and remote tokens, a relay (or valve) with the causes
 * that hold it open, seeded consumption, tamper alarms, a low-credit threshold, emergency credit, and
 * commands executed once per id. It never logs and never touches the network: it emits events and the
 * faces (MQTT, Modbus, DLMS) carry them.
 *
 * Time: the meter reads an injectable clock (simulated time) and integrates demand from its last step to
 * now whenever it is asked for a value (`advance()`); its own clock may be set apart from that time by a
 * time_sync command (`clockOffsetMs`), which moves timestamps and expiry checks, not consumption.
 */
import { EventEmitter } from 'node:events';
import {
  type Ack,
  type AckErrorCode,
  type Command,
  isCommandExpired,
  MAX_SEQ,
  type MeterEvent,
  PAYLOAD_VERSION,
  type Reading,
  type ReadingFlag,
  type RelayState,
  type TokenRejection,
  timestampMs,
} from '../../protocols/mqtt/index.ts';
import {
  type AcceptResult,
  type CreditTokenType,
  type DecoderKey,
  decodeToken,
  type EncryptionAlgorithm,
  type KeyType,
  type MeterEffect,
  type MeterSnapshot,
  STS_REJECTION,
  StsMeter,
  type StsRejectionCode,
} from '../../protocols/sts/index.ts';
import type { Clock } from './clock.ts';
import { DAILY_SHAPES, demandAt, HOUR_MS, type LoadProfile, MINUTE_MS, voltageAt } from './curves.ts';
import { sequence, uniformAt } from './random.ts';
import { type DisconnectCause, type SimMeterState, STATE_VERSION } from './state.ts';

export type MeterKind = 'electricity' | 'water';
/** token: the meter keeps credit and opens the relay at zero; central: only a command opens it. */
export type SupplyMode = 'token' | 'central';
/** What the credit register counts; the names of the Modbus map's `credit_unit` codes. */
export type CreditUnit = 'wh' | 'litre' | 'currency_minor';
/** Where a token came from. */
export type TokenSource = 'keypad' | 'remote' | 'modbus';
/** Alarms a meter can raise: a latched tamper, an open cover, a magnetic field. */
export type TamperKind = 'tamper' | 'cover_open' | 'magnetic';

/** The STS parameters a meter holds when first installed. */
export interface StsParameters {
  readonly decoderKey: DecoderKey;
  readonly keyType: KeyType;
  readonly keyRevision: number;
  readonly tariffIndex: number;
  readonly keyExpiry: number;
  readonly algorithm?: EncryptionAlgorithm;
  readonly baseDate?: 1993 | 2014 | 2035;
}

export interface SimMeterConfig {
  /** Meter id as used in topics and the identity registers. */
  readonly serial: string;
  readonly kind: MeterKind;
  /** Electricity only: 1 or 3. */
  readonly phases?: 1 | 3;
  readonly mode?: SupplyMode;
  /** Default: wh for electricity, litre for water. */
  readonly creditUnit?: CreditUnit;
  /** Currency credit: decimals of the currency (2 for cents, 3 for fils). One STS tenth = 10^(e-1) minor units. */
  readonly currencyExponent?: number;
  /** Currency credit: price in minor units per kWh (electricity) or per m³ (water). */
  readonly priceMinorPerUnit?: number;
  readonly sts: StsParameters;
  /** Low-credit warning below this, in the credit unit. */
  readonly lowCreditThreshold?: number;
  /** Emergency credit allowance in the credit unit; 0 for none. */
  readonly emergencyCredit?: number;
  /** Credit of a new meter (no state yet), in the credit unit. */
  readonly initialCredit?: number;
  /** The register of a new meter (no state yet): Wh (electricity) or litres (water) already counted. */
  readonly initialRegister?: number;
  /** Seed of this meter's curve and draws. */
  readonly seed: number;
  /** Overrides of the load profile; the mean is drawn from the seed otherwise. */
  readonly load?: Partial<LoadProfile>;
  /** Random tamper alarms per meter per simulated day (0: only when told). */
  readonly tamperRatePerDay?: number;
  /**
   * A bypass (docs/losses.md): this share (0..1) of the premises' demand is wired around the meter from
   * `bypassFromMs` (simulated time; default always). The meter records and charges only the rest; the
   * bypassed part flows whatever the relay, and a bulk meter upstream sees all of it.
   */
  readonly bypassShare?: number;
  readonly bypassFromMs?: number;
  /** Open the relay on a tamper alarm (default true). */
  readonly tamperDisconnects?: boolean;
  /** Nominal voltage in decivolts (default 2300). */
  readonly nominalVoltageDv?: number;
  /** After an overload trip, the relay retries after this much simulated time (default 60 s). */
  readonly overloadRetryMs?: number;
  /** Command ids remembered beyond their expiry (default 256). */
  readonly commandMemory?: number;
  readonly firmware?: string;
}

export interface SimMeterOptions {
  readonly clock: Clock;
  /** A stored state to resume from. */
  readonly state?: SimMeterState | null;
}

/** What one token did, for the keypad display and the faces. */
export interface TokenOutcome {
  readonly source: TokenSource;
  /** The digits as entered, separators removed. */
  readonly token: string;
  readonly accepted: boolean;
  /** The contract's rejection name when refused. */
  readonly rejection?: TokenRejection;
  readonly message: string;
  readonly effect?: MeterEffect;
  /** Credit after, in the credit unit. */
  readonly credit: number;
  readonly commandId?: string;
}

export interface RelayChange {
  readonly relay: RelayState;
  /** The cause added or removed by this change. */
  readonly cause: DisconnectCause;
  /** The causes that hold the relay open now. */
  readonly causes: readonly DisconnectCause[];
  readonly commandId?: string;
}

/** Events of a meter (a typed map for node's EventEmitter). */
export interface SimMeterEvents {
  /** A contract event (`up/event`) with its sequence number, in the order they happened. */
  event: [MeterEvent];
  /** Every token entered, accepted or not. */
  token: [TokenOutcome];
  relay: [RelayChange];
  /** A read_now command was executed: the host publishes a reading. */
  'read-now': [commandId: string];
  /** Something that belongs in the stored state changed (not the registers' steady growth). */
  changed: [];
}

const CREDIT_FIELD = Object.freeze({
  wh: 'creditWh',
  litre: 'creditL',
  currency_minor: 'creditMinor',
} as const);

/** STS rejection codes to the contract's names (hyphen to underscore). */
const REJECTION_NAME: Readonly<Record<StsRejectionCode, TokenRejection>> = Object.freeze({
  format: 'format',
  authentication: 'authentication',
  crc: 'crc',
  range: 'range',
  function: 'function',
  old: 'old',
  used: 'used',
  'key-expired': 'key_expired',
  'key-type': 'key_type',
  ddtk: 'ddtk',
  overflow: 'overflow',
});

/** Contract relay cause of each disconnect cause, when it is added and when it is removed. */
const RELAY_CAUSE = Object.freeze({
  credit: { open: 'credit_exhausted', close: 'credit_restored' },
  remote: { open: 'command', close: 'command' },
  tamper: { open: 'tamper', close: 'tamper' },
  'max-power': { open: 'overload', close: 'overload' },
} as const);

const DEFAULT_MEAN = Object.freeze({ electricity: [250, 900], water: [8, 30] } as const);
const DEFAULT_THRESHOLD = Object.freeze({ wh: 5000, litre: 1000, currency_minor: 500 } as const);

/** The simulated meter. */
export class SimMeter extends EventEmitter<SimMeterEvents> {
  readonly serial: string;
  readonly kind: MeterKind;
  readonly phases: 1 | 3;
  readonly mode: SupplyMode;
  readonly creditUnit: CreditUnit;
  readonly firmware: string;
  readonly profile: LoadProfile;
  private readonly config: SimMeterConfig;
  private readonly clock: Clock;
  private readonly sts: StsMeter;
  private readonly creditType: CreditTokenType;
  /** Credit units per STS tenth (100 Wh, 100 L, or 10^(e-1) minor units). */
  private readonly perTenth: number;
  private readonly seed: number;
  private readonly tamperSeed: number;

  private energyWh = 0;
  private volumeL = 0;
  private creditValue = 0;
  private stsTenths = 0;
  private emergency = { allowance: 0, available: true, inUse: false };
  private lowThreshold: number;
  private lowArmed = true;
  private readonly causes = new Set<DisconnectCause>();
  private alarms = { tamper: false, coverOpen: false, magnetic: false };
  private readingSeq = 0;
  private eventSeq = 0;
  private clockOffsetMs = 0;
  private readonly commands = new Map<string, { expiresAtMs: number; ack: Ack }>();
  private lastMs: number;
  private overloadRetryAt = 0;
  private lastDemand = 0;
  /** Units drawn by the premises since this object was built: through the meter and around it (a bypass). */
  private drawn = 0;
  /** A bulk meter: the meters it feeds, its technical loss, and where its register and their draw stood. */
  private feed: {
    readonly meters: readonly SimMeter[];
    readonly technicalLoss: number;
    readonly register: number;
    readonly drawn: number;
  } | null = null;
  /** The STS maximum power limit, mirrored here so the per-minute check does not copy the STS state. */
  private maxPowerW: number | null = null;

  constructor(config: SimMeterConfig, options: SimMeterOptions) {
    super();
    this.config = config;
    this.serial = config.serial;
    this.kind = config.kind;
    this.phases = config.kind === 'electricity' ? (config.phases ?? 1) : 1;
    this.mode = config.mode ?? 'token';
    this.creditUnit = config.creditUnit ?? (config.kind === 'electricity' ? 'wh' : 'litre');
    this.firmware = config.firmware ?? 'rasid-sim 1.0';
    this.clock = options.clock;
    this.seed = config.seed >>> 0;
    this.tamperSeed = (this.seed ^ 0x7a3d_19c5) >>> 0;
    const draw = sequence(this.seed);
    const [lo, hi] = DEFAULT_MEAN[config.kind];
    this.profile = Object.freeze({
      mean: (lo + (hi - lo) * draw()) * (this.phases === 3 ? 3 : 1),
      daily: config.kind === 'electricity' ? DAILY_SHAPES.residential : DAILY_SHAPES.water,
      seasonAmplitude: config.kind === 'electricity' ? 0.35 : 0.15,
      seasonPeakDay: 200,
      noise: 0.2,
      utcOffsetMinutes: 0,
      ...config.load,
    });
    if (this.creditUnit === 'currency_minor') {
      this.creditType =
        config.kind === 'electricity' ? 'electricity-currency-credit' : 'water-currency-credit';
      this.perTenth = 10 ** ((config.currencyExponent ?? 2) - 1);
    } else {
      this.creditType = config.kind === 'electricity' ? 'electricity-credit' : 'water-credit';
      this.perTenth = 100;
    }
    this.lowThreshold = config.lowCreditThreshold ?? DEFAULT_THRESHOLD[this.creditUnit];
    this.emergency.allowance = config.emergencyCredit ?? 0;
    this.lastMs = this.clock.now();

    const state = options.state;
    if (state) {
      if (state.serial !== config.serial || state.kind !== config.kind) {
        throw new RangeError(
          `state of ${state.kind} meter ${state.serial} does not fit ${config.kind} meter ${config.serial}`,
        );
      }
      this.sts = StsMeter.fromSnapshot(state.sts as MeterSnapshot);
      this.maxPowerW = state.sts.maxPowerLimitW;
      this.energyWh = state.energyWh;
      this.volumeL = state.volumeL;
      this.creditValue = state.credit;
      this.stsTenths = state.stsTenths;
      this.emergency = { ...state.emergency };
      this.lowThreshold = state.lowCreditThreshold;
      this.lowArmed = state.lowCreditArmed;
      for (const c of state.causes) this.causes.add(c);
      this.alarms = { ...state.alarms };
      this.readingSeq = state.readingSeq;
      this.eventSeq = state.eventSeq;
      this.clockOffsetMs = state.clockOffsetMs;
      for (const c of state.commands) this.commands.set(c.id, { expiresAtMs: c.expiresAtMs, ack: c.ack });
    } else {
      const p = config.sts;
      this.sts = new StsMeter({
        key: p.decoderKey,
        keyType: p.keyType,
        keyRevision: p.keyRevision,
        tariffIndex: p.tariffIndex,
        keyExpiry: p.keyExpiry,
        ...(p.algorithm ? { algorithm: p.algorithm } : {}),
        ...(p.baseDate ? { baseDate: p.baseDate } : {}),
      });
      this.creditValue = config.initialCredit ?? 0;
      if (config.kind === 'electricity') this.energyWh = config.initialRegister ?? 0;
      else this.volumeL = config.initialRegister ?? 0;
      this.lowArmed = this.creditValue >= this.lowThreshold;
      if (this.mode === 'token' && this.creditValue <= 0) this.causes.add('credit');
    }
  }

  // ---- reading the meter ----

  /** The meter's own clock (simulated time plus any time_sync offset), ms since the epoch. */
  get clockMs(): number {
    return Math.floor(this.clock.now() + this.clockOffsetMs);
  }

  get relay(): RelayState {
    return this.causes.size === 0 ? 'connected' : 'disconnected';
  }

  get disconnectCauses(): readonly DisconnectCause[] {
    return [...this.causes];
  }

  /** Credit in the credit unit, rounded down to an integer. */
  get credit(): number {
    return Math.floor(this.creditValue);
  }

  /** The contract field that carries this meter's credit. */
  get creditField(): (typeof CREDIT_FIELD)[CreditUnit] {
    return CREDIT_FIELD[this.creditUnit];
  }

  get lowCreditThreshold(): number {
    return this.lowThreshold;
  }

  get emergencyCredit(): Readonly<{ allowance: number; available: boolean; inUse: boolean }> {
    return this.emergency;
  }

  get alarmState(): Readonly<{ tamper: boolean; coverOpen: boolean; magnetic: boolean }> {
    return this.alarms;
  }

  /** STS registers and key state (a copy). */
  stsSnapshot(): MeterSnapshot {
    return this.sts.snapshot();
  }

  /** Cumulative energy (Wh) and volume (L), rounded down. */
  registers(): { energyWh: number; volumeL: number } {
    this.advance();
    return { energyWh: Math.floor(this.energyWh), volumeL: Math.floor(this.volumeL) };
  }

  /** Instantaneous values now: power W, voltage dV, current mA (electricity); flow L/h (water). */
  instantaneous(): { powerW: number; voltageDv: number; currentMa: number; flowLh: number } {
    this.advance();
    const on = this.relay === 'connected';
    const demand = on ? this.lastDemand : 0;
    if (this.kind === 'water') return { powerW: 0, voltageDv: 0, currentMa: 0, flowLh: Math.round(demand) };
    const voltageDv = voltageAt(this.config.nominalVoltageDv ?? 2300, this.seed, this.lastMs);
    const powerW = Math.round(demand);
    // Three-phase: the line current of one phase of a balanced load.
    const currentMa = Math.round((powerW * 10_000) / (voltageDv * this.phases));
    return { powerW, voltageDv, currentMa, flowLh: 0 };
  }

  /** Condition flags now, in bit order. */
  flags(): ReadingFlag[] {
    const f: ReadingFlag[] = [];
    if (this.alarms.tamper) f.push('tamper');
    if (this.creditValue < this.lowThreshold) f.push('low_credit');
    if (this.alarms.coverOpen) f.push('cover_open');
    if (this.alarms.magnetic) f.push('magnetic');
    if (this.emergency.inUse) f.push('emergency_credit');
    return f;
  }

  /** Takes a reading: brings the registers up to now and gives it the next sequence number. */
  takeReading(): Reading {
    this.advance();
    const seq = this.readingSeq;
    this.readingSeq = seq >= MAX_SEQ ? 0 : seq + 1;
    const reading: Reading = { v: PAYLOAD_VERSION, seq, ts: this.clockMs };
    const now = this.instantaneous();
    if (this.kind === 'electricity') {
      reading.energyWh = Math.floor(this.energyWh);
      reading.powerW = now.powerW;
      reading.voltageDv = now.voltageDv;
      reading.currentMa = now.currentMa;
    } else {
      reading.volumeL = Math.floor(this.volumeL);
    }
    reading[this.creditField] = this.credit;
    reading.relay = this.relay;
    reading.flags = this.flags();
    return reading;
  }

  // ---- time ----

  /**
   * Makes this meter the bulk meter of a district's supply point (docs/losses.md): from now on its register
   * grows by what `meters` draw (through their meters and around them), divided by (1 − `technicalLoss`):
   * the network's own losses are that share of what the bulk meter lets in. Its own demand curve, relay and
   * credit no longer move it.
   */
  feedFrom(meters: readonly SimMeter[], technicalLoss: number): void {
    if (!(technicalLoss >= 0 && technicalLoss < 1))
      throw new RangeError('technicalLoss: expected 0 <= x < 1');
    this.advance();
    for (const m of meters) m.advance();
    this.feed = {
      meters,
      technicalLoss,
      register: this.kind === 'electricity' ? this.energyWh : this.volumeL,
      drawn: meters.reduce((a, m) => a + m.drawn, 0),
    };
  }

  /** Units (Wh or litres) the premises drew since the meter was built, metered or bypassed. */
  drawnUnits(): number {
    this.advance();
    return this.drawn;
  }

  /** Integrates demand from the last step to now, minute by minute. */
  advance(): void {
    const to = this.clock.now();
    if (this.feed) {
      let drawn = 0;
      let demand = 0;
      for (const m of this.feed.meters) {
        m.advance();
        drawn += m.drawn;
        demand += m.lastDemand;
      }
      const register = this.feed.register + (drawn - this.feed.drawn) / (1 - this.feed.technicalLoss);
      if (this.kind === 'electricity') this.energyWh = register;
      else this.volumeL = register;
      this.lastDemand = demand / (1 - this.feed.technicalLoss);
      this.lastMs = to;
      return;
    }
    const share = this.config.bypassShare ?? 0;
    while (this.lastMs < to) {
      const minuteStart = Math.floor(this.lastMs / MINUTE_MS) * MINUTE_MS;
      const end = Math.min(to, minuteStart + MINUTE_MS);
      if (this.lastMs === minuteStart) this.startMinute(minuteStart);
      const demand = demandAt(this.profile, this.seed, minuteStart);
      const bypass =
        share > 0 && minuteStart >= (this.config.bypassFromMs ?? Number.NEGATIVE_INFINITY) ? share : 0;
      this.lastDemand = demand * (1 - bypass);
      const from = this.lastMs;
      this.lastMs = this.consume(from, end, this.lastDemand);
      if (bypass > 0) this.drawn += (demand * bypass * (this.lastMs - from)) / HOUR_MS;
    }
  }

  /** Once per simulated minute: random tamper draws and overload checks. */
  private startMinute(minuteStart: number): void {
    const minute = minuteStart / MINUTE_MS;
    const rate = this.config.tamperRatePerDay ?? 0;
    if (rate > 0 && uniformAt(this.tamperSeed, minute) < rate / 1440) {
      const pick = uniformAt(this.tamperSeed ^ 0xabcdef, minute);
      this.raiseAlarm(pick < 0.5 ? 'cover_open' : pick < 0.8 ? 'tamper' : 'magnetic', minuteStart);
    }
    const limit = this.maxPowerW;
    if (this.kind !== 'electricity' || limit === null || limit === 0) {
      if (this.causes.has('max-power')) this.closeCause('max-power');
      return;
    }
    const demand = demandAt(this.profile, this.seed, minuteStart);
    if (this.causes.has('max-power')) {
      if (minuteStart >= this.overloadRetryAt) {
        if (demand <= limit) this.closeCause('max-power');
        else this.overloadRetryAt = minuteStart + (this.config.overloadRetryMs ?? 60_000);
      }
    } else if (demand > limit && this.relay === 'connected') {
      this.overloadRetryAt = minuteStart + (this.config.overloadRetryMs ?? 60_000);
      this.openCause('max-power');
    }
  }

  /** Consumes from `from` to `to` at `demand`; returns where it stopped (earlier when credit runs out). */
  private consume(from: number, to: number, demand: number): number {
    if (this.relay !== 'connected' || demand <= 0) return to;
    let units = (demand * (to - from)) / HOUR_MS; // Wh or L
    let cost = this.costOf(units);
    let stop = to;
    if (this.mode === 'token') {
      const floor = this.emergency.inUse ? -this.emergency.allowance : 0;
      const headroom = this.creditValue - floor;
      if (cost >= headroom) {
        const share = headroom > 0 ? headroom / cost : 0;
        units *= share;
        cost = Math.max(0, headroom);
        stop = from + (to - from) * share;
      }
    }
    if (this.kind === 'electricity') this.energyWh += units;
    else this.volumeL += units;
    this.drawn += units;
    this.creditValue -= cost;
    this.afterCreditChange();
    if (stop < to) {
      this.openCause('credit');
      return stop > from ? stop : to;
    }
    return to;
  }

  /** Credit used by `units` Wh or L. */
  private costOf(units: number): number {
    if (this.creditUnit !== 'currency_minor') return units;
    // Price per kWh or per m³: both are 1000 of the register's unit.
    return (units / 1000) * (this.config.priceMinorPerUnit ?? 25);
  }

  /** Keeps the STS register in step, checks the low-credit threshold and the emergency state. */
  private afterCreditChange(): void {
    const target = Math.max(0, Math.floor(this.creditValue / this.perTenth));
    if (target < this.stsTenths) {
      this.sts.consume(this.creditType, this.stsTenths - target);
      this.stsTenths = target;
    }
    if (this.creditValue < this.lowThreshold) {
      if (this.lowArmed) {
        this.lowArmed = false;
        this.emitEvent({ kind: 'low_credit', details: { [this.creditField]: this.credit } });
        this.emit('changed');
      }
    } else if (!this.lowArmed) {
      this.lowArmed = true;
    }
  }

  // ---- relay ----

  private openCause(cause: DisconnectCause, commandId?: string): void {
    if (this.causes.has(cause)) return;
    const was = this.relay;
    this.causes.add(cause);
    this.relayChanged(was, cause, RELAY_CAUSE[cause].open, commandId);
  }

  private closeCause(cause: DisconnectCause, commandId?: string): void {
    if (!this.causes.delete(cause)) return;
    this.relayChanged('disconnected', cause, RELAY_CAUSE[cause].close, commandId);
  }

  private relayChanged(
    was: RelayState,
    cause: DisconnectCause,
    contractCause: (typeof RELAY_CAUSE)[DisconnectCause][keyof (typeof RELAY_CAUSE)[DisconnectCause]],
    commandId: string | undefined,
  ): void {
    const now = this.relay;
    if (now !== was) {
      this.emitEvent({
        kind: 'relay_changed',
        details: { relay: now, cause: contractCause, ...(commandId ? { commandId } : {}) },
      });
      this.emit('relay', {
        relay: now,
        cause,
        causes: [...this.causes],
        ...(commandId ? { commandId } : {}),
      });
    }
    this.emit('changed');
  }

  /** Opens the relay by command (remote disconnect). */
  disconnect(commandId?: string): void {
    this.advance();
    this.openCause('remote', commandId);
  }

  /**
   * Removes the remote cause (remote reconnect). The relay closes only if nothing else holds it open (in
   * token mode, no credit holds it open). Returns the causes still holding it.
   */
  reconnect(commandId?: string): readonly DisconnectCause[] {
    this.advance();
    this.closeCause('remote', commandId);
    return this.disconnectCauses;
  }

  // ---- credit ----

  /** Takes emergency credit at the meter (once until the next top-up); false when none is available. */
  takeEmergencyCredit(commandId?: string): boolean {
    this.advance();
    if (this.emergency.allowance <= 0 || !this.emergency.available || this.emergency.inUse) return false;
    this.emergency.inUse = true;
    this.emergency.available = false;
    if (this.mode === 'token') this.closeCause('credit', commandId);
    this.emit('changed');
    return true;
  }

  setLowCreditThreshold(threshold: number): void {
    this.advance();
    this.lowThreshold = threshold;
    this.lowArmed = this.creditValue >= threshold;
    this.emit('changed');
  }

  // ---- alarms ----

  /** Raises an alarm as the meter's sensors would. */
  raiseAlarm(kind: TamperKind, atMs?: number): void {
    if (atMs === undefined) this.advance();
    if (kind === 'cover_open') this.alarms.coverOpen = true;
    if (kind === 'magnetic') this.alarms.magnetic = true;
    this.alarms.tamper = true;
    this.sts.setTamper();
    this.emitEvent({ kind, details: { source: 'sensor' } }, atMs);
    if (this.config.tamperDisconnects ?? true) this.openCause('tamper');
    this.emit('changed');
  }

  /** The cover is closed again (the latched tamper stays until cleared). */
  closeCover(): void {
    this.alarms.coverOpen = false;
    this.emit('changed');
  }

  /** Clears latched alarms (clear-tamper token, or the Modbus alarm reset after an inspection). */
  clearAlarms(): void {
    this.advance();
    this.alarms.tamper = false;
    this.alarms.magnetic = false;
    this.closeCause('tamper');
    this.emit('changed');
  }

  // ---- tokens ----

  /** Enters a token (keypad, a remote token command, or the Modbus token registers). */
  enterToken(input: string, source: TokenSource, commandId?: string): TokenOutcome {
    this.advance();
    const token = input.replace(/[\s-]/g, '');
    const foreign = this.foreignCredit(token);
    const result: AcceptResult = foreign ?? this.sts.enter(token);
    let outcome: TokenOutcome;
    if (!result.accepted) {
      const rejection = REJECTION_NAME[result.code];
      outcome = { source, token, accepted: false, rejection, message: result.message, credit: this.credit };
      this.emitEvent({
        kind: 'token_rejected',
        details: {
          code: rejection,
          ...(/^[0-9]{20}$/.test(token) ? { token } : {}),
          ...(commandId ? { commandId } : {}),
        },
      });
    } else {
      this.applyEffect(result.effect);
      outcome = {
        source,
        token,
        accepted: true,
        message: describeEffect(result.effect, this.creditUnit),
        effect: result.effect,
        credit: this.credit,
      };
      const t = result.token;
      this.emitEvent({
        kind: 'token_accepted',
        details: {
          token,
          ...(t.layout === 'register' ? { tid: t.tid } : {}),
          tokenClass: t.tokenClass,
          subclass: t.subclass,
          ...(commandId ? { commandId } : {}),
          [this.creditField]: this.credit,
        },
      });
    }
    if (commandId) outcome = { ...outcome, commandId };
    this.emit('token', outcome);
    this.emit('changed');
    return outcome;
  }

  /**
   * A credit token for another utility is refused here, before the STS model would add it to a register this
   * meter does not use (protocols/sts has no option for the credit types a meter accepts).
   */
  private foreignCredit(token: string): AcceptResult | null {
    const snap = this.sts.snapshot();
    const decoded = decodeToken(token, {
      key: this.sts.decoderKey,
      algorithm: snap.algorithm,
      baseDate: snap.baseDate,
    });
    if (!decoded.ok || decoded.token.tokenClass !== 0 || decoded.token.type === this.creditType) return null;
    return {
      accepted: false,
      code: STS_REJECTION.function,
      message: `${decoded.token.type} is not accepted by this ${this.kind} meter`,
      token: decoded.token,
    };
  }

  private applyEffect(effect: MeterEffect): void {
    switch (effect.kind) {
      case 'credit': {
        this.creditValue += effect.amount * this.perTenth;
        this.stsTenths = effect.register;
        this.emergency.available = true;
        if (this.creditValue >= 0) this.emergency.inUse = false;
        this.afterCreditChange();
        if (this.creditValue > 0) this.closeCause('credit');
        return;
      }
      case 'clear-credit':
        if (effect.registers.includes(this.creditType)) {
          this.creditValue = 0;
          this.stsTenths = 0;
          this.emergency.inUse = false;
          this.afterCreditChange();
          if (this.mode === 'token') this.openCause('credit');
        }
        return;
      case 'clear-tamper':
        this.alarms.tamper = false;
        this.alarms.magnetic = false;
        this.closeCause('tamper');
        return;
      case 'max-power-limit':
        // Checked at the start of the next simulated minute; 0 removes the limit.
        this.maxPowerW = effect.watts;
        this.overloadRetryAt = 0;
        return;
      default:
        // Key changes, test tokens and the other registers live in the STS model.
        return;
    }
  }

  // ---- commands ----

  /**
   * Executes a command of the MQTT contract at most once per id and returns its acknowledgement; an id seen
   * before gives the same acknowledgement again without acting.
   */
  execute(command: Command): Ack {
    const known = this.commands.get(command.id);
    if (known) return known.ack;
    this.advance();
    const ack = this.run(command);
    this.remember(command.id, timestampMs(command.expiresAt), ack);
    this.emit('changed');
    return ack;
  }

  /** Whether a command id was executed and is still remembered. */
  hasExecuted(id: string): boolean {
    return this.commands.has(id);
  }

  private run(command: Command): Ack {
    const id = command.id;
    const ok = (result?: Record<string, string | number | boolean | null>): Ack => ({
      v: PAYLOAD_VERSION,
      id,
      ts: this.clockMs,
      status: 'ok',
      ...(result ? { result } : {}),
    });
    const error = (code: AckErrorCode, message: string, rejection?: TokenRejection): Ack => ({
      v: PAYLOAD_VERSION,
      id,
      ts: this.clockMs,
      status: 'error',
      error: { code, message: message.slice(0, 256), ...(rejection ? { rejection } : {}) },
    });
    if (isCommandExpired(command, this.clockMs))
      return error('expired', 'the command expired before it arrived');
    switch (command.kind) {
      case 'disconnect':
        this.disconnect(id);
        return ok({ relay: this.relay });
      case 'reconnect': {
        const held = this.reconnect(id);
        if (held.length > 0) return error('refused', `the relay is held open by ${held.join(', ')}`);
        return ok({ relay: this.relay });
      }
      case 'token': {
        const outcome = this.enterToken(command.payload.token, 'remote', id);
        if (!outcome.accepted) return error('token_rejected', outcome.message, outcome.rejection);
        return ok({ [this.creditField]: outcome.credit, relay: this.relay });
      }
      case 'read_now':
        this.emit('read-now', id);
        return ok();
      case 'time_sync':
        this.setClock(timestampMs(command.payload.time));
        return ok({ time: this.clockMs });
      case 'set_emergency_credit': {
        const p = command.payload;
        const amount = { wh: p.amountWh, litre: p.amountL, currency_minor: p.amountMinor }[this.creditUnit];
        const other = [p.amountWh, p.amountL, p.amountMinor].filter((a) => a !== undefined).length;
        if (other > (amount === undefined ? 0 : 1)) {
          return error('bad_payload', `this meter keeps credit as ${this.creditField}`);
        }
        if (amount !== undefined) this.emergency.allowance = amount;
        if (!p.enabled) {
          this.emergency.inUse = false;
          if (this.mode === 'token' && this.creditValue <= 0) this.openCause('credit', id);
          return ok({ emergencyCredit: false });
        }
        this.emergency.available = true;
        if (!this.takeEmergencyCredit(id) && !this.emergency.inUse) {
          return error('refused', 'no emergency credit allowance is set');
        }
        return ok({ emergencyCredit: true, relay: this.relay });
      }
      case 'set_low_credit_threshold': {
        const p = command.payload;
        const t = { wh: p.thresholdWh, litre: p.thresholdL, currency_minor: p.thresholdMinor }[
          this.creditUnit
        ];
        if (t === undefined) return error('bad_payload', `this meter keeps credit as ${this.creditField}`);
        this.setLowCreditThreshold(t);
        return ok({ threshold: t });
      }
    }
  }

  private remember(id: string, expiresAtMs: number, ack: Ack): void {
    this.commands.set(id, { expiresAtMs, ack });
    const limit = this.config.commandMemory ?? 256;
    if (this.commands.size <= limit) return;
    const now = this.clockMs;
    for (const [old, entry] of this.commands) {
      if (this.commands.size <= limit) break;
      // Forget the oldest ids, but never one that has not expired yet.
      if (entry.expiresAtMs <= now) this.commands.delete(old);
    }
  }

  /** Sets the meter's clock (time_sync, the Modbus clock registers); consumption time is not affected. */
  setClock(ms: number): void {
    this.clockOffsetMs = Math.round(ms - this.clock.now());
    this.emit('changed');
  }

  // ---- events and state ----

  private emitEvent(body: DistributiveOmit<MeterEvent, 'v' | 'seq' | 'ts'>, atMs?: number): void {
    const seq = this.eventSeq;
    this.eventSeq = seq >= MAX_SEQ ? 0 : seq + 1;
    const ts = atMs === undefined ? this.clockMs : Math.floor(atMs + this.clockOffsetMs);
    this.emit('event', { v: PAYLOAD_VERSION, seq, ts, ...body } as MeterEvent);
  }

  /** Everything to store so a restart resumes where this meter stopped. */
  toState(): SimMeterState {
    this.advance();
    return {
      version: STATE_VERSION,
      serial: this.serial,
      kind: this.kind,
      sts: this.sts.snapshot() as SimMeterState['sts'],
      energyWh: this.energyWh,
      volumeL: this.volumeL,
      credit: this.creditValue,
      stsTenths: this.stsTenths,
      emergency: { ...this.emergency },
      lowCreditThreshold: this.lowThreshold,
      lowCreditArmed: this.lowArmed,
      causes: [...this.causes],
      alarms: { ...this.alarms },
      readingSeq: this.readingSeq,
      eventSeq: this.eventSeq,
      clockOffsetMs: this.clockOffsetMs,
      commands: [...this.commands].map(([id, c]) => ({ id, expiresAtMs: c.expiresAtMs, ack: c.ack })),
    };
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** One line for the keypad display. */
export function describeEffect(effect: MeterEffect, unit: CreditUnit): string {
  switch (effect.kind) {
    case 'credit': {
      const shown =
        unit === 'wh'
          ? `${effect.amount / 10} kWh`
          : unit === 'litre'
            ? `${effect.amount / 10} kL`
            : `${effect.amount / 10} currency units`;
      return `credit +${shown}`;
    }
    case 'test':
      return `test token (control ${effect.control.toString(16)}, manufacturer ${effect.manufacturer})`;
    case 'max-power-limit':
      return `maximum power ${effect.watts} W`;
    case 'max-phase-unbalance':
      return `maximum phase unbalance ${effect.watts} W`;
    case 'clear-credit':
      return 'credit cleared';
    case 'tariff-rate':
      return `tariff rate ${effect.rate}`;
    case 'clear-tamper':
      return 'tamper cleared';
    case 'water-factor':
      return `water factor ${effect.factor}`;
    case 'key-section':
      return `key change section ${effect.section} held; enter the other section`;
    case 'key-changed':
      return `new key installed (revision ${effect.keyRevision}, type ${effect.keyType}, tariff index ${effect.tariffIndex})`;
  }
}
