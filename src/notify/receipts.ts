/**
 * Delivery receipts: a provider's word that a message it accepted reached the phone (or did not). A
 * receipt names the provider's message id, which the outbox worker writes on the row when the provider
 * accepts the message (`provider_ref`). An SMSC can answer faster than the worker writes, so a receipt
 * is kept in `notification_receipts` and applied by whichever of the two comes second:
 *
 *   sent ──receipt delivered──> delivered (delivered_at)
 *   sent ──receipt failed────> failed (last_error: the provider's status)
 *
 * A receipt never moves a row back: a row already delivered or failed keeps its state.
 */
import { type Kysely, sql } from 'kysely';
import type { Database, OutboxChannel } from '../store/schema.ts';

export interface Receipt {
  readonly channel: OutboxChannel;
  readonly providerRef: string;
  readonly state: 'delivered' | 'failed';
  /** The provider's status words (e.g. `DELIVRD`, `UNDELIV`, WhatsApp's error title). */
  readonly detail: string;
  readonly at: Date;
}

/** Records a receipt and applies it to its row if the row is known; returns the row's id or null. */
export async function recordReceipt(db: Kysely<Database>, receipt: Receipt): Promise<string | null> {
  await db
    .insertInto('notification_receipts')
    .values({
      channel: receipt.channel,
      provider_ref: receipt.providerRef,
      state: receipt.state,
      detail: receipt.detail.slice(0, 200),
      received_at: receipt.at,
    })
    .onConflict((oc) => oc.columns(['channel', 'provider_ref']).doNothing())
    .execute();
  return applyReceipts(db, receipt.channel, receipt.providerRef);
}

/**
 * Applies a kept receipt to the sent row with this provider id (the worker calls it after writing the id,
 * for a receipt that came first). Returns the row's id when a row changed.
 */
export async function applyReceipts(
  db: Kysely<Database>,
  channel: OutboxChannel,
  providerRef: string,
): Promise<string | null> {
  const row = await db
    .updateTable('notifications_outbox as o')
    .from('notification_receipts as r')
    .set({
      state: sql`r.state`,
      delivered_at: sql`case when r.state = 'delivered' then r.received_at else null end`,
      last_error: sql`case when r.state = 'failed' then 'receipt: ' || coalesce(r.detail, 'failed') else o.last_error end`,
    })
    .whereRef('r.channel', '=', 'o.channel')
    .whereRef('r.provider_ref', '=', 'o.provider_ref')
    .where('o.channel', '=', channel)
    .where('o.provider_ref', '=', providerRef)
    .where('o.state', '=', 'sent')
    .returning('o.id')
    .executeTakeFirst();
  return row === undefined ? null : String(row.id);
}
