/**
 * Reads of a utility's tariff versions as operators list them: every version by code, and the version of one
 * code that took effect last at an instant (the API's "current"; pricing uses the tariff-in-force rule of
 * in-force.ts, which also weighs the account's code and subsidy).
 */
import type { Queryable } from '../store/ledger.ts';
import type { MeterKind, Tariff, UtilityId } from '../store/schema.ts';

/** Which versions to list: one code, one kind, or all. */
export interface TariffFilter {
  readonly code?: string | undefined;
  readonly kind?: MeterKind | undefined;
}

/** The utility's tariff versions, by code then newest version first (500 at most). */
export async function listTariffVersions(
  db: Queryable,
  utilityId: UtilityId,
  filter: TariffFilter,
): Promise<Tariff[]> {
  let q = db.selectFrom('tariffs').selectAll().where('utility_id', '=', utilityId);
  if (filter.code) q = q.where('code', '=', filter.code);
  if (filter.kind) q = q.where('kind', '=', filter.kind);
  return q.orderBy('code').orderBy('version', 'desc').limit(500).execute();
}

/**
 * The version of a tariff code that took effect last at or before `at` (the highest version on the same
 * date), or undefined when none had.
 */
export async function tariffVersionAt(
  db: Queryable,
  utilityId: UtilityId,
  code: string,
  at: Date,
): Promise<Tariff | undefined> {
  return db
    .selectFrom('tariffs')
    .selectAll()
    .where('utility_id', '=', utilityId)
    .where('code', '=', code)
    .where('effective_from', '<=', at)
    .orderBy('effective_from', 'desc')
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
}
