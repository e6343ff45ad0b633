/**
 * The customer's own view (role customer, a user linked to a customer): my accounts and meters with the
 * credit and the days of credit left, consumption per day, week or month from the readings roll-ups, token
 * and payment history, and the low-credit alert settings of each account. Everything is scoped to the
 * accounts the signed-in customer holds now; another customer's meter answers 404.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import { writeAudit } from '../../accounts/audit.ts';
import { formatMoney } from '../../money.ts';
import type { Queryable } from '../../store/ledger.ts';
import {
  type AccountId,
  type CustomerId,
  type Database,
  type MeterId,
  type MeterKind,
  minorUnits,
  type UtilityId,
} from '../../store/schema.ts';
import { actorOf, type Principal, principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { Instant, iso, MinorOrZero, Paging } from './admin-shared.ts';

export interface CustomerRoutesOptions {
  readonly db: Kysely<Database>;
  readonly now?: () => Date;
}

const DAY_MS = 86_400_000;

/** The customer a signed-in customer is; staff and kiosks never reach here (access is customer only). */
function customerOf(p: Principal): { utilityId: UtilityId; customerId: CustomerId } {
  if (p.kind !== 'user' || p.customerId === null) {
    throw new AppError('forbidden', 'this sign-in is not linked to a customer');
  }
  return { utilityId: p.utilityId, customerId: p.customerId };
}

async function utilityMoney(db: Queryable, utilityId: UtilityId) {
  return db
    .selectFrom('utilities')
    .select(['currency', 'currency_exponent'])
    .where('id', '=', utilityId)
    .executeTakeFirstOrThrow();
}

const Money = z.object({
  minor: z.string().describe('minor units, a string of digits (may be negative)'),
  amount: z.string().describe('formatted with the currency exponent, e.g. "12.500"'),
  currency: z.string(),
});

/** The utility's currency and its exponent. */
interface Currency {
  currency: string;
  currency_exponent: number;
}

function money(minor: bigint, m: Currency): z.infer<typeof Money> {
  return { minor: minor.toString(), amount: formatMoney(minor, m.currency_exponent), currency: m.currency };
}

const Alerts = z.object({
  enabled: z.boolean(),
  threshold: Money.nullable().describe("alert at or below this credit; null: the utility's default"),
  days: z.number().nullable().describe('alert at or below this many days of credit left; null: the default'),
});

/** An account's low-credit alert columns. */
interface AlertColumns {
  low_credit_alert_enabled: boolean;
  low_credit_alert_minor: bigint | null;
  low_credit_alert_days: number | null;
}

function alertsOut(r: AlertColumns, m: Currency): z.infer<typeof Alerts> {
  return {
    enabled: r.low_credit_alert_enabled,
    threshold: r.low_credit_alert_minor === null ? null : money(BigInt(r.low_credit_alert_minor), m),
    days: r.low_credit_alert_days,
  };
}

/** The alert settings as the audit log keeps them. */
function alertsAudited(r: AlertColumns) {
  return {
    enabled: r.low_credit_alert_enabled,
    thresholdMinor: r.low_credit_alert_minor?.toString() ?? null,
    days: r.low_credit_alert_days,
  };
}

const AccountOut = z.object({
  id: z.string(),
  number: z.string(),
  status: z.enum(['active', 'suspended', 'closed']),
  premise: z.object({ address: z.string(), area: z.string().nullable() }),
  credit: Money.describe('the account ledger: central-mode credit, or what a token-mode vend left over'),
  alerts: Alerts,
});

