import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  decodeBlock,
  decodeIdentityBlock,
  decodeReadingBlock,
  decodeRegisters,
  decodeTokenWrite,
  encodeBlock,
  encodeIdentityBlock,
  encodeReadingBlock,
  encodeRegisters,
  encodeTokenWrite,
  ModbusMapError,
  type ReadingRegisters,
  RegisterCursor,
  type RegisterInput,
  type RegisterName,
  toContractReading,
} from '../../../protocols/modbus/index.ts';
import { ReadingSchema } from '../../../protocols/mqtt/index.ts';

interface Vector {
  name: RegisterName;
  value: unknown;
  words: number[];
}

const v = <N extends RegisterName>(name: N, value: RegisterInput<N>, words: number[]): Vector => ({
  name,
  value,
  words,
});

/** One register at a time: the typed value and the words on the wire (big-endian words). */
const VECTORS: Vector[] = [
  v('energy', 0n, [0, 0, 0, 0]),
  v('energy', 123456789n, [0x0000, 0x0000, 0x075b, 0xcd15]),
  v('energy', 0x0123_4567_89ab_cdefn, [0x0123, 0x4567, 0x89ab, 0xcdef]),
  v('energy', 0xffff_ffff_ffff_ffffn, [0xffff, 0xffff, 0xffff, 0xffff]),
  v('volume', 1n << 48n, [1, 0, 0, 0]),
  v('power', 100000, [0x0001, 0x86a0]),
  v('power', 0xffff_ffff, [0xffff, 0xffff]),
  v('voltage', 2301, [2301]),
  v('current', 70000, [0x0001, 0x1170]),
  v('credit', 0, [0, 0]),
  v('credit', -1, [0xffff, 0xffff]),
  v('credit', -1250, [0xffff, 0xfb1e]),
  v('credit', 0x7fff_ffff, [0x7fff, 0xffff]),
  v('credit', -0x8000_0000, [0x8000, 0x0000]),
  v('credit_unit', 'none', [0]),
  v('credit_unit', 'currency_minor', [1]),
  v('credit_unit', 'wh', [2]),
  v('credit_unit', 'litre', [3]),
  v('relay_state', 'disconnected', [0]),
  v('relay_state', 'connected', [1]),
  v('status', [], [0]),
  v('status', ['tamper', 'cover_open'], [0b101]),
  v('status', ['low_credit', 'power_fail', 'clock_invalid'], [0x10a]),
  v('sequence', 4294967295, [0xffff, 0xffff]),
  v('clock', 1795420800, [0x6b03, 0xf280]),
  v('serial', 'RSD-0001', [0x5253, 0x442d, 0x3030, 0x3031, 0, 0, 0, 0]),
  v('serial', 'ABC', [0x4142, 0x4300, 0, 0, 0, 0, 0, 0]),
  v('serial', '0123456789ABCDEF', [0x3031, 0x3233, 0x3435, 0x3637, 0x3839, 0x4142, 0x4344, 0x4546]),
  v('firmware', '2.4.1', [0x322e, 0x342e, 0x3100, 0, 0, 0, 0, 0]),
  v('meter_kind', 'electricity', [1]),
  v('meter_kind', 'water', [2]),
  v('map_version', 1, [1]),
  v(
    'token',
    '56475309907536216817',
    [0x3536, 0x3437, 0x3533, 0x3039, 0x3930, 0x3735, 0x3336, 0x3231, 0x3638, 0x3137],
  ),
  v('token_submit', 'submit', [1]),
  v('token_result', 'idle', [0]),
  v('token_result', 'accepted', [2]),
  v('token_result', 'used', [22]),
  v('token_result', 'overflow', [26]),
  v('clock_set', 1795420800, [0x6b03, 0xf280]),
  v('low_credit_threshold', 5000, [0, 5000]),
  v('relay_control', true, [1]),
  v('relay_control', false, [0]),
  v('emergency_credit', true, [1]),
  v('alarm_reset', true, [1]),
  v('alarm_tamper', false, [0]),
  v('alarm_clock_invalid', true, [1]),
];

