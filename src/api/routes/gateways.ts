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
 *
 * The gateways module (src/gateways) holds the reads and the writes.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { CREDIT_FIELDS } from '../../../gateway/profiles.ts';
import { isDeviceId } from '../../../protocols/mqtt/index.ts';
import {
  type AssignmentView,
  type GatewayView,
  gatewayConfig,
  gatewayWithAssignments,
  listGateways,
} from '../../gateways/queries.ts';
import {
  assignMeter,
  createGateway,
  disableGateway,
  rotateGatewayKey,
  unassignMeter,
} from '../../gateways/service.ts';
import type { KeyStore } from '../../store/keystore.ts';
import type { Database, MeterId } from '../../store/schema.ts';
import { GATEWAY_KEY_PREFIX, newSecret, principalOf, secretDigest } from '../auth.ts';
import { AppError } from '../errors.ts';
import { actorFor } from './admin-shared.ts';

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

function gatewayOut(g: GatewayView): z.infer<typeof GatewayOut> {
  return {
    id: g.id,
    gatewayId: g.code,
    name: g.name,
    active: g.active,
    brokerUrl: g.brokerUrl,
    pollIntervalS: g.pollIntervalS,
    meters: g.meters,
    createdAt: g.createdAt.toISOString(),
  };
}

function assignmentOut(a: AssignmentView): z.infer<typeof AssignmentOut> {
  return { ...a, updatedAt: a.updatedAt.toISOString() };
}

export const gatewayRoutes: FastifyPluginAsync<GatewayRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db, keys } = opts;

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
      const gateway = await createGateway(
        db,
        p.utilityId,
        {
          code: req.body.gatewayId,
          name: req.body.name,
          brokerUrl: req.body.brokerUrl,
          pollIntervalS: req.body.pollIntervalS,
          apiKeyHash: secretDigest(apiKey),
        },
        actorFor(p),
      );
      return reply.status(201).send({ ...gatewayOut(gateway), apiKey });
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
      return { gateways: (await listGateways(db, p.utilityId)).map(gatewayOut) };
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
      const g = await gatewayWithAssignments(db, p.utilityId, req.params.id);
      return { ...gatewayOut(g), assignments: g.assignments.map(assignmentOut) };
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
      const p = principalOf(req);
      return gatewayOut(await disableGateway(db, p.utilityId, req.params.id, actorFor(p)));
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
      const p = principalOf(req);
      const apiKey = newSecret(GATEWAY_KEY_PREFIX);
      const row = await rotateGatewayKey(db, p.utilityId, req.params.id, secretDigest(apiKey), actorFor(p));
      return { ...gatewayOut(row), apiKey };
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
      const meterId = req.params.meterId as MeterId;
      return assignmentOut(
        await assignMeter(db, keys, p.utilityId, req.params.id, meterId, req.body, actorFor(p)),
      );
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
      await unassignMeter(db, p.utilityId, req.params.id, req.params.meterId as MeterId, actorFor(p));
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
      const config = await gatewayConfig(db, keys, g.gatewayId);
      reply.header('cache-control', 'no-store');
      return config;
    },
  );
};
