import { type Kysely, sql, type Transaction } from 'kysely';
import { type AccountId, type Database, type MinorUnits, minorUnits, type VendorId } from './schema.ts';

/** A database handle or an open transaction: balances read inside a vend's transaction see its rows. */
export type Queryable = Kysely<Database> | Transaction<Database>;

/**
 * An account's credit: the sum of its ledger (positive = credit the customer holds). Rasid never stores
 * a balance; this is the only way to read one.
 */
export async function accountBalance(db: Queryable, accountId: AccountId): Promise<MinorUnits> {
  const row = await db
    .selectFrom('account_ledger')
    .select(sql<bigint>`coalesce(sum(amount_minor), 0)::bigint`.as('balance'))
    .where('account_id', '=', accountId)
    .executeTakeFirstOrThrow();
  return minorUnits(row.balance);
}

/**
 * A vendor's float: the running total its ledger keeps (each row's `balance_after`, computed by the database
 * on insert under the vendor's row lock). A vendor may sell while float plus credit limit covers the sale.
 */
export async function vendorFloat(db: Queryable, vendorId: VendorId): Promise<MinorUnits> {
  const row = await db
    .selectFrom('vendor_ledger')
    .select('balance_after')
    .where('vendor_id', '=', vendorId)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return minorUnits(row ? BigInt(row.balance_after) : 0n);
}
