/**
 * The meter side of STS: an acceptance model holding the decoder key, the TID memory, the key change state
 * and the registers, applying the rules of IEC 62055-41 as sts.md §2.10 describes them. The simulator and
 * tests drive it; it never logs, it returns (and optionally hands to `onResult`) one result per token.
 *
 * Rules, in the order they are checked:
 *   1. format, then decryption with the current key and the CRC (authentication / crc);
 *   2. function: class/subclass this meter does not implement;
 *   3. credit tokens: ddtk (a default key, KT 1, may not accept credit), key-expired (KEN rule, below);
 *   4. TID tokens: used (TID in memory), old (older than the oldest remembered TID);
 *   5. credit tokens: overflow of the credit register;
 *   6. key change sections: key-type (a key change may not install key type 0), then the new key is
 *      installed once both sections are held; rollover clears the TID memory.
 *
 * Unverified points, behind options: the KEN expiry rule (`kenRule`), whether "old" applies before the
 * memory is full (`oldRule`), and moving to the next base date on rollover (`rolloverAdvancesBaseDate`).
 */
import type { CreditTokenType, TokenTypeName } from './classes.ts';
import type { KeyType } from './dkga02.ts';
import { STS_REJECTION, type StsRejectionCode } from './errors.ts';
import { type DecoderKey, StsKey } from './key.ts';
import { type BaseDate, isBaseDate } from './tid.ts';
import {
  type DecodedKeyChange1,
  type DecodedKeyChange2,
  type DecodedToken,
  decodeToken,
  type EncryptionAlgorithm,
  keyFromSections,
} from './token.ts';

/** Minimum TID history the standard asks for. */
export const DEFAULT_TID_MEMORY = 50;
/** Largest credit register value (tenths) unless the meter is configured otherwise. */
export const DEFAULT_REGISTER_LIMIT = 0xffff_ffff;

/**
 * How the key expiry number (KEN) limits credit tokens. Unverified: 'top-bits' compares KEN with the top 8
 * bits of the TID (TID >> 16 > KEN expires); 'nectar' is NectarAPI's TID > KEN * 65535; 'off' never expires.
 * KEN 255 never expires under 'top-bits'.
 */
export type KenRule = 'top-bits' | 'nectar' | 'off';
/** When a TID older than the oldest remembered one is 'old': 'when-full' (default) or 'always'. */
export type OldRule = 'when-full' | 'always';

/** What a meter holds when it starts. */
export interface MeterConfig {
  readonly key: DecoderKey;
  readonly keyType: KeyType;
  readonly keyRevision: number;
  readonly tariffIndex: number;
  /** Key expiry number, 0..255. */
  readonly keyExpiry: number;
  readonly algorithm?: EncryptionAlgorithm;
  readonly baseDate?: BaseDate;
}

export interface MeterOptions {
  /** Number of TIDs remembered (the standard asks for at least 50). */
  readonly tidMemorySize?: number;
  readonly kenRule?: KenRule;
  readonly oldRule?: OldRule;
  /** Largest value of each credit register, in tenths. */
  readonly registerLimit?: number;
  /** On a rollover key change, move to the next base date (1993 -> 2014 -> 2035). Default true. */
  readonly rolloverAdvancesBaseDate?: boolean;
  /** Called with every result, after the state has changed. */
  readonly onResult?: (result: AcceptResult) => void;
}

/** What an accepted token did. */
export type MeterEffect =
  | {
      readonly kind: 'credit';
      readonly type: CreditTokenType;
      readonly amount: number;
      readonly register: number;
    }
  | { readonly kind: 'test'; readonly control: bigint; readonly manufacturer: number }
  | { readonly kind: 'max-power-limit'; readonly watts: number }
  | { readonly kind: 'max-phase-unbalance'; readonly watts: number }
  | { readonly kind: 'clear-credit'; readonly registers: readonly CreditTokenType[] }
  | { readonly kind: 'tariff-rate'; readonly rate: number }
  | { readonly kind: 'clear-tamper' }
  | { readonly kind: 'water-factor'; readonly factor: number }
  | { readonly kind: 'key-section'; readonly section: 1 | 2 }
  | {
      readonly kind: 'key-changed';
      readonly keyRevision: number;
      readonly keyType: KeyType;
      readonly tariffIndex: number;
      readonly keyExpiry: number;
      readonly rollover: boolean;
    };

