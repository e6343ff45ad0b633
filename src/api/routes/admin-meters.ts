/**
 * Meters (register with STS parameters, assign to an account, get, list with filters) and vending keys
 * (admin only: upload, list). A vending key goes into the key store encrypted and is never part of an answer
 * or a log line: the answers here are built from declared schemas that have no field for it, and the audit
 * rows name only the supply group and revision.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { METER_STATUSES } from '../../meters/lifecycle.ts';
import { METER_PROTOCOL_NAMES } from '../../meters/protocols.ts';
import { listMeters, meterOf, vendingKeys } from '../../meters/queries.ts';
import { StsParams } from '../../meters/registration.ts';
import { assignMeter, registerMeter, uploadVendingKey } from '../../meters/service.ts';
import type { AccountId, Meter, MeterId } from '../../store/schema.ts';
import { principalOf } from '../auth.ts';
import { type AdminRoutesOptions, actorFor, iso, Paging, uniqueOr409 } from './admin-shared.ts';

const Kind = z.enum(['electricity', 'water']);
const Protocol = z.enum(METER_PROTOCOL_NAMES);
const Mode = z.enum(['token', 'central']);
const MeterStatus = z.enum(METER_STATUSES);

const MeterOut = z.object({
  id: z.string(),
  serial: z.string(),
  kind: Kind,
  protocol: Protocol,
  mode: Mode,
  status: MeterStatus,
  statusReason: z.string().nullable().describe('why the meter is in its status'),
  statusChangedAt: z.string().nullable(),
  replacedBy: z.string().nullable().describe('the meter that took over this one (a replacement)'),
  accountId: z.string().nullable(),
  sts: z
    .object({
      iin: z.string().nullable(),
      drn: z.string().nullable(),
      sgc: z.number().nullable(),
      ti: z.number().nullable(),
      krn: z.number().nullable(),
      kt: z.number().nullable(),
      ea: z.number().nullable(),
      baseDate: z.string().nullable(),
      ken: z.number().nullable(),
    })
    .nullable(),
  /** Whether the key store holds this meter's vending key; the key itself is never returned. */
  vendingKeyId: z.string().nullable(),
  online: z.boolean(),
  lastSeenAt: z.string().nullable(),
  role: z.enum(['customer', 'bulk']).describe("bulk: on a district's supply point (docs/losses.md)"),
  districtId: z.string().nullable(),
  createdAt: z.string(),
});

function meterOut(m: Meter): z.infer<typeof MeterOut> {
  const hasSts = m.sts_drn !== null || m.sts_sgc !== null;
  return {
    id: m.id,
    serial: m.serial,
    kind: m.kind,
    protocol: m.protocol,
    mode: m.mode,
    status: m.status,
    statusReason: m.status_reason,
    statusChangedAt: iso(m.status_changed_at),
    replacedBy: m.replaced_by,
    accountId: m.account_id,
    sts: hasSts
      ? {
          iin: m.sts_iin,
          drn: m.sts_drn,
          sgc: m.sts_sgc,
          ti: m.sts_ti,
          krn: m.sts_krn,
          kt: m.sts_kt,
          ea: m.sts_ea,
          baseDate: m.sts_base_date,
          ken: m.sts_ken,
        }
      : null,
    vendingKeyId: m.vending_key_id,
    online: m.online,
    lastSeenAt: iso(m.last_seen_at),
    role: m.role,
    districtId: m.district_id,
    createdAt: m.created_at.toISOString(),
  };
}

const VendingKeyOut = z.object({
  id: z.string(),
  sgc: z.number(),
  krn: z.number(),
  label: z.string().nullable(),
  createdAt: z.string(),
});

