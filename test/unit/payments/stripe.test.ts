import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PaymentEvent, PaymentSignatureError } from '../../../src/payments/provider.ts';
import { StripeProvider } from '../../../src/payments/stripe.ts';
import { LocalStripe } from '../../../src/payments/stripe-local.ts';

const SECRET = 'whsec_rasid_test_secret';

describe('StripeProvider with the real SDK against the local Stripe-compatible server', () => {
  const stripe = new LocalStripe({ webhookSecret: SECRET });
  let provider: StripeProvider;
  let receiver: Server;
  const received: (PaymentEvent | Error)[] = [];

  beforeAll(async () => {
    const apiBase = await stripe.start();
    provider = new StripeProvider({ secretKey: 'sk_test_rasid', webhookSecret: SECRET, apiBase });
    // A webhook endpoint that verifies exactly as Rasid's route does: raw body + headers.
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          received.push(provider.verifyEvent(Buffer.concat(chunks), req.headers));
          res.statusCode = 200;
        } catch (err) {
          received.push(err as Error);
          res.statusCode = 400;
        }
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    stripe.setWebhookUrl(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhook`);
  });
  afterAll(async () => {
    await stripe.stop();
    await new Promise<void>((r) => receiver.close(() => r()));
  });

  it('creates one checkout session per idempotency key', async () => {
    const request = {
      reference: 'pay_1',
      amountMinor: 5000n,
      currency: 'OMR',
      description: 'Electricity top-up',
      successUrl: 'http://127.0.0.1/ok?session={CHECKOUT_SESSION_ID}',
      cancelUrl: 'http://127.0.0.1/cancel',
      idempotencyKey: 'idem-1',
    };
    const a = await provider.createCheckout(request);
    const b = await provider.createCheckout(request);
    expect(a.sessionId).toBe(b.sessionId);
    expect(a.url).toContain(`/pay/${a.sessionId}`);
    const session = stripe.session(a.sessionId);
    expect(session).toMatchObject({ amount_total: 5000, currency: 'omr', client_reference_id: 'pay_1' });
  });

  it('turns a signed checkout.session.completed into payment_succeeded, refunds and disputes too', async () => {
    const s = await provider.createCheckout({
      reference: 'pay_2',
      amountMinor: 12_340n,
      currency: 'BHD',
      description: 'Water top-up',
      successUrl: 'http://127.0.0.1/ok',
      cancelUrl: 'http://127.0.0.1/cancel',
      idempotencyKey: 'idem-2',
    });
    received.length = 0;
    expect(await stripe.pay(s.sessionId)).toBe(200);
    expect(await stripe.refund(s.sessionId, 2000)).toBe(200);
    expect(await stripe.dispute(s.sessionId)).toBe(200);
    const [paid, refunded, disputed] = received as PaymentEvent[];
    expect(paid).toMatchObject({
      kind: 'payment_succeeded',
      sessionId: s.sessionId,
      reference: 'pay_2',
      amountMinor: 12_340n,
      currency: 'BHD',
    });
    const paymentRef = paid?.kind === 'payment_succeeded' ? paid.paymentRef : null;
    expect(paymentRef).toMatch(/^pi_/);
    expect(refunded).toMatchObject({ kind: 'refunded', paymentRef, amountMinor: 2000n });
    expect(disputed).toMatchObject({ kind: 'disputed', paymentRef, reason: 'fraudulent' });
  });

  it('refuses a tampered body, a wrong secret and a missing signature', () => {
    const signed = stripe.signEvent('checkout.session.completed', { id: 'cs_x', object: 'checkout.session' });
    const tampered = signed.body.replace('cs_x', 'cs_y');
    expect(() => provider.verifyEvent(tampered, { 'stripe-signature': signed.signature })).toThrow(
      PaymentSignatureError,
    );
    const other = new LocalStripe({ webhookSecret: 'whsec_other' }).signEvent('charge.refunded', {});
    expect(() => provider.verifyEvent(other.body, { 'stripe-signature': other.signature })).toThrow(
      PaymentSignatureError,
    );
    expect(() => provider.verifyEvent(signed.body, {})).toThrow(PaymentSignatureError);
    expect(provider.verifyEvent(signed.body, { 'stripe-signature': signed.signature })).toMatchObject({
      kind: 'ignored',
    });
  });
});
