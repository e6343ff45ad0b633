/**
 * Rasid's Modbus register map for a prepaid meter, version 1, as frozen data. The codec in `codec.ts` reads
 * these tables; `docs/modbus-map.md` is the same map written for meter makers and integrators.
 *
 * Addresses are PDU addresses (zero-based, as on the wire). Multi-register values are big-endian: the
 * most significant word first. Values are raw register integers; `scale` × raw gives the value in `unit`.
 */
import {
  READING_FLAG_BITS,
  type ReadingFlag,
  type RelayState,
  type TokenRejection,
} from '../mqtt/schemas.ts';

/** Version of this map, readable at input register 117 (`map_version`). */
export const MODBUS_MAP_VERSION = 1;

/** Word order of every multi-register value. */
export const WORD_ORDER = 'big-endian';

/** The four Modbus data tables and the function codes that read and write them. */
export const MODBUS_TABLES = Object.freeze({
  /** 1-bit read/write: FC 01 read, FC 05 write one, FC 15 write many. */
  coil: { read: 0x01, writeOne: 0x05, writeMany: 0x0f },
  /** 1-bit read-only: FC 02. */
  discrete: { read: 0x02, writeOne: null, writeMany: null },
  /** 16-bit read/write: FC 03 read, FC 06 write one, FC 16 write many. */
  holding: { read: 0x03, writeOne: 0x06, writeMany: 0x10 },
  /** 16-bit read-only: FC 04. */
  input: { read: 0x04, writeOne: null, writeMany: null },
} as const);
export type RegisterTable = keyof typeof MODBUS_TABLES;

/** Register value types; `bool` is one coil or discrete input. */
export type RegisterType = 'u16' | 'u32' | 'u64' | 'i32' | 'str' | 'bool';

/** Registers (or bits) each type takes; `str` gives its own count. */
export const TYPE_WORDS = Object.freeze({ u16: 1, u32: 2, u64: 4, i32: 2, bool: 1 } as const);

export type Access = 'r' | 'rw' | 'w';

export interface RegisterDef {
  readonly table: RegisterTable;
  /** Zero-based PDU address of the first register. */
  readonly address: number;
  readonly type: RegisterType;
  /** Registers (or bits) used. */
  readonly count: number;
  /** Physical value = raw × scale, in `unit`. */
  readonly scale: number;
  readonly unit: string;
  readonly access: Access;
  readonly description: string;
  /** For coded `u16` registers: name → code. */
  readonly codes?: Readonly<Record<string, number>>;
  /** For bit-field `u16` registers: name → bit number (0 = least significant). */
  readonly bits?: Readonly<Record<string, number>>;
  /** For `str` registers: what the text must match. */
  readonly pattern?: RegExp;
}

// ---- coded values ----

/** `credit_unit`: what the `credit` register counts. */
export const CREDIT_UNIT_CODES = Object.freeze({
  /** The meter keeps no credit (post-paid or central mode). */
  none: 0,
  /** Minor units of the utility's currency (e.g. fils, cents). */
  currency_minor: 1,
  /** Watt-hours (STS electricity meters keep credit in energy). */
  wh: 2,
  /** Litres (water meters). */
  litre: 3,
} as const);
export type CreditUnit = keyof typeof CREDIT_UNIT_CODES;

/** `relay_state`: the relay (electricity) or valve (water) as measured. */
export const RELAY_STATE_CODES = Object.freeze({
  disconnected: 0,
  connected: 1,
} as const satisfies Record<RelayState, number>);

/** `meter_kind`. */
export const METER_KIND_CODES = Object.freeze({ electricity: 1, water: 2 } as const);
export type MeterKind = keyof typeof METER_KIND_CODES;

/** `token_submit`: write `submit` after the 20 digits (or in the same FC 16 request). Reads give `idle`. */
export const TOKEN_SUBMIT_CODES = Object.freeze({ idle: 0, submit: 1 } as const);

/**
 * `token_result`: the outcome of the last submitted token. 16 and above are the IEC 62055-41 rejection
 * categories, named as in the MQTT contract's `token_rejected` event.
 */
export const TOKEN_RESULT_CODES = Object.freeze({
  /** No token submitted since power-up. */
  idle: 0,
  /** Submitted, being checked. Poll again. */
  processing: 1,
  /** Accepted and applied. */
  accepted: 2,
  authentication: 16,
  crc: 17,
  format: 18,
  range: 19,
  function: 20,
  old: 21,
  used: 22,
  key_expired: 23,
  key_type: 24,
  ddtk: 25,
  overflow: 26,
} as const satisfies Record<TokenRejection | 'idle' | 'processing' | 'accepted', number>);
export type TokenResult = keyof typeof TOKEN_RESULT_CODES;

