import { describe, expect, it } from 'vitest';
import { controlBlockWords, panBlockWords } from '../../../protocols/sts/dkga02.ts';
import {
  type DecoderKey,
  dateFromTid,
  decodeToken,
  deriveDecoderKey,
  type EncryptionAlgorithm,
  encodeKeyChange,
  encodeToken,
  formatStsToken,
  type KeyParameters,
  type MeterPan,
  parseMeterPan,
  parseStsToken,
  STS_REJECTION,
  StsError,
  StsKey,
  TOKEN_TYPES,
  type TokenRequest,
  type TokenTypeName,
  tidFromDate,
} from '../../../protocols/sts/index.ts';

const VK = StsKey.fromHex('abababababababab');
const METER_1 = parseMeterPan('600727000000000009');
const METER_2 = parseMeterPan('000001000000000082');
const params = (pan: MeterPan, tariffIndex = 1): KeyParameters => ({
  pan,
  keyType: 2,
  supplyGroupCode: '123456',
  tariffIndex,
  keyRevision: 1,
});
const DK1 = deriveDecoderKey(VK, params(METER_1));
const DK2 = deriveDecoderKey(VK, params(METER_2));
const tid1993 = (iso: string) => tidFromDate(Date.parse(iso), 1993);
const words = ([hi, lo]: [number, number]) =>
  hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');

describe('DKGA02 (sts.md §2.1)', () => {
  it('builds the PAN and control blocks of CTSA meter 1', () => {
    expect(words(panBlockWords(METER_1, 2))).toBe('0072700000000000');
    expect(words(controlBlockWords(params(METER_1))).toUpperCase()).toBe('2123456011FFFFFF');
  });
  it('derives DK e653341f9d5bf36f (natural byte order) for CTSA meter 1', () => {
    expect(DK1.toHex()).toBe('e653341f9d5bf36f');
  });
  it('zeroes the IAIN in the PAN block for key type 3 (common key)', () => {
    expect(words(panBlockWords(parseMeterPan('60072712345678901'), 3))).toBe('0072700000000000');
    expect(words(panBlockWords(parseMeterPan('60072712345678901'), 2))).toBe('0072712345678901');
  });
  it('binds the key to every parameter', () => {
    const variants: KeyParameters[] = [
      { ...params(METER_1), keyType: 1 },
      { ...params(METER_1), supplyGroupCode: '123457' },
      { ...params(METER_1), tariffIndex: 2 },
      { ...params(METER_1), keyRevision: 2 },
      params(METER_2),
    ];
    const keys = new Set(variants.map((p) => deriveDecoderKey(VK, p).toHex()));
    expect(keys.size).toBe(variants.length);
    expect(keys.has(DK1.toHex())).toBe(false);
  });
  it('refuses out-of-range parameters naming the field', () => {
    expect(() => deriveDecoderKey(VK, { ...params(METER_1), supplyGroupCode: '12345' })).toThrow(
      /supplyGroupCode/,
    );
    expect(() => deriveDecoderKey(VK, { ...params(METER_1), keyRevision: 0 })).toThrow(/keyRevision/);
    expect(() => deriveDecoderKey(VK, { ...params(METER_1), tariffIndex: 100 })).toThrow(/tariffIndex/);
  });
});

describe('TID (sts.md §2.3)', () => {
  it('counts UTC minutes from the base date', () => {
    expect(tid1993('2004-03-01T13:55:00Z')).toBe(5871715);
    expect(tidFromDate(Date.parse('2014-01-01T00:00:59Z'), 2014)).toBe(0);
    expect(dateFromTid(5871715, 1993).toISOString()).toBe('2004-03-01T13:55:00.000Z');
  });
  it('knows that the 1993 base overflowed on 2024-11-24 20:16 UTC', () => {
    expect(tidFromDate(Date.parse('2024-11-24T20:15:00Z'), 1993)).toBe(0xffffff);
    expect(() => tidFromDate(Date.parse('2024-11-24T20:16:00Z'), 1993)).toThrow(StsError);
    expect(() => tidFromDate(Date.parse('2013-12-31T23:59:00Z'), 2014)).toThrow(/before the base date/);
  });
});

