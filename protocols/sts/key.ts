/**
 * 64-bit keys of STS: vending keys (DKGA02 input) and decoder keys (EA07/EA09 key).
 *
 * A key is held as two unsigned 32-bit words in natural (big-endian) order: the first byte DKGA02 outputs is
 * the top byte of `hi`. A `DecoderKey` object caches what each algorithm needs (the DES key schedule for
 * EA09), so a vending system that keeps one object per meter pays the key set-up once.
 */
import { Des } from './des.ts';
import { StsError } from './errors.ts';

const HEX16 = /^[0-9a-fA-F]{16}$/;

/** An immutable 64-bit key. */
export class StsKey {
  /** Top 32 bits (bytes 0-3). */
  readonly hi: number;
  /** Low 32 bits (bytes 4-7). */
  readonly lo: number;
  private des: Des | undefined;

  constructor(hi: number, lo: number) {
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
  }

  /** Parses 16 hex digits; `field` names the input in the error. */
  static fromHex(hex: string, field = 'key'): StsKey {
    if (!HEX16.test(hex)) throw new StsError('format', field, `expected 16 hex digits, got '${hex}'`);
    return new StsKey(Number.parseInt(hex.slice(0, 8), 16), Number.parseInt(hex.slice(8), 16));
  }

  static fromBytes(bytes: Uint8Array, field = 'key'): StsKey {
    if (bytes.length !== 8) throw new StsError('format', field, `expected 8 bytes, got ${bytes.length}`);
    return new StsKey(
      (bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!,
      (bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!,
    );
  }

  static fromBigInt(value: bigint, field = 'key'): StsKey {
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn)
      throw new StsError('range', field, 'not a 64-bit value');
    return new StsKey(Number(value >> 32n), Number(value & 0xffff_ffffn));
  }

  toHex(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }

  toBigInt(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  toBytes(): Uint8Array {
    const h = this.hi;
    const l = this.lo;
    return Uint8Array.of(
      h >>> 24,
      (h >>> 16) & 0xff,
      (h >>> 8) & 0xff,
      h & 0xff,
      l >>> 24,
      (l >>> 16) & 0xff,
      (l >>> 8) & 0xff,
      l & 0xff,
    );
  }

  equals(other: StsKey): boolean {
    return this.hi === other.hi && this.lo === other.lo;
  }

  /** The DES key schedule of this key, built on first use and kept. */
  desCipher(): Des {
    this.des ??= new Des(this.hi, this.lo);
    return this.des;
  }
}

/** The 64-bit decoder key of one meter (DK). */
export type DecoderKey = StsKey;
/** The 64-bit DES vending key used by DKGA02 (VK). */
export type VendingKey = StsKey;
