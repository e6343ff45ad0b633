import { describe, expect, it } from 'vitest';
import {
  asNumber,
  Cursor,
  cosemToDate,
  type DlmsData,
  DlmsDecodeError,
  DlmsEncodeError,
  dateToCosem,
  decodeCosemDateTime,
  decodeData,
  dt,
  encodeCosemDateTime,
  encodeData,
  formatObis,
  fromHex,
  obis,
  obisFromBytes,
  obisToBytes,
  readLength,
  toHex,
  writeLength,
} from '../../../protocols/dlms/index.ts';

describe('Cursor', () => {
  it('writes and reads every width big-endian', () => {
    const w = Cursor.writer(1);
    w.writeUInt8(0xab)
      .writeInt8(-2)
      .writeUInt16(0x1234)
      .writeInt16(-2)
      .writeUInt32(0xdeadbeef)
      .writeInt32(-1);
    w.writeUInt64(0x0102030405060708n).writeInt64(-2n).writeFloat32(1.5).writeFloat64(-0.25);
    w.writeBytes(fromHex('cafe'));
    const bytes = w.getWritten();
    expect(toHex(bytes)).toBe(
      'abfe1234fffedeadbeefffffffff0102030405060708fffffffffffffffe3fc00000bfd0000000000000cafe',
    );
    const r = Cursor.reader(bytes);
    expect(r.readUInt8()).toBe(0xab);
    expect(r.readInt8()).toBe(-2);
    expect(r.readUInt16()).toBe(0x1234);
    expect(r.readInt16()).toBe(-2);
    expect(r.readUInt32()).toBe(0xdeadbeef);
    expect(r.readInt32()).toBe(-1);
    expect(r.readUInt64()).toBe(0x0102030405060708n);
    expect(r.readInt64()).toBe(-2n);
    expect(r.readFloat32()).toBe(1.5);
    expect(r.readFloat64()).toBe(-0.25);
    expect(r.isMore()).toBe(true);
    expect(toHex(r.readBytes(2))).toBe('cafe');
    expect(r.isMore()).toBe(false);
    expect(() => r.readUInt8()).toThrow(DlmsDecodeError);
  });

  it('refuses out-of-range values', () => {
    expect(() => Cursor.writer().writeUInt8(256)).toThrow(DlmsEncodeError);
    expect(() => Cursor.writer().writeInt16(40000)).toThrow(DlmsEncodeError);
    expect(() => Cursor.writer().writeUInt32(-1)).toThrow(DlmsEncodeError);
  });
});

describe('A-XDR length', () => {
  const table: { value: number; bytes: string }[] = [
    { value: 0, bytes: '00' },
    { value: 0x7f, bytes: '7f' },
    { value: 0x80, bytes: '8180' },
    { value: 0xff, bytes: '81ff' },
    { value: 0x100, bytes: '820100' },
    { value: 0x10000, bytes: '83010000' },
    { value: 0x1000000, bytes: '8401000000' },
  ];
  for (const { value, bytes } of table) {
    it(`${value} <-> ${bytes}`, () => {
      const w = Cursor.writer();
      writeLength(w, value);
      expect(toHex(w.getWritten())).toBe(bytes);
      expect(readLength(Cursor.reader(fromHex(bytes)))).toBe(value);
    });
  }
});

