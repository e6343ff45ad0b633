/**
 * The token engine: a meter's STS parameters and its vending key (from the key store) give its decoder key
 * (DKGA02), which issues credit and management tokens. Decoder keys are cached in memory per meter and key
 * revision so a vend costs one cipher operation; vending keys are read from the key store, used and dropped.
 * Nothing here logs or returns key material.
 */
import {
  type BaseDate,
  CREDIT_TYPE_BY_UTILITY,
  type DecoderKey,
  decodeAmount,
  deriveDecoderKey,
  type EncryptionAlgorithm,
  encodeAmount,
  encodeKeyChange,
  encodeToken,
  isBaseDate,
  type KeyType,
  meterPanFromParts,
  type RegisterTokenType,
  StsError,
  StsKey,
  type StsToken,
  tidFromDate,
} from '../../protocols/sts/index.ts';
import type { KeyStore } from '../store/keystore.ts';
import type { Meter, VendingKeyId } from '../store/schema.ts';

/** The STS side of a meter row, checked. */
export interface StsMeterParams {
  readonly meterId: string;
  readonly iin: string;
  readonly drn: string;
  readonly sgc: number;
  readonly ti: number;
  readonly krn: number;
  readonly kt: KeyType;
  readonly ea: EncryptionAlgorithm;
  readonly baseDate: BaseDate;
  readonly ken: number;
  readonly vendingKeyId: VendingKeyId;
  readonly kind: 'electricity' | 'water';
}

export class TokenEngineError extends Error {
  override readonly name = 'TokenEngineError';
}

/** True for what the token engine and the STS encoders refuse about a meter or an amount (not a fault). */
export function isTokenRefusal(err: unknown): err is TokenEngineError | StsError {
  return err instanceof TokenEngineError || err instanceof StsError;
}

/** The meter columns that hold its STS parameters. */
export type StsColumns =
  | 'sts_iin'
  | 'sts_drn'
  | 'sts_sgc'
  | 'sts_ti'
  | 'sts_krn'
  | 'sts_kt'
  | 'sts_ea'
  | 'sts_base_date'
  | 'sts_ken'
  | 'vending_key_id';

/** Reads a meter row's STS parameters; throws TokenEngineError naming what is missing. */
export function stsParamsOf(meter: Pick<Meter, 'id' | 'serial' | 'kind' | StsColumns>): StsMeterParams {
  const missing = (
    [
      ['sts_iin', meter.sts_iin],
      ['sts_drn', meter.sts_drn],
      ['sts_sgc', meter.sts_sgc],
      ['sts_ti', meter.sts_ti],
      ['sts_krn', meter.sts_krn],
      ['sts_kt', meter.sts_kt],
      ['sts_ea', meter.sts_ea],
      ['sts_base_date', meter.sts_base_date],
      ['vending_key_id', meter.vending_key_id],
    ] as const
  )
    .filter(([, v]) => v === null || v === undefined)
    .map(([k]) => k);
  if (missing.length > 0) throw new TokenEngineError(`meter ${meter.serial} lacks ${missing.join(', ')}`);
  const year = Number(String(meter.sts_base_date).slice(0, 4));
  if (!isBaseDate(year))
    throw new TokenEngineError(`meter ${meter.serial}: unknown STS base date ${meter.sts_base_date}`);
  const ea = meter.sts_ea === 7 ? 'EA07' : meter.sts_ea === 9 ? 'EA09' : null;
  if (!ea)
    throw new TokenEngineError(
      `meter ${meter.serial}: encryption algorithm ${meter.sts_ea} is not supported`,
    );
  return {
    meterId: meter.id,
    iin: meter.sts_iin!,
    drn: meter.sts_drn!,
    sgc: meter.sts_sgc!,
    ti: meter.sts_ti!,
    krn: meter.sts_krn!,
    kt: meter.sts_kt! as KeyType,
    ea,
    baseDate: year,
    ken: meter.sts_ken ?? 255,
    vendingKeyId: meter.vending_key_id!,
    kind: meter.kind,
  };
}

/** The largest amount of tenths an STS credit token can carry that is not above `tenths` (§2.4 steps). */
export function creditableTenths(tenths: bigint): bigint {
  if (tenths <= 0n) return 0n;
  const capped = tenths > 18_201_624n ? 18_201_624 : Number(tenths);
  return BigInt(decodeAmount(encodeAmount(capped, 'down')));
}

