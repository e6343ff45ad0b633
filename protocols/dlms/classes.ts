/**
 * COSEM interface classes a Rasid prepaid meter needs (IEC 62056-6-2, Blue Book §4), as frozen data:
 * class id, version, attributes (index, name, A-XDR type) and methods (index, name, parameter type).
 * Functions build and parse the structured attribute values.
 */
import {
  asBits,
  asList,
  asNumber,
  asOctets,
  asStruct,
  type DataTypeName,
  type DlmsData,
  dt,
  isNull,
} from './axdr.ts';
import { DlmsDecodeError } from './cursor.ts';
import {
  type CosemDateTime,
  cosemToDate,
  type DateConversionOptions,
  decodeCosemDateTime,
  encodeCosemDateTime,
} from './datetime.ts';
import { type ObisCode, obisFromBytes, obisToBytes } from './obis.ts';

/** 'any' = CHOICE of the Data types (e.g. Data.value, Register.value). */
export type AttributeType = DataTypeName | 'any';

export interface AttributeDef {
  readonly index: number;
  readonly name: string;
  readonly type: AttributeType;
}

export interface MethodDef {
  readonly index: number;
  readonly name: string;
  /** Type of the method parameter; 'null-data' when none is sent. */
  readonly parameter: AttributeType;
}

export interface InterfaceClass {
  readonly classId: number;
  readonly version: number;
  readonly name: string;
  readonly attributes: readonly AttributeDef[];
  readonly methods: readonly MethodDef[];
}

const LN: AttributeDef = { index: 1, name: 'logical_name', type: 'octet-string' };

function defineClass(
  classId: number,
  version: number,
  name: string,
  attributes: [string, AttributeType][],
  methods: [string, AttributeType][] = [],
): InterfaceClass {
  return Object.freeze({
    classId,
    version,
    name,
    attributes: Object.freeze([
      LN,
      ...attributes.map(([n, type], i) => Object.freeze({ index: i + 2, name: n, type })),
    ]),
    methods: Object.freeze(
      methods.map(([n, parameter], i) => Object.freeze({ index: i + 1, name: n, parameter })),
    ),
  });
}

/** Blue Book §4.3.1 Data (class_id 1, version 0). */
export const DATA_CLASS = defineClass(1, 0, 'Data', [['value', 'any']]);

/** Blue Book §4.3.2 Register (class_id 3, version 0). */
export const REGISTER_CLASS = defineClass(
  3,
  0,
  'Register',
  [
    ['value', 'any'],
    ['scaler_unit', 'structure'],
  ],
  [['reset', 'integer']],
);

/** Blue Book §4.3.6 Profile generic (class_id 7, version 1). */
export const PROFILE_GENERIC_CLASS = defineClass(
  7,
  1,
  'Profile generic',
  [
    ['buffer', 'array'],
    ['capture_objects', 'array'],
    ['capture_period', 'double-long-unsigned'],
    ['sort_method', 'enum'],
    ['sort_object', 'structure'],
    ['entries_in_use', 'double-long-unsigned'],
    ['profile_entries', 'double-long-unsigned'],
  ],
  [
    ['reset', 'integer'],
    ['capture', 'integer'],
  ],
);

/** Blue Book §4.5.1 Clock (class_id 8, version 0). Attribute 2 travels as octet-string(12). */
export const CLOCK_CLASS = defineClass(
  8,
  0,
  'Clock',
  [
    ['time', 'octet-string'],
    ['time_zone', 'long'],
    ['status', 'unsigned'],
    ['daylight_savings_begin', 'octet-string'],
    ['daylight_savings_end', 'octet-string'],
    ['daylight_savings_deviation', 'integer'],
    ['daylight_savings_enabled', 'boolean'],
    ['clock_base', 'enum'],
  ],
  [
    ['adjust_to_quarter', 'integer'],
    ['adjust_to_measuring_period', 'integer'],
    ['adjust_to_minute', 'integer'],
    ['adjust_to_preset_time', 'structure'],
    ['preset_adjusting_time', 'structure'],
    ['shift_time', 'long'],
  ],
);

/** Blue Book §4.4.3 Association LN (class_id 15, version 1). */
export const ASSOCIATION_LN_CLASS = defineClass(
  15,
  1,
  'Association LN',
  [
    ['object_list', 'array'],
    ['associated_partners_id', 'structure'],
    ['application_context_name', 'octet-string'],
    ['xDLMS_context_info', 'structure'],
    ['authentication_mechanism_name', 'octet-string'],
    ['secret', 'octet-string'],
    ['association_status', 'enum'],
    ['security_setup_reference', 'octet-string'],
  ],
  [
    ['reply_to_HLS_authentication', 'octet-string'],
    ['change_HLS_secret', 'octet-string'],
    ['add_object', 'structure'],
    ['remove_object', 'structure'],
  ],
);