// Published STS 531-1 compliance values (CTSA01-05), as transcribed in NectarAPI/tokens-service; RND 5,
// base date 1993, KEN 255, vending key abab..ab, KT 2, SGC 123456, TI 01, KRN 1.
const PUBLISHED: { name: string; key: DecoderKey; request: TokenRequest; token: string }[] = [
  ...(
    [
      ['CTSA01 step 1', DK1, '2004-03-01T13:55:00Z', 'electricity-credit', '23716100501183194197'],
      ['CTSA01 step 2', DK2, '2004-03-01T14:00:00Z', 'electricity-credit', '67206107716095682372'],
      ['CTSA01 step 3', DK1, '2004-03-01T14:05:00Z', 'water-credit', '42502136492215507402'],
      ['CTSA01 step 4', DK2, '2004-03-01T14:10:00Z', 'water-credit', '09109691696351271646'],
      ['CTSA01 step 5', DK1, '2004-03-01T14:15:00Z', 'gas-credit', '67586531586639825066'],
      ['CTSA01 step 6', DK2, '2004-03-01T14:20:00Z', 'gas-credit', '35758660990071466853'],
    ] as const
  ).map(([name, key, at, type, token]) => ({
    name,
    key,
    request: { type, rnd: 5, tid: tid1993(at), value: 1 },
    token,
  })),
  {
    name: 'CTSA03 max power 1000 W',
    key: DK1,
    request: { type: 'max-power-limit', rnd: 5, tid: tid1993('2004-03-28T09:01:00Z'), value: 1000 },
    token: '50901894209860263092',
  },
  {
    name: 'CTSA04 step 1 clear all credit',
    key: DK1,
    request: { type: 'clear-credit', rnd: 5, tid: tid1993('2004-03-28T09:15:00Z'), value: 0xffff },
    token: '29511990995826640868',
  },
  {
    name: 'CTSA04 step 2 clear all credit',
    key: DK2,
    request: { type: 'clear-credit', rnd: 5, tid: tid1993('2004-03-28T09:20:00Z'), value: 0xffff },
    token: '69986678528351463847',
  },
  {
    name: 'CTSA02 step 1 test/display, 36 control bits set',
    key: DK1,
    request: { type: 'test-display-1', control: (1n << 36n) - 1n, manufacturer: 0 },
    token: '56493153725450313471',
  },
  {
    name: 'CTSA02 step 2 test/display, 28 control bits set',
    key: DK2,
    request: { type: 'test-display-2', control: (1n << 28n) - 1n, manufacturer: 0 },
    token: '02305843005052951967',
  },
];

describe('published compliance tokens, both directions', () => {
  it.each(PUBLISHED)('$name -> $token', ({ key, request, token }) => {
    const encoded = encodeToken(request, { key });
    expect(encoded.token).toBe(token);
    const decoded = decodeToken(token, { key, baseDate: 1993 });
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.token.type).toBe(request.type);
    expect(decoded.token.dataBlock).toBe(encoded.dataBlock);
    if (decoded.token.layout === 'register' && 'tid' in request) {
      expect(decoded.token).toMatchObject({ rnd: request.rnd, tid: request.tid, value: request.value });
    }
    if ((decoded.token.layout === 'test-36' || decoded.token.layout === 'test-28') && 'control' in request) {
      expect(decoded.token).toMatchObject({ control: request.control, manufacturer: request.manufacturer });
    }
  });

  it('CTSA01 step 1 carries data block 05599863000119e6 and decodes to 0.1 kWh issued 2004-03-01 13:55 UTC', () => {
    const encoded = encodeToken({ type: 'electricity-credit', rnd: 5, tid: 5871715, value: 1 }, { key: DK1 });
    expect(encoded.dataBlock.toString(16).padStart(16, '0')).toBe('05599863000119e6');
    expect(formatStsToken(encoded.token)).toBe('2371-6100-5011-8319-4197');
    const decoded = decodeToken('2371-6100-5011-8319-4197', { key: DK1, baseDate: 1993 });
    expect(decoded).toMatchObject({
      ok: true,
      token: { tokenClass: 0, subclass: 0, rnd: 5, tid: 5871715, field: 1, value: 1, scale: 10, unit: 'kWh' },
    });
    if (decoded.ok && decoded.token.layout === 'register') {
      expect(decoded.token.issuedAt.toISOString()).toBe('2004-03-01T13:55:00.000Z');
    }
  });

  // CTSA05: key change from TI 01 to TI 02 (and back), KEN 255, no rollover.
  const kct = [
    {
      name: 'meter 1, TI 01 -> 02',
      pan: METER_1,
      from: 1,
      to: 2,
      tokens: ['51638423060042734509', '15361891762113502242'],
    },
    {
      name: 'meter 1, TI 02 -> 01',
      pan: METER_1,
      from: 2,
      to: 1,
      tokens: ['26553210520543055412', '00943705441908264439'],
    },
    {
      name: 'meter 2, TI 01 -> 02',
      pan: METER_2,
      from: 1,
      to: 2,
      tokens: ['36495265416911568628', '35908059266238070883'],
    },
  ];
  it.each(kct)('CTSA05 key change $name', ({ pan, from, to, tokens }) => {
    const oldKey = deriveDecoderKey(VK, params(pan, from));
    const newKey = deriveDecoderKey(VK, params(pan, to));
    const pair = encodeKeyChange(
      { newKey, keyExpiry: 255, keyRevision: 1, keyType: 2, tariffIndex: to, rollover: false },
      oldKey,
    );
    expect(pair.map((t) => t.token)).toEqual(tokens);
    const first = decodeToken(tokens[0]!, { key: oldKey });
    const second = decodeToken(tokens[1]!, { key: oldKey });
    expect(first).toMatchObject({
      ok: true,
      token: {
        layout: 'key-change-1',
        kenHigh: 15,
        keyRevision: 1,
        rollover: false,
        keyType: 2,
        newKeyHigh: newKey.hi,
      },
    });
    expect(second).toMatchObject({
      ok: true,
      token: { layout: 'key-change-2', kenLow: 15, tariffIndex: to, newKeyLow: newKey.lo },
    });
  });
});