describe('round trip: register value <-> words', () => {
  it('encodes each value to its words and decodes the words to the value', () => {
    for (const { name, value, words } of VECTORS) {
      const label = `${name} ${String(value)}`;
      expect(encodeRegisters(name, value as never), label).toEqual(words);
      expect(decodeRegisters(name, words), label).toEqual(value);
    }
  });

  it('accepts a safe-integer number for a u64 and decodes a bigint', () => {
    expect(encodeRegisters('energy', 123456789)).toEqual([0, 0, 0x075b, 0xcd15]);
    expectTypeOf(decodeRegisters('energy', [0, 0, 0, 0])).toEqualTypeOf<bigint>();
    expectTypeOf(decodeRegisters('relay_state', [0])).toEqualTypeOf<'connected' | 'disconnected'>();
    expectTypeOf(decodeRegisters('serial', [0, 0, 0, 0, 0, 0, 0, 0])).toEqualTypeOf<string>();
    expectTypeOf(decodeRegisters('relay_control', [0])).toEqualTypeOf<boolean>();
    expectTypeOf(decodeRegisters('credit', [0, 0])).toEqualTypeOf<number>();
  });

  it('ignores reserved status bits on decode', () => {
    expect(decodeRegisters('status', [0x8001])).toEqual(['tamper']);
    expect(decodeRegisters('status', [0xfe00])).toEqual([]);
  });
});

describe('range checks', () => {
  const encodeCases: [string, RegisterName, unknown, RegExp][] = [
    ['u16 over 65535', 'voltage', 65536, /^voltage: 65536 is not an integer 0\.\.65535 \(u16\)$/],
    ['u16 negative', 'voltage', -1, /voltage: -1 is not an integer/],
    ['u16 fraction', 'voltage', 230.1, /voltage: 230\.1 is not an integer/],
    ['u32 over 2^32-1', 'power', 2 ** 32, /power: 4294967296 is not an integer 0\.\.4294967295 \(u32\)/],
    [
      'i32 under -2^31',
      'credit',
      -(2 ** 31) - 1,
      /credit: -2147483649 is not an integer -2147483648\.\.2147483647/,
    ],
    ['i32 over 2^31-1', 'credit', 2 ** 31, /credit: 2147483648 is not an integer/],
    ['u64 negative', 'energy', -1n, /energy: -1n is not an integer 0\.\.18446744073709551615 \(u64\)/],
    ['u64 over 2^64-1', 'energy', 1n << 64n, /energy: 18446744073709551616n is not an integer/],
    ['u64 unsafe number', 'energy', 2 ** 53, /energy: 9007199254740992 is not an integer/],
    ['number as a string', 'power', '5', /power: "5" is not an integer/],
    ['string too long', 'serial', 'x'.repeat(17), /serial: 17 characters do not fit in 16/],
    ['a number for a string', 'serial', 42, /serial: 42 is not a string/],
    ['undefined', 'voltage', undefined, /voltage: undefined is not an integer/],
    ['non-ASCII string', 'serial', 'SN-é', /serial: only printable ASCII/],
    ['empty serial', 'serial', '', /serial: "" does not match/],
    ['token of 19 digits', 'token', '1234567890123456789', /token: "1234567890123456789" does not match/],
    ['token with a letter', 'token', '5647530990753621681X', /token: .* does not match/],
    ['unknown code name', 'relay_state', 'open', /relay_state: "open" is not one of disconnected, connected/],
    ['unknown flag', 'status', ['smoke'], /status: "smoke" is not one of tamper/],
    ['flags not a list', 'status', 'tamper', /status: expects a list/],
    ['bool as a number', 'relay_control', 1, /relay_control: 1 is not true or false/],
    ['register not in the map', 'voltage_l2' as RegisterName, 1, /voltage_l2: not a register of the map/],
  ];

  it.each(encodeCases)('encode refuses %s', (_label, name, value, message) => {
    expect(() => encodeRegisters(name, value as never)).toThrow(ModbusMapError);
    expect(() => encodeRegisters(name, value as never)).toThrow(message);
  });

  const decodeCases: [string, RegisterName, number[], RegExp][] = [
    ['too few words', 'energy', [1, 2, 3], /^energy: expects 4 register\(s\), got 3$/],
    ['too many words', 'voltage', [1, 2], /voltage: expects 1 register\(s\), got 2/],
    ['a word over 65535', 'power', [0, 65536], /power: word 1 is 65536, not an integer 0\.\.65535/],
    ['a negative word', 'power', [-1, 0], /power: word 0 is -1/],
    ['a fractional word', 'voltage', [1.5], /voltage: word 0 is 1\.5/],
    ['an unknown code', 'relay_state', [7], /relay_state: code 7 is not defined \(known: 0, 1\)/],
    ['an unknown token result', 'token_result', [3], /token_result: code 3 is not defined/],
    ['a bit of 2', 'relay_control', [2], /relay_control: a bit reads 2/],
    [
      'control bytes in a string',
      'serial',
      [0x0102, 0, 0, 0, 0, 0, 0, 0],
      /serial: holds bytes that are not printable/,
    ],
  ];

  it.each(decodeCases)('decode refuses %s', (_label, name, words, message) => {
    expect(() => decodeRegisters(name, words)).toThrow(ModbusMapError);
    expect(() => decodeRegisters(name, words)).toThrow(message);
  });

  it('carries the register name on the error', () => {
    try {
      encodeRegisters('voltage', 70000);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ModbusMapError);
      expect((err as ModbusMapError).register).toBe('voltage');
    }
  });
});

