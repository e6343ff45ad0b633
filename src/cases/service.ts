/**
 * Customer-service cases: a complaint, a request, a meter fault or a billing dispute, from any channel, with
 * an SLA due time from its category, an assignee, a status and an append-only timeline (`case_events`).
 *
 *   open ──> in_progress ──> waiting_customer ──> in_progress …
 *     └──────────┴──────────────┴──> resolved ──> closed
 *   resolved and closed can be reopened (back to in_progress).
 *
 * Every change is one transaction: the case row, its timeline event, the audit row and, when the customer
 * should hear of it, the outbox rows in the customer's language. The first public word from staff (a note
 * the customer sees, or a status change) is the case's first response, marked once in the timeline.
 */
import { type Kysely, sql } from 'kysely';
import { writeAudit } from '../accounts/audit.ts';
import { RasidError } from '../errors.ts';
import { notify } from '../notify/audience.ts';
import type { Queryable } from '../store/ledger.ts';
import type {
  AccountId,
  CaseCategory,
  CaseChannel,
  CaseEventKind,
  CaseId,
  CaseStatus,
  CustomerId,
  Database,
  DepartmentId,
  MeterId,
  Role,
  UserId,
  UtilityId,
} from '../store/schema.ts';
import { sendSurvey } from './centre.ts';

/** The categories every utility starts with (migration 0006); a utility adds its own (src/cases/centre.ts). */
export const CASE_CATEGORIES = ['complaint', 'request', 'meter_fault', 'billing_dispute'] as const;
/** A category code: lower-case letters, digits and underscores. */
export const CATEGORY_CODE = /^[a-z][a-z0-9_]{1,39}$/;
/** How the customer reached the utility; `national` is the national complaints system (with its reference). */
export const CASE_CHANNELS = [
  'web',
  'phone',
  'sms',
  'email',
  'chat',
  'whatsapp',
  'walk_in',
  'national',
] as const;
export const CASE_STATUSES = ['open', 'in_progress', 'waiting_customer', 'resolved', 'closed'] as const;

/** The statuses a case may move to from each status. */
export const CASE_TRANSITIONS: Readonly<Record<CaseStatus, readonly CaseStatus[]>> = Object.freeze({
  open: ['in_progress', 'waiting_customer', 'resolved', 'closed'],
  in_progress: ['waiting_customer', 'resolved', 'closed'],
  waiting_customer: ['in_progress', 'resolved', 'closed'],
  resolved: ['in_progress', 'closed'],
  closed: ['in_progress'],
});

/** Statuses in which the SLA clock still runs. */
export const OPEN_STATUSES: readonly CaseStatus[] = ['open', 'in_progress', 'waiting_customer'];

/** Who acts on a case. */
export interface CaseActor {
  /** Audit actor, `user:<id>`. */
  readonly actor: string;
  readonly userId: UserId | null;
  readonly role: Role;
  /** Set for the customer role: the customer the person is. */
  readonly customerId: CustomerId | null;
}

export function isStaff(by: CaseActor): boolean {
  return by.role !== 'customer';
}

export interface OpenCaseRequest {
  readonly utilityId: UtilityId;
  readonly channel: CaseChannel;
  readonly category: CaseCategory;
  readonly subject: string;
  readonly description: string;
  readonly customerId?: CustomerId | undefined;
  readonly accountId?: AccountId | undefined;
  readonly meterId?: MeterId | undefined;
  readonly assigneeId?: UserId | undefined;
  /** The national complaints system's (or another system's) reference; required for `national`. */
  readonly externalRef?: string | undefined;
  /** The number the customer called or wrote from (screen pop). */
  readonly callerNumber?: string | undefined;
}

export interface CaseFilter {
  readonly utilityId: UtilityId;
  readonly status?: readonly CaseStatus[] | undefined;
  readonly category?: CaseCategory | undefined;
  /** Open cases past their SLA due time (true), or not (false). */
  readonly overdue?: boolean | undefined;
  /** A user id, or null for unassigned cases. */
  readonly assigneeId?: UserId | null | undefined;
  readonly customerId?: CustomerId | undefined;
  readonly accountId?: AccountId | undefined;
  readonly meterId?: MeterId | undefined;
  readonly departmentId?: DepartmentId | undefined;
  readonly channel?: CaseChannel | undefined;
  readonly limit: number;
  readonly offset: number;
}

