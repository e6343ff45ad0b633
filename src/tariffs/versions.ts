/**
 * Writing a tariff version (docs/tariffs.md "Versions"): the one path into `tariffs`, used by the API and the
 * demo seed. The prices pass {@link validateTariffPrices} first; a version is never edited, a change is the
 * next version with its own effective date, and each version writes an audit row in the same transaction.
 */
import type { Kysely, Transaction } from 'kysely';
import { writeAudit } from '../accounts/audit.ts';
import {
  type Database,
  jsonText,
  type MeterKind,
  minorUnits,
  type Tariff,
  type UtilityId,
} from '../store/schema.ts';
import { validateTariffPrices } from './model.ts';

export interface NewVersion {
  readonly utilityId: UtilityId;
  readonly code: string;
  readonly name: string;
  readonly kind: MeterKind;
  readonly subsidised: boolean;
  readonly variantOf: string | null;
  readonly effectiveFrom: Date;
  readonly currency: string;
  readonly fixedMonthlyMinor: bigint;
  readonly taxRateBp: number;
  readonly debtRecoveryBp: number;
  readonly minPurchaseMinor: bigint;
  /** `{ pricePerUnits, blocks }` or `{ pricePerUnits, tou }`, as the API takes them. */
  readonly prices: unknown;
  /** Audit actor (`user:<id>`, `system:demo`). */
  readonly actor: string;
}

/** Why the next version cannot be written: the field at fault, for the API's problem+json. */
export class VersionError extends Error {
  override readonly name = 'VersionError';
  constructor(
    readonly code: 'kind_mismatch' | 'effective_before_latest',
    message: string,
  ) {
    super(message);
  }
}

/** Writes the next version of `code` (version 1 for a new code) in `trx`; returns the stored row. */
export async function createTariffVersion(
  trx: Transaction<Database> | Kysely<Database>,
  v: NewVersion,
): Promise<Tariff> {
  const prices = validateTariffPrices(v.prices);
  const latest = await trx
    .selectFrom('tariffs')
    .select(['version', 'kind', 'effective_from'])
    .where('utility_id', '=', v.utilityId)
    .where('code', '=', v.code)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (latest && latest.kind !== v.kind) {
    throw new VersionError('kind_mismatch', `kind: tariff ${v.code} is for ${latest.kind}`);
  }
  if (latest && v.effectiveFrom < latest.effective_from) {
    throw new VersionError(
      'effective_before_latest',
      `effectiveFrom: version ${latest.version} of ${v.code} takes effect ${latest.effective_from.toISOString()}; a new version cannot start before it`,
    );
  }
  const t = await trx
    .insertInto('tariffs')
    .values({
      utility_id: v.utilityId,
      code: v.code,
      name: v.name,
      kind: v.kind,
      subsidised: v.subsidised,
      variant_of: v.subsidised ? v.variantOf : null,
      version: (latest?.version ?? 0) + 1,
      effective_from: v.effectiveFrom,
      currency: v.currency,
      fixed_monthly_minor: minorUnits(v.fixedMonthlyMinor),
      tax_rate_bp: v.taxRateBp,
      debt_recovery_bp: v.debtRecoveryBp,
      min_purchase_minor: minorUnits(v.minPurchaseMinor),
      unit: v.kind === 'water' ? 'L' : 'Wh',
      price_per_units: prices.pricePerUnits,
      blocks: jsonText(prices.blocks),
      tou: prices.tou === null ? null : jsonText(prices.tou),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await writeAudit(trx, {
    utilityId: v.utilityId,
    actor: v.actor,
    action: 'tariff.create',
    subject: `tariff:${t.code}:${t.version}`,
    details: {
      id: t.id,
      code: t.code,
      version: t.version,
      effectiveFrom: t.effective_from.toISOString(),
      subsidised: t.subsidised,
      scheme: prices.tou === null ? 'blocks' : 'tou',
    },
  });
  return t;
}
