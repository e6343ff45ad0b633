/**
 * OpenPAYGO Token generation: the server side.
 *
 * Follows `OpenPAYGOTokenEncoder` of EnAccess/OpenPAYGO-python (MIT), openpaygo/token_encode.py, and
 * reproduces its published vectors (test/test_tokens.jsonl) digit for digit.
 */
import {
  loadSecretKey,
  nextCode,
  putBase,
  type SecretKeyInput,
  tokenBase,
  toRestrictedDigits,
} from './chain.ts';
import { OpenPaygoError } from './errors.ts';
import {
  COUNTER_SYNC_VALUE,
  PAYG_DISABLE_VALUE,
  TOKEN_FORMATS,
  TOKEN_TYPES,
  type TokenFormat,
  type TokenFormatName,
  type TokenType,
} from './format.ts';

export interface GenerateTokenOptions {
  /** The device's secret key: 32 hexadecimal characters or 16 bytes. */
  readonly key: SecretKeyInput;
  /** The device's starting code, provisioned with its key (9 digits). */
  readonly startingCode: number;
  /** The count of the last token generated for this device (the server's counter). */
  readonly count: number;
  readonly type: TokenType;
  /** ADD_TIME and SET_TIME only: the amount, in days unless a value divider is agreed with the device. */
  readonly value?: number;
  /** Units of `value` per day agreed with the device (e.g. 10 for tenths of a day). Default 1. */
  readonly valueDivider?: number;
  /** A 12-digit extended token (values up to 999 999) instead of a 9-digit standard one. */
  readonly extended?: boolean;
  /** Write the token with the digits 1–4 only (15 digits standard, 20 extended). */
  readonly restrictedDigitSet?: boolean;
}

export interface GeneratedToken {
  /** The token as the customer types it, zero-padded (9, 12, 15 or 20 digits). */
  readonly token: string;
  /** The count this token uses; store it as the device's new server-side count. */
  readonly newCount: number;
  readonly format: TokenFormatName;
  readonly type: TokenType;
  /** The integer carried in the token's base: `value × valueDivider`, or 998 / 999 for disable / sync. */
  readonly rawValue: number;
}

/** Checks a starting code against the format's code range. */
export function checkStartingCode(format: TokenFormat, startingCode: number): void {
  if (!Number.isSafeInteger(startingCode) || startingCode < 0 || startingCode > format.maxCode) {
    throw new OpenPaygoError('startingCode', `expected an integer from 0 to ${format.maxCode}`);
  }
}

/** Checks a value divider: a finite number above zero. */
export function checkValueDivider(divider: number): void {
  if (!Number.isFinite(divider) || divider <= 0) {
    throw new OpenPaygoError('valueDivider', 'expected a number above 0');
  }
}

/** Python's `round(x, 0)`: to the nearest integer, halves to the even neighbour. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** `_get_new_count`: ADD_TIME takes the next even count, every other type the next odd count. */
export function nextCount(count: number, type: TokenType): number {
  const countIsOdd = Math.abs(count % 2) === 1;
  return TOKEN_TYPES[type].oddCount === countIsOdd ? count + 2 : count + 1;
}

/** The integer a token of `type` carries, after the checks of `generate_token`. */
function rawValueFor(format: TokenFormat, opts: GenerateTokenOptions): number {
  const spec = TOKEN_TYPES[opts.type];
  if (!spec.carriesValue) {
    // The reference refuses any truthy value here; 0 and no value are both accepted.
    if (opts.value !== undefined && opts.value !== 0) {
      throw new OpenPaygoError('value', `a ${opts.type} token carries no value`);
    }
    return opts.type === 'disable-payg' ? PAYG_DISABLE_VALUE : COUNTER_SYNC_VALUE;
  }
  if (opts.value === undefined) throw new OpenPaygoError('value', `a ${opts.type} token needs a value`);
  const divider = opts.valueDivider ?? 1;
  checkValueDivider(divider);
  if (!Number.isFinite(opts.value) || opts.value < 0) {
    throw new OpenPaygoError('value', 'expected a number of 0 or more');
  }
  const raw = roundHalfEven(opts.value * divider);
  if (raw > format.maxActivationValue) {
    const scaled = divider === 1 ? `${raw}` : `${opts.value} × ${divider} = ${raw}`;
    throw new OpenPaygoError(
      'value',
      `${scaled} is above the ${format.name} maximum of ${format.maxActivationValue}`,
    );
  }
  // An odd-count token whose base says 998 or 999 decodes as DISABLE_PAYG or COUNTER_SYNC, so an extended
  // SET_TIME of exactly 998 or 999 would switch PAYG off or only sync the counter on the device.
  if (opts.type === 'set-time' && (raw === PAYG_DISABLE_VALUE || raw === COUNTER_SYNC_VALUE)) {
    throw new OpenPaygoError(
      'value',
      `a set-time value of ${raw} would decode as disable-payg or counter-sync`,
    );
  }
  return raw;
}

/** `generate_token`: the token for `type`/`value` at the count after `count`, and that count. */
export function generateToken(opts: GenerateTokenOptions): GeneratedToken {
  const key = loadSecretKey(opts.key);
  if (!Object.hasOwn(TOKEN_TYPES, opts.type)) {
    throw new OpenPaygoError('type', `unknown token type '${String(opts.type)}'`);
  }
  const format = opts.extended ? TOKEN_FORMATS.extended : TOKEN_FORMATS.standard;
  checkStartingCode(format, opts.startingCode);
  if (!Number.isSafeInteger(opts.count) || opts.count < 0) {
    throw new OpenPaygoError('count', 'expected an integer of 0 or more');
  }
  const rawValue = rawValueFor(format, opts);

  // `_encode_base`: the value rides on the last 3 (6) digits, offset by the starting code's own digits.
  const base = (tokenBase(format, opts.startingCode) + rawValue) % format.baseModulus;
  const newCount = nextCount(opts.count, opts.type);
  let code = putBase(format, opts.startingCode, base);
  for (let i = 0; i < newCount; i++) code = nextCode(format, code, key);
  code = putBase(format, code, base);

  const token = opts.restrictedDigitSet
    ? toRestrictedDigits(format, code)
    : String(code).padStart(format.digits, '0');
  return Object.freeze({ token, newCount, format: format.name, type: opts.type, rawValue });
}
