/**
 * Operators' reports: revenue per local day (the utility's time zone) from the vends, and consumption per
 * UTC day from the daily readings roll-up; JSON, or CSV with `format=csv` (or `Accept: text/csv`).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import { formatMoney } from '../../money.ts';
import type { Database, UtilityId } from '../../store/schema.ts';
import { principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';

export interface ReportRoutesOptions {
  readonly db: Kysely<Database>;
}

const DAY_MS = 86_400_000;
/** Longest period of one report. */
const MAX_DAYS = 400;

const Day = z.iso.date().describe('a date, YYYY-MM-DD');
const Format = z.enum(['json', 'csv']).optional().describe('csv: text/csv (also with Accept: text/csv)');
/** The period [from, to) of every report, an optional area, and JSON or CSV. */
const ReportQuery = z.object({
  from: Day,
  to: Day,
  area: z.string().trim().min(1).max(100).optional(),
  format: Format,
});

export interface RevenueDay {
  day: string;
  vends: number;
  paidMinor: bigint;
  onlineMinor: bigint;
  vendorMinor: bigint;
  reversals: number;
  reversedMinor: bigint;
  energyWh: bigint;
  volumeL: bigint;
}

/**
 * Sales per local day of the utility in [from, to): completed vends and what was paid (online and at
 * vendors), reversals by the day of the sale, and the units sold (Wh and litres).
 */
export async function revenueByDay(
  db: Kysely<Database>,
  utilityId: UtilityId,
  from: string,
  to: string,
  area?: string,
): Promise<RevenueDay[]> {
  const { rows } = await sql<{
    day: string;
    vends: string;
    paid: string;
    online: string;
    vendor: string;
    reversals: string;
    reversed: string;
    energy_wh: string;
    volume_l: string;
  }>`
    select to_char((v.created_at at time zone u.timezone)::date, 'YYYY-MM-DD') as day,
      count(*) filter (where v.status = 'completed')::text as vends,
      coalesce(sum(v.amount_paid_minor) filter (where v.status = 'completed'), 0)::text as paid,
      coalesce(sum(v.amount_paid_minor) filter (where v.status = 'completed' and v.channel = 'online'), 0)::text as online,
      coalesce(sum(v.amount_paid_minor) filter (where v.status = 'completed' and v.channel = 'vendor'), 0)::text as vendor,
      count(*) filter (where v.status = 'reversed')::text as reversals,
      coalesce(sum(v.amount_paid_minor) filter (where v.status = 'reversed'), 0)::text as reversed,
      coalesce(sum(v.units) filter (where v.status = 'completed' and m.kind = 'electricity'), 0)::text as energy_wh,
      coalesce(sum(v.units) filter (where v.status = 'completed' and m.kind = 'water'), 0)::text as volume_l
    from vends v
    join utilities u on u.id = v.utility_id
    join meters m on m.id = v.meter_id
    ${area === undefined ? sql`` : sql`join accounts a on a.id = v.account_id join premises p on p.id = a.premise_id`}
    where v.utility_id = ${utilityId}
      and v.created_at >= (${from}::date)::timestamp at time zone u.timezone
      and v.created_at < (${to}::date)::timestamp at time zone u.timezone
      ${area === undefined ? sql`` : sql`and p.area = ${area}`}
    group by 1 order by 1`.execute(db);
  return rows.map((r) => ({
    day: r.day,
    vends: Number(r.vends),
    paidMinor: BigInt(r.paid),
    onlineMinor: BigInt(r.online),
    vendorMinor: BigInt(r.vendor),
    reversals: Number(r.reversals),
    reversedMinor: BigInt(r.reversed),
    energyWh: BigInt(r.energy_wh),
    volumeL: BigInt(r.volume_l),
  }));
}

export interface ConsumptionDay {
  day: string;
  meters: number;
  energyWh: bigint;
  volumeL: bigint;
}

/**
 * Fleet consumption per UTC day in [from, to) from `readings_daily`: per meter and day, the day's last
 * register value less the meter's previous day with readings in the week before (else the day's first
 * value); a register that went down counts the day's own spread. Summed per day over the meters.
 */
export async function consumptionByDay(
  db: Kysely<Database>,
  utilityId: UtilityId,
  from: string,
  to: string,
  area?: string,
): Promise<ConsumptionDay[]> {
  const use = (min: string, max: string, prev: string) =>
    sql.raw(`case when ${max} is null then 0
      when ${max} >= coalesce(${prev}, ${min}) then ${max} - coalesce(${prev}, ${min})
      else ${max} - ${min} end`);
  const { rows } = await sql<{ day: string; meters: string; energy_wh: string; volume_l: string }>`
    with d as (
      select r.meter_id, r.bucket, r.energy_wh_min, r.energy_wh_max, r.volume_l_min, r.volume_l_max,
        lag(r.energy_wh_max) over w as prev_e, lag(r.volume_l_max) over w as prev_v
      from readings_daily r
      join meters m on m.id = r.meter_id
      ${area === undefined ? sql`` : sql`join accounts a on a.id = m.account_id join premises p on p.id = a.premise_id`}
      where m.utility_id = ${utilityId}
        and r.bucket >= (${from}::date - 7)::timestamp at time zone 'UTC'
        and r.bucket < (${to}::date)::timestamp at time zone 'UTC'
        ${area === undefined ? sql`` : sql`and p.area = ${area}`}
      window w as (partition by r.meter_id order by r.bucket)
    )
    select to_char(bucket at time zone 'UTC', 'YYYY-MM-DD') as day,
      count(distinct meter_id)::text as meters,
      sum(${use('energy_wh_min', 'energy_wh_max', 'prev_e')})::text as energy_wh,
      sum(${use('volume_l_min', 'volume_l_max', 'prev_v')})::text as volume_l
    from d
    where bucket >= (${from}::date)::timestamp at time zone 'UTC'
    group by 1 order by 1`.execute(db);
  return rows.map((r) => ({
    day: r.day,
    meters: Number(r.meters),
    energyWh: BigInt(r.energy_wh ?? '0'),
    volumeL: BigInt(r.volume_l ?? '0'),
  }));
}

