/** The reads of vendors (shops and agents selling credit against a float) and their kiosks. */
import { type Queryable, vendorFloat } from '../store/ledger.ts';
import type { KioskId, MinorUnits, UtilityId, VendorId } from '../store/schema.ts';

export interface VendorView {
  readonly id: VendorId;
  readonly name: string;
  readonly active: boolean;
  readonly creditLimitMinor: MinorUnits;
  readonly commissionBp: number;
  /** Derived from the vendor ledger (src/store/ledger.ts). */
  readonly floatMinor: MinorUnits;
  readonly createdAt: Date;
}

/** A utility's vendors by name, each with its float. */
export async function listVendors(db: Queryable, utilityId: UtilityId): Promise<VendorView[]> {
  const rows = await db
    .selectFrom('vendors')
    .select(['id', 'name', 'active', 'credit_limit_minor', 'commission_bp', 'created_at'])
    .where('utility_id', '=', utilityId)
    .orderBy('name')
    .execute();
  const vendors: VendorView[] = [];
  for (const v of rows) {
    vendors.push({
      id: v.id,
      name: v.name,
      active: v.active,
      creditLimitMinor: v.credit_limit_minor,
      commissionBp: v.commission_bp,
      floatMinor: await vendorFloat(db, v.id),
      createdAt: v.created_at,
    });
  }
  return vendors;
}

export interface KioskRow {
  id: KioskId;
  vendor_id: VendorId;
  name: string;
  active: boolean;
  created_at: Date;
}

export const kioskColumns = ['id', 'vendor_id', 'name', 'active', 'created_at'] as const;

/** A vendor's kiosks by name (their API keys are never shown again). */
export async function listKiosks(db: Queryable, utilityId: UtilityId, vendorId: string): Promise<KioskRow[]> {
  return db
    .selectFrom('kiosks')
    .select(kioskColumns)
    .where('vendor_id', '=', vendorId as VendorId)
    .where('utility_id', '=', utilityId)
    .orderBy('name')
    .execute();
}
