/**
 * Vendors and kiosks, one transaction per use case with its audit row: creating a vendor, topping up its
 * float (a `float_topup` entry in the append-only vendor ledger, idempotent on a key), creating a kiosk (its
 * API key is returned once; only its SHA-256 is stored) and disabling one, which shuts its key out at once.
 */
import type { Kysely } from 'kysely';
import type { Actor } from '../accounts/accounts.ts';
import { writeAudit } from '../accounts/audit.ts';
import { RasidError } from '../errors.ts';
import { formatMoney } from '../money.ts';
import { newSecret, secretDigest } from '../security/secrets.ts';
import { vendorFloat } from '../store/ledger.ts';
import { type Database, type KioskId, minorUnits, type UtilityId, type VendorId } from '../store/schema.ts';
import type { VendingService } from '../vending/service.ts';
import { type KioskRow, kioskColumns, type VendorView } from './queries.ts';

export interface NewVendor {
  readonly name: string;
  readonly creditLimitMinor: bigint;
  readonly commissionBp: number;
}

/** Creates a vendor (its float starts at zero), audited as `vendor.create`. */
export async function createVendor(
  db: Kysely<Database>,
  utilityId: UtilityId,
  req: NewVendor,
  by: Actor,
): Promise<VendorView> {
  const v = await db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('vendors')
      .values({
        utility_id: utilityId,
        name: req.name,
        credit_limit_minor: minorUnits(req.creditLimitMinor),
        commission_bp: req.commissionBp,
      })
      .returning(['id', 'name', 'active', 'credit_limit_minor', 'commission_bp', 'created_at'])
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      utilityId,
      actor: by.actor,
      action: 'vendor.create',
      subject: `vendor:${row.id}`,
      details: {
        name: row.name,
        creditLimitMinor: row.credit_limit_minor.toString(),
        commissionBp: row.commission_bp,
      },
    });
    return row;
  });
  return {
    id: v.id,
    name: v.name,
    active: v.active,
    creditLimitMinor: v.credit_limit_minor,
    commissionBp: v.commission_bp,
    floatMinor: minorUnits(0n),
    createdAt: v.created_at,
  };
}

export interface FloatTopUp {
  readonly vendorId: string;
  readonly amountMinor: bigint;
  /** The caller's idempotency key: a retry with the same key and amount answers the first entry. */
  readonly idempotencyKey: string;
  readonly note?: string | undefined;
}

export interface FloatTopUpResult {
  readonly entryId: string;
  /** True when the key was seen before and nothing new was written. */
  readonly replayed: boolean;
  readonly amountMinor: string;
  /** The float after it, in minor units and formatted with the currency exponent. */
  readonly floatMinor: string;
  readonly float: string;
}

/**
 * Adds to a vendor's float: one `float_topup` ledger entry with its audit row, under the vendor's row lock
 * (which serialises top-ups of one vendor, so a retried key is seen). The same key with another amount is
 * `idempotency_key_reused`; an unknown vendor `not_found`.
 */
export async function topUpFloat(
  db: Kysely<Database>,
  vending: Pick<VendingService, 'utility'>,
  utilityId: UtilityId,
  req: FloatTopUp,
  by: Actor,
): Promise<FloatTopUpResult> {
  const vendorId = req.vendorId as VendorId;
  const amount = req.amountMinor;
  const key = req.idempotencyKey;
  const ref = `topup:${key}`;
  const utility = await vending.utility(utilityId);
  const out = await db.transaction().execute(async (trx) => {
    const vendor = await trx
      .selectFrom('vendors')
      .select('id')
      .where('id', '=', vendorId)
      .where('utility_id', '=', utilityId)
      .forUpdate()
      .executeTakeFirst();
    if (!vendor) throw new RasidError('not_found', `vendor ${vendorId} is unknown`);
    const seen = await trx
      .selectFrom('vendor_ledger')
      .select(['id', 'amount_minor'])
      .where('vendor_id', '=', vendorId)
      .where('kind', '=', 'float_topup')
      .where('ref', '=', ref)
      .executeTakeFirst();
    if (seen) {
      if (BigInt(seen.amount_minor) !== amount) throw new RasidError('idempotency_key_reused');
      return { entryId: String(seen.id), replayed: true };
    }
    const entry = await trx
      .insertInto('vendor_ledger')
      .values({
        utility_id: utilityId,
        vendor_id: vendorId,
        kind: 'float_topup',
        amount_minor: minorUnits(amount),
        ref,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      utilityId,
      actor: by.actor,
      action: 'vendor.float_topup',
      subject: `vendor:${vendorId}`,
      details: {
        entryId: String(entry.id),
        amountMinor: amount.toString(),
        idempotencyKey: key,
        ...(req.note ? { note: req.note } : {}),
      },
    });
    return { entryId: String(entry.id), replayed: false };
  });
  const float = await vendorFloat(db, vendorId);
  return {
    ...out,
    amountMinor: amount.toString(),
    floatMinor: float.toString(),
    float: formatMoney(float, utility.exponent),
  };
}

/** Creates a kiosk of a vendor, audited as `kiosk.create`; the answer carries its API key, this once. */
export async function createKiosk(
  db: Kysely<Database>,
  utilityId: UtilityId,
  vendorId: string,
  req: { readonly name: string },
  by: Actor,
): Promise<KioskRow & { apiKey: string }> {
  const apiKey = newSecret('rks_');
  const kiosk = await db.transaction().execute(async (trx) => {
    const vendor = await trx
      .selectFrom('vendors')
      .select('id')
      .where('id', '=', vendorId as VendorId)
      .where('utility_id', '=', utilityId)
      .executeTakeFirst();
    if (!vendor) throw new RasidError('not_found', `vendor ${vendorId} is unknown`);
    const row = await trx
      .insertInto('kiosks')
      .values({
        utility_id: utilityId,
        vendor_id: vendorId as VendorId,
        name: req.name,
        api_key_hash: secretDigest(apiKey),
      })
      .returning(kioskColumns)
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      utilityId,
      actor: by.actor,
      action: 'kiosk.create',
      subject: `kiosk:${row.id}`,
      details: { vendorId, name: row.name },
    });
    return row;
  });
  return { ...kiosk, apiKey };
}

/**
 * Disables a kiosk (locks its row): its API key is refused from the next request. Audited as `kiosk.disable`
 * with the reason when it was active; disabling a disabled kiosk changes nothing.
 */
export async function disableKiosk(
  db: Kysely<Database>,
  utilityId: UtilityId,
  kioskId: string,
  reason: string,
  by: Actor,
): Promise<KioskRow> {
  return db.transaction().execute(async (trx) => {
    const before = await trx
      .selectFrom('kiosks')
      .select(['id', 'active'])
      .where('id', '=', kioskId as KioskId)
      .where('utility_id', '=', utilityId)
      .forUpdate()
      .executeTakeFirst();
    if (!before) throw new RasidError('not_found', `kiosk ${kioskId} is unknown`);
    const k = await trx
      .updateTable('kiosks')
      .set({ active: false })
      .where('id', '=', before.id)
      .returning(kioskColumns)
      .executeTakeFirstOrThrow();
    if (before.active) {
      await writeAudit(trx, {
        utilityId,
        actor: by.actor,
        action: 'kiosk.disable',
        subject: `kiosk:${k.id}`,
        details: { vendorId: k.vendor_id, reason },
      });
    }
    return k;
  });
}
