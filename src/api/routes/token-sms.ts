/**
 * After an online top-up, the customer may have the token sent by SMS to a number they type: the message
 * (template `token_delivery`, in the language they read the page in) goes through the notifications outbox
 * (src/payments/checkout-sends.ts). The Checkout session id in the return address is the key, as for reading
 * the token itself.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { smsCheckoutToken } from '../../payments/checkout-sends.ts';
import type { Database } from '../../store/schema.ts';
import { customerSendConfig, receiptLink } from '../customer-sends.ts';

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

/** The route that sends the token of a paid Checkout by SMS to a number the customer types. */
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
      const { left } = await smsCheckoutToken(opts.db, {
        key: req.params.sessionId,
        phone: req.body.phone,
        language: req.body.language,
        maxPerToken,
        receiptUrl: (paymentId) => receiptLink(req, paymentId, req.body.language),
      });
      return reply.status(202).send({ queued: true, to: maskPhone(req.body.phone), left });
    },
  );
};
