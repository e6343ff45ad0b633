/**
 * Meters online: MQTT credentials at commissioning, live status, readings and events, and commands
 * (disconnect, reconnect, token push, read now, time sync) with their state machine. Operators and
 * technicians; every command and credential change is audited.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import { COMMAND_KINDS, meterTopicRoot } from '../../../protocols/mqtt/index.ts';
import { writeAudit } from '../../accounts/audit.ts';
import { type CommandDispatcher, CommandError } from '../../commands/dispatcher.ts';
import { hashSecret } from '../../security/secrets.ts';
import type { CommandId, Database, MeterId, UtilityId } from '../../store/schema.ts';
import { actorOf, principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { iso } from './admin-shared.ts';

export interface MetersOnlineRoutesOptions {
  readonly db: Kysely<Database>;
  /** Null when this process runs no workers (ROLES without `workers`): command routes answer 503. */
  readonly dispatcher: CommandDispatcher | null;
  /** The broker URL given to meters at commissioning. */
  readonly brokerUrl: string | null;
}

const MeterParams = z.object({ id: z.uuid() });
const STAFF = ['operator', 'technician'] as const;

const CommandOut = z.object({
  id: z.string(),
  meterId: z.string(),
  kind: z.string(),
  payload: z.record(z.string(), z.unknown()),
  state: z.enum(['queued', 'sent', 'acknowledged', 'failed', 'expired']),
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

type CommandRow = {
  id: string;
  meter_id: string;
  kind: string;
  payload: unknown;
  state: z.infer<typeof CommandOut>['state'];
  attempts: number;
  reason: string | null;
  created_by: string | null;
  created_at: Date;
  sent_at: Date | null;
  acknowledged_at: Date | null;
  expires_at: Date;
  result: unknown;
};

function commandOut(c: CommandRow): z.infer<typeof CommandOut> {
  return {
    id: c.id,
    meterId: c.meter_id,
    kind: c.kind,
    payload: (c.payload ?? {}) as Record<string, unknown>,
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

  const meterOf = async (utilityId: UtilityId, id: string) => {
    const meter = await db
      .selectFrom('meters as m')
      .innerJoin('utilities as u', 'u.id', 'm.utility_id')
      .select(['m.id', 'm.serial', 'm.status', 'm.online', 'm.last_seen_at', 'm.mqtt_username', 'u.code'])
      .where('m.id', '=', id as MeterId)
      .where('m.utility_id', '=', utilityId)
      .executeTakeFirst();
    if (!meter) throw new AppError('not_found', `meter ${id} is unknown`);
    return meter;
  };

  const commandColumns = [
    'id',
    'meter_id',
    'kind',
    'payload',
    'state',
    'attempts',
    'reason',
    'created_by',
    'created_at',
    'sent_at',
    'acknowledged_at',
    'expires_at',
    'result',
  ] as const;

  const dispatcherOrUnavailable = (): CommandDispatcher => {
    if (opts.dispatcher === null)
      throw new AppError('unavailable', 'this Rasid process runs no command workers');
    return opts.dispatcher;
  };

  /** Sends what is due for the meter now (an online meter gets the command at once) and reads it back. */
  const sendNow = async (dispatcher: CommandDispatcher, meterId: MeterId, id: CommandId) => {
    await dispatcher.dispatchDue({ meterId });
    const row = await db
      .selectFrom('commands')
      .select(commandColumns)
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return commandOut(row as CommandRow);
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
      const meter = await meterOf(p.utilityId, req.params.id);
      if (meter.status === 'decommissioned') throw new AppError('conflict', 'the meter is decommissioned');
      const username = `${meter.code}.${meter.serial}`;
      const password = randomBytes(24).toString('base64url');
      const hash = await hashSecret(password);
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('meters')
          .set({ mqtt_username: username, mqtt_password_hash: hash })
          .where('id', '=', meter.id)
          .execute();
        await writeAudit(trx, {
          utilityId: p.utilityId,
          actor: actorOf(p),
          action:
            meter.mqtt_username === null ? 'meter.mqtt_credentials_issued' : 'meter.mqtt_credentials_rotated',
          subject: `meter:${meter.id}`,
          details: { username },
        });
      });
      return reply.status(201).send({
        username,
        password,
        clientId: meter.serial,
        brokerUrl: opts.brokerUrl,
        topicRoot: meterTopicRoot(meter.code, meter.serial),
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
      const meter = await meterOf(p.utilityId, req.params.id);
      const [reading] = await readingsOf(db, meter.id, { limit: 1 });
      const events = await db
        .selectFrom('meter_events')
        .select(['ts', 'kind', 'details'])
        .where('meter_id', '=', meter.id)
        .orderBy('ts', 'desc')
        .limit(5)
        .execute();
      const pending = await db
        .selectFrom('commands')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('meter_id', '=', meter.id)
        .where('state', 'in', ['queued', 'sent'])
        .executeTakeFirstOrThrow();
      return {
        meterId: meter.id,
        serial: meter.serial,
        online: meter.online,
        lastSeenAt: iso(meter.last_seen_at),
        lastReading: reading ?? null,
        lastEvents: events.map((e) => ({ ts: e.ts.toISOString(), kind: e.kind, details: e.details })),
        pendingCommands: Number(pending.n),
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
      const meter = await meterOf(p.utilityId, req.params.id);
      return {
        readings: await readingsOf(db, meter.id, {
          limit: req.query.limit,
          ...(req.query.before ? { before: new Date(req.query.before) } : {}),
        }),
      };
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
      const meter = await meterOf(p.utilityId, req.params.id);
      const rows = await db
        .selectFrom('meter_events')
        .select(['ts', 'seq', 'kind', 'details'])
        .where('meter_id', '=', meter.id)
        .orderBy('ts', 'desc')
        .limit(req.query.limit)
        .execute();
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
      const meter = await meterOf(p.utilityId, req.params.id);
      let id: CommandId;
      try {
        id = await dispatcher.enqueue({
          utilityId: p.utilityId,
          meterId: meter.id,
          kind: req.body.kind,
          payload: req.body.payload as never,
          ...(req.body.reason ? { reason: req.body.reason } : {}),
          createdBy: actorOf(p),
        });
      } catch (err) {
        if (err instanceof CommandError) throw new AppError('validation_failed', err.message);
        throw err;
      }
      return reply.status(201).send(await sendNow(dispatcher, meter.id, id));
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
      const meter = await meterOf(p.utilityId, req.params.id);
      const rows = await db
        .selectFrom('commands')
        .select(commandColumns)
        .where('meter_id', '=', meter.id)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(req.query.limit)
        .execute();
      return { commands: rows.map((r) => commandOut(r as CommandRow)) };
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
      const row = await db
        .selectFrom('commands')
        .select(commandColumns)
        .where('id', '=', req.params.id as CommandId)
        .where('utility_id', '=', p.utilityId)
        .executeTakeFirst();
      if (!row) throw new AppError('not_found', `command ${req.params.id} is unknown`);
      return commandOut(row as CommandRow);
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
      const token = await db
        .selectFrom('tokens')
        .select(['meter_id', 'token', 'vend_id'])
        .where('vend_id', '=', req.params.id as never)
        .where('utility_id', '=', p.utilityId)
        .where('kind', '=', 'credit')
        .executeTakeFirst();
      if (!token) throw new AppError('not_found', `vend ${req.params.id} has no credit token`);
      const id = await dispatcher.pushToken({
        utilityId: p.utilityId,
        meterId: token.meter_id,
        token: token.token,
        vendId: req.params.id,
        createdBy: actorOf(p),
      });
      return reply.status(201).send(await sendNow(dispatcher, token.meter_id, id));
    },
  );
};

async function readingsOf(
  db: Kysely<Database>,
  meterId: MeterId,
  opts: { limit: number; before?: Date },
): Promise<z.infer<typeof ReadingOut>[]> {
  const rows = await sql<{
    ts: Date;
    seq: bigint | null;
    energy_wh: bigint | null;
    volume_l: bigint | null;
    power_w: number | null;
    voltage_dv: number | null;
    current_ma: number | null;
    credit_minor: bigint | null;
    credit_wh: bigint | null;
    relay: boolean | null;
    flags: number;
  }>`select ts, seq, energy_wh, volume_l, power_w, voltage_dv, current_ma, credit_minor, credit_wh, relay, flags
     from readings where meter_id = ${meterId} ${opts.before ? sql`and ts < ${opts.before}` : sql``}
     order by ts desc limit ${opts.limit}`.execute(db);
  return rows.rows.map((r) => ({
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
  }));
}
