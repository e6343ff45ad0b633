/**
 * The contact centre over HTTP (docs/customer-service.md, "Contact centre"): the screen pop, departments,
 * categories and routing rules, work orders, call and chat records (a CSV import by staff and a webhook the
 * telephony system pushes to with the utility's contact-centre secret), the satisfaction survey (its public
 * link and the inbound reply), and the KPIs as JSON or CSV.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { type CallRecordInput, ContactCentre, type WorkOrderView } from '../../cases/centre.ts';
import { ContactCentreKpi, KPI_BUCKETS, KPI_DIMENSIONS, kpiCsv } from '../../cases/kpi.ts';
import { CATEGORY_CODE, type CaseActor, CaseService } from '../../cases/service.ts';
import { readSheet, SheetError, sniffFormat, XLSX_MEDIA_TYPE } from '../../import/sheet.ts';
import type { CaseId, Database, DepartmentId, UserId, UtilityId, WorkOrderId } from '../../store/schema.ts';
import { actorOf, type Principal, principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { Instant, iso } from './admin-shared.ts';

export interface ContactCentreRoutesOptions {
  readonly db: Kysely<Database>;
  readonly now?: () => Date;
  readonly surveyLink?: (token: string) => string;
}

const STAFF = ['service', 'operator'] as const;
const Category = z.string().regex(CATEGORY_CODE);
const Name = z.string().trim().min(1).max(120);

const DepartmentOut = z.object({ id: z.string(), code: z.string(), nameEn: z.string(), nameAr: z.string() });
const RuleOut = z.object({
  id: z.string(),
  category: z.string(),
  area: z.string().nullable(),
  department: DepartmentOut,
});
const WorkOrderOut = z.object({
  id: z.string(),
  number: z.string(),
  caseId: z.string(),
  caseNumber: z.string(),
  subject: z.string(),
  customerName: z.string().nullable(),
  address: z.string().nullable(),
  meter: z.object({ id: z.string(), serial: z.string() }).nullable(),
  technician: z.object({ id: z.string(), name: z.string() }).nullable(),
  instructions: z.string(),
  status: z.enum(['open', 'done', 'cancelled']),
  outcome: z.enum(['fixed', 'not_fixed', 'no_access']).nullable(),
  result: z.string().nullable(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
});

const Durations = z.object({
  count: z.number(),
  meanSeconds: z.number().nullable(),
  medianSeconds: z.number().nullable(),
  p90Seconds: z.number().nullable(),
});
const KpiRowOut = z.object({
  key: z.string(),
  received: z.number(),
  resolved: z.number(),
  closed: z.number(),
  resolvedWithinSla: z.number(),
  withinSlaShare: z.number().nullable(),
  reopened: z.number(),
  firstResponse: Durations,
  resolution: Durations,
  satisfaction: z.object({ count: z.number(), mean: z.number().nullable() }),
  calls: z
    .object({
      received: z.number(),
      answered: z.number(),
      abandoned: z.number(),
      answerRate: z.number().nullable(),
      meanWaitSeconds: z.number().nullable(),
    })
    .nullable(),
});

/** A call or chat as the telephony system sends it (webhook) or a CSV row has it (import). */
const CallRecordIn = z
  .object({
    id: z.string().trim().min(1).max(100).describe("the telephony system's id of the call"),
    kind: z.enum(['call', 'chat']).default('call'),
    queue: z.string().trim().max(100).optional(),
    agent: z.string().trim().max(100).optional(),
    caller: z.string().trim().max(40).optional(),
    receivedAt: z.iso.datetime({ offset: true }),
    outcome: z.enum(['answered', 'abandoned']),
    waitSeconds: z.coerce.number().int().min(0).max(86_400),
    talkSeconds: z.coerce.number().int().min(0).max(86_400).default(0),
  })
  .refine((r) => r.outcome === 'answered' || r.talkSeconds === 0, {
    message: 'an abandoned call has no talk time',
    path: ['talkSeconds'],
  });