export const adminMeterRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db, keys } = opts;

  app.post(
    '/api/v1/meters',
    {
      config: { access: ['operator', 'technician'] },
      schema: {
        tags: ['meters'],
        summary: 'Register a meter; STS meters are linked to their vending key by supply group and revision',
        body: z.object({
          serial: z.string().regex(/^[A-Za-z0-9._-]{3,40}$/, 'letters, digits, . _ - (3 to 40)'),
          kind: Kind,
          protocol: Protocol,
          mode: Mode,
          sts: StsParams.optional(),
          accountId: z.uuid().optional(),
          role: z
            .enum(['customer', 'bulk'])
            .default('customer')
            .describe(
              "bulk: a district's bulk meter (put it on a supply point: POST /districts/:id/supply-points)",
            ),
          districtId: z.uuid().optional().describe('the district the meter belongs to (docs/losses.md)'),
        }),
        response: { 201: MeterOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const by = actorFor(p);
      const meter = await uniqueOr409(`serial: meter ${req.body.serial} is already registered`, () =>
        registerMeter(db, { utilityId: p.utilityId, actor: by.actor, ...req.body }),
      );
      return reply.status(201).send(meterOut(meter));
    },
  );

  app.get(
    '/api/v1/meters',
    {
      config: { access: ['operator', 'technician'] },
      schema: {
        tags: ['meters'],
        summary: 'List meters, filtered by account, kind, protocol, mode, status, online or serial prefix',
        querystring: z.object({
          accountId: z.uuid().optional(),
          kind: Kind.optional(),
          protocol: Protocol.optional(),
          mode: Mode.optional(),
          status: MeterStatus.optional(),
          online: z
            .enum(['true', 'false'])
            .transform((v) => v === 'true')
            .optional(),
          unassigned: z
            .enum(['true', 'false'])
            .transform((v) => v === 'true')
            .optional(),
          serial: z
            .string()
            .regex(/^[A-Za-z0-9._-]{1,40}$/)
            .optional()
            .describe('serial prefix'),
          ...Paging,
        }),
        response: { 200: z.object({ meters: z.array(MeterOut) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const f = req.query;
      const rows = await listMeters(db, p.utilityId, {
        ...f,
        accountId: f.accountId as AccountId | undefined,
      });
      return { meters: rows.map(meterOut) };
    },
  );

  app.get(
    '/api/v1/meters/:meterId',
    {
      config: { access: ['operator', 'technician'] },
      schema: {
        tags: ['meters'],
        summary: 'A meter with its STS parameters (never its vending key)',
        params: z.object({ meterId: z.uuid() }),
        response: { 200: MeterOut },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return meterOut(await meterOf(db, p.utilityId, req.params.meterId as MeterId));
    },
  );

  app.put(
    '/api/v1/meters/:meterId/account',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['meters'],
        summary: 'Assign a meter to an account, or unassign it (accountId null)',
        params: z.object({ meterId: z.uuid() }),
        body: z.object({ accountId: z.uuid().nullable() }),
        response: { 200: MeterOut },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const by = actorFor(p);
      const meter = await assignMeter(db, {
        utilityId: p.utilityId,
        actor: by.actor,
        meterId: req.params.meterId as MeterId,
        accountId: req.body.accountId,
      });
      return meterOut(meter);
    },
  );

  // Vending keys: admin only (an empty role list admits the admin role alone).
  app.post(
    '/api/v1/vending-keys',
    {
      config: { access: [] },
      schema: {
        tags: ['vending keys'],
        summary:
          'Upload a vending key (hex) for a supply group and key revision; it is stored encrypted and never returned',
        body: z.object({
          sgc: z.number().int().min(0).max(999_999),
          krn: z.number().int().min(1).max(9),
          key: z
            .string()
            .regex(/^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{32})$/, 'hex of an 8- or 16-byte key')
            .describe('the vending key, hex; write-only'),
          label: z.string().trim().min(1).max(100).optional(),
        }),
        response: { 201: VendingKeyOut.extend({ metersLinked: z.number() }) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const by = actorFor(p);
      const { sgc, krn } = req.body;
      const { key: row, metersLinked } = await uniqueOr409(
        `sgc, krn: a vending key for supply group ${sgc} revision ${krn} exists`,
        () =>
          uploadVendingKey(db, keys, {
            utilityId: p.utilityId,
            actor: by.actor,
            sgc,
            krn,
            key: Buffer.from(req.body.key, 'hex'),
            label: req.body.label,
          }),
      );
      return reply.status(201).send({
        id: row.id,
        sgc: row.sgc,
        krn: row.krn,
        label: row.label,
        createdAt: row.created_at.toISOString(),
        metersLinked,
      });
    },
  );

  app.get(
    '/api/v1/vending-keys',
    {
      config: { access: [] },
      schema: {
        tags: ['vending keys'],
        summary: 'The vending keys held (ids, supply groups and revisions only)',
        response: { 200: z.object({ keys: z.array(VendingKeyOut) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const rows = await vendingKeys(db, p.utilityId);
      return {
        keys: rows.map((r) => ({
          id: r.id,
          sgc: r.sgc,
          krn: r.krn,
          label: r.label,
          createdAt: r.created_at.toISOString(),
        })),
      };
    },
  );
};
