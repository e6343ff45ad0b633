/**
 * Sign-in for people: staff (operators, technicians, service agents, vendors' staff, admins) with a username
 * and password, customers with a one-time code sent by SMS or e-mail to the phone or address the utility
 * holds for them. Either way the answer is a bearer session (src/sessions/service.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import {
  requestCode,
  type SessionPolicy,
  signInWithCode,
  signInWithPassword,
  signOut,
  sixDigits,
} from '../../sessions/service.ts';
import type { Database } from '../../store/schema.ts';
import { principalOf } from '../auth.ts';
import { tokenSmsRoutes } from './token-sms.ts';

export interface SessionRoutesOptions {
  readonly db: Kysely<Database>;
  readonly sessionTtlMs: number;
  readonly publicRateLimit: number;
  readonly now?: () => Date;
  /** One-time codes: how long one is good for (default 10 minutes). */
  readonly codeTtlMs?: number;
  /** Wrong tries before a code is spent (default 5). */
  readonly codeMaxAttempts?: number;
  /** Codes sent to one customer per hour at most (default 5); more requests are answered but send nothing. */
  readonly codesPerHour?: number;
  /** The one-time code (default: 6 random digits); tests may fix it. */
  readonly newCode?: () => string;
}

/** A phone number in E.164, or an e-mail address: where the utility reaches the customer. */
const Contact = z
  .string()
  .trim()
  .min(3)
  .max(254)
  .transform((s) => (s.includes('@') ? s.toLowerCase() : s.replace(/[\s().-]/g, '').replace(/^00/, '+')))
  .pipe(
    z.union([
      z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'an E.164 phone number such as +96891000001'),
      z.email('an e-mail address'),
    ]),
  )
  .describe('the phone number (E.164) or e-mail address the utility holds for the customer');

export const sessionRoutes: FastifyPluginAsync<SessionRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const policy: SessionPolicy = {
    now: opts.now ?? (() => new Date()),
    sessionTtlMs: opts.sessionTtlMs,
    codeTtlMs: opts.codeTtlMs ?? 10 * 60_000,
    codeMaxAttempts: opts.codeMaxAttempts ?? 5,
    codesPerHour: opts.codesPerHour ?? 5,
    newCode: opts.newCode ?? sixDigits,
  };

  app.post(
    '/api/v1/sessions/codes',
    {
      config: {
        access: 'public',
        rateLimit: { max: Math.min(opts.publicRateLimit, 20), timeWindow: 60_000 },
      },
      schema: {
        tags: ['sessions'],
        summary:
          'A customer asks for a one-time sign-in code, sent by SMS to a phone or by e-mail to an address ' +
          'the utility holds. The answer is the same whether or not the contact is known',
        body: z.object({
          utility: z.string().min(1).max(32),
          contact: Contact,
          language: z
            .enum(['ar', 'en'])
            .optional()
            .describe('the language of the page asking: the code comes in it (default: the customer’s own)'),
        }),
        response: {
          202: z.object({
            channel: z.enum(['sms', 'email']).describe('how a code goes out to a contact of this form'),
            expiresInSeconds: z.number(),
          }),
        },
      },
    },
    async (req, reply) => {
      return reply.status(202).send(await requestCode(opts.db, policy, req.body));
    },
  );

  app.post(
    '/api/v1/sessions/code',
    {
      config: {
        access: 'public',
        rateLimit: { max: Math.min(opts.publicRateLimit, 20), timeWindow: 60_000 },
      },
      schema: {
        tags: ['sessions'],
        summary:
          'A customer signs in with the one-time code: returns a bearer token for role customer. A wrong, ' +
          'expired, used or over-tried code and an unknown contact all answer the same 401',
        body: z.object({
          utility: z.string().min(1).max(32),
          contact: Contact,
          code: z
            .string()
            .trim()
            .regex(/^\d{6}$/, 'the 6-digit code'),
        }),
        response: {
          201: z.object({ token: z.string(), role: z.literal('customer'), expiresAt: z.string() }),
        },
      },
    },
    async (req, reply) => {
      const session = await signInWithCode(opts.db, policy, req.body);
      return reply.status(201).send({ token: session.token, role: 'customer', expiresAt: session.expiresAt });
    },
  );

  // The token SMS after an online top-up (./token-sms.ts) needs the database, which the payment
  // routes are not given, so it is registered here with this plugin's.
  await fastify.register(tokenSmsRoutes, {
    db: opts.db,
    publicRateLimit: opts.publicRateLimit,
    ...(opts.now ? { now: opts.now } : {}),
  });

  app.post(
    '/api/v1/sessions',
    {
      config: {
        access: 'public',
        rateLimit: { max: Math.min(opts.publicRateLimit, 20), timeWindow: 60_000 },
      },
      schema: {
        tags: ['sessions'],
        summary: 'Sign in with a username and password; returns a bearer token',
        body: z.object({
          utility: z.string().min(1).max(32),
          username: z.string().min(1).max(64),
          password: z.string().min(1).max(256),
        }),
      },
    },
    async (req, reply) => {
      const session = await signInWithPassword(opts.db, policy, { ...req.body, ip: req.ip });
      return reply
        .status(201)
        .send({ token: session.token, role: session.role, expiresAt: session.expiresAt });
    },
  );

  app.delete(
    '/api/v1/sessions/current',
    {
      config: { access: ['customer', 'vendor', 'operator', 'technician', 'service'] },
      schema: { tags: ['sessions'], summary: 'Sign out' },
    },
    async (req, reply) => {
      principalOf(req);
      const auth = req.headers.authorization ?? '';
      await signOut(opts.db, policy, auth.slice(7).trim());
      return reply.status(204).send();
    },
  );
};
