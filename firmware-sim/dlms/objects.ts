/**
 * The COSEM objects of a simulated prepaid electricity meter, in memory, over a plain `MeterState`.
 * `MeterObjects` is the `CosemObjectProvider` the DLMS server serves; the state is the meter's (the
 * simulator's model writes it, DLMS commands change it). Values follow dlms.md §2.6–2.7:
 *
 * | OBIS | Class | What |
 * |---|---|---|
 * | 1.0.1.8.0.255 | 3 Register | active energy import, Wh, scaler 1 (double-long-unsigned) |
 * | 1.0.1.7.0.255 | 3 Register | instantaneous active power import, W, scaler 0 (double-long) |
 * | 1.0.32.7.0.255 | 3 Register | voltage L1, V, scaler −1 (long-unsigned) |
 * | 0.0.1.0.0.255 | 8 Clock | time (settable), time_zone, status, DST enabled, clock_base |
 * | 0.0.96.3.10.255 | 70 Disconnect control | output_state, control_state, control_mode (settable); methods 1, 2 |
 * | 0.0.19.10.0.255 | 112 Credit | current_credit_amount (minor units), credit_type, priority, credit_status |
 * | 0.0.19.0.0.255 | 111 Account | mode and status, current credit in use, available credit, currency |
 * | 0.0.19.40.0.255 | 115 Token gateway | token, token_time, description, delivery method, token_status; method 1 enter |
 * | 1.0.99.1.0.255 | 7 Profile generic | clock, energy, power every capture period; range and entry access |
 * | 0.0.96.1.0.255 | 1 Data | meter serial number (octet-string, ASCII) |
 * | 0.0.42.0.0.255 | 1 Data | logical device name (octet-string, ASCII) |
 */
import {
  type CaptureObject,
  CONTROL_STATE,
  CREDIT_STATUS,
  CREDIT_TYPE,
  type Currency,
  captureObjectsToData,
  cosemToDate,
  currencyToData,
  type DateConversionOptions,
  type DeviationSign,
  type DlmsData,
  DlmsDecodeError,
  dateToCosem,
  decodeCosemDateTime,
  dt,
  encodeCosemDateTime,
  entryDescriptorFromData,
  OBIS,
  type ObisCode,
  rangeDescriptorFromData,
  SELECTOR_ENTRY,
  SELECTOR_RANGE,
  type SelectiveAccess,
  scalerUnitToData,
  TOKEN_DELIVERY_METHOD,
  TOKEN_STATUS_CODE,
  tokenStatusToData,
  UNIT,
} from '../../protocols/dlms/index.ts';
import {
  type Awaitable,
  accessError,
  type CosemObjectDescription,
  type CosemObjectProvider,
  type DataAccessError,
} from './provider.ts';

// ---- the meter's state ----

/** Disconnect control states (Blue Book §4.5.8): 0 disconnected, 1 connected, 2 ready_for_reconnection. */
export type ControlState = 0 | 1 | 2;

/** One load profile row. */
export interface ProfileRow {
  at: Date;
  /** Energy import register at capture time, Wh. */
  energyWh: number;
  /** Average power over the period, W. */
  powerW: number;
}

/** The last token entered through the token gateway. */
export interface TokenRecord {
  /** The 20 digits as entered. */
  digits: string;
  at: Date;
  /** Token gateway status code (TOKEN_STATUS_CODE). */
  statusCode: number;
  /** The acceptance model's own result code, carried as the 8-bit data_value of token_status. */
  code: number;
}

/** Everything the DLMS objects read and change. Plain data, so the simulator's model can own it. */
export interface MeterState {
  serial: string;
  /** Active energy import total, Wh. */
  energyWh: number;
  /** Instantaneous active power import, W. */
  powerW: number;
  /** Voltage L1, V. */
  voltageV: number;
  /** Current credit, in the currency's minor units. */
  creditMinor: number;
  /** Meter clock minus host clock, ms; setting the clock's time changes it. */
  clockOffsetMs: number;
  relay: { controlState: ControlState; controlMode: number };
  /** Account mode and status (PAYMENT_MODE, ACCOUNT_STATUS). */
  account: { paymentMode: number; status: number };
  /** Load profile rows, oldest first, `capturePeriodS` apart. */
  profile: ProfileRow[];
  capturePeriodS: number;
  lastToken?: TokenRecord | undefined;
}

