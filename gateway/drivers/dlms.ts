/**
 * A {@link MeterDriver} for DLMS/COSEM meters, over a {@link CosemSession}: the narrow port this driver
 * needs from a DLMS client (open an association, GET, SET, ACTION, close). `gateway/dlms/` provides the
 * client; `cosem-session.ts` adapts it to this port.
 *
 * - A reading GETs each attribute of the profile. Register (class 3) values are scaled by their
 *   scaler_unit (attribute 3, read once per association) into the contract's units; Credit (class 112)
 *   amounts are taken as they are (times the profile's `scale`).
 * - Disconnect and reconnect are ACTIONs 1 and 2 of Disconnect control (class 70), then a GET of
 *   output_state (Blue Book §4.5.8).
 * - A token is ACTION 1 enter(octet-string) of the Token gateway (class 115), then GETs of token_status
 *   (attribute 6) while it reads "received, not processed" (Blue Book §4.6.5).
 * - Time sync is a SET of the Clock's attribute 2 (Blue Book §4.5.1).
 */
import {
  applyScaler,
  asBoolean,
  asNumber,
  asOctets,
  CLOCK_STATUS_INVALID,
  CONTROL_STATE,
  cosemToDate,
  type DlmsData,
  dateToCosem,
  decodeCosemDateTime,
  dt,
  encodeCosemDateTime,
  type ObisCode,
  scalerUnitFromData,
  TOKEN_STATUS_CODE,
  tokenStatusFromData,
} from '../../protocols/dlms/index.ts';
import {
  MAX_SEQ,
  PAYLOAD_VERSION,
  type Reading,
  type RelayState,
  type TokenRejection,
} from '../../protocols/mqtt/index.ts';
import type { DlmsMeterConfig } from '../config.ts';
import type { MeterDriver, SequenceSource, TokenOutcome } from '../driver.ts';
import { DriverError } from '../errors.ts';
import {
  type CosemAttribute,
  DLMS_FIELD_EXPONENT,
  type DlmsProfile,
  type DlmsReadingField,
  type LoadProfileField,
} from '../profiles.ts';

/** What the DLMS driver needs of a client session. Rejections should be `DriverError`s (see the adapter). */
export interface CosemSession {
  readonly isOpen: boolean;
  /** Connects and sets up the association (with the configured security). */
  open(): Promise<void>;
  get(classId: number, obis: ObisCode, attribute: number): Promise<DlmsData>;
  set(classId: number, obis: ObisCode, attribute: number, value: DlmsData): Promise<void>;
  action(classId: number, obis: ObisCode, method: number, parameter: DlmsData): Promise<DlmsData | null>;
  /**
   * Profile generic (class 7) buffer rows with `from` ≤ clock ≤ `to` (selective access by range on the
   * clock column), the capture objects and each row's expanded timestamp.
   */
  readProfile(obis: ObisCode, from: Date, to: Date): Promise<ProfileRows>;
  /** Releases the association and closes the connection. */
  close(): Promise<void>;
}

/** What {@link CosemSession.readProfile} returns. */
export interface ProfileRows {
  readonly columns: readonly { classId: number; logicalName: string; attributeIndex: number }[];
  readonly rows: readonly (readonly DlmsData[])[];
  readonly timestamps: readonly Date[];
}

export type CosemSessionFactory = (meter: DlmsMeterConfig) => CosemSession;

const DISCONNECT_CONTROL = 70;
const TOKEN_GATEWAY = 115;
const CLOCK = 8;
const REGISTER = 3;
const EXTENDED_REGISTER = 4;
/** Pause between two reads of token_status while the meter has not processed the token yet. */
const TOKEN_POLL_MS = 50;

/**
 * Token gateway status codes that refuse a token, as the contract's rejection names. DLMS gives only the
 * stage that failed; the finer STS reason (old, used, key expired...) is not in token_status.
 */
const TOKEN_STATUS_REJECTION: Readonly<Record<number, TokenRejection>> = Object.freeze({
  [TOKEN_STATUS_CODE['format-failure']]: 'format',
  [TOKEN_STATUS_CODE['authentication-failure']]: 'authentication',
  [TOKEN_STATUS_CODE['validation-failure']]: 'range',
  [TOKEN_STATUS_CODE['execution-failure']]: 'overflow',
});

export interface DlmsDriverOptions {
  readonly meter: DlmsMeterConfig;
  readonly session: CosemSession;
  readonly sequence: SequenceSource;
  readonly now?: () => number;
}

