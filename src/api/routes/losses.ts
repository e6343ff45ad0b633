/**
 * Non-revenue energy and water (docs/losses.md): districts with their supply points and bulk meters, the
 * loss of a district per day, week or month, its suspicion list (each meter with its evidence and the body
 * of a field-visit case for `POST /api/v1/cases`), a meter against its neighbours, and the loss alert check.
 * Register figures (Wh or litres) are strings: they are bigints.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import {
  addSupplyPoint,
  checkLosses,
  createDistrict,
  districtMeter,
  findDistrict,
  listDistricts,
  placeMeter,
} from '../../losses/districts.ts';
import { dayMs, districtLoss, LOSS_PERIODS, type PeriodLoss } from '../../losses/report.ts';
import { districtSuspicions, meterComparison, type Suspicion } from '../../losses/suspicions.ts';
import type { Database, MeterId } from '../../store/schema.ts';
import { principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { actorFor } from './admin-shared.ts';

export interface LossRoutesOptions {
  readonly db: Kysely<Database>;
}

const Day = z.iso.date().describe('a date, YYYY-MM-DD (UTC days, as the daily roll-up)');
const Kind = z.enum(['electricity', 'water']);
const Code = z.string().regex(/^[A-Za-z0-9._-]{1,40}$/, 'letters, digits, . _ - (1 to 40)');
const Units = z.string().describe('Wh (electricity) or litres (water)');
const MAX_DAYS = 400;

const DistrictOut = z.object({
  id: z.string(),
  code: z.string(),
  name: z.string(),
  kind: Kind,
  unit: z.enum(['Wh', 'L']),
  customerMeters: z.number(),
  supplyPoints: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      meterId: z.string().nullable(),
      serial: z.string().nullable(),
    }),
  ),
});

const PeriodOut = z.object({
  start: z.string(),
  end: z.string().describe('exclusive'),
  status: z.enum(['complete', 'partial', 'no_inflow']),
  inflow: z.object({ units: Units.nullable(), meters: z.number(), covered: z.number() }),
  consumption: z.object({
    units: Units.describe('the covered customer meters'),
    meters: z.number(),
    covered: z.number(),
    partial: z.number().describe('some readings, not both ends of the period'),
    missing: z.number().describe('no reading in the period'),
    partialUnits: Units,
  }),
  loss: z.object({ units: Units, shareBp: z.number() }).nullable(),
  lossAtMost: Units.nullable().describe('partial: the loss is at most this'),
});

function periodOut(p: PeriodLoss): z.infer<typeof PeriodOut> {
  return {
    start: p.start,
    end: p.end,
    status: p.status,
    inflow: { ...p.inflow, units: p.inflow.units === null ? null : p.inflow.units.toString() },
    consumption: {
      ...p.consumption,
      units: p.consumption.units.toString(),
      partialUnits: p.consumption.partialUnits.toString(),
    },
    loss: p.loss === null ? null : { units: p.loss.units.toString(), shareBp: p.loss.shareBp },
    lossAtMost: p.lossAtMost === null ? null : p.lossAtMost.toString(),
  };
}

const Reason = z.enum(['consumption_drop', 'tamper', 'silent', 'purchases_stopped']);
const VisitCase = z.object({
  category: z.literal('meter_fault'),
  channel: z.literal('web'),
  subject: z.string(),
  description: z.string(),
  meterId: z.string(),
  accountId: z.string().optional(),
});

/** The body of `POST /api/v1/cases` that asks for a field visit, with the evidence written out. */
function visitCase(district: { code: string }, s: Suspicion): z.infer<typeof VisitCase> {
  const lines = [
    `Field visit: suspected non-revenue ${s.reasons.join(', ')} at meter ${s.serial} (district ${district.code}).`,
    ...Object.entries(s.evidence).map(([k, v]) => `${k}: ${JSON.stringify(v)}`),
  ];
  return {
    category: 'meter_fault',
    channel: 'web',
    subject: `Field visit: meter ${s.serial} (${district.code})`,
    description: lines.join('\n').slice(0, 4000),
    meterId: s.meterId,
    ...(s.accountId ? { accountId: s.accountId } : {}),
  };
}

function checkSpan(from: string, to: string): void {
  if (dayMs(to) < dayMs(from)) throw new AppError('validation_failed', 'to: before from');
  if ((dayMs(to) - dayMs(from)) / 86_400_000 > MAX_DAYS)
    throw new AppError('validation_failed', `to: at most ${MAX_DAYS} days after from`);
}