const ELECTRICITY: ReadingRegisters = {
  energy: 123456789n,
  volume: 0n,
  power: 1500,
  voltage: 2301,
  current: 6520,
  credit: -1250,
  credit_unit: 'currency_minor',
  relay_state: 'connected',
  status: ['low_credit', 'emergency_credit'],
  sequence: 77,
  clock: 1795420800,
};

const WATER: ReadingRegisters = {
  energy: 0n,
  volume: 88123n,
  power: 0,
  voltage: 0,
  current: 0,
  credit: 40000,
  credit_unit: 'litre',
  relay_state: 'disconnected',
  status: [],
  sequence: 0,
  clock: 1795420800,
};

describe('blocks', () => {
  it('round-trips whole reading and identity blocks', () => {
    const table = [
      {
        value: ELECTRICITY,
        words: [
          0, 0, 0x075b, 0xcd15, 0, 0, 0, 0, 0, 1500, 2301, 0, 6520, 0xffff, 0xfb1e, 1, 1, 0x22, 0, 77, 0x6b03,
          0xf280,
        ],
      },
      {
        value: WATER,
        words: [0, 0, 0, 0, 0, 0, 0x0001, 0x583b, 0, 0, 0, 0, 0, 0, 40000, 3, 0, 0, 0, 0, 0x6b03, 0xf280],
      },
    ];
    for (const { value, words } of table) {
      expect(encodeReadingBlock(value)).toEqual(words);
      expect(decodeReadingBlock(words)).toEqual(value);
    }

    const identity = {
      serial: 'RSD-0001',
      firmware: '2.4.1',
      meter_kind: 'electricity',
      map_version: 1,
    } as const;
    const identityWords = [
      ...[0x5253, 0x442d, 0x3030, 0x3031, 0, 0, 0, 0],
      ...[0x322e, 0x342e, 0x3100, 0, 0, 0, 0, 0],
      1,
      1,
    ];
    expect(encodeIdentityBlock(identity)).toEqual(identityWords);
    expect(decodeIdentityBlock(identityWords)).toEqual(identity);
  });

  it('refuses a reading block of the wrong length', () => {
    expect(() => decodeReadingBlock(new Array(21).fill(0))).toThrow(
      /reading block is 22 registers from 0, got 21/,
    );
    expect(() => decodeIdentityBlock([])).toThrow(/identity block is 18 registers from 100, got 0/);
  });

  it('decodes only the registers wholly inside an arbitrary span', () => {
    // Input registers 9..16: the low word of power is cut off, so power is skipped.
    const words = [0x05dc, 2301, 0, 6520, 0, 100, 2, 1];
    expect(decodeBlock('input', 9, words)).toEqual({
      voltage: 2301,
      current: 6520,
      credit: 100,
      credit_unit: 'wh',
      relay_state: 'connected',
    });
  });

  it('skips write-only registers when decoding and fills gaps with zeros when encoding', () => {
    const words = encodeBlock('holding', 200, 16, {
      token_result: 'used',
      low_credit_threshold: 1000,
      clock_set: undefined,
    });
    expect(words).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 22, 0, 0, 0, 1000]);
    expect(decodeBlock('holding', 200, words)).toEqual({ token_result: 'used', low_credit_threshold: 1000 });
  });

  it('refuses to encode a register outside the span or of another table', () => {
    expect(() => encodeBlock('input', 0, 4, { power: 1 })).toThrow(/power: lies outside input 0\.\.3/);
    expect(() => encodeBlock('holding', 0, 22, { power: 1 })).toThrow(/power: lies outside holding/);
  });

  it('writes and reads a token in one FC 16 request of 11 registers', () => {
    const token = '56475309907536216817';
    const words = [0x3536, 0x3437, 0x3533, 0x3039, 0x3930, 0x3735, 0x3336, 0x3231, 0x3638, 0x3137, 1];
    expect(encodeTokenWrite(token)).toEqual(words);
    expect(decodeTokenWrite(words)).toBe(token);
    expect(decodeTokenWrite([...words.slice(0, 10), 0])).toBeNull();
    expect(() => decodeTokenWrite([0x3132, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])).toThrow(
      /token: "12" is not 20 digits/,
    );
    expect(() => decodeTokenWrite(words.slice(1))).toThrow(/11 registers/);
    expect(() => encodeTokenWrite('12345')).toThrow(ModbusMapError);
  });
});

