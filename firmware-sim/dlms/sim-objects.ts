/**
 * The COSEM objects of a simulated meter from the model (`firmware-sim/model`): the DLMS face of
 * `rasid sim meter|fleet --protocol dlms`. It serves the same objects as {@link MeterObjects} (whose
 * encodings it reuses over a mirror of the model's values), but every value comes from the `SimMeter` and
 * every command goes to it:
 *
 * - registers, credit (class 112, in the meter's credit unit), relay and clock are read from the model at
 *   each GET; a water meter shows its volume as 8.0.1.0.0.255 (m³, scaler −3) instead of energy, power
 *   and voltage;
 * - Disconnect control methods 1 and 2 are the model's remote disconnect and reconnect (a reconnect leaves
 *   output_state false while credit, tamper or an overload still hold the relay open);
 * - Token gateway method 1 enters the token into the model's STS acceptance model (`source: 'remote'`),
 *   and token_status carries the IEC 62055-41 outcome;
 * - SET Clock attribute 2 is the model's time sync;
 * - the load profile gets one row per reading interval, from {@link SimMeterObjects.capture}.
 */
import {
  CONTROL_STATE,
  type DlmsData,
  dt,
  OBIS,
  type ObisCode,
  type SelectiveAccess,
  scalerUnitToData,
  TOKEN_STATUS_CODE,
  UNIT,
  WPORT,
} from '../../protocols/dlms/index.ts';
import type { SimMeter, TokenOutcome } from '../model/index.ts';
import {
  createMeterState,
  METER_OBJECTS,
  MeterObjects,
  type MeterState,
  type TokenDecision,
} from './objects.ts';
import {
  accessError,
  type CosemObjectDescription,
  type CosemObjectProvider,
  type DataAccessError,
} from './provider.ts';
import type { AssociationConfig } from './server.ts';

/** Volume register of a water meter: litres as m³ with scaler −3 (Blue Book register with scaler_unit). */
const VOLUME_SCALER = -3;

/** Objects a water meter holds: no electrical registers, the cold water volume instead. */
const ELECTRICAL: ReadonlySet<ObisCode> = new Set([
  OBIS.activeEnergyImport,
  OBIS.activePowerImport,
  OBIS.voltageL1,
  OBIS.loadProfile1,
]);
const WATER_OBJECTS: readonly CosemObjectDescription[] = Object.freeze([
  ...METER_OBJECTS.filter((o) => !ELECTRICAL.has(o.logicalName)),
  { classId: 3, logicalName: OBIS.waterVolumeCold },
]);

/**
 * IEC 62055-41 rejection (the model's) → token gateway status (Blue Book §4.6.5): which stage refused it.
 * The model's own code goes in token_status data_value as the index in this table.
 */
const REJECTION_STATUS: Readonly<Record<NonNullable<TokenOutcome['rejection']>, number>> = Object.freeze({
  format: TOKEN_STATUS_CODE['format-failure'],
  authentication: TOKEN_STATUS_CODE['authentication-failure'],
  crc: TOKEN_STATUS_CODE['authentication-failure'],
  range: TOKEN_STATUS_CODE['validation-failure'],
  function: TOKEN_STATUS_CODE['validation-failure'],
  old: TOKEN_STATUS_CODE['validation-failure'],
  used: TOKEN_STATUS_CODE['validation-failure'],
  key_expired: TOKEN_STATUS_CODE['validation-failure'],
  key_type: TOKEN_STATUS_CODE['validation-failure'],
  ddtk: TOKEN_STATUS_CODE['validation-failure'],
  overflow: TOKEN_STATUS_CODE['execution-failure'],
});
const REJECTION_CODES = Object.keys(REJECTION_STATUS);

/** Disconnect control methods (Blue Book §4.5.8). */
const REMOTE_DISCONNECT = 1;
const REMOTE_RECONNECT = 2;

export interface SimMeterObjectsOptions {
  readonly meter: SimMeter;
  /** Load profile capture period, simulated seconds (the reading interval). Default 900. */
  readonly capturePeriodS?: number;
  /** Load profile rows kept. Default 2880. */
  readonly profileCapacity?: number;
  /** Called with each token entered through the token gateway. */
  readonly onToken?: (outcome: TokenOutcome) => void;
}

export class SimMeterObjects implements CosemObjectProvider {
  readonly meter: SimMeter;
  /** The mirror {@link MeterObjects} encodes from; refreshed from the model before each access. */
  readonly state: MeterState;
  private readonly inner: MeterObjects;
  private readonly capacity: number;

  constructor(opts: SimMeterObjectsOptions) {
    const meter = opts.meter;
    this.meter = meter;
    this.capacity = opts.profileCapacity ?? 2880;
    this.state = createMeterState({ serial: meter.serial, capturePeriodS: opts.capturePeriodS ?? 900 });
    this.inner = new MeterObjects({
      state: this.state,
      // The mirror's clock is the meter's own (time_sync offsets included); clockOffsetMs stays 0.
      now: () => new Date(meter.clockMs),
      profileCapacity: this.capacity,
      onToken: (digits): TokenDecision => {
        const outcome = meter.enterToken(digits, 'remote');
        opts.onToken?.(outcome);
        if (outcome.accepted) return { accepted: true, code: 0 };
        const rejection = outcome.rejection ?? 'format';
        return {
          accepted: false,
          code: REJECTION_CODES.indexOf(rejection) + 1,
          statusCode: REJECTION_STATUS[rejection],
        };
      },
    });
  }