export type AcceptResult =
  | { readonly accepted: true; readonly token: DecodedToken; readonly effect: MeterEffect }
  | {
      readonly accepted: false;
      readonly code: StsRejectionCode;
      readonly message: string;
      readonly token?: DecodedToken;
    };

/** A plain, serialisable picture of the meter. */
export interface MeterSnapshot {
  readonly decoderKey: string;
  readonly keyType: KeyType;
  readonly keyRevision: number;
  readonly tariffIndex: number;
  readonly keyExpiry: number;
  readonly algorithm: EncryptionAlgorithm;
  readonly baseDate: BaseDate;
  /** Remembered TIDs, ascending. */
  readonly tidMemory: readonly number[];
  readonly pendingKeySections: readonly (1 | 2)[];
  readonly credit: Readonly<Partial<Record<CreditTokenType, number>>>;
  readonly maxPowerLimitW: number | null;
  readonly maxPhaseUnbalanceW: number | null;
  readonly tariffRate: number | null;
  readonly waterFactor: number | null;
  readonly tamper: boolean;
}

const CREDIT_BY_SUBCLASS = new Map<number, CreditTokenType>(
  (
    [
      'electricity-credit',
      'water-credit',
      'gas-credit',
      'time-credit',
      'electricity-currency-credit',
      'water-currency-credit',
      'gas-currency-credit',
      'time-currency-credit',
    ] as const
  ).map((t, i) => [i, t]),
);
const CREDIT_TYPES: readonly CreditTokenType[] = Object.freeze([...CREDIT_BY_SUBCLASS.values()]);
const NEXT_BASE: Readonly<Record<BaseDate, BaseDate>> = Object.freeze({ 1993: 2014, 2014: 2035, 2035: 2035 });

export class StsMeter {
  private key: DecoderKey;
  private keyType: KeyType;
  private keyRevision: number;
  private tariffIndex: number;
  private keyExpiry: number;
  private readonly algorithm: EncryptionAlgorithm;
  private baseDate: BaseDate;
  private readonly tids: number[] = [];
  private pending1: DecodedKeyChange1 | undefined;
  private pending2: DecodedKeyChange2 | undefined;
  private readonly credit = new Map<CreditTokenType, number>();
  private maxPowerLimitW: number | null = null;
  private maxPhaseUnbalanceW: number | null = null;
  private tariffRate: number | null = null;
  private waterFactor: number | null = null;
  private tamper = false;
  private readonly memorySize: number;
  private readonly kenRule: KenRule;
  private readonly oldRule: OldRule;
  private readonly registerLimit: number;
  private readonly advanceBase: boolean;
  private readonly onResult: ((result: AcceptResult) => void) | undefined;

  constructor(config: MeterConfig, options: MeterOptions = {}) {
    this.key = config.key;
    this.keyType = config.keyType;
    this.keyRevision = config.keyRevision;
    this.tariffIndex = config.tariffIndex;
    this.keyExpiry = config.keyExpiry;
    this.algorithm = config.algorithm ?? 'EA07';
    const base = config.baseDate ?? 2014;
    if (!isBaseDate(base)) throw new RangeError(`baseDate: expected 1993, 2014 or 2035, got ${String(base)}`);
    this.baseDate = base;
    this.memorySize = options.tidMemorySize ?? DEFAULT_TID_MEMORY;
    if (!Number.isInteger(this.memorySize) || this.memorySize < 1) {
      throw new RangeError(`tidMemorySize: expected a positive integer, got ${this.memorySize}`);
    }
    this.kenRule = options.kenRule ?? 'top-bits';
    this.oldRule = options.oldRule ?? 'when-full';
    this.registerLimit = options.registerLimit ?? DEFAULT_REGISTER_LIMIT;
    this.advanceBase = options.rolloverAdvancesBaseDate ?? true;
    this.onResult = options.onResult;
  }

  /** The decoder key the meter holds now. */
  get decoderKey(): DecoderKey {
    return this.key;
  }

