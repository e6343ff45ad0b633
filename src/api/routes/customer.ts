/**
 * The customer's own view (role customer, a user linked to a customer): my accounts and meters with the
 * credit and the days of credit left, consumption per day, week or month from the readings roll-ups, token
 * and payment history, and the low-credit alert settings of each account. Everything is scoped to the
 * accounts the signed-in customer holds now; another customer's meter answers 404. The reads are the
 * accounts module's (src/accounts/queries.ts), the alert change its service (src/accounts/service.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import {
  type OwnCustomer,
  ownMeterConsumption,
  ownMeters,
  ownPayments,
  ownProfile,
  ownTokens,
} from '../../accounts/queries.ts';
import { setOwnAlerts } from '../../accounts/service.ts';
import { METER_STATUSES } from '../../meters/lifecycle.ts';
import type { Database } from '../../store/schema.ts';
import { actorOf, type Principal, principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { ConsumptionOut, ConsumptionQuery } from '../schemas/consumption.ts';
import { MinorOrZero, Paging } from './admin-shared.ts';

export interface CustomerRoutesOptions {
  readonly db: Kysely<Database>;
  readonly now?: () => Date;
}

/** The customer a signed-in customer is; staff and kiosks never reach here (access is customer only). */
function customerOf(p: Principal): OwnCustomer {
  if (p.kind !== 'user' || p.customerId === null) {
    throw new AppError('forbidden', 'this sign-in is not linked to a customer');
  }
  return { utilityId: p.utilityId, customerId: p.customerId };
}

const Money = z.object({
  minor: z.string().describe('minor units, a string of digits (may be negative)'),
  amount: z.string().describe('formatted with the currency exponent, e.g. "12.500"'),
  currency: z.string(),
});

const Alerts = z.object({
  enabled: z.boolean(),
  threshold: Money.nullable().describe("alert at or below this credit; null: the utility's default"),
  days: z.number().nullable().describe('alert at or below this many days of credit left; null: the default'),
});

const AccountOut = z.object({
  id: z.string(),
  number: z.string(),
  status: z.enum(['active', 'suspended', 'closed']),
  premise: z.object({ address: z.string(), area: z.string().nullable() }),
  credit: Money.describe('the account ledger: central-mode credit, or what a token-mode vend left over'),
  alerts: Alerts,
});

const MeterOut = z.object({
  id: z.string(),
  serial: z.string(),
  kind: z.enum(['electricity', 'water']),
  mode: z.enum(['token', 'central']),
  status: z.enum(METER_STATUSES),
  online: z.boolean(),
  lastSeenAt: z.string().nullable(),
  account: z.object({ id: z.string(), number: z.string() }),
  premise: z.object({ address: z.string(), area: z.string().nullable() }),
  /** Unit of the register and of consumption: Wh or L. */
  unit: z.enum(['Wh', 'L']),
  credit: Money.nullable().describe(
    'central: the account ledger; token: the credit the meter last reported (null when never reported)',
  ),
  creditAt: z.string().nullable().describe('when that credit was true (token mode: the reading time)'),
  creditUnits: z
    .string()
    .nullable()
    .describe('token meters that keep their credit as energy: the Wh left, as the meter last reported'),
  daysLeft: z
    .number()
    .nullable()
    .describe("days of credit left at recent use, the balance engine's last estimate; null when unknown"),
  daysLeftAt: z.string().nullable(),
  lastReading: z
    .object({ ts: z.string(), register: z.string().nullable(), relay: z.boolean().nullable() })
    .nullable(),
  accountCredit: Money.nullable().describe(
    'token meters: money the account holds beside the meter (what a top-up left over); null when none',
  ),
  lastTopUp: z
    .object({
      at: z.string(),
      amount: Money,
      units: z.string().describe('Wh or litres'),
      channel: z.enum(['online', 'vendor']),
    })
    .nullable()
    .describe("the meter's latest completed top-up"),
});

