/**
 * Online top-up routes: start a Checkout, receive the provider's webhook (raw body, signature always
 * verified), and let the customer's browser fetch the token once the payment is confirmed.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { enqueueNotification } from '../../notify/outbox.ts';
import type { PaymentService } from '../../payments/service.ts';
import type { Database } from '../../store/schema.ts';
import type { VendingService } from '../../vending/service.ts';
import { AppError } from '../errors.ts';
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

export interface TokenSmsRoutesOptions {
  readonly db: Kysely<Database>;
  readonly publicRateLimit: number;
  readonly now?: () => Date;
  /** SMS of one token at most (default 3): the number is typed by whoever holds the Checkout session. */
  readonly maxPerToken?: number;
}

/** "+96891000001" → "+968•••••0001": enough for the customer to recognise, not to read off a screen. */
function maskPhone(phone: string): string {
  return `${phone.slice(0, 4)}${'•'.repeat(Math.max(0, phone.length - 8))}${phone.slice(-4)}`;
}

/**
 * After an online top-up, the customer may have the token sent by SMS to a number they type: the message
 * (template `token_delivery`, in the language they read the page in) goes through the notifications outbox.
 * The Checkout session id in the return address is the key, as for reading the token itself.
 */
export const tokenSmsRoutes: FastifyPluginAsync<TokenSmsRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const maxPerToken = opts.maxPerToken ?? 3;

  app.post(
    '/api/v1/checkout/:sessionId/sms',
    {
      config: {
        access: 'public',
        rateLimit: { max: Math.min(opts.publicRateLimit, 10), timeWindow: 60_000 },
      },
      schema: {
        tags: ['top-up'],
        summary:
          'Send the token of a paid Checkout by SMS to a number the customer gives (3 times per token at most)',
        params: z.object({ sessionId: z.string().min(8).max(255) }),
        body: z.object({
          phone: z
            .string()
            .trim()
            .transform((s) => s.replace(/[\s().-]/g, '').replace(/^00/, '+'))
            .pipe(z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'an E.164 phone number such as +96891000001')),
          language: z.enum(['ar', 'en']),
        }),
        response: { 202: z.object({ queued: z.literal(true), to: z.string(), left: z.number() }) },
      },
    },
    async (req, reply) => {
      const vend = await opts.db
        .selectFrom('payments as p')
        .innerJoin('vends as v', 'v.id', 'p.vend_id')
        .innerJoin('meters as m', 'm.id', 'v.meter_id')
        .select(['v.id', 'v.utility_id', 'v.token', 'v.receipt', 'v.status', 'm.serial', 'm.kind'])
        .where('p.provider_ref', '=', req.params.sessionId)
        .executeTakeFirst();
      if (!vend) throw new AppError('not_found', `checkout ${req.params.sessionId} has no token (yet)`);
      if (vend.token === null || vend.status !== 'completed') {
        throw new AppError('conflict', 'this top-up has no token to send');
      }
      const prefix = `token_sms:${vend.id}:`;
      const sent = await opts.db
        .selectFrom('notifications_outbox')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('dedup_key', 'like', `${prefix}%`)
        .executeTakeFirstOrThrow();
      const n = Number(sent.n);
      if (n >= maxPerToken) throw new AppError('rate_limited', `the token was already sent ${n} times`);
      const units = (vend.receipt as { units?: { value?: unknown } }).units?.value;
      const id = await enqueueNotification(opts.db, {
        utilityId: vend.utility_id,
        channel: 'sms',
        recipient: req.body.phone,
        template: 'token_delivery',
        language: req.body.language,
        payload: {
          meterSerial: vend.serial,
          token: vend.token,
          units: typeof units === 'string' ? units : '0',
          unit: vend.kind === 'water' ? 'm³' : 'kWh',
        },
        // One key per send: two requests racing for the same slot write one row.
        dedupKey: `${prefix}${n + 1}`,
      });
      if (id === null) throw new AppError('rate_limited', 'another SMS of this token is on its way');
      return reply
        .status(202)
        .send({ queued: true, to: maskPhone(req.body.phone), left: maxPerToken - n - 1 });
    },
  );
};
