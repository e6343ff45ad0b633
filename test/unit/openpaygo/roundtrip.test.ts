import { describe, expect, it } from 'vitest';
import {
  decodeToken,
  type GenerateTokenOptions,
  generateToken,
  nextCount,
  OpenPaygoError,
  roundHalfEven,
  TOKEN_FORMATS,
  type TokenType,
} from '../../../protocols/openpaygo/index.ts';

const KEY = 'a29ab82edc5fbbc41ec9530f6dac86b1';
const STARTING_CODE = 123456789;

const LAYOUTS = [
  { extended: false, restrictedDigitSet: false, length: 9, digits: /^[0-9]{9}$/ },
  { extended: true, restrictedDigitSet: false, length: 12, digits: /^[0-9]{12}$/ },
  { extended: false, restrictedDigitSet: true, length: 15, digits: /^[1-4]{15}$/ },
  { extended: true, restrictedDigitSet: true, length: 20, digits: /^[1-4]{20}$/ },
] as const;

const VALUES: Readonly<Record<TokenType, readonly (number | undefined)[]>> = {
  'add-time': [0, 1, 30, 995],
  'set-time': [0, 7, 995],
  'disable-payg': [undefined],
  'counter-sync': [undefined],
};

const CASES = LAYOUTS.flatMap((layout) =>
  (Object.keys(VALUES) as TokenType[]).flatMap((type) =>
    (VALUES[type] ?? []).flatMap((value) =>
      [0, 1, 2, 9, 24].map((count) => ({ ...layout, type, value, count })),
    ),
  ),
);

describe('generate then decode', () => {
  it.each(CASES)(
    '$type $value at count $count (extended $extended, restricted $restrictedDigitSet)',
    ({ extended, restrictedDigitSet, length, digits, type, value, count }) => {
      const generated = generateToken({
        key: KEY,
        startingCode: STARTING_CODE,
        count,
        type,
        value,
        extended,
        restrictedDigitSet,
      });
      expect(generated.token).toHaveLength(length);
      expect(generated.token).toMatch(digits);
      expect(generated.newCount % 2).toBe(type === 'add-time' ? 0 : 1);
      expect(generated.newCount - count).toBeGreaterThanOrEqual(1);
      expect(generated.newCount - count).toBeLessThanOrEqual(2);

      const decoded = decodeToken({
        token: generated.token,
        key: KEY,
        startingCode: STARTING_CODE,
        lastCount: count,
        restrictedDigitSet,
      });
      expect(decoded).toEqual({
        status: 'valid',
        format: extended ? 'extended' : 'standard',
        type,
        value: value ?? null,
        rawValue: generated.rawValue,
        count: generated.newCount,
        lastCount: generated.newCount,
        usedCounts: expect.any(Array),
      });
    },
  );

  it('carries extended values up to 999999', () => {
    for (const value of [996, 5000, 123456, 999_999]) {
      const { token } = generateToken({
        key: KEY,
        startingCode: STARTING_CODE,
        count: 3,
        type: 'add-time',
        value,
        extended: true,
      });
      const decoded = decodeToken({ token, key: KEY, startingCode: STARTING_CODE, lastCount: 3 });
      expect(decoded).toMatchObject({ status: 'valid', type: 'add-time', value });
    }
  });

  it('refuses a token decoded with another key or starting code', () => {
    const { token } = generateToken({
      key: KEY,
      startingCode: STARTING_CODE,
      count: 1,
      type: 'add-time',
      value: 5,
    });
    const common = { token, lastCount: 1 };
    expect(decodeToken({ ...common, key: KEY, startingCode: STARTING_CODE }).status).toBe('valid');
    expect(
      decodeToken({ ...common, key: 'bc41ec9530f6dac86b1a29ab82edc5fb', startingCode: STARTING_CODE }).status,
    ).toBe('invalid');
    expect(decodeToken({ ...common, key: KEY, startingCode: 987654321 }).status).toBe('invalid');
  });
});

