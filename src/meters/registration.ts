/**
 * Registering a meter, shared by `POST /api/v1/meters` and the bulk import (src/import/): the STS parameters
 * a meter is registered with, the `meters` columns they fill, and the link to the vending key of its supply
 * group and key revision. The parameters are not secret (they are printed on the meter and its tokens); the
 * key itself stays in the key store, sealed under the master key, and a meter only points at it.
 */
import { z } from 'zod';
import type { Queryable } from '../store/ledger.ts';
import type { UtilityId, VendingKeyId } from '../store/schema.ts';

/** STS parameters of a prepaid meter (IEC 62055-41). */
export const StsParams = z.object({
  iin: z.string().regex(/^[0-9]{6}$/, 'issuer identification number: 6 digits'),
  drn: z.string().regex(/^([0-9]{11}|[0-9]{13})$/, 'decoder reference number: 11 or 13 digits'),
  sgc: z.number().int().min(0).max(999_999).describe('supply group code'),
  ti: z.number().int().min(0).max(99).describe('tariff index'),
  krn: z.number().int().min(1).max(9).describe('key revision number'),
  kt: z.number().int().min(0).max(3).describe('key type'),
  ea: z.number().int().min(0).max(99).describe('encryption algorithm (7 = STA, 11 = MISTY1)'),
  baseDate: z.enum(['1993-01-01', '2014-01-01', '2035-01-01']),
  ken: z.number().int().min(0).max(255).default(255).describe('key expiry number'),
});

export type StsParameters = z.infer<typeof StsParams>;

/** The `meters` columns of a meter's STS parameters (all null for a meter without them). */
export function stsColumns(sts: StsParameters | undefined | null) {
  return {
    sts_iin: sts?.iin ?? null,
    sts_drn: sts?.drn ?? null,
    sts_sgc: sts?.sgc ?? null,
    sts_ti: sts?.ti ?? null,
    sts_krn: sts?.krn ?? null,
    sts_kt: sts?.kt ?? null,
    sts_ea: sts?.ea ?? null,
    sts_base_date: sts?.baseDate ?? null,
    sts_ken: sts?.ken ?? null,
  };
}

/**
 * The vending keys a utility holds, by supply group and key revision: a meter registered with these STS
 * parameters is linked to that key (a key uploaded later links the meters registered before it).
 */
export async function vendingKeyIndex(
  db: Queryable,
  utilityId: UtilityId,
  only?: { sgc: number; krn: number },
): Promise<(sts: StsParameters | undefined | null) => VendingKeyId | null> {
  let q = db.selectFrom('vending_keys').select(['id', 'sgc', 'krn']).where('utility_id', '=', utilityId);
  if (only) q = q.where('sgc', '=', only.sgc).where('krn', '=', only.krn);
  const keys = new Map((await q.execute()).map((k) => [`${k.sgc}/${k.krn}`, k.id]));
  return (sts) => (sts ? (keys.get(`${sts.sgc}/${sts.krn}`) ?? null) : null);
}
