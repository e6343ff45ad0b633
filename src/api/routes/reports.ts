/**
 * Operators' reports: revenue per local day (the utility's time zone) from the vends, and consumption per
 * UTC day from the daily readings roll-up; JSON, or CSV with `format=csv` (or `Accept: text/csv`). The
 * reads are src/reports/queries.ts.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { formatMoney } from '../../money.ts';
import { consumptionByDay, reportUtility, revenueByDay } from '../../reports/queries.ts';
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

  const utility = (id: UtilityId) => reportUtility(db, id);

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
