/**
 * Errors of Rasid's OpenPAYGO Token codec.
 *
 * The encoder and the decoder throw `OpenPaygoError` for an input they cannot work with (a key that is not
 * 16 bytes, a value out of range, a token with a non-digit in it). A well-formed token that the device must
 * refuse is not an error: `decodeToken` returns a result whose `status` is `invalid` or `already-used`.
 */

/** The inputs an `OpenPaygoError` can name. */
export type OpenPaygoField =
  | 'key'
  | 'startingCode'
  | 'count'
  | 'lastCount'
  | 'usedCounts'
  | 'type'
  | 'value'
  | 'valueDivider'
  | 'token';

/** Thrown for an input that cannot be encoded or parsed; `field` names the offending input. */
export class OpenPaygoError extends Error {
  override readonly name = 'OpenPaygoError';
  constructor(
    readonly field: OpenPaygoField,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}