/** Status register bits: the same bit numbers as the MQTT reading flags and the store's `flags` column. */
export const STATUS_BITS: Readonly<Record<ReadingFlag, number>> = READING_FLAG_BITS;

// ---- the map ----

/** Every register of the map, by name. */
export const REGISTERS = Object.freeze({
  // Input registers 0..21: the reading block, read in one FC 04 request.
  energy: {
    table: 'input',
    address: 0,
    type: 'u64',
    count: 4,
    scale: 1,
    unit: 'Wh',
    access: 'r',
    description: 'Cumulative active energy imported (electricity; 0 on water meters)',
  },
  volume: {
    table: 'input',
    address: 4,
    type: 'u64',
    count: 4,
    scale: 1,
    unit: 'L',
    access: 'r',
    description: 'Cumulative volume (water; 0 on electricity meters)',
  },
  power: {
    table: 'input',
    address: 8,
    type: 'u32',
    count: 2,
    scale: 1,
    unit: 'W',
    access: 'r',
    description: 'Instantaneous active power',
  },
  voltage: {
    table: 'input',
    address: 10,
    type: 'u16',
    count: 1,
    scale: 0.1,
    unit: 'V',
    access: 'r',
    description: 'Voltage in decivolts (2301 = 230.1 V)',
  },
  current: {
    table: 'input',
    address: 11,
    type: 'u32',
    count: 2,
    scale: 0.001,
    unit: 'A',
    access: 'r',
    description: 'Current in milliamperes',
  },
  credit: {
    table: 'input',
    address: 13,
    type: 'i32',
    count: 2,
    scale: 1,
    unit: 'credit_unit',
    access: 'r',
    description: 'Credit left, in the unit of credit_unit; negative while emergency credit is used',
  },
  credit_unit: {
    table: 'input',
    address: 15,
    type: 'u16',
    count: 1,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'What credit counts',
    codes: CREDIT_UNIT_CODES,
  },
  relay_state: {
    table: 'input',
    address: 16,
    type: 'u16',
    count: 1,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'Relay or valve position as measured',
    codes: RELAY_STATE_CODES,
  },
  status: {
    table: 'input',
    address: 17,
    type: 'u16',
    count: 1,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'Status and alarm bits; reserved bits read 0',
    bits: STATUS_BITS,
  },
  sequence: {
    table: 'input',
    address: 18,
    type: 'u32',
    count: 2,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'Reading counter: +1 each time the measurement registers are refreshed; wraps to 0',
  },
  clock: {
    table: 'input',
    address: 20,
    type: 'u32',
    count: 2,
    scale: 1,
    unit: 's',
    access: 'r',
    description: 'Meter clock, seconds since 1970-01-01T00:00:00Z, when the reading block was refreshed',
  },

  // Input registers 100..117: identity block.
  serial: {
    table: 'input',
    address: 100,
    type: 'str',
    count: 8,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'Meter serial number, ASCII, up to 16 characters, NUL-padded',
    pattern: /^[\x20-\x7e]{1,16}$/,
  },
  firmware: {
    table: 'input',
    address: 108,
    type: 'str',
    count: 8,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'Firmware version, ASCII, up to 16 characters, NUL-padded',
    pattern: /^[\x20-\x7e]{1,16}$/,
  },
  meter_kind: {
    table: 'input',
    address: 116,
    type: 'u16',
    count: 1,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'Electricity or water',
    codes: METER_KIND_CODES,
  },
  map_version: {
    table: 'input',
    address: 117,
    type: 'u16',
    count: 1,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'Version of this register map (1)',
  },

  // Holding registers 200..215: token entry, clock setting, threshold.
  token: {
    table: 'holding',
    address: 200,
    type: 'str',
    count: 10,
    scale: 1,
    unit: '',
    access: 'w',
    description: 'Token entry: 20 ASCII digits, two per register, first digit in the high byte; reads give 0',
    pattern: /^[0-9]{20}$/,
  },
  token_submit: {
    table: 'holding',
    address: 210,
    type: 'u16',
    count: 1,
    scale: 1,
    unit: '',
    access: 'w',
    description: 'Write 1 to submit the digits in 200..209; reads give 0',
    codes: TOKEN_SUBMIT_CODES,
  },
  token_result: {
    table: 'holding',
    address: 211,
    type: 'u16',
    count: 1,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'Outcome of the last submitted token (accepted, or the STS rejection)',
    codes: TOKEN_RESULT_CODES,
  },
  clock_set: {
    table: 'holding',
    address: 212,
    type: 'u32',
    count: 2,
    scale: 1,
    unit: 's',
    access: 'w',
    description: 'Write seconds since the epoch (UTC) to set the clock, both registers in one FC 16',
  },
  low_credit_threshold: {
    table: 'holding',
    address: 214,
    type: 'i32',
    count: 2,
    scale: 1,
    unit: 'credit_unit',
    access: 'rw',
    description: 'The low_credit bit is set while credit is below this, in the unit of credit_unit',
  },

  // Coils.
  relay_control: {
    table: 'coil',
    address: 0,
    type: 'bool',
    count: 1,
    scale: 1,
    unit: '',
    access: 'rw',
    description: 'Commanded relay or valve position: 1 connect, 0 disconnect (reconnect needs credit)',
  },
  emergency_credit: {
    table: 'coil',
    address: 1,
    type: 'bool',
    count: 1,
    scale: 1,
    unit: '',
    access: 'rw',
    description: 'Write 1 to take emergency credit (once until the next top-up); reads 1 while it is in use',
  },
  alarm_reset: {
    table: 'coil',
    address: 2,
    type: 'bool',
    count: 1,
    scale: 1,
    unit: '',
    access: 'w',
    description: 'Write 1 to clear latched alarms (tamper, magnetic) after an inspection; reads give 0',
  },

  // Discrete inputs 0..8: the status bits one by one, address = bit number.
  alarm_tamper: {
    table: 'discrete',
    address: READING_FLAG_BITS.tamper,
    type: 'bool',
    count: 1,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'Status bit tamper',
  },
  alarm_low_credit: {
    table: 'discrete',
    address: READING_FLAG_BITS.low_credit,
    type: 'bool',
    count: 1,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'Status bit low_credit',
  },
  alarm_cover_open: {
    table: 'discrete',
    address: READING_FLAG_BITS.cover_open,
    type: 'bool',
    count: 1,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'Status bit cover_open',
  },
  alarm_power_fail: {
    table: 'discrete',
    address: READING_FLAG_BITS.power_fail,
    type: 'bool',
    count: 1,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'Status bit power_fail',
  },
  alarm_magnetic: {
    table: 'discrete',
    address: READING_FLAG_BITS.magnetic,
    type: 'bool',
    count: 1,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'Status bit magnetic',
  },
  alarm_emergency_credit: {
    table: 'discrete',
    address: READING_FLAG_BITS.emergency_credit,
    type: 'bool',
    count: 1,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'Status bit emergency_credit',
  },
  alarm_relay_fault: {
    table: 'discrete',
    address: READING_FLAG_BITS.relay_fault,
    type: 'bool',
    count: 1,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'Status bit relay_fault',
  },
  alarm_battery_low: {
    table: 'discrete',
    address: READING_FLAG_BITS.battery_low,
    type: 'bool',
    count: 1,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'Status bit battery_low',
  },
  alarm_clock_invalid: {
    table: 'discrete',
    address: READING_FLAG_BITS.clock_invalid,
    type: 'bool',
    count: 1,
    scale: 1,
    unit: '',
    access: 'r',
    description: 'Status bit clock_invalid',
  },
} as const) satisfies Readonly<Record<string, RegisterDef>>;