/** A meter state with sensible defaults: connected, prepayment, active, 15-minute profile. */
export function createMeterState(init: Partial<MeterState> = {}): MeterState {
  return {
    serial: 'RSD0000001',
    energyWh: 0,
    powerW: 0,
    voltageV: 230,
    creditMinor: 0,
    clockOffsetMs: 0,
    relay: { controlState: CONTROL_STATE.connected, controlMode: 2 },
    account: { paymentMode: 2, status: 2 },
    profile: [],
    capturePeriodS: 900,
    ...init,
  };
}

/** What the token acceptance model decided. */
export interface TokenDecision {
  accepted: boolean;
  /** The model's result code (0–255), e.g. an STS acceptance code. */
  code: number;
  /** Token gateway status when not accepted; default validation-failure (6). */
  statusCode?: number;
}

export interface MeterObjectsOptions {
  readonly state: MeterState;
  /** Host clock; the meter clock is now() + state.clockOffsetMs. */
  readonly now?: () => Date;
  /** The STS (or other) acceptance model. Default: every token "received, not processed". */
  readonly onToken?: (digits: string) => Awaitable<TokenDecision>;
  /** Local time offset from UTC in minutes (UTC+02:00 = 120). Default 0. */
  readonly utcOffsetMinutes?: number;
  readonly deviationSign?: DeviationSign;
  readonly currency?: Currency;
  /** Profile capacity (profile_entries). Default 2880 (30 days of 15-minute rows). */
  readonly profileCapacity?: number;
}

// ---- frozen object tables ----

/** Register objects (class 3): scaler, unit, A-XDR type and the state field they read. */
interface RegisterDef {
  readonly scaler: number;
  readonly unit: number;
  readonly type: 'double-long-unsigned' | 'double-long' | 'long-unsigned';
  readonly read: (s: MeterState) => number;
}

export const METER_REGISTERS: Readonly<Record<string, RegisterDef>> = Object.freeze({
  [OBIS.activeEnergyImport]: {
    scaler: 1,
    unit: UNIT.Wh,
    type: 'double-long-unsigned',
    read: (s: MeterState) => s.energyWh,
  },
  [OBIS.activePowerImport]: { scaler: 0, unit: UNIT.W, type: 'double-long', read: (s) => s.powerW },
  [OBIS.voltageL1]: { scaler: -1, unit: UNIT.V, type: 'long-unsigned', read: (s) => s.voltageV },
});

/** The load profile's columns, in capture order. */
export const PROFILE_COLUMNS: readonly CaptureObject[] = Object.freeze([
  { classId: 8, logicalName: OBIS.clock, attributeIndex: 2, dataIndex: 0 },
  { classId: 3, logicalName: OBIS.activeEnergyImport, attributeIndex: 2, dataIndex: 0 },
  { classId: 3, logicalName: OBIS.activePowerImport, attributeIndex: 2, dataIndex: 0 },
]);

/** Every object this meter holds, for the association's object_list. */
export const METER_OBJECTS: readonly CosemObjectDescription[] = Object.freeze([
  { classId: 1, logicalName: OBIS.serialNumber },
  { classId: 1, logicalName: OBIS.logicalDeviceName },
  { classId: 3, logicalName: OBIS.activeEnergyImport },
  { classId: 3, logicalName: OBIS.activePowerImport },
  { classId: 3, logicalName: OBIS.voltageL1 },
  { classId: 8, logicalName: OBIS.clock, writable: [2] },
  { classId: 70, logicalName: OBIS.disconnectControl, writable: [4] },
  { classId: 112, logicalName: OBIS.tokenCredit },
  { classId: 111, logicalName: OBIS.account },
  { classId: 115, logicalName: OBIS.tokenGateway },
  { classId: 7, logicalName: OBIS.loadProfile1, selectors: { 2: [SELECTOR_RANGE, SELECTOR_ENTRY] } },
]);

/**
 * Blue Book §4.5.8 state diagram, by control_mode: where remote_reconnect leads from 'disconnected'
 * (transition a → connected in modes 2 and 4, d → ready_for_reconnection in 1, 3, 5, 6). Mode 0 allows
 * no disconnection at all.
 */
export const REMOTE_RECONNECT_TARGET: Readonly<Record<number, ControlState>> = Object.freeze({
  1: CONTROL_STATE['ready-for-reconnection'],
  2: CONTROL_STATE.connected,
  3: CONTROL_STATE['ready-for-reconnection'],
  4: CONTROL_STATE.connected,
  5: CONTROL_STATE['ready-for-reconnection'],
  6: CONTROL_STATE['ready-for-reconnection'],
});
/** Modes that allow a manual (button) disconnection, transition f. */
const MANUAL_DISCONNECT_MODES: ReadonlySet<number> = new Set([1, 2, 5]);