  /** Enters one token, as typed on the keypad. */
  enter(input: string): AcceptResult {
    const result = this.evaluate(input);
    this.onResult?.(result);
    return result;
  }

  private evaluate(input: string): AcceptResult {
    const decoded = decodeToken(input, { key: this.key, algorithm: this.algorithm, baseDate: this.baseDate });
    if (!decoded.ok) return { accepted: false, code: decoded.code, message: decoded.message };
    const token = decoded.token;
    const refuse = (code: StsRejectionCode, message: string): AcceptResult => ({
      accepted: false,
      code,
      message,
      token,
    });
    const accept = (effect: MeterEffect): AcceptResult => ({ accepted: true, token, effect });

    switch (token.layout) {
      case 'test-36':
      case 'test-28':
        // IEC 62055-41 class 1 (sts.md §2.9): no TID, any meter executes it.
        return accept({ kind: 'test', control: token.control, manufacturer: token.manufacturer });
      case 'key-change-1':
        // Rasid rule: a key change may not install an initialization key (KT 0).
        if (token.keyType === 0)
          return refuse(STS_REJECTION.keyType, 'a key change may not install key type 0');
        this.pending1 = token;
        return this.maybeInstallKey(accept, 1);
      case 'key-change-2':
        this.pending2 = token;
        return this.maybeInstallKey(accept, 2);
      case 'register':
        break;
    }

    const tid = token.tid;
    const credit = token.tokenClass === 0 ? CREDIT_BY_SUBCLASS.get(token.subclass) : undefined;
    if (credit) {
      // IEC 62055-41 (sts.md §2.10): a default key (DDTK, key type 1) may not accept credit.
      if (this.keyType === 1)
        return refuse(STS_REJECTION.ddtk, 'the meter holds a default key, which may not accept credit');
      if (this.isExpired(tid))
        return refuse(STS_REJECTION.keyExpired, `TID ${tid} is beyond key expiry number ${this.keyExpiry}`);
    }
    // IEC 62055-41 TID memory (sts.md §2.10): reject a TID already stored, or older than the oldest stored.
    const at = lowerBound(this.tids, tid);
    if (this.tids[at] === tid) return refuse(STS_REJECTION.used, `TID ${tid} was already used`);
    const full = this.tids.length >= this.memorySize;
    if (at === 0 && this.tids.length > 0 && (full || this.oldRule === 'always')) {
      return refuse(STS_REJECTION.old, `TID ${tid} is older than the oldest remembered TID ${this.tids[0]}`);
    }

    let effect: MeterEffect;
    if (credit) {
      const before = this.credit.get(credit) ?? 0;
      const after = before + token.value;
      if (after > this.registerLimit) {
        return refuse(
          STS_REJECTION.overflow,
          `credit register would overflow (${before} + ${token.value} > ${this.registerLimit})`,
        );
      }
      this.credit.set(credit, after);
      effect = { kind: 'credit', type: credit, amount: token.value, register: after };
    } else {
      const applied = this.applyManagement(token.type, token.value);
      if ('code' in applied) return refuse(applied.code, applied.message);
      effect = applied;
    }
    this.remember(tid, at);
    return accept(effect);
  }

  private applyManagement(
    type: TokenTypeName,
    value: number,
  ): MeterEffect | { code: StsRejectionCode; message: string } {
    switch (type) {
      case 'max-power-limit':
        this.maxPowerLimitW = value;
        return { kind: 'max-power-limit', watts: value };
      case 'max-phase-unbalance':
        this.maxPhaseUnbalanceW = value;
        return { kind: 'max-phase-unbalance', watts: value };
      case 'tariff-rate':
        this.tariffRate = value;
        return { kind: 'tariff-rate', rate: value };
      case 'water-factor':
        this.waterFactor = value;
        return { kind: 'water-factor', factor: value };
      case 'clear-tamper':
        this.tamper = false;
        return { kind: 'clear-tamper' };
      case 'clear-credit': {
        // Register FFFF clears every register; otherwise the register of that class 0 subclass.
        if (value === 0xffff) {
          this.credit.clear();
          return { kind: 'clear-credit', registers: CREDIT_TYPES };
        }
        const target = CREDIT_BY_SUBCLASS.get(value);
        if (!target) return { code: STS_REJECTION.range, message: `no credit register ${value}` };
        this.credit.delete(target);
        return { kind: 'clear-credit', registers: [target] };
      }
      default:
        return { code: STS_REJECTION.function, message: `${type} is not a management register token` };
    }
  }