export interface CaseView {
  readonly id: CaseId;
  /** "C-<number>". */
  readonly number: string;
  readonly customer: { readonly id: CustomerId; readonly name: string } | null;
  readonly account: { readonly id: AccountId; readonly number: string } | null;
  readonly meter: { readonly id: MeterId; readonly serial: string } | null;
  readonly channel: CaseChannel;
  readonly category: CaseCategory;
  readonly subject: string;
  readonly description: string;
  readonly status: CaseStatus;
  readonly assignee: { readonly id: UserId; readonly name: string } | null;
  readonly slaHours: number;
  readonly slaDueAt: Date;
  readonly overdue: boolean;
  readonly firstResponseAt: Date | null;
  readonly resolvedAt: Date | null;
  readonly closedAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly externalRef: string | null;
  readonly callerNumber: string | null;
  readonly department: { readonly id: DepartmentId; readonly code: string; readonly name: string } | null;
  /** Times reopened after resolution or closure. */
  readonly reopened: number;
}

export interface CaseEventView {
  readonly id: string;
  readonly kind: CaseEventKind;
  readonly at: Date;
  readonly actor: string;
  readonly fromStatus: CaseStatus | null;
  readonly toStatus: CaseStatus | null;
  readonly assigneeId: UserId | null;
  readonly note: string | null;
  readonly internal: boolean;
  readonly departmentId: DepartmentId | null;
}

export interface CaseKpi {
  readonly opened: number;
  readonly closed: number;
  /** Cases resolved (or closed without a resolution) in the period. */
  readonly resolved: number;
  readonly resolvedWithinSla: number;
  /** resolvedWithinSla / resolved; null when nothing was resolved. */
  readonly withinSlaShare: number | null;
  /** Over cases opened in the period that have had a first response. */
  readonly firstResponse: {
    readonly count: number;
    readonly meanSeconds: number | null;
    readonly medianSeconds: number | null;
  };
}

export interface CaseKpiReport extends CaseKpi {
  readonly from: Date;
  readonly to: Date;
  /** Cases open now and past their due time. */
  readonly overdueNow: number;
  readonly byCategory: readonly (CaseKpi & { readonly category: CaseCategory })[];
}

export interface CategoryView {
  readonly category: CaseCategory;
  readonly slaHours: number;
  /** The utility's names; null for a default category it never renamed (the app shows Rasid's). */
  readonly nameEn: string | null;
  readonly nameAr: string | null;
  /** A case of this category needs a site visit: a work order. */
  readonly needsVisit: boolean;
  /** New cases may use it; a retired category keeps its cases. */
  readonly active: boolean;
}

export interface CaseServiceOptions {
  readonly db: Kysely<Database>;
  readonly now?: () => Date;
  /** The link a closed case's survey is answered at, from its token (src/cases/centre.ts). */
  readonly surveyLink?: (token: string) => string;
}

export function caseNumber(n: bigint | number | string): string {
  return `C-${String(n)}`;
}

const HOUR_MS = 3_600_000;

export class CaseService {
  readonly #db: Kysely<Database>;
  readonly #now: () => Date;
  readonly #surveyLink: ((token: string) => string) | undefined;

  constructor(options: CaseServiceOptions) {
    this.#db = options.db;
    this.#now = options.now ?? (() => new Date());
    this.#surveyLink = options.surveyLink;
  }

  /** SLA hours per category for a utility. */
  async categories(utilityId: UtilityId): Promise<CategoryView[]> {
    const rows = await this.#db
      .selectFrom('case_categories')
      .select(['category', 'sla_hours', 'name_en', 'name_ar', 'needs_visit', 'active'])
      .where('utility_id', '=', utilityId)
      .orderBy('category')
      .execute();
    return rows.map((r) => ({
      category: r.category,
      slaHours: r.sla_hours,
      nameEn: r.name_en,
      nameAr: r.name_ar,
      needsVisit: r.needs_visit,
      active: r.active,
    }));
  }

  /** Changes a category's SLA (cases already open keep the due time they were given). */
  async setSla(utilityId: UtilityId, category: CaseCategory, slaHours: number, by: CaseActor) {
    await this.#db.transaction().execute(async (trx) => {
      const before = await trx
        .selectFrom('case_categories')
        .select('sla_hours')
        .where('utility_id', '=', utilityId)
        .where('category', '=', category)
        .forUpdate()
        .executeTakeFirst();
      if (before) {
        await trx
          .updateTable('case_categories')
          .set({ sla_hours: slaHours, updated_at: this.#now() })
          .where('utility_id', '=', utilityId)
          .where('category', '=', category)
          .execute();
      } else {
        await trx
          .insertInto('case_categories')
          .values({ utility_id: utilityId, category, sla_hours: slaHours })
          .execute();
      }
      await writeAudit(trx, {
        utilityId,
        actor: by.actor,
        action: 'case_category.sla',
        subject: `case_category:${category}`,
        details: { from: before?.sla_hours ?? null, to: slaHours },
      });
    });
    return this.categories(utilityId);
  }