const MeterOut = z.object({
  id: z.string(),
  serial: z.string(),
  kind: z.enum(['electricity', 'water']),
  mode: z.enum(['token', 'central']),
  status: z.enum(['registered', 'active', 'faulty', 'decommissioned']),
  online: z.boolean(),
  lastSeenAt: z.string().nullable(),
  account: z.object({ id: z.string(), number: z.string() }),
  premise: z.object({ address: z.string(), area: z.string().nullable() }),
  /** Unit of the register and of consumption: Wh or L. */
  unit: z.enum(['Wh', 'L']),
  credit: Money.nullable().describe(
    'central: the account ledger; token: the credit the meter last reported (null when never reported)',
  ),
  creditAt: z.string().nullable().describe('when that credit was true (token mode: the reading time)'),
  creditUnits: z
    .string()
    .nullable()
    .describe('token meters that keep their credit as energy: the Wh left, as the meter last reported'),
  daysLeft: z
    .number()
    .nullable()
    .describe("days of credit left at recent use, the balance engine's last estimate; null when unknown"),
  daysLeftAt: z.string().nullable(),
  lastReading: z
    .object({ ts: z.string(), register: z.string().nullable(), relay: z.boolean().nullable() })
    .nullable(),
});

const Bucket = z.enum(['day', 'week', 'month']);

/** The unit of a meter's register and consumption. */
const unitOf = (kind: MeterKind) => (kind === 'electricity' ? ('Wh' as const) : ('L' as const));

interface Owned {
  id: MeterId;
  serial: string;
  kind: MeterKind;
  mode: 'token' | 'central';
  account_id: AccountId;
}

/** A meter on one of the customer's accounts, or 404. */
async function ownedMeter(db: Queryable, c: ReturnType<typeof customerOf>, meterId: string): Promise<Owned> {
  const m = await db
    .selectFrom('meters as m')
    .innerJoin('accounts as a', 'a.id', 'm.account_id')
    .select(['m.id', 'm.serial', 'm.kind', 'm.mode', 'a.id as account_id'])
    .where('m.id', '=', meterId as MeterId)
    .where('m.utility_id', '=', c.utilityId)
    .where('a.customer_id', '=', c.customerId)
    .executeTakeFirst();
  if (!m) throw new AppError('not_found', `meter ${meterId} is unknown`);
  return m;
}

function startOfBucket(t: Date, bucket: z.infer<typeof Bucket>): Date {
  const day = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  if (bucket === 'day') return day;
  if (bucket === 'month') return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1));
  const isoWeekday = (day.getUTCDay() + 6) % 7; // Monday = 0
  return new Date(day.getTime() - isoWeekday * DAY_MS);
}

function nextBucket(start: Date, bucket: z.infer<typeof Bucket>): Date {
  if (bucket === 'day') return new Date(start.getTime() + DAY_MS);
  if (bucket === 'week') return new Date(start.getTime() + 7 * DAY_MS);
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}

export interface ConsumptionPoint {
  readonly start: Date;
  readonly end: Date;
  readonly units: bigint;
  readonly readings: number;
}

/**
 * Consumption per UTC day, ISO week or month between `from` and `to`, from the daily roll-up of the
 * cumulative register: a bucket's use is its last register value less the previous bucket's (or, for the
 * first, the last reading before `from`, else the bucket's own first value). Use across a gap in the
 * readings lands in the bucket of the next reading; a register that went down (a reset) counts from zero.
 * Buckets without readings are left out.
 */
export async function consumptionSeries(
  db: Queryable,
  meter: { id: MeterId; kind: MeterKind },
  bucket: z.infer<typeof Bucket>,
  from: Date,
  to: Date,
): Promise<ConsumptionPoint[]> {
  const electricity = meter.kind === 'electricity';
  const rows = await db
    .selectFrom('readings_daily')
    .select([
      'bucket',
      'readings',
      electricity ? 'energy_wh_min as min' : 'volume_l_min as min',
      electricity ? 'energy_wh_max as max' : 'volume_l_max as max',
    ])
    .where('meter_id', '=', meter.id)
    .where('bucket', '>=', startOfBucket(from, 'day'))
    .where('bucket', '<', to)
    .orderBy('bucket')
    .execute();
  const before = await db
    .selectFrom('readings')
    .select(electricity ? 'energy_wh as value' : 'volume_l as value')
    .where('meter_id', '=', meter.id)
    .where('ts', '<', startOfBucket(from, 'day'))
    .where(electricity ? 'energy_wh' : 'volume_l', 'is not', null)
    .orderBy('ts', 'desc')
    .limit(1)
    .executeTakeFirst();
  let previous: bigint | null = before?.value ?? null;
  const points: ConsumptionPoint[] = [];
  for (const row of rows) {
    if (row.max === null || row.min === null) continue;
    const start = startOfBucket(row.bucket, bucket);
    const base = previous ?? BigInt(row.min);
    const max = BigInt(row.max);
    // A reset inside the day: what was counted since it (the day's own spread is the best we know).
    const used = max >= base ? max - base : max - BigInt(row.min);
    previous = max;
    const last = points.at(-1);
    if (last && last.start.getTime() === start.getTime()) {
      points[points.length - 1] = {
        ...last,
        units: last.units + used,
        readings: last.readings + Number(row.readings),
      };
    } else {
      points.push({ start, end: nextBucket(start, bucket), units: used, readings: Number(row.readings) });
    }
  }
  return points;
}

