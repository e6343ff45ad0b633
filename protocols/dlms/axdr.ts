/**
 * A-XDR encoding of the COSEM `Data` CHOICE (IEC 62056-6-2 §4.1.5, IEC 61334-6 A-XDR, Green Book
 * "Data" in the xDLMS ASN.1). Tag byte, then the value; every number is big-endian.
 */
import { Cursor, DlmsDecodeError, DlmsEncodeError } from './cursor.ts';
import {
  type CosemDate,
  type CosemDateTime,
  type CosemTime,
  readCosemDate,
  readCosemDateTime,
  readCosemTime,
  writeCosemDate,
  writeCosemDateTime,
  writeCosemTime,
} from './datetime.ts';

/** Data CHOICE tags (Green Book, xDLMS ASN.1 `Data ::= CHOICE`). */
export const DATA_TAG = Object.freeze({
  'null-data': 0x00,
  array: 0x01,
  structure: 0x02,
  boolean: 0x03,
  'bit-string': 0x04,
  'double-long': 0x05,
  'double-long-unsigned': 0x06,
  'octet-string': 0x09,
  'visible-string': 0x0a,
  'utf8-string': 0x0c,
  bcd: 0x0d,
  integer: 0x0f,
  long: 0x10,
  unsigned: 0x11,
  'long-unsigned': 0x12,
  'compact-array': 0x13,
  long64: 0x14,
  'long64-unsigned': 0x15,
  enum: 0x16,
  float32: 0x17,
  float64: 0x18,
  'date-time': 0x19,
  date: 0x1a,
  time: 0x1b,
  'dont-care': 0xff,
} as const);

export type DataTypeName = keyof typeof DATA_TAG;

const TAG_TO_NAME: ReadonlyMap<number, DataTypeName> = new Map(
  (Object.entries(DATA_TAG) as [DataTypeName, number][]).map(([name, tag]) => [tag, name]),
);

/** The COSEM Data value, one variant per A-XDR type. */
export type DlmsData =
  | { type: 'null-data' }
  | { type: 'dont-care' }
  | { type: 'array'; value: DlmsData[] }
  | { type: 'structure'; value: DlmsData[] }
  | { type: 'compact-array'; description: TypeDescription; value: DlmsData[] }
  | { type: 'boolean'; value: boolean }
  /** Bits as a string of '0'/'1', first bit = MSB of the first byte. */
  | { type: 'bit-string'; value: string }
  | { type: 'double-long' | 'double-long-unsigned'; value: number }
  | { type: 'integer' | 'long' | 'unsigned' | 'long-unsigned' | 'enum' | 'bcd'; value: number }
  | { type: 'long64' | 'long64-unsigned'; value: bigint }
  | { type: 'float32' | 'float64'; value: number }
  | { type: 'octet-string'; value: Buffer }
  | { type: 'visible-string' | 'utf8-string'; value: string }
  | { type: 'date-time'; value: CosemDateTime }
  | { type: 'date'; value: CosemDate }
  | { type: 'time'; value: CosemTime };

/** Type description used by compact-array (Green Book `TypeDescription ::= CHOICE`). */
export type TypeDescription =
  | { type: 'array'; count: number; element: TypeDescription }
  | { type: 'structure'; fields: TypeDescription[] }
  | { type: Exclude<DataTypeName, 'array' | 'structure' | 'compact-array'> };

// ---- length (A-XDR variable-length integer, IEC 61334-6 §5) ----

/** A-XDR length: < 0x80 in one byte, otherwise 0x80|n followed by n big-endian bytes. */
export function writeLength(c: Cursor, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new DlmsEncodeError(`bad length ${n}`);
  if (n < 0x80) c.writeUInt8(n);
  else if (n <= 0xff) c.writeUInt8(0x81).writeUInt8(n);
  else if (n <= 0xffff) c.writeUInt8(0x82).writeUInt16(n);
  else if (n <= 0xffffff)
    c.writeUInt8(0x83)
      .writeUInt8(n >> 16)
      .writeUInt16(n & 0xffff);
  else c.writeUInt8(0x84).writeUInt32(n);
}

export function readLength(c: Cursor): number {
  const first = c.readUInt8();
  if (first < 0x80) return first;
  const size = first & 0x7f;
  if (size === 0 || size > 4)
    throw new DlmsDecodeError(`unsupported length-of-length ${size}`, c.position - 1);
  let n = 0;
  for (let i = 0; i < size; i++) n = n * 256 + c.readUInt8();
  return n;
}

// ---- builders, so callers write `dt.u16(5)` rather than object literals ----

