/**
 * Vendors (create, list with float), float top-ups (a `float_topup` entry in the append-only vendor ledger,
 * with its audit row, idempotent on the Idempotency-Key header), and kiosks: creating one returns its API key
 * once (only its SHA-256 is stored), and disabling one shuts its key out at once.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { z } from 'zod';
import { writeAudit } from '../../accounts/audit.ts';
import { formatMoney } from '../../money.ts';
import { vendorFloat } from '../../store/ledger.ts';
import { type KioskId, minorUnits, type VendorId } from '../../store/schema.ts';
import { newSecret, principalOf, secretDigest } from '../auth.ts';
import { AppError } from '../errors.ts';
import { type AdminRoutesOptions, actorFor, MinorOrZero, PositiveMinor } from './admin-shared.ts';

const VendorOut = z.object({
  id: z.string(),
  name: z.string(),
  active: z.boolean(),
  creditLimitMinor: z.string(),
  commissionBp: z.number(),
  floatMinor: z.string().describe('derived from the vendor ledger'),
  createdAt: z.string(),
});

const KioskOut = z.object({
  id: z.string(),
  vendorId: z.string(),
  name: z.string(),
  active: z.boolean(),
  createdAt: z.string(),
});

export const adminVendorRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db, vending } = opts;

  app.post(
    '/api/v1/vendors',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['vendors'],
        summary: 'Create a vendor (a shop or agent selling credit against a float)',
        body: z.object({
          name: z.string().trim().min(1).max(200),
          creditLimitMinor: MinorOrZero.default(0n),
          commissionBp: z.number().int().min(0).max(10_000).default(0),
        }),
        response: { 201: VendorOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const by = actorFor(p);
      const v = await db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('vendors')
          .values({
            utility_id: p.utilityId,
            name: req.body.name,
            credit_limit_minor: minorUnits(req.body.creditLimitMinor),
            commission_bp: req.body.commissionBp,
          })
          .returning(['id', 'name', 'active', 'credit_limit_minor', 'commission_bp', 'created_at'])
          .executeTakeFirstOrThrow();
        await writeAudit(trx, {
          utilityId: p.utilityId,
          actor: by.actor,
          action: 'vendor.create',
          subject: `vendor:${row.id}`,
          details: {
            name: row.name,
            creditLimitMinor: row.credit_limit_minor.toString(),
            commissionBp: row.commission_bp,
          },
        });
        return row;
      });
      return reply.status(201).send({
        id: v.id,
        name: v.name,
        active: v.active,
        creditLimitMinor: v.credit_limit_minor.toString(),
        commissionBp: v.commission_bp,
        floatMinor: '0',
        createdAt: v.created_at.toISOString(),
      });
    },
  );

  app.get(
    '/api/v1/vendors',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['vendors'],
        summary: 'Vendors with their float',
        response: { 200: z.object({ vendors: z.array(VendorOut) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const rows = await db
        .selectFrom('vendors')
        .select([
          'vendors.id',
          'vendors.name',
          'vendors.active',
          'vendors.credit_limit_minor',
          'vendors.commission_bp',
          'vendors.created_at',
          sql<bigint>`coalesce((select sum(l.amount_minor) from vendor_ledger l where l.vendor_id = vendors.id), 0)::bigint`.as(
            'float',
          ),
        ])
        .where('vendors.utility_id', '=', p.utilityId)
        .orderBy('vendors.name')
        .execute();
      return {
        vendors: rows.map((v) => ({
          id: v.id,
          name: v.name,
          active: v.active,
          creditLimitMinor: v.credit_limit_minor.toString(),
          commissionBp: v.commission_bp,
          floatMinor: v.float.toString(),
          createdAt: v.created_at.toISOString(),
        })),
      };
    },
  );

  app.post(
    '/api/v1/vendors/:vendorId/float-topups',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['vendors'],
        summary: "Add to a vendor's float (Idempotency-Key header required)",
        params: z.object({ vendorId: z.uuid() }),
        headers: z.object({ 'idempotency-key': z.string().min(8).max(128).optional() }).loose(),
        body: z.object({ amountMinor: PositiveMinor, note: z.string().trim().max(500).optional() }),
        response: {
          201: z.object({
            entryId: z.string(),
            replayed: z.boolean(),
            amountMinor: z.string(),
            floatMinor: z.string(),
            float: z.string(),
          }),
          200: z.object({
            entryId: z.string(),
            replayed: z.boolean(),
            amountMinor: z.string(),
            floatMinor: z.string(),
            float: z.string(),
          }),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const by = actorFor(p);
      const key = req.headers['idempotency-key'];
      if (typeof key !== 'string' || key.length < 8) throw new AppError('idempotency_key_required');
      const vendorId = req.params.vendorId as VendorId;
      const amount = req.body.amountMinor;
      const ref = `topup:${key}`;
      const utility = await vending.utility(p.utilityId);
      const out = await db.transaction().execute(async (trx) => {
        // The vendor row lock serialises top-ups of one vendor, so a retried key is seen.
        const vendor = await trx
          .selectFrom('vendors')
          .select('id')
          .where('id', '=', vendorId)
          .where('utility_id', '=', p.utilityId)
          .forUpdate()
          .executeTakeFirst();
        if (!vendor) throw new AppError('not_found', `vendor ${vendorId} is unknown`);
        const seen = await trx
          .selectFrom('vendor_ledger')
          .select(['id', 'amount_minor'])
          .where('vendor_id', '=', vendorId)
          .where('kind', '=', 'float_topup')
          .where('ref', '=', ref)
          .executeTakeFirst();
        if (seen) {
          if (BigInt(seen.amount_minor) !== amount) throw new AppError('idempotency_key_reused');
          return { entryId: String(seen.id), replayed: true };
        }
        const entry = await trx
          .insertInto('vendor_ledger')
          .values({
            utility_id: p.utilityId,
            vendor_id: vendorId,
            kind: 'float_topup',
            amount_minor: minorUnits(amount),
            ref,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        await writeAudit(trx, {
          utilityId: p.utilityId,
          actor: by.actor,
          action: 'vendor.float_topup',
          subject: `vendor:${vendorId}`,
          details: {
            entryId: String(entry.id),
            amountMinor: amount.toString(),
            idempotencyKey: key,
            ...(req.body.note ? { note: req.body.note } : {}),
          },
        });
        return { entryId: String(entry.id), replayed: false };
      });
      const float = await vendorFloat(db, vendorId);
      return reply.status(out.replayed ? 200 : 201).send({
        ...out,
        amountMinor: amount.toString(),
        floatMinor: float.toString(),
        float: formatMoney(float, utility.exponent),
      });
    },
  );

  app.post(
    '/api/v1/vendors/:vendorId/kiosks',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['vendors'],
        summary: 'Create a kiosk; the answer carries its API key, shown this once and never again',
        params: z.object({ vendorId: z.uuid() }),
        body: z.object({ name: z.string().trim().min(1).max(100) }),
        response: {
          201: KioskOut.extend({
            apiKey: z.string().describe('send as the x-api-key header; Rasid keeps only its hash'),
          }),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const by = actorFor(p);
      const vendorId = req.params.vendorId as VendorId;
      const apiKey = newSecret('rks_');
      const kiosk = await db.transaction().execute(async (trx) => {
        const vendor = await trx
          .selectFrom('vendors')
          .select('id')
          .where('id', '=', vendorId)
          .where('utility_id', '=', p.utilityId)
          .executeTakeFirst();
        if (!vendor) throw new AppError('not_found', `vendor ${vendorId} is unknown`);
        const row = await trx
          .insertInto('kiosks')
          .values({
            utility_id: p.utilityId,
            vendor_id: vendorId,
            name: req.body.name,
            api_key_hash: secretDigest(apiKey),
          })
          .returning(['id', 'vendor_id', 'name', 'active', 'created_at'])
          .executeTakeFirstOrThrow();
        await writeAudit(trx, {
          utilityId: p.utilityId,
          actor: by.actor,
          action: 'kiosk.create',
          subject: `kiosk:${row.id}`,
          details: { vendorId, name: row.name },
        });
        return row;
      });
      return reply.status(201).send({
        id: kiosk.id,
        vendorId: kiosk.vendor_id,
        name: kiosk.name,
        active: kiosk.active,
        createdAt: kiosk.created_at.toISOString(),
        apiKey,
      });
    },
  );

  app.get(
    '/api/v1/vendors/:vendorId/kiosks',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['vendors'],
        summary: "A vendor's kiosks (API keys are never shown again)",
        params: z.object({ vendorId: z.uuid() }),
        response: { 200: z.object({ kiosks: z.array(KioskOut) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const rows = await db
        .selectFrom('kiosks')
        .select(['id', 'vendor_id', 'name', 'active', 'created_at'])
        .where('vendor_id', '=', req.params.vendorId as VendorId)
        .where('utility_id', '=', p.utilityId)
        .orderBy('name')
        .execute();
      return {
        kiosks: rows.map((k) => ({
          id: k.id,
          vendorId: k.vendor_id,
          name: k.name,
          active: k.active,
          createdAt: k.created_at.toISOString(),
        })),
      };
    },
  );

  app.post(
    '/api/v1/kiosks/:kioskId/disable',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['vendors'],
        summary: 'Disable a kiosk: its API key is refused from the next request',
        params: z.object({ kioskId: z.uuid() }),
        body: z.object({ reason: z.string().trim().min(3).max(500) }),
        response: { 200: KioskOut },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const by = actorFor(p);
      return db.transaction().execute(async (trx) => {
        const before = await trx
          .selectFrom('kiosks')
          .select(['id', 'active'])
          .where('id', '=', req.params.kioskId as KioskId)
          .where('utility_id', '=', p.utilityId)
          .forUpdate()
          .executeTakeFirst();
        if (!before) throw new AppError('not_found', `kiosk ${req.params.kioskId} is unknown`);
        const k = await trx
          .updateTable('kiosks')
          .set({ active: false })
          .where('id', '=', before.id)
          .returning(['id', 'vendor_id', 'name', 'active', 'created_at'])
          .executeTakeFirstOrThrow();
        if (before.active) {
          await writeAudit(trx, {
            utilityId: p.utilityId,
            actor: by.actor,
            action: 'kiosk.disable',
            subject: `kiosk:${k.id}`,
            details: { vendorId: k.vendor_id, reason: req.body.reason },
          });
        }
        return {
          id: k.id,
          vendorId: k.vendor_id,
          name: k.name,
          active: k.active,
          createdAt: k.created_at.toISOString(),
        };
      });
    },
  );
};
