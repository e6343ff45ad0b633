/**
 * Operator routes for customers (create, get, search by name or phone, update contact and language) and
 * premises (create, list). Every change writes an audit row in the same transaction.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { likeEscape, writeAudit } from '../../accounts/audit.ts';
import type { CustomerId, Language } from '../../store/schema.ts';
import { principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { type AdminRoutesOptions, actorFor, Paging, Phone, uniqueOr409 } from './admin-shared.ts';

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

interface CustomerRow {
  id: CustomerId;
  name: string;
  preferred_language: Language;
  phone: string | null;
  email: string | null;
  national_id: string | null;
  created_at: Date;
}

const customerColumns = [
  'id',
  'name',
  'preferred_language',
  'phone',
  'email',
  'national_id',
  'created_at',
] as const;

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
      const by = actorFor(p);
      const row = await uniqueOr409('nationalId: a customer with this national id exists', () =>
        db.transaction().execute(async (trx) => {
          const c = await trx
            .insertInto('customers')
            .values({
              utility_id: p.utilityId,
              name: req.body.name,
              preferred_language: req.body.preferredLanguage,
              phone: req.body.phone ?? null,
              email: req.body.email ?? null,
              national_id: req.body.nationalId ?? null,
            })
            .returning(customerColumns)
            .executeTakeFirstOrThrow();
          await writeAudit(trx, {
            utilityId: p.utilityId,
            actor: by.actor,
            action: 'customer.create',
            subject: `customer:${c.id}`,
            details: { name: c.name, preferredLanguage: c.preferred_language },
          });
          return c;
        }),
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
      let q = db.selectFrom('customers').select(customerColumns).where('utility_id', '=', p.utilityId);
      const text = req.query.q;
      if (text) {
        const pattern = `%${likeEscape(text)}%`;
        const digits = text.replace(/[^0-9]/g, '');
        q = q.where((eb) =>
          eb.or([
            eb('name', 'ilike', pattern),
            ...(digits.length >= 3 ? [eb('phone', 'like', `%${digits}%`)] : []),
          ]),
        );
      }
      const rows = await q
        .orderBy('name')
        .orderBy('id')
        .limit(req.query.limit)
        .offset(req.query.offset)
        .execute();
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
      const c = await db
        .selectFrom('customers')
        .select(customerColumns)
        .where('id', '=', req.params.customerId as CustomerId)
        .where('utility_id', '=', p.utilityId)
        .executeTakeFirst();
      if (!c) throw new AppError('not_found', `customer ${req.params.customerId} is unknown`);
      const accounts = await db
        .selectFrom('accounts')
        .select(['id', 'number', 'status'])
        .where('customer_id', '=', c.id)
        .orderBy('number')
        .execute();
      return { ...customerOut(c), accounts };
    },
  );

  app.patch(
    '/api/v1/customers/:customerId',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['customers'],
        summary: 'Update contact details and preferred language (null clears a contact)',
        params: z.object({ customerId: z.uuid() }),
        body: z
          .object({
            phone: Phone.nullable().optional(),
            email: z.email().max(254).nullable().optional(),
            preferredLanguage: Lang.optional(),
          })
          .strict(),
        response: { 200: CustomerOut },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const by = actorFor(p);
      const id = req.params.customerId as CustomerId;
      return db.transaction().execute(async (trx) => {
        const before = await trx
          .selectFrom('customers')
          .select(customerColumns)
          .where('id', '=', id)
          .where('utility_id', '=', p.utilityId)
          .forUpdate()
          .executeTakeFirst();
        if (!before) throw new AppError('not_found', `customer ${id} is unknown`);
        const set: { phone?: string | null; email?: string | null; preferred_language?: Language } = {};
        const changes: Record<string, { from: unknown; to: unknown }> = {};
        const { phone, email, preferredLanguage } = req.body;
        if (phone !== undefined && phone !== before.phone) {
          set.phone = phone;
          changes.phone = { from: before.phone, to: phone };
        }
        if (email !== undefined && email !== before.email) {
          set.email = email;
          changes.email = { from: before.email, to: email };
        }
        if (preferredLanguage !== undefined && preferredLanguage !== before.preferred_language) {
          set.preferred_language = preferredLanguage;
          changes.preferredLanguage = { from: before.preferred_language, to: preferredLanguage };
        }
        if (Object.keys(changes).length === 0) return customerOut(before);
        const after = await trx
          .updateTable('customers')
          .set(set)
          .where('id', '=', id)
          .returning(customerColumns)
          .executeTakeFirstOrThrow();
        await writeAudit(trx, {
          utilityId: p.utilityId,
          actor: by.actor,
          action: 'customer.update',
          subject: `customer:${id}`,
          details: { changes },
        });
        return customerOut(after);
      });
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
      const by = actorFor(p);
      const row = await db.transaction().execute(async (trx) => {
        const premise = await trx
          .insertInto('premises')
          .values({ utility_id: p.utilityId, address: req.body.address, area: req.body.area ?? null })
          .returning(['id', 'address', 'area', 'created_at'])
          .executeTakeFirstOrThrow();
        await writeAudit(trx, {
          utilityId: p.utilityId,
          actor: by.actor,
          action: 'premise.create',
          subject: `premise:${premise.id}`,
          details: { address: premise.address, area: premise.area },
        });
        return premise;
      });
      return reply.status(201).send({
        id: row.id,
        address: row.address,
        area: row.area,
        createdAt: row.created_at.toISOString(),
      });
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
      let q = db
        .selectFrom('premises')
        .select(['id', 'address', 'area', 'created_at'])
        .where('utility_id', '=', p.utilityId);
      if (req.query.q) {
        const pattern = `%${likeEscape(req.query.q)}%`;
        q = q.where((eb) => eb.or([eb('address', 'ilike', pattern), eb('area', 'ilike', pattern)]));
      }
      const rows = await q
        .orderBy('address')
        .orderBy('id')
        .limit(req.query.limit)
        .offset(req.query.offset)
        .execute();
      return {
        premises: rows.map((r) => ({
          id: r.id,
          address: r.address,
          area: r.area,
          createdAt: r.created_at.toISOString(),
        })),
      };
    },
  );
};
