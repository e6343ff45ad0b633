/**
 * CRC-16 of the STS token: polynomial x^16 + x^15 + x^2 + 1 in reflected form (0xA001), initial value
 * 0xFFFF, no final xor ("CRC-16/MODBUS"), over the 50-bit class ‖ subclass ‖ payload right-aligned in 7
 * bytes, big-endian. The result is stored low byte first in the token's 16-bit CRC field.
 * IEC 62055-41 token CRC (sts.md §2.5).
 */

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-16/MODBUS of `bytes` (the plain register value, not swapped). */
export function crc16Modbus(bytes: ArrayLike<number>): number {
  let crc = 0xffff;
  for (let i = 0; i < bytes.length; i++) crc = (crc >>> 8) ^ TABLE[(crc ^ bytes[i]!) & 0xff]!;
  return crc;
}

/**
 * The token CRC field for class `tokenClass` and the top 48 bits of the data block (`hi` = subclass ‖
 * payload bits 47..16, `mid16` = payload bits 15..0), already byte-swapped for storage.
 */
export function tokenCrcField(tokenClass: number, hi: number, mid16: number): number {
  // IEC 62055-41 CRC (sts.md §2.5): over class ‖ subclass ‖ data in 7 bytes (6 leading zero bits), MSB byte first.
  let crc = 0xffff;
  crc = (crc >>> 8) ^ TABLE[(crc ^ (tokenClass & 3)) & 0xff]!;
  crc = (crc >>> 8) ^ TABLE[(crc ^ (hi >>> 24)) & 0xff]!;
  crc = (crc >>> 8) ^ TABLE[(crc ^ (hi >>> 16)) & 0xff]!;
  crc = (crc >>> 8) ^ TABLE[(crc ^ (hi >>> 8)) & 0xff]!;
  crc = (crc >>> 8) ^ TABLE[(crc ^ hi) & 0xff]!;
  crc = (crc >>> 8) ^ TABLE[(crc ^ (mid16 >>> 8)) & 0xff]!;
  crc = (crc >>> 8) ^ TABLE[(crc ^ mid16) & 0xff]!;
  // Stored low byte first.
  return ((crc & 0xff) << 8) | (crc >>> 8);
}
