/**
 * EA07: the Standard Transfer Algorithm (STA), a 16-round substitution-permutation cipher on the 64-bit
 * data block under the 64-bit decoder key. IEC 62055-41 EA07 (sts.md §2.7), production tables of STS 531-1.
 *
 * Conventions: nibble 0 is the most significant nibble; "position j" of a 64-bit word is bit 63 - j.
 * Encryption: K = rotr64(NOT DK, 12); 16 times: substitute each data nibble n with S1 when the key bit at
 * position 4n is 0 and S2 when it is 1, move input position j to output position P[j], K = rotl64(K, 1).
 * Decryption runs the rounds backwards from K = rotl64(NOT DK, 3).
 *
 * The tables below are the published data. The round functions work on two 32-bit words with lookup
 * tables derived from them once at load: for encryption one table per data byte fuses the two S-boxes
 * (chosen by the two key selector bits of that byte) with the permutation.
 */

/** S-box used where the key selector bit is 0. */
export const EA07_S1: readonly number[] = Object.freeze([
  14, 10, 7, 9, 12, 3, 2, 5, 13, 0, 15, 1, 4, 8, 6, 11,
]);
/** S-box used where the key selector bit is 1. */
export const EA07_S2: readonly number[] = Object.freeze([
  12, 8, 2, 13, 7, 6, 1, 3, 11, 5, 9, 15, 0, 4, 10, 14,
]);
/** Permutation: input position j (MSB-first) goes to output position `EA07_P[j]`. */
export const EA07_P: readonly number[] = Object.freeze([
  37, 18, 49, 16, 55, 4, 29, 6, 63, 62, 46, 48, 52, 24, 3, 23, 58, 50, 35, 22, 33, 40, 32, 15, 34, 17, 44, 14,
  30, 9, 11, 12, 38, 0, 43, 31, 59, 56, 60, 1, 47, 10, 25, 26, 2, 51, 27, 57, 13, 54, 5, 36, 20, 7, 41, 61,
  28, 19, 42, 39, 45, 53, 21, 8,
]);

function inverse(table: readonly number[]): number[] {
  const inv = new Array<number>(table.length).fill(0);
  table.forEach((v, i) => {
    inv[v] = i;
  });
  return inv;
}

const S1_INV = inverse(EA07_S1);
const S2_INV = inverse(EA07_S2);

/** Sets MSB-first position `pos` in the (hi, lo) pair stored at `at` of the two tables. */
function setPosition(hiT: Uint32Array, loT: Uint32Array, at: number, pos: number): void {
  if (pos < 32) hiT[at] = (hiT[at]! | (1 << (31 - pos))) >>> 0;
  else loT[at] = (loT[at]! | (1 << (63 - pos))) >>> 0;
}

// Encryption: ENC_*[(byte * 4 + selector) * 256 + value] = permuted image of the substituted data byte.
// selector bit 1 picks the S-box of the high nibble, bit 0 that of the low nibble.
const ENC_HI = new Uint32Array(8 * 4 * 256);
const ENC_LO = new Uint32Array(8 * 4 * 256);
// Decryption: DEC_P_* [byte * 256 + value] = inverse-permuted image of one ciphertext byte;
// DEC_S[selector * 256 + value] = inverse substitution of one byte.
const DEC_P_HI = new Uint32Array(8 * 256);
const DEC_P_LO = new Uint32Array(8 * 256);
const DEC_S = new Uint8Array(4 * 256);
{
  const inverseP = inverse(EA07_P);
  for (let b = 0; b < 8; b++) {
    for (let sel = 0; sel < 4; sel++) {
      const sHigh = sel & 2 ? EA07_S2 : EA07_S1;
      const sLow = sel & 1 ? EA07_S2 : EA07_S1;
      for (let v = 0; v < 256; v++) {
        const out = (sHigh[v >>> 4]! << 4) | sLow[v & 15]!;
        const at = (b * 4 + sel) * 256 + v;
        for (let i = 0; i < 8; i++)
          if ((out >>> (7 - i)) & 1) setPosition(ENC_HI, ENC_LO, at, EA07_P[8 * b + i]!);
      }
    }
    for (let v = 0; v < 256; v++) {
      // Output position j receives input position P[j]: an input bit at position p lands on P^-1[p].
      for (let i = 0; i < 8; i++)
        if ((v >>> (7 - i)) & 1) setPosition(DEC_P_HI, DEC_P_LO, b * 256 + v, inverseP[8 * b + i]!);
    }
  }
  for (let sel = 0; sel < 4; sel++) {
    const sHigh = sel & 2 ? S2_INV : S1_INV;
    const sLow = sel & 1 ? S2_INV : S1_INV;
    for (let v = 0; v < 256; v++) DEC_S[sel * 256 + v] = (sHigh[v >>> 4]! << 4) | sLow[v & 15]!;
  }
}