  /**
   * Opens a case. A customer opens one for themselves (an account or meter, if named, must be theirs);
   * staff for anyone. The account follows from the meter and the customer from the account when not given.
   */
  async open(request: OpenCaseRequest, by: CaseActor): Promise<CaseView> {
    const now = this.#now();
    const id = await this.#db.transaction().execute(async (trx) => {
      const refs = await this.#refs(trx, request, by);
      if (request.assigneeId !== undefined)
        await this.#assignable(trx, request.utilityId, request.assigneeId);
      const sla = await trx
        .selectFrom('case_categories')
        .select(['sla_hours', 'active', 'name_en', 'name_ar'])
        .where('utility_id', '=', request.utilityId)
        .where('category', '=', request.category)
        .executeTakeFirst();
      if (!sla) throw new RasidError('not_found', `category: no SLA for ${request.category} in this utility`);
      if (!sla.active) throw new RasidError('validation_failed', `category: ${request.category} is retired`);
      if (request.channel === 'national' && request.externalRef === undefined) {
        throw new RasidError('validation_failed', 'externalRef: a national-system case needs its reference');
      }
      const departmentId = await routeCase(trx, request.utilityId, request.category, refs);
      const row = await trx
        .insertInto('cases')
        .values({
          utility_id: request.utilityId,
          customer_id: refs.customerId,
          account_id: refs.accountId,
          meter_id: refs.meterId,
          channel: request.channel,
          category: request.category,
          subject: request.subject,
          description: request.description,
          assignee_id: request.assigneeId ?? null,
          external_ref: request.externalRef ?? null,
          caller_number: request.callerNumber ?? null,
          department_id: departmentId,
          opened_by: by.actor,
          sla_hours: sla.sla_hours,
          sla_due_at: new Date(now.getTime() + sla.sla_hours * HOUR_MS),
          created_at: now,
          updated_at: now,
        })
        .returning(['id', 'number', 'sla_due_at'])
        .executeTakeFirstOrThrow();
      await this.#event(trx, request.utilityId, row.id, by, now, { kind: 'opened', to_status: 'open' });
      if (departmentId !== null) {
        await this.#event(trx, request.utilityId, row.id, by, now, {
          kind: 'routed',
          department_id: departmentId,
        });
      }
      if (request.assigneeId !== undefined) {
        await this.#event(trx, request.utilityId, row.id, by, now, {
          kind: 'assignment',
          assignee_id: request.assigneeId,
        });
      }
      await writeAudit(trx, {
        utilityId: request.utilityId,
        actor: by.actor,
        action: 'case.open',
        subject: `case:${row.id}`,
        details: {
          number: caseNumber(row.number),
          channel: request.channel,
          category: request.category,
          customerId: refs.customerId,
          accountId: refs.accountId,
          meterId: refs.meterId,
          assigneeId: request.assigneeId ?? null,
          departmentId,
          externalRef: request.externalRef ?? null,
          slaDueAt: row.sla_due_at.toISOString(),
        },
      });
      if (refs.customerId !== null) {
        await this.#notify(trx, request.utilityId, refs.customerId, `case:${row.id}:opened`, 'case_opened', {
          caseNumber: caseNumber(row.number),
          category: request.category,
          // The utility's own names of the category, when it gave them.
          ...(sla.name_en && sla.name_ar ? { categoryName: { en: sla.name_en, ar: sla.name_ar } } : {}),
          dueAt: row.sla_due_at.toISOString(),
        });
      }
      return row.id;
    });
    return this.#view(this.#db, request.utilityId, id);
  }

  /** A case as its reader may see it: a customer only their own. */
  async get(
    utilityId: UtilityId,
    id: CaseId,
    reader: CaseActor,
  ): Promise<CaseView & { events: CaseEventView[] }> {
    const view = await this.#view(this.#db, utilityId, id);
    this.#assertReadable(view, reader);
    let q = this.#db
      .selectFrom('case_events')
      .select([
        'id',
        'kind',
        'created_at',
        'actor',
        'from_status',
        'to_status',
        'assignee_id',
        'note',
        'internal',
        'department_id',
      ])
      .where('case_id', '=', id)
      .orderBy('id');
    if (!isStaff(reader)) q = q.where('internal', '=', false).where('kind', '<>', 'assignment');
    const events = await q.execute();
    return {
      ...view,
      events: events.map((e) => ({
        id: String(e.id),
        kind: e.kind,
        at: e.created_at,
        actor: e.actor,
        fromStatus: e.from_status,
        toStatus: e.to_status,
        assigneeId: e.assignee_id,
        note: e.note,
        internal: e.internal,
        departmentId: e.department_id,
      })),
    };
  }

  /** The department whose queue is the staff member's ("my department's cases"); null when none. */
  async departmentOf(userId: UserId): Promise<DepartmentId | null> {
    const me = await this.#db
      .selectFrom('users')
      .select('department_id')
      .where('id', '=', userId)
      .executeTakeFirst();
    return me?.department_id ?? null;
  }

  async list(filter: CaseFilter): Promise<CaseView[]> {
    const now = this.#now();
    let q = this.#select(this.#db, now).where('c.utility_id', '=', filter.utilityId);
    if (filter.status && filter.status.length > 0) q = q.where('c.status', 'in', filter.status);
    if (filter.category) q = q.where('c.category', '=', filter.category);
    if (filter.overdue === true) {
      q = q.where('c.status', 'in', OPEN_STATUSES).where('c.sla_due_at', '<', now);
    } else if (filter.overdue === false) {
      q = q.where((eb) => eb.or([eb('c.status', 'not in', OPEN_STATUSES), eb('c.sla_due_at', '>=', now)]));
    }
    if (filter.assigneeId === null) q = q.where('c.assignee_id', 'is', null);
    else if (filter.assigneeId !== undefined) q = q.where('c.assignee_id', '=', filter.assigneeId);
    if (filter.customerId) q = q.where('c.customer_id', '=', filter.customerId);
    if (filter.accountId) q = q.where('c.account_id', '=', filter.accountId);
    if (filter.meterId) q = q.where('c.meter_id', '=', filter.meterId);
    if (filter.departmentId) q = q.where('c.department_id', '=', filter.departmentId);
    if (filter.channel) q = q.where('c.channel', '=', filter.channel);
    const rows = await q
      .orderBy('c.created_at', 'desc')
      .orderBy('c.number', 'desc')
      .limit(filter.limit)
      .offset(filter.offset)
      .execute();
    return rows.map((r) => toView(r, now));
  }

  /** Assigns the case to a staff member of the utility, or unassigns it (null). */
  async assign(
    utilityId: UtilityId,
    id: CaseId,
    assigneeId: UserId | null,
    by: CaseActor,
  ): Promise<CaseView> {
    const now = this.#now();
    await this.#db.transaction().execute(async (trx) => {
      const before = await this.#lock(trx, utilityId, id);
      if (assigneeId !== null) await this.#assignable(trx, utilityId, assigneeId);
      if (before.assignee_id === assigneeId) return;
      await trx
        .updateTable('cases')
        .set({ assignee_id: assigneeId, updated_at: now })
        .where('id', '=', id)
        .execute();
      await this.#event(trx, utilityId, id, by, now, { kind: 'assignment', assignee_id: assigneeId });
      await writeAudit(trx, {
        utilityId,
        actor: by.actor,
        action: 'case.assign',
        subject: `case:${id}`,
        details: { from: before.assignee_id, to: assigneeId },
      });
    });
    return this.#view(this.#db, utilityId, id);
  }

  /**
   * Moves a case to another status, with an optional note (shown to the customer unless internal). The
   * customer hears of every status change.
   */
  async changeStatus(
    utilityId: UtilityId,
    id: CaseId,
    to: CaseStatus,
    note: { text: string; internal: boolean } | null,
    by: CaseActor,
  ): Promise<CaseView> {
    const now = this.#now();
    await this.#db.transaction().execute(async (trx) => {
      const before = await this.#lock(trx, utilityId, id);
      if (!CASE_TRANSITIONS[before.status].includes(to)) {
        throw new RasidError('conflict', `status: a case that is ${before.status} cannot become ${to}`);
      }
      const reopened = to === 'in_progress' && (before.status === 'resolved' || before.status === 'closed');
      await trx
        .updateTable('cases')
        .set({
          status: to,
          updated_at: now,
          ...(to === 'resolved' ? { resolved_at: now } : {}),
          ...(to === 'closed' ? { closed_at: now } : {}),
          ...(reopened ? { resolved_at: null, closed_at: null, reopened: before.reopened + 1 } : {}),
        })
        .where('id', '=', id)
        .execute();
      await this.#event(trx, utilityId, id, by, now, {
        kind: 'status',
        from_status: before.status,
        to_status: to,
        ...(note ? { note: note.text, internal: note.internal } : {}),
      });
      await this.#firstResponse(trx, utilityId, before, by, now);
      await writeAudit(trx, {
        utilityId,
        actor: by.actor,
        action: 'case.status',
        subject: `case:${id}`,
        details: { from: before.status, to, note: note !== null, internal: note?.internal ?? false },
      });
      if (before.customer_id !== null) {
        await this.#notifyUpdated(trx, utilityId, id, before.customer_id, before.number, {
          status: to,
          note: note && !note.internal ? clip(note.text) : null,
        });
        if (to === 'closed' && this.#surveyLink !== undefined) {
          await sendSurvey(trx, {
            utilityId,
            caseId: id,
            number: before.number,
            customerId: before.customer_id,
            now,
            link: this.#surveyLink,
          });
        }
      }
    });
    return this.#view(this.#db, utilityId, id);
  }

  /**
   * Adds a note. Staff notes may be internal (never shown or sent to the customer); a public staff note is
   * sent to the customer. A customer's note on a case waiting for them moves it back to in_progress.
   */
  async addNote(
    utilityId: UtilityId,
    id: CaseId,
    text: string,
    internal: boolean,
    by: CaseActor,
  ): Promise<CaseView> {
    const now = this.#now();
    await this.#db.transaction().execute(async (trx) => {
      const before = await this.#lock(trx, utilityId, id);
      if (!isStaff(by)) {
        if (before.customer_id === null || before.customer_id !== by.customerId) {
          throw new RasidError('not_found', `case ${id} is unknown`);
        }
        if (internal) throw new RasidError('forbidden', 'internal: only staff write internal notes');
        if (before.status === 'closed') throw new RasidError('conflict', 'the case is closed');
      }
      await this.#event(trx, utilityId, id, by, now, { kind: 'note', note: text, internal });
      let status = before.status;
      if (!isStaff(by) && before.status === 'waiting_customer') {
        status = 'in_progress';
        await this.#event(trx, utilityId, id, by, now, {
          kind: 'status',
          from_status: before.status,
          to_status: status,
        });
      }
      await trx.updateTable('cases').set({ status, updated_at: now }).where('id', '=', id).execute();
      if (!internal) await this.#firstResponse(trx, utilityId, before, by, now);
      await writeAudit(trx, {
        utilityId,
        actor: by.actor,
        action: 'case.note',
        subject: `case:${id}`,
        details: {
          internal,
          ...(status !== before.status ? { status: { from: before.status, to: status } } : {}),
        },
      });
      if (isStaff(by) && !internal && before.customer_id !== null) {
        await this.#notifyUpdated(trx, utilityId, id, before.customer_id, before.number, {
          status,
          note: clip(text),
        });
      }
    });
    return this.#view(this.#db, utilityId, id);
  }

  /** Cases opened and closed in [from, to), the share resolved within SLA, and first-response times. */
  async kpi(utilityId: UtilityId, from: Date, to: Date): Promise<CaseKpiReport> {
    const now = this.#now();
    const per = await this.#kpiRows(utilityId, from, to, true);
    const all = await this.#kpiRows(utilityId, from, to, false);
    const overdue = await this.#db
      .selectFrom('cases')
      .select(sql<string>`count(*)::text`.as('n'))
      .where('utility_id', '=', utilityId)
      .where('status', 'in', OPEN_STATUSES)
      .where('sla_due_at', '<', now)
      .executeTakeFirstOrThrow();
    const total = all[0] ?? EMPTY_KPI;
    return {
      from,
      to,
      ...total,
      overdueNow: Number(overdue.n),
      byCategory: (await this.categories(utilityId)).map(({ category }) => ({
        category,
        ...(per.find((r) => r.category === category) ?? EMPTY_KPI),
      })),
    };
  }

  async #kpiRows(utilityId: UtilityId, from: Date, to: Date, byCategory: boolean) {
    const done = sql`coalesce(resolved_at, closed_at)`;
    const opened = sql<boolean>`created_at >= ${from} and created_at < ${to}`;
    const responseSeconds = sql`extract(epoch from (first_response_at - created_at))::double precision`;
    let q = this.#db
      .selectFrom('cases')
      .select([
        sql<string>`count(*) filter (where ${opened})::text`.as('opened'),
        sql<string>`count(*) filter (where closed_at >= ${from} and closed_at < ${to})::text`.as('closed'),
        sql<string>`count(*) filter (where ${done} >= ${from} and ${done} < ${to})::text`.as('resolved'),
        sql<string>`count(*) filter (where ${done} >= ${from} and ${done} < ${to} and ${done} <= sla_due_at)::text`.as(
          'within',
        ),
        sql<string>`count(*) filter (where ${opened} and first_response_at is not null)::text`.as(
          'responded',
        ),
        sql<number | null>`avg(${responseSeconds}) filter (where ${opened})`.as('mean'),
        sql<
          number | null
        >`percentile_cont(0.5) within group (order by ${responseSeconds}) filter (where ${opened})`.as(
          'median',
        ),
      ])
      .where('utility_id', '=', utilityId)
      // Only cases that touch the period: opened in it, or resolved or closed in it.
      .where((eb) =>
        eb.or([
          eb.and([eb('created_at', '>=', from), eb('created_at', '<', to)]),
          eb.and([eb('closed_at', '>=', from), eb('closed_at', '<', to)]),
          eb.and([eb('resolved_at', '>=', from), eb('resolved_at', '<', to)]),
        ]),
      );
    if (byCategory) q = q.select('category').groupBy('category');
    const rows = await q.execute();
    return rows.map((r) => {
      const resolved = Number(r.resolved);
      const within = Number(r.within);
      return {
        category: (r as { category?: CaseCategory }).category,
        opened: Number(r.opened),
        closed: Number(r.closed),
        resolved,
        resolvedWithinSla: within,
        withinSlaShare: resolved === 0 ? null : within / resolved,
        firstResponse: {
          count: Number(r.responded),
          meanSeconds: r.mean === null ? null : Math.round(Number(r.mean)),
          medianSeconds: r.median === null ? null : Math.round(Number(r.median)),
        },
      };
    });
  }

  #assertReadable(view: CaseView, reader: CaseActor): void {
    if (isStaff(reader)) return;
    if (view.customer === null || view.customer.id !== reader.customerId) {
      throw new RasidError('not_found', `case ${view.id} is unknown`);
    }
  }

  async #refs(trx: Queryable, request: OpenCaseRequest, by: CaseActor) {
    const u = request.utilityId;
    let meterAccount: AccountId | null = null;
    if (request.meterId) {
      const meter = await trx
        .selectFrom('meters')
        .select(['id', 'account_id'])
        .where('id', '=', request.meterId)
        .where('utility_id', '=', u)
        .executeTakeFirst();
      if (!meter) throw new RasidError('not_found', `meterId: meter ${request.meterId} is unknown`);
      meterAccount = meter.account_id;
      if (request.accountId && meter.account_id !== request.accountId) {
        throw new RasidError('validation_failed', 'meterId: the meter is not on this account');
      }
    }
    const accountId = request.accountId ?? meterAccount;
    let customerId: CustomerId | null = request.customerId ?? null;
    if (accountId) {
      const account = await trx
        .selectFrom('accounts')
        .select(['id', 'customer_id'])
        .where('id', '=', accountId)
        .where('utility_id', '=', u)
        .executeTakeFirst();
      if (!account) throw new RasidError('not_found', `accountId: account ${accountId} is unknown`);
      if (customerId !== null && customerId !== account.customer_id) {
        throw new RasidError('validation_failed', 'customerId: the account is held by another customer');
      }
      customerId = account.customer_id;
    }
    if (!isStaff(by)) {
      if (by.customerId === null)
        throw new RasidError('forbidden', 'this sign-in is not linked to a customer');
      // A customer's own case: another customer's account or meter is answered as unknown.
      if (customerId !== null && customerId !== by.customerId) {
        throw new RasidError(
          'not_found',
          request.meterId ? 'meterId: unknown meter' : 'accountId: unknown account',
        );
      }
      customerId = by.customerId;
    } else if (customerId !== null) {
      const customer = await trx
        .selectFrom('customers')
        .select('id')
        .where('id', '=', customerId)
        .where('utility_id', '=', u)
        .executeTakeFirst();
      if (!customer) throw new RasidError('not_found', `customerId: customer ${customerId} is unknown`);
    }
    return { customerId, accountId, meterId: request.meterId ?? null };
  }

  async #assignable(trx: Queryable, utilityId: UtilityId, userId: UserId): Promise<void> {
    const user = await trx
      .selectFrom('users')
      .select(['role', 'disabled_at'])
      .where('id', '=', userId)
      .where('utility_id', '=', utilityId)
      .executeTakeFirst();
    if (!user || user.disabled_at) throw new RasidError('not_found', `assigneeId: user ${userId} is unknown`);
    if (user.role === 'customer' || user.role === 'vendor') {
      throw new RasidError('validation_failed', `assigneeId: a ${user.role} cannot be assigned cases`);
    }
  }

  async #lock(trx: Queryable, utilityId: UtilityId, id: CaseId) {
    const row = await trx
      .selectFrom('cases')
      .select(['id', 'number', 'status', 'assignee_id', 'customer_id', 'first_response_at', 'reopened'])
      .where('id', '=', id)
      .where('utility_id', '=', utilityId)
      .forUpdate()
      .executeTakeFirst();
    if (!row) throw new RasidError('not_found', `case ${id} is unknown`);
    return row;
  }

  async #firstResponse(
    trx: Queryable,
    utilityId: UtilityId,
    before: { id: CaseId; first_response_at: Date | null },
    by: CaseActor,
    now: Date,
  ): Promise<void> {
    if (!isStaff(by) || before.first_response_at !== null) return;
    await trx.updateTable('cases').set({ first_response_at: now }).where('id', '=', before.id).execute();
    await this.#event(trx, utilityId, before.id, by, now, { kind: 'first_response' });
  }

  async #event(
    trx: Queryable,
    utilityId: UtilityId,
    caseId: CaseId,
    by: CaseActor,
    at: Date,
    e: {
      kind: CaseEventKind;
      from_status?: CaseStatus;
      to_status?: CaseStatus;
      assignee_id?: UserId | null;
      note?: string;
      internal?: boolean;
      department_id?: DepartmentId;
    },
  ): Promise<void> {
    await trx
      .insertInto('case_events')
      .values({ utility_id: utilityId, case_id: caseId, actor: by.actor, created_at: at, ...e })
      .execute();
  }

  /** Tells the customer of a change to their case, once per timeline event: the latest event names it. */
  async #notifyUpdated(
    trx: Queryable,
    utilityId: UtilityId,
    caseId: CaseId,
    customerId: CustomerId,
    number: bigint | number | string,
    change: { status: CaseStatus; note: string | null },
  ): Promise<void> {
    const last = await trx
      .selectFrom('case_events')
      .select(sql<string>`max(id)::text`.as('id'))
      .where('case_id', '=', caseId)
      .executeTakeFirstOrThrow();
    await this.#notify(trx, utilityId, customerId, `case:${caseId}:event:${last.id}`, 'case_updated', {
      caseNumber: caseNumber(number),
      ...change,
    });
  }

  async #notify<T extends 'case_opened' | 'case_updated'>(
    trx: Queryable,
    utilityId: UtilityId,
    customerId: CustomerId,
    dedup: string,
    template: T,
    payload: T extends 'case_opened'
      ? {
          caseNumber: string;
          category: CaseCategory;
          categoryName?: { en: string; ar: string };
          dueAt: string;
        }
      : { caseNumber: string; status: CaseStatus; note: string | null },
  ): Promise<void> {
    const customer = await trx
      .selectFrom('customers')
      .select(['name'])
      .where('id', '=', customerId)
      .executeTakeFirstOrThrow();
    // Which channel and language: notify/audience.ts decides, from the customer's choices.
    await notify(trx, {
      utilityId,
      template,
      payload: { customerName: customer.name, ...payload } as never,
      dedupKey: dedup,
      customerId,
    });
  }

  #select(db: Queryable, _now: Date) {
    return db
      .selectFrom('cases as c')
      .leftJoin('customers as cu', 'cu.id', 'c.customer_id')
      .leftJoin('accounts as a', 'a.id', 'c.account_id')
      .leftJoin('meters as m', 'm.id', 'c.meter_id')
      .leftJoin('users as us', 'us.id', 'c.assignee_id')
      .leftJoin('departments as d', 'd.id', 'c.department_id')
      .select([
        'c.id',
        'c.number',
        'c.customer_id',
        'cu.name as customer_name',
        'c.account_id',
        'a.number as account_number',
        'c.meter_id',
        'm.serial as meter_serial',
        'c.channel',
        'c.category',
        'c.subject',
        'c.description',
        'c.status',
        'c.assignee_id',
        sql<string | null>`coalesce(us.display_name, us.username)`.as('assignee_name'),
        'c.sla_hours',
        'c.sla_due_at',
        'c.first_response_at',
        'c.resolved_at',
        'c.closed_at',
        'c.created_at',
        'c.updated_at',
        'c.external_ref',
        'c.caller_number',
        'c.department_id',
        'd.code as department_code',
        'd.name_en as department_name',
        'c.reopened',
      ]);
  }

  async #view(db: Queryable, utilityId: UtilityId, id: CaseId): Promise<CaseView> {
    const now = this.#now();
    const row = await this.#select(db, now)
      .where('c.id', '=', id)
      .where('c.utility_id', '=', utilityId)
      .executeTakeFirst();
    if (!row) throw new RasidError('not_found', `case ${id} is unknown`);
    return toView(row, now);
  }
}

