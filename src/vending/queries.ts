/**
 * Reads of a vendor's money as the vendor and the utility's operators see it: the float and credit limit,
 * and the reconciliation of sales, commission and float movements per kiosk per local day.
 */
import { sql } from 'kysely';
import { RasidError } from '../errors.ts';
import { type Queryable, vendorFloat } from '../store/ledger.ts';
import type { UtilityId, VendorId } from '../store/schema.ts';

/** A vendor's float (its ledger's sum) and credit limit. */
export interface VendorFloatView {
  readonly name: string;
  readonly utilityId: UtilityId;
  readonly floatMinor: bigint;
  readonly creditLimitMinor: bigint;
}

/** The float and credit limit of a vendor of the utility, or `not_found`. */
export async function vendorFloatView(
  db: Queryable,
  utilityId: UtilityId,
  vendorId: VendorId,
): Promise<VendorFloatView> {
  const vendor = await db
    .selectFrom('vendors')
    .select(['name', 'credit_limit_minor', 'utility_id'])
    .where('id', '=', vendorId)
    .where('utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!vendor) throw new RasidError('not_found', `vendor ${vendorId} is unknown`);
  const float = await vendorFloat(db, vendorId);
  return {
    name: vendor.name,
    utilityId: vendor.utility_id as UtilityId,
    floatMinor: float,
    creditLimitMinor: BigInt(vendor.credit_limit_minor),
  };
}

/** One kiosk's day in a vendor's reconciliation (sales are counted and summed as positive amounts). */
export interface ReconciliationRow {
  day: string;
  kiosk: string | null;
  sales: bigint;
  salesMinor: bigint;
  commissionMinor: bigint;
  topupsMinor: bigint;
  reversalsMinor: bigint;
  netFloatMinor: bigint;
}

/** Which vendor's reconciliation, over which local days (YYYY-MM-DD, both included) in which zone. */
export interface ReconciliationQuery {
  readonly utilityId: UtilityId;
  readonly vendorId: VendorId;
  readonly timezone: string;
  readonly from: string;
  readonly to: string;
}

/** A vendor's ledger per kiosk per local day, by day then kiosk. */
export async function vendorReconciliation(
  db: Queryable,
  q: ReconciliationQuery,
): Promise<ReconciliationRow[]> {
  const tz = q.timezone;
  return db
    .selectFrom('vendor_ledger')
    .leftJoin('kiosks', 'kiosks.id', 'vendor_ledger.kiosk_id')
    .select([
      sql<string>`to_char(vendor_ledger.created_at at time zone ${tz}, 'YYYY-MM-DD')`.as('day'),
      sql<string | null>`kiosks.name`.as('kiosk'),
      sql<bigint>`count(*) filter (where vendor_ledger.kind = 'vend')::bigint`.as('sales'),
      sql<bigint>`coalesce(-sum(vendor_ledger.amount_minor) filter (where vendor_ledger.kind = 'vend'), 0)::bigint`.as(
        'salesMinor',
      ),
      sql<bigint>`coalesce(sum(vendor_ledger.amount_minor) filter (where vendor_ledger.kind = 'commission'), 0)::bigint`.as(
        'commissionMinor',
      ),
      sql<bigint>`coalesce(sum(vendor_ledger.amount_minor) filter (where vendor_ledger.kind = 'float_topup'), 0)::bigint`.as(
        'topupsMinor',
      ),
      sql<bigint>`coalesce(sum(vendor_ledger.amount_minor) filter (where vendor_ledger.kind = 'reversal'), 0)::bigint`.as(
        'reversalsMinor',
      ),
      sql<bigint>`coalesce(sum(vendor_ledger.amount_minor), 0)::bigint`.as('netFloatMinor'),
    ])
    .where('vendor_ledger.vendor_id', '=', q.vendorId)
    .where('vendor_ledger.utility_id', '=', q.utilityId)
    .where(
      sql<boolean>`(vendor_ledger.created_at at time zone ${tz})::date between ${q.from}::date and ${q.to}::date`,
    )
    .groupBy([sql`1`, sql`2`])
    .orderBy(sql`1`)
    .orderBy(sql`2`)
    .execute();
}