/** The query of a meter's consumption: the bucket and the period (customer and staff routes alike). */
export const ConsumptionQuery = z.object({
  bucket: Bucket.default('day'),
  from: Instant.optional().describe('default: 30 days (day), 12 weeks (week) or 12 months (month) back'),
  to: Instant.optional().describe('default now'),
});

/** A meter's consumption per bucket, as both the customer's and the staff's routes answer it. */
export const ConsumptionOut = z.object({
  meterId: z.string(),
  unit: z.enum(['Wh', 'L']),
  bucket: Bucket,
  from: z.string(),
  to: z.string(),
  total: z.string(),
  series: z.array(z.object({ start: z.string(), end: z.string(), units: z.string(), readings: z.number() })),
});

/**
 * The answer of a consumption route for a meter the caller may see: the period defaulted from the bucket and
 * checked (before `to`, at most three years), then the series of {@link consumptionSeries} and its total.
 */
export async function meterConsumption(
  db: Queryable,
  meter: { id: MeterId; kind: MeterKind },
  query: z.infer<typeof ConsumptionQuery>,
  now: Date,
): Promise<z.infer<typeof ConsumptionOut>> {
  const { bucket } = query;
  const to = query.to ?? now;
  const back = bucket === 'day' ? 30 * DAY_MS : bucket === 'week' ? 84 * DAY_MS : 365 * DAY_MS;
  const from = startOfBucket(query.from ?? new Date(to.getTime() - back), bucket);
  if (from >= to) throw new AppError('validation_failed', 'from: must be before to');
  if (to.getTime() - from.getTime() > 3 * 366 * DAY_MS) {
    throw new AppError('validation_failed', 'from: at most three years at a time');
  }
  const series = await consumptionSeries(db, meter, bucket, from, to);
  return {
    meterId: meter.id,
    unit: unitOf(meter.kind),
    bucket,
    from: from.toISOString(),
    to: to.toISOString(),
    total: series.reduce((s, p) => s + p.units, 0n).toString(),
    series: series.map((p) => ({
      start: p.start.toISOString(),
      end: p.end.toISOString(),
      units: p.units.toString(),
      readings: p.readings,
    })),
  };
}