describe('A-XDR Data: dlms.md and capture vectors', () => {
  // Published examples first (dlms.md §2.5 and captured responses).
  const published: { name: string; value: DlmsData; bytes: string }[] = [
    {
      name: 'scaler_unit −2 Wh (dlms.md §2.5)',
      value: dt.struct(dt.i8(-2), dt.enum(30)),
      bytes: '02020ffe161e',
    },
    { name: 'register value 17 (capture)', value: dt.u16(17), bytes: '120011' },
    {
      name: 'clock attr 2 as octet-string (capture)',
      value: dt.octets(fromHex('07ea0b1701070e2400000000')),
      bytes: '090c07ea0b1701070e2400000000',
    },
    {
      name: 'logical device name (capture)',
      value: dt.octets('GRX0000000123456'),
      bytes: '091047525830303030303030313233343536',
    },
    { name: 'disconnect output_state false (capture)', value: dt.bool(false), bytes: '0300' },
    { name: 'control_state enum 0 (capture)', value: dt.enum(0), bytes: '1600' },
    { name: 'time_zone long 0 (capture)', value: dt.i16(0), bytes: '100000' },
    {
      name: 'account mode/status (capture)',
      value: dt.struct(dt.enum(1), dt.enum(0)),
      bytes: '020216011600',
    },
    {
      name: 'capture_objects (capture)',
      value: dt.array([
        dt.struct(dt.u16(8), dt.octets(obisToBytes('0.0.1.0.0.255')), dt.i8(2), dt.u16(0)),
        dt.struct(dt.u16(3), dt.octets(obisToBytes('1.1.21.25.0.255')), dt.i8(2), dt.u16(0)),
      ]),
      bytes: '0102020412000809060000010000ff0f02120000020412000309060101151900ff0f02120000',
    },
    { name: 'disconnect method parameter integer 0 (capture)', value: dt.i8(0), bytes: '0f00' },
  ];

  const roundTrip: { name: string; value: DlmsData; bytes: string }[] = [
    { name: 'null-data', value: dt.null(), bytes: '00' },
    { name: 'dont-care', value: dt.dontCare(), bytes: 'ff' },
    { name: 'empty array', value: dt.array([]), bytes: '0100' },
    { name: 'boolean true', value: dt.bool(true), bytes: '0301' },
    { name: 'bit-string 10 bits', value: dt.bits('1010000011'), bytes: '040aa0c0' },
    { name: 'bit-string empty', value: dt.bits(''), bytes: '0400' },
    { name: 'double-long −1', value: dt.i32(-1), bytes: '05ffffffff' },
    { name: 'double-long-unsigned', value: dt.u32(0x01020304), bytes: '0601020304' },
    { name: 'visible-string', value: dt.visible('ABC'), bytes: '0a03414243' },
    { name: 'utf8-string', value: dt.utf8('رصيد'), bytes: '0c08d8b1d8b5d98ad8af' },
    { name: 'bcd', value: dt.bcd(0x42), bytes: '0d42' },
    { name: 'integer −128', value: dt.i8(-128), bytes: '0f80' },
    { name: 'long −2', value: dt.i16(-2), bytes: '10fffe' },
    { name: 'unsigned 255', value: dt.u8(255), bytes: '11ff' },
    { name: 'long-unsigned 0xFFFF', value: dt.u16(0xffff), bytes: '12ffff' },
    { name: 'long64 min', value: dt.i64(-0x8000000000000000n), bytes: '148000000000000000' },
    { name: 'long64-unsigned max', value: dt.u64(0xffffffffffffffffn), bytes: '15ffffffffffffffff' },
    { name: 'enum 2', value: dt.enum(2), bytes: '1602' },
    { name: 'float32 1.5', value: dt.f32(1.5), bytes: '173fc00000' },
    { name: 'float64 −2', value: dt.f64(-2), bytes: '18c000000000000000' },
    {
      name: 'date-time fully specified',
      value: dt.dateTime({
        year: 2026,
        month: 11,
        day: 23,
        dayOfWeek: 1,
        hour: 7,
        minute: 14,
        second: 36,
        hundredths: 0,
        deviation: -120,
        clockStatus: 0x80,
      }),
      bytes: '1907ea0b1701070e2400ff8880',
    },
    {
      name: 'date-time all not specified',
      value: dt.dateTime({}),
      bytes: `19${'ff'.repeat(9)}8000ff`,
    },
    {
      name: 'date with last-day-of-month wildcard',
      value: dt.date({ year: undefined, month: 0xfe, day: 0xfe, dayOfWeek: 7 }),
      bytes: '1affff fe fe 07'.replace(/ /g, ''),
    },
    {
      name: 'time',
      value: dt.time({ hour: 23, minute: 59, second: undefined, hundredths: undefined }),
      bytes: '1b173bffff',
    },
    {
      name: 'octet-string of 128 bytes (two-byte length)',
      value: dt.octets(Buffer.alloc(128, 0xaa)),
      bytes: `098180${'aa'.repeat(128)}`,
    },
    {
      name: 'nested structure',
      value: dt.struct(dt.array([dt.u8(1), dt.u8(2)]), dt.struct(), dt.null()),
      bytes: '0203010211011102020000',
    },
    {
      name: 'compact-array of long-unsigned',
      value: {
        type: 'compact-array',
        description: { type: 'long-unsigned' },
        value: [dt.u16(1), dt.u16(2), dt.u16(0x0304)],
      },
      bytes: '131206000100020304',
    },
    {
      name: 'compact-array of structure {unsigned, octet-string}',
      value: {
        type: 'compact-array',
        description: { type: 'structure', fields: [{ type: 'unsigned' }, { type: 'octet-string' }] },
        value: [
          dt.struct(dt.u8(1), dt.octets(fromHex('aabb'))),
          dt.struct(dt.u8(2), dt.octets(fromHex('cc'))),
        ],
      },
      bytes: '130202110907 01 02aabb 02 01cc'.replace(/ /g, ''),
    },
    {
      name: 'compact-array of array[2] of integer',
      value: {
        type: 'compact-array',
        description: { type: 'array', count: 2, element: { type: 'integer' } },
        value: [dt.array([dt.i8(-1), dt.i8(1)])],
      },
      bytes: '130100020f02ff01',
    },
  ];

  for (const { name, value, bytes } of [...published, ...roundTrip]) {
    it(name, () => {
      expect(toHex(encodeData(value))).toBe(bytes);
      expect(decodeData(fromHex(bytes))).toEqual(value);
    });
  }

  it('rejects unknown tags, truncation and trailing bytes', () => {
    expect(() => decodeData(fromHex('07'))).toThrow(/unknown Data tag/);
    expect(() => decodeData(fromHex('0600'))).toThrow(DlmsDecodeError);
    expect(() => decodeData(fromHex('0f0000'))).toThrow(/trailing/);
    expect(() => decodeData(fromHex('017f'))).toThrow(/claims/);
  });

  it('refuses values the type cannot hold', () => {
    expect(() => encodeData(dt.u8(256))).toThrow(DlmsEncodeError);
    expect(() => encodeData(dt.bits('102'))).toThrow(DlmsEncodeError);
    expect(() => encodeData(dt.visible('é'))).toThrow(DlmsEncodeError);
  });

  it('reads numbers through asNumber', () => {
    expect(asNumber(decodeData(fromHex('10fffe')))).toBe(-2);
    expect(asNumber(dt.u64(5n))).toBe(5);
    expect(() => asNumber(dt.octets('x'))).toThrow(DlmsDecodeError);
  });
});

