/** Sign-in for people (operators, technicians, service agents, vendors' staff, admins): bearer sessions. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { verifySecret } from '../../security/secrets.ts';
import type { Database } from '../../store/schema.ts';
import { newSecret, principalOf, secretDigest } from '../auth.ts';
import { AppError } from '../errors.ts';

export interface SessionRoutesOptions {
  readonly db: Kysely<Database>;
  readonly sessionTtlMs: number;
  readonly publicRateLimit: number;
  readonly now?: () => Date;
}

export const sessionRoutes: FastifyPluginAsync<SessionRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const now = opts.now ?? (() => new Date());

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
      const token = newSecret('rss_');
      const expiresAt = new Date(now().getTime() + opts.sessionTtlMs);
      await opts.db
        .insertInto('sessions')
        .values({
          token_hash: secretDigest(token),
          utility_id: user.utility_id,
          user_id: user.id,
          expires_at: expiresAt,
        })
        .execute();
      return reply.status(201).send({ token, role: user.role, expiresAt: expiresAt.toISOString() });
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