function toInput(r: z.infer<typeof CallRecordIn>): CallRecordInput {
  return {
    externalId: r.id,
    kind: r.kind,
    queue: r.queue || null,
    agent: r.agent || null,
    caller: r.caller || null,
    receivedAt: new Date(r.receivedAt),
    outcome: r.outcome,
    waitSeconds: r.waitSeconds,
    talkSeconds: r.talkSeconds,
  };
}

/** CSV columns of a call-record import, by header name (docs/customer-service.md). */
const CSV_COLUMNS: Readonly<Record<string, keyof z.infer<typeof CallRecordIn>>> = Object.freeze({
  call_id: 'id',
  kind: 'kind',
  queue: 'queue',
  agent: 'agent',
  caller: 'caller',
  received_at: 'receivedAt',
  outcome: 'outcome',
  wait_seconds: 'waitSeconds',
  talk_seconds: 'talkSeconds',
});

function workOrderOut(w: WorkOrderView): z.infer<typeof WorkOrderOut> {
  return { ...w, createdAt: w.createdAt.toISOString(), completedAt: iso(w.completedAt) };
}

function actor(p: Principal): CaseActor {
  if (p.kind !== 'user') throw new AppError('forbidden', 'kiosks do not handle the contact centre');
  return { actor: actorOf(p), userId: p.userId, role: p.role, customerId: p.customerId };
}

function bearer(header: string | undefined): string {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m?.[1]) throw new AppError('unauthenticated', 'send the contact-centre secret as a bearer token');
  return m[1];
}