/** Blue Book §4.5.8 Disconnect control (class_id 70, version 0). */
export const DISCONNECT_CONTROL_CLASS = defineClass(
  70,
  0,
  'Disconnect control',
  [
    ['output_state', 'boolean'],
    ['control_state', 'enum'],
    ['control_mode', 'enum'],
  ],
  [
    ['remote_disconnect', 'integer'],
    ['remote_reconnect', 'integer'],
  ],
);

/** Blue Book §4.6.2 Account (class_id 111, version 0). */
export const ACCOUNT_CLASS = defineClass(
  111,
  0,
  'Account',
  [
    ['account_mode_and_status', 'structure'],
    ['current_credit_in_use', 'unsigned'],
    ['current_credit_status', 'bit-string'],
    ['available_credit', 'double-long'],
    ['amount_to_clear', 'double-long'],
    ['clearance_threshold', 'double-long'],
    ['aggregated_debt', 'double-long'],
    ['credit_reference_list', 'array'],
    ['charge_reference_list', 'array'],
    ['credit_charge_configuration', 'array'],
    ['token_gateway_configuration', 'array'],
    ['account_activation_time', 'octet-string'],
    ['account_closure_time', 'octet-string'],
    ['currency', 'structure'],
    ['low_credit_threshold', 'double-long'],
    ['next_credit_available_threshold', 'double-long'],
    ['max_provision', 'long-unsigned'],
    ['max_provision_period', 'double-long-unsigned'],
  ],
  [
    ['activate_account', 'integer'],
    ['close_account', 'integer'],
    ['reset_account', 'integer'],
  ],
);

/** Blue Book §4.6.3 Credit (class_id 112, version 0). */
export const CREDIT_CLASS = defineClass(
  112,
  0,
  'Credit',
  [
    ['current_credit_amount', 'double-long'],
    ['credit_type', 'enum'],
    ['priority', 'unsigned'],
    ['warning_threshold', 'double-long'],
    ['limit', 'double-long'],
    ['credit_configuration', 'bit-string'],
    ['credit_status', 'enum'],
    ['preset_credit_amount', 'double-long'],
    ['credit_available_threshold', 'double-long'],
    ['period', 'octet-string'],
  ],
  [
    ['update_amount', 'double-long'],
    ['set_amount_to_value', 'double-long'],
    ['invoke_credit', 'integer'],
  ],
);

/** Blue Book §4.6.4 Charge (class_id 113, version 0). */
export const CHARGE_CLASS = defineClass(
  113,
  0,
  'Charge',
  [
    ['total_amount_paid', 'double-long'],
    ['charge_type', 'enum'],
    ['priority', 'unsigned'],
    ['unit_charge_active', 'structure'],
    ['unit_charge_passive', 'structure'],
    ['unit_charge_activation_time', 'octet-string'],
    ['period', 'double-long-unsigned'],
    ['charge_configuration', 'bit-string'],
    ['last_collection_time', 'octet-string'],
    ['last_collection_amount', 'double-long'],
    ['total_amount_remaining', 'double-long'],
    ['proportion', 'long-unsigned'],
  ],
  [
    ['update_unit_charge', 'structure'],
    ['activate_passive_unit_charge', 'integer'],
    ['collect', 'integer'],
    ['update_total_amount_remaining', 'double-long'],
    ['set_total_amount_remaining', 'double-long'],
  ],
);

/** Blue Book §4.6.5 Token gateway (class_id 115, version 0). Method 1 enter(token) is the token transfer. */
export const TOKEN_GATEWAY_CLASS = defineClass(
  115,
  0,
  'Token gateway',
  [
    ['token', 'octet-string'],
    ['token_time', 'octet-string'],
    ['token_description', 'array'],
    ['token_delivery_method', 'enum'],
    ['token_status', 'structure'],
  ],
  [['enter', 'octet-string']],
);

/** All classes by class id. */
export const INTERFACE_CLASSES: Readonly<Record<number, InterfaceClass>> = Object.freeze(
  Object.fromEntries(
    [
      DATA_CLASS,
      REGISTER_CLASS,
      PROFILE_GENERIC_CLASS,
      CLOCK_CLASS,
      ASSOCIATION_LN_CLASS,
      DISCONNECT_CONTROL_CLASS,
      ACCOUNT_CLASS,
      CREDIT_CLASS,
      CHARGE_CLASS,
      TOKEN_GATEWAY_CLASS,
    ].map((c) => [c.classId, c]),
  ),
);

