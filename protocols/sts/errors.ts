/**
 * Errors and rejection codes of Rasid's STS codec.
 *
 * Encoders throw `StsError` when asked for something that cannot be put in a token (a value out of range, a
 * malformed meter number). Decoders and the meter model never throw for a bad token: they return a
 * rejection carrying one of the stable `STS_REJECTION` codes below, which mirror the rejection categories of
 * IEC 62055-41 (authentication, CRC, format, range, function, old, used, key expired, key type, DDTK,
 * overflow).
 */

/** Stable rejection codes. Hosts may persist and display these strings; they never change meaning. */
export const STS_REJECTION = Object.freeze({
  /** Not a 20-digit token, or a number above 2^66 - 1. */
  format: 'format',
  /** An encrypted token whose CRC does not match after decryption with the key held (wrong key or typo). */
  authentication: 'authentication',
  /** A token that is not encrypted (class 1) and whose CRC does not match. */
  crc: 'crc',
  /** A field outside the range the meter can act on. */
  range: 'range',
  /** A class/subclass this codec or meter does not implement (class 3, class 2 subclass 8-15...). */
  function: 'function',
  /** TID older than the oldest TID the meter remembers. */
  old: 'old',
  /** TID already in the meter's memory: the token was entered before. */
  used: 'used',
  /** Credit token issued after the expiry encoded by the key expiry number (KEN). */
  keyExpired: 'key-expired',
  /** Key change refused because of the key type it would install. */
  keyType: 'key-type',
  /** The meter holds a default key (key type 1), which may not accept credit. */
  ddtk: 'ddtk',
  /** Accepting the credit would overflow the meter's register. */
  overflow: 'overflow',
} as const);

export type StsRejectionCode = (typeof STS_REJECTION)[keyof typeof STS_REJECTION];

/** A refusal with its stable code and a one-line message naming the reason. */
export interface StsRejection {
  readonly code: StsRejectionCode;
  readonly message: string;
}

/** Thrown by encoders and parsers when an input cannot be encoded; `field` names the offending input. */
export class StsError extends Error {
  override readonly name = 'StsError';
  constructor(
    readonly code: StsRejectionCode,
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}
