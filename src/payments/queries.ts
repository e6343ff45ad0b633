/**
 * Reads of the payments module: the payment provider a utility chose, and the sale behind a Checkout key
 * (the provider's session id a return page holds, or Rasid's payment id for providers that return none).
 */
import type { ExpressionBuilder } from 'kysely';
import { z } from 'zod';
import { RasidError } from '../errors.ts';
import type { Queryable } from '../store/ledger.ts';
import type { Database, PaymentId, UtilityId, VendStatus } from '../store/schema.ts';

/**
 * The payment a return page names: the page holds the provider's session id, or Rasid's payment id for
 * providers that do not return theirs.
 */
export function byCheckoutKey(
  eb: ExpressionBuilder<Database & { p: Database['payments'] }, 'p'>,
  key: string,
) {
  return z.uuid().safeParse(key).success
    ? eb.or([eb('p.provider_ref', '=', key), eb('p.id', '=', key as PaymentId)])
    : eb('p.provider_ref', '=', key);
}

/** The payment provider the utility chose, or null when it uses the installation's default. */
export async function chosenPaymentProvider(db: Queryable, utilityId: UtilityId): Promise<string | null> {
  const row = await db
    .selectFrom('utilities')
    .select('payment_provider')
    .where('id', '=', utilityId)
    .executeTakeFirstOrThrow();
  return row.payment_provider;
}

/** The receipt of a paid online top-up as its PDF needs it: the receipt, the vend's status, the utility's zone. */
export interface CheckoutReceipt {
  readonly receipt: unknown;
  readonly status: VendStatus;
  readonly timezone: string;
}

/**
 * The receipt of the top-up a Checkout key names, for whoever holds the key (the receipt link sent with the
 * token); `not_found` until the payment has a vend.
 */
export async function checkoutReceipt(db: Queryable, key: string): Promise<CheckoutReceipt> {
  const row = await db
    .selectFrom('payments as p')
    .innerJoin('vends as v', 'v.id', 'p.vend_id')
    .innerJoin('utilities as u', 'u.id', 'p.utility_id')
    .select(['v.receipt', 'v.status', 'u.timezone'])
    .where((eb) => byCheckoutKey(eb, key))
    .executeTakeFirst();
  if (!row) throw new RasidError('not_found', `checkout ${key} has no receipt (yet)`);
  return row;
}
