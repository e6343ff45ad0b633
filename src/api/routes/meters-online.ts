/**
 * Meters online: MQTT credentials at commissioning, live status, readings and events, and commands
 * (disconnect, reconnect, token push, read now, time sync) with their state machine. Operators and
 * technicians; every command and credential change is audited.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { COMMAND_KINDS } from '../../../protocols/mqtt/index.ts';
import type { CommandDispatcher } from '../../commands/dispatcher.ts';
import {
  type CommandRow,
  commandOf,
  meterCommands,
  meterEvents,
  meterPresence,
  meterReadings,
  type ReadingRow,
} from '../../meters/queries.ts';
import { commandMeter, issueMqttCredentials, pushVendToken } from '../../meters/service.ts';
import type { MeterSecretKey } from '../../security/secrets.ts';
import type { CommandId, Database, MeterId } from '../../store/schema.ts';
import { actorOf, principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { iso } from './admin-shared.ts';

export interface MetersOnlineRoutesOptions {
  readonly db: Kysely<Database>;
  /** Null when this process runs no workers (ROLES without `workers`): command routes answer 503. */
  readonly dispatcher: CommandDispatcher | null;
  /** The broker URL given to meters at commissioning. */
  readonly brokerUrl: string | null;
  /** Meters' MQTT secrets are kept under this key (HMAC-SHA-256); scrypt when absent. */
  readonly meterSecretKey?: MeterSecretKey;
}

const MeterParams = z.object({ id: z.uuid() });
const STAFF = ['operator', 'technician'] as const;

const CommandOut = z.object({
  id: z.string(),
  meterId: z.string(),
  kind: z.string(),
  payload: z.record(z.string(), z.unknown()),
  state: z.enum(['queued', 'sent', 'acknowledged', 'failed', 'expired', 'unknown']),
  attempts: z.number(),
  reason: z.string().nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
  acknowledgedAt: z.string().nullable(),
  expiresAt: z.string(),
  result: z.unknown().nullable(),
});

const ReadingOut = z.object({
  ts: z.string(),
  seq: z.string().nullable(),
  energyWh: z.string().nullable(),
  volumeL: z.string().nullable(),
  powerW: z.number().nullable(),
  voltageDv: z.number().nullable(),
  currentMa: z.number().nullable(),
  creditMinor: z.string().nullable(),
  creditWh: z.string().nullable(),
  relay: z.boolean().nullable(),
  flags: z.number(),
});

function commandOut(c: CommandRow): z.infer<typeof CommandOut> {
  return {
    id: c.id,
    meterId: c.meter_id,
    kind: c.kind,
    payload: c.payload ?? {},
    state: c.state,
    attempts: c.attempts,
    reason: c.reason,
    createdBy: c.created_by,
    createdAt: c.created_at.toISOString(),
    sentAt: iso(c.sent_at),
    acknowledgedAt: iso(c.acknowledged_at),
    expiresAt: c.expires_at.toISOString(),
    result: c.result ?? null,
  };
}

const str = (v: bigint | null) => (v === null ? null : v.toString());

