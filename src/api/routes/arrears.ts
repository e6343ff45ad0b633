/**
 * Arrears: a debt recorded on an account (an old bill carried over from the previous billing system, a
 * damaged meter, a bounced cheque), with its reason and an audit row. Vending recovers it at the tariff's
 * debt-recovery share of each payment (net of tax) until it is paid (src/vending/quote.ts); the recovered
 * amount is the account ledger's `debt_recovery` lines, so what is outstanding is always derived. The reads
 * are src/arrears/queries.ts, the change src/arrears/service.ts.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { arrearsView } from '../../arrears/queries.ts';
import { recordArrears } from '../../arrears/service.ts';
import type { AccountId, Database } from '../../store/schema.ts';
import { principalOf } from '../auth.ts';
import { actorFor, PositiveMinor } from './admin-shared.ts';

export interface ArrearsRoutesOptions {
  readonly db: Kysely<Database>;
}

const Amount = z.object({ minor: z.string(), amount: z.string() });
const ArrearsOut = z.object({
  accountId: z.string(),
  currency: z.string(),
  exponent: z.number(),
  recorded: Amount.describe('every debt recorded on the account'),
  recovered: Amount.describe('recovered from payments so far'),
  outstanding: Amount,
  entries: z.array(z.object({ at: z.string(), amount: Amount, reason: z.string(), actor: z.string() })),
});

export const arrearsRoutes: FastifyPluginAsync<ArrearsRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  app.get(
    '/api/v1/accounts/:accountId/arrears',
    {
      config: { access: ['operator', 'service'] },
      schema: {
        tags: ['accounts'],
        summary: "An account's arrears: recorded, recovered, outstanding, and each debt with its reason",
        params: z.object({ accountId: z.uuid() }),
        response: { 200: ArrearsOut },
      },
    },
    async (req) => arrearsView(db, principalOf(req).utilityId, req.params.accountId as AccountId),
  );

  app.post(
    '/api/v1/accounts/:accountId/arrears',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['accounts'],
        summary:
          "Record a debt on an account with its reason (audited); each later payment recovers the tariff's debt-recovery share of it",
        params: z.object({ accountId: z.uuid() }),
        body: z.object({ amountMinor: PositiveMinor, reason: z.string().trim().min(3).max(300) }),
        response: { 201: ArrearsOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const accountId = req.params.accountId as AccountId;
      await recordArrears(db, {
        utilityId: p.utilityId,
        accountId,
        amountMinor: req.body.amountMinor,
        reason: req.body.reason,
        actor: actorFor(p).actor,
      });
      return reply.status(201).send(await arrearsView(db, p.utilityId, accountId));
    },
  );
};
