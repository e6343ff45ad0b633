/**
 * The payment-provider port (STYLE.md practice 8). Stripe is one adapter; another provider (mobile money,
 * a bank gateway) is one more file implementing this interface. Providers never issue tokens: they only
 * start a payment and turn the provider's signed notification into a verified PaymentEvent; vending issues
 * the token when the event says the money arrived.
 */

export interface CheckoutRequest {
  /** Rasid's reference for this payment (the payment row id); echoed back in the events. */
  readonly reference: string;
  readonly amountMinor: bigint;
  /** ISO 4217 code, e.g. OMR. */
  readonly currency: string;
  /** What the customer sees on the provider's page, e.g. "Electricity top-up, meter 0123…". */
  readonly description: string;
  readonly successUrl: string;
  readonly cancelUrl: string;
  /** Retries of the same request must reuse the key so the provider creates one session. */
  readonly idempotencyKey: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface CheckoutSession {
  readonly provider: string;
  /** The provider's id of the session (e.g. cs_...). */
  readonly sessionId: string;
  /** Where to send the customer to pay. */
  readonly url: string;
}

/** A verified notification from the provider. `eventId` makes processing idempotent. */
export type PaymentEvent =
  | {
      readonly kind: 'payment_succeeded';
      readonly eventId: string;
      readonly sessionId: string;
      /** The provider's id of the money movement (e.g. a PaymentIntent), used by later refunds and disputes. */
      readonly paymentRef: string | null;
      readonly reference: string | null;
      readonly amountMinor: bigint;
      readonly currency: string;
    }
  | {
      readonly kind: 'refunded';
      readonly eventId: string;
      readonly paymentRef: string;
      readonly amountMinor: bigint;
    }
  | {
      readonly kind: 'disputed';
      readonly eventId: string;
      readonly paymentRef: string;
      readonly amountMinor: bigint;
      readonly reason: string;
    }
  | { readonly kind: 'ignored'; readonly eventId: string; readonly type: string };

/** The notification could not be verified: nothing may change because of it. */
export class PaymentSignatureError extends Error {
  override readonly name = 'PaymentSignatureError';
}

export interface PaymentProvider {
  readonly name: string;
  createCheckout(request: CheckoutRequest): Promise<CheckoutSession>;
  /** Verifies the signature over the raw body and decodes the event; throws PaymentSignatureError. */
  verifyEvent(
    rawBody: string | Buffer,
    headers: Readonly<Record<string, string | string[] | undefined>>,
  ): PaymentEvent;
}
