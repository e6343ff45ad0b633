/**
 * Sign-in for people: staff (operators, technicians, service agents, vendors' staff, admins) with a username
 * and password, customers with a one-time code sent by SMS or e-mail to the phone or address the utility
 * holds for them. Either way the answer is a bearer session.
 */
import { randomInt, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { enqueueNotification } from '../../notify/outbox.ts';
import { verifySecret } from '../../security/secrets.ts';
import type { CustomerId, Database, UserId, UtilityId } from '../../store/schema.ts';
import { newSecret, principalOf, secretDigest } from '../auth.ts';
import { AppError } from '../errors.ts';
import { tokenSmsRoutes } from './payments.ts';

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

/** Marks a customer's user row: it has no password; only one-time codes sign it in (never verifies). */
const NO_PASSWORD = '!one-time-code-only';

/** SHA-256 of the code with the user id (so equal codes of two people never share a hash). */
function codeDigest(userId: UserId, code: string): string {
  return secretDigest(`${userId}:${code}`);
}

function sixDigits(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

export const sessionRoutes: FastifyPluginAsync<SessionRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const now = opts.now ?? (() => new Date());
  const codeTtlMs = opts.codeTtlMs ?? 10 * 60_000;
  const codeMaxAttempts = opts.codeMaxAttempts ?? 5;
  const codesPerHour = opts.codesPerHour ?? 5;
  const newCode = opts.newCode ?? sixDigits;

  async function startSession(utilityId: UtilityId, userId: UserId) {
    const token = newSecret('rss_');
    const expiresAt = new Date(now().getTime() + opts.sessionTtlMs);
    await opts.db
      .insertInto('sessions')
      .values({
        token_hash: secretDigest(token),
        utility_id: utilityId,
        user_id: userId,
        expires_at: expiresAt,
      })
      .execute();
    return { token, expiresAt: expiresAt.toISOString() };
  }

  /**
   * The customer a contact belongs to in a utility: the oldest customer with that phone or e-mail who holds
   * an account (a contact shared by two customers signs in the first one). Null when there is none.
   */
  async function customerByContact(utility: string, contact: string) {
    const byEmail = contact.includes('@');
    let query = opts.db
      .selectFrom('customers as c')
      .innerJoin('utilities as u', 'u.id', 'c.utility_id')
      .select(['c.id', 'c.utility_id', 'c.name', 'c.preferred_language', 'c.phone', 'c.email'])
      .where('u.code', '=', utility)
      .where((eb) =>
        eb.exists(eb.selectFrom('accounts as a').select('a.id').whereRef('a.customer_id', '=', 'c.id')),
      );
    query = byEmail
      ? query.where((eb) => eb(eb.fn('lower', ['c.email']), '=', contact))
      : query.where('c.phone', '=', contact);
    return (await query.orderBy('c.created_at').orderBy('c.id').limit(1).executeTakeFirst()) ?? null;
  }

  /** The customer's own user (role customer), made on their first code; null if it was disabled. */
  async function customerUser(c: { id: CustomerId; utility_id: UtilityId; name: string }) {
    const existing = await opts.db
      .selectFrom('users')
      .select(['id', 'disabled_at'])
      .where('customer_id', '=', c.id)
      .where('role', '=', 'customer')
      .orderBy('created_at')
      .executeTakeFirst();
    if (existing) return existing.disabled_at ? null : existing.id;
    const username = `customer-${c.id}`;
    await opts.db
      .insertInto('users')
      .values({
        utility_id: c.utility_id,
        username,
        display_name: c.name,
        password_hash: NO_PASSWORD,
        role: 'customer',
        customer_id: c.id,
      })
      .onConflict((oc) => oc.column('username').doNothing())
      .execute();
    const made = await opts.db
      .selectFrom('users')
      .select('id')
      .where('username', '=', username)
      .executeTakeFirstOrThrow();
    return made.id;
  }

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
        body: z.object({ utility: z.string().min(1).max(32), contact: Contact }),
        response: {
          202: z.object({
            channel: z.enum(['sms', 'email']).describe('how a code goes out to a contact of this form'),
            expiresInSeconds: z.number(),
          }),
        },
      },
    },
    async (req, reply) => {
      const { utility, contact } = req.body;
      const channel = contact.includes('@') ? 'email' : 'sms';
      const answer = { channel, expiresInSeconds: Math.round(codeTtlMs / 1000) } as const;
      const customer = await customerByContact(utility, contact);
      const userId = customer ? await customerUser(customer) : null;
      if (!customer || !userId) return reply.status(202).send(answer);
      const at = now();
      const recent = await opts.db
        .selectFrom('one_time_codes')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('user_id', '=', userId)
        .where('created_at', '>', new Date(at.getTime() - 3_600_000))
        .executeTakeFirstOrThrow();
      // Someone asking again and again gets the same answer, and the customer's phone stays quiet.
      if (Number(recent.n) >= codesPerHour) return reply.status(202).send(answer);
      const code = newCode();
      await opts.db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('one_time_codes')
          .values({
            utility_id: customer.utility_id,
            user_id: userId,
            code_hash: codeDigest(userId, code),
            channel,
            created_at: at,
            expires_at: new Date(at.getTime() + codeTtlMs),
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        await enqueueNotification(trx, {
          utilityId: customer.utility_id,
          channel,
          // The address as the utility holds it (the e-mail in its own case).
          recipient: channel === 'sms' ? contact : (customer.email ?? contact),
          template: 'sign_in_code',
          language: customer.preferred_language,
          payload: { code, minutes: Math.max(1, Math.round(codeTtlMs / 60_000)) },
          dedupKey: `sign_in_code:${row.id}`,
        });
      });
      return reply.status(202).send(answer);
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
      const refused = new AppError('unauthenticated', 'the code is wrong or has expired; ask for a new one');
      const customer = await customerByContact(req.body.utility, req.body.contact);
      if (!customer) throw refused;
      const user = await opts.db
        .selectFrom('users')
        .select('id')
        .where('customer_id', '=', customer.id)
        .where('role', '=', 'customer')
        .where('disabled_at', 'is', null)
        .orderBy('created_at')
        .executeTakeFirst();
      if (!user) throw refused;
      const at = now();
      // Only the newest code counts; each try spends one attempt, counted before the comparison.
      const latest = await opts.db
        .selectFrom('one_time_codes')
        .select('id')
        .where('user_id', '=', user.id)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (!latest) throw refused;
      const tried = await opts.db
        .updateTable('one_time_codes')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('id', '=', latest.id)
        .where('used_at', 'is', null)
        .where('expires_at', '>', at)
        .where('attempts', '<', codeMaxAttempts)
        .returning('code_hash')
        .executeTakeFirst();
      if (!tried) throw refused;
      const given = Buffer.from(codeDigest(user.id, req.body.code), 'hex');
      if (!timingSafeEqual(given, Buffer.from(tried.code_hash, 'hex'))) throw refused;
      const spent = await opts.db
        .updateTable('one_time_codes')
        .set({ used_at: at })
        .where('id', '=', latest.id)
        .where('used_at', 'is', null)
        .returning('id')
        .executeTakeFirst();
      if (!spent) throw refused;
      const session = await startSession(customer.utility_id, user.id);
      return reply.status(201).send({ token: session.token, role: 'customer', expiresAt: session.expiresAt });
    },
  );

  // The token SMS after an online top-up lives with the payment routes; it needs the database, which those
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
      const user = await opts.db
        .selectFrom('users')
        .innerJoin('utilities', 'utilities.id', 'users.utility_id')
        .select(['users.id', 'users.utility_id', 'users.role', 'users.password_hash', 'users.disabled_at'])
        .where('utilities.code', '=', req.body.utility)
        .where('users.username', '=', req.body.username)
        .executeTakeFirst();
      // The same answer for an unknown user and a wrong password.
      if (!user || user.disabled_at || !(await verifySecret(req.body.password, user.password_hash))) {
        throw new AppError('unauthenticated', 'unknown user or wrong password');
      }
      const session = await startSession(user.utility_id, user.id);
      return reply.status(201).send({ token: session.token, role: user.role, expiresAt: session.expiresAt });
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
      await opts.db
        .updateTable('sessions')
        .set({ revoked_at: now() })
        .where('token_hash', '=', secretDigest(auth.slice(7).trim()))
        .execute();
      return reply.status(204).send();
    },
  );
};
