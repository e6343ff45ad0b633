/**
 * CRC-16/X.25 for the HDLC HCS and FCS (IEC 62056-46 §6.4.4 / ISO/IEC 13239 FCS-16): reflected polynomial
 * 0x8408, initial value 0xFFFF, final XOR 0xFFFF. On the wire the low byte goes first.
 */

/** Reflected CRC-16/X.25 polynomial. */
const POLY_REFLECTED = 0x8408;

const TABLE: Readonly<Uint16Array> = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i;
    for (let b = 0; b < 8; b++) crc = crc & 1 ? (crc >>> 1) ^ POLY_REFLECTED : crc >>> 1;
    t[i] = crc;
  }
  return t;
})();

/** CRC-16/X.25 of `bytes[start, end)`. The check value of "123456789" is 0x906E. */
export function crc16x25(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ TABLE[(crc ^ bytes[i]!) & 0xff]!;
  return (crc ^ 0xffff) & 0xffff;
}
