/**
 * The operator's fleet view: an overview (online, offline, low credit, disconnected, tamper, by area), the
 * meter list with filters, search and paging, one meter's page (state, last reading, events, commands,
 * ledger, tokens), and a live alerts feed as Server-Sent Events.
 *
 * A meter's state is derived, never stored twice:
 * - online: `meters.online` (the broker's status messages and last wills);
 * - low credit: the balance engine's latest decision row says the low-credit alert has fired and not
 *   re-armed (`memo.state.lowCreditArmed = false`, docs/balance.md);
 * - disconnected: the relay of the latest reading when the meter reports it, else the supply as the engine
 *   last ordered it;
 * - tamper: a `tamper`, `cover_open` or `magnetic` event newer than the meter's last clear-tamper token.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { z } from 'zod';
import { DECISION_ACTIONS } from '../../balance/engine.ts';
import { formatMoney } from '../../money.ts';
import type { Database, MeterId, Role, UserId, UtilityId } from '../../store/schema.ts';
import { newSecret, type Principal, principalOf, secretDigest } from '../auth.ts';
import { AppError } from '../errors.ts';
import { iso, Paging, QueryBool } from './admin-shared.ts';
import { ConsumptionOut, ConsumptionQuery, meterConsumption } from './customer.ts';

export interface OperatorRoutesOptions {
  readonly db: Kysely<Database>;
  readonly now?: () => Date;
  /** How often the alerts feed reads new events and decisions (default 2000 ms). */
  readonly alertPollMs?: number;
  /** Limit per minute on the stream route, which authenticates itself (default 60). */
  readonly publicRateLimit?: number;
}

const TAMPER_KINDS = ['tamper', 'cover_open', 'magnetic'] as const;
/** Who watches the fleet. */
const FLEET: readonly Role[] = ['operator', 'service', 'technician'];

export interface MeterFilter {
  readonly utilityId: UtilityId;
  readonly meterId?: MeterId | undefined;
  readonly area?: string | undefined;
  readonly status?: string | undefined;
  readonly online?: boolean | undefined;
  readonly lowCredit?: boolean | undefined;
  readonly disconnected?: boolean | undefined;
  readonly tamper?: boolean | undefined;
  /** Serial prefix, account number prefix, or part of the customer's name (case-insensitive). */
  readonly q?: string | undefined;
}

export interface MeterStateRow {
  id: MeterId;
  serial: string;
  kind: 'electricity' | 'water';
  protocol: string;
  mode: 'token' | 'central';
  status: string;
  online: boolean;
  last_seen_at: Date | null;
  account_id: string | null;
  account_number: string | null;
  customer_id: string | null;
  customer_name: string | null;
  address: string | null;
  area: string | null;
  last_ts: Date | null;
  energy_wh: bigint | null;
  volume_l: bigint | null;
  relay: boolean | null;
  credit_minor: bigint | null;
  low_credit: boolean;
  disconnected: boolean;
  tamper: boolean;
}

