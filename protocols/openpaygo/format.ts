/**
 * The constants of OpenPAYGO Token, as frozen tables the codec reads.
 *
 * Source: EnAccess/OpenPAYGO-python (MIT), openpaygo/token_shared.py, token_shared_extended.py and
 * token_decode.py. Names in the comments are the reference's, so each value can be checked against it.
 */

/** The four token types. Rasid names them in kebab case; `code` is the reference's `TokenType` number. */
export const TOKEN_TYPES = Object.freeze({
  /** Adds `value` (days, or days × value divider) to the remaining PAYG time. Even counts. */
  'add-time': { code: 1, oddCount: false, carriesValue: true },
  /** Sets the remaining PAYG time to `value`; value 0 locks the device. Odd counts. */
  'set-time': { code: 2, oddCount: true, carriesValue: true },
  /** Turns PAYG off for good (the device stays on). Odd counts, reserved value 998. */
  'disable-payg': { code: 3, oddCount: true, carriesValue: false },
  /** Only resynchronises the device's counter. Odd counts, reserved value 999. */
  'counter-sync': { code: 4, oddCount: true, carriesValue: false },
} as const);

export type TokenType = keyof typeof TOKEN_TYPES;

/** The reference's `TokenType` numbers for a refused token (`TokenType.INVALID`, `TokenType.ALREADY_USED`). */
export const REFUSAL_CODES = Object.freeze({ invalid: 10, 'already-used': 11 } as const);

/** `PAYG_DISABLE_VALUE`: the value a DISABLE_PAYG token carries in its base. */
export const PAYG_DISABLE_VALUE = 998;
/** `COUNTER_SYNC_VALUE`: the value a COUNTER_SYNC token carries in its base. */
export const COUNTER_SYNC_VALUE = 999;

/** `MAX_TOKEN_JUMP`: how many counts past the last accepted one the device searches. */
export const MAX_TOKEN_JUMP = 64;
/** `MAX_TOKEN_JUMP_COUNTER_SYNC`: the longer search for a COUNTER_SYNC token. */
export const MAX_TOKEN_JUMP_COUNTER_SYNC = 100;
/** `MAX_UNUSED_OLDER_TOKENS`: how far back (in counts) an unused ADD_TIME token may still be accepted. */
export const MAX_UNUSED_OLDER_TOKENS = 16;

export type TokenFormatName = 'standard' | 'extended';

/** The layout of one token format. */
export interface TokenFormat {
  readonly name: TokenFormatName;
  /** Decimal digits of a token (`{:09d}` / `{:012d}`). */
  readonly digits: number;
  /** Digits of the same token written with the restricted digit set 1–4 (two bits per digit). */
  readonly restrictedDigits: number;
  /** Bits of the token number (`_convert_to_29_5_bits` keeps 30, `_convert_to_40_bits` keeps 40). */
  readonly bits: number;
  /** `TOKEN_VALUE_OFFSET`: the base is `code mod baseModulus`, the last 3 (or 6) digits. */
  readonly baseModulus: number;
  /** `MAX_ACTIVATION_VALUE`: the highest value an ADD_TIME or SET_TIME token may carry. */
  readonly maxActivationValue: number;
  /** The highest code the hash chain can produce (`999999999` / `999999999999`). */
  readonly maxCode: number;
  /** What the chain subtracts from a hash above `maxCode` (`73741825` / `99511627777`). */
  readonly overflowOffset: number;
}

/** Standard (9-digit) and extended (12-digit) tokens. */
export const TOKEN_FORMATS: Readonly<Record<TokenFormatName, TokenFormat>> = Object.freeze({
  standard: Object.freeze({
    name: 'standard',
    digits: 9,
    restrictedDigits: 15,
    bits: 30,
    baseModulus: 1000,
    maxActivationValue: 995,
    maxCode: 999_999_999,
    overflowOffset: 73_741_825,
  }),
  extended: Object.freeze({
    name: 'extended',
    digits: 12,
    restrictedDigits: 20,
    bits: 40,
    baseModulus: 1_000_000,
    maxActivationValue: 999_999,
    maxCode: 999_999_999_999,
    overflowOffset: 99_511_627_777,
  }),
});
