/**
 * EA09: DEA (single DES, ECB, one block) with the 64-bit decoder key, big-endian, parity bits ignored.
 * IEC 62055-41 EA09 (sts.md §2.8).
 *
 * Unverified: no public vector fixes the decoder-key byte order for EA09. Rasid uses the natural order
 * (the bytes exactly as DKGA02 outputs them), the same order as EA07.
 */
import type { DecoderKey } from './key.ts';

/** Result registers of the last call. */
export const ea09Out = { hi: 0, lo: 0 };

/** EA09 encryption of the block (hi, lo); uses (and caches) the key's DES schedule. */
export function ea09EncryptWords(key: DecoderKey, hi: number, lo: number): void {
  const des = key.desCipher();
  des.encryptWords(hi, lo);
  ea09Out.hi = des.hi;
  ea09Out.lo = des.lo;
}

/** EA09 decryption of the block (hi, lo). */
export function ea09DecryptWords(key: DecoderKey, hi: number, lo: number): void {
  const des = key.desCipher();
  des.decryptWords(hi, lo);
  ea09Out.hi = des.hi;
  ea09Out.lo = des.lo;
}
