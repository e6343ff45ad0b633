/**
 * Meters (register with STS parameters, assign to an account, get, list with filters) and vending keys
 * (admin only: upload, list). A vending key goes into the key store encrypted and is never part of an answer
 * or a log line: the answers here are built from declared schemas that have no field for it, and the audit
 * rows name only the supply group and revision.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { likeEscape, writeAudit } from '../../accounts/audit.ts';
import type { AccountId, Meter, MeterId, VendingKeyId } from '../../store/schema.ts';
import { principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { type AdminRoutesOptions, actorFor, iso, Paging, uniqueOr409 } from './admin-shared.ts';

const Kind = z.enum(['electricity', 'water']);
const Protocol = z.enum(['mqtt', 'dlms', 'modbus']);
const Mode = z.enum(['token', 'central']);
const MeterStatus = z.enum(['registered', 'active', 'faulty', 'decommissioned']);

/** STS parameters of a prepaid meter (IEC 62055-41). */
const StsParams = z.object({
  iin: z.string().regex(/^[0-9]{6}$/, 'issuer identification number: 6 digits'),
  drn: z.string().regex(/^([0-9]{11}|[0-9]{13})$/, 'decoder reference number: 11 or 13 digits'),
  sgc: z.number().int().min(0).max(999_999).describe('supply group code'),
  ti: z.number().int().min(0).max(99).describe('tariff index'),
  krn: z.number().int().min(1).max(9).describe('key revision number'),
  kt: z.number().int().min(0).max(3).describe('key type'),
  ea: z.number().int().min(0).max(99).describe('encryption algorithm (7 = STA, 11 = MISTY1)'),
  baseDate: z.enum(['1993-01-01', '2014-01-01', '2035-01-01']),
  ken: z.number().int().min(0).max(255).default(255).describe('key expiry number'),
});