describe('COSEM date-time', () => {
  it('decodes the captured clock value', () => {
    const value = decodeCosemDateTime(fromHex('07ea0b1701070e2400000000'));
    expect(value).toEqual({
      year: 2026,
      month: 11,
      day: 23,
      dayOfWeek: 1,
      hour: 7,
      minute: 14,
      second: 36,
      hundredths: 0,
      deviation: 0,
      clockStatus: 0,
    });
    expect(toHex(encodeCosemDateTime(value))).toBe('07ea0b1701070e2400000000');
    expect(cosemToDate(value).toISOString()).toBe('2026-11-23T07:14:36.000Z');
  });

  it('encodes UTC+02:00 as deviation −120 (standard) or +120 (inverted)', () => {
    const when = new Date('2026-03-01T10:00:00.000Z');
    const std = dateToCosem(when, { utcOffsetMinutes: 120 });
    expect(std.hour).toBe(12);
    expect(std.deviation).toBe(-120);
    expect(std.dayOfWeek).toBe(7);
    expect(toHex(encodeCosemDateTime(std))).toBe('07ea030107 0c000000 ff88 00'.replace(/ /g, ''));
    expect(cosemToDate(std).toISOString()).toBe(when.toISOString());
    const inv = dateToCosem(when, { utcOffsetMinutes: 120, deviationSign: 'inverted' });
    expect(inv.deviation).toBe(120);
    expect(cosemToDate(inv, { deviationSign: 'inverted' }).toISOString()).toBe(when.toISOString());
  });

  it('refuses to turn a wildcard into a Date', () => {
    expect(() => cosemToDate({ year: 2026, month: 0xfe, day: 1, hour: 0, minute: 0 })).toThrow(
      DlmsDecodeError,
    );
    expect(() => cosemToDate({})).toThrow(DlmsDecodeError);
  });
});

describe('OBIS', () => {
  const table = [
    { text: '1.0.1.8.0.255', bytes: '0100010800ff' },
    { text: '0.0.40.0.0.255', bytes: '0000280000ff' },
    { text: '0.0.96.3.10.255', bytes: '000060030aff' },
  ];
  for (const { text, bytes } of table) {
    it(`${text} <-> ${bytes}`, () => {
      expect(toHex(obisToBytes(obis(text)))).toBe(bytes);
      expect(obisFromBytes(fromHex(bytes))).toBe(text);
    });
  }

  it('accepts the reduced notation and formats it back', () => {
    expect(obis('1-0:1.8.0*255')).toBe('1.0.1.8.0.255');
    expect(obis('1-0:1.8.0')).toBe('1.0.1.8.0.255');
    expect(formatObis(obis('1.0.1.8.0.255'), 'reduced')).toBe('1-0:1.8.0*255');
  });

  it('rejects malformed codes', () => {
    expect(() => obis('1.0.1.8')).toThrow(DlmsEncodeError);
    expect(() => obis('1.0.1.8.0.256')).toThrow(DlmsEncodeError);
    expect(() => obisFromBytes(fromHex('0100'))).toThrow(DlmsDecodeError);
  });
});