export class DlmsDriver implements MeterDriver {
  readonly meterId: string;
  readonly protocol = 'dlms' as const;
  private readonly profile: DlmsProfile;
  private readonly session: CosemSession;
  private readonly sequence: SequenceSource;
  private readonly now: () => number;
  /** scaler of each Register read in this association, by OBIS. */
  private readonly scalers = new Map<string, number>();

  constructor(options: DlmsDriverOptions) {
    this.meterId = options.meter.id;
    this.profile = options.meter.profile;
    this.session = options.session;
    this.sequence = options.sequence;
    this.now = options.now ?? Date.now;
  }

  get connected(): boolean {
    return this.session.isOpen;
  }

  async connect(): Promise<void> {
    this.scalers.clear();
    await this.session.open();
  }

  async close(): Promise<void> {
    this.scalers.clear();
    await this.session.close();
  }

  private async scaler(ref: CosemAttribute): Promise<number> {
    if (ref.classId !== REGISTER && ref.classId !== EXTENDED_REGISTER) return 0;
    const known = this.scalers.get(ref.obis);
    if (known !== undefined) return known;
    const data = await this.session.get(ref.classId, ref.obis, 3);
    const { scaler } = decode(`scaler_unit of ${ref.obis}`, () => scalerUnitFromData(data));
    this.scalers.set(ref.obis, scaler);
    return scaler;
  }

  private async value(field: DlmsReadingField, ref: CosemAttribute): Promise<number> {
    const data = await this.session.get(ref.classId, ref.obis, ref.attribute);
    const raw = decode(`${field} (${ref.obis})`, () => asNumber(data));
    const scaler = await this.scaler(ref);
    return Math.round(applyScaler(raw, scaler + (DLMS_FIELD_EXPONENT[field] ?? 0) + ref.scale));
  }

  async readReading(): Promise<Reading> {
    const fields = this.profile.fields;
    const reading: Reading = { v: PAYLOAD_VERSION, seq: 0, ts: 0 };
    for (const [field, ref] of Object.entries(fields) as [DlmsReadingField, CosemAttribute][]) {
      if (field === 'relay') {
        const data = await this.session.get(ref.classId, ref.obis, ref.attribute);
        reading.relay = decode('relay', () => asBoolean(data)) ? 'connected' : 'disconnected';
      } else if (field === 'clock') {
        const data = await this.session.get(ref.classId, ref.obis, ref.attribute);
        const time = decode('clock', () => decodeCosemDateTime(asOctets(data)));
        const invalid = ((time.clockStatus ?? 0) & CLOCK_STATUS_INVALID) !== 0;
        if (!invalid) reading.ts = decode('clock', () => cosemToDate(time).getTime());
      } else {
        reading[field] = await this.value(field, ref);
      }
    }
    if (reading.ts === 0) reading.ts = this.now();
    reading.seq = this.sequence.next();
    return reading;
  }

  /** Link check: one GET of the first reading field (the clock when mapped: the cheapest answer). */
  async ping(): Promise<void> {
    const fields = this.profile.fields;
    const ref = fields.clock ?? Object.values(fields)[0];
    if (ref !== undefined) await this.session.get(ref.classId, ref.obis, ref.attribute);
  }

  /**
   * The load profile's rows strictly between `from` and `to`, as readings with their own timestamps and
   * a `seq` of their timestamp in seconds (the same row read twice is the same reading). Register
   * columns are scaled by the register's scaler_unit, as a poll scales them.
   */
  async readIntervals(from: Date, to: Date): Promise<Reading[]> {
    const lp = this.profile.loadProfile;
    if (lp === undefined) return [];
    const profile = await this.session.readProfile(lp.obis, from, to);
    const columns = Object.entries(lp.columns) as [LoadProfileField, CosemAttribute][];
    const index = columns.map(([field, ref]) => {
      const at = profile.columns.findIndex(
        (c) => c.classId === ref.classId && c.logicalName === ref.obis && c.attributeIndex === ref.attribute,
      );
      if (at < 0) {
        throw new DriverError(
          'protocol',
          `the load profile ${lp.obis} has no column ${ref.obis} for ${field}`,
        );
      }
      return at;
    });
    const scalers = new Map<LoadProfileField, number>();
    for (const [field, ref] of columns) scalers.set(field, await this.scaler(ref));
    const out: Reading[] = [];
    profile.rows.forEach((row, r) => {
      const at = profile.timestamps[r];
      if (at === undefined) return;
      const ts = at.getTime();
      if (!(ts > from.getTime() && ts < to.getTime())) return;
      const reading: Reading = { v: PAYLOAD_VERSION, seq: Math.floor(ts / 1000) % (MAX_SEQ + 1), ts };
      columns.forEach(([field, ref], i) => {
        const cell = row[index[i]!];
        if (cell === undefined || cell.type === 'null-data') return;
        const raw = decode(`${field} (${ref.obis}) in the load profile`, () => asNumber(cell));
        const exponent = (scalers.get(field) ?? 0) + (DLMS_FIELD_EXPONENT[field] ?? 0) + ref.scale;
        reading[field] = Math.round(applyScaler(raw, exponent));
      });
      out.push(reading);
    });
    return out.sort((a, b) => Number(a.ts) - Number(b.ts));
  }