function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The derived state of each meter of a utility (decommissioned meters excluded unless asked by status). */
export function meterStateQuery(f: MeterFilter): RawBuilder<MeterStateRow> {
  const conditions: RawBuilder<unknown>[] = [sql`m.utility_id = ${f.utilityId}`];
  if (f.meterId) conditions.push(sql`m.id = ${f.meterId}`);
  if (f.status) conditions.push(sql`m.status = ${f.status}`);
  else if (!f.meterId) conditions.push(sql`m.status <> 'decommissioned'`);
  if (f.online !== undefined) conditions.push(sql`m.online = ${f.online}`);
  if (f.area !== undefined) conditions.push(sql`p.area = ${f.area}`);
  if (f.q) {
    const prefix = `${likeEscape(f.q)}%`;
    const part = `%${likeEscape(f.q.toLowerCase())}%`;
    conditions.push(sql`(m.serial like ${prefix} or a.number like ${prefix} or lower(c.name) like ${part})`);
  }
  const actions = sql.join(DECISION_ACTIONS.map((a) => sql`${a}`));
  const tamperKinds = sql.join(TAMPER_KINDS.map((k) => sql`${k}`));
  const inner = sql`
    select m.id, m.serial, m.kind, m.protocol, m.mode, m.status, m.online, m.last_seen_at,
      a.id as account_id, a.number as account_number, c.id as customer_id, c.name as customer_name,
      p.address, p.area,
      lr.ts as last_ts, lr.energy_wh, lr.volume_l, lr.relay, lr.credit_minor,
      coalesce(d.details -> 'memo' -> 'state' ->> 'lowCreditArmed' = 'false', false) as low_credit,
      case when lr.relay is not null then not lr.relay
           else coalesce(d.details -> 'memo' -> 'state' ->> 'supply' = 'disconnected', false) end as disconnected,
      exists (
        select 1 from meter_events e
        where e.meter_id = m.id and e.kind in (${tamperKinds})
          and e.ts > coalesce(
            (select max(t.issued_at) from tokens t where t.meter_id = m.id and t.kind = 'clear_tamper'),
            '-infinity'::timestamptz)
      ) as tamper
    from meters m
    left join accounts a on a.id = m.account_id
    left join customers c on c.id = a.customer_id
    left join premises p on p.id = a.premise_id
    left join lateral (
      select r.ts, r.energy_wh, r.volume_l, r.relay, r.credit_minor from readings r
      where r.meter_id = m.id order by r.ts desc limit 1
    ) lr on true
    left join lateral (
      select l.details from audit_log l
      where l.utility_id = m.utility_id and l.subject = 'meter:' || m.id::text and l.action in (${actions})
      order by l.id desc limit 1
    ) d on true
    where ${sql.join(conditions, sql` and `)}`;
  const outer: RawBuilder<unknown>[] = [];
  if (f.lowCredit !== undefined) outer.push(sql`low_credit = ${f.lowCredit}`);
  if (f.disconnected !== undefined) outer.push(sql`disconnected = ${f.disconnected}`);
  if (f.tamper !== undefined) outer.push(sql`tamper = ${f.tamper}`);
  return sql<MeterStateRow>`select * from (${inner}) s ${outer.length > 0 ? sql`where ${sql.join(outer, sql` and `)}` : sql``}`;
}

export interface FleetCounts {
  total: number;
  online: number;
  offline: number;
  lowCredit: number;
  disconnected: number;
  tamper: number;
}

/** Counts of the fleet's states, overall and per area (null area: premises without one, or no account). */
export async function fleetOverview(
  db: Kysely<Database>,
  utilityId: UtilityId,
): Promise<FleetCounts & { byArea: (FleetCounts & { area: string | null })[] }> {
  const { rows } = await sql<{
    area: string | null;
    all_areas: boolean;
    total: string;
    online: string;
    low_credit: string;
    disconnected: string;
    tamper: string;
  }>`
    select area, grouping(area) = 1 as all_areas, count(*)::text as total,
      count(*) filter (where online)::text as online,
      count(*) filter (where low_credit)::text as low_credit,
      count(*) filter (where disconnected)::text as disconnected,
      count(*) filter (where tamper)::text as tamper
    from (${meterStateQuery({ utilityId })}) f
    group by grouping sets ((area), ())
    order by area nulls last`.execute(db);
  const counts = (r: (typeof rows)[number]): FleetCounts => ({
    total: Number(r.total),
    online: Number(r.online),
    offline: Number(r.total) - Number(r.online),
    lowCredit: Number(r.low_credit),
    disconnected: Number(r.disconnected),
    tamper: Number(r.tamper),
  });
  const all = rows.find((r) => r.all_areas);
  return {
    ...(all ? counts(all) : { total: 0, online: 0, offline: 0, lowCredit: 0, disconnected: 0, tamper: 0 }),
    byArea: rows.filter((r) => !r.all_areas).map((r) => ({ area: r.area, ...counts(r) })),
  };
}

