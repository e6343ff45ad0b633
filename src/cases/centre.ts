/**
 * The contact centre around cases (docs/customer-service.md, "Contact centre"):
 * - the utility's own case categories (with SLA, names, whether a site visit is needed), departments, and
 *   routing rules (category, optional area → department; src/cases/service.ts routes each new case);
 * - work orders: a case that needs a visit becomes a technician's work order, whose result comes back into
 *   the case (a fixed fault resolves it);
 * - calls and chats from the telephony system, imported from a file or pushed by webhook with the
 *   utility's contact-centre secret (kept hashed), so the answer rate is measured;
 * - the one satisfaction survey after a case is closed (by SMS or WhatsApp) and its answer, by link or reply;
 * - the screen pop: a caller's number → the customer, accounts, meters, credit, payments, tokens and cases.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { writeAudit } from '../accounts/audit.ts';
import { RasidError } from '../errors.ts';
import { notify } from '../notify/audience.ts';
import { accountBalance, type Queryable } from '../store/ledger.ts';
import type {
  AccountId,
  CaseCategory,
  CaseId,
  CustomerId,
  Database,
  DepartmentId,
  MeterId,
  UserId,
  UtilityId,
  WorkOrderId,
  WorkOrderOutcome,
  WorkOrderStatus,
} from '../store/schema.ts';
import { type CaseActor, type CaseService, caseNumber } from './service.ts';

export interface DepartmentView {
  readonly id: DepartmentId;
  readonly code: string;
  readonly nameEn: string;
  readonly nameAr: string;
}

export interface RuleView {
  readonly id: string;
  readonly category: CaseCategory;
  readonly area: string | null;
  readonly department: DepartmentView;
}

export interface WorkOrderView {
  readonly id: WorkOrderId;
  /** "W-<number>". */
  readonly number: string;
  readonly caseId: CaseId;
  readonly caseNumber: string;
  readonly subject: string;
  readonly customerName: string | null;
  readonly address: string | null;
  readonly meter: { readonly id: MeterId; readonly serial: string } | null;
  readonly technician: { readonly id: UserId; readonly name: string } | null;
  readonly instructions: string;
  readonly status: WorkOrderStatus;
  readonly outcome: WorkOrderOutcome | null;
  readonly result: string | null;
  readonly createdAt: Date;
  readonly completedAt: Date | null;
}

/** One call or chat as the telephony system reports it. */
export interface CallRecordInput {
  readonly externalId: string;
  readonly kind: 'call' | 'chat';
  readonly queue: string | null;
  readonly agent: string | null;
  readonly caller: string | null;
  readonly receivedAt: Date;
  readonly outcome: 'answered' | 'abandoned';
  readonly waitSeconds: number;
  readonly talkSeconds: number;
}

export interface CallRecordResult {
  readonly added: number;
  readonly duplicates: number;
}

export function workOrderNumber(n: bigint | number | string): string {
  return `W-${String(n)}`;
}

/** The SHA-256 of a secret or token, as Rasid keeps random 256-bit secrets (`sha256$<hex>`). */
export function sha256Of(secret: string): string {
  return `sha256$${createHash('sha256').update(secret).digest('hex')}`;
}

/** The last eight digits of a phone number: the part every way of writing a Gulf number shares. */
export function phoneTail(phone: string): string {
  return phone.replace(/\D/g, '').slice(-8);
}

export interface ContactCentreOptions {
  readonly db: Kysely<Database>;
  readonly cases: CaseService;
  readonly now?: () => Date;
}

export class ContactCentre {
  readonly #db: Kysely<Database>;
  readonly #cases: CaseService;
  readonly #now: () => Date;

  constructor(options: ContactCentreOptions) {
    this.#db = options.db;
    this.#cases = options.cases;
    this.#now = options.now ?? (() => new Date());
  }

  // ---- departments, categories, routing ----