const DISCONNECT_METHOD = { remoteDisconnect: 1, remoteReconnect: 2 } as const;
const TOKEN_DIGITS = /^\d{20}$/;

// ---- the provider ----

export class MeterObjects implements CosemObjectProvider {
  readonly state: MeterState;
  private readonly now: () => Date;
  private readonly onToken: ((digits: string) => Awaitable<TokenDecision>) | undefined;
  private readonly dateOpts: DateConversionOptions;
  private readonly currency: Currency | undefined;
  private readonly profileCapacity: number;

  constructor(opts: MeterObjectsOptions) {
    this.state = opts.state;
    this.now = opts.now ?? (() => new Date());
    this.onToken = opts.onToken;
    this.dateOpts = { utcOffsetMinutes: opts.utcOffsetMinutes ?? 0, deviationSign: opts.deviationSign };
    this.currency = opts.currency;
    this.profileCapacity = opts.profileCapacity ?? 2880;
  }

  objects(): readonly CosemObjectDescription[] {
    return METER_OBJECTS;
  }

  /** The meter's clock. */
  meterTime(): Date {
    return new Date(this.now().getTime() + this.state.clockOffsetMs);
  }

  get(
    classId: number,
    obis: ObisCode,
    attribute: number,
    selector?: SelectiveAccess,
  ): DlmsData | DataAccessError {
    const s = this.state;
    switch (classId) {
      case 1:
        if (obis === OBIS.serialNumber) return dt.octets(s.serial);
        if (obis === OBIS.logicalDeviceName) return dt.octets(`RSD${s.serial}`);
        break;
      case 3: {
        const reg = METER_REGISTERS[obis];
        if (!reg) break;
        if (attribute === 3) return scalerUnitToData({ scaler: reg.scaler, unit: reg.unit });
        if (attribute === 2) return { type: reg.type, value: scaled(reg.read(s), reg.scaler) };
        break;
      }
      case 7:
        return this.getProfile(attribute, selector);
      case 8:
        return this.getClock(attribute);
      case 70:
        if (attribute === 2) return dt.bool(s.relay.controlState === CONTROL_STATE.connected);
        if (attribute === 3) return dt.enum(s.relay.controlState);
        if (attribute === 4) return dt.enum(s.relay.controlMode);
        break;
      case 111:
        if (attribute === 2) return dt.struct(dt.enum(s.account.paymentMode), dt.enum(s.account.status));
        if (attribute === 3) return dt.u8(1);
        if (attribute === 5) return dt.i32(s.creditMinor);
        if (attribute === 15 && this.currency) return currencyToData(this.currency);
        break;
      case 112:
        if (attribute === 2) return dt.i32(s.creditMinor);
        if (attribute === 3) return dt.enum(CREDIT_TYPE.token);
        if (attribute === 4) return dt.u8(1);
        if (attribute === 8) {
          return dt.enum(s.creditMinor > 0 ? CREDIT_STATUS['in-use'] : CREDIT_STATUS.exhausted);
        }
        break;
      case 115:
        return this.getTokenGateway(attribute);
      default:
        break;
    }
    return accessError('object-unavailable');
  }

  set(classId: number, _obis: ObisCode, attribute: number, value: DlmsData): DataAccessError | undefined {
    if (classId === 8 && attribute === 2) {
      // Time synchronisation: clock attribute 2 as octet-string(12) (or a date-time).
      try {
        const cdt = value.type === 'date-time' ? value.value : decodeCosemDateTime(octetsOf(value));
        const when = cosemToDate(cdt, this.dateOpts);
        this.state.clockOffsetMs = when.getTime() - this.now().getTime();
        return undefined;
      } catch {
        return accessError('type-unmatched');
      }
    }
    if (classId === 70 && attribute === 4) {
      if (value.type !== 'enum' || value.value < 0 || value.value > 6) return accessError('type-unmatched');
      this.state.relay.controlMode = value.value;
      return undefined;
    }
    return accessError('read-write-denied');
  }

  async action(
    classId: number,
    _obis: ObisCode,
    method: number,
    param: DlmsData | undefined,
  ): Promise<DlmsData | DataAccessError | undefined> {
    if (classId === 70) return this.disconnectControl(method, param);
    if (classId === 115 && method === 1) {
      if (param?.type !== 'octet-string') return accessError('type-unmatched');
      await this.enterToken(param.value.toString('latin1'));
      return undefined;
    }
    if (classId === 112 && (method === 1 || method === 2)) {
      // update_amount(delta) / set_amount_to_value(value), double-long.
      if (param?.type !== 'double-long') return accessError('type-unmatched');
      this.state.creditMinor = method === 1 ? this.state.creditMinor + param.value : param.value;
      return undefined;
    }
    return accessError('object-unavailable');
  }