/** RFC 4180: quote a field holding a comma, quote or line break. */
function csvField(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function csv(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return rows.reduce((out, r) => `${out}${r.map(csvField).join(',')}\r\n`, `${header.join(',')}\r\n`);
}

function wantsCsv(req: FastifyRequest, format: 'json' | 'csv' | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  const accept = req.headers.accept ?? '';
  return accept.includes('text/csv') && !accept.includes('application/json');
}

function sendCsv(reply: FastifyReply, name: string, body: string) {
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name}.csv"`)
    .send(body);
}

function period(from: string, to: string): void {
  const days = (Date.parse(to) - Date.parse(from)) / DAY_MS;
  if (!(days > 0)) throw new AppError('validation_failed', 'from: must be before to');
  if (days > MAX_DAYS) throw new AppError('validation_failed', `to: at most ${MAX_DAYS} days per report`);
}

const Money = z.object({ minor: z.string(), amount: z.string() });

export const reportRoutes: FastifyPluginAsync<ReportRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  const utility = (id: UtilityId) =>
    db
      .selectFrom('utilities')
      .select(['code', 'currency', 'currency_exponent', 'timezone'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

  app.get(
    '/api/v1/reports/revenue',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['reports'],
        summary:
          "Sales per day in the utility's time zone over [from, to): vends, paid online and at vendors, reversals, units; JSON or CSV",
        querystring: ReportQuery,
        response: {
          200: z.object({
            currency: z.string(),
            timezone: z.string(),
            days: z.array(
              z.object({
                day: z.string(),
                vends: z.number(),
                paid: Money,
                online: Money,
                vendor: Money,
                reversals: z.number(),
                reversed: Money,
                energyWh: z.string(),
                volumeL: z.string(),
              }),
            ),
            total: z.object({ vends: z.number(), paid: Money, reversals: z.number(), reversed: Money }),
          }),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const q = req.query;
      period(q.from, q.to);
      const u = await utility(p.utilityId);
      const days = await revenueByDay(db, p.utilityId, q.from, q.to, q.area);
      const m = (minor: bigint) => ({
        minor: minor.toString(),
        amount: formatMoney(minor, u.currency_exponent),
      });
      if (wantsCsv(req, q.format)) {
        return sendCsv(
          reply,
          `revenue-${u.code}-${q.from}-${q.to}`,
          csv(
            [
              'day',
              'currency',
              'vends',
              'paid',
              'online',
              'vendor',
              'reversals',
              'reversed',
              'energy_wh',
              'volume_l',
            ],
            days.map((d) => [
              d.day,
              u.currency,
              d.vends,
              formatMoney(d.paidMinor, u.currency_exponent),
              formatMoney(d.onlineMinor, u.currency_exponent),
              formatMoney(d.vendorMinor, u.currency_exponent),
              d.reversals,
              formatMoney(d.reversedMinor, u.currency_exponent),
              d.energyWh.toString(),
              d.volumeL.toString(),
            ]),
          ),
        );
      }
      return {
        currency: u.currency,
        timezone: u.timezone,
        days: days.map((d) => ({
          day: d.day,
          vends: d.vends,
          paid: m(d.paidMinor),
          online: m(d.onlineMinor),
          vendor: m(d.vendorMinor),
          reversals: d.reversals,
          reversed: m(d.reversedMinor),
          energyWh: d.energyWh.toString(),
          volumeL: d.volumeL.toString(),
        })),
        total: {
          vends: days.reduce((s, d) => s + d.vends, 0),
          paid: m(days.reduce((s, d) => s + d.paidMinor, 0n)),
          reversals: days.reduce((s, d) => s + d.reversals, 0),
          reversed: m(days.reduce((s, d) => s + d.reversedMinor, 0n)),
        },
      };
    },
  );

  app.get(
    '/api/v1/reports/consumption',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['reports'],
        summary:
          'Fleet consumption per UTC day over [from, to): meters reporting, Wh and litres; JSON or CSV',
        querystring: ReportQuery,
        response: {
          200: z.object({
            days: z.array(
              z.object({ day: z.string(), meters: z.number(), energyWh: z.string(), volumeL: z.string() }),
            ),
            total: z.object({ energyWh: z.string(), volumeL: z.string() }),
          }),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const q = req.query;
      period(q.from, q.to);
      const days = await consumptionByDay(db, p.utilityId, q.from, q.to, q.area);
      if (wantsCsv(req, q.format)) {
        const u = await utility(p.utilityId);
        return sendCsv(
          reply,
          `consumption-${u.code}-${q.from}-${q.to}`,
          csv(
            ['day', 'meters', 'energy_wh', 'volume_l'],
            days.map((d) => [d.day, d.meters, d.energyWh.toString(), d.volumeL.toString()]),
          ),
        );
      }
      return {
        days: days.map((d) => ({
          day: d.day,
          meters: d.meters,
          energyWh: d.energyWh.toString(),
          volumeL: d.volumeL.toString(),
        })),
        total: {
          energyWh: days.reduce((s, d) => s + d.energyWh, 0n).toString(),
          volumeL: days.reduce((s, d) => s + d.volumeL, 0n).toString(),
        },
      };
    },
  );
};
