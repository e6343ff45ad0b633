/**
 * Reads of an account's arrears: the debts recorded on it (`accounts.debt_minor`, each with its audit row
 * and reason), what payments have recovered (the account ledger's `debt_recovery` lines) and what is
 * outstanding, always derived from the two.
 */
import { sql } from 'kysely';
import { RasidError } from '../errors.ts';
import { formatMoney } from '../money.ts';
import type { Queryable } from '../store/ledger.ts';
import type { AccountId, UtilityId } from '../store/schema.ts';

/** An amount in minor units as digits, and formatted in the utility's currency exponent. */
export interface ArrearsAmount {
  minor: string;
  amount: string;
}

/** An account's arrears: recorded, recovered, outstanding, and each debt with its reason, newest first. */
export interface ArrearsView {
  accountId: string;
  currency: string;
  exponent: number;
  recorded: ArrearsAmount;
  recovered: ArrearsAmount;
  outstanding: ArrearsAmount;
  entries: { at: string; amount: ArrearsAmount; reason: string; actor: string }[];
}

/** The arrears of an account of the utility, or `not_found`. */
export async function arrearsView(
  db: Queryable,
  utilityId: UtilityId,
  accountId: AccountId,
): Promise<ArrearsView> {
  const a = await db
    .selectFrom('accounts as a')
    .innerJoin('utilities as u', 'u.id', 'a.utility_id')
    .select(['a.id', 'a.debt_minor', 'u.currency', 'u.currency_exponent'])
    .where('a.id', '=', accountId)
    .where('a.utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!a) throw new RasidError('not_found', `account ${accountId} is unknown`);
  // sum() of a bigint is a numeric, which both drivers hand over as a string of digits.
  const { rows } = await sql<{ recovered: string | null }>`
    select -sum(amount_minor) as recovered from account_ledger
     where account_id = ${accountId} and ref = 'debt_recovery'
  `.execute(db);
  const recovered = BigInt(rows[0]?.recovered ?? 0);
  const exp = a.currency_exponent;
  const money = (m: bigint) => ({ minor: m.toString(), amount: formatMoney(m, exp) });
  const entries = await db
    .selectFrom('audit_log')
    .select(['created_at', 'actor', 'details'])
    .where('utility_id', '=', utilityId)
    .where('subject', '=', `account:${accountId}`)
    .where('action', '=', 'account.arrears')
    .orderBy('id', 'desc')
    .execute();
  const debt = BigInt(a.debt_minor);
  return {
    accountId: a.id,
    currency: a.currency,
    exponent: exp,
    recorded: money(debt),
    recovered: money(recovered),
    outstanding: money(debt > recovered ? debt - recovered : 0n),
    entries: entries.map((e) => ({
      at: e.created_at.toISOString(),
      amount: money(BigInt(String((e.details as { amountMinor?: string }).amountMinor ?? '0'))),
      reason: String((e.details as { reason?: string }).reason ?? ''),
      actor: e.actor,
    })),
  };
}
