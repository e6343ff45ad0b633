/**
 * The payment-provider port (docs/style.md practice 8). Stripe, Thawani and the generic hosted payment page are
 * adapters (docs/payments.md); another provider is one more file implementing this interface, added to the
 * registry (registry.ts). Providers never issue tokens: they only start a payment and turn the provider's
 * signed notification into a verified PaymentEvent; vending issues the token when the event says the money
 * arrived (and, for providers that can be asked, when the provider confirms it when read back).
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

/** A session as the provider reports it when asked (read back before a token is issued). */
export interface SessionStatus {
  readonly sessionId: string;
  readonly paid: boolean;
  readonly amountMinor: bigint;
  readonly currency: string;
  /** The provider's id of the money movement, used by refunds. */
  readonly paymentRef: string | null;
  readonly reference: string | null;
}

export interface RefundRequest {
  /** The provider's id of the money movement (`payments.provider_payment_ref`). */
  readonly paymentRef: string;
  readonly amountMinor: bigint;
  readonly reason: string;
  /** Rasid's payment id. */
  readonly reference: string;
}

export interface RefundResult {
  readonly refundId: string;
  readonly amountMinor: bigint;
}

export interface PaymentProvider {
  readonly name: string;
  /**
   * True when the provider puts its session id into the success address in place of `{CHECKOUT_SESSION_ID}`
   * (Stripe). Otherwise Rasid's reference goes there and the customer's page finds the payment by it.
   */
  readonly substitutesSessionId: boolean;
  /**
   * The provider's own view of a session. When present, a notification is only a hint: no token is issued
   * until the session read back says paid, for the amount and currency of the payment.
   */
  retrieveSession?(sessionId: string): Promise<SessionStatus>;
  /** Refunds a payment through the provider's API (an operator's refund from Rasid). */
  refund?(request: RefundRequest): Promise<RefundResult>;
  createCheckout(request: CheckoutRequest): Promise<CheckoutSession>;
  /** Verifies the signature over the raw body and decodes the event; throws PaymentSignatureError. */
  verifyEvent(
    rawBody: string | Buffer,
    headers: Readonly<Record<string, string | string[] | undefined>>,
  ): PaymentEvent;
}