export const contactCentreRoutes: FastifyPluginAsync<ContactCentreRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const now = opts.now ?? (() => new Date());
  const cases = new CaseService({
    db: opts.db,
    now,
    ...(opts.surveyLink ? { surveyLink: opts.surveyLink } : {}),
  });
  const centre = new ContactCentre({ db: opts.db, cases, now });
  const kpi = new ContactCentreKpi(opts.db);

  fastify.addContentTypeParser(
    ['text/csv', XLSX_MEDIA_TYPE],
    { parseAs: 'buffer', bodyLimit: 20 * 1024 * 1024 },
    (_req, body, done) => done(null, body),
  );

  const secretUtility = async (code: string, header: string | undefined): Promise<UtilityId> => {
    const u = await centre.utilityBySecret(code, bearer(header));
    if (u === null) throw new AppError('unauthenticated', 'the contact-centre secret does not match');
    return u;
  };

  // ---- screen pop ----

  app.get(
    '/api/v1/contact-centre/screen-pop',
    {
      config: { access: STAFF },
      schema: {
        tags: ['contact centre'],
        summary:
          "The caller's customers (by the last eight digits of the number), their accounts, meters, credit, " +
          'last payments and tokens, and open cases',
        querystring: z.object({ number: z.string().trim().min(6).max(30) }),
      },
    },
    async (req) => {
      const pop = await centre.screenPop(principalOf(req).utilityId, req.query.number);
      return {
        number: pop.number,
        customers: pop.customers.map((c) => ({
          ...c,
          accounts: c.accounts.map((a) => ({
            ...a,
            payments: a.payments.map((v) => ({ ...v, at: v.at.toISOString() })),
          })),
          openCases: c.openCases.map((k) => ({ ...k, createdAt: k.createdAt.toISOString() })),
        })),
      };
    },
  );

  // ---- departments, categories, routing ----

  app.get(
    '/api/v1/departments',
    {
      config: { access: [...STAFF, 'technician'] },
      schema: {
        tags: ['contact centre'],
        summary: "The utility's departments",
        response: { 200: z.object({ departments: z.array(DepartmentOut) }) },
      },
    },
    async (req) => ({ departments: await centre.departments(principalOf(req).utilityId) }),
  );

  app.post(
    '/api/v1/departments',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['contact centre'],
        summary: 'Add a department (its code is for routing rules and the KPI)',
        body: z.object({ code: z.string().regex(/^[a-z][a-z0-9_-]{1,39}$/), nameEn: Name, nameAr: Name }),
        response: { 201: DepartmentOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      return reply.status(201).send(await centre.createDepartment(p.utilityId, req.body, actor(p)));
    },
  );

  app.put(
    '/api/v1/users/:userId/department',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['contact centre'],
        summary:
          'Put a staff member in a department (its queue is theirs: GET /cases?department=mine), or null',
        params: z.object({ userId: z.uuid() }),
        body: z.object({ departmentId: z.uuid().nullable() }),
        response: { 200: z.object({ userId: z.string(), departmentId: z.string().nullable() }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      await centre.setMember(
        p.utilityId,
        req.params.userId as UserId,
        req.body.departmentId as DepartmentId | null,
        actor(p),
      );
      return { userId: req.params.userId, departmentId: req.body.departmentId };
    },
  );

  app.post(
    '/api/v1/case-categories',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['contact centre'],
        summary:
          'Add a case category or change one: SLA hours, names, whether it needs a site visit, retired ' +
          '(active false: no new cases; its cases stay)',
        body: z.object({
          category: Category,
          slaHours: z.number().int().min(1).max(8760),
          nameEn: Name,
          nameAr: Name,
          needsVisit: z.boolean().default(false),
          active: z.boolean().default(true),
        }),
      },
    },
    async (req) => {
      const p = principalOf(req);
      return { categories: await centre.saveCategory(p.utilityId, req.body, actor(p)) };
    },
  );

  app.get(
    '/api/v1/routing-rules',
    {
      config: { access: STAFF },
      schema: {
        tags: ['contact centre'],
        summary: 'Where new cases go: category and area (or anywhere) → department',
        response: { 200: z.object({ rules: z.array(RuleOut) }) },
      },
    },
    async (req) => ({ rules: await centre.rules(principalOf(req).utilityId) }),
  );

  app.put(
    '/api/v1/routing-rules',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['contact centre'],
        summary:
          'Route a category (in one area, or anywhere with area null) to a department; replaces the rule of ' +
          'the same category and area. A rule for the area wins over the rule for anywhere',
        body: z.object({
          category: Category,
          area: z.string().trim().min(1).max(100).nullable().default(null),
          departmentId: z.uuid(),
        }),
        response: { 200: z.object({ rules: z.array(RuleOut) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const b = req.body;
      return {
        rules: await centre.setRule(
          p.utilityId,
          { category: b.category, area: b.area, departmentId: b.departmentId as DepartmentId },
          actor(p),
        ),
      };
    },
  );

  app.delete(
    '/api/v1/routing-rules/:ruleId',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['contact centre'],
        summary: 'Remove a routing rule',
        params: z.object({ ruleId: z.uuid() }),
        response: { 200: z.object({ rules: z.array(RuleOut) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return { rules: await centre.deleteRule(p.utilityId, req.params.ruleId, actor(p)) };
    },
  );

  // ---- work orders ----

  app.post(
    '/api/v1/cases/:caseId/work-orders',
    {
      config: { access: STAFF },
      schema: {
        tags: ['contact centre'],
        summary: 'Make a site visit of a case: a work order for a technician (or any technician, unassigned)',
        params: z.object({ caseId: z.uuid() }),
        body: z.object({
          technicianId: z.uuid().nullable().default(null),
          instructions: z.string().trim().min(1).max(2000),
        }),
        response: { 201: WorkOrderOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const w = await centre.createWorkOrder(
        p.utilityId,
        req.params.caseId as CaseId,
        { technicianId: req.body.technicianId as UserId | null, instructions: req.body.instructions },
        actor(p),
      );
      return reply.status(201).send(workOrderOut(w));
    },
  );

  app.get(
    '/api/v1/work-orders',
    {
      config: { access: [...STAFF, 'technician'] },
      schema: {
        tags: ['contact centre'],
        summary: 'Work orders, newest first; a technician sees their own and the unassigned ones',
        querystring: z.object({
          status: z.enum(['open', 'done', 'cancelled']).optional(),
          caseId: z.uuid().optional(),
        }),
        response: { 200: z.object({ workOrders: z.array(WorkOrderOut) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const by = actor(p);
      let list = await centre.workOrders(p.utilityId, {
        status: req.query.status,
        caseId: req.query.caseId as CaseId | undefined,
      });
      if (by.role === 'technician') {
        list = list.filter((w) => w.technician === null || w.technician.id === by.userId);
      }
      return { workOrders: list.map(workOrderOut) };
    },
  );

  app.post(
    '/api/v1/work-orders/:workOrderId/result',
    {
      config: { access: ['technician', 'operator'] },
      schema: {
        tags: ['contact centre'],
        summary:
          "The visit's result, written into the case; a fixed fault resolves the case and the customer hears of it",
        params: z.object({ workOrderId: z.uuid() }),
        body: z.object({
          outcome: z.enum(['fixed', 'not_fixed', 'no_access']),
          result: z.string().trim().min(1).max(2000),
        }),
        response: { 200: WorkOrderOut },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return workOrderOut(
        await centre.completeWorkOrder(
          p.utilityId,
          req.params.workOrderId as WorkOrderId,
          req.body,
          actor(p),
        ),
      );
    },
  );

  // ---- calls and chats ----

  app.post(
    '/api/v1/contact-centre/calls/import',
    {
      config: { access: STAFF },
      schema: {
        tags: ['contact centre'],
        summary:
          'Import call and chat records from the telephony system: the body is a CSV file (or xlsx) with ' +
          'call_id, kind, queue, agent, caller, received_at, outcome, wait_seconds, talk_seconds',
        consumes: ['text/csv', XLSX_MEDIA_TYPE],
        querystring: z.object({ dryRun: z.enum(['true', 'false']).default('false') }),
        response: {
          200: z.object({
            rows: z.number(),
            added: z.number(),
            duplicates: z.number(),
            written: z.boolean(),
            errors: z.array(z.object({ row: z.number(), column: z.string(), reason: z.string() })),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const body = req.body as unknown;
      if (!Buffer.isBuffer(body) || body.length === 0) {
        throw new AppError('import_file_invalid', 'send the file as the body (text/csv or xlsx)');
      }
      let sheet: Awaited<ReturnType<typeof readSheet>>;
      try {
        sheet = await readSheet(body, sniffFormat(body));
      } catch (err) {
        if (err instanceof SheetError) throw new AppError('import_file_invalid', err.message);
        throw err;
      }
      const missing = ['call_id', 'received_at', 'outcome', 'wait_seconds'].filter(
        (h) => !sheet.headers.includes(h),
      );
      if (missing.length > 0)
        throw new AppError('import_file_invalid', `missing columns: ${missing.join(', ')}`);
      const good: CallRecordInput[] = [];
      const errors: { row: number; column: string; reason: string }[] = [];
      const seen = new Map<string, number>();
      for (const r of sheet.rows) {
        const raw: Record<string, string> = {};
        for (const [header, field] of Object.entries(CSV_COLUMNS)) {
          const v = r.cells[header];
          if (v !== undefined && v !== '') raw[field] = v;
        }
        const parsed = CallRecordIn.safeParse(raw);
        if (!parsed.success) {
          for (const issue of parsed.error.issues) {
            const field = String(issue.path[0] ?? '');
            const column = Object.entries(CSV_COLUMNS).find(([, f]) => f === field)?.[0] ?? field;
            errors.push({ row: r.row, column, reason: issue.message });
          }
          continue;
        }
        const first = seen.get(parsed.data.id);
        if (first !== undefined) {
          errors.push({ row: r.row, column: 'call_id', reason: `${parsed.data.id} is also on row ${first}` });
          continue;
        }
        seen.set(parsed.data.id, r.row);
        good.push(toInput(parsed.data));
      }
      if (req.query.dryRun === 'true') {
        return { rows: sheet.rows.length, added: 0, duplicates: 0, written: false, errors };
      }
      const res = await centre.recordCalls(p.utilityId, good, 'import');
      return { rows: sheet.rows.length, ...res, written: res.added > 0, errors };
    },
  );

  app.post(
    '/api/v1/contact-centre/secret',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['contact centre'],
        summary:
          "A new secret for the telephony system's pushes (shown once; the old one stops working). Rasid keeps " +
          'only its SHA-256',
        response: { 201: z.object({ secret: z.string() }) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      return reply.status(201).send({ secret: await centre.rotateSecret(p.utilityId, actor(p)) });
    },
  );

  app.post(
    '/api/v1/contact-centre/:utility/calls',
    {
      config: { access: 'public' },
      schema: {
        tags: ['contact centre'],
        summary:
          'The telephony system pushes finished calls and chats (Authorization: Bearer <contact-centre secret>); ' +
          'a record already received (same id) is counted once',
        params: z.object({ utility: z.string().min(1).max(40) }),
        body: z.object({ records: z.array(CallRecordIn).min(1).max(1000) }),
        response: { 200: z.object({ added: z.number(), duplicates: z.number() }) },
      },
    },
    async (req) => {
      const u = await secretUtility(req.params.utility, req.headers.authorization);
      return centre.recordCalls(u, req.body.records.map(toInput), 'webhook');
    },
  );

  app.post(
    '/api/v1/contact-centre/:utility/inbound',
    {
      config: { access: 'public' },
      schema: {
        tags: ['contact centre'],
        summary:
          'A message a customer sent (SMS or WhatsApp, pushed by the gateway with the contact-centre secret): a ' +
          'number 1 to 5 answers their latest open satisfaction survey',
        params: z.object({ utility: z.string().min(1).max(40) }),
        body: z.object({ from: z.string().trim().min(6).max(30), text: z.string().max(1000) }),
        response: { 200: z.object({ survey: z.string().nullable() }) },
      },
    },
    async (req) => {
      const u = await secretUtility(req.params.utility, req.headers.authorization);
      return { survey: await centre.surveyReply(u, req.body.from, req.body.text) };
    },
  );

  // ---- the survey link ----

  app.post(
    '/api/v1/surveys/:token',
    {
      config: { access: 'public' },
      schema: {
        tags: ['contact centre'],
        summary: 'Answer a satisfaction survey from its link: a score 1 to 5 and an optional comment, once',
        params: z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{20,64}$/) }),
        body: z.object({
          score: z.number().int().min(1).max(5),
          comment: z.string().trim().max(1000).optional(),
        }),
        response: { 200: z.object({ caseNumber: z.string() }) },
      },
    },
    async (req) =>
      centre.answerSurvey(req.params.token, req.body.score, req.body.comment ? req.body.comment : null),
  );

  // ---- KPIs ----

  app.get(
    '/api/v1/contact-centre/kpi',
    {
      config: { access: STAFF },
      schema: {
        tags: ['contact centre'],
        summary:
          'Answer rate, cases received, resolved and closed, time to first response and to resolve (mean, ' +
          'median, 90th percentile), share within SLA, reopened and satisfaction for [from, to): in total, by ' +
          'channel, category or department, and by day, week or month; format=csv for a spreadsheet',
        querystring: z.object({
          from: Instant,
          to: Instant.optional().describe('default now'),
          by: z.enum(KPI_DIMENSIONS).optional(),
          bucket: z.enum(KPI_BUCKETS).default('day'),
          format: z.enum(['json', 'csv']).default('json'),
        }),
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const to = req.query.to ?? now();
      if (req.query.from >= to) throw new AppError('validation_failed', 'from: must be before to');
      if (to.getTime() - req.query.from.getTime() > 400 * 86_400_000) {
        throw new AppError('validation_failed', 'to: a period is at most 400 days');
      }
      const report = await kpi.report(
        p.utilityId,
        req.query.from,
        to,
        req.query.by ?? null,
        req.query.bucket,
      );
      if (req.query.format === 'csv') {
        const name = `contact-centre-${req.query.from.toISOString().slice(0, 10)}.csv`;
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${name}"`)
          .send(kpiCsv(report));
      }
      const out = (r: (typeof report)['total']): z.infer<typeof KpiRowOut> => KpiRowOut.parse(r);
      return {
        from: report.from.toISOString(),
        to: report.to.toISOString(),
        dimension: report.dimension,
        bucket: report.bucket,
        total: out(report.total),
        groups: report.groups.map(out),
        series: report.series.map(out),
      };
    },
  );
};
