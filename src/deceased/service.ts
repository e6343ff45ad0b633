/**
 * Deceased account holders (docs/customer-service.md, "Deceased holders"). When the holder of a subsidised
 * account dies, the subsidy is not removed at once: the family is contacted and the account moved to an heir
 * with the subsidy kept.
 *
 *   death known (civil registry import, or an agent) ──> every account of the holder marked, audited
 *     subsidised account: status `held`, an outreach case opened, the subsidy held until the grace end
 *       ├──> the family reached, the account transferred to an heir (src/accounts/transfer.ts) ──> `transferred`
 *       └──> the grace end passes without a transfer (the workers' sweep) ──> subsidy ended, family told ──> `ended`
 *     other accounts: status `noted` (no outreach needed)
 *
 * The grace period and the stall threshold are the utility's settings (src/utilities/settings.ts). Every
 * change is one transaction with its audit row, and what the agents do is also written on the case's
 * timeline, so the case reads as the story of the outreach.
 */
import type { Kysely } from 'kysely';
import { writeAudit } from '../accounts/audit.ts';
import { transferAccount } from '../accounts/transfer.ts';
import { caseNumber } from '../cases/service.ts';
import { RasidError } from '../errors.ts';
import { notify } from '../notify/audience.ts';
import type { Queryable } from '../store/ledger.ts';
import type {
  AccountId,
  CaseId,
  CaseStatus,
  CustomerId,
  Database,
  DeathSource,
  DeceasedStatus,
  Language,
  OutreachOutcome,
  UserId,
  UtilityId,
} from '../store/schema.ts';

export const OUTREACH_OUTCOMES = [
  'reached',
  'no_answer',
  'busy',
  'wrong_number',
  'call_back',
  'declined',
] as const satisfies readonly OutreachOutcome[];
export const DECEASED_STATUSES = [
  'held',
  'transferred',
  'ended',
  'noted',
] as const satisfies readonly DeceasedStatus[];

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** The actor of what the workers' sweep does. */
export const SWEEP_ACTOR = 'system:deceased-holders';

/** Who acts: the audit actor and the user (null for the system). */
export interface Acting {
  readonly actor: string;
  readonly userId: UserId | null;
}

export interface RecordDeathRequest {
  readonly utilityId: UtilityId;
  readonly customerId: CustomerId;
  /** YYYY-MM-DD. */
  readonly dateOfDeath: string;
  /** The civil registry's reference or the document the agent saw. */
  readonly evidenceRef: string;
  readonly source: DeathSource;
  readonly actor: string;
}

export interface MarkedAccount {
  readonly id: string;
  readonly accountId: AccountId;
  readonly accountNumber: string;
  readonly subsidised: boolean;
  readonly status: DeceasedStatus;
  readonly caseId: CaseId | null;
  readonly caseNumber: string | null;
  readonly graceEndsAt: Date | null;
}

export interface RecordedDeath {
  readonly deathId: string;
  readonly customerId: CustomerId;
  readonly accounts: readonly MarkedAccount[];
}

/**
 * Records a holder's death in the caller's transaction: every account they hold (not closed) is marked with
 * the death and its evidence, audited; each subsidised one gets an outreach case and its subsidy held until
 * the utility's grace end. Returns null when the death of this customer is recorded already.
 */