export const customerRoutes: FastifyPluginAsync<CustomerRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;
  const now = opts.now ?? (() => new Date());

  async function accountsOf(c: ReturnType<typeof customerOf>) {
    const m = await utilityMoney(db, c.utilityId);
    const rows = await db
      .selectFrom('accounts as a')
      .innerJoin('premises as p', 'p.id', 'a.premise_id')
      .select([
        'a.id',
        'a.number',
        'a.status',
        'p.address',
        'p.area',
        'a.low_credit_alert_enabled',
        'a.low_credit_alert_minor',
        'a.low_credit_alert_days',
        (eb) =>
          eb
            .selectFrom('account_ledger as l')
            .select(sql<bigint>`coalesce(sum(l.amount_minor), 0)::bigint`.as('s'))
            .whereRef('l.account_id', '=', 'a.id')
            .as('balance'),
      ])
      .where('a.utility_id', '=', c.utilityId)
      .where('a.customer_id', '=', c.customerId)
      .orderBy('a.number')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      number: r.number,
      status: r.status,
      premise: { address: r.address, area: r.area },
      credit: money(BigInt(r.balance ?? 0n), m),
      alerts: alertsOut(r, m),
    }));
  }

  app.get(
    '/api/v1/me',
    {
      config: { access: ['customer'] },
      schema: {
        tags: ['customer'],
        summary: 'Who I am: name, language, contacts (masked), and my accounts with their credit and alerts',
        response: {
          200: z.object({
            customer: z.object({
              id: z.string(),
              name: z.string(),
              preferredLanguage: z.enum(['ar', 'en']),
              phone: z.string().nullable().describe('masked: the last four digits'),
              email: z.string().nullable().describe('masked'),
            }),
            accounts: z.array(AccountOut),
          }),
        },
      },
    },
    async (req) => {
      const c = customerOf(principalOf(req));
      const cu = await db
        .selectFrom('customers')
        .select(['id', 'name', 'preferred_language', 'phone', 'email'])
        .where('id', '=', c.customerId)
        .executeTakeFirstOrThrow();
      return {
        customer: {
          id: cu.id,
          name: cu.name,
          preferredLanguage: cu.preferred_language,
          phone: cu.phone === null ? null : `•••${cu.phone.slice(-4)}`,
          email: cu.email === null ? null : cu.email.replace(/^(.).*(@.*)$/, '$1•••$2'),
        },
        accounts: await accountsOf(c),
      };
    },
  );

  app.get(
    '/api/v1/me/meters',
    {
      config: { access: ['customer'] },
      schema: {
        tags: ['customer'],
        summary: 'My meters with credit, days of credit left and the last reading',
        response: { 200: z.object({ meters: z.array(MeterOut) }) },
      },
    },
    async (req) => {
      const c = customerOf(principalOf(req));
      const m = await utilityMoney(db, c.utilityId);
      const rows = await db
        .selectFrom('meters as m')
        .innerJoin('accounts as a', 'a.id', 'm.account_id')
        .innerJoin('premises as p', 'p.id', 'a.premise_id')
        .select([
          'm.id',
          'm.serial',
          'm.kind',
          'm.mode',
          'm.status',
          'm.online',
          'm.last_seen_at',
          'a.id as account_id',
          'a.number as account_number',
          'p.address',
          'p.area',
        ])
        .where('m.utility_id', '=', c.utilityId)
        .where('a.customer_id', '=', c.customerId)
        .orderBy('m.serial')
        .execute();
      const meters = [];
      for (const r of rows) {
        const electricity = r.kind === 'electricity';
        const last = await db
          .selectFrom('readings')
          .select(['ts', 'energy_wh', 'volume_l', 'relay'])
          .where('meter_id', '=', r.id)
          .orderBy('ts', 'desc')
          .limit(1)
          .executeTakeFirst();
        let credit: bigint | null = null;
        let creditAt: Date | null = null;
        let creditUnits: bigint | null = null;
        if (r.mode === 'central') {
          const b = await db
            .selectFrom('account_ledger')
            .select(sql<bigint>`coalesce(sum(amount_minor), 0)::bigint`.as('b'))
            .where('account_id', '=', r.account_id)
            .executeTakeFirstOrThrow();
          credit = BigInt(b.b);
          creditAt = now();
        } else {
          const reported = await db
            .selectFrom('readings')
            .select(['ts', 'credit_minor', 'credit_wh'])
            .where('meter_id', '=', r.id)
            .where((eb) => eb.or([eb('credit_minor', 'is not', null), eb('credit_wh', 'is not', null)]))
            .orderBy('ts', 'desc')
            .limit(1)
            .executeTakeFirst();
          if (reported?.credit_minor != null) credit = BigInt(reported.credit_minor);
          if (reported?.credit_wh != null) creditUnits = BigInt(reported.credit_wh);
          if (reported) creditAt = reported.ts;
        }
        // The balance engine writes its estimate of days left with each decision (docs/balance.md).
        const estimate = await db
          .selectFrom('audit_log')
          .select(['details', 'created_at'])
          .where('utility_id', '=', c.utilityId)
          .where('subject', '=', `meter:${r.id}`)
          .where('action', 'like', 'balance.%')
          .where('action', '<>', 'balance.consumption')
          .orderBy('id', 'desc')
          .limit(1)
          .executeTakeFirst();
        const days = estimate?.details.daysLeft;
        const register = last ? (electricity ? last.energy_wh : last.volume_l) : null;
        meters.push({
          id: r.id,
          serial: r.serial,
          kind: r.kind,
          mode: r.mode,
          status: r.status,
          online: r.online,
          lastSeenAt: iso(r.last_seen_at),
          account: { id: r.account_id, number: r.account_number },
          premise: { address: r.address, area: r.area },
          unit: unitOf(r.kind),
          credit: credit === null ? null : money(credit, m),
          creditAt: iso(creditAt),
          creditUnits: creditUnits === null ? null : creditUnits.toString(),
          daysLeft: typeof days === 'number' ? days : null,
          daysLeftAt: typeof days === 'number' && estimate ? estimate.created_at.toISOString() : null,
          lastReading: last
            ? {
                ts: last.ts.toISOString(),
                register: register === null ? null : String(register),
                relay: last.relay,
              }
            : null,
        });
      }
      return { meters };
    },
  );

  app.get(
    '/api/v1/me/meters/:meterId/consumption',
    {
      config: { access: ['customer'] },
      schema: {
        tags: ['customer'],
        summary:
          'Consumption of my meter per UTC day, ISO week or month (Wh or litres), from the readings roll-ups',
        params: z.object({ meterId: z.uuid() }),
        querystring: ConsumptionQuery,
        response: { 200: ConsumptionOut },
      },
    },
    async (req) => {
      const c = customerOf(principalOf(req));
      const meter = await ownedMeter(db, c, req.params.meterId);
      return meterConsumption(db, meter, req.query, now());
    },
  );

  app.get(
    '/api/v1/me/tokens',
    {
      config: { access: ['customer'] },
      schema: {
        tags: ['customer'],
        summary: 'Tokens issued to my meters, newest first (engineering and test tokens are not shown)',
        querystring: z.object({ meterId: z.uuid().optional(), ...Paging }),
        response: {
          200: z.object({
            tokens: z.array(
              z.object({
                issuedAt: z.string(),
                meterId: z.string(),
                meterSerial: z.string(),
                kind: z.string(),
                token: z.string(),
                units: z.string().nullable().describe('Wh or litres on a credit token'),
                vendId: z.string().nullable(),
                usedAt: z.string().nullable(),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const c = customerOf(principalOf(req));
      if (req.query.meterId) await ownedMeter(db, c, req.query.meterId);
      let q = db
        .selectFrom('tokens as t')
        .innerJoin('meters as m', 'm.id', 't.meter_id')
        .innerJoin('accounts as a', 'a.id', 'm.account_id')
        .leftJoin('vends as v', 'v.id', 't.vend_id')
        .select([
          't.issued_at',
          't.meter_id',
          'm.serial',
          't.kind',
          't.token',
          'v.units',
          't.vend_id',
          't.used_at',
        ])
        .where('t.utility_id', '=', c.utilityId)
        .where('a.customer_id', '=', c.customerId)
        .where('t.kind', 'not in', ['engineering', 'test']);
      if (req.query.meterId) q = q.where('t.meter_id', '=', req.query.meterId as MeterId);
      const rows = await q
        .orderBy('t.issued_at', 'desc')
        .orderBy('t.id', 'desc')
        .limit(req.query.limit)
        .offset(req.query.offset)
        .execute();
      return {
        tokens: rows.map((r) => ({
          issuedAt: r.issued_at.toISOString(),
          meterId: r.meter_id,
          meterSerial: r.serial,
          kind: r.kind,
          token: r.token,
          units: r.units === null ? null : String(r.units),
          vendId: r.vend_id,
          usedAt: iso(r.used_at),
        })),
      };
    },
  );

  app.get(
    '/api/v1/me/payments',
    {
      config: { access: ['customer'] },
      schema: {
        tags: ['customer'],
        summary: 'My purchases (online and at vendors), newest first, with the receipt id and status',
        querystring: z.object({ accountId: z.uuid().optional(), ...Paging }),
        response: {
          200: z.object({
            payments: z.array(
              z.object({
                vendId: z.string().describe('also the receipt id: GET /vends/{vendId}/receipt'),
                at: z.string(),
                channel: z.enum(['online', 'vendor']),
                accountNumber: z.string(),
                meterSerial: z.string(),
                amountPaid: Money,
                units: z.string(),
                unit: z.enum(['Wh', 'L']),
                token: z.string().nullable(),
                status: z.enum(['completed', 'reversed', 'failed']),
                paymentStatus: z.string().nullable().describe('online payments: the provider status'),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const c = customerOf(principalOf(req));
      const m = await utilityMoney(db, c.utilityId);
      let q = db
        .selectFrom('vends as v')
        .innerJoin('accounts as a', 'a.id', 'v.account_id')
        .innerJoin('meters as m', 'm.id', 'v.meter_id')
        .leftJoin('payments as p', 'p.id', 'v.payment_id')
        .select([
          'v.id',
          'v.created_at',
          'v.channel',
          'a.number',
          'm.serial',
          'm.kind',
          'v.amount_paid_minor',
          'v.units',
          'v.token',
          'v.status',
          'p.status as payment_status',
        ])
        .where('v.utility_id', '=', c.utilityId)
        .where('a.customer_id', '=', c.customerId);
      if (req.query.accountId) q = q.where('v.account_id', '=', req.query.accountId as AccountId);
      const rows = await q
        .orderBy('v.created_at', 'desc')
        .limit(req.query.limit)
        .offset(req.query.offset)
        .execute();
      return {
        payments: rows.map((r) => ({
          vendId: r.id,
          at: r.created_at.toISOString(),
          channel: r.channel,
          accountNumber: r.number,
          meterSerial: r.serial,
          amountPaid: money(BigInt(r.amount_paid_minor), m),
          units: String(r.units),
          unit: unitOf(r.kind),
          token: r.token,
          status: r.status,
          paymentStatus: r.payment_status,
        })),
      };
    },
  );

  app.put(
    '/api/v1/me/accounts/:accountId/alerts',
    {
      config: { access: ['customer'] },
      schema: {
        tags: ['customer'],
        summary:
          "Set my low-credit alert for an account: on or off, a credit threshold and a days-left threshold (null: the utility's defaults)",
        params: z.object({ accountId: z.uuid() }),
        body: z.object({
          enabled: z.boolean(),
          thresholdMinor: MinorOrZero.nullable().optional(),
          days: z.number().int().min(0).max(60).nullable().optional(),
        }),
        response: { 200: Alerts },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const c = customerOf(p);
      const m = await utilityMoney(db, c.utilityId);
      const b = req.body;
      return db.transaction().execute(async (trx) => {
        const before = await trx
          .selectFrom('accounts')
          .select(['id', 'low_credit_alert_enabled', 'low_credit_alert_minor', 'low_credit_alert_days'])
          .where('id', '=', req.params.accountId as AccountId)
          .where('utility_id', '=', c.utilityId)
          .where('customer_id', '=', c.customerId)
          .forUpdate()
          .executeTakeFirst();
        if (!before) throw new AppError('not_found', `account ${req.params.accountId} is unknown`);
        const after = await trx
          .updateTable('accounts')
          .set({
            low_credit_alert_enabled: b.enabled,
            ...(b.thresholdMinor !== undefined
              ? { low_credit_alert_minor: b.thresholdMinor === null ? null : minorUnits(b.thresholdMinor) }
              : {}),
            ...(b.days !== undefined ? { low_credit_alert_days: b.days } : {}),
          })
          .where('id', '=', before.id)
          .returning(['low_credit_alert_enabled', 'low_credit_alert_minor', 'low_credit_alert_days'])
          .executeTakeFirstOrThrow();
        await writeAudit(trx, {
          utilityId: c.utilityId,
          actor: actorOf(p),
          action: 'account.alerts',
          subject: `account:${before.id}`,
          details: { from: alertsAudited(before), to: alertsAudited(after) },
        });
        return alertsOut(after, m);
      });
    },
  );
};
