/**
 * Operator routes for customers (create, get, search by name or phone, update contact and language) and
 * premises (create, list). Every change writes an audit row in the same transaction; the reads are the
 * accounts module's (src/accounts/queries.ts), the changes its service (src/accounts/service.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CustomerRow } from '../../accounts/customers.ts';
import {
  customerWithAccounts,
  listCustomers,
  listPremises,
  type PremiseRow,
} from '../../accounts/queries.ts';
import { createCustomer, createPremise, updateCustomer } from '../../accounts/service.ts';
import type { CustomerId } from '../../store/schema.ts';
import { principalOf } from '../auth.ts';
import { type AdminRoutesOptions, actorFor, Paging, Phone } from './admin-shared.ts';

const Lang = z.enum(['ar', 'en']);

const CustomerOut = z.object({
  id: z.string(),
  name: z.string(),
  preferredLanguage: Lang,
  phone: z.string().nullable(),
  email: z.string().nullable(),
  nationalId: z.string().nullable(),
  createdAt: z.string(),
});

function customerOut(c: CustomerRow): z.infer<typeof CustomerOut> {
  return {
    id: c.id,
    name: c.name,
    preferredLanguage: c.preferred_language,
    phone: c.phone,
    email: c.email,
    nationalId: c.national_id,
    createdAt: c.created_at.toISOString(),
  };
}

const PremiseOut = z.object({
  id: z.string(),
  address: z.string(),
  area: z.string().nullable(),
  createdAt: z.string(),
});

function premiseOut(r: PremiseRow): z.infer<typeof PremiseOut> {
  return { id: r.id, address: r.address, area: r.area, createdAt: r.created_at.toISOString() };
}

export const adminCustomerRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  app.post(
    '/api/v1/customers',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['customers'],
        summary: 'Create a customer',
        body: z.object({
          name: z.string().trim().min(1).max(200),
          preferredLanguage: Lang.default('ar'),
          phone: Phone.optional(),
          email: z.email().max(254).optional(),
          nationalId: z.string().trim().min(1).max(40).optional(),
        }),
        response: { 201: CustomerOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const row = await createCustomer(
        db,
        {
          utilityId: p.utilityId,
          name: req.body.name,
          preferredLanguage: req.body.preferredLanguage,
          phone: req.body.phone,
          email: req.body.email,
          nationalId: req.body.nationalId,
        },
        actorFor(p),
      );
      return reply.status(201).send(customerOut(row));
    },
  );

  app.get(
    '/api/v1/customers',
    {
      config: { access: ['operator', 'service'] },
      schema: {
        tags: ['customers'],
        summary: 'List customers; `q` searches names (any part) and phone numbers',
        querystring: z.object({ q: z.string().trim().min(1).max(100).optional(), ...Paging }),
        response: {
          200: z.object({ customers: z.array(CustomerOut), limit: z.number(), offset: z.number() }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const rows = await listCustomers(db, p.utilityId, req.query);
      return { customers: rows.map(customerOut), limit: req.query.limit, offset: req.query.offset };
    },
  );

  app.get(
    '/api/v1/customers/:customerId',
    {
      config: { access: ['operator', 'service'] },
      schema: {
        tags: ['customers'],
        summary: 'A customer and the accounts they hold',
        params: z.object({ customerId: z.uuid() }),
        response: {
          200: CustomerOut.extend({
            accounts: z.array(z.object({ id: z.string(), number: z.string(), status: z.string() })),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const { customer, accounts } = await customerWithAccounts(db, p.utilityId, req.params.customerId);
      return { ...customerOut(customer), accounts };
    },
  );

  app.patch(
    '/api/v1/customers/:customerId',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['customers'],
        summary: 'Update contact details, national id and preferred language (null clears one)',
        params: z.object({ customerId: z.uuid() }),
        body: z
          .object({
            phone: Phone.nullable().optional(),
            email: z.email().max(254).nullable().optional(),
            nationalId: z.string().trim().min(1).max(40).nullable().optional(),
            preferredLanguage: Lang.optional(),
          })
          .strict(),
        response: { 200: CustomerOut },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const after = await updateCustomer(
        db,
        p.utilityId,
        req.params.customerId as CustomerId,
        req.body,
        actorFor(p),
      );
      return customerOut(after);
    },
  );

  app.post(
    '/api/v1/premises',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['customers'],
        summary: 'Create a premise (a place supplied)',
        body: z.object({
          address: z.string().trim().min(1).max(500),
          area: z.string().trim().min(1).max(200).optional(),
        }),
        response: { 201: PremiseOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const row = await createPremise(db, p.utilityId, req.body, actorFor(p));
      return reply.status(201).send(premiseOut(row));
    },
  );

  app.get(
    '/api/v1/premises',
    {
      config: { access: ['operator', 'service', 'technician'] },
      schema: {
        tags: ['customers'],
        summary: 'List premises; `q` searches the address and area',
        querystring: z.object({ q: z.string().trim().min(1).max(100).optional(), ...Paging }),
        response: { 200: z.object({ premises: z.array(PremiseOut) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const rows = await listPremises(db, p.utilityId, req.query);
      return { premises: rows.map(premiseOut) };
    },
  );
};