export async function recordDeath(
  trx: Queryable,
  req: RecordDeathRequest,
  now: Date,
): Promise<RecordedDeath | null> {
  const customer = await trx
    .selectFrom('customers')
    .select(['id', 'name'])
    .where('id', '=', req.customerId)
    .where('utility_id', '=', req.utilityId)
    .forUpdate()
    .executeTakeFirst();
  if (!customer) throw new RasidError('not_found', `customer ${req.customerId} is unknown`);
  const death = await trx
    .insertInto('holder_deaths')
    .values({
      utility_id: req.utilityId,
      customer_id: customer.id,
      date_of_death: req.dateOfDeath,
      evidence_ref: req.evidenceRef,
      source: req.source,
      recorded_by: req.actor,
      created_at: now,
    })
    .onConflict((oc) => oc.columns(['utility_id', 'customer_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!death) return null;
  const utility = await trx
    .selectFrom('utilities')
    .select('deceased_grace_days')
    .where('id', '=', req.utilityId)
    .executeTakeFirstOrThrow();
  const accounts = await trx
    .selectFrom('accounts')
    .select(['id', 'number', 'subsidy_eligible'])
    .where('utility_id', '=', req.utilityId)
    .where('customer_id', '=', customer.id)
    .where('status', '<>', 'closed')
    .orderBy('number')
    .forUpdate()
    .execute();
  const marked: MarkedAccount[] = [];
  for (const a of accounts) {
    const graceEndsAt = a.subsidy_eligible
      ? new Date(now.getTime() + utility.deceased_grace_days * DAY_MS)
      : null;
    const opened = a.subsidy_eligible
      ? await openOutreachCase(trx, req, { id: a.id, number: a.number }, customer, graceEndsAt as Date, now)
      : null;
    const row = await trx
      .insertInto('deceased_accounts')
      .values({
        utility_id: req.utilityId,
        death_id: death.id,
        account_id: a.id,
        subsidised: a.subsidy_eligible,
        status: a.subsidy_eligible ? 'held' : 'noted',
        case_id: opened?.id ?? null,
        grace_ends_at: graceEndsAt,
        created_at: now,
      })
      .returning(['id', 'status'])
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      utilityId: req.utilityId,
      actor: req.actor,
      action: 'account.holder_deceased',
      subject: `account:${a.id}`,
      details: {
        deceasedAccountId: row.id,
        customerId: customer.id,
        dateOfDeath: req.dateOfDeath,
        evidenceRef: req.evidenceRef,
        source: req.source,
        subsidised: a.subsidy_eligible,
        graceEndsAt: graceEndsAt?.toISOString() ?? null,
        caseId: opened?.id ?? null,
      },
    });
    marked.push({
      id: row.id,
      accountId: a.id,
      accountNumber: a.number,
      subsidised: a.subsidy_eligible,
      status: row.status,
      caseId: opened?.id ?? null,
      caseNumber: opened ? caseNumber(opened.number) : null,
      graceEndsAt,
    });
  }
  await writeAudit(trx, {
    utilityId: req.utilityId,
    actor: req.actor,
    action: 'customer.deceased',
    subject: `customer:${customer.id}`,
    details: {
      deathId: death.id,
      dateOfDeath: req.dateOfDeath,
      evidenceRef: req.evidenceRef,
      source: req.source,
      accounts: marked.length,
      subsidised: marked.filter((m) => m.subsidised).length,
    },
  });
  return { deathId: death.id, customerId: customer.id, accounts: marked };
}

/** The outreach case of a subsidised account: a `request` case on the account, by phone, for the agents. */
async function openOutreachCase(
  trx: Queryable,
  req: RecordDeathRequest,
  account: { id: AccountId; number: string },
  holder: { id: CustomerId; name: string },
  graceEndsAt: Date,
  now: Date,
): Promise<{ id: CaseId; number: bigint }> {
  const sla = await trx
    .selectFrom('case_categories')
    .select('sla_hours')
    .where('utility_id', '=', req.utilityId)
    .where('category', '=', 'request')
    .executeTakeFirst();
  const slaHours = sla?.sla_hours ?? 120;
  const row = await trx
    .insertInto('cases')
    .values({
      utility_id: req.utilityId,
      customer_id: holder.id,
      account_id: account.id,
      meter_id: null,
      channel: 'phone',
      category: 'request',
      subject: `Deceased holder: account ${account.number}`,
      description:
        `${holder.name} died on ${req.dateOfDeath} (evidence: ${req.evidenceRef}). Contact the family to ` +
        `transfer account ${account.number} to an heir; its subsidy is held until ` +
        `${graceEndsAt.toISOString().slice(0, 10)}.`,
      opened_by: req.actor,
      sla_hours: slaHours,
      sla_due_at: new Date(now.getTime() + slaHours * HOUR_MS),
      created_at: now,
      updated_at: now,
    })
    .returning(['id', 'number'])
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('case_events')
    .values({
      utility_id: req.utilityId,
      case_id: row.id,
      kind: 'opened',
      to_status: 'open',
      actor: req.actor,
      created_at: now,
    })
    .execute();
  await writeAudit(trx, {
    utilityId: req.utilityId,
    actor: req.actor,
    action: 'case.open',
    subject: `case:${row.id}`,
    details: {
      number: caseNumber(row.number),
      channel: 'phone',
      category: 'request',
      customerId: holder.id,
      accountId: account.id,
      outreach: 'deceased_holder',
    },
  });
  return { id: row.id, number: BigInt(row.number) };
}

/** An agent records a death: the customer's national id or id, with the date of death and the evidence. */
export async function recordDeathByAgent(
  db: Kysely<Database>,
  req: Omit<RecordDeathRequest, 'source'>,
  now: Date,
): Promise<RecordedDeath> {
  const out = await db.transaction().execute((trx) => recordDeath(trx, { ...req, source: 'agent' }, now));
  if (!out)
    throw new RasidError(
      'conflict',
      `customerId: the death of customer ${req.customerId} is recorded already`,
    );
  return out;
}

export interface OutreachContact {
  readonly id: string;
  readonly name: string;
  readonly relation: string | null;
  readonly phone: string | null;
  readonly language: Language;
}

export interface OutreachAttempt {
  readonly id: string;
  readonly contactId: string | null;
  readonly contactName: string | null;
  readonly outcome: OutreachOutcome;
  readonly note: string | null;
  readonly actor: string;
  readonly at: Date;
}

export interface OutreachItem {
  readonly id: string;
  readonly status: DeceasedStatus;
  readonly subsidised: boolean;
  readonly account: { readonly id: AccountId; readonly number: string; readonly subsidyEligible: boolean };
  readonly holder: {
    readonly id: CustomerId;
    readonly name: string;
    readonly nameAr: string | null;
    readonly nationalId: string | null;
  };
  readonly dateOfDeath: string;
  readonly evidenceRef: string;
  readonly source: DeathSource;
  readonly case: { readonly id: CaseId; readonly number: string; readonly status: CaseStatus } | null;
  readonly markedAt: Date;
  readonly graceEndsAt: Date | null;
  /** Whole days until the grace end (negative once passed); null without a grace. */
  readonly graceDaysLeft: number | null;
  readonly attempts: number;
  readonly lastAttemptAt: Date | null;
  readonly firstReachedAt: Date | null;
  /** Held, and no call attempt for the utility's stall days. */
  readonly stalled: boolean;
  readonly transferredAt: Date | null;
  readonly subsidyCarried: boolean | null;
  readonly endedAt: Date | null;
}

export interface OutreachDetail extends OutreachItem {
  readonly contacts: readonly OutreachContact[];
  readonly history: readonly OutreachAttempt[];
}

export interface WorklistFilter {
  readonly utilityId: UtilityId;
  readonly status?: readonly DeceasedStatus[] | undefined;
  readonly stalled?: boolean | undefined;
  readonly limit: number;
  readonly offset: number;
}

function selectItems(db: Queryable) {
  return db
    .selectFrom('deceased_accounts as d')
    .innerJoin('holder_deaths as h', 'h.id', 'd.death_id')
    .innerJoin('accounts as a', 'a.id', 'd.account_id')
    .innerJoin('customers as c', 'c.id', 'h.customer_id')
    .innerJoin('utilities as u', 'u.id', 'd.utility_id')
    .leftJoin('cases as k', 'k.id', 'd.case_id')
    .select((eb) => [
      'd.id',
      'd.status',
      'd.subsidised',
      'd.grace_ends_at',
      'd.first_reached_at',
      'd.last_attempt_at',
      'd.transferred_at',
      'd.subsidy_carried',
      'd.ended_at',
      'd.created_at',
      'a.id as account_id',
      'a.number as account_number',
      'a.subsidy_eligible',
      'c.id as customer_id',
      'c.name',
      'c.name_ar',
      'c.national_id',
      'h.date_of_death',
      'h.evidence_ref',
      'h.source',
      'k.id as case_id',
      'k.number as case_number',
      'k.status as case_status',
      'u.outreach_stall_days',
      eb
        .selectFrom('outreach_attempts as o')
        .select((o) => o.fn.countAll<string>().as('n'))
        .whereRef('o.deceased_account_id', '=', 'd.id')
        .as('attempts'),
    ]);
}

type ItemRow = Awaited<ReturnType<ReturnType<typeof selectItems>['executeTakeFirstOrThrow']>>;

function itemOf(r: ItemRow, now: Date): OutreachItem {
  const since = r.last_attempt_at ?? r.created_at;
  return {
    id: r.id,
    status: r.status,
    subsidised: r.subsidised,
    account: { id: r.account_id, number: r.account_number, subsidyEligible: r.subsidy_eligible },
    holder: { id: r.customer_id, name: r.name, nameAr: r.name_ar, nationalId: r.national_id },
    dateOfDeath: r.date_of_death,
    evidenceRef: r.evidence_ref,
    source: r.source,
    case:
      r.case_id !== null && r.case_number !== null && r.case_status !== null
        ? { id: r.case_id, number: caseNumber(r.case_number), status: r.case_status }
        : null,
    markedAt: r.created_at,
    graceEndsAt: r.grace_ends_at,
    graceDaysLeft:
      r.grace_ends_at === null ? null : Math.ceil((r.grace_ends_at.getTime() - now.getTime()) / DAY_MS),
    attempts: Number(r.attempts ?? 0),
    lastAttemptAt: r.last_attempt_at,
    firstReachedAt: r.first_reached_at,
    stalled: r.status === 'held' && now.getTime() - since.getTime() >= r.outreach_stall_days * DAY_MS,
    transferredAt: r.transferred_at,
    subsidyCarried: r.subsidy_carried,
    endedAt: r.ended_at,
  };
}

/** The agents' worklist: held cases first, the nearest grace end first. */
export async function worklist(
  db: Kysely<Database>,
  filter: WorklistFilter,
  now: Date,
): Promise<OutreachItem[]> {
  let q = selectItems(db).where('d.utility_id', '=', filter.utilityId);
  if (filter.status && filter.status.length > 0) q = q.where('d.status', 'in', filter.status);
  const rows = await q
    .orderBy((eb) => eb.case().when('d.status', '=', 'held').then(0).else(1).end())
    .orderBy('d.grace_ends_at')
    .orderBy('d.created_at', 'desc')
    .orderBy('d.id')
    .execute();
  let items = rows.map((r) => itemOf(r, now));
  if (filter.stalled !== undefined) items = items.filter((i) => i.stalled === filter.stalled);
  return items.slice(filter.offset, filter.offset + filter.limit);
}

/** One outreach with the family's contacts and every call attempt. */
export async function outreachDetail(
  db: Queryable,
  utilityId: UtilityId,
  id: string,
  now: Date,
): Promise<OutreachDetail> {
  const row = await selectItems(db)
    .where('d.utility_id', '=', utilityId)
    .where('d.id', '=', id)
    .executeTakeFirst();
  if (!row) throw new RasidError('not_found', `deceased account ${id} is unknown`);
  const contacts = await db
    .selectFrom('outreach_contacts')
    .select(['id', 'name', 'relation', 'phone', 'language'])
    .where('deceased_account_id', '=', id)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const history = await db
    .selectFrom('outreach_attempts as o')
    .leftJoin('outreach_contacts as p', 'p.id', 'o.contact_id')
    .select(['o.id', 'o.contact_id', 'p.name', 'o.outcome', 'o.note', 'o.actor', 'o.created_at'])
    .where('o.deceased_account_id', '=', id)
    .orderBy('o.id')
    .execute();
  return {
    ...itemOf(row, now),
    contacts,
    history: history.map((h) => ({
      id: String(h.id),
      contactId: h.contact_id,
      contactName: h.name,
      outcome: h.outcome,
      note: h.note,
      actor: h.actor,
      at: h.created_at,
    })),
  };
}

/** The outreach row, locked, refused unless it is in one of `allowed`. */
async function lockOutreach(
  trx: Queryable,
  utilityId: UtilityId,
  id: string,
  allowed: readonly DeceasedStatus[],
) {
  const row = await trx
    .selectFrom('deceased_accounts')
    .select(['id', 'status', 'account_id', 'case_id', 'death_id', 'first_reached_at', 'grace_ends_at'])
    .where('utility_id', '=', utilityId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw new RasidError('not_found', `deceased account ${id} is unknown`);
  if (!allowed.includes(row.status)) {
    throw new RasidError('conflict', `the outreach is ${row.status}: expected ${allowed.join(' or ')}`);
  }
  return row;
}

async function caseNote(
  trx: Queryable,
  utilityId: UtilityId,
  caseId: CaseId | null,
  actor: string,
  at: Date,
  note: string,
): Promise<void> {
  if (caseId === null) return;
  await trx
    .insertInto('case_events')
    .values({
      utility_id: utilityId,
      case_id: caseId,
      kind: 'note',
      note,
      internal: true,
      actor,
      created_at: at,
    })
    .execute();
  await trx.updateTable('cases').set({ updated_at: at }).where('id', '=', caseId).execute();
}

/** Moves the case to `to` (from an open status only), with its timeline event and a first response. */
async function caseStatus(
  trx: Queryable,
  utilityId: UtilityId,
  caseId: CaseId | null,
  to: CaseStatus,
  actor: string,
  at: Date,
): Promise<void> {
  if (caseId === null) return;
  const c = await trx
    .selectFrom('cases')
    .select(['status', 'first_response_at'])
    .where('id', '=', caseId)
    .forUpdate()
    .executeTakeFirst();
  if (!c || c.status === to || !['open', 'in_progress', 'waiting_customer'].includes(c.status)) return;
  await trx
    .updateTable('cases')
    .set({
      status: to,
      updated_at: at,
      ...(to === 'resolved' ? { resolved_at: at } : {}),
      ...(c.first_response_at === null ? { first_response_at: at } : {}),
    })
    .where('id', '=', caseId)
    .execute();
  await trx
    .insertInto('case_events')
    .values({
      utility_id: utilityId,
      case_id: caseId,
      kind: 'status',
      from_status: c.status,
      to_status: to,
      actor,
      created_at: at,
    })
    .execute();
}

export interface ContactInput {
  readonly name: string;
  readonly relation?: string | null | undefined;
  readonly phone?: string | null | undefined;
  readonly language: Language;
}

export async function addContact(
  db: Kysely<Database>,
  utilityId: UtilityId,
  id: string,
  input: ContactInput,
  by: Acting,
  now: Date,
): Promise<OutreachContact> {
  return db.transaction().execute(async (trx) => {
    const o = await lockOutreach(trx, utilityId, id, ['held', 'ended']);
    const row = await trx
      .insertInto('outreach_contacts')
      .values({
        utility_id: utilityId,
        deceased_account_id: o.id,
        name: input.name,
        relation: input.relation ?? null,
        phone: input.phone ?? null,
        language: input.language,
        created_by: by.actor,
        created_at: now,
      })
      .returning(['id', 'name', 'relation', 'phone', 'language'])
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      utilityId,
      actor: by.actor,
      action: 'outreach.contact',
      subject: `account:${o.account_id}`,
      details: { deceasedAccountId: o.id, contactId: row.id, relation: row.relation, language: row.language },
    });
    await caseNote(
      trx,
      utilityId,
      o.case_id,
      by.actor,
      now,
      `Family contact added: ${row.name}${row.relation ? ` (${row.relation})` : ''}${row.phone ? `, ${row.phone}` : ''}.`,
    );
    return row;
  });
}

