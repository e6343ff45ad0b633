/**
 * Encode and decode between typed values and register words, driven by the frozen map in `map.ts`.
 * Every encoder has its decoder next to it; both check ranges and name the register in their errors.
 */
import { PAYLOAD_VERSION, type Reading, type Timestamp } from '../mqtt/schemas.ts';
import { ModbusMapError, RegisterCursor } from './cursor.ts';
import {
  IDENTITY_BLOCK,
  type MeterKind,
  READING_BLOCK,
  REGISTERS,
  type RegisterBlock,
  type RegisterDef,
  type RegisterName,
  type RegisterTable,
  TOKEN_WRITE_BLOCK,
} from './map.ts';

type Def<N extends RegisterName> = (typeof REGISTERS)[N];

type ValueOf<D> = D extends { codes: infer C }
  ? keyof C & string
  : D extends { bits: infer B }
    ? (keyof B & string)[]
    : D extends { type: 'u64' }
      ? bigint
      : D extends { type: 'str' }
        ? string
        : D extends { type: 'bool' }
          ? boolean
          : number;

type InputOf<V> = V extends bigint ? bigint | number : V extends (infer F)[] ? readonly F[] : V;

/** The decoded value of one register: a code name, a list of bit names, a bigint, a string, a boolean or a number. */
export type RegisterValue<N extends RegisterName> = N extends RegisterName ? ValueOf<Def<N>> : never;

/** What the encoder accepts: as decoded, plus a safe-integer number for u64 and a readonly list for bits. */
export type RegisterInput<N extends RegisterName> = N extends RegisterName ? InputOf<ValueOf<Def<N>>> : never;

const INT_RANGES = Object.freeze({
  u16: [0, 0xffff],
  u32: [0, 0xffff_ffff],
  i32: [-0x8000_0000, 0x7fff_ffff],
} as const);

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function definition(name: string): RegisterDef {
  const def = (REGISTERS as Readonly<Record<string, RegisterDef>>)[name];
  if (def === undefined) throw new ModbusMapError('not a register of the map', name);
  return def;
}

function fail(name: string, message: string): never {
  throw new ModbusMapError(message, name);
}

function show(value: unknown): string {
  return typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? String(value));
}

function writeValue(cursor: RegisterCursor, name: string, def: RegisterDef, value: unknown): void {
  if (def.codes !== undefined) {
    const code = typeof value === 'string' && Object.hasOwn(def.codes, value) ? def.codes[value] : undefined;
    if (code === undefined) fail(name, `${show(value)} is not one of ${Object.keys(def.codes).join(', ')}`);
    cursor.writeUInt16(code);
    return;
  }
  if (def.bits !== undefined) {
    const bits = def.bits;
    if (!Array.isArray(value)) fail(name, `expects a list of ${Object.keys(bits).join(', ')}`);
    let mask = 0;
    for (const flag of value) {
      const bit = typeof flag === 'string' && Object.hasOwn(bits, flag) ? bits[flag] : undefined;
      if (bit === undefined) fail(name, `${show(flag)} is not one of ${Object.keys(bits).join(', ')}`);
      mask |= 1 << bit;
    }
    cursor.writeUInt16(mask);
    return;
  }
  switch (def.type) {
    case 'u16':
    case 'u32':
    case 'i32': {
      const [min, max] = INT_RANGES[def.type];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        fail(name, `${show(value)} is not an integer ${min}..${max} (${def.type})`);
      }
      if (def.type === 'u16') cursor.writeUInt16(value);
      else if (def.type === 'u32') cursor.writeUInt32(value);
      else cursor.writeInt32(value);
      return;
    }
    case 'u64': {
      const big = typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value;
      if (typeof big !== 'bigint' || big < 0n || big > U64_MAX) {
        fail(name, `${show(value)} is not an integer 0..${U64_MAX} (u64)`);
      }
      cursor.writeUInt64(big);
      return;
    }
    case 'str': {
      if (typeof value !== 'string') fail(name, `${show(value)} is not a string`);
      if (!PRINTABLE_ASCII.test(value)) fail(name, 'only printable ASCII characters fit in the registers');
      if (value.length > def.count * 2)
        fail(name, `${value.length} characters do not fit in ${def.count * 2}`);
      if (def.pattern !== undefined && !def.pattern.test(value))
        fail(name, `${show(value)} does not match ${def.pattern}`);
      cursor.writeAscii(value, def.count);
      return;
    }
    case 'bool':
      if (typeof value !== 'boolean') fail(name, `${show(value)} is not true or false`);
      cursor.writeUInt16(value ? 1 : 0);
      return;
  }
}