export interface IssuedToken {
  readonly token: StsToken;
  readonly tid: number;
  /** The value the meter reads back (tenths for credit). */
  readonly value?: number;
}

export interface TokenEngineOptions {
  readonly keys: KeyStore;
  /** 0..15; injectable for tests. */
  readonly random?: () => number;
  /** Decoder keys kept in memory (LRU by insertion). */
  readonly cacheSize?: number;
}

export class TokenEngine {
  private readonly cache = new Map<string, DecoderKey>();
  private readonly random: () => number;
  private readonly cacheSize: number;

  constructor(private readonly opts: TokenEngineOptions) {
    this.random = opts.random ?? (() => Math.floor(Math.random() * 16));
    this.cacheSize = opts.cacheSize ?? 50_000;
  }

  private cacheKey(p: StsMeterParams): string {
    return `${p.vendingKeyId}|${p.iin}${p.drn}|${p.kt}|${p.sgc}|${p.ti}|${p.krn}`;
  }

  /** The decoder key if it is already cached (no I/O: safe inside a database transaction). */
  cached(p: StsMeterParams): DecoderKey | undefined {
    return this.cache.get(this.cacheKey(p));
  }

  /** The meter's current decoder key (DKGA02 over its vending key), cached. */
  async decoderKey(p: StsMeterParams): Promise<DecoderKey> {
    const k = this.cacheKey(p);
    const hit = this.cache.get(k);
    if (hit) return hit;
    const vk = await this.opts.keys.get(p.vendingKeyId);
    if (!vk) throw new TokenEngineError(`vending key of meter ${p.meterId} is missing from the key store`);
    const vendingKey = StsKey.fromBytes(vk.key.reveal(), 'vendingKey');
    const dk = deriveDecoderKey(vendingKey, {
      pan: meterPanFromParts(p.iin, p.drn),
      keyType: p.kt,
      supplyGroupCode: String(p.sgc).padStart(6, '0'),
      tariffIndex: p.ti,
      keyRevision: p.krn,
    });
    if (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(k, dk);
    return dk;
  }

  /** The TID for a token issued at `at`, never at or below `lastTid` (IEC 62055-41 §2.10: TIDs unique). */
  static nextTid(p: StsMeterParams, at: Date, lastTid: number | null): number {
    const tid = tidFromDate(at, p.baseDate);
    return lastTid !== null && tid <= lastTid ? lastTid + 1 : tid;
  }

  /** A credit token with an already-derived decoder key (no I/O). */
  credit(p: StsMeterParams, key: DecoderKey, tid: number, tenths: bigint): IssuedToken {
    const type = CREDIT_TYPE_BY_UTILITY[p.kind] as RegisterTokenType;
    const encoded = encodeToken(
      { type, rnd: this.random() & 15, tid, value: Number(tenths), rounding: 'down' },
      { key, algorithm: p.ea },
    );
    if (encoded.value !== Number(tenths)) {
      throw new TokenEngineError(`amount ${tenths} tenths is not carried exactly by an STS token`);
    }
    return { token: encoded.token, tid, value: encoded.value };
  }

  /** A class 2 register token (max power, clear credit, clear tamper, tariff rate, phase unbalance, water factor). */
  managementWith(
    p: StsMeterParams,
    key: DecoderKey,
    type: RegisterTokenType,
    tid: number,
    value: number,
  ): IssuedToken {
    const encoded = encodeToken({ type, rnd: this.random() & 15, tid, value }, { key, algorithm: p.ea });
    return { token: encoded.token, tid, ...(encoded.value !== undefined ? { value: encoded.value } : {}) };
  }

  /** The key change pair moving the meter to `next` (both under the current key). */
  async keyChange(
    current: StsMeterParams,
    next: StsMeterParams,
    rollover: boolean,
  ): Promise<[StsToken, StsToken]> {
    const oldKey = await this.decoderKey(current);
    const newKey = await this.decoderKey(next);
    const [a, b] = encodeKeyChange(
      {
        newKey,
        keyExpiry: next.ken,
        keyRevision: next.krn,
        keyType: next.kt,
        tariffIndex: next.ti,
        rollover,
      },
      oldKey,
      current.ea,
    );
    return [a.token, b.token];
  }
}