  objects(): readonly CosemObjectDescription[] {
    return this.meter.kind === 'water' ? WATER_OBJECTS : METER_OBJECTS;
  }

  /** Appends a load profile row (electricity), as the meter's capture at the end of a period. */
  capture(): void {
    if (this.meter.kind !== 'electricity') {
      this.meter.advance();
      return;
    }
    this.sync();
    const rows = this.state.profile;
    rows.push({ at: new Date(this.meter.clockMs), energyWh: this.state.energyWh, powerW: this.state.powerW });
    if (rows.length > this.capacity) rows.splice(0, rows.length - this.capacity);
  }

  /** Copies the model's values into the mirror. */
  private sync(): void {
    const m = this.meter;
    const s = this.state;
    const now = m.instantaneous();
    s.energyWh = m.registers().energyWh;
    s.powerW = now.powerW;
    s.voltageV = now.voltageDv / 10;
    s.creditMinor = m.credit;
    s.clockOffsetMs = 0;
    s.relay.controlState = m.relay === 'connected' ? CONTROL_STATE.connected : CONTROL_STATE.disconnected;
  }

  get(
    classId: number,
    obis: ObisCode,
    attribute: number,
    selector?: SelectiveAccess,
  ): DlmsData | DataAccessError {
    if (this.meter.kind === 'water') {
      if (classId === 3 && obis === OBIS.waterVolumeCold) {
        if (attribute === 2) return dt.u32(this.meter.registers().volumeL);
        if (attribute === 3) return scalerUnitToData({ scaler: VOLUME_SCALER, unit: UNIT.m3 });
        return accessError('object-unavailable');
      }
      if (ELECTRICAL.has(obis)) return accessError('object-unavailable');
    }
    this.sync();
    return this.inner.get(classId, obis, attribute, selector);
  }

  set(classId: number, obis: ObisCode, attribute: number, value: DlmsData): DataAccessError | undefined {
    this.sync();
    const refused = this.inner.set(classId, obis, attribute, value);
    if (refused) return refused;
    if (classId === 8 && attribute === 2) {
      // The mirror took the new time as an offset from the meter's clock; the model keeps it.
      this.meter.setClock(this.meter.clockMs + this.state.clockOffsetMs);
      this.state.clockOffsetMs = 0;
    }
    return undefined;
  }

  async action(
    classId: number,
    obis: ObisCode,
    method: number,
    param: DlmsData | undefined,
  ): Promise<DlmsData | DataAccessError | undefined> {
    if (classId === 70) {
      if (param !== undefined && param.type !== 'integer' && param.type !== 'null-data') {
        return accessError('type-unmatched');
      }
      if (method === REMOTE_DISCONNECT) this.meter.disconnect();
      else if (method === REMOTE_RECONNECT) this.meter.reconnect();
      else return accessError('object-undefined');
      return undefined;
    }
    if (classId === 112) return accessError('read-write-denied'); // credit comes from tokens only
    return this.inner.action(classId, obis, method, param);
  }
}

/** The security a simulated meter asks of the client that reads and commands it. */
export type SimDlmsSecurity = 'none' | 'lls' | 'hls-gmac';
export const SIM_DLMS_SECURITIES: readonly SimDlmsSecurity[] = Object.freeze(['none', 'lls', 'hls-gmac']);

export interface SimDlmsSecrets {
  /** LLS password (ASCII). */
  readonly password: string;
  /** HLS-GMAC global unicast encryption key (EK) and authentication key (AK), 16 bytes each. */
  readonly encryptionKey: Buffer;
  readonly authenticationKey: Buffer;
}

/**
 * The associations of a simulated meter (dlms.md §2.1): the public client 16 always, read only, and the
 * client of the chosen security with read-write rights (17 LLS, 1 HLS-GMAC). With `none`, the public
 * client itself may write and act, so that a gateway without secrets can command the meter.
 */
export function simAssociations(security: SimDlmsSecurity, secrets: SimDlmsSecrets): AssociationConfig[] {
  const publicClient: AssociationConfig = {
    clientSap: WPORT.publicClient,
    authentication: { mechanism: 'none' },
    access: security === 'none' ? 'read-write' : 'read',
  };
  if (security === 'none') return [publicClient];
  if (security === 'lls') {
    return [
      publicClient,
      {
        clientSap: WPORT.llsClient,
        authentication: { mechanism: 'lls', password: secrets.password },
        access: 'read-write',
      },
    ];
  }
  return [
    publicClient,
    {
      clientSap: WPORT.managementClient,
      authentication: {
        mechanism: 'hls-gmac',
        keys: { blockCipherKey: secrets.encryptionKey, authenticationKey: secrets.authenticationKey },
      },
      access: 'read-write',
    },
  ];
}