/** Selector pair of one key byte: its top bit (position 8b) and its bit 3 (position 8b + 4). */
function sel(keyByte: number): number {
  return ((keyByte >>> 6) & 2) | ((keyByte >>> 3) & 1);
}

/** Result registers of the last call (avoids allocating a pair per block). */
export const ea07Out = { hi: 0, lo: 0 };

/** EA07 encryption of the block (hi, lo) under the key (keyHi, keyLo); the result is left in `ea07Out`. */
export function ea07EncryptWords(keyHi: number, keyLo: number, hi: number, lo: number): void {
  // IEC 62055-41 EA07 (sts.md §2.7): K = rotate_right_64(NOT DK, 12).
  const nh = ~keyHi >>> 0;
  const nl = ~keyLo >>> 0;
  let kh = ((nl << 20) | (nh >>> 12)) >>> 0;
  let kl = ((nh << 20) | (nl >>> 12)) >>> 0;
  let dh = hi >>> 0;
  let dl = lo >>> 0;
  for (let round = 0; round < 16; round++) {
    // Substitution (S1/S2 by key bit 4n) and permutation P in one lookup per data byte.
    const h =
      ENC_HI[(0 + sel(kh >>> 24)) * 256 + (dh >>> 24)]! |
      ENC_HI[(4 + sel(kh >>> 16)) * 256 + ((dh >>> 16) & 0xff)]! |
      ENC_HI[(8 + sel(kh >>> 8)) * 256 + ((dh >>> 8) & 0xff)]! |
      ENC_HI[(12 + sel(kh)) * 256 + (dh & 0xff)]! |
      ENC_HI[(16 + sel(kl >>> 24)) * 256 + (dl >>> 24)]! |
      ENC_HI[(20 + sel(kl >>> 16)) * 256 + ((dl >>> 16) & 0xff)]! |
      ENC_HI[(24 + sel(kl >>> 8)) * 256 + ((dl >>> 8) & 0xff)]! |
      ENC_HI[(28 + sel(kl)) * 256 + (dl & 0xff)]!;
    const l =
      ENC_LO[(0 + sel(kh >>> 24)) * 256 + (dh >>> 24)]! |
      ENC_LO[(4 + sel(kh >>> 16)) * 256 + ((dh >>> 16) & 0xff)]! |
      ENC_LO[(8 + sel(kh >>> 8)) * 256 + ((dh >>> 8) & 0xff)]! |
      ENC_LO[(12 + sel(kh)) * 256 + (dh & 0xff)]! |
      ENC_LO[(16 + sel(kl >>> 24)) * 256 + (dl >>> 24)]! |
      ENC_LO[(20 + sel(kl >>> 16)) * 256 + ((dl >>> 16) & 0xff)]! |
      ENC_LO[(24 + sel(kl >>> 8)) * 256 + ((dl >>> 8) & 0xff)]! |
      ENC_LO[(28 + sel(kl)) * 256 + (dl & 0xff)]!;
    dh = h >>> 0;
    dl = l >>> 0;
    // K = rotate_left_64(K, 1).
    const carry = kh >>> 31;
    kh = ((kh << 1) | (kl >>> 31)) >>> 0;
    kl = ((kl << 1) | carry) >>> 0;
  }
  ea07Out.hi = dh;
  ea07Out.lo = dl;
}

