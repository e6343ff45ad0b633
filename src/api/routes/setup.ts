/**
 * The first run of a fresh install (src/utilities/setup.ts): whether it needs setting up, and the one call
 * that makes the first utility and its admin (the install's platform administrator) with the setup code
 * `rasid start` printed. Public, rate-limited, and closed for good once a utility exists.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../store/schema.ts';
import { createUtility, NewUtilityInput, UtilityExistsError } from '../../utilities/create.ts';
import { installIsSetUp, spendSetupCode } from '../../utilities/setup.ts';
import { AppError } from '../errors.ts';

export interface SetupRoutesOptions {
  readonly db: Kysely<Database>;
}

export const setupRoutes: FastifyPluginAsync<SetupRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  app.get(
    '/api/v1/setup',
    {
      config: { access: 'public' },
      schema: {
        tags: ['setup'],
        summary: 'Whether this install still needs its first utility (the first-run screen)',
        response: { 200: z.object({ needed: z.boolean() }) },
      },
    },
    async () => ({ needed: !(await installIsSetUp(db)) }),
  );

  app.post(
    '/api/v1/setup',
    {
      config: { access: 'public', rateLimit: { max: 10, timeWindow: 60_000 } },
      schema: {
        tags: ['setup'],
        summary:
          'First run: create the first utility and its admin with the one-time setup code printed at start',
        body: NewUtilityInput.extend({ setupCode: z.string().trim().min(8).max(40) }),
        response: {
          201: z.object({ code: z.string(), admin: z.string(), currency: z.string(), exponent: z.number() }),
        },
      },
    },
    async (req, reply) => {
      if (await installIsSetUp(db)) throw new AppError('setup_closed', 'this install has a utility already');
      const { setupCode, ...input } = req.body;
      if (!(await spendSetupCode(db, setupCode))) {
        throw new AppError(
          'setup_closed',
          'setupCode: wrong or spent; the log of the last start shows the current one',
        );
      }
      try {
        const made = await createUtility(db, input, { actor: 'system:setup', platformAdmin: true });
        return reply
          .status(201)
          .send({ code: made.code, admin: input.admin, currency: made.currency, exponent: made.exponent });
      } catch (err) {
        if (err instanceof UtilityExistsError) throw new AppError('setup_closed', err.message);
        throw err;
      }
    },
  );
};
