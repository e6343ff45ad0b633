/**
 * Transferring an account to a new holder, e.g. to an heir after the holder's death. One transaction:
 *
 *   1. lock the account and the new holder's customer row (two transfers to one heir cannot both keep a
 *      subsidy);
 *   2. close the current `account_holders` row (`to_at`);
 *   3. decide whether the subsidy carries over (`subsidy.ts`) and open the new holder's row with the reason,
 *      the evidence reference, who did it and that decision;
 *   4. point the account at the new holder, clearing `subsidy_eligible` unless it carried;
 *   5. the audit row `account.transfer` and a notification to the new holder in the outbox.
 *
 * The account keeps its number, meters, ledger (credit) and debt: only the holder changes.
 */
import type { Kysely } from 'kysely';
import { RasidError } from '../errors.ts';
import { audienceOf, notify } from '../notify/audience.ts';
import type { Queryable } from '../store/ledger.ts';
import type { AccountId, CustomerId, Database, UserId, UtilityId } from '../store/schema.ts';
import { writeAudit } from './audit.ts';
import {
  hasOtherSubsidisedAccount,
  INHERITANCE_REASONS,
  subsidyCarries,
  type TransferReason,
} from './subsidy.ts';

export interface TransferRequest {
  readonly utilityId: UtilityId;
  readonly accountId: AccountId;
  /** The new holder. */
  readonly toCustomerId: CustomerId;
  readonly reason: TransferReason;
  /** The document the transfer rests on: death certificate, inheritance deed, sale contract number… */
  readonly evidenceRef: string;
  readonly note?: string | null | undefined;
  /** The user who performs it (null for a system actor). */
  readonly performedBy: UserId | null;
  /** The audit actor, e.g. `user:<id>`. */
  readonly actor: string;
}

export interface TransferResult {
  readonly accountId: AccountId;
  readonly accountNumber: string;
  /** The new `account_holders` row. */
  readonly holderId: string;
  readonly fromCustomerId: CustomerId;
  readonly toCustomerId: CustomerId;
  readonly reason: TransferReason;
  readonly at: Date;
  readonly subsidyWasEligible: boolean;
  readonly subsidyCarried: boolean;
  /** The outbox row telling the new holder, or null when they have no phone or e-mail. */
  readonly notificationId: string | null;
}

/** The notification template the outbox worker renders for a transfer. */
export const TRANSFER_TEMPLATE = 'account_transfer' as const;

