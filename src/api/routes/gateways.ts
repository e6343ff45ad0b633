/**
 * Protocol gateways and the meters each serves (docs/gateway.md, "Meters from Rasid").
 *
 * Operators: create a gateway (its API key is in the answer, once; Rasid keeps its SHA-256), list and
 * read gateways, disable one, give it a new key, and assign a DLMS or Modbus meter to it with the
 * meter's connection, addresses, security and profile (PUT: one gateway per meter, so a PUT for another
 * gateway moves the meter), or take a meter off it. The meter's secrets (LLS password, HLS keys) are
 * sealed by the key store and never shown to operators again.
 *
 * Gateways: `GET /api/v1/gateway/meters` with the gateway's `x-api-key` answers its own meter list, each
 * entry exactly a meter of the gateway configuration file, secrets included, with `Cache-Control:
 * no-store`. `rasid gateway --rasid-url` fetches it at start and then periodically.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { MeterSchema } from '../../../gateway/config.ts';
import { CREDIT_FIELDS } from '../../../gateway/profiles.ts';
import { isDeviceId } from '../../../protocols/mqtt/index.ts';
import { isUniqueViolation } from '../../accounts/accounts.ts';
import { writeAudit } from '../../accounts/audit.ts';
import type { KeyStore } from '../../store/keystore.ts';
import type { Database, GatewayId, MeterId, UtilityId } from '../../store/schema.ts';
import {
  actorOf,
  GATEWAY_KEY_PREFIX,
  newSecret,
  type Principal,
  principalOf,
  secretDigest,
} from '../auth.ts';
import { AppError } from '../errors.ts';

export interface GatewayRoutesOptions {
  readonly db: Kysely<Database>;
  readonly keys: KeyStore;
  readonly now?: () => Date;
}

const hex = (bytes: number) =>
  z.string().regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `${bytes} bytes as ${bytes * 2} hex digits`);

const GatewayCode = z
  .string()
  .refine(isDeviceId, 'a gateway id is 1-64 of A-Z a-z 0-9 . - _, starting with a letter or digit')
  .describe("the gateway's id on the broker: its MQTT client id and `gateways/<id>/status`");

const BrokerUrl = z
  .string()
  .regex(/^(mqtts?|wss?|tcp|ssl):\/\//, 'a broker url starts with mqtt:// or mqtts://')
  .max(500);

const GatewayOut = z.object({
  id: z.string(),
  gatewayId: z.string(),
  name: z.string(),
  active: z.boolean(),
  brokerUrl: z.string().nullable(),
  pollIntervalS: z.number(),
  meters: z.number().describe('meters assigned'),
  createdAt: z.string(),
});

/** A meter's security as operators give it: the secrets are sealed, never answered. */
const SecurityIn = z.discriminatedUnion('mechanism', [
  z.object({ mechanism: z.literal('none') }),
  z.object({ mechanism: z.literal('lls'), password: z.string().min(1).max(64) }),
  z.object({
    mechanism: z.literal('hls-gmac'),
    authenticationKey: hex(16),
    encryptionKey: hex(16),
    systemTitle: hex(8).describe("the gateway's (client's) system title"),
  }),
]);

const AssignmentIn = z.object({
  connection: z
    .record(z.string(), z.unknown())
    .describe('{ "type": "tcp", "host", "port" } or, for Modbus RTU, { "type": "serial", "path", ... }'),
  unitId: z.number().int().min(0).max(255).optional().describe('modbus: unit id'),
  transport: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('dlms: { "framing": "wrapper", ... } or { "framing": "hdlc", ... } (docs/gateway.md)'),
  security: SecurityIn.optional().describe('dlms: none, lls or hls-gmac; default none'),
  creditField: z.enum(CREDIT_FIELDS).optional(),
  profile: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  pollIntervalS: z.number().positive().max(86_400).optional(),
  timeoutMs: z.number().int().positive().max(600_000).optional(),
});

const AssignmentOut = z.object({
  meterId: z.string(),
  serial: z.string(),
  protocol: z.string(),
  gatewayId: z.string().describe("the serving gateway's record id"),
  settings: z.record(z.string(), z.unknown()).describe('the configuration entry, without secrets'),
  security: z.object({ mechanism: z.string(), secretsStored: z.boolean() }),
  updatedAt: z.string(),
});

/** The key-store context of a meter's sealed secrets: a box opens on its own row only. */
const sealContext = (meterId: string) => `gateway_meters:${meterId}`;

type Settings = Record<string, unknown>;
type SecurityInput = z.infer<typeof SecurityIn>;