// ---- Live alerts -------------------------------------------------------------------------------------

export type AlertKind = 'low_credit' | 'disconnect' | 'reconnect' | 'tamper' | 'offline' | 'online';

export interface Alert {
  /** `event:<id>`, `decision:<id>` or `status:<meter>:<n>`. */
  readonly id: string;
  readonly kind: AlertKind;
  readonly at: string;
  readonly meterId: string;
  readonly serial: string;
  readonly area: string | null;
  /** Where it comes from: the meter's own event, the balance engine's decision, or its presence. */
  readonly source: 'meter' | 'balance' | 'status';
  readonly detail: Record<string, unknown>;
}

type AlertListener = (alert: Alert) => void;

export interface AlertFeedOptions {
  readonly db: Kysely<Database>;
  readonly pollMs: number;
  readonly now?: () => Date;
  readonly onError?: (err: unknown) => void;
}

/**
 * One poller for every open alert stream of this process: it reads meter events and balance decisions
 * newer than its cursors, and the meters that went offline or came back since the previous read, for the
 * utilities someone is watching, and hands each alert to that utility's listeners. It runs only while
 * someone listens. `pollOnce()` is public so tests can drive it.
 */
export class AlertFeed {
  readonly #db: Kysely<Database>;
  readonly #pollMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #listeners = new Map<UtilityId, Set<AlertListener>>();
  /** Per utility: the meters offline at the previous read. */
  readonly #offline = new Map<UtilityId, Set<string>>();
  #eventCursor: bigint | null = null;
  #auditCursor: bigint | null = null;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #statusSeq = 0;

  constructor(options: AlertFeedOptions) {
    this.#db = options.db;
    this.#pollMs = options.pollMs;
    this.#onError = options.onError ?? (() => {});
  }

