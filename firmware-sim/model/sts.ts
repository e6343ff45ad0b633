/**
 * The STS parameters of a simulated meter: its decoder key given outright, or derived with DKGA02 from a
 * vending key and the meter's PAN, supply group, tariff index, key revision and key type, so that Rasid's
 * vending (or `rasid token sts`) can make tokens the simulator accepts.
 */
import {
  type DecoderKey,
  deriveDecoderKey,
  type EncryptionAlgorithm,
  type KeyType,
  type MeterPan,
  meterPanFromParts,
  StsKey,
} from '../../protocols/sts/index.ts';
import type { StsParameters } from './meter.ts';

/**
 * The public test vending key of Rasid's examples (docs/sts.md). Simulated meters use it unless told
 * otherwise; it protects nothing and must never be used for real meters.
 */
export const DEMO_VENDING_KEY = 'abababababababab';

export interface StsSetup {
  /** 16 hex digits; when given, the vending key and the PAN are not used. */
  readonly decoderKey?: string;
  readonly vendingKey?: string;
  /** Issuer identification number, 4 or 6 digits (default 600727). */
  readonly iin?: string;
  /** Decoder reference number (IAIN), 11 digits for a 6-digit IIN. */
  readonly drn: string;
  readonly supplyGroupCode?: string;
  readonly tariffIndex?: number;
  readonly keyRevision?: number;
  readonly keyType?: KeyType;
  readonly keyExpiry?: number;
  readonly algorithm?: EncryptionAlgorithm;
  readonly baseDate?: 1993 | 2014 | 2035;
}

/** The meter's PAN and the STS parameters its model starts with. Throws `StsError` naming a bad field. */
export function stsParametersFor(setup: StsSetup): { pan: MeterPan; params: StsParameters } {
  const pan = meterPanFromParts(setup.iin ?? '600727', setup.drn);
  const keyType = setup.keyType ?? 2;
  const tariffIndex = setup.tariffIndex ?? 1;
  const keyRevision = setup.keyRevision ?? 1;
  const decoderKey: DecoderKey =
    setup.decoderKey !== undefined
      ? StsKey.fromHex(setup.decoderKey.toLowerCase(), 'decoderKey')
      : deriveDecoderKey(StsKey.fromHex((setup.vendingKey ?? DEMO_VENDING_KEY).toLowerCase(), 'vendingKey'), {
          pan,
          keyType,
          supplyGroupCode: setup.supplyGroupCode ?? '123456',
          tariffIndex,
          keyRevision,
        });
  return {
    pan,
    params: {
      decoderKey,
      keyType,
      keyRevision,
      tariffIndex,
      // 255: the key never expires under the default KEN rule.
      keyExpiry: setup.keyExpiry ?? 255,
      ...(setup.algorithm ? { algorithm: setup.algorithm } : {}),
      ...(setup.baseDate ? { baseDate: setup.baseDate } : {}),
    },
  };
}