/** Splits a meter's security into what the settings keep and what is sealed. */
function splitSecurity(security: SecurityInput | undefined): {
  kept: Settings | undefined;
  secrets: Record<string, string> | null;
} {
  if (security === undefined) return { kept: undefined, secrets: null };
  if (security.mechanism === 'none') return { kept: security, secrets: null };
  if (security.mechanism === 'lls')
    return { kept: { mechanism: 'lls' }, secrets: { password: security.password } };
  return {
    kept: { mechanism: 'hls-gmac', systemTitle: security.systemTitle },
    secrets: { authenticationKey: security.authenticationKey, encryptionKey: security.encryptionKey },
  };
}

function mechanismOf(settings: Settings): string {
  const security = settings.security as { mechanism?: unknown } | undefined;
  return typeof security?.mechanism === 'string' ? security.mechanism : 'none';
}

/** An assignment as operators see it: the settings, and whether secrets are sealed (never the secrets). */
function assignmentOut(a: {
  meter_id: string;
  serial: string;
  protocol: string;
  gateway_id: string;
  settings: Settings;
  secret_box: unknown;
  updated_at: Date;
}): z.infer<typeof AssignmentOut> {
  return {
    meterId: a.meter_id,
    serial: a.serial,
    protocol: a.protocol,
    gatewayId: a.gateway_id,
    settings: a.settings,
    security: { mechanism: mechanismOf(a.settings), secretsStored: a.secret_box !== null },
    updatedAt: a.updated_at.toISOString(),
  };
}

