/**
 * Operator routes for accounts: open one for a customer at a premise, read it with its derived balance and
 * holder history, change its status and flags (audited), and transfer it to a new holder (e.g. an heir).
 * The domain rules live in `src/accounts/`; these handlers validate, scope to the caller's utility and shape
 * the answer.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type AccountView,
  accountView,
  listAccounts,
  openAccount,
  updateAccount,
} from '../../accounts/accounts.ts';
import { TRANSFER_REASONS } from '../../accounts/subsidy.ts';
import { transferAccount } from '../../accounts/transfer.ts';
import { formatMoney } from '../../money.ts';
import type { AccountId, CustomerId, PremiseId } from '../../store/schema.ts';
import { principalOf } from '../auth.ts';
import { type AdminRoutesOptions, actorFor, iso, Paging } from './admin-shared.ts';

const Status = z.enum(['active', 'suspended', 'closed']);
const TariffCode = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, - and _ (1 to 32)');

const AccountOut = z.object({
  id: z.string(),
  number: z.string(),
  status: Status,
  tariffCode: z.string().nullable(),
  subsidyEligible: z.boolean(),
  protected: z.boolean(),
  currency: z.string(),
  balanceMinor: z.string().describe('derived from the account ledger: credit the customer holds'),
  balance: z.string(),
  debtMinor: z.string(),
  customer: z.object({ id: z.string(), name: z.string() }),
  premise: z.object({ id: z.string(), address: z.string(), area: z.string().nullable() }),
  createdAt: z.string(),
  holders: z.array(
    z.object({
      id: z.string(),
      customerId: z.string(),
      customerName: z.string(),
      fromAt: z.string(),
      toAt: z.string().nullable(),
      reason: z.string(),
      evidenceRef: z.string().nullable(),
      performedBy: z.string().nullable(),
      subsidyCarried: z.boolean(),
    }),
  ),
  meters: z.array(z.object({ id: z.string(), serial: z.string(), kind: z.string() })),
});

function accountOut(a: AccountView, currency: string, exponent: number): z.infer<typeof AccountOut> {
  return {
    id: a.id,
    number: a.number,
    status: a.status,
    tariffCode: a.tariffCode,
    subsidyEligible: a.subsidyEligible,
    protected: a.protected,
    currency,
    balanceMinor: a.balanceMinor.toString(),
    balance: formatMoney(a.balanceMinor, exponent),
    debtMinor: a.debtMinor.toString(),
    customer: a.customer,
    premise: a.premise,
    createdAt: a.createdAt.toISOString(),
    holders: a.holders.map((h) => ({
      id: h.id,
      customerId: h.customerId,
      customerName: h.customerName,
      fromAt: h.fromAt.toISOString(),
      toAt: iso(h.toAt),
      reason: h.reason,
      evidenceRef: h.evidenceRef,
      performedBy: h.performedBy,
      subsidyCarried: h.subsidyCarried,
    })),
    meters: a.meters.map((m) => ({ id: m.id, serial: m.serial, kind: m.kind })),
  };
}

export const adminAccountRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db, vending } = opts;
  const now = opts.now ?? (() => new Date());

  const view = async (utilityId: Parameters<typeof accountView>[1], id: AccountId) => {
    const utility = await vending.utility(utilityId);
    return accountOut(await accountView(db, utilityId, id), utility.currency, utility.exponent);
  };

  app.post(
    '/api/v1/accounts',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['accounts'],
        summary: 'Open an account for a customer at a premise',
        body: z.object({
          customerId: z.uuid(),
          premiseId: z.uuid(),
          number: z
            .string()
            .regex(/^[A-Za-z0-9-]{3,32}$/, 'letters, digits and - (3 to 32)')
            .optional()
            .describe('generated when absent'),
          tariffCode: TariffCode.optional(),
          subsidyEligible: z.boolean().default(false),
          protected: z.boolean().default(false),
        }),
        response: { 201: AccountOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const id = await openAccount(
        db,
        {
          utilityId: p.utilityId,
          customerId: req.body.customerId as CustomerId,
          premiseId: req.body.premiseId as PremiseId,
          number: req.body.number,
          tariffCode: req.body.tariffCode,
          subsidyEligible: req.body.subsidyEligible,
          protected: req.body.protected,
        },
        actorFor(p),
        now,
      );
      return reply.status(201).send(await view(p.utilityId, id));
    },
  );

  app.get(
    '/api/v1/accounts',
    {
      config: { access: ['operator', 'service'] },
      schema: {
        tags: ['accounts'],
        summary: 'List accounts, by holder, premise, status or number',
        querystring: z.object({
          customerId: z.uuid().optional(),
          premiseId: z.uuid().optional(),
          status: Status.optional(),
          number: z.string().min(1).max(32).optional(),
          ...Paging,
        }),
        response: {
          200: z.object({
            accounts: z.array(
              z.object({
                id: z.string(),
                number: z.string(),
                status: Status,
                customerId: z.string(),
                customerName: z.string(),
                premiseId: z.string(),
                subsidyEligible: z.boolean(),
                protected: z.boolean(),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const f = req.query;
      const accounts = await listAccounts(db, p.utilityId, {
        customerId: f.customerId as CustomerId | undefined,
        premiseId: f.premiseId as PremiseId | undefined,
        status: f.status,
        number: f.number,
        limit: f.limit,
        offset: f.offset,
      });
      return { accounts };
    },
  );

  app.get(
    '/api/v1/accounts/:accountId',
    {
      config: { access: ['operator', 'service'] },
      schema: {
        tags: ['accounts'],
        summary: 'An account with its derived balance, holder history and meters',
        params: z.object({ accountId: z.uuid() }),
        response: { 200: AccountOut },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return view(p.utilityId, req.params.accountId as AccountId);
    },
  );

  app.patch(
    '/api/v1/accounts/:accountId',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['accounts'],
        summary: 'Change status, the protected and subsidy flags or the tariff code (each change audited)',
        params: z.object({ accountId: z.uuid() }),
        body: z
          .object({
            status: Status.optional(),
            protected: z.boolean().optional(),
            subsidyEligible: z.boolean().optional(),
            tariffCode: TariffCode.nullable().optional(),
          })
          .strict(),
        response: { 200: AccountOut.extend({ changed: z.array(z.string()) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const id = req.params.accountId as AccountId;
      const diff = await updateAccount(db, p.utilityId, id, req.body, actorFor(p));
      return { ...(await view(p.utilityId, id)), changed: Object.keys(diff) };
    },
  );

  app.post(
    '/api/v1/accounts/:accountId/transfer',
    {
      config: { access: ['operator', 'service'] },
      schema: {
        tags: ['accounts'],
        summary:
          'Transfer an account to a new holder (e.g. an heir); the subsidy carries over on inheritance when the rule allows',
        params: z.object({ accountId: z.uuid() }),
        body: z.object({
          customerId: z.uuid().describe('the new holder'),
          reason: z.enum(TRANSFER_REASONS),
          evidenceRef: z
            .string()
            .trim()
            .min(1)
            .max(200)
            .describe('death certificate, inheritance deed, sale contract…'),
          note: z.string().trim().max(1000).optional(),
        }),
        response: {
          200: z.object({
            transfer: z.object({
              holderId: z.string(),
              fromCustomerId: z.string(),
              toCustomerId: z.string(),
              reason: z.enum(TRANSFER_REASONS),
              at: z.string(),
              subsidyWasEligible: z.boolean(),
              subsidyCarried: z.boolean(),
              notified: z.boolean(),
            }),
            account: AccountOut,
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const by = actorFor(p);
      const out = await transferAccount(
        db,
        {
          utilityId: p.utilityId,
          accountId: req.params.accountId as AccountId,
          toCustomerId: req.body.customerId as CustomerId,
          reason: req.body.reason,
          evidenceRef: req.body.evidenceRef,
          note: req.body.note,
          performedBy: by.userId,
          actor: by.actor,
        },
        now,
      );
      return {
        transfer: {
          holderId: out.holderId,
          fromCustomerId: out.fromCustomerId,
          toCustomerId: out.toCustomerId,
          reason: out.reason,
          at: out.at.toISOString(),
          subsidyWasEligible: out.subsidyWasEligible,
          subsidyCarried: out.subsidyCarried,
          notified: out.notificationId !== null,
        },
        account: await view(p.utilityId, out.accountId),
      };
    },
  );
};