export const dt = Object.freeze({
  null: (): DlmsData => ({ type: 'null-data' }),
  dontCare: (): DlmsData => ({ type: 'dont-care' }),
  array: (value: DlmsData[]): DlmsData => ({ type: 'array', value }),
  struct: (...value: DlmsData[]): DlmsData => ({ type: 'structure', value }),
  bool: (value: boolean): DlmsData => ({ type: 'boolean', value }),
  bits: (value: string): DlmsData => ({ type: 'bit-string', value }),
  i8: (value: number): DlmsData => ({ type: 'integer', value }),
  i16: (value: number): DlmsData => ({ type: 'long', value }),
  i32: (value: number): DlmsData => ({ type: 'double-long', value }),
  i64: (value: bigint): DlmsData => ({ type: 'long64', value }),
  u8: (value: number): DlmsData => ({ type: 'unsigned', value }),
  u16: (value: number): DlmsData => ({ type: 'long-unsigned', value }),
  u32: (value: number): DlmsData => ({ type: 'double-long-unsigned', value }),
  u64: (value: bigint): DlmsData => ({ type: 'long64-unsigned', value }),
  enum: (value: number): DlmsData => ({ type: 'enum', value }),
  bcd: (value: number): DlmsData => ({ type: 'bcd', value }),
  f32: (value: number): DlmsData => ({ type: 'float32', value }),
  f64: (value: number): DlmsData => ({ type: 'float64', value }),
  octets: (value: Uint8Array | string): DlmsData => ({
    type: 'octet-string',
    value: typeof value === 'string' ? Buffer.from(value, 'latin1') : Buffer.from(value),
  }),
  visible: (value: string): DlmsData => ({ type: 'visible-string', value }),
  utf8: (value: string): DlmsData => ({ type: 'utf8-string', value }),
  dateTime: (value: CosemDateTime): DlmsData => ({ type: 'date-time', value }),
  date: (value: CosemDate): DlmsData => ({ type: 'date', value }),
  time: (value: CosemTime): DlmsData => ({ type: 'time', value }),
});

// ---- bit-string ----

function writeBitString(c: Cursor, bits: string): void {
  if (/[^01]/.test(bits)) throw new DlmsEncodeError(`bit-string must contain only 0/1: "${bits}"`);
  writeLength(c, bits.length);
  const bytes = Buffer.alloc(Math.ceil(bits.length / 8));
  for (let i = 0; i < bits.length; i++) {
    // A-XDR bit-string: first bit is the MSB of the first byte, unused trailing bits are 0.
    if (bits[i] === '1') bytes[i >> 3]! |= 0x80 >> (i & 7);
  }
  c.writeBytes(bytes);
}

function readBitString(c: Cursor): string {
  const count = readLength(c);
  const bytes = c.readBytes(Math.ceil(count / 8));
  let out = '';
  for (let i = 0; i < count; i++) out += (bytes[i >> 3]! & (0x80 >> (i & 7))) !== 0 ? '1' : '0';
  return out;
}

// ---- value bodies (shared by tagged Data and untagged compact-array contents) ----

type Simple = Exclude<DlmsData, { type: 'array' | 'structure' | 'compact-array' }>;

function writeSimpleBody(c: Cursor, d: Simple): void {
  switch (d.type) {
    case 'null-data':
    case 'dont-care':
      return;
    case 'boolean':
      c.writeUInt8(d.value ? 0x01 : 0x00);
      return;
    case 'bit-string':
      writeBitString(c, d.value);
      return;
    case 'double-long':
      c.writeInt32(d.value);
      return;
    case 'double-long-unsigned':
      c.writeUInt32(d.value);
      return;
    case 'integer':
      c.writeInt8(d.value);
      return;
    case 'long':
      c.writeInt16(d.value);
      return;
    case 'unsigned':
    case 'enum':
    case 'bcd':
      c.writeUInt8(d.value);
      return;
    case 'long-unsigned':
      c.writeUInt16(d.value);
      return;
    case 'long64':
      c.writeInt64(d.value);
      return;
    case 'long64-unsigned':
      c.writeUInt64(d.value);
      return;
    case 'float32':
      c.writeFloat32(d.value);
      return;
    case 'float64':
      c.writeFloat64(d.value);
      return;
    case 'octet-string':
      writeLength(c, d.value.length);
      c.writeBytes(d.value);
      return;
    case 'visible-string': {
      if (/[^\x20-\x7e]/.test(d.value)) throw new DlmsEncodeError('visible-string must be printable ASCII');
      const b = Buffer.from(d.value, 'latin1');
      writeLength(c, b.length);
      c.writeBytes(b);
      return;
    }
    case 'utf8-string': {
      const b = Buffer.from(d.value, 'utf8');
      writeLength(c, b.length);
      c.writeBytes(b);
      return;
    }
    case 'date-time':
      writeCosemDateTime(c, d.value);
      return;
    case 'date':
      writeCosemDate(c, d.value);
      return;
    case 'time':
      writeCosemTime(c, d.value);
      return;
  }
}

