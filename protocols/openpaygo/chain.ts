/**
 * The OpenPAYGO Token hash chain and the number shapes around it: the secret key, the 3- or 6-digit base
 * that carries the value, the step from one code to the next, and the restricted digit set.
 *
 * Follows EnAccess/OpenPAYGO-python (MIT): openpaygo/token_shared.py and token_shared_extended.py.
 */
import SipHash from 'siphash';
import { OpenPaygoError } from './errors.ts';
import { TOKEN_FORMATS, type TokenFormat } from './format.ts';

/** A device's 128-bit secret key, as bytes and as the four little-endian words SipHash reads. */
export interface SecretKey {
  readonly bytes: Uint8Array;
  readonly words: Uint32Array;
}

/** A key as callers may give it: 32 hexadecimal characters, 16 bytes, or an already loaded key. */
export type SecretKeyInput = string | Uint8Array | SecretKey;

const HEX_KEY = /^[0-9a-fA-F]{32}$/;
const TWO_POW_32 = 0x1_0000_0000;

/** Reads a 16-byte key from hex or bytes (`load_secret_key_from_hex`). */
export function loadSecretKey(input: SecretKeyInput): SecretKey {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) return input;
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    if (!HEX_KEY.test(input)) throw new OpenPaygoError('key', 'expected 32 hexadecimal characters');
    bytes = new Uint8Array(16);
    for (let i = 0; i < 16; i++) bytes[i] = Number.parseInt(input.slice(i * 2, i * 2 + 2), 16);
  } else {
    if (input.length !== 16) throw new OpenPaygoError('key', `expected 16 bytes, got ${input.length}`);
    bytes = Uint8Array.from(input);
  }
  const view = new DataView(bytes.buffer);
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) words[i] = view.getUint32(i * 4, true);
  return Object.freeze({ bytes, words });
}

/** SipHash-2-4 of `message` under `key`, as the high and low 32-bit halves of the 64-bit result. */
export function sipHash24(key: SecretKey, message: Uint8Array): { readonly hi: number; readonly lo: number } {
  const r = SipHash.hash(key.words, message);
  return { hi: r.h >>> 0, lo: r.l >>> 0 };
}

/** `get_token_base`: the last 3 (standard) or 6 (extended) digits of a code. */
export function tokenBase(format: TokenFormat, code: number): number {
  return code % format.baseModulus;
}

/** `put_base_in_token`: replaces the last 3 (or 6) digits of `code` with `base`. */
export function putBase(format: TokenFormat, code: number, base: number): number {
  return code - tokenBase(format, code) + base;
}

// One scratch buffer for the 8 bytes each chain step hashes; the codec is synchronous, so it is never shared
// between two calls in flight.
const scratch = new Uint8Array(8);
const scratchView = new DataView(scratch.buffer);

/** `_convert_to_29_5_bits`: bits 31..2 of a 32-bit word, folded below 10^9. */
function fold30(word: number, format: TokenFormat): number {
  const code = word >>> 2;
  return code > format.maxCode ? code - format.overflowOffset : code;
}

/** `_convert_to_40_bits`: bits 63..24 of the 64-bit hash, folded below 10^12. */
function fold40(hi: number, lo: number, format: TokenFormat): number {
  const code = hi * 256 + (lo >>> 24);
  return code > format.maxCode ? code - format.overflowOffset : code;
}

/**
 * `generate_next_token`: the code that follows `code` in the chain.
 *
 * Standard: the code as a 4-byte big-endian integer, written twice (8 bytes), hashed; the two 32-bit halves
 * of the hash are xored and folded to 30 bits. Extended: the code as an 8-byte big-endian integer, hashed;
 * the top 40 bits of the hash are kept.
 */
export function nextCode(format: TokenFormat, code: number, key: SecretKey): number {
  if (format.name === 'standard') {
    scratchView.setUint32(0, code, false);
    scratchView.setUint32(4, code, false);
    const { hi, lo } = sipHash24(key, scratch);
    return fold30((hi ^ lo) >>> 0, format);
  }
  scratchView.setUint32(0, Math.floor(code / TWO_POW_32), false);
  scratchView.setUint32(4, code % TWO_POW_32, false);
  const { hi, lo } = sipHash24(key, scratch);
  return fold40(hi, lo, format);
}

/**
 * `generate_starting_code`: the reference's default starting code, a hash of the key with itself.
 *
 * Rasid never derives a starting code on its own: a device's starting code is provisioned with its key.
 * This exists to check devices that were provisioned by the Python reference's default.
 */
export function deriveStartingCode(keyInput: SecretKeyInput): number {
  const key = loadSecretKey(keyInput);
  const { hi, lo } = sipHash24(key, key.bytes);
  return fold30((hi ^ lo) >>> 0, TOKEN_FORMATS.standard);
}

/** `convert_to_4_digit_token`: the token number as 2-bit groups, most significant first, each written 1–4. */
export function toRestrictedDigits(format: TokenFormat, code: number): string {
  let out = '';
  let weight = 4 ** (format.restrictedDigits - 1);
  let rest = code;
  for (let i = 0; i < format.restrictedDigits; i++) {
    const group = Math.floor(rest / weight);
    out += String(group + 1);
    rest -= group * weight;
    weight /= 4;
  }
  return out;
}

/** `convert_from_4_digit_token`: the token number written with the digits 1–4 (two bits per digit). */
export function fromRestrictedDigits(digits: string): number {
  let code = 0;
  for (const ch of digits) {
    const group = ch.charCodeAt(0) - 0x31; // '1' -> 0 ... '4' -> 3
    if (group < 0 || group > 3) {
      throw new OpenPaygoError('token', `the restricted digit set only has the digits 1 to 4, got '${ch}'`);
    }
    code = code * 4 + group;
  }
  return code;
}