export const lossRoutes: FastifyPluginAsync<LossRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;
  const unitOf = (kind: string) => (kind === 'electricity' ? ('Wh' as const) : ('L' as const));

  app.post(
    '/api/v1/districts',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['losses'],
        summary: 'Create a district (an area of the network, electricity or water)',
        body: z.object({ code: Code, name: z.string().trim().min(1).max(200), kind: Kind }),
        response: { 201: DistrictOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const d = await createDistrict(db, p.utilityId, req.body, actorFor(p));
      return reply.status(201).send({ ...d, unit: unitOf(d.kind), customerMeters: 0, supplyPoints: [] });
    },
  );

  app.get(
    '/api/v1/districts',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['losses'],
        summary: 'The districts with their supply points, bulk meters and count of customer meters',
        response: { 200: z.object({ districts: z.array(DistrictOut) }) },
      },
    },
    async (req) => {
      const list = await listDistricts(db, principalOf(req).utilityId);
      return {
        districts: list.map((d) => ({ ...d, unit: unitOf(d.kind), supplyPoints: [...d.supplyPoints] })),
      };
    },
  );

  app.post(
    '/api/v1/districts/:districtId/supply-points',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['losses'],
        summary: "Add a supply point; its meter (optional) becomes the district's bulk meter there",
        params: z.object({ districtId: z.uuid() }),
        body: z.object({ name: z.string().trim().min(1).max(200), meterId: z.uuid().optional() }),
        response: {
          201: z.object({ id: z.string(), name: z.string(), meterId: z.string().nullable() }),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const sp = await addSupplyPoint(db, p.utilityId, req.params.districtId, req.body, actorFor(p));
      return reply.status(201).send(sp);
    },
  );

  app.put(
    '/api/v1/meters/:meterId/district',
    {
      config: { access: ['operator', 'technician'] },
      schema: {
        tags: ['losses'],
        summary: 'Put a meter in a district (or out of any, districtId null), as a customer or bulk meter',
        params: z.object({ meterId: z.uuid() }),
        body: z.object({ districtId: z.uuid().nullable(), role: z.enum(['customer', 'bulk']).optional() }),
        response: {
          200: z.object({
            meterId: z.string(),
            districtId: z.string().nullable(),
            role: z.enum(['customer', 'bulk']),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return placeMeter(db, p.utilityId, req.params.meterId, req.body, actorFor(p));
    },
  );

  app.get(
    '/api/v1/districts/:districtId/losses',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['losses'],
        summary:
          'Inflow at the bulk meters, consumption at the customer meters, the loss and its share, per UTC day, ISO week or month touching [from, to]; meters without readings at both ends of a period are counted apart and leave the loss unset',
        params: z.object({ districtId: z.uuid() }),
        querystring: z.object({
          period: z.enum(LOSS_PERIODS as ['day', 'week', 'month']).default('day'),
          from: Day,
          to: Day,
        }),
        response: {
          200: z.object({
            district: z.object({ id: z.string(), code: z.string(), name: z.string(), kind: Kind }),
            unit: z.enum(['Wh', 'L']),
            period: z.enum(['day', 'week', 'month']),
            periods: z.array(PeriodOut),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const q = req.query;
      checkSpan(q.from, q.to);
      const d = await findDistrict(db, p.utilityId, req.params.districtId);
      const periods = await districtLoss(db, p.utilityId, d, q.period, q.from, q.to);
      return { district: d, unit: unitOf(d.kind), period: q.period, periods: periods.map(periodOut) };
    },
  );

  app.get(
    '/api/v1/districts/:districtId/suspicions',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['losses'],
        summary:
          'Meters worth a field visit: consumption fallen against their own history and their neighbours, tamper events, silent while the inflow is normal, token purchases stopped at an occupied premises; each with its evidence and the case to open',
        params: z.object({ districtId: z.uuid() }),
        querystring: z.object({
          to: Day.describe('the recent window ends before this day'),
          recentDays: z.coerce.number().int().min(1).max(90).default(7),
          baselineDays: z.coerce.number().int().min(1).max(365).default(28),
          dropRatio: z.coerce.number().min(0.05).max(0.95).default(0.6),
        }),
        response: {
          200: z.object({
            district: z.object({ id: z.string(), code: z.string(), name: z.string(), kind: Kind }),
            unit: z.enum(['Wh', 'L']),
            recent: z.object({ from: z.string(), to: z.string() }),
            baseline: z.object({ from: z.string(), to: z.string() }),
            neighboursRatio: z.number().nullable(),
            inflowRatio: z.number().nullable(),
            meters: z.array(
              z.object({
                meterId: z.string(),
                serial: z.string(),
                accountId: z.string().nullable(),
                reasons: z.array(Reason),
                evidence: z.record(z.string(), z.unknown()),
                visit: VisitCase.describe('POST it to /api/v1/cases to ask for a field visit'),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const d = await findDistrict(db, p.utilityId, req.params.districtId);
      const list = await districtSuspicions(db, p.utilityId, d, req.query);
      return {
        district: d,
        unit: unitOf(d.kind),
        ...list,
        meters: list.meters.map((s) => ({ ...s, reasons: [...s.reasons], visit: visitCase(d, s) })),
      };
    },
  );

  app.get(
    '/api/v1/districts/:districtId/meters/:meterId/comparison',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['losses'],
        summary: "A customer meter's daily consumption beside the median of its district's other meters",
        params: z.object({ districtId: z.uuid(), meterId: z.uuid() }),
        querystring: z.object({ from: Day, to: Day }),
        response: {
          200: z.object({
            meterId: z.string(),
            serial: z.string(),
            unit: z.enum(['Wh', 'L']),
            days: z.array(
              z.object({ day: z.string(), units: Units.nullable(), neighboursMedian: z.number().nullable() }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      checkSpan(req.query.from, req.query.to);
      const d = await findDistrict(db, p.utilityId, req.params.districtId);
      const meter = await districtMeter(db, p.utilityId, d, req.params.meterId as MeterId);
      const c = await meterComparison(db, p.utilityId, d, meter, req.query.from, req.query.to);
      return {
        meterId: c.meterId,
        serial: c.serial,
        unit: unitOf(d.kind),
        days: c.days.map((x) => ({ ...x, units: x.units === null ? null : x.units.toString() })),
      };
    },
  );

  app.post(
    '/api/v1/districts/loss-check',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['losses'],
        summary:
          "Look at one UTC day of every district now (the workers do it for yesterday every LOSS_CHECK_INTERVAL_SECONDS): a complete day whose loss share reaches the utility's lossAlertBp raises an operator alert, once",
        body: z.object({ day: Day }),
        response: {
          200: z.object({
            alerts: z.array(
              z.object({
                districtId: z.string(),
                code: z.string(),
                day: z.string(),
                shareBp: z.number(),
                thresholdBp: z.number(),
              }),
            ),
          }),
        },
      },
    },
    async (req) => ({ alerts: await checkLosses(db, principalOf(req).utilityId, req.body.day) }),
  );
};
