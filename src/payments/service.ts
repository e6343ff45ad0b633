/**
 * Online top-up: a Checkout session per payment, and the token issued only when the provider's verified event
 * says the money arrived. Every event is recorded once by its id; the vend's idempotency key is the provider's
 * session id, so however often an event is delivered, one payment gives one token.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { AppError } from '../api/errors.ts';
import type { Database, PaymentId, UtilityId } from '../store/schema.ts';
import { minorUnits } from '../store/schema.ts';
import type { VendingService, VendResult } from '../vending/service.ts';
import type { PaymentEvent, PaymentProvider } from './provider.ts';

export interface PaymentServiceOptions {
  readonly db: Kysely<Database>;
  readonly provider: PaymentProvider;
  readonly vending: VendingService;
  readonly now?: () => Date;
}

export interface CheckoutStarted {
  readonly paymentId: PaymentId;
  readonly sessionId: string;
  readonly url: string;
}

export type EventOutcome =
  | { readonly outcome: 'vended'; readonly vend: VendResult }
  | { readonly outcome: 'recorded' | 'ignored' | 'duplicate'; readonly detail: string };

export class PaymentService {
  private readonly db: Kysely<Database>;
  private readonly now: () => Date;

  constructor(private readonly opts: PaymentServiceOptions) {
    this.db = opts.db;
    this.now = opts.now ?? (() => new Date());
  }

  /** Quotes (refusing what cannot be sold), then opens a Checkout session and records the pending payment. */
  async startCheckout(input: {
    utilityId: UtilityId;
    meter: string;
    amountMinor: bigint;
    returnUrl: string;
  }): Promise<CheckoutStarted> {
    const { view } = await this.opts.vending.quote(input.utilityId, input.meter, input.amountMinor);
    const paymentId = randomUUID() as PaymentId;
    const sep = input.returnUrl.includes('?') ? '&' : '?';
    const session = await this.opts.provider.createCheckout({
      reference: paymentId,
      amountMinor: input.amountMinor,
      currency: view.utility.currency,
      description: `${view.kind === 'water' ? 'Water' : 'Electricity'} top-up, meter ${view.serial}`,
      successUrl: `${input.returnUrl}${sep}session={CHECKOUT_SESSION_ID}`,
      cancelUrl: `${input.returnUrl}${sep}cancelled=1`,
      idempotencyKey: `checkout:${paymentId}`,
      metadata: { meter: view.serial, utility: view.utility.code },
    });
    await this.db
      .insertInto('payments')
      .values({
        id: paymentId,
        utility_id: input.utilityId,
        provider: this.opts.provider.name,
        provider_ref: session.sessionId,
        status: 'pending',
        amount_minor: minorUnits(input.amountMinor),
        currency: view.utility.currency,
        meter_id: view.meterId,
        account_id: view.accountId,
      })
      .execute();
    return { paymentId, sessionId: session.sessionId, url: session.url };
  }

  /** Verifies and applies one provider notification. Throws AppError('payment_signature_invalid'). */
  async handleWebhook(
    rawBody: Buffer | string,
    headers: Readonly<Record<string, string | string[] | undefined>>,
  ): Promise<EventOutcome> {
    let event: PaymentEvent;
    try {
      event = this.opts.provider.verifyEvent(rawBody, headers);
    } catch (err) {
      throw new AppError('payment_signature_invalid', err instanceof Error ? err.message : undefined);
    }
    return this.apply(event);
  }

  private async paymentBy(column: 'provider_ref', value: string) {
    return this.db
      .selectFrom('payments')
      .selectAll()
      .where('provider', '=', this.opts.provider.name)
      .where(column, '=', value)
      .executeTakeFirst();
  }

  /** Records the event id once; returns false when it was already processed. */
  private async recordEvent(
    utilityId: UtilityId,
    paymentId: PaymentId,
    eventId: string,
    type: string,
  ): Promise<boolean> {
    const inserted = await this.db
      .insertInto('payment_events')
      .values({
        provider: this.opts.provider.name,
        event_id: eventId,
        utility_id: utilityId,
        type,
        payment_id: paymentId,
      })
      .onConflict((oc) => oc.columns(['provider', 'event_id']).doNothing())
      .returning('event_id')
      .executeTakeFirst();
    if (inserted) return true;
    const row = await this.db
      .selectFrom('payment_events')
      .select('processed_at')
      .where('provider', '=', this.opts.provider.name)
      .where('event_id', '=', eventId)
      .executeTakeFirstOrThrow();
    // An event recorded but not processed (a crash in between) is processed again: the vend is idempotent.
    return row.processed_at === null;
  }

  private async markProcessed(eventId: string): Promise<void> {
    await this.db
      .updateTable('payment_events')
      .set({ processed_at: this.now() })
      .where('provider', '=', this.opts.provider.name)
      .where('event_id', '=', eventId)
      .execute();
  }

  async apply(event: PaymentEvent): Promise<EventOutcome> {
    switch (event.kind) {
      case 'ignored':
        return { outcome: 'ignored', detail: event.type };
      case 'payment_succeeded': {
        const payment = await this.paymentBy('provider_ref', event.sessionId);
        if (!payment) return { outcome: 'ignored', detail: `no payment for session ${event.sessionId}` };
        if (
          BigInt(payment.amount_minor) !== event.amountMinor ||
          payment.currency.trim() !== event.currency
        ) {
          throw new AppError(
            'conflict',
            `paid ${event.amountMinor} ${event.currency} does not match the payment`,
          );
        }
        if (!(await this.recordEvent(payment.utility_id, payment.id, event.eventId, 'payment_succeeded'))) {
          return { outcome: 'duplicate', detail: event.eventId };
        }
        await this.db
          .updateTable('payments')
          .set({ status: 'succeeded', provider_payment_ref: event.paymentRef, updated_at: this.now() })
          .where('id', '=', payment.id)
          .where('status', '=', 'pending')
          .execute();
        const meter = await this.db
          .selectFrom('meters')
          .select('serial')
          .where('id', '=', payment.meter_id!)
          .executeTakeFirstOrThrow();
        const vend = await this.opts.vending.vend({
          utilityId: payment.utility_id,
          meter: meter.serial,
          amountMinor: BigInt(payment.amount_minor),
          channel: { kind: 'online', paymentId: payment.id },
          idempotencyKey: `${this.opts.provider.name}:${event.sessionId}`,
          actor: `system:${this.opts.provider.name}`,
        });
        await this.markProcessed(event.eventId);
        return { outcome: 'vended', vend };
      }
      case 'refunded':
      case 'disputed': {
        const target = await this.db
          .selectFrom('payments')
          .selectAll()
          .where('provider', '=', this.opts.provider.name)
          .where('provider_payment_ref', '=', event.paymentRef)
          .executeTakeFirst();
        if (!target) return { outcome: 'ignored', detail: `no payment for ${event.paymentRef}` };
        if (!(await this.recordEvent(target.utility_id, target.id, event.eventId, event.kind))) {
          return { outcome: 'duplicate', detail: event.eventId };
        }
        const refunded = event.kind === 'refunded' ? event.amountMinor : BigInt(target.refunded_minor);
        await this.db
          .updateTable('payments')
          .set(
            event.kind === 'refunded'
              ? {
                  refunded_minor: minorUnits(refunded),
                  status: refunded >= BigInt(target.amount_minor) ? 'refunded' : 'partially_refunded',
                  updated_at: this.now(),
                }
              : { disputed: true, status: 'disputed', updated_at: this.now() },
          )
          .where('id', '=', target.id)
          .execute();
        await this.db
          .insertInto('audit_log')
          .values({
            utility_id: target.utility_id,
            actor: `system:${this.opts.provider.name}`,
            action: event.kind === 'refunded' ? 'payment.refund' : 'payment.dispute',
            subject: `payment:${target.id}`,
            details: {
              amountMinor: event.amountMinor.toString(),
              vendId: target.vend_id,
              ...(event.kind === 'disputed' ? { reason: event.reason } : {}),
            },
          })
          .execute();
        await this.markProcessed(event.eventId);
        return { outcome: 'recorded', detail: event.kind };
      }
    }
  }

  /** What the customer's browser polls after Checkout: pending until the verified event arrives. */
  async checkoutResult(sessionId: string) {
    const payment = await this.paymentBy('provider_ref', sessionId);
    if (!payment) throw new AppError('not_found', `checkout ${sessionId} is unknown`);
    if (!payment.vend_id) return { status: payment.status, vendId: null, token: null, receipt: null };
    const vend = await this.db
      .selectFrom('vends')
      .select(['id', 'token', 'receipt', 'status'])
      .where('id', '=', payment.vend_id)
      .executeTakeFirstOrThrow();
    return { status: payment.status, vendId: vend.id, token: vend.token, receipt: vend.receipt };
  }
}