function readValue(cursor: RegisterCursor, name: string, def: RegisterDef): unknown {
  if (def.codes !== undefined) {
    const code = cursor.readUInt16();
    const entry = Object.entries(def.codes).find(([, c]) => c === code);
    if (entry === undefined)
      fail(name, `code ${code} is not defined (known: ${Object.values(def.codes).join(', ')})`);
    return entry[0];
  }
  if (def.bits !== undefined) {
    const mask = cursor.readUInt16();
    // Reserved bits are ignored so that a newer meter's extra bits do not break an older reader.
    return Object.entries(def.bits)
      .filter(([, bit]) => (mask & (1 << bit)) !== 0)
      .sort(([, a], [, b]) => a - b)
      .map(([flag]) => flag);
  }
  switch (def.type) {
    case 'u16':
      return cursor.readUInt16();
    case 'u32':
      return cursor.readUInt32();
    case 'i32':
      return cursor.readInt32();
    case 'u64':
      return cursor.readUInt64();
    case 'str': {
      const text = cursor.readAscii(def.count);
      if (!PRINTABLE_ASCII.test(text)) fail(name, 'holds bytes that are not printable ASCII');
      return text;
    }
    case 'bool': {
      const bit = cursor.readUInt16();
      if (bit > 1) fail(name, `a bit reads ${bit}, expected 0 or 1`);
      return bit === 1;
    }
  }
}

/** The words (or, for coils and discrete inputs, the 0/1 bits) that carry `value` in register `name`. */
export function encodeRegisters<N extends RegisterName>(name: N, value: RegisterInput<N>): number[] {
  const def = definition(name);
  const cursor = RegisterCursor.writer();
  writeValue(cursor, name, def, value);
  return cursor.getWritten();
}

/** The typed value held by `words`, which must be exactly the register's width. */
export function decodeRegisters<N extends RegisterName>(name: N, words: readonly number[]): RegisterValue<N> {
  const def = definition(name);
  if (words.length !== def.count) fail(name, `expects ${def.count} register(s), got ${words.length}`);
  let cursor: RegisterCursor;
  try {
    cursor = RegisterCursor.reader(words);
  } catch (err) {
    return fail(name, (err as Error).message);
  }
  return readValue(cursor, name, def) as RegisterValue<N>;
}

// ---- blocks ----

/** Some registers' decoded values by name. */
export type RegisterValues = { [N in RegisterName]?: RegisterValue<N> };
export type RegisterInputs = { [N in RegisterName]?: RegisterInput<N> };

function registersWithin(
  table: RegisterTable,
  address: number,
  count: number,
): [RegisterName, RegisterDef][] {
  return (Object.entries(REGISTERS) as [RegisterName, RegisterDef][])
    .filter(
      ([, def]) =>
        def.table === table && def.address >= address && def.address + def.count <= address + count,
    )
    .sort(([, a], [, b]) => a.address - b.address);
}

/**
 * Decodes every readable register that lies wholly inside `words`, read from `table` starting at `address`.
 * Write-only registers (which read as zero) and words outside any register are skipped.
 */
export function decodeBlock(table: RegisterTable, address: number, words: readonly number[]): RegisterValues {
  const values: Record<string, unknown> = {};
  for (const [name, def] of registersWithin(table, address, words.length)) {
    if (def.access === 'w') continue;
    const offset = def.address - address;
    values[name] = decodeRegisters(name, words.slice(offset, offset + def.count));
  }
  return values as RegisterValues;
}

/** Words for `count` registers of `table` from `address`, with the given registers filled in and zeros elsewhere. */
export function encodeBlock(
  table: RegisterTable,
  address: number,
  count: number,
  values: RegisterInputs,
): number[] {
  const words = new Array<number>(count).fill(0);
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const def = definition(name);
    if (def.table !== table || def.address < address || def.address + def.count > address + count) {
      fail(name, `lies outside ${table} ${address}..${address + count - 1}`);
    }
    const encoded = encodeRegisters(name as RegisterName, value as never);
    words.splice(def.address - address, encoded.length, ...encoded);
  }
  return words;
}

