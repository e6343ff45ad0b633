/**
 * Single DES (FIPS 46-3) for DKGA02 and EA09, on 64-bit blocks held as two unsigned 32-bit words.
 *
 * The engine is des.js (pure JavaScript). Its key schedule and block function are driven directly on the
 * 32-bit halves so that the token path needs no byte arrays and no allocation: one `Des` object is re-keyed
 * for every meter (`rekey`), which is what STS needs, since every meter has its own key. Known answers of
 * FIPS 81 are checked once when this module loads, so a change inside des.js cannot go unnoticed.
 *
 * `nodeDesEncrypt` is the second route, through node's OpenSSL: Node 20 ships OpenSSL 3, which refuses
 * `des-ecb` without the legacy provider, but `des-ede3-ecb` with the key repeated three times (K1 = K2 = K3)
 * is single DES, since the E-D-E sequence collapses to one encryption.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import desjs from 'des.js';

type DesJsCipher = ReturnType<typeof desjs.DES.create>;

const ZERO_KEY: readonly number[] = [0, 0, 0, 0, 0, 0, 0, 0];

/** One DES key schedule, reusable for many blocks and re-keyable without allocating a new cipher. */
export class Des {
  private readonly cipher: DesJsCipher;
  private readonly keyBytes: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  private readonly tmp: number[] = [0, 0];
  /** High word of the result of the last `encryptWords`/`decryptWords`. */
  hi = 0;
  /** Low word of the result of the last `encryptWords`/`decryptWords`. */
  lo = 0;

  constructor(keyHi = 0, keyLo = 0) {
    this.cipher = desjs.DES.create({ type: 'encrypt', key: ZERO_KEY, padding: false });
    this.rekey(keyHi, keyLo);
  }

  /** A cipher for an 8-byte key (parity bits are ignored, as DES does). */
  static fromBytes(key: Uint8Array): Des {
    if (key.length !== 8) throw new RangeError(`DES key must be 8 bytes, got ${key.length}`);
    return new Des(readWord(key, 0), readWord(key, 4));
  }

  /** Installs a new 64-bit key given as two big-endian words; returns `this`. */
  rekey(keyHi: number, keyLo: number): this {
    const k = this.keyBytes;
    k[0] = keyHi >>> 24;
    k[1] = (keyHi >>> 16) & 0xff;
    k[2] = (keyHi >>> 8) & 0xff;
    k[3] = keyHi & 0xff;
    k[4] = keyLo >>> 24;
    k[5] = (keyLo >>> 16) & 0xff;
    k[6] = (keyLo >>> 8) & 0xff;
    k[7] = keyLo & 0xff;
    this.cipher.deriveKeys(this.cipher._desState, k);
    return this;
  }

  /** Encrypts one block; the result is left in `this.hi` / `this.lo`. */
  encryptWords(hi: number, lo: number): void {
    const t = this.tmp;
    desjs.utils.ip(hi >>> 0, lo >>> 0, t, 0);
    this.cipher._encrypt(this.cipher._desState, t[0]!, t[1]!, t, 0);
    this.hi = t[0]! >>> 0;
    this.lo = t[1]! >>> 0;
  }

  /** Decrypts one block; the result is left in `this.hi` / `this.lo`. */
  decryptWords(hi: number, lo: number): void {
    const t = this.tmp;
    desjs.utils.ip(hi >>> 0, lo >>> 0, t, 0);
    this.cipher._decrypt(this.cipher._desState, t[0]!, t[1]!, t, 0);
    this.hi = t[0]! >>> 0;
    this.lo = t[1]! >>> 0;
  }

  /** Encrypts one 8-byte block into a new array. */
  encryptBlock(block: Uint8Array): Uint8Array {
    if (block.length !== 8) throw new RangeError(`DES block must be 8 bytes, got ${block.length}`);
    this.encryptWords(readWord(block, 0), readWord(block, 4));
    return wordsToBytes(this.hi, this.lo);
  }

  /** Decrypts one 8-byte block into a new array. */
  decryptBlock(block: Uint8Array): Uint8Array {
    if (block.length !== 8) throw new RangeError(`DES block must be 8 bytes, got ${block.length}`);
    this.decryptWords(readWord(block, 0), readWord(block, 4));
    return wordsToBytes(this.hi, this.lo);
  }
}

/** Single-DES encryption of one block with a fresh des.js cipher (the convenience route, allocating). */
export function desEncrypt(key: Uint8Array, block: Uint8Array): Uint8Array {
  return Des.fromBytes(key).encryptBlock(block);
}

/** Single-DES decryption of one block with a fresh des.js cipher. */
export function desDecrypt(key: Uint8Array, block: Uint8Array): Uint8Array {
  return Des.fromBytes(key).decryptBlock(block);
}

function tripleKey(key: Uint8Array): Buffer {
  if (key.length !== 8) throw new RangeError(`DES key must be 8 bytes, got ${key.length}`);
  return Buffer.concat([key, key, key]);
}

/** Single DES through node's OpenSSL as `des-ede3-ecb` with K|K|K (no legacy provider needed). */
export function nodeDesEncrypt(key: Uint8Array, block: Uint8Array): Uint8Array {
  const c = createCipheriv('des-ede3-ecb', tripleKey(key), null).setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
}

/** Single-DES decryption through node's OpenSSL as `des-ede3-ecb` with K|K|K. */
export function nodeDesDecrypt(key: Uint8Array, block: Uint8Array): Uint8Array {
  const d = createDecipheriv('des-ede3-ecb', tripleKey(key), null).setAutoPadding(false);
  return new Uint8Array(Buffer.concat([d.update(block), d.final()]));
}

function readWord(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

/** Big-endian bytes of a 64-bit value given as two words. */
export function wordsToBytes(hi: number, lo: number): Uint8Array {
  return Uint8Array.of(
    hi >>> 24,
    (hi >>> 16) & 0xff,
    (hi >>> 8) & 0xff,
    hi & 0xff,
    lo >>> 24,
    (lo >>> 16) & 0xff,
    (lo >>> 8) & 0xff,
    lo & 0xff,
  );
}

// FIPS 81 known answer (key 0123456789abcdef, plaintext 0123456789abcde7 -> c95744256a5ed31d), checked
// at load so that the des.js internals driven above are known to behave.
{
  const probe = new Des(0x01234567, 0x89abcdef);
  probe.encryptWords(0x01234567, 0x89abcde7);
  const ok = probe.hi === 0xc9574425 && probe.lo === 0x6a5ed31d;
  probe.decryptWords(0xc9574425, 0x6a5ed31d);
  if (!ok || probe.hi !== 0x01234567 || probe.lo !== 0x89abcde7) {
    throw new Error('DES self-test failed: des.js does not reproduce the FIPS 81 known answer');
  }
}