  private async switchRelay(target: RelayState): Promise<RelayState> {
    const at = this.profile.disconnectControl;
    const what = target === 'connected' ? 'reconnect' : 'disconnect';
    if (at === undefined) throw new DriverError('not_supported', `${what} is not supported by this meter`);
    // Blue Book §4.5.8: method 1 remote_disconnect, method 2 remote_reconnect, each with integer(0).
    await this.session.action(DISCONNECT_CONTROL, at, target === 'connected' ? 2 : 1, dt.i8(0));
    const output = await this.session.get(DISCONNECT_CONTROL, at, 2);
    const measured: RelayState = decode('output_state', () => asBoolean(output))
      ? 'connected'
      : 'disconnected';
    if (measured === target) return target;
    if (target === 'connected') {
      // Blue Book §4.5.8 transition d: in control modes 2 and 4 a remote reconnect only makes the meter
      // ready_for_reconnection; the customer closes the relay at the meter. The command was done.
      const control = await this.session.get(DISCONNECT_CONTROL, at, 3);
      if (decode('control_state', () => asNumber(control)) === CONTROL_STATE['ready-for-reconnection']) {
        return measured;
      }
      throw new DriverError('refused', 'the meter kept the relay open');
    }
    throw new DriverError('relay_fault', `the relay stayed ${measured}`);
  }

  disconnect(): Promise<RelayState> {
    return this.switchRelay('disconnected');
  }

  reconnect(): Promise<RelayState> {
    return this.switchRelay('connected');
  }

  async enterToken(token: string): Promise<TokenOutcome> {
    const at = this.profile.tokenGateway;
    if (at === undefined)
      throw new DriverError('not_supported', 'token entry is not supported by this meter');
    if (!/^[0-9]{20}$/.test(token)) throw new DriverError('bad_payload', 'a token is 20 decimal digits');
    await this.session.action(TOKEN_GATEWAY, at, 1, dt.octets(token));
    for (;;) {
      const data = await this.session.get(TOKEN_GATEWAY, at, 6);
      const status = decode('token_status', () => tokenStatusFromData(data));
      if (status.statusCode === TOKEN_STATUS_CODE['execution-ok']) {
        return { accepted: true, result: { tokenStatus: 'execution-ok' } };
      }
      const rejection = TOKEN_STATUS_REJECTION[status.statusCode];
      if (rejection !== undefined) {
        return {
          accepted: false,
          rejection,
          message: `token_status ${status.statusCode} (${status.dataValue})`,
        };
      }
      await new Promise((resolve) => setTimeout(resolve, TOKEN_POLL_MS));
    }
  }

  async syncTime(at: Date): Promise<void> {
    const clock = this.profile.clock;
    if (clock === undefined)
      throw new DriverError('not_supported', 'time sync is not supported by this meter');
    await this.session.set(CLOCK, clock, 2, dt.octets(encodeCosemDateTime(dateToCosem(at))));
  }

  async setEmergencyCredit(): Promise<void> {
    throw new DriverError('not_supported', 'emergency credit is not supported through this profile');
  }

  async setLowCreditThreshold(): Promise<void> {
    throw new DriverError('not_supported', 'the low-credit threshold is not supported through this profile');
  }
}

/** Runs a decoder; its failure becomes a `protocol` driver error naming what was read. */
function decode<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new DriverError('protocol', `unreadable answer to ${what}: ${(err as Error).message}`);
  }
}