export async function transferAccount(
  db: Kysely<Database>,
  req: TransferRequest,
  now: () => Date = () => new Date(),
): Promise<TransferResult> {
  return db.transaction().execute(async (trx) => {
    const account = await trx
      .selectFrom('accounts')
      .select(['id', 'number', 'customer_id', 'status', 'subsidy_eligible', 'created_at'])
      .where('id', '=', req.accountId)
      .where('utility_id', '=', req.utilityId)
      .forUpdate()
      .executeTakeFirst();
    if (!account) throw new RasidError('not_found', `account ${req.accountId} is unknown`);
    if (account.status === 'closed') {
      throw new RasidError('transfer_not_allowed', `account ${account.number} is closed`);
    }
    if (account.customer_id === req.toCustomerId) {
      throw new RasidError(
        'transfer_not_allowed',
        `customerId: customer already holds account ${account.number}`,
      );
    }
    const heir = await trx
      .selectFrom('customers')
      .select(['id', 'name', 'phone', 'email', 'preferred_language'])
      .where('id', '=', req.toCustomerId)
      .where('utility_id', '=', req.utilityId)
      .forUpdate()
      .executeTakeFirst();
    if (!heir) throw new RasidError('not_found', `customerId: customer ${req.toCustomerId} is unknown`);

    const at = await closeCurrentHolding(trx, req, account, now());
    const subsidyCarried = subsidyCarries({
      eligible: account.subsidy_eligible,
      reason: req.reason,
      heirHasOtherSubsidisedAccount: await hasOtherSubsidisedAccount(trx, req.utilityId, heir.id, account.id),
    });
    const holder = await trx
      .insertInto('account_holders')
      .values({
        utility_id: req.utilityId,
        account_id: account.id,
        customer_id: heir.id,
        from_at: at,
        reason: req.reason,
        evidence_ref: req.evidenceRef,
        performed_by: req.performedBy,
        subsidy_carried: subsidyCarried,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const holderId = String(holder.id);
    await trx
      .updateTable('accounts')
      .set({ customer_id: heir.id, subsidy_eligible: subsidyCarried })
      .where('id', '=', account.id)
      .execute();
    await writeAudit(trx, {
      utilityId: req.utilityId,
      actor: req.actor,
      action: 'account.transfer',
      subject: `account:${account.id}`,
      details: {
        holderId,
        fromCustomerId: account.customer_id,
        toCustomerId: heir.id,
        reason: req.reason,
        evidenceRef: req.evidenceRef,
        ...(req.note ? { note: req.note } : {}),
        subsidyWasEligible: account.subsidy_eligible,
        subsidyCarried,
      },
    });
    const notificationId = await notifyNewHolder(trx, req.utilityId, holderId, heir, {
      accountNumber: account.number,
      reason: req.reason,
      subsidyCarried,
      at,
    });
    return {
      accountId: account.id,
      accountNumber: account.number,
      holderId,
      fromCustomerId: account.customer_id,
      toCustomerId: heir.id,
      reason: req.reason,
      at,
      subsidyWasEligible: account.subsidy_eligible,
      subsidyCarried,
      notificationId,
    };
  });
}

/**
 * Ends the current holding and returns the instant of the transfer. An account opened before holder
 * history was kept has no current row: its first holding is recorded (opening to now) and closed.
 */
async function closeCurrentHolding(
  trx: Queryable,
  req: TransferRequest,
  account: { id: AccountId; customer_id: CustomerId; created_at: Date },
  now: Date,
): Promise<Date> {
  const current = await trx
    .selectFrom('account_holders')
    .select(['id', 'from_at'])
    .where('account_id', '=', account.id)
    .where('to_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
  // History never runs backwards, even when clocks disagree.
  const start = current?.from_at ?? account.created_at;
  const at = now < start ? start : now;
  if (current) {
    await trx.updateTable('account_holders').set({ to_at: at }).where('id', '=', current.id).execute();
  } else {
    await trx
      .insertInto('account_holders')
      .values({
        utility_id: req.utilityId,
        account_id: account.id,
        customer_id: account.customer_id,
        from_at: start,
        to_at: at,
        reason: 'opening',
        evidence_ref: null,
        performed_by: null,
      })
      .execute();
  }
  return at;
}

async function notifyNewHolder(
  trx: Queryable,
  utilityId: UtilityId,
  holderId: string,
  customer: { id: CustomerId; name: string },
  facts: { accountNumber: string; reason: TransferReason; subsidyCarried: boolean; at: Date },
): Promise<string | null> {
  // Which channel and language: notify/audience.ts decides, from the customer's choices.
  const [id] = await notify(trx, {
    utilityId,
    template: TRANSFER_TEMPLATE,
    payload: {
      customerName: customer.name,
      accountNumber: facts.accountNumber,
      reason: facts.reason,
      subsidyCarried: facts.subsidyCarried,
      at: facts.at.toISOString(),
    },
    dedupKey: `account-transfer:${holderId}`,
    customerId: customer.id,
  });
  return id ?? null;
}

/** The answer before a transfer: the same rules {@link transferAccount} applies, nothing written. */
export interface TransferCheck {
  readonly allowed: boolean;
  /** Why the transfer would be refused; null when it is allowed. */
  readonly refusal: 'account_closed' | 'same_holder' | null;
  readonly subsidy: {
    /** The account is subsidy-eligible now. */
    readonly eligible: boolean;
    /** The reason is an inheritance (death or inheritance). */
    readonly inheritance: boolean;
    readonly heirHasOtherSubsidisedAccount: boolean;
    readonly carries: boolean;
  };
  /** The channel the new holder would be told on; null when they have no phone or e-mail. */
  readonly notify: { readonly channel: 'sms' | 'whatsapp' | 'email' } | null;
}

/**
 * Before a transfer of one of the utility's accounts to one of its customers: whether it is allowed,
 * whether the subsidy would carry to the new holder (`subsidy.ts`), and the channel the transfer message
 * would reach them on (as notify/audience.ts decides). An unknown account or customer is `not_found`.
 */
export async function checkTransfer(
  db: Queryable,
  utilityId: UtilityId,
  accountId: AccountId,
  customerId: CustomerId,
  reason: TransferReason,
): Promise<TransferCheck> {
  const account = await db
    .selectFrom('accounts')
    .select(['id', 'customer_id', 'status', 'subsidy_eligible'])
    .where('id', '=', accountId)
    .where('utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!account) throw new RasidError('not_found', `account ${accountId} is unknown`);
  const heir = await db
    .selectFrom('customers')
    .select(['id', 'phone', 'email'])
    .where('id', '=', customerId)
    .where('utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!heir) throw new RasidError('not_found', `customerId: customer ${customerId} is unknown`);
  const refusal =
    account.status === 'closed'
      ? ('account_closed' as const)
      : account.customer_id === heir.id
        ? ('same_holder' as const)
        : null;
  const other = await hasOtherSubsidisedAccount(db, utilityId, heir.id, account.id);
  const facts = { eligible: account.subsidy_eligible, reason, heirHasOtherSubsidisedAccount: other };
  // The channel the new holder would hear on, as notify/audience.ts decides for the transfer message.
  const contact = (
    await audienceOf(db, { utilityId, template: TRANSFER_TEMPLATE, dedupKey: 'preview', customerId: heir.id })
  ).find((t) => t.customerId !== null && t.channel !== 'webhook');
  return {
    allowed: refusal === null,
    refusal,
    subsidy: {
      eligible: account.subsidy_eligible,
      inheritance: INHERITANCE_REASONS.has(reason),
      heirHasOtherSubsidisedAccount: other,
      carries: subsidyCarries(facts),
    },
    notify: contact ? { channel: contact.channel as 'sms' | 'whatsapp' | 'email' } : null,
  };
}
