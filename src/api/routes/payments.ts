/**
 * Online top-up routes: start a Checkout, receive the provider's webhook (raw body, signature always
 * verified), and let the customer's browser fetch the token once the payment is confirmed.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ExpressionBuilder, Kysely } from 'kysely';
import { z } from 'zod';
import { notify } from '../../notify/audience.ts';
import type { PaymentService } from '../../payments/service.ts';
import type { Database, PaymentId } from '../../store/schema.ts';
import type { VendingService } from '../../vending/service.ts';
import { actorOf, principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
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
      const row = await opts.db
        .selectFrom('utilities')
        .select('payment_provider')
        .where('id', '=', p.utilityId)
        .executeTakeFirstOrThrow();
      return {
        provider: provider.name,
        chosen: row.payment_provider !== null,
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
      const before = await opts.db
        .selectFrom('utilities')
        .select('payment_provider')
        .where('id', '=', p.utilityId)
        .executeTakeFirstOrThrow();
      await opts.db
        .updateTable('utilities')
        .set({ payment_provider: name })
        .where('id', '=', p.utilityId)
        .execute();
      await opts.db
        .insertInto('audit_log')
        .values({
          utility_id: p.utilityId,
          actor: actorOf(p),
          action: 'utility.payment_provider',
          subject: `utility:${p.utilityId}`,
          details: { from: before.payment_provider, to: name },
        })
        .execute();
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
      const key = req.params.sessionId;
      const sale = await opts.db
        .selectFrom('payments as p')
        .innerJoin('vends as v', 'v.id', 'p.vend_id')
        .select(['p.id as payment_id', 'v.id', 'v.utility_id', 'v.receipt', 'v.token', 'v.status'])
        .where((eb) => byCheckoutKey(eb, key))
        .executeTakeFirst();
      if (!sale) throw new AppError('not_found', `checkout ${key} has no receipt (yet)`);
      const prefix = `receipt_email:${sale.id}:`;
      const n = await sentSoFar(opts.db, prefix);
      if (n >= 3) throw new AppError('rate_limited', `the receipt was already e-mailed ${n} times`);
      const r = sale.receipt as {
        receiptNumber: string;
        meter: { serial: string };
        amountPaid: string;
        utility: { currency: string };
        units: { value: string; unit: 'kWh' | 'm³' };
      };
      const [id = null] = await notify(opts.db, {
        utilityId: sale.utility_id,
        to: { channel: 'email', recipient: req.body.email, language: req.body.language },
        template: 'vend_receipt',
        payload: {
          receiptNumber: r.receiptNumber.slice(0, 8).toUpperCase(),
          meterSerial: r.meter.serial,
          amountPaid: r.amountPaid,
          currency: r.utility.currency.trim(),
          units: r.units.value,
          unit: r.units.unit,
          token: sale.status === 'completed' ? sale.token : null,
          vendId: sale.id,
          receiptUrl: receiptLink(req, sale.payment_id, req.body.language),
        },
        dedupKey: `${prefix}${n + 1}`,
      });
      if (id === null) throw new AppError('rate_limited', 'another e-mail of this receipt is on its way');
      return reply.status(202).send({ queued: true, left: 2 - n });
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

export interface TokenSmsRoutesOptions {
  readonly db: Kysely<Database>;
  readonly publicRateLimit: number;
  readonly now?: () => Date;
  /** SMS of one token at most (default 3): the number is typed by whoever holds the Checkout session. */
  readonly maxPerToken?: number;
}

/**
 * The public routes that send a message to an address the customer types: public, at most 10 a minute
 * from one client (fewer if the public limit is lower).
 */
function customerSendConfig(publicRateLimit: number) {
  return {
    access: 'public' as const,
    rateLimit: { max: Math.min(publicRateLimit, 10), timeWindow: 60_000 },
  };
}

/**
 * The receipt PDF of a paid top-up, keyed by the payment (as the token page is), at the address the
 * customer's browser reached Rasid by.
 */
function receiptLink(
  req: { protocol: string; host: string },
  paymentId: string,
  language: 'ar' | 'en',
): string {
  return `${req.protocol}://${req.host}/api/v1/checkout/${paymentId}/receipt?lang=${language}`;
}

/**
 * The payment a return page names: the page holds the provider's session id, or Rasid's payment id for
 * providers that do not return theirs.
 */
function byCheckoutKey(eb: ExpressionBuilder<Database & { p: Database['payments'] }, 'p'>, key: string) {
  return z.uuid().safeParse(key).success
    ? eb.or([eb('p.provider_ref', '=', key), eb('p.id', '=', key as PaymentId)])
    : eb('p.provider_ref', '=', key);
}

/** How many messages under this dedup-key prefix are already in the outbox (each send takes the next number). */
async function sentSoFar(db: Kysely<Database>, prefix: string): Promise<number> {
  const sent = await db
    .selectFrom('notifications_outbox')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('dedup_key', 'like', `${prefix}%`)
    .executeTakeFirstOrThrow();
  return Number(sent.n);
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
      config: customerSendConfig(opts.publicRateLimit),
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
        .select([
          'v.id',
          'v.utility_id',
          'v.token',
          'v.receipt',
          'v.status',
          'm.serial',
          'm.kind',
          'p.id as payment_id',
        ])
        .where((eb) => byCheckoutKey(eb, req.params.sessionId))
        .executeTakeFirst();
      if (!vend) throw new AppError('not_found', `checkout ${req.params.sessionId} has no token (yet)`);
      if (vend.token === null || vend.status !== 'completed') {
        throw new AppError('conflict', 'this top-up has no token to send');
      }
      const prefix = `token_sms:${vend.id}:`;
      const n = await sentSoFar(opts.db, prefix);
      if (n >= maxPerToken) throw new AppError('rate_limited', `the token was already sent ${n} times`);
      const units = (vend.receipt as { units?: { value?: unknown } }).units?.value;
      const [id = null] = await notify(opts.db, {
        utilityId: vend.utility_id,
        to: { channel: 'sms', recipient: req.body.phone, language: req.body.language },
        template: 'token_delivery',
        payload: {
          meterSerial: vend.serial,
          token: vend.token,
          units: typeof units === 'string' ? units : '0',
          unit: vend.kind === 'water' ? 'm³' : 'kWh',
          receiptUrl: receiptLink(req, vend.payment_id, req.body.language),
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