  // ---- token gateway ----

  /** Token transfer (class 115 method 1), also the keypad's entry point. */
  async enterToken(digits: string, method: number = TOKEN_DELIVERY_METHOD.remote): Promise<TokenRecord> {
    let statusCode: number;
    let code = 0;
    if (!TOKEN_DIGITS.test(digits)) {
      statusCode = TOKEN_STATUS_CODE['format-failure'];
    } else if (!this.onToken) {
      statusCode = TOKEN_STATUS_CODE['received-not-processed'];
    } else {
      try {
        const d = await this.onToken(digits);
        code = d.code & 0xff;
        statusCode = d.accepted
          ? TOKEN_STATUS_CODE['execution-ok']
          : (d.statusCode ?? TOKEN_STATUS_CODE['validation-failure']);
      } catch {
        statusCode = TOKEN_STATUS_CODE['execution-failure'];
      }
    }
    const record: TokenRecord = { digits, at: this.meterTime(), statusCode, code };
    this.state.lastToken = record;
    this.deliveryMethod = method;
    return record;
  }

  private deliveryMethod: number = TOKEN_DELIVERY_METHOD.remote;

  private getTokenGateway(attribute: number): DlmsData | DataAccessError {
    const t = this.state.lastToken;
    switch (attribute) {
      case 2:
        return dt.octets(t?.digits ?? '');
      case 3:
        return t
          ? dt.octets(encodeCosemDateTime(dateToCosem(t.at, this.dateOpts)))
          : dt.octets(notSpecified());
      case 4:
        return dt.array([]);
      case 5:
        return dt.enum(this.deliveryMethod);
      case 6:
        return tokenStatusToData({
          statusCode: t?.statusCode ?? TOKEN_STATUS_CODE['format-ok'],
          dataValue: (t?.code ?? 0).toString(2).padStart(8, '0'),
        });
      default:
        return accessError('object-unavailable');
    }
  }

  // ---- disconnect control (Blue Book §4.5.8) ----

  private disconnectControl(method: number, param: DlmsData | undefined): DataAccessError | undefined {
    if (param !== undefined && param.type !== 'integer' && param.type !== 'null-data') {
      return accessError('type-unmatched');
    }
    const relay = this.state.relay;
    const reconnectTarget = REMOTE_RECONNECT_TARGET[relay.controlMode];
    if (reconnectTarget === undefined) return accessError('read-write-denied'); // mode 0: no disconnection.
    if (method === DISCONNECT_METHOD.remoteDisconnect) {
      // Transitions b (connected → disconnected) and c (ready_for_reconnection → disconnected).
      relay.controlState = CONTROL_STATE.disconnected;
      return undefined;
    }
    if (method === DISCONNECT_METHOD.remoteReconnect) {
      // Transition a or d, only from disconnected; elsewhere nothing changes.
      if (relay.controlState === CONTROL_STATE.disconnected) relay.controlState = reconnectTarget;
      return undefined;
    }
    return accessError('object-undefined');
  }

  /** The customer's button: ready_for_reconnection → connected (transition e); connected → ready (f). */
  pressButton(): ControlState {
    const relay = this.state.relay;
    if (relay.controlState === CONTROL_STATE['ready-for-reconnection']) {
      relay.controlState = CONTROL_STATE.connected;
    } else if (
      relay.controlState === CONTROL_STATE.connected &&
      MANUAL_DISCONNECT_MODES.has(relay.controlMode)
    ) {
      relay.controlState = CONTROL_STATE['ready-for-reconnection'];
    }
    return relay.controlState;
  }

  /** A local disconnection (credit exhausted, limiter): connected → ready_for_reconnection (transition g). */
  localDisconnect(): ControlState {
    const relay = this.state.relay;
    if (relay.controlMode !== 0 && relay.controlState === CONTROL_STATE.connected) {
      relay.controlState = CONTROL_STATE['ready-for-reconnection'];
    }
    return relay.controlState;
  }

  // ---- clock ----