  async departments(utilityId: UtilityId): Promise<DepartmentView[]> {
    const rows = await this.#db
      .selectFrom('departments')
      .select(['id', 'code', 'name_en', 'name_ar'])
      .where('utility_id', '=', utilityId)
      .orderBy('code')
      .execute();
    return rows.map(departmentOut);
  }

  async createDepartment(
    utilityId: UtilityId,
    d: { code: string; nameEn: string; nameAr: string },
    by: CaseActor,
  ): Promise<DepartmentView> {
    return this.#db.transaction().execute(async (trx) => {
      const taken = await trx
        .selectFrom('departments')
        .select('id')
        .where('utility_id', '=', utilityId)
        .where('code', '=', d.code)
        .executeTakeFirst();
      if (taken) throw new RasidError('conflict', `code: department ${d.code} exists already`);
      const row = await trx
        .insertInto('departments')
        .values({ utility_id: utilityId, code: d.code, name_en: d.nameEn, name_ar: d.nameAr })
        .returning(['id', 'code', 'name_en', 'name_ar'])
        .executeTakeFirstOrThrow();
      await writeAudit(trx, {
        utilityId,
        actor: by.actor,
        action: 'department.create',
        subject: `department:${row.id}`,
        details: { code: d.code },
      });
      return departmentOut(row);
    });
  }

  /** Puts a staff member in a department (its queue is theirs), or takes them out (null). */
  async setMember(utilityId: UtilityId, userId: UserId, departmentId: DepartmentId | null, by: CaseActor) {
    await this.#db.transaction().execute(async (trx) => {
      const user = await trx
        .selectFrom('users')
        .select(['role', 'department_id'])
        .where('id', '=', userId)
        .where('utility_id', '=', utilityId)
        .executeTakeFirst();
      if (!user) throw new RasidError('not_found', `userId: user ${userId} is unknown`);
      if (user.role === 'customer' || user.role === 'vendor') {
        throw new RasidError('validation_failed', `userId: a ${user.role} belongs to no department`);
      }
      if (departmentId !== null) await this.#department(trx, utilityId, departmentId);
      await trx.updateTable('users').set({ department_id: departmentId }).where('id', '=', userId).execute();
      await writeAudit(trx, {
        utilityId,
        actor: by.actor,
        action: 'department.member',
        subject: `user:${userId}`,
        details: { from: user.department_id, to: departmentId },
      });
    });
  }

  /** Adds a category or changes one (SLA, names, site visit, retired); open cases keep their due time. */
  async saveCategory(
    utilityId: UtilityId,
    c: {
      category: CaseCategory;
      slaHours: number;
      nameEn: string;
      nameAr: string;
      needsVisit: boolean;
      active: boolean;
    },
    by: CaseActor,
  ) {
    await this.#db.transaction().execute(async (trx) => {
      const before = await trx
        .selectFrom('case_categories')
        .selectAll()
        .where('utility_id', '=', utilityId)
        .where('category', '=', c.category)
        .forUpdate()
        .executeTakeFirst();
      const values = {
        sla_hours: c.slaHours,
        name_en: c.nameEn,
        name_ar: c.nameAr,
        needs_visit: c.needsVisit,
        active: c.active,
      };
      if (before) {
        await trx
          .updateTable('case_categories')
          .set({ ...values, updated_at: this.#now() })
          .where('utility_id', '=', utilityId)
          .where('category', '=', c.category)
          .execute();
      } else {
        await trx
          .insertInto('case_categories')
          .values({ utility_id: utilityId, category: c.category, ...values })
          .execute();
      }
      await writeAudit(trx, {
        utilityId,
        actor: by.actor,
        action: before ? 'case_category.update' : 'case_category.create',
        subject: `case_category:${c.category}`,
        details: {
          ...values,
          before: before ? { sla_hours: before.sla_hours, active: before.active } : null,
        },
      });
    });
    return this.#cases.categories(utilityId);
  }

  async rules(utilityId: UtilityId): Promise<RuleView[]> {
    const rows = await this.#db
      .selectFrom('routing_rules as r')
      .innerJoin('departments as d', 'd.id', 'r.department_id')
      .select(['r.id', 'r.category', 'r.area', 'd.id as did', 'd.code', 'd.name_en', 'd.name_ar'])
      .where('r.utility_id', '=', utilityId)
      .orderBy('r.category')
      .orderBy('r.area')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      category: r.category,
      area: r.area,
      department: departmentOut({ id: r.did, code: r.code, name_en: r.name_en, name_ar: r.name_ar }),
    }));
  }

  /** Sets where cases of a category (in an area, or anywhere when area is null) go; replaces the same key. */
  async setRule(
    utilityId: UtilityId,
    r: { category: CaseCategory; area: string | null; departmentId: DepartmentId },
    by: CaseActor,
  ): Promise<RuleView[]> {
    await this.#db.transaction().execute(async (trx) => {
      const category = await trx
        .selectFrom('case_categories')
        .select('category')
        .where('utility_id', '=', utilityId)
        .where('category', '=', r.category)
        .executeTakeFirst();
      if (!category) throw new RasidError('not_found', `category: ${r.category} is unknown`);
      await this.#department(trx, utilityId, r.departmentId);
      let q = trx
        .deleteFrom('routing_rules')
        .where('utility_id', '=', utilityId)
        .where('category', '=', r.category);
      q = r.area === null ? q.where('area', 'is', null) : q.where('area', '=', r.area);
      await q.execute();
      await trx
        .insertInto('routing_rules')
        .values({ utility_id: utilityId, category: r.category, area: r.area, department_id: r.departmentId })
        .execute();
      await writeAudit(trx, {
        utilityId,
        actor: by.actor,
        action: 'routing_rule.set',
        subject: `case_category:${r.category}`,
        details: { area: r.area, departmentId: r.departmentId },
      });
    });
    return this.rules(utilityId);
  }

  async deleteRule(utilityId: UtilityId, id: string, by: CaseActor): Promise<RuleView[]> {
    await this.#db.transaction().execute(async (trx) => {
      const gone = await trx
        .deleteFrom('routing_rules')
        .where('utility_id', '=', utilityId)
        .where('id', '=', id)
        .returning(['category', 'area'])
        .executeTakeFirst();
      if (!gone) throw new RasidError('not_found', `rule ${id} is unknown`);
      await writeAudit(trx, {
        utilityId,
        actor: by.actor,
        action: 'routing_rule.delete',
        subject: `case_category:${gone.category}`,
        details: { area: gone.area },
      });
    });
    return this.rules(utilityId);
  }

  async #department(trx: Queryable, utilityId: UtilityId, id: DepartmentId): Promise<void> {
    const d = await trx
      .selectFrom('departments')
      .select('id')
      .where('id', '=', id)
      .where('utility_id', '=', utilityId)
      .executeTakeFirst();
    if (!d) throw new RasidError('not_found', `departmentId: department ${id} is unknown`);
  }

  // ---- work orders ----

  /** Makes a site visit of an open case; the case moves to in_progress and its timeline says so. */
  async createWorkOrder(
    utilityId: UtilityId,
    caseId: CaseId,
    w: { technicianId: UserId | null; instructions: string },
    by: CaseActor,
  ): Promise<WorkOrderView> {
    const now = this.#now();
    const id = await this.#db.transaction().execute(async (trx) => {
      const c = await trx
        .selectFrom('cases')
        .select(['id', 'status', 'meter_id', 'number', 'first_response_at'])
        .where('id', '=', caseId)
        .where('utility_id', '=', utilityId)
        .forUpdate()
        .executeTakeFirst();
      if (!c) throw new RasidError('not_found', `case ${caseId} is unknown`);
      if (c.status === 'resolved' || c.status === 'closed') {
        throw new RasidError('conflict', `status: a ${c.status} case needs no visit`);
      }
      if (w.technicianId !== null) {
        const t = await trx
          .selectFrom('users')
          .select(['role', 'disabled_at'])
          .where('id', '=', w.technicianId)
          .where('utility_id', '=', utilityId)
          .executeTakeFirst();
        if (!t || t.disabled_at)
          throw new RasidError('not_found', `technicianId: user ${w.technicianId} is unknown`);
        if (t.role !== 'technician') {
          throw new RasidError('validation_failed', `technicianId: a ${t.role} does not take work orders`);
        }
      }
      const row = await trx
        .insertInto('work_orders')
        .values({
          utility_id: utilityId,
          case_id: caseId,
          meter_id: c.meter_id,
          technician_id: w.technicianId,
          instructions: w.instructions,
          created_by: by.actor,
          created_at: now,
        })
        .returning(['id', 'number'])
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('case_events')
        .values({
          utility_id: utilityId,
          case_id: caseId,
          kind: 'work_order',
          note: `${workOrderNumber(row.number)}: ${w.instructions}`.slice(0, 4000),
          internal: true,
          actor: by.actor,
          created_at: now,
        })
        .execute();
      if (c.status === 'open') {
        await trx
          .updateTable('cases')
          .set({ status: 'in_progress', updated_at: now })
          .where('id', '=', caseId)
          .execute();
        await trx
          .insertInto('case_events')
          .values({
            utility_id: utilityId,
            case_id: caseId,
            kind: 'status',
            from_status: 'open',
            to_status: 'in_progress',
            actor: by.actor,
            created_at: now,
          })
          .execute();
        // Sending someone out is the utility's first answer to the customer when none came before.
        if (c.first_response_at === null) {
          await trx.updateTable('cases').set({ first_response_at: now }).where('id', '=', caseId).execute();
          await trx
            .insertInto('case_events')
            .values({
              utility_id: utilityId,
              case_id: caseId,
              kind: 'first_response',
              actor: by.actor,
              created_at: now,
            })
            .execute();
        }
      }
      await writeAudit(trx, {
        utilityId,
        actor: by.actor,
        action: 'work_order.create',
        subject: `work_order:${row.id}`,
        details: { caseId, case: caseNumber(c.number), technicianId: w.technicianId },
      });
      return row.id;
    });
    return this.workOrder(utilityId, id);
  }

  async workOrders(
    utilityId: UtilityId,
    f: {
      technicianId?: UserId | undefined;
      status?: WorkOrderStatus | undefined;
      caseId?: CaseId | undefined;
    },
  ): Promise<WorkOrderView[]> {
    let q = this.#workOrderSelect().where('w.utility_id', '=', utilityId);
    if (f.technicianId) q = q.where('w.technician_id', '=', f.technicianId);
    if (f.status) q = q.where('w.status', '=', f.status);
    if (f.caseId) q = q.where('w.case_id', '=', f.caseId);
    const rows = await q.orderBy('w.created_at', 'desc').limit(200).execute();
    return rows.map(workOrderOut);
  }

  async workOrder(utilityId: UtilityId, id: WorkOrderId): Promise<WorkOrderView> {
    const row = await this.#workOrderSelect()
      .where('w.utility_id', '=', utilityId)
      .where('w.id', '=', id)
      .executeTakeFirst();
    if (!row) throw new RasidError('not_found', `work order ${id} is unknown`);
    return workOrderOut(row);
  }

  /**
   * The technician's result: kept on the work order and written into the case's timeline; a fixed fault
   * resolves the case (the customer hears of it), otherwise the case goes back to its queue in progress.
   */
  async completeWorkOrder(
    utilityId: UtilityId,
    id: WorkOrderId,
    r: { outcome: WorkOrderOutcome; result: string },
    by: CaseActor,
  ): Promise<WorkOrderView> {
    const now = this.#now();
    const caseId = await this.#db.transaction().execute(async (trx) => {
      const w = await trx
        .selectFrom('work_orders')
        .select(['id', 'number', 'case_id', 'status', 'technician_id'])
        .where('id', '=', id)
        .where('utility_id', '=', utilityId)
        .forUpdate()
        .executeTakeFirst();
      if (!w) throw new RasidError('not_found', `work order ${id} is unknown`);
      if (by.role === 'technician' && w.technician_id !== null && w.technician_id !== by.userId) {
        throw new RasidError('not_found', `work order ${id} is unknown`);
      }
      if (w.status !== 'open') throw new RasidError('conflict', `status: the work order is ${w.status}`);
      await trx
        .updateTable('work_orders')
        .set({
          status: 'done',
          outcome: r.outcome,
          result: r.result,
          completed_at: now,
          ...(w.technician_id === null && by.role === 'technician' ? { technician_id: by.userId } : {}),
        })
        .where('id', '=', id)
        .execute();
      await trx
        .insertInto('case_events')
        .values({
          utility_id: utilityId,
          case_id: w.case_id,
          kind: 'work_order',
          note: `${workOrderNumber(w.number)} ${r.outcome}: ${r.result}`.slice(0, 4000),
          internal: true,
          actor: by.actor,
          created_at: now,
        })
        .execute();
      await writeAudit(trx, {
        utilityId,
        actor: by.actor,
        action: 'work_order.complete',
        subject: `work_order:${id}`,
        details: { outcome: r.outcome, caseId: w.case_id },
      });
      return w.case_id;
    });
    if (r.outcome === 'fixed') {
      const c = await this.#db
        .selectFrom('cases')
        .select('status')
        .where('id', '=', caseId)
        .executeTakeFirst();
      if (c && c.status !== 'resolved' && c.status !== 'closed') {
        await this.#cases.changeStatus(
          utilityId,
          caseId,
          'resolved',
          { text: r.result, internal: false },
          by,
        );
      }
    }
    return this.workOrder(utilityId, id);
  }

  #workOrderSelect() {
    return this.#db
      .selectFrom('work_orders as w')
      .innerJoin('cases as c', 'c.id', 'w.case_id')
      .leftJoin('customers as cu', 'cu.id', 'c.customer_id')
      .leftJoin('accounts as a', 'a.id', 'c.account_id')
      .leftJoin('premises as p', 'p.id', 'a.premise_id')
      .leftJoin('meters as m', 'm.id', 'w.meter_id')
      .leftJoin('users as t', 't.id', 'w.technician_id')
      .select((eb) => [
        'w.id',
        'w.number',
        'w.case_id',
        'c.number as case_number',
        'c.subject',
        'cu.name as customer_name',
        'p.address',
        'w.meter_id',
        'm.serial',
        'w.technician_id',
        eb.fn.coalesce('t.display_name', 't.username').as('technician_name'),
        'w.instructions',
        'w.status',
        'w.outcome',
        'w.result',
        'w.created_at',
        'w.completed_at',
      ]);
  }

  // ---- calls and chats ----

  /** Records calls and chats; one already recorded (same external id) is counted as a duplicate. */
  async recordCalls(
    utilityId: UtilityId,
    records: readonly CallRecordInput[],
    source: 'import' | 'webhook',
  ): Promise<CallRecordResult> {
    if (records.length === 0) return { added: 0, duplicates: 0 };
    const added = await this.#db
      .insertInto('call_records')
      .values(
        records.map((r) => ({
          utility_id: utilityId,
          external_id: r.externalId,
          kind: r.kind,
          queue: r.queue,
          agent: r.agent,
          caller: r.caller,
          received_at: r.receivedAt,
          outcome: r.outcome,
          wait_seconds: r.waitSeconds,
          talk_seconds: r.outcome === 'answered' ? r.talkSeconds : 0,
          source,
        })),
      )
      .onConflict((oc) => oc.columns(['utility_id', 'external_id']).doNothing())
      .returning('id')
      .execute();
    return { added: added.length, duplicates: records.length - added.length };
  }

  /** A new contact-centre secret for the telephony system: returned once, kept only as its SHA-256. */
  async rotateSecret(utilityId: UtilityId, by: CaseActor): Promise<string> {
    const secret = randomBytes(32).toString('base64url');
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .updateTable('utilities')
        .set({ contact_secret_hash: sha256Of(secret) })
        .where('id', '=', utilityId)
        .execute();
      await writeAudit(trx, {
        utilityId,
        actor: by.actor,
        action: 'contact_centre.secret',
        subject: `utility:${utilityId}`,
        details: {},
      });
    });
    return secret;
  }

  /** The utility whose contact-centre secret this is, by its code; null when either does not match. */
  async utilityBySecret(code: string, secret: string): Promise<UtilityId | null> {
    const u = await this.#db
      .selectFrom('utilities')
      .select(['id', 'contact_secret_hash'])
      .where('code', '=', code)
      .executeTakeFirst();
    if (!u?.contact_secret_hash) return null;
    const a = Buffer.from(sha256Of(secret));
    const b = Buffer.from(u.contact_secret_hash);
    return a.length === b.length && timingSafeEqual(a, b) ? u.id : null;
  }

  // ---- satisfaction ----

  /** Answers a survey from its link; once only. */
  async answerSurvey(token: string, score: number, comment: string | null): Promise<{ caseNumber: string }> {
    const survey = await this.#db
      .selectFrom('case_surveys as s')
      .innerJoin('cases as c', 'c.id', 's.case_id')
      .select(['s.case_id', 's.utility_id', 's.answered_at', 'c.number'])
      .where('s.token_hash', '=', sha256Of(token))
      .executeTakeFirst();
    if (!survey) throw new RasidError('not_found', 'no such survey');
    if (survey.answered_at !== null) throw new RasidError('conflict', 'this survey is answered already');
    await this.#record(survey.utility_id, survey.case_id, score, comment, 'link');
    return { caseNumber: caseNumber(survey.number) };
  }

  /**
   * A reply that came back on SMS or WhatsApp: its first digit 1 to 5 answers the latest unanswered survey
   * sent to that number (in the last 14 days). Returns the case number, or null when nothing matched.
   */
  async surveyReply(utilityId: UtilityId, from: string, text: string): Promise<string | null> {
    const digit = /[1-5١-٥]/.exec(text)?.[0];
    if (digit === undefined) return null;
    const score = '12345'.includes(digit) ? Number(digit) : '١٢٣٤٥'.indexOf(digit) + 1;
    const since = new Date(this.#now().getTime() - 14 * 86_400_000);
    const candidates = await this.#db
      .selectFrom('case_surveys as s')
      .innerJoin('cases as c', 'c.id', 's.case_id')
      .select(['s.case_id', 's.recipient', 'c.number'])
      .where('s.utility_id', '=', utilityId)
      .where('s.answered_at', 'is', null)
      .where('s.sent_at', '>=', since)
      .orderBy('s.sent_at', 'desc')
      .execute();
    const match = candidates.find((c) => phoneTail(c.recipient) === phoneTail(from));
    if (!match) return null;
    const comment = text.replace(digit, '').trim();
    await this.#record(
      utilityId,
      match.case_id,
      score,
      comment.length > 0 ? comment.slice(0, 1000) : null,
      'reply',
    );
    return caseNumber(match.number);
  }

  async #record(
    utilityId: UtilityId,
    caseId: CaseId,
    score: number,
    comment: string | null,
    via: 'link' | 'reply',
  ): Promise<void> {
    const now = this.#now();
    await this.#db.transaction().execute(async (trx) => {
      const done = await trx
        .updateTable('case_surveys')
        .set({ score, comment, answered_via: via, answered_at: now })
        .where('case_id', '=', caseId)
        .where('answered_at', 'is', null)
        .returning('case_id')
        .executeTakeFirst();
      if (!done) throw new RasidError('conflict', 'this survey is answered already');
      await trx
        .insertInto('case_events')
        .values({
          utility_id: utilityId,
          case_id: caseId,
          kind: 'survey',
          note: `${score}/5${comment ? `: ${comment}` : ''}`,
          internal: true,
          actor: 'customer:survey',
          created_at: now,
        })
        .execute();
    });
  }

  // ---- screen pop ----

  /** Everything an agent needs about a caller, from the number they call from. */
  async screenPop(utilityId: UtilityId, number: string): Promise<ScreenPop> {
    const tail = phoneTail(number);
    if (tail.length < 6) throw new RasidError('validation_failed', 'number: at least six digits');
    const customers = await this.#db
      .selectFrom('customers')
      .select(['id', 'name', 'name_ar', 'phone', 'email', 'preferred_language'])
      .where('utility_id', '=', utilityId)
      .where('phone', 'like', `%${tail}`)
      .orderBy('name')
      .limit(10)
      .execute();
    const out: ScreenPopCustomer[] = [];
    for (const c of customers) {
      const accounts = await this.#db
        .selectFrom('accounts as a')
        .innerJoin('premises as p', 'p.id', 'a.premise_id')
        .select(['a.id', 'a.number', 'a.status', 'a.debt_minor', 'p.address', 'p.area'])
        .where('a.customer_id', '=', c.id)
        .where('a.utility_id', '=', utilityId)
        .orderBy('a.number')
        .execute();
      const accountViews: ScreenPopAccount[] = [];
      for (const a of accounts) {
        const meters = await this.#db
          .selectFrom('meters as m')
          .leftJoin('balance_state as b', 'b.meter_id', 'm.id')
          .select([
            'm.id',
            'm.serial',
            'm.kind',
            'm.mode',
            'm.status',
            'b.credit_minor',
            'b.days_left',
            'b.supply',
          ])
          .where('m.account_id', '=', a.id)
          .orderBy('m.serial')
          .execute();
        const vends = await this.#db
          .selectFrom('vends as v')
          .innerJoin('meters as m', 'm.id', 'v.meter_id')
          .select([
            'v.id',
            'v.created_at',
            'v.amount_paid_minor',
            'v.channel',
            'v.status',
            'v.token',
            'm.serial',
          ])
          .where('v.account_id', '=', a.id)
          .orderBy('v.created_at', 'desc')
          .limit(5)
          .execute();
        accountViews.push({
          id: a.id,
          number: a.number,
          status: a.status,
          address: a.address,
          area: a.area,
          balanceMinor: String(await accountBalance(this.#db, a.id)),
          debtMinor: String(a.debt_minor),
          meters: meters.map((m) => ({
            id: m.id,
            serial: m.serial,
            kind: m.kind,
            mode: m.mode,
            status: m.status,
            creditMinor: m.credit_minor === null ? null : String(m.credit_minor),
            daysLeft: m.days_left,
            supply: m.supply,
          })),
          payments: vends.map((v) => ({
            id: v.id,
            at: v.created_at,
            amountMinor: String(v.amount_paid_minor),
            channel: v.channel,
            status: v.status,
            token: v.token,
            meterSerial: v.serial,
          })),
        });
      }
      const cases = await this.#cases.list({
        utilityId,
        customerId: c.id,
        status: ['open', 'in_progress', 'waiting_customer'],
        limit: 20,
        offset: 0,
      });
      out.push({
        id: c.id,
        name: c.name,
        nameAr: c.name_ar,
        phone: c.phone,
        email: c.email,
        language: c.preferred_language,
        accounts: accountViews,
        openCases: cases.map((k) => ({
          id: k.id,
          number: k.number,
          subject: k.subject,
          category: k.category,
          status: k.status,
          overdue: k.overdue,
          createdAt: k.createdAt,
        })),
      });
    }
    return { number, customers: out };
  }
}