export type RegisterName = keyof typeof REGISTERS;
export const REGISTER_NAMES = Object.freeze(Object.keys(REGISTERS) as RegisterName[]);

/** A contiguous span of one table, read or written in one request. */
export interface RegisterBlock {
  readonly table: RegisterTable;
  readonly address: number;
  readonly count: number;
  /** The registers that fill the span, in address order. */
  readonly registers: readonly RegisterName[];
}

function block<const N extends RegisterName>(
  registers: readonly N[],
): RegisterBlock & { registers: readonly N[] } {
  const first = REGISTERS[registers[0] as N];
  const last = REGISTERS[registers[registers.length - 1] as N];
  return Object.freeze({
    table: first.table,
    address: first.address,
    count: last.address + last.count - first.address,
    registers: Object.freeze([...registers]),
  });
}

/** Input registers 0..21: everything a reading needs, in one FC 04 request of 22 registers. */
export const READING_BLOCK = block([
  'energy',
  'volume',
  'power',
  'voltage',
  'current',
  'credit',
  'credit_unit',
  'relay_state',
  'status',
  'sequence',
  'clock',
]);
/** Input registers 100..117: serial, firmware, kind and map version, in one FC 04 request of 18. */
export const IDENTITY_BLOCK = block(['serial', 'firmware', 'meter_kind', 'map_version']);
/** Holding registers 200..210: the token digits and the submit register, written in one FC 16 request. */
export const TOKEN_WRITE_BLOCK = block(['token', 'token_submit']);