/** Attribute definition by class and index, or undefined. */
export function attributeOf(classId: number, index: number): AttributeDef | undefined {
  return INTERFACE_CLASSES[classId]?.attributes.find((a) => a.index === index);
}

/** Method definition by class and index, or undefined. */
export function methodOf(classId: number, index: number): MethodDef | undefined {
  return INTERFACE_CLASSES[classId]?.methods.find((m) => m.index === index);
}

// ---- enumerations (dlms.md §2.6, Blue Book) ----

/** Blue Book §4.3.2 Table "enumerated values for physical units" (subset). */
export const UNIT = Object.freeze({
  year: 1,
  month: 2,
  week: 3,
  day: 4,
  hour: 5,
  minute: 6,
  second: 7,
  m3: 13,
  m3Corrected: 14,
  m3PerHour: 15,
  W: 27,
  VA: 28,
  var: 29,
  Wh: 30,
  VAh: 31,
  varh: 32,
  A: 33,
  V: 35,
  Hz: 44,
  other: 254,
  count: 255,
} as const);

export const CONTROL_STATE = Object.freeze({
  disconnected: 0,
  connected: 1,
  'ready-for-reconnection': 2,
} as const);
export const PAYMENT_MODE = Object.freeze({ credit: 1, prepayment: 2 } as const);
export const ACCOUNT_STATUS = Object.freeze({ 'new-inactive': 1, active: 2, closed: 3 } as const);
export const CREDIT_TYPE = Object.freeze({
  token: 0,
  reserved: 1,
  emergency: 2,
  'time-based': 3,
  'consumption-based': 4,
} as const);
export const CREDIT_STATUS = Object.freeze({
  enabled: 0,
  selectable: 1,
  'selected-invoked': 2,
  'in-use': 3,
  exhausted: 4,
} as const);
export const CHARGE_TYPE = Object.freeze({
  'consumption-based': 0,
  'time-based': 1,
  'payment-event-based': 2,
} as const);
export const TOKEN_DELIVERY_METHOD = Object.freeze({ remote: 0, local: 1, manual: 2 } as const);
export const TOKEN_STATUS_CODE = Object.freeze({
  'format-ok': 0,
  'authentication-ok': 1,
  'validation-ok': 2,
  'execution-ok': 3,
  'format-failure': 4,
  'authentication-failure': 5,
  'validation-failure': 6,
  'execution-failure': 7,
  'received-not-processed': 8,
} as const);

// ---- attribute values ----

/** Register scaler_unit `{integer scaler, enum unit}`; real value = value × 10^scaler. */
export interface ScalerUnit {
  scaler: number;
  unit: number;
}

export function scalerUnitToData(s: ScalerUnit): DlmsData {
  return dt.struct(dt.i8(s.scaler), dt.enum(s.unit));
}

export function scalerUnitFromData(d: DlmsData): ScalerUnit {
  const [scaler, unit] = asStruct(d, 2);
  return { scaler: asNumber(scaler), unit: asNumber(unit) };
}

/** value × 10^scaler, rounded to remove binary noise. */
export function applyScaler(value: number, scaler: number): number {
  const r = value * 10 ** scaler;
  return scaler < 0 ? Number(r.toFixed(-scaler)) : r;
}

/** Profile generic capture object `{long-unsigned class, octet-string LN, integer attr, long-unsigned data index}`. */
export interface CaptureObject {
  classId: number;
  logicalName: ObisCode;
  attributeIndex: number;
  dataIndex: number;
}

export function captureObjectsToData(list: CaptureObject[]): DlmsData {
  return dt.array(
    list.map((o) =>
      dt.struct(
        dt.u16(o.classId),
        dt.octets(obisToBytes(o.logicalName)),
        dt.i8(o.attributeIndex),
        dt.u16(o.dataIndex),
      ),
    ),
  );
}

export function captureObjectsFromData(d: DlmsData): CaptureObject[] {
  return asList(d).map((e) => {
    const [c, ln, a, i] = asStruct(e, 4);
    return {
      classId: asNumber(c),
      logicalName: obisFromBytes(asOctets(ln)),
      attributeIndex: asNumber(a),
      dataIndex: asNumber(i),
    };
  });
}

/** Selective access selector 1 (Blue Book §4.3.6): range_descriptor. */
export const SELECTOR_RANGE = 1;
/** Selective access selector 2: entry_descriptor. */
export const SELECTOR_ENTRY = 2;