export interface ScreenPopAccount {
  readonly id: AccountId;
  readonly number: string;
  readonly status: string;
  readonly address: string;
  readonly area: string | null;
  /** The account's ledger balance, minor units as a string. */
  readonly balanceMinor: string;
  readonly debtMinor: string;
  readonly meters: readonly {
    id: MeterId;
    serial: string;
    kind: string;
    mode: string;
    status: string;
    creditMinor: string | null;
    daysLeft: number | null;
    supply: string | null;
  }[];
  /** The last five sales with their tokens. */
  readonly payments: readonly {
    id: string;
    at: Date;
    amountMinor: string;
    channel: string;
    status: string;
    token: string | null;
    meterSerial: string;
  }[];
}

export interface ScreenPopCustomer {
  readonly id: CustomerId;
  readonly name: string;
  readonly nameAr: string | null;
  readonly phone: string | null;
  readonly email: string | null;
  readonly language: string;
  readonly accounts: readonly ScreenPopAccount[];
  readonly openCases: readonly {
    id: CaseId;
    number: string;
    subject: string;
    category: string;
    status: string;
    overdue: boolean;
    createdAt: Date;
  }[];
}

export interface ScreenPop {
  readonly number: string;
  readonly customers: readonly ScreenPopCustomer[];
}