describe('toContractReading', () => {
  it('maps an electricity block to a reading the MQTT contract accepts', () => {
    const reading = toContractReading(ELECTRICITY, 'electricity');
    expect(reading).toEqual({
      v: 1,
      seq: 77,
      ts: 1795420800000,
      energyWh: 123456789,
      powerW: 1500,
      voltageDv: 2301,
      currentMa: 6520,
      creditMinor: -1250,
      relay: 'connected',
      flags: ['low_credit', 'emergency_credit'],
    });
    expect(ReadingSchema.parse(reading)).toEqual(reading);
  });

  it('maps a water block, with the reader’s time when given', () => {
    const reading = toContractReading(WATER, 'water', '2026-11-23T08:00:00Z');
    expect(reading).toEqual({
      v: 1,
      seq: 0,
      ts: '2026-11-23T08:00:00Z',
      volumeL: 88123,
      creditL: 40000,
      relay: 'disconnected',
      flags: [],
    });
    expect(ReadingSchema.parse(reading)).toEqual(reading);
  });

  it('puts credit in the field its unit names, and none when the meter keeps none', () => {
    expect(toContractReading({ ...ELECTRICITY, credit_unit: 'wh' }, 'electricity').creditWh).toBe(-1250);
    const none = toContractReading({ ...ELECTRICITY, credit_unit: 'none' }, 'electricity');
    expect([none.creditMinor, none.creditWh, none.creditL]).toEqual([undefined, undefined, undefined]);
  });

  it('refuses a cumulative register JSON cannot carry exactly', () => {
    expect(() => toContractReading({ ...ELECTRICITY, energy: 1n << 53n }, 'electricity')).toThrow(
      /energy: 9007199254740992 is beyond/,
    );
  });
});

describe('RegisterCursor', () => {
  it('reads what it wrote, tracking position', () => {
    const writer = RegisterCursor.writer();
    writer.writeUInt16(0xbeef);
    writer.writeInt32(-2);
    writer.writeUInt64(0x0102_0304_0506_0708n);
    writer.writeAscii('Hi!', 2);
    const words = writer.getWritten();
    expect(words).toEqual([0xbeef, 0xffff, 0xfffe, 0x0102, 0x0304, 0x0506, 0x0708, 0x4869, 0x2100]);

    const reader = RegisterCursor.reader(words);
    expect(reader.readUInt16()).toBe(0xbeef);
    expect(reader.readInt32()).toBe(-2);
    expect(reader.position).toBe(3);
    reader.skip(4);
    expect(reader.remaining()).toBe(2);
    expect(reader.readAscii(2)).toBe('Hi!');
    expect(reader.isMore()).toBe(false);
    expect(() => reader.readUInt16()).toThrow(/need a word at 9, have 9/);
    expect(() => RegisterCursor.reader([1]).skip(2)).toThrow(/cannot skip 2/);
  });
});