function readSimpleBody(c: Cursor, type: Simple['type']): Simple {
  switch (type) {
    case 'null-data':
    case 'dont-care':
      return { type };
    case 'boolean':
      return { type, value: c.readUInt8() !== 0 };
    case 'bit-string':
      return { type, value: readBitString(c) };
    case 'double-long':
      return { type, value: c.readInt32() };
    case 'double-long-unsigned':
      return { type, value: c.readUInt32() };
    case 'integer':
      return { type, value: c.readInt8() };
    case 'long':
      return { type, value: c.readInt16() };
    case 'unsigned':
    case 'enum':
    case 'bcd':
      return { type, value: c.readUInt8() };
    case 'long-unsigned':
      return { type, value: c.readUInt16() };
    case 'long64':
      return { type, value: c.readInt64() };
    case 'long64-unsigned':
      return { type, value: c.readUInt64() };
    case 'float32':
      return { type, value: c.readFloat32() };
    case 'float64':
      return { type, value: c.readFloat64() };
    case 'octet-string':
      return { type, value: c.readBytes(readLength(c)) };
    case 'visible-string':
      return { type, value: c.readBytes(readLength(c)).toString('latin1') };
    case 'utf8-string':
      return { type, value: c.readBytes(readLength(c)).toString('utf8') };
    case 'date-time':
      return { type, value: readCosemDateTime(c) };
    case 'date':
      return { type, value: readCosemDate(c) };
    case 'time':
      return { type, value: readCosemTime(c) };
  }
}

// ---- compact-array (Green Book: compact-array [19] { contents-description, array-contents }) ----

export function writeTypeDescription(c: Cursor, d: TypeDescription): void {
  c.writeUInt8(DATA_TAG[d.type]);
  if (d.type === 'array') {
    c.writeUInt16(d.count); // number-of-elements Unsigned16
    writeTypeDescription(c, d.element);
  } else if (d.type === 'structure') {
    writeLength(c, d.fields.length);
    for (const f of d.fields) writeTypeDescription(c, f);
  }
}

export function readTypeDescription(c: Cursor): TypeDescription {
  const at = c.position;
  const name = TAG_TO_NAME.get(c.readUInt8());
  if (name === undefined || name === 'compact-array') throw new DlmsDecodeError('bad type description', at);
  if (name === 'array') {
    const count = c.readUInt16();
    return { type: 'array', count, element: readTypeDescription(c) };
  }
  if (name === 'structure') {
    const n = readLength(c);
    const fields: TypeDescription[] = [];
    for (let i = 0; i < n; i++) fields.push(readTypeDescription(c));
    return { type: 'structure', fields };
  }
  return { type: name };
}

function writeUntagged(c: Cursor, desc: TypeDescription, d: DlmsData): void {
  if (d.type !== desc.type)
    throw new DlmsEncodeError(`compact-array element is ${d.type}, expected ${desc.type}`);
  if (desc.type === 'array' && d.type === 'array') {
    if (d.value.length !== desc.count) throw new DlmsEncodeError('compact-array inner array count mismatch');
    for (const e of d.value) writeUntagged(c, desc.element, e);
  } else if (desc.type === 'structure' && d.type === 'structure') {
    if (d.value.length !== desc.fields.length)
      throw new DlmsEncodeError('compact-array structure size mismatch');
    d.value.forEach((e, i) => {
      writeUntagged(c, desc.fields[i]!, e);
    });
  } else if (d.type === 'array' || d.type === 'structure') {
    throw new DlmsEncodeError('nested compact-array is not allowed');
  } else {
    writeSimpleBody(c, d);
  }
}

function readUntagged(c: Cursor, desc: TypeDescription): DlmsData {
  if (desc.type === 'array') {
    const value: DlmsData[] = [];
    for (let i = 0; i < desc.count; i++) value.push(readUntagged(c, desc.element));
    return { type: 'array', value };
  }
  if (desc.type === 'structure') {
    return { type: 'structure', value: desc.fields.map((f) => readUntagged(c, f)) };
  }
  return readSimpleBody(c, desc.type);
}

// ---- Data ----

const MAX_DEPTH = 32;