export const customerRoutes: FastifyPluginAsync<CustomerRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;
  const now = opts.now ?? (() => new Date());

  app.get(
    '/api/v1/me',
    {
      config: { access: ['customer'] },
      schema: {
        tags: ['customer'],
        summary: 'Who I am: name, language, contacts (masked), and my accounts with their credit and alerts',
        response: {
          200: z.object({
            customer: z.object({
              id: z.string(),
              name: z.string(),
              preferredLanguage: z.enum(['ar', 'en']),
              phone: z.string().nullable().describe('masked: the last four digits'),
              email: z.string().nullable().describe('masked'),
            }),
            accounts: z.array(AccountOut),
          }),
        },
      },
    },
    async (req) => {
      return ownProfile(db, customerOf(principalOf(req)));
    },
  );

  app.get(
    '/api/v1/me/meters',
    {
      config: { access: ['customer'] },
      schema: {
        tags: ['customer'],
        summary: 'My meters with credit, days of credit left and the last reading',
        response: { 200: z.object({ meters: z.array(MeterOut) }) },
      },
    },
    async (req) => {
      return { meters: await ownMeters(db, customerOf(principalOf(req)), now()) };
    },
  );

  app.get(
    '/api/v1/me/meters/:meterId/consumption',
    {
      config: { access: ['customer'] },
      schema: {
        tags: ['customer'],
        summary:
          'Consumption of my meter per UTC day, ISO week or month (Wh or litres), from the readings roll-ups',
        params: z.object({ meterId: z.uuid() }),
        querystring: ConsumptionQuery,
        response: { 200: ConsumptionOut },
      },
    },
    async (req) => {
      return ownMeterConsumption(db, customerOf(principalOf(req)), req.params.meterId, req.query, now());
    },
  );

  app.get(
    '/api/v1/me/tokens',
    {
      config: { access: ['customer'] },
      schema: {
        tags: ['customer'],
        summary: 'Tokens issued to my meters, newest first (engineering and test tokens are not shown)',
        querystring: z.object({ meterId: z.uuid().optional(), ...Paging }),
        response: {
          200: z.object({
            tokens: z.array(
              z.object({
                issuedAt: z.string(),
                meterId: z.string(),
                meterSerial: z.string(),
                kind: z.string(),
                token: z.string(),
                units: z.string().nullable().describe('Wh or litres on a credit token'),
                vendId: z.string().nullable(),
                usedAt: z.string().nullable(),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      return { tokens: await ownTokens(db, customerOf(principalOf(req)), req.query) };
    },
  );

  app.get(
    '/api/v1/me/payments',
    {
      config: { access: ['customer'] },
      schema: {
        tags: ['customer'],
        summary: 'My purchases (online and at vendors), newest first, with the receipt id and status',
        querystring: z.object({ accountId: z.uuid().optional(), ...Paging }),
        response: {
          200: z.object({
            payments: z.array(
              z.object({
                vendId: z.string().describe('also the receipt id: GET /vends/{vendId}/receipt'),
                at: z.string(),
                channel: z.enum(['online', 'vendor']),
                accountNumber: z.string(),
                meterSerial: z.string(),
                amountPaid: Money,
                units: z.string(),
                unit: z.enum(['Wh', 'L']),
                token: z.string().nullable(),
                status: z.enum(['completed', 'reversed', 'failed']),
                paymentStatus: z.string().nullable().describe('online payments: the provider status'),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      return { payments: await ownPayments(db, customerOf(principalOf(req)), req.query) };
    },
  );

  app.put(
    '/api/v1/me/accounts/:accountId/alerts',
    {
      config: { access: ['customer'] },
      schema: {
        tags: ['customer'],
        summary:
          "Set my low-credit alert for an account: on or off, a credit threshold and a days-left threshold (null: the utility's defaults)",
        params: z.object({ accountId: z.uuid() }),
        body: z.object({
          enabled: z.boolean(),
          thresholdMinor: MinorOrZero.nullable().optional(),
          days: z.number().int().min(0).max(60).nullable().optional(),
        }),
        response: { 200: Alerts },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return setOwnAlerts(db, customerOf(p), req.params.accountId, req.body, actorOf(p));
    },
  );
};