const MeterOut = z.object({
  id: z.string(),
  serial: z.string(),
  kind: Kind,
  protocol: Protocol,
  mode: Mode,
  status: MeterStatus,
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

  const meterColumns = [
    'id',
    'utility_id',
    'serial',
    'kind',
    'protocol',
    'mode',
    'account_id',
    'sts_iin',
    'sts_drn',
    'sts_sgc',
    'sts_ti',
    'sts_krn',
    'sts_kt',
    'sts_ea',
    'sts_base_date',
    'sts_ken',
    'vending_key_id',
    'mqtt_username',
    'mqtt_password_hash',
    'status',
    'online',
    'last_seen_at',
    'created_at',
  ] as const;

  const openAccount = async (
    trx: Parameters<typeof writeAudit>[0],
    utilityId: Meter['utility_id'],
    id: string,
  ) => {
    const account = await trx
      .selectFrom('accounts')
      .select(['id', 'status'])
      .where('id', '=', id as AccountId)
      .where('utility_id', '=', utilityId)
      .executeTakeFirst();
    if (!account) throw new AppError('not_found', `accountId: account ${id} is unknown`);
    if (account.status === 'closed') throw new AppError('conflict', `accountId: account ${id} is closed`);
    return account.id;
  };

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
        }),
        response: { 201: MeterOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const by = actorFor(p);
      const { sts } = req.body;
      const meter = await uniqueOr409(`serial: meter ${req.body.serial} is already registered`, () =>
        db.transaction().execute(async (trx) => {
          const accountId = req.body.accountId
            ? await openAccount(trx, p.utilityId, req.body.accountId)
            : null;
          const key = sts
            ? await trx
                .selectFrom('vending_keys')
                .select('id')
                .where('utility_id', '=', p.utilityId)
                .where('sgc', '=', sts.sgc)
                .where('krn', '=', sts.krn)
                .executeTakeFirst()
            : undefined;
          const m = await trx
            .insertInto('meters')
            .values({
              utility_id: p.utilityId,
              serial: req.body.serial,
              kind: req.body.kind,
              protocol: req.body.protocol,
              mode: req.body.mode,
              account_id: accountId,
              sts_iin: sts?.iin ?? null,
              sts_drn: sts?.drn ?? null,
              sts_sgc: sts?.sgc ?? null,
              sts_ti: sts?.ti ?? null,
              sts_krn: sts?.krn ?? null,
              sts_kt: sts?.kt ?? null,
              sts_ea: sts?.ea ?? null,
              sts_base_date: sts?.baseDate ?? null,
              sts_ken: sts?.ken ?? null,
              vending_key_id: key?.id ?? null,
              mqtt_username: null,
              mqtt_password_hash: null,
              last_seen_at: null,
            })
            .returning(meterColumns)
            .executeTakeFirstOrThrow();
          await writeAudit(trx, {
            utilityId: p.utilityId,
            actor: by.actor,
            action: 'meter.register',
            subject: `meter:${m.id}`,
            details: {
              serial: m.serial,
              kind: m.kind,
              protocol: m.protocol,
              mode: m.mode,
              accountId,
              ...(sts ? { sgc: sts.sgc, krn: sts.krn, drn: sts.drn } : {}),
            },
          });
          return m;
        }),
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
      let q = db.selectFrom('meters').select(meterColumns).where('utility_id', '=', p.utilityId);
      if (f.accountId) q = q.where('account_id', '=', f.accountId as AccountId);
      if (f.kind) q = q.where('kind', '=', f.kind);
      if (f.protocol) q = q.where('protocol', '=', f.protocol);
      if (f.mode) q = q.where('mode', '=', f.mode);
      if (f.status) q = q.where('status', '=', f.status);
      if (f.online !== undefined) q = q.where('online', '=', f.online);
      if (f.unassigned === true) q = q.where('account_id', 'is', null);
      if (f.unassigned === false) q = q.where('account_id', 'is not', null);
      if (f.serial) q = q.where('serial', 'like', `${likeEscape(f.serial)}%`);
      const rows = await q.orderBy('serial').limit(f.limit).offset(f.offset).execute();
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
      const m = await db
        .selectFrom('meters')
        .select(meterColumns)
        .where('id', '=', req.params.meterId as MeterId)
        .where('utility_id', '=', p.utilityId)
        .executeTakeFirst();
      if (!m) throw new AppError('not_found', `meter ${req.params.meterId} is unknown`);
      return meterOut(m);
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
      return db.transaction().execute(async (trx) => {
        const before = await trx
          .selectFrom('meters')
          .select(['id', 'account_id', 'status'])
          .where('id', '=', req.params.meterId as MeterId)
          .where('utility_id', '=', p.utilityId)
          .forUpdate()
          .executeTakeFirst();
        if (!before) throw new AppError('not_found', `meter ${req.params.meterId} is unknown`);
        if (before.status === 'decommissioned') {
          throw new AppError('conflict', `meter ${req.params.meterId} is decommissioned`);
        }
        const accountId = req.body.accountId ? await openAccount(trx, p.utilityId, req.body.accountId) : null;
        const after = await trx
          .updateTable('meters')
          .set({ account_id: accountId })
          .where('id', '=', before.id)
          .returning(meterColumns)
          .executeTakeFirstOrThrow();
        if (before.account_id !== accountId) {
          await writeAudit(trx, {
            utilityId: p.utilityId,
            actor: by.actor,
            action: 'meter.assign',
            subject: `meter:${before.id}`,
            details: { from: before.account_id, to: accountId },
          });
        }
        return meterOut(after);
      });
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
      const id: VendingKeyId = await uniqueOr409(
        `sgc, krn: a vending key for supply group ${sgc} revision ${krn} exists`,
        () =>
          keys.put({
            utilityId: p.utilityId,
            sgc,
            krn,
            key: Buffer.from(req.body.key, 'hex'),
            ...(req.body.label ? { label: req.body.label } : {}),
          }),
      );
      // Meters registered before their key arrived take it now.
      const linked = await db.transaction().execute(async (trx) => {
        const rows = await trx
          .updateTable('meters')
          .set({ vending_key_id: id })
          .where('utility_id', '=', p.utilityId)
          .where('sts_sgc', '=', sgc)
          .where('sts_krn', '=', krn)
          .where('vending_key_id', 'is', null)
          .returning('id')
          .execute();
        await writeAudit(trx, {
          utilityId: p.utilityId,
          actor: by.actor,
          action: 'vending_key.upload',
          subject: `vending_key:${id}`,
          details: { sgc, krn, label: req.body.label ?? null, metersLinked: rows.length },
        });
        return rows.length;
      });
      const row = await db
        .selectFrom('vending_keys')
        .select(['id', 'sgc', 'krn', 'label', 'created_at'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      return reply.status(201).send({
        id: row.id,
        sgc: row.sgc,
        krn: row.krn,
        label: row.label,
        createdAt: row.created_at.toISOString(),
        metersLinked: linked,
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
      const rows = await db
        .selectFrom('vending_keys')
        .select(['id', 'sgc', 'krn', 'label', 'created_at'])
        .where('utility_id', '=', p.utilityId)
        .orderBy('sgc')
        .orderBy('krn')
        .execute();
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