const OUTCOME_TEXT: Readonly<Record<OutreachOutcome, string>> = Object.freeze({
  reached: 'reached',
  no_answer: 'no answer',
  busy: 'busy',
  wrong_number: 'wrong number',
  call_back: 'asked to be called back',
  declined: 'declined',
});

/** A call attempt and its outcome; the first `reached` marks the family contacted. */
export async function recordAttempt(
  db: Kysely<Database>,
  utilityId: UtilityId,
  id: string,
  input: {
    readonly contactId: string | null;
    readonly outcome: OutreachOutcome;
    readonly note?: string | null | undefined;
  },
  by: Acting,
  now: Date,
): Promise<OutreachAttempt> {
  return db.transaction().execute(async (trx) => {
    const o = await lockOutreach(trx, utilityId, id, ['held', 'ended']);
    let contactName: string | null = null;
    if (input.contactId !== null) {
      const c = await trx
        .selectFrom('outreach_contacts')
        .select('name')
        .where('id', '=', input.contactId)
        .where('deceased_account_id', '=', o.id)
        .executeTakeFirst();
      if (!c)
        throw new RasidError('not_found', `contactId: contact ${input.contactId} is not on this outreach`);
      contactName = c.name;
    }
    const row = await trx
      .insertInto('outreach_attempts')
      .values({
        utility_id: utilityId,
        deceased_account_id: o.id,
        contact_id: input.contactId,
        outcome: input.outcome,
        note: input.note ?? null,
        actor: by.actor,
        created_at: now,
      })
      .returning(['id', 'created_at'])
      .executeTakeFirstOrThrow();
    await trx
      .updateTable('deceased_accounts')
      .set({
        last_attempt_at: now,
        ...(input.outcome === 'reached' && o.first_reached_at === null ? { first_reached_at: now } : {}),
      })
      .where('id', '=', o.id)
      .execute();
    await writeAudit(trx, {
      utilityId,
      actor: by.actor,
      action: 'outreach.attempt',
      subject: `account:${o.account_id}`,
      details: {
        deceasedAccountId: o.id,
        attemptId: String(row.id),
        contactId: input.contactId,
        outcome: input.outcome,
      },
    });
    await caseStatus(trx, utilityId, o.case_id, 'in_progress', by.actor, now);
    await caseNote(
      trx,
      utilityId,
      o.case_id,
      by.actor,
      now,
      `Call to ${contactName ?? 'the family'}: ${OUTCOME_TEXT[input.outcome]}.${input.note ? ` ${input.note}` : ''}`,
    );
    return {
      id: String(row.id),
      contactId: input.contactId,
      contactName,
      outcome: input.outcome,
      note: input.note ?? null,
      actor: by.actor,
      at: row.created_at,
    };
  });
}

