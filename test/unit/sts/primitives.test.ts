import { describe, expect, it } from 'vitest';
import {
  crc16Modbus,
  Des,
  decodeAmount,
  desDecrypt,
  desEncrypt,
  ea07Decrypt,
  ea07Encrypt,
  encodeAmount,
  luhnCheckDigit,
  MAX_AMOUNT,
  meterPanFromParts,
  nodeDesDecrypt,
  nodeDesEncrypt,
  parseMeterPan,
  StsError,
  tokenCrcField,
} from '../../../protocols/sts/index.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

describe('DES (FIPS 81 known answers)', () => {
  const vectors = [
    { key: '0123456789abcdef', plain: '0123456789abcde7', cipher: 'c95744256a5ed31d' },
    {
      key: '0123456789abcdef',
      plain: Buffer.from('Now is t', 'latin1').toString('hex'),
      cipher: '3fa40e8a984d4815',
    },
  ];
  it.each(vectors)('des.js route: $plain -> $cipher and back', ({ key, plain, cipher }) => {
    expect(hex(desEncrypt(bytes(key), bytes(plain)))).toBe(cipher);
    expect(hex(desDecrypt(bytes(key), bytes(cipher)))).toBe(plain);
  });
  it.each(vectors)('node des-ede3-ecb K|K|K route: $plain -> $cipher and back', ({ key, plain, cipher }) => {
    expect(hex(nodeDesEncrypt(bytes(key), bytes(plain)))).toBe(cipher);
    expect(hex(nodeDesDecrypt(bytes(key), bytes(cipher)))).toBe(plain);
  });
  it('a re-keyed cipher gives the same blocks as fresh ciphers and as OpenSSL', () => {
    const des = new Des();
    for (let i = 0; i < 64; i++) {
      const key = bytes((0x1f2e3d4c5b6a7988n * BigInt(i + 1)).toString(16).padStart(16, '0').slice(-16));
      const block = bytes((0xa5a5a5a55a5a5a5an ^ BigInt(i * 7919)).toString(16).padStart(16, '0'));
      des.rekey(
        (key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!,
        (key[4]! << 24) | (key[5]! << 16) | (key[6]! << 8) | key[7]!,
      );
      const viaRekey = des.encryptBlock(block);
      expect(hex(viaRekey)).toBe(hex(desEncrypt(key, block)));
      expect(hex(viaRekey)).toBe(hex(nodeDesEncrypt(key, block)));
      expect(hex(des.decryptBlock(viaRekey))).toBe(hex(block));
    }
  });
});

describe('meter PAN and Luhn', () => {
  it.each([
    { body: '60072700000000000', check: 9 },
    { body: '00000100000000008', check: 2 },
    { body: '7992739871', check: 3 },
  ])('check digit of $body is $check', ({ body, check }) => {
    expect(luhnCheckDigit(body)).toBe(check);
  });
  it('accepts a meter number with or without its check digit', () => {
    const without = parseMeterPan('60072700000000000');
    const withDigit = parseMeterPan('6007 2700 0000 0000 09');
    expect(without).toEqual(withDigit);
    expect(withDigit).toEqual({
      iin: '600727',
      iain: '00000000000',
      checkDigit: 9,
      pan: '600727000000000009',
    });
    expect(parseMeterPan('000001000000000082', 4)).toMatchObject({ iin: '0000', iain: '0100000000008' });
  });
  it('refuses a wrong check digit, naming the expected one', () => {
    expect(() => parseMeterPan('600727000000000008')).toThrow(/wrong check digit 8 .*expected 9/);
    expect(() => meterPanFromParts('600727', '000000000008')).toThrow(StsError);
  });
  it('refuses malformed numbers', () => {
    for (const bad of ['6007270000000000', '6007270000000000091', '60072700000000000x']) {
      expect(() => parseMeterPan(bad)).toThrow(StsError);
    }
    expect(() => meterPanFromParts('60072', '00000000000')).toThrow(/iin/);
    expect(() => meterPanFromParts('600727', '0000000000')).toThrow(/drn/);
  });
  it('builds the PAN from IIN and DRN, with or without the check digit on the DRN', () => {
    expect(meterPanFromParts('600727', '00000000000').pan).toBe('600727000000000009');
    expect(meterPanFromParts('600727', '000000000009').pan).toBe('600727000000000009');
    expect(meterPanFromParts('0000', '0100000000008').pan).toBe('000001000000000082');
  });
});

describe('CRC-16 (sts.md §2.5)', () => {
  it('is CRC-16/MODBUS (check value of "123456789" is 4b37)', () => {
    expect(crc16Modbus(Buffer.from('123456789')).toString(16)).toBe('4b37');
  });
  it('gives field 19e6 for class 0, subclass 0, RND 5, TID 5871715, amount 1', () => {
    // block without CRC: subclass 0 ‖ RND 5 ‖ TID 0x599863 ‖ amount 0x0001
    expect(tokenCrcField(0, 0x05599863, 0x0001).toString(16)).toBe('19e6');
    // the same over the 7 bytes, then byte-swapped
    const crc = crc16Modbus([0x00, 0x05, 0x59, 0x98, 0x63, 0x00, 0x01]);
    expect((((crc & 0xff) << 8) | (crc >>> 8)).toString(16)).toBe('19e6');
  });
  it('includes the class bits', () => {
    expect(tokenCrcField(2, 0x05599863, 0x0001)).not.toBe(tokenCrcField(0, 0x05599863, 0x0001));
  });
});

describe('amount field (sts.md §2.4)', () => {
  // { tenths asked, field, tenths the field decodes to }
  const table = [
    { asked: 0, field: 0x0000, credited: 0 },
    { asked: 1, field: 0x0001, credited: 1 },
    { asked: 16383, field: 0x3fff, credited: 16383 },
    { asked: 16384, field: 0x4000, credited: 16384 },
    { asked: 16385, field: 0x4001, credited: 16394 }, // 1638.5 kWh -> 4001 (1639.4 kWh)
    { asked: 180214, field: 0x7fff, credited: 180214 },
    { asked: 180215, field: 0x8000, credited: 180224 }, // 18021.5 kWh -> 8000
    { asked: 1818524, field: 0xbfff, credited: 1818524 },
    { asked: 1818525, field: 0xc000, credited: 1818624 },
    { asked: 2000000, field: 0xc0b6, credited: 2000624 }, // 200000 kWh -> c0b6 (200062.4 kWh)
    { asked: MAX_AMOUNT, field: 0xffff, credited: MAX_AMOUNT },
  ];
  it.each(table)('$asked tenths -> field $field -> $credited', ({ asked, field, credited }) => {
    expect(encodeAmount(asked)).toBe(field);
    expect(decodeAmount(field)).toBe(credited);
  });
  it('every field decodes to a value that encodes back to the same field', () => {
    const wrong: number[] = [];
    for (let field = 0; field <= 0xffff; field++)
      if (encodeAmount(decodeAmount(field)) !== field) wrong.push(field);
    expect(wrong).toEqual([]);
  });
  it('never credits less than asked, and at most one step more (sampled)', () => {
    const wrong: number[] = [];
    for (let asked = 0; asked <= MAX_AMOUNT; asked += 997) {
      const excess = decodeAmount(encodeAmount(asked)) - asked;
      const step = asked < 16384 ? 1 : asked < 180225 ? 10 : asked < 1818625 ? 100 : 1000;
      if (excess < 0 || excess >= step) wrong.push(asked);
    }
    expect(wrong).toEqual([]);
  });
  it('rounds down on request, never above the amount', () => {
    expect(decodeAmount(encodeAmount(16385, 'down'))).toBe(16384);
    expect(decodeAmount(encodeAmount(180215, 'down'))).toBe(180214);
    expect(decodeAmount(encodeAmount(2000000, 'down'))).toBe(1999624);
  });
  it('refuses negative, fractional and too large amounts', () => {
    for (const bad of [-1, 0.5, MAX_AMOUNT + 1, Number.NaN])
      expect(() => encodeAmount(bad)).toThrow(StsError);
  });
});

describe('EA07 (sts.md §2.7)', () => {
  it('encrypts the CTSA01 block with the production tables', () => {
    expect(ea07Encrypt(0xe653341f9d5bf36fn, 0x05599863000119e6n).toString(16)).toBe('492083c0ae7ce455');
    expect(ea07Decrypt(0xe653341f9d5bf36fn, 0x492083c0ae7ce455n).toString(16).padStart(16, '0')).toBe(
      '05599863000119e6',
    );
  });
  it('decrypts what it encrypts for many keys and blocks', () => {
    let key = 0x0123456789abcdefn;
    let block = 0xfedcba9876543210n;
    for (let i = 0; i < 500; i++) {
      key = (key * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
      block = (block * 2862933555777941757n + 3037000493n) & 0xffffffffffffffffn;
      const c = ea07Encrypt(key, block);
      expect(c).not.toBe(block);
      expect(ea07Decrypt(key, c)).toBe(block);
    }
  });
});