export interface RangeDescriptor {
  restrictingObject: CaptureObject;
  from: CosemDateTime;
  to: CosemDateTime;
  /** Columns to return; empty = all. */
  selectedValues: CaptureObject[];
}

/** range_descriptor; from/to as octet-string(12) date-times, as devices send them. */
export function rangeDescriptorToData(r: RangeDescriptor): DlmsData {
  const o = r.restrictingObject;
  return dt.struct(
    dt.struct(
      dt.u16(o.classId),
      dt.octets(obisToBytes(o.logicalName)),
      dt.i8(o.attributeIndex),
      dt.u16(o.dataIndex),
    ),
    dt.octets(encodeCosemDateTime(r.from)),
    dt.octets(encodeCosemDateTime(r.to)),
    captureObjectsToData(r.selectedValues),
  );
}

function dateTimeField(d: DlmsData | undefined): CosemDateTime {
  if (d?.type === 'date-time') return d.value;
  return decodeCosemDateTime(asOctets(d));
}

export function rangeDescriptorFromData(d: DlmsData): RangeDescriptor {
  const [obj, from, to, sel] = asStruct(d, 4);
  const [restricting] = captureObjectsFromData(dt.array([obj!]));
  return {
    restrictingObject: restricting!,
    from: dateTimeField(from),
    to: dateTimeField(to),
    selectedValues: captureObjectsFromData(sel!),
  };
}

export interface EntryDescriptor {
  /** First entry, 1-based. */
  fromEntry: number;
  /** Last entry; 0 = the newest. */
  toEntry: number;
  fromSelectedValue: number;
  /** 0 = the last column. */
  toSelectedValue: number;
}

export function entryDescriptorToData(e: EntryDescriptor): DlmsData {
  return dt.struct(
    dt.u32(e.fromEntry),
    dt.u32(e.toEntry),
    dt.u16(e.fromSelectedValue),
    dt.u16(e.toSelectedValue),
  );
}

export function entryDescriptorFromData(d: DlmsData): EntryDescriptor {
  const [a, b, c, e] = asStruct(d, 4);
  return {
    fromEntry: asNumber(a),
    toEntry: asNumber(b),
    fromSelectedValue: asNumber(c),
    toSelectedValue: asNumber(e),
  };
}

/**
 * Fills compressed timestamps in a profile buffer: a null-data clock column means "previous row +
 * capture_period" (Blue Book §4.3.6). `column` is the clock's index in each row.
 */
export function expandProfileTimestamps(
  rows: DlmsData[][],
  column: number,
  capturePeriodSeconds: number,
  opts: DateConversionOptions = {},
): Date[] {
  const out: Date[] = [];
  let prev: Date | undefined;
  for (const row of rows) {
    const cell = row[column];
    let when: Date;
    if (cell === undefined || isNull(cell)) {
      if (!prev) throw new DlmsDecodeError('first profile row has no timestamp');
      when = new Date(prev.getTime() + capturePeriodSeconds * 1000);
    } else {
      when = cosemToDate(dateTimeField(cell), opts);
    }
    out.push(when);
    prev = when;
  }
  return out;
}

/** Association LN object_list entry (Blue Book §4.4.3, version 1). */
export interface ObjectListEntry {
  classId: number;
  version: number;
  logicalName: ObisCode;
  /** attribute_access: id, access_mode (0 none, 1 read, 2 write, 3 read-write...), selectors (null = none). */
  attributes: { id: number; access: number; selectors?: number[] | undefined }[];
  /** method_access: id, access_mode (0 none, 1 access, 2 authenticated access...). */
  methods: { id: number; access: number }[];
}

export const ATTRIBUTE_ACCESS = Object.freeze({ none: 0, read: 1, write: 2, 'read-write': 3 } as const);
export const METHOD_ACCESS = Object.freeze({ none: 0, access: 1, 'authenticated-access': 2 } as const);

export function objectListEntryToData(e: ObjectListEntry): DlmsData {
  return dt.struct(
    dt.u16(e.classId),
    dt.u8(e.version),
    dt.octets(obisToBytes(e.logicalName)),
    dt.struct(
      dt.array(
        e.attributes.map((a) =>
          dt.struct(
            dt.i8(a.id),
            dt.enum(a.access),
            a.selectors ? dt.array(a.selectors.map((s) => dt.i8(s))) : dt.null(),
          ),
        ),
      ),
      dt.array(e.methods.map((m) => dt.struct(dt.i8(m.id), dt.enum(m.access)))),
    ),
  );
}