/** The confirming SMS to a family contact, in the contact's language: the subsidy held, how to transfer. */
export async function sendConfirmation(
  db: Kysely<Database>,
  utilityId: UtilityId,
  id: string,
  contactId: string,
  by: Acting,
  now: Date,
): Promise<{ notificationIds: string[]; language: Language; recipient: string }> {
  return db.transaction().execute(async (trx) => {
    const o = await lockOutreach(trx, utilityId, id, ['held']);
    const contact = await trx
      .selectFrom('outreach_contacts')
      .select(['id', 'name', 'phone', 'language'])
      .where('id', '=', contactId)
      .where('deceased_account_id', '=', o.id)
      .executeTakeFirst();
    if (!contact)
      throw new RasidError('not_found', `contactId: contact ${contactId} is not on this outreach`);
    if (!contact.phone)
      throw new RasidError('validation_failed', 'contactId: the contact has no phone number');
    const facts = await outreachDetail(trx, utilityId, o.id, now);
    const ids = await notify(trx, {
      utilityId,
      template: 'deceased_outreach',
      payload: {
        contactName: contact.name,
        holderName:
          contact.language === 'ar' ? (facts.holder.nameAr ?? facts.holder.name) : facts.holder.name,
        accountNumber: facts.account.number,
        graceEndsOn: (o.grace_ends_at ?? now).toISOString().slice(0, 10),
        caseNumber: facts.case?.number ?? '-',
      },
      dedupKey: `outreach:${o.id}:confirm:${contact.id}:${now.getTime()}`,
      to: { channel: 'sms', recipient: contact.phone, language: contact.language },
    });
    await writeAudit(trx, {
      utilityId,
      actor: by.actor,
      action: 'outreach.sms',
      subject: `account:${o.account_id}`,
      details: {
        deceasedAccountId: o.id,
        contactId: contact.id,
        language: contact.language,
        notificationIds: ids,
      },
    });
    await caseNote(
      trx,
      utilityId,
      o.case_id,
      by.actor,
      now,
      `Confirming SMS sent to ${contact.name} (${contact.language}).`,
    );
    return { notificationIds: ids, language: contact.language, recipient: contact.phone };
  });
}

