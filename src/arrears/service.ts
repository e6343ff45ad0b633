/**
 * Recording arrears: a debt put on an account (an old bill carried over from the previous billing system, a
 * damaged meter, a bounced cheque) with its reason and an audit row, in one transaction. Vending recovers it
 * at the tariff's debt-recovery share of each payment (src/vending/quote.ts).
 */
import { sql } from 'kysely';
import { writeAudit } from '../accounts/audit.ts';
import { RasidError } from '../errors.ts';
import type { Queryable } from '../store/ledger.ts';
import type { AccountId, UtilityId } from '../store/schema.ts';

/** A debt to record on an account. */
export interface NewArrears {
  readonly utilityId: UtilityId;
  readonly accountId: AccountId;
  readonly amountMinor: bigint;
  readonly reason: string;
  /** Audit actor (`user:<id>`, `kiosk:<id>`). */
  readonly actor: string;
}

/**
 * Adds the debt to the account (locked for the change) and writes the `account.arrears` audit row with the
 * amount and reason; `not_found` for an account of another utility, `conflict` for a closed account.
 */
export async function recordArrears(db: Queryable, input: NewArrears): Promise<void> {
  const { accountId } = input;
  await db.transaction().execute(async (trx) => {
    const a = await trx
      .selectFrom('accounts')
      .select(['id', 'status', 'debt_minor'])
      .where('id', '=', accountId)
      .where('utility_id', '=', input.utilityId)
      .forUpdate()
      .executeTakeFirst();
    if (!a) throw new RasidError('not_found', `account ${accountId} is unknown`);
    if (a.status === 'closed') throw new RasidError('conflict', `account ${accountId} is closed`);
    await trx
      .updateTable('accounts')
      .set({ debt_minor: sql`debt_minor + ${input.amountMinor.toString()}::bigint` })
      .where('id', '=', accountId)
      .execute();
    await writeAudit(trx, {
      utilityId: input.utilityId,
      actor: input.actor,
      action: 'account.arrears',
      subject: `account:${accountId}`,
      details: { amountMinor: input.amountMinor.toString(), reason: input.reason },
    });
  });
}