/** One request per class/subclass, with values away from zero. */
const EVERY_TYPE: Record<TokenTypeName, TokenRequest> = {
  'electricity-credit': { type: 'electricity-credit', rnd: 1, tid: 100, value: 12345 },
  'water-credit': { type: 'water-credit', rnd: 2, tid: 200, value: 16385 },
  'gas-credit': { type: 'gas-credit', rnd: 3, tid: 300, value: 180215 },
  'time-credit': { type: 'time-credit', rnd: 4, tid: 400, value: 7 },
  'electricity-currency-credit': { type: 'electricity-currency-credit', rnd: 5, tid: 500, value: 2000000 },
  'water-currency-credit': { type: 'water-currency-credit', rnd: 6, tid: 600, value: 9 },
  'gas-currency-credit': { type: 'gas-currency-credit', rnd: 7, tid: 700, value: 10 },
  'time-currency-credit': { type: 'time-currency-credit', rnd: 8, tid: 800, value: 11 },
  'test-display-1': { type: 'test-display-1', control: 0x9_8765_4321n, manufacturer: 0xa5 },
  'test-display-2': { type: 'test-display-2', control: 0x876_5432n, manufacturer: 0xbeef },
  'max-power-limit': { type: 'max-power-limit', rnd: 9, tid: 0xffffff, value: 25000 },
  'clear-credit': { type: 'clear-credit', rnd: 10, tid: 1, value: 0xffff },
  'tariff-rate': { type: 'tariff-rate', rnd: 11, tid: 2, value: 1234 },
  'key-change-1': {
    type: 'key-change-1',
    kenHigh: 0xa,
    keyRevision: 3,
    rollover: true,
    keyType: 2,
    newKeyHigh: 0xdeadbeef,
  },
  'key-change-2': { type: 'key-change-2', kenLow: 0x5, tariffIndex: 42, newKeyLow: 0x01234567 },
  'clear-tamper': { type: 'clear-tamper', rnd: 12, tid: 3, value: 0 },
  'max-phase-unbalance': { type: 'max-phase-unbalance', rnd: 13, tid: 4, value: 180215 },
  'water-factor': { type: 'water-factor', rnd: 14, tid: 5, value: 65535 },
};