export type HeirInput =
  | { readonly customerId: CustomerId }
  | {
      readonly nationalId: string;
      readonly name: string;
      readonly nameAr?: string | null | undefined;
      readonly phone?: string | null | undefined;
      readonly language: Language;
    };

export interface HeirTransferResult {
  readonly outreach: OutreachDetail;
  readonly heirCustomerId: CustomerId;
  readonly heirCreated: boolean;
  readonly subsidyCarried: boolean;
  readonly holderId: string;
  readonly notificationId: string | null;
}

/**
 * The account moved to an heir from the outreach case, through the account transfer (reason `death`, so the
 * subsidy carries when the heir holds no other subsidised account). The heir is a customer of the utility:
 * named by id, or by national id (found, or created with the details given).
 */
export async function transferToHeir(
  db: Kysely<Database>,
  utilityId: UtilityId,
  id: string,
  input: {
    readonly heir: HeirInput;
    readonly evidenceRef: string;
    readonly note?: string | null | undefined;
  },
  by: Acting,
  now: () => Date,
): Promise<HeirTransferResult> {
  const o = await db
    .selectFrom('deceased_accounts')
    .select(['id', 'status', 'account_id', 'case_id'])
    .where('utility_id', '=', utilityId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!o) throw new RasidError('not_found', `deceased account ${id} is unknown`);
  if (o.status !== 'held' && o.status !== 'ended') {
    throw new RasidError('conflict', `the outreach is ${o.status}: expected held or ended`);
  }
  const { customerId, created } = await heirCustomer(db, utilityId, input.heir, by);
  const result = await transferAccount(
    db,
    {
      utilityId,
      accountId: o.account_id,
      toCustomerId: customerId,
      reason: 'death',
      evidenceRef: input.evidenceRef,
      note: input.note ?? null,
      performedBy: by.userId,
      actor: by.actor,
    },
    now,
  );
  await db.transaction().execute(async (trx) => {
    await lockOutreach(trx, utilityId, id, ['held', 'ended', 'transferred']);
    await markTransferred(
      trx,
      utilityId,
      { id: o.id, account_id: o.account_id, case_id: o.case_id },
      by.actor,
      {
        at: result.at,
        subsidyCarried: result.subsidyCarried,
        toCustomerId: customerId,
        holderId: result.holderId,
      },
    );
  });
  return {
    outreach: await outreachDetail(db, utilityId, id, now()),
    heirCustomerId: customerId,
    heirCreated: created,
    subsidyCarried: result.subsidyCarried,
    holderId: result.holderId,
    notificationId: result.notificationId,
  };
}

