/**
 * Online top-up routes: start a Checkout, receive the provider's webhook (raw body, signature always
 * verified), and let the customer's browser fetch the token once the payment is confirmed.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { emailCheckoutReceipt } from '../../payments/checkout-sends.ts';
import { chosenPaymentProvider } from '../../payments/queries.ts';
import { choosePaymentProvider, type PaymentService } from '../../payments/service.ts';
import type { Database, PaymentId } from '../../store/schema.ts';
import type { VendingService } from '../../vending/service.ts';
import { actorOf, principalOf } from '../auth.ts';
import { customerSendConfig, receiptLink } from '../customer-sends.ts';
import { MinorAmount } from '../schemas/amounts.ts';

export interface PaymentRoutesOptions {
  readonly db: Kysely<Database>;
  readonly payments: PaymentService;
  readonly vending: VendingService;
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

  app.get(
    '/api/v1/utility/payment-provider',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['payments'],
        summary: "The utility's payment provider and the providers this installation offers",
        response: {
          200: z.object({ provider: z.string(), chosen: z.boolean(), available: z.array(z.string()) }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const provider = await opts.payments.registry.forUtility(opts.db, p.utilityId);
      const chosen = await chosenPaymentProvider(opts.db, p.utilityId);
      return {
        provider: provider.name,
        chosen: chosen !== null,
        available: opts.payments.registry.names(),
      };
    },
  );

  app.put(
    '/api/v1/utility/payment-provider',
    {
      config: { access: ['admin'] },
      schema: {
        tags: ['payments'],
        summary: "Choose the utility's payment provider (null: the installation's default)",
        body: z.object({
          provider: z
            .string()
            .regex(/^[a-z][a-z0-9_-]{1,31}$/)
            .nullable(),
        }),
        response: { 200: z.object({ provider: z.string() }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const name = req.body.provider;
      if (name !== null) opts.payments.registry.get(name);
      await choosePaymentProvider(opts.db, { utilityId: p.utilityId, provider: name, actor: actorOf(p) });
      return { provider: name ?? opts.payments.registry.defaultName };
    },
  );

  app.post(
    '/api/v1/payments/:paymentId/refund',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['payments'],
        summary: "Refund a paid online payment through its provider's API (Thawani, hosted payment page)",
        params: z.object({ paymentId: z.uuid() }),
        body: z.object({ reason: z.string().trim().min(3).max(200) }),
        response: {
          200: z.object({ refundId: z.string(), amountMinor: z.string(), status: z.string() }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const out = await opts.payments.refund({
        utilityId: p.utilityId,
        paymentId: req.params.paymentId as PaymentId,
        reason: req.body.reason,
        actor: actorOf(p),
      });
      return { refundId: out.refundId, amountMinor: out.amountMinor.toString(), status: out.status };
    },
  );

  app.post(
    '/api/v1/checkout/:sessionId/email',
    {
      config: customerSendConfig(opts.publicRateLimit),
      schema: {
        tags: ['top-up'],
        summary:
          'E-mail the receipt of a paid top-up, PDF attached, to an address the customer gives (3 times per sale at most)',
        params: z.object({ sessionId: z.string().min(8).max(255) }),
        body: z.object({ email: z.email().max(254), language: z.enum(['ar', 'en']) }),
        response: { 202: z.object({ queued: z.literal(true), left: z.number() }) },
      },
    },
    async (req, reply) => {
      const { left } = await emailCheckoutReceipt(opts.db, {
        key: req.params.sessionId,
        email: req.body.email,
        language: req.body.language,
        receiptUrl: (paymentId) => receiptLink(req, paymentId, req.body.language),
      });
      return reply.status(202).send({ queued: true, left });
    },
  );

  // Webhooks need the raw bytes for the signature: their own context with buffer body parsers.
  await fastify.register(async (raw) => {
    for (const type of ['application/json', 'application/x-www-form-urlencoded']) {
      raw.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: 1_048_576 }, (_req, body, done) =>
        done(null, body),
      );
    }
    raw.post(
      '/api/v1/payments/:provider/webhook',
      {
        config: { access: 'public', rateLimit: { max: opts.publicRateLimit * 10, timeWindow: 60_000 } },
        schema: {
          tags: ['payments'],
          summary:
            "A payment provider's server-to-server notification (stripe, thawani, hpp): signature always verified",
          params: z.object({ provider: z.string().regex(/^[a-z][a-z0-9_-]{1,31}$/) }),
        },
      },
      async (req) => {
        const { provider } = req.params as { provider: string };
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const outcome = await opts.payments.handleWebhook(body, req.headers, provider);
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