export const metersOnlineRoutes: FastifyPluginAsync<MetersOnlineRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  const dispatcherOrUnavailable = (): CommandDispatcher => {
    if (opts.dispatcher === null)
      throw new AppError('unavailable', 'this Rasid process runs no command workers');
    return opts.dispatcher;
  };

  app.post(
    '/api/v1/meters/:id/mqtt-credentials',
    {
      config: { access: STAFF },
      schema: {
        tags: ['meters online'],
        summary:
          "Issue (or rotate) a meter's MQTT username and password; the password is shown once and stored hashed",
        params: MeterParams,
        response: {
          201: z.object({
            username: z.string(),
            password: z.string(),
            clientId: z.string(),
            brokerUrl: z.string().nullable(),
            topicRoot: z.string(),
          }),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const credential = await issueMqttCredentials(db, {
        utilityId: p.utilityId,
        meterId: req.params.id as MeterId,
        actor: actorOf(p),
        meterSecretKey: opts.meterSecretKey,
      });
      return reply.status(201).send({
        username: credential.username,
        password: credential.password,
        clientId: credential.clientId,
        brokerUrl: opts.brokerUrl,
        topicRoot: credential.topicRoot,
      });
    },
  );

  app.get(
    '/api/v1/meters/:id/status',
    {
      config: { access: [...STAFF, 'service'] },
      schema: {
        tags: ['meters online'],
        summary: "A meter's presence, last reading and latest events",
        params: MeterParams,
        response: {
          200: z.object({
            meterId: z.string(),
            serial: z.string(),
            online: z.boolean(),
            lastSeenAt: z.string().nullable(),
            lastReading: ReadingOut.nullable(),
            lastEvents: z.array(z.object({ ts: z.string(), kind: z.string(), details: z.unknown() })),
            pendingCommands: z.number(),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const { meter, reading, events, pending } = await meterPresence(
        db,
        p.utilityId,
        req.params.id as MeterId,
      );
      return {
        meterId: meter.id,
        serial: meter.serial,
        online: meter.online,
        lastSeenAt: iso(meter.last_seen_at),
        lastReading: reading === null ? null : readingOut(reading),
        lastEvents: events.map((e) => ({ ts: e.ts.toISOString(), kind: e.kind, details: e.details })),
        pendingCommands: pending,
      };
    },
  );

  app.get(
    '/api/v1/meters/:id/readings',
    {
      config: { access: [...STAFF, 'service'] },
      schema: {
        tags: ['meters online'],
        summary: "A meter's readings, newest first",
        params: MeterParams,
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          before: z.iso.datetime({ offset: true }).optional(),
        }),
        response: { 200: z.object({ readings: z.array(ReadingOut) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const readings = await meterReadings(db, p.utilityId, req.params.id as MeterId, {
        limit: req.query.limit,
        ...(req.query.before ? { before: new Date(req.query.before) } : {}),
      });
      return { readings: readings.map(readingOut) };
    },
  );

  app.get(
    '/api/v1/meters/:id/events',
    {
      config: { access: [...STAFF, 'service'] },
      schema: {
        tags: ['meters online'],
        summary: "A meter's events (tamper, token accepted or rejected, relay, power), newest first",
        params: MeterParams,
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
        response: {
          200: z.object({
            events: z.array(
              z.object({
                ts: z.string(),
                seq: z.string().nullable(),
                kind: z.string(),
                details: z.unknown(),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const rows = await meterEvents(db, p.utilityId, req.params.id as MeterId, req.query.limit);
      return {
        events: rows.map((e) => ({
          ts: e.ts.toISOString(),
          seq: e.seq === null ? null : String(e.seq),
          kind: e.kind,
          details: e.details,
        })),
      };
    },
  );

  app.post(
    '/api/v1/meters/:id/commands',
    {
      config: { access: STAFF },
      schema: {
        tags: ['meters online'],
        summary:
          'Queue a command for a meter and send it now if the meter is online; it is retried with backoff ' +
          'and delivered when an offline meter returns, until it expires',
        params: MeterParams,
        body: z.object({
          kind: z.enum(COMMAND_KINDS),
          payload: z.record(z.string(), z.unknown()).default({}),
          reason: z.string().min(1).max(200).optional(),
        }),
        response: { 201: CommandOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const dispatcher = dispatcherOrUnavailable();
      const command = await commandMeter(db, dispatcher, {
        utilityId: p.utilityId,
        meterId: req.params.id as MeterId,
        kind: req.body.kind,
        payload: req.body.payload,
        reason: req.body.reason,
        createdBy: actorOf(p),
      });
      return reply.status(201).send(commandOut(command));
    },
  );

  app.get(
    '/api/v1/meters/:id/commands',
    {
      config: { access: [...STAFF, 'service'] },
      schema: {
        tags: ['meters online'],
        summary: "A meter's commands and their state, newest first",
        params: MeterParams,
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
        response: { 200: z.object({ commands: z.array(CommandOut) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const rows = await meterCommands(db, p.utilityId, req.params.id as MeterId, req.query.limit);
      return { commands: rows.map(commandOut) };
    },
  );

  app.get(
    '/api/v1/commands/:id',
    {
      config: { access: [...STAFF, 'service'] },
      schema: {
        tags: ['meters online'],
        summary: 'One command and its state',
        params: z.object({ id: z.uuid() }),
        response: { 200: CommandOut },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return commandOut(await commandOf(db, p.utilityId, req.params.id as CommandId));
    },
  );

  app.post(
    '/api/v1/vends/:id/push',
    {
      config: { access: [...STAFF, 'service'] },
      schema: {
        tags: ['meters online'],
        summary: "Deliver a vend's credit token to its meter remotely (once per token, however often asked)",
        params: z.object({ id: z.uuid() }),
        response: { 201: CommandOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const dispatcher = dispatcherOrUnavailable();
      const command = await pushVendToken(db, dispatcher, {
        utilityId: p.utilityId,
        vendId: req.params.id,
        createdBy: actorOf(p),
      });
      return reply.status(201).send(commandOut(command));
    },
  );
};

function readingOut(r: ReadingRow): z.infer<typeof ReadingOut> {
  return {
    ts: r.ts.toISOString(),
    seq: str(r.seq),
    energyWh: str(r.energy_wh),
    volumeL: str(r.volume_l),
    powerW: r.power_w,
    voltageDv: r.voltage_dv,
    currentMa: r.current_ma,
    creditMinor: str(r.credit_minor),
    creditWh: str(r.credit_wh),
    relay: r.relay,
    flags: r.flags,
  };
}