async function heirCustomer(
  db: Kysely<Database>,
  utilityId: UtilityId,
  heir: HeirInput,
  by: Acting,
): Promise<{ customerId: CustomerId; created: boolean }> {
  if ('customerId' in heir) return { customerId: heir.customerId, created: false };
  return db.transaction().execute(async (trx) => {
    const found = await trx
      .selectFrom('customers')
      .select('id')
      .where('utility_id', '=', utilityId)
      .where('national_id', '=', heir.nationalId)
      .executeTakeFirst();
    if (found) return { customerId: found.id, created: false };
    const row = await trx
      .insertInto('customers')
      .values({
        utility_id: utilityId,
        national_id: heir.nationalId,
        name: heir.name,
        name_ar: heir.nameAr ?? null,
        phone: heir.phone ?? null,
        preferred_language: heir.language,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      utilityId,
      actor: by.actor,
      action: 'customer.create',
      subject: `customer:${row.id}`,
      details: { nationalId: heir.nationalId, via: 'heir_transfer' },
    });
    return { customerId: row.id, created: true };
  });
}

async function markTransferred(
  trx: Queryable,
  utilityId: UtilityId,
  o: { id: string; account_id: AccountId; case_id: CaseId | null },
  actor: string,
  t: { at: Date; subsidyCarried: boolean; toCustomerId: CustomerId; holderId: string },
): Promise<void> {
  await trx
    .updateTable('deceased_accounts')
    .set({ status: 'transferred', transferred_at: t.at, subsidy_carried: t.subsidyCarried })
    .where('id', '=', o.id)
    .execute();
  await writeAudit(trx, {
    utilityId,
    actor,
    action: 'outreach.transferred',
    subject: `account:${o.account_id}`,
    details: {
      deceasedAccountId: o.id,
      toCustomerId: t.toCustomerId,
      holderId: t.holderId,
      subsidyCarried: t.subsidyCarried,
    },
  });
  await caseNote(
    trx,
    utilityId,
    o.case_id,
    actor,
    t.at,
    `Account transferred to the heir; the subsidy ${t.subsidyCarried ? 'carried over' : 'did not carry over'}.`,
  );
  await caseStatus(trx, utilityId, o.case_id, 'resolved', actor, t.at);
}

export interface SweepReport {
  /** Held accounts found transferred by another route (the account screen). */
  readonly reconciled: number;
  /** Held accounts whose grace ended: the subsidy ended and the family told. */
  readonly ended: number;
  /** Stalled outreach cases that got a reminder on their timeline. */
  readonly reminded: number;
}

/**
 * The workers' periodic pass over held accounts (src/roles/meters-online.ts): a transfer made elsewhere is
 * recorded; a grace end that has passed ends the subsidy, with notice to the family; an outreach with no call
 * attempt for the utility's stall days gets a reminder on its case (once per quiet spell).
 */
