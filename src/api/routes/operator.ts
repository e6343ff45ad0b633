/**
 * The operator's fleet view: an overview (online, offline, low credit, disconnected, tamper, by area), the
 * meter list with filters, search and paging, one meter's page (state, last reading, events, commands,
 * ledger, tokens), and a live alerts feed as Server-Sent Events. The reads and the alert feed are the fleet
 * module's (src/fleet), which says how a meter's state is derived.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { type Alert, AlertFeed } from '../../fleet/alerts.ts';
import {
  assignableStaff,
  fleetMeterKind,
  fleetMeters,
  fleetOverview,
  type MeterStateRow,
  meterPage,
  sessionUser,
  watcherOf,
} from '../../fleet/queries.ts';
import { issueStreamTicket, redeemStreamTicket } from '../../fleet/service.ts';
import { meterConsumption } from '../../meters/consumption.ts';
import { METER_STATUSES } from '../../meters/lifecycle.ts';
import { formatMoney } from '../../money.ts';
import type { Database, MeterId, Role, UserId, UtilityId } from '../../store/schema.ts';
import { newSecret, type Principal, principalOf, secretDigest } from '../auth.ts';
import { AppError } from '../errors.ts';
import { ConsumptionOut, ConsumptionQuery } from '../schemas/consumption.ts';
import { iso, Paging, QueryBool } from './admin-shared.ts';

export interface OperatorRoutesOptions {
  readonly db: Kysely<Database>;
  readonly now?: () => Date;
  /** How often the alerts feed reads new events and decisions (default 2000 ms). */
  readonly alertPollMs?: number;
  /** Limit per minute on the stream route, which authenticates itself (default 60). */
  readonly publicRateLimit?: number;
}

/** Who watches the fleet. */
const FLEET: readonly Role[] = ['operator', 'service', 'technician'];

// ---- Schemas -----------------------------------------------------------------------------------------

const Counts = z.object({
  total: z.number(),
  online: z.number(),
  offline: z.number(),
  lowCredit: z.number(),
  disconnected: z.number(),
  tamper: z.number(),
});

const FleetMeter = z.object({
  id: z.string(),
  serial: z.string(),
  kind: z.enum(['electricity', 'water']),
  protocol: z.string(),
  mode: z.enum(['token', 'central']),
  status: z.string(),
  online: z.boolean(),
  lastSeenAt: z.string().nullable(),
  account: z.object({ id: z.string(), number: z.string() }).nullable(),
  customer: z.object({ id: z.string(), name: z.string() }).nullable(),
  premise: z.object({ address: z.string(), area: z.string().nullable() }).nullable(),
  lowCredit: z.boolean(),
  disconnected: z.boolean(),
  tamper: z.boolean(),
  lastReading: z
    .object({
      ts: z.string(),
      register: z.string().nullable().describe('Wh or litres'),
      relay: z.boolean().nullable(),
      creditMinor: z.string().nullable(),
    })
    .nullable(),
});

function fleetMeter(r: MeterStateRow): z.infer<typeof FleetMeter> {
  const register = r.kind === 'electricity' ? r.energy_wh : r.volume_l;
  return {
    id: r.id,
    serial: r.serial,
    kind: r.kind,
    protocol: r.protocol,
    mode: r.mode,
    status: r.status,
    online: r.online,
    lastSeenAt: iso(r.last_seen_at),
    account: r.account_id ? { id: r.account_id, number: r.account_number ?? '' } : null,
    customer: r.customer_id ? { id: r.customer_id, name: r.customer_name ?? '' } : null,
    premise: r.address !== null ? { address: r.address, area: r.area } : null,
    lowCredit: r.low_credit,
    disconnected: r.disconnected,
    tamper: r.tamper,
    lastReading: r.last_ts
      ? {
          ts: r.last_ts.toISOString(),
          register: register === null ? null : String(register),
          relay: r.relay,
          creditMinor: r.credit_minor === null ? null : String(r.credit_minor),
        }
      : null,
  };
}

const SESSION_COOKIE = 'rasid_session';
const TICKET_TTL_MS = 60_000;

function cookie(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return null;
}