const EMPTY_KPI: CaseKpi = Object.freeze({
  opened: 0,
  closed: 0,
  resolved: 0,
  resolvedWithinSla: 0,
  withinSlaShare: null,
  firstResponse: Object.freeze({ count: 0, meanSeconds: null, medianSeconds: null }),
});

/** A note as the customer receives it: at most 500 characters. */
function clip(text: string): string {
  return text.length <= 500 ? text : `${text.slice(0, 499)}…`;
}

interface CaseRow {
  id: CaseId;
  number: bigint;
  customer_id: CustomerId | null;
  customer_name: string | null;
  account_id: AccountId | null;
  account_number: string | null;
  meter_id: MeterId | null;
  meter_serial: string | null;
  channel: CaseChannel;
  category: CaseCategory;
  subject: string;
  description: string;
  status: CaseStatus;
  assignee_id: UserId | null;
  assignee_name: string | null;
  sla_hours: number;
  sla_due_at: Date;
  first_response_at: Date | null;
  resolved_at: Date | null;
  closed_at: Date | null;
  created_at: Date;
  updated_at: Date;
  external_ref: string | null;
  caller_number: string | null;
  department_id: DepartmentId | null;
  department_code: string | null;
  department_name: string | null;
  reopened: number;
}

function toView(r: CaseRow, now: Date): CaseView {
  return {
    id: r.id,
    number: caseNumber(r.number),
    customer: r.customer_id ? { id: r.customer_id, name: r.customer_name ?? '' } : null,
    account: r.account_id ? { id: r.account_id, number: r.account_number ?? '' } : null,
    meter: r.meter_id ? { id: r.meter_id, serial: r.meter_serial ?? '' } : null,
    channel: r.channel,
    category: r.category,
    subject: r.subject,
    description: r.description,
    status: r.status,
    assignee: r.assignee_id ? { id: r.assignee_id, name: r.assignee_name ?? '' } : null,
    slaHours: r.sla_hours,
    slaDueAt: r.sla_due_at,
    overdue: OPEN_STATUSES.includes(r.status) && r.sla_due_at.getTime() < now.getTime(),
    firstResponseAt: r.first_response_at,
    resolvedAt: r.resolved_at,
    closedAt: r.closed_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    externalRef: r.external_ref,
    callerNumber: r.caller_number,
    department: r.department_id
      ? { id: r.department_id, code: r.department_code ?? '', name: r.department_name ?? '' }
      : null,
    reopened: r.reopened,
  };
}