  private getClock(attribute: number): DlmsData | DataAccessError {
    switch (attribute) {
      case 2:
        // dlms.md §2.5: clock attribute 2 travels as octet-string(12).
        return dt.octets(encodeCosemDateTime(dateToCosem(this.meterTime(), this.dateOpts)));
      case 3: {
        // time_zone: deviation of local time from UTC, in the same sign convention as date-times.
        const offset = this.dateOpts.utcOffsetMinutes ?? 0;
        return dt.i16(this.dateOpts.deviationSign === 'inverted' ? offset : -offset);
      }
      case 4:
        return dt.u8(0);
      case 8:
        return dt.bool(false);
      case 9:
        // clock_base 1: internal crystal.
        return dt.enum(1);
      default:
        return accessError('object-unavailable');
    }
  }

  // ---- load profile (Blue Book §4.3.6) ----

  private getProfile(attribute: number, selector?: SelectiveAccess): DlmsData | DataAccessError {
    const s = this.state;
    switch (attribute) {
      case 2:
        return this.profileBuffer(selector);
      case 3:
        return captureObjectsToData([...PROFILE_COLUMNS]);
      case 4:
        return dt.u32(s.capturePeriodS);
      case 5:
        // sort_method 1: fifo.
        return dt.enum(1);
      case 6:
        return dt.struct(dt.u16(0), dt.octets(Buffer.alloc(6)), dt.i8(0), dt.u16(0));
      case 7:
        return dt.u32(s.profile.length);
      case 8:
        return dt.u32(this.profileCapacity);
      default:
        return accessError('object-unavailable');
    }
  }

  private profileRow(r: ProfileRow): DlmsData[] {
    const energy = METER_REGISTERS[OBIS.activeEnergyImport]!;
    return [
      dt.octets(encodeCosemDateTime(dateToCosem(r.at, this.dateOpts))),
      dt.u32(scaled(r.energyWh, energy.scaler)),
      dt.i32(Math.round(r.powerW)),
    ];
  }

  private profileBuffer(selector?: SelectiveAccess): DlmsData | DataAccessError {
    let rows = this.state.profile;
    let columns = PROFILE_COLUMNS.map((_, i) => i);
    try {
      if (selector?.selector === SELECTOR_RANGE) {
        // range_descriptor: rows whose restricting column (the clock) lies in [from, to].
        const r = rangeDescriptorFromData(selector.parameters);
        const restricting = columnOf(r.restrictingObject);
        if (restricting !== 0) return accessError('other-reason');
        const from = cosemToDate(r.from, this.dateOpts).getTime();
        const to = cosemToDate(r.to, this.dateOpts).getTime();
        rows = rows.filter((row) => row.at.getTime() >= from && row.at.getTime() <= to);
        if (r.selectedValues.length > 0) {
          columns = r.selectedValues.map(columnOf);
          if (columns.some((c) => c < 0)) return accessError('other-reason');
        }
      } else if (selector?.selector === SELECTOR_ENTRY) {
        // entry_descriptor: 1-based entries and columns; 0 as the upper bound means "the last".
        const e = entryDescriptorFromData(selector.parameters);
        const last = e.toEntry === 0 ? rows.length : Math.min(e.toEntry, rows.length);
        rows = rows.slice(Math.max(e.fromEntry, 1) - 1, last);
        const lastCol = e.toSelectedValue === 0 ? PROFILE_COLUMNS.length : e.toSelectedValue;
        columns = columns.slice(Math.max(e.fromSelectedValue, 1) - 1, lastCol);
      } else if (selector) {
        return accessError('other-reason');
      }
    } catch (err) {
      if (err instanceof DlmsDecodeError) return accessError('type-unmatched');
      throw err;
    }
    return dt.array(
      rows.map((row) => {
        const cells = this.profileRow(row);
        return dt.struct(...columns.map((c) => cells[c] ?? dt.null()));
      }),
    );
  }
}

/** Column index of a capture object in the load profile, or −1. */
function columnOf(o: CaptureObject): number {
  return PROFILE_COLUMNS.findIndex(
    (c) =>
      c.classId === o.classId && c.logicalName === o.logicalName && c.attributeIndex === o.attributeIndex,
  );
}

/** A physical value as the register integer: value / 10^scaler. */
function scaled(value: number, scaler: number): number {
  return Math.round(value / 10 ** scaler);
}

function octetsOf(d: DlmsData): Buffer {
  if (d.type !== 'octet-string') throw new DlmsDecodeError(`expected octet-string, got ${d.type}`);
  return d.value;
}

/** A date-time with every field "not specified" (year 0xFFFF, bytes 0xFF, deviation 0x8000). */
function notSpecified(): Buffer {
  return encodeCosemDateTime({});
}