/** EA07 decryption of the block (hi, lo) under the key (keyHi, keyLo); the result is left in `ea07Out`. */
export function ea07DecryptWords(keyHi: number, keyLo: number, hi: number, lo: number): void {
  // IEC 62055-41 EA07 (sts.md §2.7): start from the last round's key, rotate_left_64(NOT DK, 3).
  const nh = ~keyHi >>> 0;
  const nl = ~keyLo >>> 0;
  let kh = ((nh << 3) | (nl >>> 29)) >>> 0;
  let kl = ((nl << 3) | (nh >>> 29)) >>> 0;
  let dh = hi >>> 0;
  let dl = lo >>> 0;
  for (let round = 0; round < 16; round++) {
    // Inverse permutation.
    const ph =
      DEC_P_HI[dh >>> 24]! |
      DEC_P_HI[256 + ((dh >>> 16) & 0xff)]! |
      DEC_P_HI[512 + ((dh >>> 8) & 0xff)]! |
      DEC_P_HI[768 + (dh & 0xff)]! |
      DEC_P_HI[1024 + (dl >>> 24)]! |
      DEC_P_HI[1280 + ((dl >>> 16) & 0xff)]! |
      DEC_P_HI[1536 + ((dl >>> 8) & 0xff)]! |
      DEC_P_HI[1792 + (dl & 0xff)]!;
    const pl =
      DEC_P_LO[dh >>> 24]! |
      DEC_P_LO[256 + ((dh >>> 16) & 0xff)]! |
      DEC_P_LO[512 + ((dh >>> 8) & 0xff)]! |
      DEC_P_LO[768 + (dh & 0xff)]! |
      DEC_P_LO[1024 + (dl >>> 24)]! |
      DEC_P_LO[1280 + ((dl >>> 16) & 0xff)]! |
      DEC_P_LO[1536 + ((dl >>> 8) & 0xff)]! |
      DEC_P_LO[1792 + (dl & 0xff)]!;
    // Inverse substitution, S-boxes chosen by the same key bits as in encryption.
    dh =
      ((DEC_S[sel(kh >>> 24) * 256 + (ph >>> 24)]! << 24) |
        (DEC_S[sel(kh >>> 16) * 256 + ((ph >>> 16) & 0xff)]! << 16) |
        (DEC_S[sel(kh >>> 8) * 256 + ((ph >>> 8) & 0xff)]! << 8) |
        DEC_S[sel(kh) * 256 + (ph & 0xff)]!) >>>
      0;
    dl =
      ((DEC_S[sel(kl >>> 24) * 256 + (pl >>> 24)]! << 24) |
        (DEC_S[sel(kl >>> 16) * 256 + ((pl >>> 16) & 0xff)]! << 16) |
        (DEC_S[sel(kl >>> 8) * 256 + ((pl >>> 8) & 0xff)]! << 8) |
        DEC_S[sel(kl) * 256 + (pl & 0xff)]!) >>>
      0;
    // K = rotate_right_64(K, 1).
    const carry = kl & 1;
    kl = ((kl >>> 1) | (kh << 31)) >>> 0;
    kh = ((kh >>> 1) | (carry << 31)) >>> 0;
  }
  ea07Out.hi = dh;
  ea07Out.lo = dl;
}

/** EA07 encryption of a 64-bit block (bigint form, for tests and tools). */
export function ea07Encrypt(key: bigint, block: bigint): bigint {
  ea07EncryptWords(
    Number(key >> 32n),
    Number(key & 0xffff_ffffn),
    Number(block >> 32n),
    Number(block & 0xffff_ffffn),
  );
  return (BigInt(ea07Out.hi) << 32n) | BigInt(ea07Out.lo);
}

/** EA07 decryption of a 64-bit block (bigint form). */
export function ea07Decrypt(key: bigint, block: bigint): bigint {
  ea07DecryptWords(
    Number(key >> 32n),
    Number(key & 0xffff_ffffn),
    Number(block >> 32n),
    Number(block & 0xffff_ffffn),
  );
  return (BigInt(ea07Out.hi) << 32n) | BigInt(ea07Out.lo);
}
