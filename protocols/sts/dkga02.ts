/**
 * DKGA02: the decoder key from a DES vending key. IEC 62055-41 DKGA02 (sts.md §2.1).
 *
 *   PAN block      = rightmost 16 digits of IIN ‖ IAIN (no check digit) as nibbles; zeros for the IAIN of
 *                    key type 3 (common key)
 *   control block  = KT ‖ SGC (6) ‖ TI (2) ‖ KRN ‖ FFFFFF as nibbles
 *   P              = PAN block xor control block
 *   DK             = DES(VK, P) xor P xor VK
 *
 * The result is in natural byte order (NectarAPI prints the same key byte-reversed; Rasid does not).
 */
import { Des } from './des.ts';
import { StsError } from './errors.ts';
import { type DecoderKey, StsKey, type VendingKey } from './key.ts';
import type { MeterPan } from './pan.ts';

/** Key type (KT): 0 initialization, 1 default, 2 unique, 3 common. */
export type KeyType = 0 | 1 | 2 | 3;

/** The meter parameters that DKGA02 binds the decoder key to. */
export interface KeyParameters {
  readonly pan: MeterPan;
  readonly keyType: KeyType;
  /** Supply group code, 6 decimal digits. */
  readonly supplyGroupCode: string;
  /** Tariff index, 0..99 (written as two decimal digits in the control block). */
  readonly tariffIndex: number;
  /** Key revision number, 1..9. */
  readonly keyRevision: number;
}

const SGC = /^[0-9]{6}$/;

/** Checks the DKGA02 parameters; throws `StsError` naming the field. */
export function validateKeyParameters(p: KeyParameters): void {
  if (!(p.keyType === 0 || p.keyType === 1 || p.keyType === 2 || p.keyType === 3)) {
    throw new StsError('range', 'keyType', `expected 0..3, got ${p.keyType}`);
  }
  if (!SGC.test(p.supplyGroupCode)) {
    throw new StsError('format', 'supplyGroupCode', `expected 6 digits, got '${p.supplyGroupCode}'`);
  }
  if (!Number.isInteger(p.tariffIndex) || p.tariffIndex < 0 || p.tariffIndex > 99) {
    throw new StsError('range', 'tariffIndex', `expected 0..99, got ${p.tariffIndex}`);
  }
  if (!Number.isInteger(p.keyRevision) || p.keyRevision < 1 || p.keyRevision > 9) {
    throw new StsError('range', 'keyRevision', `expected 1..9, got ${p.keyRevision}`);
  }
}

/** Packs 8 decimal digits (char codes) from `s[from..]` into one word of nibbles. */
function digitsWord(s: string, from: number): number {
  let w = 0;
  for (let i = 0; i < 8; i++) w = (w << 4) | (s.charCodeAt(from + i) - 48);
  return w >>> 0;
}

/** The PAN block as two words: rightmost 16 digits of IIN ‖ IAIN (IAIN zeroed for key type 3). */
export function panBlockWords(pan: MeterPan, keyType: KeyType): [number, number] {
  // IEC 62055-41 DKGA02 (sts.md §2.1 step 1).
  const iain = keyType === 3 ? '0'.repeat(pan.iain.length) : pan.iain;
  const digits = (pan.iin + iain).slice(-16);
  return [digitsWord(digits, 0), digitsWord(digits, 8)];
}

/** The control block as two words: KT ‖ SGC ‖ TI ‖ KRN ‖ FFFFFF. */
export function controlBlockWords(p: KeyParameters): [number, number] {
  // IEC 62055-41 DKGA02 (sts.md §2.1 step 2): TI as two decimal digits, one per nibble.
  const s = `${p.keyType}${p.supplyGroupCode}${String(p.tariffIndex).padStart(2, '0')}${p.keyRevision}`;
  const hi = digitsWord(s, 0);
  const lo = (((s.charCodeAt(8) - 48) << 28) | ((s.charCodeAt(9) - 48) << 24) | 0xff_ffff) >>> 0;
  return [hi, lo];
}

const shared = new Des();

/** DKGA02 on the word level, re-keying one shared DES object. Returns [hi, lo] of the decoder key. */
export function dkga02Words(vkHi: number, vkLo: number, pHi: number, pLo: number): [number, number] {
  // IEC 62055-41 DKGA02 (sts.md §2.1 step 4): DK = DES_VK(P) xor P xor VK.
  shared.rekey(vkHi, vkLo);
  shared.encryptWords(pHi, pLo);
  return [(shared.hi ^ pHi ^ vkHi) >>> 0, (shared.lo ^ pLo ^ vkLo) >>> 0];
}

/** Derives the decoder key of a meter from its vending key with DKGA02. */
export function deriveDecoderKey(vendingKey: VendingKey, params: KeyParameters): DecoderKey {
  validateKeyParameters(params);
  const [panHi, panLo] = panBlockWords(params.pan, params.keyType);
  const [ctlHi, ctlLo] = controlBlockWords(params);
  // IEC 62055-41 DKGA02 (sts.md §2.1 step 3): P = PAN block xor control block.
  const [hi, lo] = dkga02Words(vendingKey.hi, vendingKey.lo, (panHi ^ ctlHi) >>> 0, (panLo ^ ctlLo) >>> 0);
  return new StsKey(hi, lo);
}