type BlockNames<B extends RegisterBlock> = B['registers'][number];
/** Every register of a block, decoded. */
export type BlockValues<B extends RegisterBlock> = { [N in BlockNames<B>]: RegisterValue<N> };
/** Every register of a block, as the encoder takes it. */
export type BlockInputs<B extends RegisterBlock> = { [N in BlockNames<B>]: RegisterInput<N> };

function decodeWholeBlock<B extends RegisterBlock>(
  block: B,
  words: readonly number[],
  what: string,
): BlockValues<B> {
  if (words.length !== block.count) {
    throw new ModbusMapError(
      `${what} is ${block.count} registers from ${block.address}, got ${words.length}`,
    );
  }
  return decodeBlock(block.table, block.address, words) as BlockValues<B>;
}

/** The reading block (input registers 0..21), decoded. */
export type ReadingRegisters = BlockValues<typeof READING_BLOCK>;
/** The identity block (input registers 100..117), decoded. */
export type IdentityRegisters = BlockValues<typeof IDENTITY_BLOCK>;

/** Decodes the 22 words of one FC 04 read of input registers 0..21. */
export function decodeReadingBlock(words: readonly number[]): ReadingRegisters {
  return decodeWholeBlock(READING_BLOCK, words, 'the reading block');
}

/** The 22 words a meter serves for input registers 0..21. */
export function encodeReadingBlock(values: BlockInputs<typeof READING_BLOCK>): number[] {
  return encodeBlock(READING_BLOCK.table, READING_BLOCK.address, READING_BLOCK.count, values);
}

/** Decodes the 18 words of one FC 04 read of input registers 100..117. */
export function decodeIdentityBlock(words: readonly number[]): IdentityRegisters {
  return decodeWholeBlock(IDENTITY_BLOCK, words, 'the identity block');
}

export function encodeIdentityBlock(values: BlockInputs<typeof IDENTITY_BLOCK>): number[] {
  return encodeBlock(IDENTITY_BLOCK.table, IDENTITY_BLOCK.address, IDENTITY_BLOCK.count, values);
}

/** The 11 words of one FC 16 write to holding registers 200..210: the token's digits, then submit. */
export function encodeTokenWrite(token: string): number[] {
  return encodeBlock(TOKEN_WRITE_BLOCK.table, TOKEN_WRITE_BLOCK.address, TOKEN_WRITE_BLOCK.count, {
    token,
    token_submit: 'submit',
  });
}

/** The token a meter received in one FC 16 write to 200..210, or null when the submit register is not 1. */
export function decodeTokenWrite(words: readonly number[]): string | null {
  if (words.length !== TOKEN_WRITE_BLOCK.count) {
    throw new ModbusMapError(
      `a token write is ${TOKEN_WRITE_BLOCK.count} registers from 200, got ${words.length}`,
    );
  }
  const submit = decodeRegisters('token_submit', words.slice(10, 11));
  if (submit !== 'submit') return null;
  const token = decodeRegisters('token', words.slice(0, 10));
  if (!/^[0-9]{20}$/.test(token)) fail('token', `${show(token)} is not 20 digits`);
  return token;
}

// ---- to the MQTT contract ----

function safeNumber(name: string, value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(name, `${value} is beyond what a JSON reading can carry`);
  return Number(value);
}

/**
 * The MQTT contract's reading for one decoded reading block: the cumulative register of the meter's kind,
 * credit in the field its unit names, the meter's clock as `ts` unless `ts` is given (use the reader's
 * time when the `clock_invalid` flag is set).
 */
export function toContractReading(regs: ReadingRegisters, kind: MeterKind, ts?: Timestamp): Reading {
  const reading: Reading = { v: PAYLOAD_VERSION, seq: regs.sequence, ts: ts ?? regs.clock * 1000 };
  if (kind === 'electricity') {
    reading.energyWh = safeNumber('energy', regs.energy);
    reading.powerW = regs.power;
    reading.voltageDv = regs.voltage;
    reading.currentMa = regs.current;
  } else {
    reading.volumeL = safeNumber('volume', regs.volume);
  }
  if (regs.credit_unit === 'currency_minor') reading.creditMinor = regs.credit;
  else if (regs.credit_unit === 'wh') reading.creditWh = regs.credit;
  else if (regs.credit_unit === 'litre') reading.creditL = regs.credit;
  reading.relay = regs.relay_state;
  reading.flags = regs.status;
  return reading;
}
