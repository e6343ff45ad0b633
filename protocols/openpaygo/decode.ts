/**
 * OpenPAYGO Token decoding: the device side of one token entry.
 *
 * Follows `OpenPAYGOTokenDecoder` of EnAccess/OpenPAYGO-python (MIT), openpaygo/token_decode.py: the token's
 * base gives the value, the hash chain is walked from the starting code to find the token's count, the
 * count's parity gives the type, and the count is checked against the device's last count and its list of
 * used counts. Where Rasid deliberately differs from that file, the line says so (see docs/openpaygo.md).
 */
import {
  fromRestrictedDigits,
  loadSecretKey,
  nextCode,
  putBase,
  type SecretKeyInput,
  tokenBase,
} from './chain.ts';
import { checkStartingCode, checkValueDivider } from './encode.ts';
import { OpenPaygoError } from './errors.ts';
import {
  COUNTER_SYNC_VALUE,
  MAX_TOKEN_JUMP,
  MAX_TOKEN_JUMP_COUNTER_SYNC,
  MAX_UNUSED_OLDER_TOKENS,
  PAYG_DISABLE_VALUE,
  TOKEN_FORMATS,
  TOKEN_TYPES,
  type TokenFormat,
  type TokenFormatName,
  type TokenType,
} from './format.ts';

export interface DecodeTokenOptions {
  /** The digits the customer typed (no spaces or separators). */
  readonly token: string;
  readonly key: SecretKeyInput;
  readonly startingCode: number;
  /** The device's count: the highest count it has accepted (or its last counter sync). */
  readonly lastCount: number;
  /** The counts the device has marked used (may hold negative numbers near the start). */
  readonly usedCounts?: readonly number[];
  /** Units per day agreed with the server; the decoded value is divided by it. Default 1. */
  readonly valueDivider?: number;
  /** The token is written with the digits 1–4 only. */
  readonly restrictedDigitSet?: boolean;
}

/** A token the device accepts. */
export interface AcceptedToken {
  readonly status: 'valid';
  readonly format: TokenFormatName;
  readonly type: TokenType;
  /** ADD_TIME / SET_TIME: the value divided by the value divider. DISABLE_PAYG / COUNTER_SYNC: null. */
  readonly value: number | null;
  /** The integer in the token's base (998 for disable, 999 for sync). */
  readonly rawValue: number;
  /** The count at which the token sits in the chain. */
  readonly count: number;
  /** The device's count after accepting: `count` if higher than before, or after a counter sync. */
  readonly lastCount: number;
  /** The device's used-count list after accepting, ascending. */
  readonly usedCounts: readonly number[];
}

/**
 * A token the device refuses: `invalid` when it is not in the chain within reach (wrong key, typo, too far
 * ahead), `already-used` when it is in the chain but its count may no longer be used.
 */
export interface RefusedToken {
  readonly status: 'invalid' | 'already-used';
}

export type DecodedToken = AcceptedToken | RefusedToken;

const DIGITS = /^[0-9]+$/;

/** The token's format from its length, as `decode_token` decides it. */
function formatOfToken(token: string, restricted: boolean): TokenFormat {
  if (!DIGITS.test(token)) throw new OpenPaygoError('token', 'expected digits only');
  const { standard, extended } = TOKEN_FORMATS;
  const length = (f: TokenFormat): number => (restricted ? f.restrictedDigits : f.digits);
  if (token.length <= length(standard)) return standard;
  if (token.length <= length(extended)) return extended;
  throw new OpenPaygoError('token', `too long: at most ${length(extended)} digits`);
}

/**
 * The type a chain match at `count` means: even counts are ADD_TIME; odd counts are DISABLE_PAYG for value
 * 998, COUNTER_SYNC for 999, SET_TIME otherwise. Extended tokens follow the same rule: the reference's
 * extended decoder reports every odd count as SET_TIME (its issue #24), but its own vectors expect
 * DISABLE_PAYG and COUNTER_SYNC, and Rasid follows the vectors.
 */
export function typeAtCount(count: number, rawValue: number): TokenType {
  if (count % 2 === 0) return 'add-time';
  if (rawValue === COUNTER_SYNC_VALUE) return 'counter-sync';
  if (rawValue === PAYG_DISABLE_VALUE) return 'disable-payg';
  return 'set-time';
}

