/**
 * Subsidy eligibility belongs to an account (for example a citizen's first residential account) and moves
 * with it when it passes to an heir. The rule is a pure function; the query it needs is beside it.
 */
import { sql } from 'kysely';
import type { Queryable } from '../store/ledger.ts';
import type { AccountId, CustomerId, UtilityId } from '../store/schema.ts';

/** Why an account changes hands. `death` and `inheritance` are the inheritance reasons. */
export const TRANSFER_REASONS = ['death', 'inheritance', 'sale', 'tenancy', 'correction', 'other'] as const;
export type TransferReason = (typeof TRANSFER_REASONS)[number];

/** The reasons under which a subsidy may pass to the new holder. */
export const INHERITANCE_REASONS: ReadonlySet<TransferReason> = new Set(['death', 'inheritance']);

export interface SubsidyFacts {
  /** The account is subsidy-eligible before the transfer. */
  readonly eligible: boolean;
  readonly reason: TransferReason;
  /** The new holder already holds another subsidy-eligible account in the utility. */
  readonly heirHasOtherSubsidisedAccount: boolean;
}

/**
 * Whether the subsidy carries over: the account is eligible, the account is inherited, and it becomes the
 * heir's only subsidised account. In every other case eligibility is cleared.
 */
export function subsidyCarries(facts: SubsidyFacts): boolean {
  return facts.eligible && INHERITANCE_REASONS.has(facts.reason) && !facts.heirHasOtherSubsidisedAccount;
}

/** Whether a customer holds a subsidy-eligible, not closed account in the utility other than `except`. */
export async function hasOtherSubsidisedAccount(
  db: Queryable,
  utilityId: UtilityId,
  customerId: CustomerId,
  except: AccountId | null,
): Promise<boolean> {
  let q = db
    .selectFrom('accounts')
    .select(sql<number>`1`.as('one'))
    .where('utility_id', '=', utilityId)
    .where('customer_id', '=', customerId)
    .where('subsidy_eligible', '=', true)
    .where('status', '<>', 'closed');
  if (except) q = q.where('id', '<>', except);
  return (await q.limit(1).executeTakeFirst()) !== undefined;
}
