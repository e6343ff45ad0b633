/**
 * The tariff in force (docs/tariffs.md "Which version prices"): ONE rule, the SQL function
 * `rasid_tariff_in_force` created by migration 0018. The vend's one-statement context read
 * (`rasid_vend_context`) joins it, and the TypeScript side (the balance engine) calls it here, so the two can
 * never choose differently.
 *
 * The rule: among the utility's versions of the meter's kind that took effect at or before `at`, the
 * account's tariff code (any code when the account has none), or the subsidised variant of that code when the
 * account is subsidy-eligible; a subsidised version wins over the standard one, then the latest effective
 * date, then the highest version.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database, MeterKind, Tariff, UtilityId } from '../store/schema.ts';

export interface InForceQuery {
  readonly utilityId: UtilityId;
  readonly kind: MeterKind;
  /** The account's tariff code; null = any code of the kind. */
  readonly code: string | null;
  /** The account may be priced at a subsidised variant. */
  readonly eligible: boolean;
  readonly at: Date;
}

/** The version in force, or undefined when none has taken effect. */
export async function tariffInForce(
  db: Kysely<Database> | Transaction<Database>,
  q: InForceQuery,
): Promise<Tariff | undefined> {
  const { rows } = await sql<Tariff>`
    select * from rasid_tariff_in_force(${q.utilityId}, ${q.kind}, ${q.code}, ${q.eligible}, ${q.at})
  `.execute(db);
  return rows[0];
}