export const gatewayRoutes: FastifyPluginAsync<GatewayRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db, keys } = opts;

  async function gatewayOf(utilityId: UtilityId, id: string) {
    const row = await db
      .selectFrom('gateways')
      .selectAll()
      .where('id', '=', id as GatewayId)
      .where('utility_id', '=', utilityId)
      .executeTakeFirst();
    if (!row) throw new AppError('not_found', `gateway ${id} is unknown`);
    return row;
  }

  /** Updates one of the utility's gateways and audits it under `action`. */
  async function change(
    p: Principal,
    id: string,
    set: { active: boolean; api_key_hash?: string },
    action: 'gateway.disable' | 'gateway.rotate_key',
  ) {
    const before = await gatewayOf(p.utilityId, id);
    return db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable('gateways')
        .set(set)
        .where('id', '=', before.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await writeAudit(trx, {
        utilityId: p.utilityId,
        actor: actorOf(p),
        action,
        subject: `gateway:${before.id}`,
        details: { gatewayId: before.code },
      });
      return updated;
    });
  }

  async function out(row: Awaited<ReturnType<typeof gatewayOf>>): Promise<z.infer<typeof GatewayOut>> {
    const count = await db
      .selectFrom('gateway_meters')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('gateway_id', '=', row.id)
      .executeTakeFirstOrThrow();
    return {
      id: row.id,
      gatewayId: row.code,
      name: row.name,
      active: row.active,
      brokerUrl: row.broker_url,
      pollIntervalS: row.poll_interval_s,
      meters: Number(count.n),
      createdAt: row.created_at.toISOString(),
    };
  }

  app.post(
    '/api/v1/gateways',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['gateways'],
        summary: 'Create a protocol gateway; the answer carries its API key, shown this once',
        body: z.object({
          gatewayId: GatewayCode,
          name: z.string().trim().min(1).max(200),
          brokerUrl: BrokerUrl.optional().describe('the broker the gateway is told to use'),
          pollIntervalS: z.number().int().min(1).max(86_400).default(900),
        }),
        response: {
          201: GatewayOut.extend({
            apiKey: z.string().describe('send as the x-api-key header; Rasid keeps only its hash'),
          }),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const apiKey = newSecret(GATEWAY_KEY_PREFIX);
      let row: Awaited<ReturnType<typeof gatewayOf>>;
      try {
        row = await db.transaction().execute(async (trx) => {
          const created = await trx
            .insertInto('gateways')
            .values({
              utility_id: p.utilityId,
              code: req.body.gatewayId,
              name: req.body.name,
              api_key_hash: secretDigest(apiKey),
              broker_url: req.body.brokerUrl ?? null,
              poll_interval_s: req.body.pollIntervalS,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          await writeAudit(trx, {
            utilityId: p.utilityId,
            actor: actorOf(p),
            action: 'gateway.create',
            subject: `gateway:${created.id}`,
            details: { gatewayId: created.code, name: created.name },
          });
          return created;
        });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        throw new AppError('conflict', `gatewayId: gateway ${req.body.gatewayId} already exists`);
      }
      return reply.status(201).send({ ...(await out(row)), apiKey });
    },
  );

  app.get(
    '/api/v1/gateways',
    {
      config: { access: ['operator', 'technician'] },
      schema: {
        tags: ['gateways'],
        summary: "The utility's gateways (API keys are never shown again)",
        response: { 200: z.object({ gateways: z.array(GatewayOut) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const rows = await db
        .selectFrom('gateways')
        .selectAll()
        .where('utility_id', '=', p.utilityId)
        .orderBy('code')
        .execute();
      return { gateways: await Promise.all(rows.map(out)) };
    },
  );

  app.get(
    '/api/v1/gateways/:id',
    {
      config: { access: ['operator', 'technician'] },
      schema: {
        tags: ['gateways'],
        summary: 'A gateway and the meters it serves (secrets are never shown)',
        params: z.object({ id: z.uuid() }),
        response: { 200: GatewayOut.extend({ assignments: z.array(AssignmentOut) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const row = await gatewayOf(p.utilityId, req.params.id);
      const rows = await db
        .selectFrom('gateway_meters as g')
        .innerJoin('meters as m', 'm.id', 'g.meter_id')
        .select([
          'g.meter_id',
          'g.gateway_id',
          'g.settings',
          'g.secret_box',
          'g.updated_at',
          'm.serial',
          'm.protocol',
        ])
        .where('g.gateway_id', '=', row.id)
        .orderBy('m.serial')
        .execute();
      return {
        ...(await out(row)),
        assignments: rows.map(assignmentOut),
      };
    },
  );

  app.post(
    '/api/v1/gateways/:id/disable',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['gateways'],
        summary: 'Disable a gateway: its API key is refused from the next request',
        params: z.object({ id: z.uuid() }),
        response: { 200: GatewayOut },
      },
    },
    async (req) => {
      return out(await change(principalOf(req), req.params.id, { active: false }, 'gateway.disable'));
    },
  );

  app.post(
    '/api/v1/gateways/:id/key',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['gateways'],
        summary: 'Give a gateway a new API key (the old one is refused at once) and enable it',
        params: z.object({ id: z.uuid() }),
        response: { 200: GatewayOut.extend({ apiKey: z.string() }) },
      },
    },
    async (req) => {
      const apiKey = newSecret(GATEWAY_KEY_PREFIX);
      const row = await change(
        principalOf(req),
        req.params.id,
        { api_key_hash: secretDigest(apiKey), active: true },
        'gateway.rotate_key',
      );
      return { ...(await out(row)), apiKey };
    },
  );

  app.put(
    '/api/v1/gateways/:id/meters/:meterId',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['gateways'],
        summary:
          'Assign a DLMS or Modbus meter to this gateway with its connection settings (moves it from another gateway)',
        params: z.object({ id: z.uuid(), meterId: z.uuid() }),
        body: AssignmentIn,
        response: { 200: AssignmentOut },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const gateway = await gatewayOf(p.utilityId, req.params.id);
      const meterId = req.params.meterId as MeterId;
      const meter = await db
        .selectFrom('meters')
        .select(['id', 'serial', 'kind', 'protocol', 'status'])
        .where('id', '=', meterId)
        .where('utility_id', '=', p.utilityId)
        .executeTakeFirst();
      if (!meter) throw new AppError('not_found', `meter ${meterId} is unknown`);
      if (meter.protocol === 'mqtt') {
        throw new AppError('conflict', `meter ${meter.serial} speaks MQTT itself: it needs no gateway`);
      }
      const { security, ...rest } = req.body;
      if (meter.protocol === 'modbus' && (security !== undefined || rest.transport !== undefined)) {
        throw new AppError('validation_failed', 'security, transport: a Modbus meter has neither');
      }
      const split = splitSecurity(security);
      const settings: Settings = { ...rest, ...(split.kept ? { security: split.kept } : {}) };
      // What the gateway will get must load as a meter of its configuration: check it here, with the
      // secrets in (their format was checked by the body schema already).
      const entry = {
        id: meter.serial,
        kind: meter.kind,
        protocol: meter.protocol,
        ...rest,
        ...(security ? { security } : {}),
      };
      const checked = MeterSchema.safeParse(entry);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
        throw new AppError('validation_failed', `${where}${issue?.message ?? 'not a gateway meter'}`);
      }
      const box = split.secrets
        ? keys.seal(sealContext(meter.id), Buffer.from(JSON.stringify(split.secrets)))
        : null;
      const row = await db.transaction().execute(async (trx) => {
        const previous = await trx
          .selectFrom('gateway_meters')
          .select('gateway_id')
          .where('meter_id', '=', meter.id)
          .executeTakeFirst();
        const saved = await trx
          .insertInto('gateway_meters')
          .values({
            meter_id: meter.id,
            gateway_id: gateway.id,
            utility_id: p.utilityId,
            settings,
            secret_box: box,
          })
          .onConflict((oc) =>
            oc
              .column('meter_id')
              .doUpdateSet({ gateway_id: gateway.id, settings, secret_box: box, updated_at: new Date() }),
          )
          .returningAll()
          .executeTakeFirstOrThrow();
        await writeAudit(trx, {
          utilityId: p.utilityId,
          actor: actorOf(p),
          action: 'gateway.assign_meter',
          subject: `meter:${meter.id}`,
          details: {
            gatewayId: gateway.code,
            serial: meter.serial,
            mechanism: split.kept ? mechanismOf({ security: split.kept }) : 'none',
            movedFrom: previous && previous.gateway_id !== gateway.id ? previous.gateway_id : null,
          },
        });
        return saved;
      });
      return assignmentOut({ ...row, serial: meter.serial, protocol: meter.protocol });
    },
  );

  app.delete(
    '/api/v1/gateways/:id/meters/:meterId',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['gateways'],
        summary: 'Take a meter off this gateway (its sealed secrets go with the assignment)',
        params: z.object({ id: z.uuid(), meterId: z.uuid() }),
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const gateway = await gatewayOf(p.utilityId, req.params.id);
      const deleted = await db.transaction().execute(async (trx) => {
        const gone = await trx
          .deleteFrom('gateway_meters')
          .where('meter_id', '=', req.params.meterId as MeterId)
          .where('gateway_id', '=', gateway.id)
          .executeTakeFirst();
        if (gone.numDeletedRows === 0n) return false;
        await writeAudit(trx, {
          utilityId: p.utilityId,
          actor: actorOf(p),
          action: 'gateway.unassign_meter',
          subject: `meter:${req.params.meterId}`,
          details: { gatewayId: gateway.code },
        });
        return true;
      });
      if (!deleted) {
        throw new AppError(
          'not_found',
          `meter ${req.params.meterId} is not served by gateway ${gateway.code}`,
        );
      }
      return reply.status(204).send();
    },
  );

  app.get(
    '/api/v1/gateway/meters',
    {
      config: { access: ['gateway'] },
      schema: {
        tags: ['gateways'],
        summary: "The calling gateway's own meters, as entries of its configuration file, secrets included",
        security: [{ apiKey: [] }],
        response: {
          200: z.object({
            gatewayId: z.string(),
            utility: z.string(),
            brokerUrl: z.string().nullable(),
            polling: z.object({ intervalS: z.number() }),
            meters: z.array(z.record(z.string(), z.unknown())),
          }),
        },
      },
    },
    async (req, reply) => {
      const g = req.gateway;
      if (!g) throw new AppError('unauthenticated', 'present the gateway API key as x-api-key');
      const gateway = await db
        .selectFrom('gateways as g')
        .innerJoin('utilities as u', 'u.id', 'g.utility_id')
        .select(['g.id', 'g.code', 'g.broker_url', 'g.poll_interval_s', 'u.code as utility'])
        .where('g.id', '=', g.gatewayId)
        .executeTakeFirstOrThrow();
      const rows = await db
        .selectFrom('gateway_meters as a')
        .innerJoin('meters as m', 'm.id', 'a.meter_id')
        .select(['m.id', 'm.serial', 'm.kind', 'm.protocol', 'a.settings', 'a.secret_box'])
        .where('a.gateway_id', '=', gateway.id)
        .where('m.status', '<>', 'decommissioned')
        .orderBy('m.serial')
        .execute();
      const meters = rows.map((row) => {
        const settings = { ...row.settings };
        if (row.secret_box) {
          const secrets = JSON.parse(
            keys.open(sealContext(row.id), row.secret_box).reveal().toString('utf8'),
          );
          settings.security = { ...(settings.security as Settings), ...secrets };
        }
        return { id: row.serial, kind: row.kind, protocol: row.protocol, ...settings };
      });
      reply.header('cache-control', 'no-store');
      return {
        gatewayId: gateway.code,
        utility: gateway.utility,
        brokerUrl: gateway.broker_url,
        polling: { intervalS: gateway.poll_interval_s },
        meters,
      };
    },
  );
};
