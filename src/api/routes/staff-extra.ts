/**
 * Two small routes the staff screens need beside the rest of the API:
 *
 * - a meter test token for the technician's commissioning (IEC 62055-41 class 1: not encrypted, so the same
 *   for every meter; issuing one for a meter records who asked, like every other token);
 * - the eligibility of an account transfer before it is done: whether it is allowed, whether the subsidy
 *   would carry over to the new holder, and how the new holder would be told. The answer comes from the
 *   same rules the transfer applies (`src/accounts/subsidy.ts`, `src/accounts/transfer.ts`).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { encodeToken } from '../../../protocols/sts/index.ts';
import { writeAudit } from '../../accounts/audit.ts';
import {
  hasOtherSubsidisedAccount,
  INHERITANCE_REASONS,
  subsidyCarries,
  TRANSFER_REASONS,
} from '../../accounts/subsidy.ts';
import { TRANSFER_TEMPLATE } from '../../accounts/transfer.ts';
import { audienceOf } from '../../notify/audience.ts';
import type { AccountId, CustomerId, Database, MeterId } from '../../store/schema.ts';
import { groupToken } from '../../vending/receipt.ts';
import { actorOf, principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';

export interface StaffExtraRoutesOptions {
  readonly db: Kysely<Database>;
}

/** IEC 62055-41 class 1 subclass 0: a 36-bit control field; every bit set asks for every test and display. */
const ALL_TESTS_36 = (1n << 36n) - 1n;

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
      const meter = await db
        .selectFrom('meters')
        .select(['id', 'serial'])
        .where('id', '=', req.params.meterId as MeterId)
        .where('utility_id', '=', p.utilityId)
        .executeTakeFirst();
      if (!meter) throw new AppError('not_found', `meter ${req.params.meterId} is unknown`);
      // IEC 62055-41 class 1 (docs/sts.md §2.9): control ‖ manufacturer code, not encrypted; manufacturer 0.
      const { token } = encodeToken({ type: 'test-display-1', control: ALL_TESTS_36, manufacturer: 0 });
      await writeAudit(db, {
        utilityId: p.utilityId,
        actor: actorOf(p),
        action: 'meter.test_token',
        subject: `meter:${meter.id}`,
        details: { serial: meter.serial },
      });
      return reply
        .status(201)
        .send({ token, tokenGrouped: groupToken(token), control: ALL_TESTS_36.toString(16) });
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
      const account = await db
        .selectFrom('accounts')
        .select(['id', 'customer_id', 'status', 'subsidy_eligible'])
        .where('id', '=', req.params.accountId as AccountId)
        .where('utility_id', '=', p.utilityId)
        .executeTakeFirst();
      if (!account) throw new AppError('not_found', `account ${req.params.accountId} is unknown`);
      const heir = await db
        .selectFrom('customers')
        .select(['id', 'phone', 'email'])
        .where('id', '=', req.query.customerId as CustomerId)
        .where('utility_id', '=', p.utilityId)
        .executeTakeFirst();
      if (!heir) throw new AppError('not_found', `customerId: customer ${req.query.customerId} is unknown`);
      const refusal =
        account.status === 'closed'
          ? ('account_closed' as const)
          : account.customer_id === heir.id
            ? ('same_holder' as const)
            : null;
      const other = await hasOtherSubsidisedAccount(db, p.utilityId, heir.id, account.id);
      const facts = {
        eligible: account.subsidy_eligible,
        reason: req.query.reason,
        heirHasOtherSubsidisedAccount: other,
      };
      // The channel the new holder would hear on, as notify/audience.ts decides for the transfer message.
      const contact = (
        await audienceOf(db, {
          utilityId: p.utilityId,
          template: TRANSFER_TEMPLATE,
          dedupKey: 'preview',
          customerId: heir.id,
        })
      ).find((t) => t.customerId !== null && t.channel !== 'webhook');
      return {
        allowed: refusal === null,
        refusal,
        subsidy: {
          eligible: account.subsidy_eligible,
          inheritance: INHERITANCE_REASONS.has(req.query.reason),
          heirHasOtherSubsidisedAccount: other,
          carries: subsidyCarries(facts),
        },
        notify: contact ? { channel: contact.channel as 'sms' | 'whatsapp' | 'email' } : null,
      };
    },
  );
};
