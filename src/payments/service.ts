/**
 * Online top-up: a Checkout session per payment with the utility's provider (registry.ts), and the token
 * issued only when the provider's verified event says the money arrived (and, for providers that can be
 * asked, the session read back from the provider says paid). Every event is recorded once by its id; the
 * vend's idempotency key is the provider's session id, so however often an event is delivered, one payment
 * gives one token.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { writeAudit } from '../accounts/audit.ts';
import { RasidError } from '../errors.ts';
import type { Queryable } from '../store/ledger.ts';
import type { Database, PaymentId, UtilityId } from '../store/schema.ts';
import { minorUnits } from '../store/schema.ts';
import type { VendingService, VendResult } from '../vending/service.ts';
import type { PaymentEvent, PaymentProvider } from './provider.ts';
import { chosenPaymentProvider } from './queries.ts';
import { PaymentRegistry } from './registry.ts';

export type PaymentServiceOptions = {
  readonly db: Kysely<Database>;
  readonly vending: VendingService;
  readonly now?: () => Date;
} & (
  | { readonly registry: PaymentRegistry; readonly provider?: never }
  /** One provider only (a registry of one). */
  | { readonly provider: PaymentProvider; readonly registry?: never }
);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
  readonly registry: PaymentRegistry;

  constructor(private readonly opts: PaymentServiceOptions) {
    this.db = opts.db;
    this.now = opts.now ?? (() => new Date());
    this.registry = opts.registry ?? new PaymentRegistry([opts.provider!]);
  }

  /** Quotes (refusing what cannot be sold), then opens a Checkout session and records the pending payment. */
  async startCheckout(input: {
    utilityId: UtilityId;
    meter: string;
    amountMinor: bigint;
    returnUrl: string;
  }): Promise<CheckoutStarted> {
    const { view } = await this.opts.vending.quote(input.utilityId, input.meter, input.amountMinor);
    const provider = await this.registry.forUtility(this.db, input.utilityId);
    const paymentId = randomUUID() as PaymentId;
    const sep = input.returnUrl.includes('?') ? '&' : '?';
    // The customer's page finds the payment by the provider's session id, or by Rasid's payment id when the
    // provider does not put its own into the address.
    const back = provider.substitutesSessionId ? '{CHECKOUT_SESSION_ID}' : paymentId;
    const session = await provider.createCheckout({
      reference: paymentId,
      amountMinor: input.amountMinor,
      currency: view.utility.currency,
      description: `${view.kind === 'water' ? 'Water' : 'Electricity'} top-up, meter ${view.serial}`,
      successUrl: `${input.returnUrl}${sep}session=${back}`,
      cancelUrl: `${input.returnUrl}${sep}cancelled=1`,
      idempotencyKey: `checkout:${paymentId}`,
      metadata: { meter: view.serial, utility: view.utility.code },
    });
    await this.db
      .insertInto('payments')
      .values({
        id: paymentId,
        utility_id: input.utilityId,
        provider: provider.name,
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

  /**
   * Verifies and applies one notification of the named provider (the default one when no name is given).
   * Throws RasidError('payment_signature_invalid'), or 'payment_provider_unknown' for a name not configured.
   */
  async handleWebhook(
    rawBody: Buffer | string,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    providerName: string = this.registry.defaultName,
  ): Promise<EventOutcome> {
    const provider = this.registry.get(providerName);
    let event: PaymentEvent;
    try {
      event = provider.verifyEvent(rawBody, headers);
    } catch (err) {
      throw new RasidError('payment_signature_invalid', err instanceof Error ? err.message : undefined);
    }
    return this.apply(event, provider);
  }

  private async paymentBy(provider: PaymentProvider, column: 'provider_ref', value: string) {
    return this.db
      .selectFrom('payments')
      .selectAll()
      .where('provider', '=', provider.name)
      .where(column, '=', value)
      .executeTakeFirst();
  }

  /** A payment by the key the customer's page holds: the provider's session id or Rasid's payment id. */
  private async paymentByKey(key: string) {
    let q = this.db.selectFrom('payments').selectAll();
    q = UUID.test(key)
      ? q.where((eb) => eb.or([eb('provider_ref', '=', key), eb('id', '=', key as PaymentId)]))
      : q.where('provider_ref', '=', key);
    return q.executeTakeFirst();
  }

  /** Records the event id once; returns false when it was already processed. */
  private async recordEvent(
    provider: PaymentProvider,
    utilityId: UtilityId,
    paymentId: PaymentId,
    eventId: string,
    type: string,
  ): Promise<boolean> {
    const inserted = await this.db
      .insertInto('payment_events')
      .values({
        provider: provider.name,
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
      .where('provider', '=', provider.name)
      .where('event_id', '=', eventId)
      .executeTakeFirstOrThrow();
    // An event recorded but not processed (a crash in between) is processed again: the vend is idempotent.
    return row.processed_at === null;
  }

  private async markProcessed(provider: PaymentProvider, eventId: string): Promise<void> {
    await this.db
      .updateTable('payment_events')
      .set({ processed_at: this.now() })
      .where('provider', '=', provider.name)
      .where('event_id', '=', eventId)
      .execute();
  }

  async apply(
    event: PaymentEvent,
    provider: PaymentProvider = this.registry.default,
    actor = `system:${provider.name}`,
  ): Promise<EventOutcome> {
    switch (event.kind) {
      case 'ignored':
        return { outcome: 'ignored', detail: event.type };
      case 'payment_succeeded': {
        const payment = await this.paymentBy(provider, 'provider_ref', event.sessionId);
        if (!payment) return { outcome: 'ignored', detail: `no payment for session ${event.sessionId}` };
        // A provider that can be asked is asked: the notification alone never issues a token.
        const confirmed = provider.retrieveSession
          ? await provider.retrieveSession(event.sessionId)
          : { paid: true, amountMinor: event.amountMinor, currency: event.currency, paymentRef: null };
        if (!confirmed.paid) {
          return { outcome: 'ignored', detail: `session ${event.sessionId} is not paid at ${provider.name}` };
        }
        for (const said of [event, confirmed]) {
          if (
            BigInt(payment.amount_minor) !== said.amountMinor ||
            payment.currency.trim() !== said.currency
          ) {
            throw new RasidError(
              'conflict',
              `paid ${said.amountMinor} ${said.currency} does not match the payment`,
            );
          }
        }
        if (
          !(await this.recordEvent(
            provider,
            payment.utility_id,
            payment.id,
            event.eventId,
            'payment_succeeded',
          ))
        ) {
          return { outcome: 'duplicate', detail: event.eventId };
        }
        await this.db
          .updateTable('payments')
          .set({
            status: 'succeeded',
            provider_payment_ref: confirmed.paymentRef ?? event.paymentRef,
            updated_at: this.now(),
          })
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
          idempotencyKey: `${provider.name}:${event.sessionId}`,
          actor: `system:${provider.name}`,
        });
        await this.markProcessed(provider, event.eventId);
        return { outcome: 'vended', vend };
      }
      case 'refunded':
      case 'disputed': {
        const target = await this.db
          .selectFrom('payments')
          .selectAll()
          .where('provider', '=', provider.name)
          .where('provider_payment_ref', '=', event.paymentRef)
          .executeTakeFirst();
        if (!target) return { outcome: 'ignored', detail: `no payment for ${event.paymentRef}` };
        if (!(await this.recordEvent(provider, target.utility_id, target.id, event.eventId, event.kind))) {
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
            actor,
            action: event.kind === 'refunded' ? 'payment.refund' : 'payment.dispute',
            subject: `payment:${target.id}`,
            details: {
              amountMinor: event.amountMinor.toString(),
              vendId: target.vend_id,
              ...(event.kind === 'disputed' ? { reason: event.reason } : {}),
            },
          })
          .execute();
        await this.markProcessed(provider, event.eventId);
        return { outcome: 'recorded', detail: event.kind };
      }
    }
  }

  /** What the customer's browser polls after Checkout: pending until the verified event arrives. */
  async checkoutResult(sessionId: string) {
    const payment = await this.paymentByKey(sessionId);
    if (!payment) throw new RasidError('not_found', `checkout ${sessionId} is unknown`);
    if (!payment.vend_id) return { status: payment.status, vendId: null, token: null, receipt: null };
    const vend = await this.db
      .selectFrom('vends')
      .select(['id', 'token', 'receipt', 'status'])
      .where('id', '=', payment.vend_id)
      .executeTakeFirstOrThrow();
    return { status: payment.status, vendId: vend.id, token: vend.token, receipt: vend.receipt };
  }

  /**
   * An operator's refund of a paid online payment through its provider's API; recorded as the provider's
   * refund event (once by the refund's id) with an audit row. The customer's credit is not taken back here.
   */
  async refund(input: {
    utilityId: UtilityId;
    paymentId: PaymentId;
    reason: string;
    actor: string;
  }): Promise<{ refundId: string; amountMinor: bigint; status: string }> {
    const payment = await this.db
      .selectFrom('payments')
      .selectAll()
      .where('utility_id', '=', input.utilityId)
      .where('id', '=', input.paymentId)
      .executeTakeFirst();
    if (!payment) throw new RasidError('not_found', `payment ${input.paymentId} is unknown`);
    if (payment.status !== 'succeeded' || !payment.provider_payment_ref) {
      throw new RasidError('conflict', `payment ${input.paymentId} is ${payment.status}: nothing to refund`);
    }
    const provider = this.registry.get(payment.provider);
    if (!provider.refund) {
      throw new RasidError('conflict', `refunds through ${provider.name} are made in its own dashboard`);
    }
    const amount = BigInt(payment.amount_minor) - BigInt(payment.refunded_minor);
    const done = await provider.refund({
      paymentRef: payment.provider_payment_ref,
      amountMinor: amount,
      reason: input.reason,
      reference: payment.id,
    });
    await this.apply(
      {
        kind: 'refunded',
        eventId: `refund:${done.refundId}`,
        paymentRef: payment.provider_payment_ref,
        amountMinor: BigInt(payment.refunded_minor) + done.amountMinor,
      },
      provider,
      input.actor,
    );
    const after = await this.db
      .selectFrom('payments')
      .select('status')
      .where('id', '=', payment.id)
      .executeTakeFirstOrThrow();
    return { refundId: done.refundId, amountMinor: done.amountMinor, status: after.status };
  }
}

/**
 * Sets the utility's payment provider (null: the installation's default), with an audit row naming the
 * provider before and after. The caller has checked that the name is one this installation offers.
 */
export async function choosePaymentProvider(
  db: Queryable,
  input: { utilityId: UtilityId; provider: string | null; actor: string },
): Promise<void> {
  const before = await chosenPaymentProvider(db, input.utilityId);
  await db
    .updateTable('utilities')
    .set({ payment_provider: input.provider })
    .where('id', '=', input.utilityId)
    .execute();
  await writeAudit(db, {
    utilityId: input.utilityId,
    actor: input.actor,
    action: 'utility.payment_provider',
    subject: `utility:${input.utilityId}`,
    details: { from: before, to: input.provider },
  });
}