export function objectListEntryFromData(d: DlmsData): ObjectListEntry {
  const [classId, version, ln, rights] = asStruct(d, 4);
  const [attrs, methods] = asStruct(rights, 2);
  return {
    classId: asNumber(classId),
    version: asNumber(version),
    logicalName: obisFromBytes(asOctets(ln)),
    attributes: asList(attrs).map((a) => {
      const [id, access, sel] = asStruct(a, 3);
      return {
        id: asNumber(id),
        access: asNumber(access),
        selectors: isNull(sel) ? undefined : asList(sel).map((s) => asNumber(s)),
      };
    }),
    methods: asList(methods).map((m) => {
      const [id, access] = asStruct(m, 2);
      // Version 0 associations send method access as a boolean.
      return {
        id: asNumber(id),
        access: access?.type === 'boolean' ? (access.value ? 1 : 0) : asNumber(access),
      };
    }),
  };
}

export function objectListToData(list: ObjectListEntry[]): DlmsData {
  return dt.array(list.map(objectListEntryToData));
}

export function objectListFromData(d: DlmsData): ObjectListEntry[] {
  return asList(d).map(objectListEntryFromData);
}

/** Account attribute 2 `{enum payment_mode, enum account_status}`. */
export function accountModeAndStatusFromData(d: DlmsData): { paymentMode: number; accountStatus: number } {
  const [m, s] = asStruct(d, 2);
  return { paymentMode: asNumber(m), accountStatus: asNumber(s) };
}

export function accountModeAndStatusToData(v: { paymentMode: number; accountStatus: number }): DlmsData {
  return dt.struct(dt.enum(v.paymentMode), dt.enum(v.accountStatus));
}

/** Account attribute 15 currency `{utf8-string name, integer scale, enum unit}`. */
export interface Currency {
  name: string;
  scale: number;
  unit: number;
}

export function currencyToData(c: Currency): DlmsData {
  return dt.struct(dt.utf8(c.name), dt.i8(c.scale), dt.enum(c.unit));
}

export function currencyFromData(d: DlmsData): Currency {
  const [n, s, u] = asStruct(d, 3);
  const name =
    n?.type === 'utf8-string' || n?.type === 'visible-string' ? n.value : asOctets(n).toString('utf8');
  return { name, scale: asNumber(s), unit: asNumber(u) };
}

/** Token gateway attribute 6 `{enum status_code, bit-string data_value}`. */
export interface TokenStatus {
  statusCode: number;
  dataValue: string;
}

export function tokenStatusToData(s: TokenStatus): DlmsData {
  return dt.struct(dt.enum(s.statusCode), dt.bits(s.dataValue));
}

export function tokenStatusFromData(d: DlmsData): TokenStatus {
  const [code, bits] = asStruct(d, 2);
  return { statusCode: asNumber(code), dataValue: isNull(bits) ? '' : asBits(bits) };
}

/** Charge unit_charge `{scaling {commodity scale, price scale}, commodity {class, LN, attr}, charge_table[{index, charge_per_unit}]}`. */
export interface UnitCharge {
  commodityScale: number;
  priceScale: number;
  commodity: { classId: number; logicalName: ObisCode; attributeIndex: number };
  chargeTable: { index: Buffer; chargePerUnit: number }[];
}

export function unitChargeToData(u: UnitCharge): DlmsData {
  return dt.struct(
    dt.struct(dt.i8(u.commodityScale), dt.i8(u.priceScale)),
    dt.struct(
      dt.u16(u.commodity.classId),
      dt.octets(obisToBytes(u.commodity.logicalName)),
      dt.i8(u.commodity.attributeIndex),
    ),
    dt.array(u.chargeTable.map((e) => dt.struct(dt.octets(e.index), dt.i16(e.chargePerUnit)))),
  );
}

export function unitChargeFromData(d: DlmsData): UnitCharge {
  const [scaling, commodity, table] = asStruct(d, 3);
  const [cs, ps] = asStruct(scaling, 2);
  const [cid, ln, attr] = asStruct(commodity, 3);
  return {
    commodityScale: asNumber(cs),
    priceScale: asNumber(ps),
    commodity: {
      classId: asNumber(cid),
      logicalName: obisFromBytes(asOctets(ln)),
      attributeIndex: asNumber(attr),
    },
    chargeTable: asList(table).map((e) => {
      const [i, c] = asStruct(e, 2);
      return { index: asOctets(i), chargePerUnit: asNumber(c) };
    }),
  };
}
