/**
 * The number printed on a receipt finds the sale: eight characters of the vend id, looked up within the
 * utility through the `vends_receipt_number` index (migration 0017). The full id is accepted too.
 */
import { type Kysely, sql } from 'kysely';
import { RasidError } from '../errors.ts';
import type { Database, UtilityId, VendId } from '../store/schema.ts';
import { RECEIPT_NUMBER } from './format.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A vend id from a receipt number (or a vend id); not_found when no sale of the utility has it. */
export async function vendIdByReceipt(
  db: Kysely<Database>,
  utilityId: UtilityId,
  numberOrId: string,
): Promise<VendId> {
  const key = numberOrId.trim();
  if (UUID.test(key)) return key.toLowerCase() as VendId;
  if (!RECEIPT_NUMBER.test(key)) {
    throw new RasidError('validation_failed', 'a receipt number is 8 characters (0-9, A-F), e.g. A76395C1');
  }
  const rows = await db
    .selectFrom('vends')
    .select('id')
    .where('utility_id', '=', utilityId)
    .where(sql<string>`upper(left(id::text, 8))`, '=', key.toUpperCase())
    .limit(2)
    .execute();
  const [first, second] = rows;
  if (!first) throw new RasidError('not_found', `no sale has receipt number ${key.toUpperCase()}`);
  if (second) {
    throw new RasidError(
      'conflict',
      `two sales share receipt number ${key.toUpperCase()}: give the full vend id`,
    );
  }
  return first.id;
}
