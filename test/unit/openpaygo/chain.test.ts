import { describe, expect, it } from 'vitest';
import {
  deriveStartingCode,
  fromRestrictedDigits,
  loadSecretKey,
  OpenPaygoError,
  putBase,
  sipHash24,
  TOKEN_FORMATS,
  tokenBase,
  toRestrictedDigits,
} from '../../../protocols/openpaygo/index.ts';

const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i);
const hex64 = (h: { hi: number; lo: number }): string =>
  h.hi.toString(16).padStart(8, '0') + h.lo.toString(16).padStart(8, '0');

describe('SipHash-2-4', () => {
  // Aumasson & Bernstein, "SipHash: a fast short-input PRF", appendix A (key 00..0f, message 00..0e), and
  // the first line of the reference implementation's vectors.h (empty message), as 64-bit integers.
  it.each([
    ['paper appendix A, 15-byte message', bytes(15), 'a129ca6149be45e5'],
    ['vectors.h, empty message', bytes(0), '726fdb47dd0e0e31'],
  ])('%s', (_name, message, expected) => {
    expect(hex64(sipHash24(loadSecretKey(bytes(16)), message))).toBe(expected);
  });

  it('reads a hex key and the same bytes alike', () => {
    const fromHex = loadSecretKey('000102030405060708090a0b0c0d0e0f');
    expect(fromHex.bytes).toEqual(bytes(16));
    expect(fromHex.words).toEqual(loadSecretKey(bytes(16)).words);
    expect(loadSecretKey('000102030405060708090A0B0C0D0E0F').bytes).toEqual(bytes(16));
  });

  it.each([
    ['too short', '00010203'],
    ['not hex', 'zz0102030405060708090a0b0c0d0e0f'],
    ['17 bytes', bytes(17)],
  ])('refuses a key that is %s', (_name, key) => {
    expect(() => loadSecretKey(key)).toThrow(OpenPaygoError);
  });
});

describe('token base', () => {
  it.each([
    ['standard', 516959010, 10],
    ['standard', 432435255, 255],
    ['extended', 516959010, 959010],
  ] as const)('%s base of %i is %i, and can be replaced', (name, code, base) => {
    const format = TOKEN_FORMATS[name];
    expect(tokenBase(format, code)).toBe(base);
    expect(putBase(format, code, 7)).toBe(code - base + 7);
    expect(tokenBase(format, putBase(format, code, 7))).toBe(7);
  });
});

describe('restricted digit set', () => {
  const cases = [
    ['standard', 0, '111111111111111'],
    ['standard', 2 ** 30 - 1, '444444444444444'],
    ['standard', 0b01_10_11_00_00_00_00_00_00_00_00_00_00_00_00, '234111111111111'],
    ['extended', 0, '11111111111111111111'],
    ['extended', 2 ** 40 - 1, '44444444444444444444'],
    ['extended', 3, '11111111111111111114'],
  ] as const;

  it.each(cases)('%s %i <-> %s', (name, code, digits) => {
    expect(toRestrictedDigits(TOKEN_FORMATS[name], code)).toBe(digits);
    expect(fromRestrictedDigits(digits)).toBe(code);
  });

  it('round-trips codes spread over the whole chain range', () => {
    for (const format of [TOKEN_FORMATS.standard, TOKEN_FORMATS.extended]) {
      for (let code = 0; code <= format.maxCode; code += Math.floor(format.maxCode / 997)) {
        const digits = toRestrictedDigits(format, code);
        expect(digits).toMatch(new RegExp(`^[1-4]{${format.restrictedDigits}}$`));
        expect(fromRestrictedDigits(digits)).toBe(code);
      }
    }
  });

  it.each(['0', '5', '9'])('refuses the digit %s', (digit) => {
    expect(() => fromRestrictedDigits(`12${digit}4`)).toThrow(/1 to 4/);
  });
});

describe('default starting code', () => {
  it('is a 9-digit-range number that depends on the key', () => {
    const a = deriveStartingCode('bc41ec9530f6dac86b1a29ab82edc5fb');
    const b = deriveStartingCode('dac86b1a29ab82edc5fbbc41ec9530f6');
    for (const code of [a, b]) {
      expect(Number.isInteger(code)).toBe(true);
      expect(code).toBeGreaterThanOrEqual(0);
      expect(code).toBeLessThanOrEqual(999_999_999);
    }
    expect(a).not.toBe(b);
    expect(deriveStartingCode(loadSecretKey('bc41ec9530f6dac86b1a29ab82edc5fb'))).toBe(a);
  });
});