export function writeData(c: Cursor, d: DlmsData, depth = 0): void {
  if (depth > MAX_DEPTH) throw new DlmsEncodeError('Data nested too deeply');
  c.writeUInt8(DATA_TAG[d.type]);
  switch (d.type) {
    case 'array':
    case 'structure':
      writeLength(c, d.value.length);
      for (const e of d.value) writeData(c, e, depth + 1);
      return;
    case 'compact-array': {
      writeTypeDescription(c, d.description);
      const inner = Cursor.writer();
      for (const e of d.value) writeUntagged(inner, d.description, e);
      const contents = inner.getWritten();
      writeLength(c, contents.length);
      c.writeBytes(contents);
      return;
    }
    default:
      writeSimpleBody(c, d);
  }
}

export function readData(c: Cursor, depth = 0): DlmsData {
  if (depth > MAX_DEPTH) throw new DlmsDecodeError('Data nested too deeply', c.position);
  const at = c.position;
  const tag = c.readUInt8();
  const type = TAG_TO_NAME.get(tag);
  if (type === undefined) throw new DlmsDecodeError(`unknown Data tag 0x${tag.toString(16)}`, at);
  switch (type) {
    case 'array':
    case 'structure': {
      const n = readLength(c);
      if (n > c.remaining()) throw new DlmsDecodeError(`${type} claims ${n} elements`, at);
      const value: DlmsData[] = [];
      for (let i = 0; i < n; i++) value.push(readData(c, depth + 1));
      return { type, value };
    }
    case 'compact-array': {
      const description = readTypeDescription(c);
      const contents = Cursor.reader(c.readBytes(readLength(c)));
      const value: DlmsData[] = [];
      while (contents.isMore()) value.push(readUntagged(contents, description));
      return { type, description, value };
    }
    default:
      return readSimpleBody(c, type);
  }
}

/** A-XDR bytes of one Data value. */
export function encodeData(d: DlmsData): Buffer {
  const c = Cursor.writer();
  writeData(c, d);
  return c.getWritten();
}

/** One Data value from bytes; trailing bytes are an error. */
export function decodeData(bytes: Uint8Array): DlmsData {
  const c = Cursor.reader(bytes);
  const d = readData(c);
  if (c.isMore()) throw new DlmsDecodeError(`${c.remaining()} trailing byte(s) after Data`, c.position);
  return d;
}

// ---- accessors for decoded values ----

function fail(expected: string, d: DlmsData | undefined): never {
  throw new DlmsDecodeError(`expected ${expected}, got ${d === undefined ? 'nothing' : d.type}`);
}

/** Any integer type as a number (long64 must fit in a safe integer). */
export function asNumber(d: DlmsData | undefined): number {
  if (d === undefined) fail('a number', d);
  switch (d.type) {
    case 'integer':
    case 'long':
    case 'unsigned':
    case 'long-unsigned':
    case 'double-long':
    case 'double-long-unsigned':
    case 'enum':
    case 'bcd':
    case 'float32':
    case 'float64':
      return d.value;
    case 'long64':
    case 'long64-unsigned': {
      const n = Number(d.value);
      if (!Number.isSafeInteger(n)) throw new DlmsDecodeError(`${d.value} is not a safe integer`);
      return n;
    }
    default:
      return fail('a number', d);
  }
}

export function asBigInt(d: DlmsData | undefined): bigint {
  if (d?.type === 'long64' || d?.type === 'long64-unsigned') return d.value;
  return BigInt(asNumber(d));
}

export function asOctets(d: DlmsData | undefined): Buffer {
  if (d?.type !== 'octet-string') fail('octet-string', d);
  return d.value;
}

export function asString(d: DlmsData | undefined): string {
  if (d?.type === 'visible-string' || d?.type === 'utf8-string') return d.value;
  if (d?.type === 'octet-string') return d.value.toString('latin1');
  return fail('a string', d);
}

export function asBoolean(d: DlmsData | undefined): boolean {
  if (d?.type !== 'boolean') fail('boolean', d);
  return d.value;
}

export function asBits(d: DlmsData | undefined): string {
  if (d?.type !== 'bit-string') fail('bit-string', d);
  return d.value;
}

/** Elements of an array or structure (or compact-array). */
export function asList(d: DlmsData | undefined): DlmsData[] {
  if (d?.type === 'array' || d?.type === 'structure' || d?.type === 'compact-array') return d.value;
  return fail('array or structure', d);
}

/** A structure with at least `n` fields. */
export function asStruct(d: DlmsData | undefined, n: number): DlmsData[] {
  if (d?.type !== 'structure') fail('structure', d);
  if (d.value.length < n) throw new DlmsDecodeError(`structure has ${d.value.length} fields, expected ${n}`);
  return d.value;
}

export function isNull(d: DlmsData | undefined): boolean {
  return d?.type === 'null-data';
}