/**
 * `_count_is_valid`: a COUNTER_SYNC token is good up to 64 counts back; any other token when its count is
 * above the last count; an ADD_TIME token also up to 16 counts back if its count was never used.
 * Rasid keys the rules on the type where the reference keys them on the value 999 / 998; the two agree for
 * every standard token, and for extended ADD_TIME tokens of 998 or 999 Rasid keeps the ADD_TIME rules.
 */
export function countIsValid(
  count: number,
  lastCount: number,
  type: TokenType,
  usedCounts: readonly number[],
): boolean {
  if (type === 'counter-sync') return count > lastCount - MAX_TOKEN_JUMP;
  if (count > lastCount) return true;
  return type === 'add-time' && count > lastCount - MAX_UNUSED_OLDER_TOKENS && !usedCounts.includes(count);
}

/**
 * `update_used_counts`: the used counts after accepting a token at `count`. The window is the 16 counts
 * below the highest count seen. SET_TIME, DISABLE_PAYG and COUNTER_SYNC mark the whole window used (no older
 * ADD_TIME may follow them); ADD_TIME marks only its own count.
 * The reference returns nothing when the list it is given is empty, so a device starting from an empty
 * list would never record a count; Rasid starts the window from the accepted count instead.
 */
export function updateUsedCounts(past: readonly number[], count: number, type: TokenType): number[] {
  const highest = past.reduce((max, c) => (c > max ? c : max), count);
  const bottom = highest - MAX_UNUSED_OLDER_TOKENS;
  const next: number[] = [];
  for (let c = bottom; c <= highest; c++) {
    if (type !== 'add-time' || c === count || past.includes(c)) next.push(c);
  }
  return next;
}

/** The device's count after accepting a token (the reference's device simulator rule). */
export function lastCountAfter(lastCount: number, count: number, type: TokenType): number {
  return count > lastCount || type === 'counter-sync' ? count : lastCount;
}

function checkCounts(lastCount: number, usedCounts: readonly number[]): void {
  if (!Number.isSafeInteger(lastCount)) throw new OpenPaygoError('lastCount', 'expected an integer');
  for (const c of usedCounts) {
    if (!Number.isSafeInteger(c)) throw new OpenPaygoError('usedCounts', `expected integers, got ${c}`);
  }
}

/** `decode_token`: whether the device accepts `token`, and if so its type, value, count and used counts. */
export function decodeToken(opts: DecodeTokenOptions): DecodedToken {
  const key = loadSecretKey(opts.key);
  const restricted = opts.restrictedDigitSet ?? false;
  const format = formatOfToken(opts.token, restricted);
  checkStartingCode(format, opts.startingCode);
  const usedCounts = opts.usedCounts ?? [];
  checkCounts(opts.lastCount, usedCounts);
  const divider = opts.valueDivider ?? 1;
  checkValueDivider(divider);

  const code = restricted ? fromRestrictedDigits(opts.token) : Number(opts.token);
  const base = tokenBase(format, code);
  // `_decode_base`: the value is the token's base minus the starting code's, modulo 1000 (10^6).
  const rawValue = (base - tokenBase(format, opts.startingCode) + format.baseModulus) % format.baseModulus;
  const jump = rawValue === COUNTER_SYNC_VALUE ? MAX_TOKEN_JUMP_COUNTER_SYNC : MAX_TOKEN_JUMP;
  const maxCountTry = opts.lastCount + jump + 1;

  let olderMatch = false;
  let current = putBase(format, opts.startingCode, base);
  for (let count = 0; count < maxCountTry; count++) {
    if (putBase(format, current, base) === code) {
      const type = typeAtCount(count, rawValue);
      if (countIsValid(count, opts.lastCount, type, usedCounts)) {
        return Object.freeze({
          status: 'valid',
          format: format.name,
          type,
          value: TOKEN_TYPES[type].carriesValue ? rawValue / divider : null,
          rawValue,
          count,
          lastCount: lastCountAfter(opts.lastCount, count, type),
          usedCounts: Object.freeze(updateUsedCounts(usedCounts, count, type)),
        });
      }
      olderMatch = true;
    }
    current = nextCode(format, current, key);
  }
  return Object.freeze({ status: olderMatch ? 'already-used' : 'invalid' });
}