export const operatorRoutes: FastifyPluginAsync<OperatorRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;
  const now = opts.now ?? (() => new Date());
  const feed = new AlertFeed({
    db,
    pollMs: opts.alertPollMs ?? 2000,
    onError: (err) => fastify.log.warn({ err }, 'alert feed read failed'),
  });
  const streams = new Set<FastifyReply>();
  fastify.addHook('preClose', async () => {
    for (const reply of streams) reply.raw.end();
    streams.clear();
    await feed.stop();
  });

  app.get(
    '/api/v1/fleet/overview',
    {
      config: { access: FLEET },
      schema: {
        tags: ['fleet'],
        summary: 'Counts of meters online and offline, low on credit, disconnected and with tamper, by area',
        response: { 200: Counts.extend({ byArea: z.array(Counts.extend({ area: z.string().nullable() })) }) },
      },
    },
    async (req) => fleetOverview(db, principalOf(req).utilityId),
  );

  app.get(
    '/api/v1/fleet/meters',
    {
      config: { access: FLEET },
      schema: {
        tags: ['fleet'],
        summary:
          'Meters with their state, filtered and searched (serial or account number prefix, part of the name)',
        querystring: z.object({
          q: z.string().trim().min(1).max(64).optional(),
          area: z.string().trim().min(1).max(100).optional(),
          status: z.enum(METER_STATUSES).optional(),
          online: QueryBool.optional(),
          lowCredit: QueryBool.optional(),
          disconnected: QueryBool.optional(),
          tamper: QueryBool.optional(),
          ...Paging,
        }),
        response: { 200: z.object({ total: z.number(), meters: z.array(FleetMeter) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const q = req.query;
      const { total, meters } = await fleetMeters(
        db,
        {
          utilityId: p.utilityId,
          q: q.q,
          area: q.area,
          status: q.status,
          online: q.online,
          lowCredit: q.lowCredit,
          disconnected: q.disconnected,
          tamper: q.tamper,
        },
        { limit: q.limit, offset: q.offset },
      );
      return { total, meters: meters.map(fleetMeter) };
    },
  );

  app.get(
    '/api/v1/fleet/meters/:meterId',
    {
      config: { access: FLEET },
      schema: {
        tags: ['fleet'],
        summary: "A meter's page: its state, recent events, commands, tokens and its account's ledger",
        params: z.object({ meterId: z.uuid() }),
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
        response: {
          200: z.object({
            meter: FleetMeter,
            credit: z
              .object({ minor: z.string(), amount: z.string(), currency: z.string() })
              .nullable()
              .describe(
                'the account ledger (central mode) or the credit the meter last reported (token mode)',
              ),
            creditUnits: z
              .string()
              .nullable()
              .describe(
                'token meters that keep their credit as energy: the Wh left, as the meter last reported',
              ),
            events: z.array(
              z.object({
                id: z.string(),
                ts: z.string(),
                kind: z.string(),
                details: z.record(z.string(), z.unknown()),
              }),
            ),
            commands: z.array(
              z.object({
                id: z.string(),
                kind: z.string(),
                state: z.string(),
                attempts: z.number(),
                createdAt: z.string(),
                sentAt: z.string().nullable(),
                acknowledgedAt: z.string().nullable(),
                expiresAt: z.string(),
                reason: z.string().nullable(),
              }),
            ),
            tokens: z.array(
              z.object({
                issuedAt: z.string(),
                kind: z.string(),
                token: z.string(),
                tid: z.number(),
                vendId: z.string().nullable(),
                usedAt: z.string().nullable(),
              }),
            ),
            ledger: z.array(
              z.object({
                id: z.string(),
                at: z.string(),
                kind: z.string(),
                amountMinor: z.string(),
                amount: z.string(),
                ref: z.string().nullable(),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const { meter, credit, creditUnits, events, commands, tokens, ledger, ...u } = await meterPage(
        db,
        p.utilityId,
        req.params.meterId as MeterId,
        req.query.limit,
      );
      return {
        meter: fleetMeter(meter),
        credit:
          credit === null
            ? null
            : {
                minor: credit.toString(),
                amount: formatMoney(credit, u.currencyExponent),
                currency: u.currency,
              },
        creditUnits: creditUnits === null ? null : creditUnits.toString(),
        events: events.map((e) => ({
          id: String(e.id),
          ts: e.ts.toISOString(),
          kind: e.kind,
          details: e.details,
        })),
        commands: commands.map((c) => ({
          id: c.id,
          kind: c.kind,
          state: c.state,
          attempts: c.attempts,
          createdAt: c.created_at.toISOString(),
          sentAt: iso(c.sent_at),
          acknowledgedAt: iso(c.acknowledged_at),
          expiresAt: c.expires_at.toISOString(),
          reason: c.reason,
        })),
        tokens: tokens.map((t) => ({
          issuedAt: t.issued_at.toISOString(),
          kind: t.kind,
          token: t.token,
          tid: t.tid,
          vendId: t.vend_id,
          usedAt: iso(t.used_at),
        })),
        ledger: ledger.map((l) => ({
          id: String(l.id),
          at: l.created_at.toISOString(),
          kind: l.kind,
          amountMinor: String(l.amount_minor),
          amount: formatMoney(BigInt(l.amount_minor), u.currencyExponent),
          ref: l.ref,
        })),
      };
    },
  );

  app.get(
    '/api/v1/fleet/meters/:meterId/consumption',
    {
      config: { access: FLEET },
      schema: {
        tags: ['fleet'],
        summary:
          "A meter's consumption per UTC day, ISO week or month (Wh or litres), from the readings roll-ups",
        params: z.object({ meterId: z.uuid() }),
        querystring: ConsumptionQuery,
        response: { 200: ConsumptionOut },
      },
    },
    async (req) => {
      const meter = await fleetMeterKind(db, principalOf(req).utilityId, req.params.meterId as MeterId);
      return meterConsumption(db, meter, req.query, now());
    },
  );

  app.get(
    '/api/v1/staff',
    {
      config: { access: ['operator', 'service'] },
      schema: {
        tags: ['cases'],
        summary:
          'The staff a case can be assigned to: enabled operators, technicians, service agents, admins',
        response: {
          200: z.object({
            users: z.array(
              z.object({
                id: z.string(),
                name: z.string(),
                role: z.string(),
                self: z.boolean().describe('the signed-in user'),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const me = p.kind === 'user' ? p.userId : null;
      const rows = await assignableStaff(db, p.utilityId);
      return {
        users: rows.map((u) => ({
          id: u.id,
          name: u.display_name ?? u.username,
          role: u.role,
          self: u.id === me,
        })),
      };
    },
  );

  app.post(
    '/api/v1/alerts/stream-tickets',
    {
      config: { access: FLEET },
      schema: {
        tags: ['fleet'],
        summary:
          'A single-use ticket (valid 60 s) that opens the alert stream from a browser: /api/v1/alerts/stream?ticket=…',
        response: { 201: z.object({ ticket: z.string(), expiresAt: z.string() }) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      if (p.kind !== 'user') throw new AppError('forbidden', 'only people watch the alert stream');
      const ticket = newSecret('rst_');
      const expiresAt = new Date(now().getTime() + TICKET_TTL_MS);
      await issueStreamTicket(db, {
        ticketHash: secretDigest(ticket),
        utilityId: p.utilityId,
        userId: p.userId,
        expiresAt,
      });
      return reply.status(201).send({ ticket, expiresAt: expiresAt.toISOString() });
    },
  );

  /** Who opens the stream: a bearer session (already checked), a session cookie, or a stream ticket. */
  async function streamPrincipal(
    principal: Principal | null,
    cookieHeader: string | undefined,
    ticket: string | undefined,
  ): Promise<{ utilityId: UtilityId; role: Role }> {
    if (principal) return { utilityId: principal.utilityId, role: principal.role as Role };
    const at = now();
    let userId: UserId | null = null;
    const session = cookie(cookieHeader, SESSION_COOKIE);
    if (ticket) userId = await redeemStreamTicket(db, secretDigest(ticket), at);
    else if (session) userId = await sessionUser(db, secretDigest(session), at);
    if (userId === null) throw new AppError('unauthenticated', 'a session or a stream ticket is required');
    return watcherOf(db, userId);
  }

  app.get(
    '/api/v1/alerts/stream',
    {
      // EventSource cannot send headers: this route authenticates itself (bearer, cookie or ticket).
      config: {
        access: 'public',
        rateLimit: { max: Math.min(opts.publicRateLimit ?? 60, 60), timeWindow: 60_000 },
      },
      schema: {
        tags: ['fleet'],
        summary:
          'Live alerts as Server-Sent Events (low credit, disconnect, reconnect, tamper, offline, online). ' +
          'Authenticate with a bearer token, the rasid_session cookie, or ?ticket= from POST /alerts/stream-tickets',
        querystring: z.object({ ticket: z.string().min(8).max(128).optional() }),
      },
    },
    async (req, reply) => {
      const who = await streamPrincipal(req.principal, req.headers.cookie, req.query.ticket);
      if (who.role !== 'admin' && !FLEET.includes(who.role)) {
        throw new AppError('forbidden', `role ${who.role} may not watch the alert stream`);
      }
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write('retry: 5000\n\n');
      const send = (alert: Alert) => {
        raw.write(`id: ${alert.id}\nevent: alert\ndata: ${JSON.stringify(alert)}\n\n`);
      };
      streams.add(reply);
      const unsubscribe = await feed.subscribe(who.utilityId, send);
      const heartbeat = setInterval(() => raw.write(': ping\n\n'), 15_000);
      heartbeat.unref();
      raw.write(`event: ready\ndata: ${JSON.stringify({ at: now().toISOString() })}\n\n`);
      raw.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
        streams.delete(reply);
      });
    },
  );
};