/**
 * The department a new case goes to: the utility's rule for its category in the area of its premises, else
 * the rule for its category anywhere (area null); null when no rule matches (the general queue).
 */
export async function routeCase(
  trx: Queryable,
  utilityId: UtilityId,
  category: CaseCategory,
  refs: { accountId: AccountId | null; meterId: MeterId | null },
): Promise<DepartmentId | null> {
  let area: string | null = null;
  let accountId = refs.accountId;
  if (accountId === null && refs.meterId !== null) {
    const m = await trx
      .selectFrom('meters')
      .select('account_id')
      .where('id', '=', refs.meterId)
      .executeTakeFirst();
    accountId = m?.account_id ?? null;
  }
  if (accountId !== null) {
    const p = await trx
      .selectFrom('accounts as a')
      .innerJoin('premises as p', 'p.id', 'a.premise_id')
      .select('p.area')
      .where('a.id', '=', accountId)
      .executeTakeFirst();
    area = p?.area ?? null;
  }
  const rules = await trx
    .selectFrom('routing_rules')
    .select(['area', 'department_id'])
    .where('utility_id', '=', utilityId)
    .where('category', '=', category)
    .execute();
  const exact =
    area === null
      ? undefined
      : rules.find((r) => r.area !== null && r.area.toLowerCase() === area.toLowerCase());
  const anywhere = rules.find((r) => r.area === null);
  return (exact ?? anywhere)?.department_id ?? null;
}