/**
 * Sends the case's one satisfaction survey (at its closing, in the closing transaction): by WhatsApp when
 * the customer put it first among SMS and WhatsApp, by SMS otherwise; never to a customer who opted out of
 * unsolicited messages or has no phone, and never twice for a case.
 */
export async function sendSurvey(
  trx: Queryable,
  s: {
    utilityId: UtilityId;
    caseId: CaseId;
    number: bigint | number | string;
    customerId: CustomerId;
    now: Date;
    link: (token: string) => string;
  },
): Promise<boolean> {
  const already = await trx
    .selectFrom('case_surveys')
    .select('case_id')
    .where('case_id', '=', s.caseId)
    .executeTakeFirst();
  if (already) return false;
  const c = await trx
    .selectFrom('customers')
    .select(['name', 'phone', 'preferred_language', 'notify_channels', 'notify_opt_out'])
    .where('id', '=', s.customerId)
    .executeTakeFirstOrThrow();
  if (c.notify_opt_out || !c.phone) return false;
  const channel = c.notify_channels.find((ch) => ch === 'sms' || ch === 'whatsapp') ?? 'sms';
  const token = randomBytes(24).toString('base64url');
  await trx
    .insertInto('case_surveys')
    .values({
      case_id: s.caseId,
      utility_id: s.utilityId,
      token_hash: sha256Of(token),
      channel,
      recipient: c.phone,
      sent_at: s.now,
    })
    .execute();
  await notify(trx, {
    utilityId: s.utilityId,
    template: 'case_survey',
    payload: { customerName: c.name, caseNumber: caseNumber(s.number), surveyUrl: s.link(token) },
    dedupKey: `case:${s.caseId}:survey`,
    customerId: s.customerId,
    to: { channel, recipient: c.phone, language: c.preferred_language },
  });
  return true;
}

