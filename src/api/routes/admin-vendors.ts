/**
 * Vendors (create, list with float), float top-ups (a `float_topup` entry in the append-only vendor ledger,
 * with its audit row, idempotent on the Idempotency-Key header), and kiosks: creating one returns its API key
 * once (only its SHA-256 is stored), and disabling one shuts its key out at once. The vendors module
 * (src/vendors) holds the reads and the writes.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type KioskRow, listKiosks, listVendors, type VendorView } from '../../vendors/queries.ts';
import { createKiosk, createVendor, disableKiosk, topUpFloat } from '../../vendors/service.ts';
import { principalOf } from '../auth.ts';
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

function vendorOut(v: VendorView): z.infer<typeof VendorOut> {
  return {
    id: v.id,
    name: v.name,
    active: v.active,
    creditLimitMinor: v.creditLimitMinor.toString(),
    commissionBp: v.commissionBp,
    floatMinor: v.floatMinor.toString(),
    createdAt: v.createdAt.toISOString(),
  };
}

function kioskOut(k: KioskRow): z.infer<typeof KioskOut> {
  return {
    id: k.id,
    vendorId: k.vendor_id,
    name: k.name,
    active: k.active,
    createdAt: k.created_at.toISOString(),
  };
}

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
      const v = await createVendor(db, p.utilityId, req.body, actorFor(p));
      return reply.status(201).send(vendorOut(v));
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
      return { vendors: (await listVendors(db, p.utilityId)).map(vendorOut) };
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
      const key = req.headers['idempotency-key'];
      if (typeof key !== 'string' || key.length < 8) throw new AppError('idempotency_key_required');
      const out = await topUpFloat(
        db,
        vending,
        p.utilityId,
        {
          vendorId: req.params.vendorId,
          amountMinor: req.body.amountMinor,
          idempotencyKey: key,
          note: req.body.note,
        },
        actorFor(p),
      );
      return reply.status(out.replayed ? 200 : 201).send(out);
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
      const kiosk = await createKiosk(db, p.utilityId, req.params.vendorId, req.body, actorFor(p));
      return reply.status(201).send({ ...kioskOut(kiosk), apiKey: kiosk.apiKey });
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
      return { kiosks: (await listKiosks(db, p.utilityId, req.params.vendorId)).map(kioskOut) };
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
      return kioskOut(await disableKiosk(db, p.utilityId, req.params.kioskId, req.body.reason, actorFor(p)));
    },
  );
};