describe('value divider', () => {
  it.each([
    [1.5, 10, 15, 1.5],
    [0.25, 10, 2, 0.2],
    [0.35, 10, 4, 0.4],
    [2.5, 1, 2, 2],
    [3.5, 1, 4, 4],
    [12, 24, 288, 12],
  ])('value %d with divider %d is sent as %i and read back as %d', (value, divider, raw, back) => {
    const generated = generateToken({
      key: KEY,
      startingCode: STARTING_CODE,
      count: 1,
      type: 'set-time',
      value,
      valueDivider: divider,
    });
    expect(generated.rawValue).toBe(raw);
    const decoded = decodeToken({
      token: generated.token,
      key: KEY,
      startingCode: STARTING_CODE,
      lastCount: 1,
      valueDivider: divider,
    });
    expect(decoded).toMatchObject({ status: 'valid', rawValue: raw, value: back });
  });

  it("rounds halves to even, as Python's round() does", () => {
    expect([0.5, 1.5, 2.5, 3.5, 2.4999, 2.5001, 7].map(roundHalfEven)).toEqual([0, 2, 2, 4, 2, 3, 7]);
  });
});

describe('count parity (_get_new_count)', () => {
  it.each([
    [0, 'add-time', 2],
    [1, 'add-time', 2],
    [2, 'add-time', 4],
    [0, 'set-time', 1],
    [1, 'set-time', 3],
    [2, 'disable-payg', 3],
    [3, 'counter-sync', 5],
  ] as const)('from count %i a %s token takes count %i', (count, type, expected) => {
    expect(nextCount(count, type)).toBe(expected);
  });
});

describe('refused inputs', () => {
  const base: GenerateTokenOptions = {
    key: KEY,
    startingCode: STARTING_CODE,
    count: 1,
    type: 'add-time',
    value: 1,
  };

  it.each<[string, Partial<GenerateTokenOptions>, string]>([
    ['a short key', { key: 'abcd' }, 'key'],
    ['a negative starting code', { startingCode: -1 }, 'startingCode'],
    ['a 10-digit standard starting code', { startingCode: 1_000_000_000 }, 'startingCode'],
    ['a negative count', { count: -1 }, 'count'],
    ['a fractional count', { count: 1.5 }, 'count'],
    ['an unknown type', { type: 'top-up' as TokenType }, 'type'],
    ['add-time without a value', { value: undefined }, 'value'],
    ['a negative value', { value: -1 }, 'value'],
    ['a standard value of 996', { value: 996 }, 'value'],
    ['an extended value of 1000000', { value: 1_000_000, extended: true }, 'value'],
    ['a value above the maximum after the divider', { value: 100, valueDivider: 10 }, 'value'],
    ['an extended set-time of 998', { type: 'set-time', value: 998, extended: true }, 'value'],
    ['an extended set-time of 999', { type: 'set-time', value: 999, extended: true }, 'value'],
    ['a disable token with a value', { type: 'disable-payg', value: 3 }, 'value'],
    ['a zero divider', { valueDivider: 0 }, 'valueDivider'],
  ])('generate refuses %s', (_name, change, field) => {
    let caught: unknown;
    try {
      generateToken({ ...base, ...change });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(OpenPaygoError);
    expect((caught as OpenPaygoError).field).toBe(field);
  });

  it('accepts the largest standard value and a counter sync with value 0', () => {
    expect(generateToken({ ...base, value: TOKEN_FORMATS.standard.maxActivationValue }).rawValue).toBe(995);
    expect(generateToken({ ...base, type: 'counter-sync', value: 0 }).rawValue).toBe(999);
  });

  it.each([
    ['letters', '12345678a', false],
    ['an empty token', '', false],
    ['13 digits', '1234567890123', false],
    ['21 restricted digits', '123412341234123412341', true],
    ['a 5 in a restricted token', '123412341234125', true],
  ])('decode refuses %s', (_name, token, restrictedDigitSet) => {
    expect(() =>
      decodeToken({ token, key: KEY, startingCode: STARTING_CODE, lastCount: 1, restrictedDigitSet }),
    ).toThrow(OpenPaygoError);
  });

  it('decode refuses a fractional last count or used count', () => {
    const token = generateToken(base).token;
    const opts = { token, key: KEY, startingCode: STARTING_CODE };
    expect(() => decodeToken({ ...opts, lastCount: 0.5 })).toThrow(/lastCount/);
    expect(() => decodeToken({ ...opts, lastCount: 1, usedCounts: [1, 0.5] })).toThrow(/usedCounts/);
  });
});