function departmentOut(r: {
  id: DepartmentId;
  code: string;
  name_en: string;
  name_ar: string;
}): DepartmentView {
  return { id: r.id, code: r.code, nameEn: r.name_en, nameAr: r.name_ar };
}

function workOrderOut(r: {
  id: WorkOrderId;
  number: bigint;
  case_id: CaseId;
  case_number: bigint;
  subject: string;
  customer_name: string | null;
  address: string | null;
  meter_id: MeterId | null;
  serial: string | null;
  technician_id: UserId | null;
  technician_name: string | null;
  instructions: string;
  status: WorkOrderStatus;
  outcome: WorkOrderOutcome | null;
  result: string | null;
  created_at: Date;
  completed_at: Date | null;
}): WorkOrderView {
  return {
    id: r.id,
    number: workOrderNumber(r.number),
    caseId: r.case_id,
    caseNumber: caseNumber(r.case_number),
    subject: r.subject,
    customerName: r.customer_name,
    address: r.address,
    meter: r.meter_id ? { id: r.meter_id, serial: r.serial ?? '' } : null,
    technician: r.technician_id ? { id: r.technician_id, name: r.technician_name ?? '' } : null,
    instructions: r.instructions,
    status: r.status,
    outcome: r.outcome,
    result: r.result,
    createdAt: r.created_at,
    completedAt: r.completed_at,
  };
}
