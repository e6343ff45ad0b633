/**
 * The token state an OpenPAYGO device keeps between entries: its count and its used-count list.
 *
 * Mirrors the token handling of the device simulator in EnAccess/OpenPAYGO-python (MIT),
 * test/simulators/device_simulator.py: a valid token moves the count forward (a counter sync may also move
 * it back) and replaces the used-count list; a refused token changes nothing. What the device does with the
 * value (PAYG time, the lock-out after wrong entries) belongs to the host, which reads the returned result.
 */
import { loadSecretKey, type SecretKey, type SecretKeyInput } from './chain.ts';
import { type DecodedToken, decodeToken } from './decode.ts';
import { OpenPaygoError } from './errors.ts';

export interface OpenPaygoDeviceOptions {
  readonly key: SecretKeyInput;
  readonly startingCode: number;
  /** The device's count; the reference's simulators start devices at 1. */
  readonly lastCount?: number;
  readonly usedCounts?: readonly number[];
  readonly restrictedDigitSet?: boolean;
  readonly valueDivider?: number;
}

/** What a device persists to remember its tokens. */
export interface OpenPaygoDeviceState {
  readonly lastCount: number;
  readonly usedCounts: readonly number[];
}

export class OpenPaygoDevice {
  readonly #key: SecretKey;
  readonly #startingCode: number;
  readonly #restrictedDigitSet: boolean;
  readonly #valueDivider: number;
  #lastCount: number;
  #usedCounts: readonly number[];

  constructor(opts: OpenPaygoDeviceOptions) {
    this.#key = loadSecretKey(opts.key);
    this.#startingCode = opts.startingCode;
    this.#restrictedDigitSet = opts.restrictedDigitSet ?? false;
    this.#valueDivider = opts.valueDivider ?? 1;
    this.#lastCount = opts.lastCount ?? 1;
    this.#usedCounts = Object.freeze([...(opts.usedCounts ?? [])]);
  }

  get lastCount(): number {
    return this.#lastCount;
  }

  get usedCounts(): readonly number[] {
    return this.#usedCounts;
  }

  state(): OpenPaygoDeviceState {
    return Object.freeze({ lastCount: this.#lastCount, usedCounts: this.#usedCounts });
  }

  /**
   * Enters `token` as typed on the keypad. A token that cannot be a token at all (too long, a digit the
   * keypad does not have) is `invalid`, as any other wrong entry.
   */
  enterToken(token: string): DecodedToken {
    let result: DecodedToken;
    try {
      result = decodeToken({
        token,
        key: this.#key,
        startingCode: this.#startingCode,
        lastCount: this.#lastCount,
        usedCounts: this.#usedCounts,
        restrictedDigitSet: this.#restrictedDigitSet,
        valueDivider: this.#valueDivider,
      });
    } catch (err) {
      if (err instanceof OpenPaygoError && err.field === 'token') return Object.freeze({ status: 'invalid' });
      throw err;
    }
    if (result.status === 'valid') {
      this.#lastCount = result.lastCount;
      this.#usedCounts = result.usedCounts;
    }
    return result;
  }
}
