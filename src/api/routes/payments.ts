/**
 * Online top-up routes: start a Checkout, receive the provider's webhook (raw body, signature always
 * verified), and let the customer's browser fetch the token once the payment is confirmed.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PaymentService } from '../../payments/service.ts';
import type { VendingService } from '../../vending/service.ts';
import { MinorAmount } from './vending.ts';

export interface PaymentRoutesOptions {
  readonly payments: PaymentService;
  readonly vending: VendingService;
  /** Where Checkout sends the customer back (the web app's top-up page). */
  /** Where Checkout sends the customer back (a function: the listening port may be known only later). */
  readonly returnUrl: string | (() => string);
  readonly publicRateLimit: number;
}

export const paymentRoutes: FastifyPluginAsync<PaymentRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const publicLimit = { max: opts.publicRateLimit, timeWindow: 60_000 };

  app.post(
    '/api/v1/utilities/:utility/checkout',
    {
      config: { access: 'public', rateLimit: publicLimit },
      schema: {
        tags: ['top-up'],
        summary: 'Start an online top-up: returns the payment page URL',
        params: z.object({ utility: z.string().min(1).max(32) }),
        body: z.object({ meter: z.string().min(3).max(40), amountMinor: MinorAmount }),
        response: { 201: z.object({ paymentId: z.string(), sessionId: z.string(), url: z.string() }) },
      },
    },
    async (req, reply) => {
      const utility = await opts.vending.utilityByCode(req.params.utility);
      const started = await opts.payments.startCheckout({
        utilityId: utility.id,
        meter: req.body.meter,
        amountMinor: req.body.amountMinor,
        returnUrl: typeof opts.returnUrl === 'function' ? opts.returnUrl() : opts.returnUrl,
      });
      return reply.status(201).send(started);
    },
  );

  app.get(
    '/api/v1/checkout/:sessionId',
    {
      config: { access: 'public', rateLimit: { max: opts.publicRateLimit * 5, timeWindow: 60_000 } },
      schema: {
        tags: ['top-up'],
        summary:
          'The result of a Checkout: pending until the verified payment event, then the token and receipt',
        params: z.object({ sessionId: z.string().min(8).max(255) }),
      },
    },
    async (req) => opts.payments.checkoutResult(req.params.sessionId),
  );

  // The webhook needs the raw bytes for the signature: its own context with a buffer body parser.
  await fastify.register(async (raw) => {
    raw.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: 1_048_576 },
      (_req, body, done) => done(null, body),
    );
    raw.post(
      '/api/v1/payments/stripe/webhook',
      {
        config: { access: 'public' },
        schema: { tags: ['payments'], summary: 'Stripe webhook (signature verified)' },
      },
      async (req) => {
        const outcome = await opts.payments.handleWebhook(req.body as Buffer, req.headers);
        return outcome.outcome === 'vended'
          ? {
              received: true,
              outcome: outcome.outcome,
              vendId: outcome.vend.vendId,
              replayed: outcome.vend.replayed,
            }
          : { received: true, outcome: outcome.outcome };
      },
    );
  });
};
