/**
 * What the public routes that send a message to an address the customer types share: their rate limit and
 * the receipt link the message carries (the Checkout e-mail in routes/payments.ts, the token SMS in
 * routes/token-sms.ts).
 */

/**
 * The public routes that send a message to an address the customer types: public, at most 10 a minute
 * from one client (fewer if the public limit is lower).
 */
export function customerSendConfig(publicRateLimit: number) {
  return {
    access: 'public' as const,
    rateLimit: { max: Math.min(publicRateLimit, 10), timeWindow: 60_000 },
  };
}

/**
 * The receipt PDF of a paid top-up, keyed by the payment (as the token page is), at the address the
 * customer's browser reached Rasid by.
 */
export function receiptLink(
  req: { protocol: string; host: string },
  paymentId: string,
  language: 'ar' | 'en',
): string {
  return `${req.protocol}://${req.host}/api/v1/checkout/${paymentId}/receipt?lang=${language}`;
}