export async function sweepDeceased(db: Kysely<Database>, now: Date): Promise<SweepReport> {
  const held = await db
    .selectFrom('deceased_accounts as d')
    .innerJoin('holder_deaths as h', 'h.id', 'd.death_id')
    .innerJoin('accounts as a', 'a.id', 'd.account_id')
    .innerJoin('utilities as u', 'u.id', 'd.utility_id')
    .select([
      'd.id',
      'd.utility_id',
      'd.grace_ends_at',
      'd.last_attempt_at',
      'd.reminded_at',
      'd.created_at',
      'h.customer_id as deceased_id',
      'a.customer_id as holder_now',
      'u.outreach_stall_days',
    ])
    .where('d.status', '=', 'held')
    .orderBy('d.grace_ends_at')
    .execute();
  let reconciled = 0;
  let ended = 0;
  let reminded = 0;
  for (const h of held) {
    if (h.holder_now !== h.deceased_id) {
      if (await reconcileTransfer(db, h.utility_id, h.id)) reconciled++;
      continue;
    }
    if (h.grace_ends_at !== null && h.grace_ends_at.getTime() <= now.getTime()) {
      if (await endSubsidy(db, h.utility_id, h.id, now)) ended++;
      continue;
    }
    const since = h.last_attempt_at ?? h.created_at;
    const quiet = now.getTime() - since.getTime() >= h.outreach_stall_days * DAY_MS;
    if (quiet && (h.reminded_at === null || h.reminded_at.getTime() < since.getTime())) {
      if (await remind(db, h.utility_id, h.id, h.outreach_stall_days, now)) reminded++;
    }
  }
  return { reconciled, ended, reminded };
}

async function reconcileTransfer(db: Kysely<Database>, utilityId: UtilityId, id: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const o = await trx
      .selectFrom('deceased_accounts')
      .select(['id', 'status', 'account_id', 'case_id'])
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (o?.status !== 'held') return false;
    const holding = await trx
      .selectFrom('account_holders')
      .select(['id', 'customer_id', 'from_at', 'subsidy_carried'])
      .where('account_id', '=', o.account_id)
      .where('to_at', 'is', null)
      .executeTakeFirst();
    if (!holding) return false;
    await markTransferred(trx, utilityId, o, SWEEP_ACTOR, {
      at: holding.from_at,
      subsidyCarried: holding.subsidy_carried ?? false,
      toCustomerId: holding.customer_id,
      holderId: String(holding.id),
    });
    return true;
  });
}

async function endSubsidy(
  db: Kysely<Database>,
  utilityId: UtilityId,
  id: string,
  now: Date,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const o = await trx
      .selectFrom('deceased_accounts as d')
      .innerJoin('holder_deaths as h', 'h.id', 'd.death_id')
      .select(['d.id', 'd.status', 'd.account_id', 'd.case_id', 'd.grace_ends_at', 'h.customer_id'])
      .where('d.id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (o?.status !== 'held' || o.grace_ends_at === null || o.grace_ends_at > now) return false;
    const account = await trx
      .selectFrom('accounts as a')
      .innerJoin('customers as c', 'c.id', 'a.customer_id')
      .select(['a.id', 'a.number', 'a.customer_id', 'a.subsidy_eligible', 'c.name', 'c.name_ar'])
      .where('a.id', '=', o.account_id)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (account.customer_id !== o.customer_id) return false; // transferred meanwhile: the next pass records it
    await trx.updateTable('accounts').set({ subsidy_eligible: false }).where('id', '=', account.id).execute();
    await trx
      .updateTable('deceased_accounts')
      .set({ status: 'ended', ended_at: now })
      .where('id', '=', o.id)
      .execute();
    const kase =
      o.case_id === null
        ? null
        : await trx.selectFrom('cases').select('number').where('id', '=', o.case_id).executeTakeFirst();
    const contacts = await trx
      .selectFrom('outreach_contacts')
      .select(['id', 'name', 'phone', 'language'])
      .where('deceased_account_id', '=', o.id)
      .where('phone', 'is not', null)
      .orderBy('created_at')
      .execute();
    const base = {
      accountNumber: account.number,
      at: now.toISOString(),
      caseNumber: kase ? caseNumber(kase.number) : '-',
    };
    const ids: string[] = [];
    for (const c of contacts) {
      ids.push(
        ...(await notify(trx, {
          utilityId,
          template: 'subsidy_ended',
          payload: {
            ...base,
            contactName: c.name,
            holderName: c.language === 'ar' ? (account.name_ar ?? account.name) : account.name,
          },
          dedupKey: `outreach:${o.id}:subsidy-ended:${c.id}`,
          to: { channel: 'sms', recipient: c.phone as string, language: c.language },
        })),
      );
    }
    if (contacts.length === 0) {
      // No family contact known: the notice goes to the account's own address (often the family's now).
      ids.push(
        ...(await notify(trx, {
          utilityId,
          template: 'subsidy_ended',
          payload: { ...base, contactName: account.name, holderName: account.name },
          dedupKey: `outreach:${o.id}:subsidy-ended`,
          customerId: account.customer_id,
        })),
      );
    }
    await writeAudit(trx, {
      utilityId,
      actor: SWEEP_ACTOR,
      action: 'account.subsidy_ended',
      subject: `account:${account.id}`,
      details: {
        deceasedAccountId: o.id,
        reason: 'deceased_holder_grace_ended',
        graceEndedAt: o.grace_ends_at.toISOString(),
        subsidyWasEligible: account.subsidy_eligible,
        notificationIds: ids,
      },
    });
    await caseNote(
      trx,
      utilityId,
      o.case_id,
      SWEEP_ACTOR,
      now,
      `The grace period ended without a transfer: the subsidy ended and the family was told (${ids.length} message${ids.length === 1 ? '' : 's'}).`,
    );
    await caseStatus(trx, utilityId, o.case_id, 'resolved', SWEEP_ACTOR, now);
    return true;
  });
}