  /** Starts listening for a utility: resolves once the current state is known (later changes are alerts). */
  async subscribe(utilityId: UtilityId, listener: AlertListener): Promise<() => void> {
    if (this.#eventCursor === null || this.#auditCursor === null) {
      const events = await this.#topId('meter_events');
      const audit = await this.#topId('audit_log');
      this.#eventCursor ??= events;
      this.#auditCursor ??= audit;
    }
    if (!this.#offline.has(utilityId)) this.#offline.set(utilityId, await this.#offlineMeters(utilityId));
    let set = this.#listeners.get(utilityId);
    if (!set) {
      set = new Set();
      this.#listeners.set(utilityId, set);
    }
    set.add(listener);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => {
        if (this.#running) return;
        this.#running = this.pollOnce()
          .then(() => undefined, this.#onError)
          .finally(() => {
            this.#running = undefined;
          });
      }, this.#pollMs);
      this.#timer.unref();
    }
    return () => {
      set.delete(listener);
      if (set.size === 0) {
        this.#listeners.delete(utilityId);
        this.#offline.delete(utilityId);
      }
      if (this.#listeners.size === 0) this.#stopTimer();
    };
  }

  /** Reads what is new and delivers it; returns the alerts delivered. */
  async pollOnce(): Promise<Alert[]> {
    const utilities = [...this.#listeners.keys()];
    if (utilities.length === 0 || this.#eventCursor === null || this.#auditCursor === null) return [];
    const alerts: { utilityId: UtilityId; alert: Alert }[] = [];

    const events = await this.#db
      .selectFrom('meter_events as e')
      .innerJoin('meters as m', 'm.id', 'e.meter_id')
      .leftJoin('accounts as a', 'a.id', 'm.account_id')
      .leftJoin('premises as p', 'p.id', 'a.premise_id')
      .select(['e.id', 'e.utility_id', 'e.meter_id', 'e.ts', 'e.kind', 'e.details', 'm.serial', 'p.area'])
      .where('e.id', '>', this.#eventCursor as never)
      .where('e.utility_id', 'in', utilities)
      .where('e.kind', 'in', [...TAMPER_KINDS, 'low_credit', 'relay_changed'])
      .orderBy('e.id')
      .limit(500)
      .execute();
    for (const e of events) {
      this.#eventCursor = e.id > this.#eventCursor ? e.id : this.#eventCursor;
      let kind: AlertKind | null = null;
      if ((TAMPER_KINDS as readonly string[]).includes(e.kind)) kind = 'tamper';
      else if (e.kind === 'low_credit') kind = 'low_credit';
      else if (e.kind === 'relay_changed')
        kind = e.details.relay === 'disconnected' ? 'disconnect' : 'reconnect';
      if (kind === null) continue;
      alerts.push({
        utilityId: e.utility_id,
        alert: {
          id: `event:${e.id}`,
          kind,
          at: e.ts.toISOString(),
          meterId: e.meter_id,
          serial: e.serial,
          area: e.area,
          source: 'meter',
          detail: { event: e.kind, ...e.details },
        },
      });
    }

    // Read the top first: rows written while this read runs wait for the next one.
    const topId = await this.#topId('audit_log');
    const decisions = await this.#db
      .selectFrom('audit_log as l')
      .select(['l.id', 'l.utility_id', 'l.subject', 'l.action', 'l.details', 'l.created_at'])
      .where('l.id', '>', this.#auditCursor as never)
      .where('l.id', '<=', topId as never)
      .where('l.utility_id', 'in', utilities)
      .where('l.action', 'in', ['balance.alert_low_credit', 'balance.disconnect', 'balance.reconnect'])
      .orderBy('l.id')
      .limit(500)
      .execute();
    const meterIds = [...new Set(decisions.map((d) => d.subject.replace(/^meter:/, '')))];
    const meters =
      meterIds.length === 0
        ? []
        : await this.#db
            .selectFrom('meters as m')
            .leftJoin('accounts as a', 'a.id', 'm.account_id')
            .leftJoin('premises as p', 'p.id', 'a.premise_id')
            .select(['m.id', 'm.serial', 'p.area'])
            .where('m.id', 'in', meterIds as MeterId[])
            .execute();
    for (const d of decisions) {
      const meter = meters.find((m) => `meter:${m.id}` === d.subject);
      if (!meter) continue;
      const kind: AlertKind =
        d.action === 'balance.alert_low_credit'
          ? 'low_credit'
          : d.action === 'balance.disconnect'
            ? 'disconnect'
            : 'reconnect';
      alerts.push({
        utilityId: d.utility_id,
        alert: {
          id: `decision:${d.id}`,
          kind,
          at: d.created_at.toISOString(),
          meterId: meter.id,
          serial: meter.serial,
          area: meter.area,
          source: 'balance',
          detail: {
            reason: d.details.reason ?? null,
            creditMinor: d.details.creditMinor ?? null,
            daysLeft: d.details.daysLeft ?? null,
          },
        },
      });
    }
    const last = decisions.at(-1);
    this.#auditCursor =
      decisions.length === 500 && last ? last.id : topId > this.#auditCursor ? topId : this.#auditCursor;

    const at = new Date().toISOString();
    for (const utilityId of utilities) {
      const before = this.#offline.get(utilityId);
      if (!before) continue;
      const now = await this.#offlineMeters(utilityId);
      const changed = [
        ...[...now].filter((id) => !before.has(id)).map((id) => ({ id, kind: 'offline' as const })),
        ...[...before].filter((id) => !now.has(id)).map((id) => ({ id, kind: 'online' as const })),
      ];
      this.#offline.set(utilityId, now);
      if (changed.length === 0) continue;
      const rows = await this.#db
        .selectFrom('meters as m')
        .leftJoin('accounts as a', 'a.id', 'm.account_id')
        .leftJoin('premises as p', 'p.id', 'a.premise_id')
        .select(['m.id', 'm.serial', 'm.last_seen_at', 'p.area'])
        .where('m.id', 'in', changed.map((c) => c.id) as MeterId[])
        .execute();
      for (const c of changed) {
        const m = rows.find((r) => r.id === c.id);
        if (!m) continue;
        alerts.push({
          utilityId,
          alert: {
            id: `status:${m.id}:${++this.#statusSeq}`,
            kind: c.kind,
            at,
            meterId: m.id,
            serial: m.serial,
            area: m.area,
            source: 'status',
            detail: { lastSeenAt: iso(m.last_seen_at) },
          },
        });
      }
    }

    for (const { utilityId, alert } of alerts) {
      for (const listener of this.#listeners.get(utilityId) ?? []) listener(alert);
    }
    return alerts.map((a) => a.alert);
  }

  /** The newest id of the table, 0 when it is empty. */
  async #topId(table: 'meter_events' | 'audit_log'): Promise<bigint> {
    const top = await this.#db
      .selectFrom(table)
      .select(sql<string | null>`max(id)::text`.as('id'))
      .executeTakeFirstOrThrow();
    return BigInt(top.id ?? '0');
  }

  async #offlineMeters(utilityId: UtilityId): Promise<Set<string>> {
    const rows = await this.#db
      .selectFrom('meters')
      .select('id')
      .where('utility_id', '=', utilityId)
      .where('online', '=', false)
      .where('status', '=', 'active')
      .execute();
    return new Set(rows.map((r) => r.id));
  }

  #stopTimer(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async stop(): Promise<void> {
    this.#listeners.clear();
    this.#offline.clear();
    this.#stopTimer();
    await this.#running;
  }
}

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
          status: z.enum(['registered', 'active', 'faulty', 'decommissioned']).optional(),
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
      const filter: MeterFilter = {
        utilityId: p.utilityId,
        q: q.q,
        area: q.area,
        status: q.status,
        online: q.online,
        lowCredit: q.lowCredit,
        disconnected: q.disconnected,
        tamper: q.tamper,
      };
      const { rows } = await sql<MeterStateRow & { total: string }>`
        select s.*, count(*) over ()::text as total from (${meterStateQuery(filter)}) s
        order by s.serial limit ${q.limit} offset ${q.offset}`.execute(db);
      let total = Number(rows[0]?.total ?? 0);
      if (rows.length === 0 && q.offset > 0) {
        const count = await sql<{ n: string }>`
          select count(*)::text as n from (${meterStateQuery(filter)}) s`.execute(db);
        total = Number(count.rows[0]?.n ?? 0);
      }
      return { total, meters: rows.map(fleetMeter) };
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
      const limit = req.query.limit;
      const meterId = req.params.meterId as MeterId;
      const { rows } = await meterStateQuery({ utilityId: p.utilityId, meterId }).execute(db);
      const meter = rows[0];
      if (!meter) throw new AppError('not_found', `meter ${meterId} is unknown`);
      const u = await db
        .selectFrom('utilities')
        .select(['currency', 'currency_exponent'])
        .where('id', '=', p.utilityId)
        .executeTakeFirstOrThrow();
      const events = await db
        .selectFrom('meter_events')
        .select(['id', 'ts', 'kind', 'details'])
        .where('meter_id', '=', meterId)
        .orderBy('ts', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      const commands = await db
        .selectFrom('commands')
        .select([
          'id',
          'kind',
          'state',
          'attempts',
          'created_at',
          'sent_at',
          'acknowledged_at',
          'expires_at',
          'reason',
        ])
        .where('meter_id', '=', meterId)
        .orderBy('created_at', 'desc')
        .limit(limit)
        .execute();
      const tokens = await db
        .selectFrom('tokens')
        .select(['issued_at', 'kind', 'token', 'tid', 'vend_id', 'used_at'])
        .where('meter_id', '=', meterId)
        .orderBy('issued_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      const ledger = meter.account_id
        ? await db
            .selectFrom('account_ledger')
            .select(['id', 'created_at', 'kind', 'amount_minor', 'ref'])
            .where('account_id', '=', meter.account_id as never)
            .orderBy('id', 'desc')
            .limit(limit)
            .execute()
        : [];
      let credit: bigint | null = null;
      let creditUnits: bigint | null = null;
      if (meter.mode === 'central' && meter.account_id) {
        const b = await db
          .selectFrom('account_ledger')
          .select(sql<bigint>`coalesce(sum(amount_minor), 0)::bigint`.as('b'))
          .where('account_id', '=', meter.account_id as never)
          .executeTakeFirstOrThrow();
        credit = BigInt(b.b);
      } else if (meter.mode === 'token') {
        const r = await db
          .selectFrom('readings')
          .select(['credit_minor', 'credit_wh'])
          .where('meter_id', '=', meterId)
          .where((eb) => eb.or([eb('credit_minor', 'is not', null), eb('credit_wh', 'is not', null)]))
          .orderBy('ts', 'desc')
          .limit(1)
          .executeTakeFirst();
        credit = r?.credit_minor == null ? null : BigInt(r.credit_minor);
        creditUnits = r?.credit_wh == null ? null : BigInt(r.credit_wh);
      }
      return {
        meter: fleetMeter(meter),
        credit:
          credit === null
            ? null
            : {
                minor: credit.toString(),
                amount: formatMoney(credit, u.currency_exponent),
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
          amount: formatMoney(BigInt(l.amount_minor), u.currency_exponent),
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
      const meter = await db
        .selectFrom('meters')
        .select(['id', 'kind'])
        .where('id', '=', req.params.meterId as MeterId)
        .where('utility_id', '=', principalOf(req).utilityId)
        .executeTakeFirst();
      if (!meter) throw new AppError('not_found', `meter ${req.params.meterId} is unknown`);
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
      const rows = await db
        .selectFrom('users')
        .select(['id', 'username', 'display_name', 'role'])
        .where('utility_id', '=', p.utilityId)
        .where('role', 'in', ['operator', 'technician', 'service', 'admin'])
        .where('disabled_at', 'is', null)
        .orderBy('role')
        .orderBy('username')
        .execute();
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
      await db
        .insertInto('stream_tickets')
        .values({
          ticket_hash: secretDigest(ticket),
          utility_id: p.utilityId,
          user_id: p.userId,
          expires_at: expiresAt,
        })
        .execute();
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
    if (ticket) {
      const used = await db
        .updateTable('stream_tickets')
        .set({ used_at: at })
        .where('ticket_hash', '=', secretDigest(ticket))
        .where('used_at', 'is', null)
        .where('expires_at', '>', at)
        .returning('user_id')
        .executeTakeFirst();
      if (!used) throw new AppError('unauthenticated', 'the stream ticket is unknown, used or expired');
      userId = used.user_id;
    } else if (session) {
      const s = await db
        .selectFrom('sessions')
        .select(['user_id', 'expires_at', 'revoked_at'])
        .where('token_hash', '=', secretDigest(session))
        .executeTakeFirst();
      if (!s || s.revoked_at || s.expires_at <= at) {
        throw new AppError('unauthenticated', 'the session is unknown, expired or revoked');
      }
      userId = s.user_id;
    }
    if (userId === null) throw new AppError('unauthenticated', 'a session or a stream ticket is required');
    const user = await db
      .selectFrom('users')
      .select(['utility_id', 'role', 'disabled_at'])
      .where('id', '=', userId)
      .executeTakeFirst();
    if (!user || user.disabled_at) throw new AppError('unauthenticated', 'the user is disabled');
    return { utilityId: user.utility_id, role: user.role };
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