  private isExpired(tid: number): boolean {
    if (this.kenRule === 'off') return false;
    if (this.kenRule === 'nectar') return tid > this.keyExpiry * 65535;
    return tid >>> 16 > this.keyExpiry;
  }

  private remember(tid: number, at: number): void {
    this.tids.splice(at, 0, tid);
    if (this.tids.length > this.memorySize) this.tids.shift();
  }

  private maybeInstallKey(accept: (effect: MeterEffect) => AcceptResult, section: 1 | 2): AcceptResult {
    const first = this.pending1;
    const second = this.pending2;
    // IEC 62055-41 (sts.md §2.9): the meter switches key only once it holds both sections.
    if (!first || !second) return accept({ kind: 'key-section', section });
    this.key = keyFromSections(first, second);
    this.keyType = first.keyType;
    this.keyRevision = first.keyRevision;
    this.tariffIndex = second.tariffIndex;
    this.keyExpiry = (first.kenHigh << 4) | second.kenLow;
    this.pending1 = undefined;
    this.pending2 = undefined;
    if (first.rollover) {
      // Rollover: clear the TID memory (TIDs from a new base date restart low).
      this.tids.length = 0;
      if (this.advanceBase) this.baseDate = NEXT_BASE[this.baseDate];
    }
    return accept({
      kind: 'key-changed',
      keyRevision: this.keyRevision,
      keyType: this.keyType,
      tariffIndex: this.tariffIndex,
      keyExpiry: this.keyExpiry,
      rollover: first.rollover,
    });
  }

  /** Marks a tamper condition (the meter's own sensors; cleared by a clear-tamper token). */
  setTamper(): void {
    this.tamper = true;
  }

  /** Uses up credit (tenths) from a register; returns what was actually taken. */
  consume(type: CreditTokenType, amount: number): number {
    const have = this.credit.get(type) ?? 0;
    const taken = Math.min(have, Math.max(0, amount));
    this.credit.set(type, have - taken);
    return taken;
  }

  snapshot(): MeterSnapshot {
    return {
      decoderKey: this.key.toHex(),
      keyType: this.keyType,
      keyRevision: this.keyRevision,
      tariffIndex: this.tariffIndex,
      keyExpiry: this.keyExpiry,
      algorithm: this.algorithm,
      baseDate: this.baseDate,
      tidMemory: [...this.tids],
      pendingKeySections: [...(this.pending1 ? [1 as const] : []), ...(this.pending2 ? [2 as const] : [])],
      credit: Object.fromEntries(this.credit),
      maxPowerLimitW: this.maxPowerLimitW,
      maxPhaseUnbalanceW: this.maxPhaseUnbalanceW,
      tariffRate: this.tariffRate,
      waterFactor: this.waterFactor,
      tamper: this.tamper,
    };
  }

  /** Rebuilds a meter from a snapshot (pending key sections are not carried over). */
  static fromSnapshot(s: MeterSnapshot, options: MeterOptions = {}): StsMeter {
    const m = new StsMeter(
      {
        key: StsKey.fromHex(s.decoderKey, 'decoderKey'),
        keyType: s.keyType,
        keyRevision: s.keyRevision,
        tariffIndex: s.tariffIndex,
        keyExpiry: s.keyExpiry,
        algorithm: s.algorithm,
        baseDate: s.baseDate,
      },
      options,
    );
    m.tids.push(...[...s.tidMemory].sort((a, b) => a - b).slice(-m.memorySize));
    for (const [t, v] of Object.entries(s.credit)) if (v !== undefined) m.credit.set(t as CreditTokenType, v);
    m.maxPowerLimitW = s.maxPowerLimitW;
    m.maxPhaseUnbalanceW = s.maxPhaseUnbalanceW;
    m.tariffRate = s.tariffRate;
    m.waterFactor = s.waterFactor;
    m.tamper = s.tamper;
    return m;
  }
}

function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
