/**
 * Two small routes the staff screens need beside the rest of the API:
 *
 * - a meter test token for the technician's commissioning (IEC 62055-41 class 1: not encrypted, so the same
 *   for every meter; issuing one for a meter records who asked, like every other token);
 * - the eligibility of an account transfer before it is done: whether it is allowed, whether the subsidy
 *   would carry over to the new holder, and how the new holder would be told. The answer comes from the
 *   same rules the transfer applies (`src/accounts/subsidy.ts`, `src/accounts/transfer.ts`).
 *
 * The meters module issues the test token; the accounts module answers the transfer check.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { TRANSFER_REASONS } from '../../accounts/subsidy.ts';
import { checkTransfer } from '../../accounts/transfer.ts';
import { issueTestToken } from '../../meters/service.ts';
import type { AccountId, CustomerId, Database, MeterId } from '../../store/schema.ts';
import { groupToken } from '../../vending/receipt.ts';
import { actorOf, principalOf } from '../auth.ts';

export interface StaffExtraRoutesOptions {
  readonly db: Kysely<Database>;
}

export const staffExtraRoutes: FastifyPluginAsync<StaffExtraRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  app.post(
    '/api/v1/meters/:meterId/test-token',
    {
      config: { access: ['operator', 'technician'] },
      schema: {
        tags: ['tokens'],
        summary:
          'A meter test / display token (class 1, every test): the meter shows its tests without a key; for commissioning',
        params: z.object({ meterId: z.uuid() }),
        response: {
          201: z.object({ token: z.string(), tokenGrouped: z.string(), control: z.string() }),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const { token, control } = await issueTestToken(
        db,
        p.utilityId,
        req.params.meterId as MeterId,
        actorOf(p),
      );
      return reply
        .status(201)
        .send({ token, tokenGrouped: groupToken(token), control: control.toString(16) });
    },
  );

  app.get(
    '/api/v1/accounts/:accountId/transfer-check',
    {
      config: { access: ['operator', 'service'] },
      schema: {
        tags: ['accounts'],
        summary:
          'Before a transfer: whether it is allowed, whether the subsidy would carry to the new holder, and how they would be told',
        params: z.object({ accountId: z.uuid() }),
        querystring: z.object({ customerId: z.uuid(), reason: z.enum(TRANSFER_REASONS) }),
        response: {
          200: z.object({
            allowed: z.boolean(),
            refusal: z
              .enum(['account_closed', 'same_holder'])
              .nullable()
              .describe('why the transfer would be refused'),
            subsidy: z.object({
              eligible: z.boolean().describe('the account is subsidy-eligible now'),
              inheritance: z.boolean().describe('the reason is an inheritance (death or inheritance)'),
              heirHasOtherSubsidisedAccount: z.boolean(),
              carries: z.boolean(),
            }),
            notify: z
              .object({ channel: z.enum(['sms', 'whatsapp', 'email']) })
              .nullable()
              .describe('null: the new holder has no phone or e-mail and is not told'),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return checkTransfer(
        db,
        p.utilityId,
        req.params.accountId as AccountId,
        req.query.customerId as CustomerId,
        req.query.reason,
      );
    },
  );
};
