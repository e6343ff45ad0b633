/**
 * Customer-service cases over HTTP: open (a customer for themselves, service agents and operators for
 * anyone), list and filter, read with the timeline, assign, change status, add notes, the SLA of each
 * category, and the KPI of a period. A customer sees only their own cases and never internal notes.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import {
  CASE_CHANNELS,
  CASE_STATUSES,
  CATEGORY_CODE,
  type CaseActor,
  type CaseEventView,
  CaseService,
  type CaseView,
} from '../../cases/service.ts';
import type {
  AccountId,
  CaseId,
  CustomerId,
  Database,
  DepartmentId,
  MeterId,
  UserId,
} from '../../store/schema.ts';
import { actorOf, type Principal, principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { Instant, iso, Paging, QueryBool } from './admin-shared.ts';

export interface CaseRoutesOptions {
  readonly db: Kysely<Database>;
  readonly now?: () => Date;
  /** The satisfaction survey's link from its token (sent when a case is closed). */
  readonly surveyLink?: (token: string) => string;
}

const Category = z.string().regex(CATEGORY_CODE).describe('a category code of the utility');
const Channel = z.enum(CASE_CHANNELS);
const Status = z.enum(CASE_STATUSES);
const Ref = z.object({ id: z.string(), name: z.string() });

const CaseOut = z.object({
  id: z.string(),
  number: z.string().describe('human-facing reference, e.g. C-1024'),
  customer: Ref.nullable(),
  account: z.object({ id: z.string(), number: z.string() }).nullable(),
  meter: z.object({ id: z.string(), serial: z.string() }).nullable(),
  channel: Channel,
  category: Category,
  subject: z.string(),
  description: z.string(),
  status: Status,
  assignee: Ref.nullable(),
  slaHours: z.number(),
  slaDueAt: z.string(),
  overdue: z.boolean().describe('still open and past its SLA due time'),
  firstResponseAt: z.string().nullable(),
  resolvedAt: z.string().nullable(),
  closedAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  externalRef: z.string().nullable().describe("the national complaints system's reference"),
  callerNumber: z.string().nullable(),
  department: z.object({ id: z.string(), code: z.string(), name: z.string() }).nullable(),
  reopened: z.number().describe('times reopened after resolution or closure'),
});

const EventOut = z.object({
  id: z.string(),
  kind: z.enum([
    'opened',
    'status',
    'note',
    'assignment',
    'first_response',
    'routed',
    'work_order',
    'survey',
  ]),
  at: z.string(),
  actor: z.string(),
  fromStatus: Status.nullable(),
  toStatus: Status.nullable(),
  assigneeId: z.string().nullable(),
  note: z.string().nullable(),
  internal: z.boolean(),
  departmentId: z.string().nullable(),
});

const CaseWithEvents = CaseOut.extend({ events: z.array(EventOut) });

const Kpi = z.object({
  opened: z.number(),
  closed: z.number(),
  resolved: z.number().describe('resolved (or closed without a resolution) in the period'),
  resolvedWithinSla: z.number(),
  withinSlaShare: z.number().nullable().describe('resolvedWithinSla / resolved, 0..1; null when none'),
  firstResponse: z.object({
    count: z.number(),
    meanSeconds: z.number().nullable(),
    medianSeconds: z.number().nullable(),
  }),
});

const Categories = z.object({
  categories: z.array(
    z.object({
      category: Category,
      slaHours: z.number(),
      nameEn: z.string().nullable(),
      nameAr: z.string().nullable(),
      needsVisit: z.boolean(),
      active: z.boolean(),
    }),
  ),
});

function caseOut(v: CaseView): z.infer<typeof CaseOut> {
  return {
    ...v,
    slaDueAt: v.slaDueAt.toISOString(),
    firstResponseAt: iso(v.firstResponseAt),
    resolvedAt: iso(v.resolvedAt),
    closedAt: iso(v.closedAt),
    createdAt: v.createdAt.toISOString(),
    updatedAt: v.updatedAt.toISOString(),
  };
}

function eventOut(e: CaseEventView): z.infer<typeof EventOut> {
  return { ...e, at: e.at.toISOString() };
}

function caseActor(p: Principal): CaseActor {
  if (p.kind !== 'user') throw new AppError('forbidden', 'kiosks do not handle cases');
  return { actor: actorOf(p), userId: p.userId, role: p.role, customerId: p.customerId };
}

const CaseParams = z.object({ caseId: z.uuid() });
const STAFF = ['service', 'operator'] as const;
const PEOPLE = ['customer', 'service', 'operator'] as const;

