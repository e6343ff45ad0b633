import Stripe from 'stripe';
import {
  type CheckoutRequest,
  type CheckoutSession,
  type PaymentEvent,
  type PaymentProvider,
  PaymentSignatureError,
} from './provider.ts';

export interface StripeProviderOptions {
  /** Secret API key (sk_live_… / sk_test_…). */
  readonly secretKey: string;
  /** Webhook endpoint signing secret (whsec_…). */
  readonly webhookSecret: string;
  /** API base URL; only set to point at a local Stripe-compatible server in tests and demos. */
  readonly apiBase?: string;
  /** Signature tolerance in seconds (Stripe's default 300). */
  readonly toleranceSeconds?: number;
}

function toNumber(amount: bigint): number {
  const n = Number(amount);
  if (!Number.isSafeInteger(n)) throw new RangeError(`amount ${amount} is out of range`);
  return n;
}

function header(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string {
  const v = headers[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

function refOf(value: string | { id: string } | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : value.id;
}

/** Stripe Checkout through the official SDK; webhooks verified with the SDK's `constructEvent`. */
export class StripeProvider implements PaymentProvider {
  readonly name = 'stripe';
  readonly substitutesSessionId = true;
  private readonly stripe: Stripe;

  constructor(private readonly opts: StripeProviderOptions) {
    const base = opts.apiBase ? new URL(opts.apiBase) : null;
    this.stripe = new Stripe(opts.secretKey, {
      maxNetworkRetries: 2,
      telemetry: false,
      timeout: 20_000,
      ...(base
        ? {
            host: base.hostname,
            port: base.port || (base.protocol === 'https:' ? 443 : 80),
            protocol: base.protocol === 'https:' ? 'https' : 'http',
          }
        : {}),
    });
  }

  async createCheckout(request: CheckoutRequest): Promise<CheckoutSession> {
    const metadata = { ...request.metadata, rasid_reference: request.reference };
    const session = await this.stripe.checkout.sessions.create(
      {
        mode: 'payment',
        client_reference_id: request.reference,
        success_url: request.successUrl,
        cancel_url: request.cancelUrl,
        metadata,
        payment_intent_data: { metadata },
        line_items: [
          {
            quantity: 1,
            price_data: {
              // Stripe counts three-decimal currencies (OMR, BHD, KWD, JOD) in thousandths, as Rasid does.
              currency: request.currency.toLowerCase(),
              unit_amount: toNumber(request.amountMinor),
              product_data: { name: request.description },
            },
          },
        ],
      },
      { idempotencyKey: request.idempotencyKey },
    );
    if (!session.url) throw new Error('Stripe returned a checkout session without a URL');
    return { provider: this.name, sessionId: session.id, url: session.url };
  }

  verifyEvent(
    rawBody: string | Buffer,
    headers: Readonly<Record<string, string | string[] | undefined>>,
  ): PaymentEvent {
    let event: Stripe.Event;
    try {
      event = this.stripe.webhooks.constructEvent(
        rawBody,
        header(headers, 'stripe-signature'),
        this.opts.webhookSecret,
        this.opts.toleranceSeconds,
      );
    } catch (err) {
      throw new PaymentSignatureError(err instanceof Error ? err.message : 'invalid signature');
    }
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded': {
        const s = event.data.object;
        if (s.payment_status !== 'paid') return { kind: 'ignored', eventId: event.id, type: event.type };
        return {
          kind: 'payment_succeeded',
          eventId: event.id,
          sessionId: s.id,
          paymentRef: refOf(s.payment_intent),
          reference: s.client_reference_id ?? s.metadata?.rasid_reference ?? null,
          amountMinor: BigInt(s.amount_total ?? 0),
          currency: (s.currency ?? '').toUpperCase(),
        };
      }
      case 'charge.refunded': {
        const c = event.data.object;
        const ref = refOf(c.payment_intent);
        if (!ref) return { kind: 'ignored', eventId: event.id, type: event.type };
        return {
          kind: 'refunded',
          eventId: event.id,
          paymentRef: ref,
          amountMinor: BigInt(c.amount_refunded),
        };
      }
      case 'charge.dispute.created': {
        const d = event.data.object;
        const ref = refOf(d.payment_intent);
        if (!ref) return { kind: 'ignored', eventId: event.id, type: event.type };
        return {
          kind: 'disputed',
          eventId: event.id,
          paymentRef: ref,
          amountMinor: BigInt(d.amount),
          reason: d.reason,
        };
      }
      default:
        return { kind: 'ignored', eventId: event.id, type: event.type };
    }
  }
}