async function remind(
  db: Kysely<Database>,
  utilityId: UtilityId,
  id: string,
  stallDays: number,
  now: Date,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const o = await trx
      .selectFrom('deceased_accounts')
      .select(['id', 'status', 'case_id', 'account_id'])
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (o?.status !== 'held') return false;
    await trx.updateTable('deceased_accounts').set({ reminded_at: now }).where('id', '=', o.id).execute();
    await caseNote(
      trx,
      utilityId,
      o.case_id,
      SWEEP_ACTOR,
      now,
      `Reminder: no call attempt to the family for ${stallDays} day${stallDays === 1 ? '' : 's'}.`,
    );
    await writeAudit(trx, {
      utilityId,
      actor: SWEEP_ACTOR,
      action: 'outreach.reminder',
      subject: `account:${o.account_id}`,
      details: { deceasedAccountId: o.id, stallDays },
    });
    return true;
  });
}

export interface OutreachKpi {
  readonly from: Date | null;
  readonly to: Date | null;
  /** Accounts of dead holders marked (subsidised or not). */
  readonly accountsMarked: number;
  /** Subsidised accounts found: the outreach population. */
  readonly found: number;
  /** Of those, the families reached at least once. */
  readonly contacted: number;
  readonly transferred: number;
  readonly transferredWithSubsidy: number;
  /** Grace ended without a transfer: subsidy ended. */
  readonly ended: number;
  /** Still held (awaiting a transfer), and of those stalled. */
  readonly pending: number;
  readonly stalled: number;
  /** transferred / found, in per cent with one decimal; null when none found. */
  readonly updatedShare: number | null;
  readonly contactedShare: number | null;
  /** Days from the death becoming known to the transfer. */
  readonly daysToTransfer: { readonly mean: number | null; readonly median: number | null };
}

/** The outreach figures of a utility, over accounts marked in [from, to) when given. */
export async function outreachKpi(
  db: Kysely<Database>,
  utilityId: UtilityId,
  period: { from?: Date | undefined; to?: Date | undefined },
  now: Date,
): Promise<OutreachKpi> {
  let q = db
    .selectFrom('deceased_accounts as d')
    .innerJoin('utilities as u', 'u.id', 'd.utility_id')
    .select([
      'd.subsidised',
      'd.status',
      'd.first_reached_at',
      'd.last_attempt_at',
      'd.created_at',
      'd.transferred_at',
      'd.subsidy_carried',
      'u.outreach_stall_days',
    ])
    .where('d.utility_id', '=', utilityId);
  if (period.from) q = q.where('d.created_at', '>=', period.from);
  if (period.to) q = q.where('d.created_at', '<', period.to);
  const rows = await q.execute();
  const subsidised = rows.filter((r) => r.subsidised);
  const transferred = subsidised.filter((r) => r.status === 'transferred');
  const days = transferred
    .filter((r) => r.transferred_at !== null)
    .map((r) => ((r.transferred_at as Date).getTime() - r.created_at.getTime()) / DAY_MS)
    .sort((a, b) => a - b);
  const round1 = (x: number) => Math.round(x * 10) / 10;
  const share = (n: number) =>
    subsidised.length === 0 ? null : Math.round((n / subsidised.length) * 1000) / 10;
  const median =
    days.length === 0
      ? null
      : days.length % 2 === 1
        ? (days[(days.length - 1) / 2] as number)
        : ((days[days.length / 2 - 1] as number) + (days[days.length / 2] as number)) / 2;
  const pending = subsidised.filter((r) => r.status === 'held');
  return {
    from: period.from ?? null,
    to: period.to ?? null,
    accountsMarked: rows.length,
    found: subsidised.length,
    contacted: subsidised.filter((r) => r.first_reached_at !== null).length,
    transferred: transferred.length,
    transferredWithSubsidy: transferred.filter((r) => r.subsidy_carried === true).length,
    ended: subsidised.filter((r) => r.status === 'ended').length,
    pending: pending.length,
    stalled: pending.filter(
      (r) => now.getTime() - (r.last_attempt_at ?? r.created_at).getTime() >= r.outreach_stall_days * DAY_MS,
    ).length,
    updatedShare: share(transferred.length),
    contactedShare: share(subsidised.filter((r) => r.first_reached_at !== null).length),
    daysToTransfer: {
      mean: days.length === 0 ? null : round1(days.reduce((s, d) => s + d, 0) / days.length),
      median: median === null ? null : round1(median),
    },
  };
}