export const caseRoutes: FastifyPluginAsync<CaseRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const cases = new CaseService({
    db: opts.db,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.surveyLink ? { surveyLink: opts.surveyLink } : {}),
  });
  const now = opts.now ?? (() => new Date());

  app.post(
    '/api/v1/cases',
    {
      config: { access: PEOPLE },
      schema: {
        tags: ['cases'],
        summary:
          'Open a case. A customer opens one for themselves (channel web; an account or meter must be theirs); ' +
          'service agents and operators for any customer, from any channel',
        body: z.object({
          category: Category,
          subject: z.string().trim().min(1).max(200),
          description: z.string().trim().max(4000).default(''),
          channel: Channel.optional().describe('staff: how the customer reached us (default phone)'),
          customerId: z.uuid().optional(),
          accountId: z.uuid().optional(),
          meterId: z.uuid().optional(),
          assigneeId: z.uuid().optional().describe('staff only'),
          externalRef: z
            .string()
            .trim()
            .min(1)
            .max(100)
            .optional()
            .describe('staff: the national complaints system reference (required with channel national)'),
          callerNumber: z
            .string()
            .regex(/^\+?[0-9]{3,20}$/)
            .optional()
            .describe('staff: the number the customer called from (screen pop)'),
        }),
        response: { 201: CaseOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const by = caseActor(p);
      const b = req.body;
      const customer = by.role === 'customer';
      if (
        customer &&
        (b.customerId !== undefined ||
          b.assigneeId !== undefined ||
          b.channel !== undefined ||
          b.externalRef !== undefined ||
          b.callerNumber !== undefined)
      ) {
        throw new AppError(
          'forbidden',
          'customerId, assigneeId, channel, externalRef and callerNumber are set by staff only',
        );
      }
      const view = await cases.open(
        {
          utilityId: p.utilityId,
          channel: customer ? 'web' : (b.channel ?? 'phone'),
          category: b.category,
          subject: b.subject,
          description: b.description,
          customerId: b.customerId as CustomerId | undefined,
          accountId: b.accountId as AccountId | undefined,
          meterId: b.meterId as MeterId | undefined,
          assigneeId: b.assigneeId as UserId | undefined,
          externalRef: customer ? undefined : b.externalRef,
          callerNumber: customer ? undefined : b.callerNumber,
        },
        by,
      );
      return reply.status(201).send(caseOut(view));
    },
  );

  app.get(
    '/api/v1/cases',
    {
      config: { access: PEOPLE },
      schema: {
        tags: ['cases'],
        summary: 'List cases, newest first; a customer gets only their own',
        querystring: z.object({
          status: z
            .string()
            .regex(/^[a-z_]+(,[a-z_]+)*$/)
            .transform((s) => s.split(','))
            .pipe(z.array(Status))
            .optional()
            .describe('one status or several, comma-separated'),
          category: Category.optional(),
          overdue: QueryBool.optional().describe('true: open and past the SLA due time'),
          assignee: z
            .union([z.literal('me'), z.literal('none'), z.uuid()])
            .optional()
            .describe('a user id, me, or none (unassigned)'),
          customerId: z.uuid().optional(),
          accountId: z.uuid().optional(),
          meterId: z.uuid().optional(),
          department: z
            .union([z.literal('mine'), z.uuid()])
            .optional()
            .describe("a department id, or mine (the signed-in person's department queue)"),
          channel: Channel.optional(),
          ...Paging,
        }),
        response: { 200: z.object({ cases: z.array(CaseOut) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const by = caseActor(p);
      const q = req.query;
      const customer = by.role === 'customer';
      if (customer && by.customerId === null) return { cases: [] };
      const assigneeId =
        q.assignee === undefined
          ? undefined
          : q.assignee === 'none'
            ? null
            : q.assignee === 'me'
              ? by.userId
              : (q.assignee as UserId);
      let departmentId: DepartmentId | undefined;
      if (q.department === 'mine' && !customer && by.userId !== null) {
        const mine = await cases.departmentOf(by.userId);
        if (!mine) return { cases: [] };
        departmentId = mine;
      } else if (q.department !== undefined && q.department !== 'mine') {
        departmentId = q.department as DepartmentId;
      }
      const list = await cases.list({
        utilityId: p.utilityId,
        status: q.status,
        category: q.category,
        overdue: q.overdue,
        assigneeId: customer ? undefined : assigneeId,
        customerId: customer ? (by.customerId ?? undefined) : (q.customerId as CustomerId | undefined),
        accountId: q.accountId as AccountId | undefined,
        meterId: q.meterId as MeterId | undefined,
        departmentId: customer ? undefined : departmentId,
        channel: q.channel,
        limit: q.limit,
        offset: q.offset,
      });
      return { cases: list.map(caseOut) };
    },
  );

  app.get(
    '/api/v1/cases/kpi',
    {
      config: { access: STAFF },
      schema: {
        tags: ['cases'],
        summary:
          'Cases opened and closed in [from, to), the share resolved within SLA, first-response mean and median',
        querystring: z.object({
          from: Instant,
          to: Instant.optional().describe('default now'),
        }),
        response: {
          200: Kpi.extend({
            from: z.string(),
            to: z.string(),
            overdueNow: z.number(),
            byCategory: z.array(Kpi.extend({ category: Category })),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const to = req.query.to ?? now();
      if (req.query.from >= to) throw new AppError('validation_failed', 'from: must be before to');
      const kpi = await cases.kpi(p.utilityId, req.query.from, to);
      return {
        ...kpi,
        byCategory: [...kpi.byCategory],
        from: kpi.from.toISOString(),
        to: kpi.to.toISOString(),
      };
    },
  );

  app.get(
    '/api/v1/case-categories',
    {
      config: { access: PEOPLE },
      schema: {
        tags: ['cases'],
        summary: 'The case categories and the SLA (hours to resolution) of each',
        response: { 200: Categories },
      },
    },
    async (req) => ({ categories: await cases.categories(principalOf(req).utilityId) }),
  );

  app.put(
    '/api/v1/case-categories/:category',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['cases'],
        summary: "Set a category's SLA in hours; open cases keep the due time they were given",
        params: z.object({ category: Category }),
        body: z.object({ slaHours: z.number().int().min(1).max(8760) }),
        response: { 200: Categories },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return {
        categories: await cases.setSla(p.utilityId, req.params.category, req.body.slaHours, caseActor(p)),
      };
    },
  );

  app.get(
    '/api/v1/cases/:caseId',
    {
      config: { access: PEOPLE },
      schema: {
        tags: ['cases'],
        summary: 'A case with its timeline (a customer: their own case, without internal notes)',
        params: CaseParams,
        response: { 200: CaseWithEvents },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const view = await cases.get(p.utilityId, req.params.caseId as CaseId, caseActor(p));
      return { ...caseOut(view), events: view.events.map(eventOut) };
    },
  );

  app.put(
    '/api/v1/cases/:caseId/assignee',
    {
      config: { access: STAFF },
      schema: {
        tags: ['cases'],
        summary: 'Assign the case to a staff member (or to yourself with "me"), or unassign it (null)',
        params: CaseParams,
        body: z.object({ assigneeId: z.union([z.uuid(), z.literal('me')]).nullable() }),
        response: { 200: CaseOut },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const by = caseActor(p);
      const target = req.body.assigneeId === 'me' ? by.userId : (req.body.assigneeId as UserId | null);
      return caseOut(await cases.assign(p.utilityId, req.params.caseId as CaseId, target, by));
    },
  );

  app.post(
    '/api/v1/cases/:caseId/status',
    {
      config: { access: STAFF },
      schema: {
        tags: ['cases'],
        summary:
          'Move the case to another status, with an optional note; the customer is notified in their language',
        params: CaseParams,
        body: z.object({
          status: Status,
          note: z.string().trim().min(1).max(4000).optional(),
          internal: z
            .boolean()
            .default(false)
            .describe('an internal note is not shown or sent to the customer'),
        }),
        response: { 200: CaseOut },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const b = req.body;
      const note = b.note === undefined ? null : { text: b.note, internal: b.internal };
      return caseOut(
        await cases.changeStatus(p.utilityId, req.params.caseId as CaseId, b.status, note, caseActor(p)),
      );
    },
  );

  app.post(
    '/api/v1/cases/:caseId/notes',
    {
      config: { access: PEOPLE },
      schema: {
        tags: ['cases'],
        summary:
          'Add a note. Staff: public (sent to the customer) or internal. Customer: a reply on their own case ' +
          '(a case waiting for them goes back to in_progress)',
        params: CaseParams,
        body: z.object({
          note: z.string().trim().min(1).max(4000),
          internal: z.boolean().default(false),
        }),
        response: { 201: CaseOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const view = await cases.addNote(
        p.utilityId,
        req.params.caseId as CaseId,
        req.body.note,
        req.body.internal,
        caseActor(p),
      );
      return reply.status(201).send(caseOut(view));
    },
  );
};
