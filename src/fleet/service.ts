/**
 * The fleet view's writes: the single-use tickets that open the alert stream from a browser (EventSource
 * cannot send a bearer header). A ticket is kept as the digest of its secret, which the caller makes.
 */
import { RasidError } from '../errors.ts';
import type { Queryable } from '../store/ledger.ts';
import type { UserId, UtilityId } from '../store/schema.ts';

/** Stores a ticket for the user, valid until `expiresAt`. */
export async function issueStreamTicket(
  db: Queryable,
  ticket: {
    readonly ticketHash: string;
    readonly utilityId: UtilityId;
    readonly userId: UserId;
    readonly expiresAt: Date;
  },
): Promise<void> {
  await db
    .insertInto('stream_tickets')
    .values({
      ticket_hash: ticket.ticketHash,
      utility_id: ticket.utilityId,
      user_id: ticket.userId,
      expires_at: ticket.expiresAt,
    })
    .execute();
}

/** Uses a ticket up (once, before it expires) and answers its user; refused when unknown, used or expired. */
export async function redeemStreamTicket(db: Queryable, ticketHash: string, at: Date): Promise<UserId> {
  const used = await db
    .updateTable('stream_tickets')
    .set({ used_at: at })
    .where('ticket_hash', '=', ticketHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', at)
    .returning('user_id')
    .executeTakeFirst();
  if (!used) throw new RasidError('unauthenticated', 'the stream ticket is unknown, used or expired');
  return used.user_id;
}