describe('every class and subclass round-trips', () => {
  const cases = (['EA07', 'EA09'] as EncryptionAlgorithm[]).flatMap((algorithm) =>
    Object.values(EVERY_TYPE).map((request) => ({ algorithm, type: request.type, request })),
  );
  it.each(cases)('$algorithm $type', ({ algorithm, request }) => {
    const def = TOKEN_TYPES[request.type];
    const encoded = encodeToken(request, { key: DK1, algorithm });
    expect(encoded.token).toMatch(/^[0-9]{20}$/);
    expect({ tokenClass: encoded.tokenClass, subclass: encoded.subclass }).toEqual({
      tokenClass: def.tokenClass,
      subclass: def.subclass,
    });
    const decoded = decodeToken(encoded.token, { key: DK1, algorithm });
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const t = decoded.token;
    expect(t).toMatchObject({
      type: request.type,
      tokenClass: def.tokenClass,
      subclass: def.subclass,
      dataBlock: encoded.dataBlock,
    });
    const { type: _type, ...fields } = request;
    if (t.layout === 'register' && 'tid' in fields) {
      // amount-encoded values come back rounded up to the field's step; the field itself is exact
      expect(t).toMatchObject({
        rnd: fields.rnd,
        tid: fields.tid,
        field: encoded.field,
        value: encoded.value,
      });
      expect(t.value).toBeGreaterThanOrEqual(fields.value);
    } else {
      expect(t).toMatchObject(fields);
    }
    // the wrong key (or the other algorithm) does not authenticate an encrypted token
    if (def.encrypted) {
      expect(decodeToken(encoded.token, { key: DK2, algorithm })).toMatchObject({
        ok: false,
        code: 'authentication',
      });
    }
  });

  it('every generated credit token decodes (TIDs and amounts sweep)', () => {
    const failures: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const request = {
        type: 'electricity-credit' as const,
        rnd: i & 15,
        tid: (i * 8389) & 0xffffff,
        value: (i * 9103) % 18201624,
      };
      const { token, value } = encodeToken(request, { key: i % 2 ? DK1 : DK2 });
      const d = decodeToken(token, { key: i % 2 ? DK1 : DK2 });
      if (!d.ok || d.token.layout !== 'register' || d.token.tid !== request.tid || d.token.value !== value)
        failures.push(token);
    }
    expect(failures).toEqual([]);
  });

  it('class 1 needs no key to decode; classes 0 and 2 do', () => {
    const test = encodeToken(EVERY_TYPE['test-display-1']);
    expect(decodeToken(test.token)).toMatchObject({ ok: true });
    const credit = encodeToken(EVERY_TYPE['electricity-credit'], { key: DK1 });
    expect(decodeToken(credit.token)).toMatchObject({ ok: false, code: 'authentication' });
    expect(() => encodeToken(EVERY_TYPE['electricity-credit'])).toThrow(/decoder key/);
  });
});

describe('decode rejections', () => {
  const good = '23716100501183194197';
  it.each([
    { name: 'too short', input: '2371610050118319419', code: STS_REJECTION.format },
    { name: 'letters', input: '2371610050118319419x', code: STS_REJECTION.format },
    { name: 'above 2^66 - 1', input: '99999999999999999999', code: STS_REJECTION.format },
    { name: 'one digit mistyped', input: '23716100501183194198', code: STS_REJECTION.authentication },
  ])('$name -> $code', ({ input, code }) => {
    expect(decodeToken(input, { key: DK1 })).toMatchObject({ ok: false, code });
  });
  it('flags a corrupted class 1 token as a CRC error', () => {
    const t = encodeToken(EVERY_TYPE['test-display-2']).token;
    const last = (Number(t[19]) + 1) % 10;
    expect(decodeToken(t.slice(0, 19) + String(last))).toMatchObject({ ok: false, code: STS_REJECTION.crc });
  });
  it('reports class 3 as not supported', () => {
    // set the class bits (27, 28) of a valid token to 3
    const n = BigInt(good) | (3n << 27n);
    expect(decodeToken(n.toString().padStart(20, '0'), { key: DK1 })).toMatchObject({
      ok: false,
      code: STS_REJECTION.function,
    });
  });
  it('parseStsToken accepts separators and refuses bad numbers', () => {
    expect(parseStsToken('2371 6100 5011 8319 4197')).toBe(good);
    expect(() => parseStsToken('99999999999999999999')).toThrow(StsError);
  });
});

describe('encoder input checks', () => {
  it.each([
    { request: { type: 'electricity-credit', rnd: 16, tid: 1, value: 1 }, field: 'rnd' },
    { request: { type: 'electricity-credit', rnd: 1, tid: 0x1000000, value: 1 }, field: 'tid' },
    { request: { type: 'electricity-credit', rnd: 1, tid: 1, value: 18201625 }, field: 'value' },
    { request: { type: 'tariff-rate', rnd: 1, tid: 1, value: 65536 }, field: 'value' },
    { request: { type: 'test-display-1', control: 1n << 36n, manufacturer: 0 }, field: 'control' },
    { request: { type: 'test-display-2', control: 1n, manufacturer: 65536 }, field: 'manufacturer' },
    { request: { type: 'key-change-2', kenLow: 16, tariffIndex: 1, newKeyLow: 0 }, field: 'kenLow' },
  ] as { request: TokenRequest; field: string }[])('refuses $field', ({ request, field }) => {
    expect(() => encodeToken(request, { key: DK1 })).toThrow(new RegExp(`^${field}:`));
  });
});
