/**
 * Door-to-door record clean-up campaigns (docs/field.md). A campaign covers premises, chosen by area or one
 * by one; each premise is assigned to a field agent (a technician). The agent's phone keeps the assigned
 * premises and records visits offline under ids it generates, so a visit that arrives twice is stored once.
 * On arrival a visit is compared with the records of its premise: what differs becomes a proposed change,
 * which a supervisor (an operator) applies through the services every other screen uses — customers
 * (src/accounts/customers.ts), account transfers (src/accounts/transfer.ts), meter states
 * (src/meters/lifecycle.ts) — so each correction is audited as any other change is, or rejects.
 */
import type { Kysely } from 'kysely';
import type { Actor } from '../accounts/accounts.ts';
import { writeAudit } from '../accounts/audit.ts';
import { createCustomerIn, updateCustomerIn } from '../accounts/customers.ts';
import { transferAccount } from '../accounts/transfer.ts';
import { RasidError } from '../errors.ts';
import { MeterStateError, moveMeterIn } from '../meters/lifecycle.ts';
import type { Queryable } from '../store/ledger.ts';
import type {
  AccountId,
  CustomerId,
  Database,
  FieldCampaignId,
  FieldChangeId,
  FieldChangeKind,
  FieldChangeStatus,
  FieldOutcome,
  FieldPremiseUse,
  FieldVisitId,
  MeterId,
  PremiseId,
  UserId,
  UtilityId,
} from '../store/schema.ts';

/** The largest meter photo kept, in bytes (the phone shrinks its pictures well below this). */
export const PHOTO_MAX_BYTES = 512 * 1024;
export const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;
export type PhotoType = (typeof PHOTO_TYPES)[number];
export const FIELD_OUTCOMES = [
  'visited',
  'nobody_home',
  'refused',
] as const satisfies readonly FieldOutcome[];
export const PREMISE_USES = [
  'residential',
  'commercial',
  'vacant',
  'other',
] as const satisfies readonly FieldPremiseUse[];
export const CHANGE_KINDS = [
  'customer.phone',
  'customer.national_id',
  'account.holder',
  'meter.tamper',
] as const satisfies readonly FieldChangeKind[];

/** The first bytes of each photo type accepted: a photo is what its bytes say, not what the phone claims. */
const MAGIC: Readonly<Record<PhotoType, (b: Buffer) => boolean>> = Object.freeze({
  'image/jpeg': (b) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  'image/png': (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  'image/webp': (b) =>
    b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP',
});

/** Names compared as people write them: case, spaces and Arabic letter variants (أ إ آ ا, ة ه, ى ي) aside. */
export function sameName(a: string, b: string): boolean {
  const norm = (s: string) =>
    s
      .normalize('NFKC')
      .toLowerCase()
      .replace(/[\u064B-\u065F\u0640]/g, '')
      .replace(/[أإآ]/g, 'ا')
      .replace(/ة/g, 'ه')
      .replace(/ى/g, 'ي')
      .replace(/\s+/g, ' ')
      .trim();
  return norm(a) === norm(b);
}

/** A meter serial compared as printed: case and spaces aside. */
export function serialKey(serial: string): string {
  return serial.replace(/\s+/g, '').toUpperCase();
}

// ---------------------------------------------------------------- campaigns and assignments

export interface PremiseChoice {
  /** Every premise of these areas. */
  readonly areas?: readonly string[] | undefined;
  /** And these premises. */
  readonly premiseIds?: readonly string[] | undefined;
}

function choose(db: Queryable, utilityId: UtilityId, choice: PremiseChoice) {
  const areas = [...(choice.areas ?? [])];
  const ids = [...(choice.premiseIds ?? [])] as PremiseId[];
  return db
    .selectFrom('premises')
    .select(['id', 'area'])
    .where('utility_id', '=', utilityId)
    .where((eb) =>
      eb.or([
        ...(areas.length > 0 ? [eb('area', 'in', areas)] : []),
        ...(ids.length > 0 ? [eb('id', 'in', ids)] : []),
        ...(areas.length === 0 && ids.length === 0 ? [eb.val(false)] : []),
      ]),
    )
    .execute();
}

export interface CampaignSummary {
  readonly id: FieldCampaignId;
  readonly name: string;
  readonly status: 'open' | 'closed';
  readonly createdAt: Date;
  readonly premises: number;
  readonly assigned: number;
  readonly visited: number;
}

/** Opens a campaign over the chosen premises, none assigned yet; audited as `field.campaign.create`. */
export async function createCampaign(
  db: Kysely<Database>,
  req: { utilityId: UtilityId; name: string; by: Actor } & PremiseChoice,
): Promise<{ id: FieldCampaignId; premises: number }> {
  return db.transaction().execute(async (trx) => {
    const premises = await choose(trx, req.utilityId, req);
    if (premises.length === 0) {
      throw new RasidError('validation_failed', 'areas: no premise of this utility is in these areas or ids');
    }
    const c = await trx
      .insertInto('field_campaigns')
      .values({ utility_id: req.utilityId, name: req.name, created_by: req.by.actor })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('field_assignments')
      .values(premises.map((p) => ({ utility_id: req.utilityId, campaign_id: c.id, premise_id: p.id })))
      .execute();
    await writeAudit(trx, {
      utilityId: req.utilityId,
      actor: req.by.actor,
      action: 'field.campaign.create',
      subject: `field_campaign:${c.id}`,
      details: { name: req.name, areas: [...(req.areas ?? [])], premises: premises.length },
    });
    return { id: c.id, premises: premises.length };
  });
}

async function campaignOf(db: Queryable, utilityId: UtilityId, id: string) {
  const c = await db
    .selectFrom('field_campaigns')
    .select(['id', 'name', 'status', 'created_at'])
    .where('id', '=', id as FieldCampaignId)
    .where('utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!c) throw new RasidError('not_found', `campaign ${id} is unknown`);
  return c;
}

/** Closes a campaign (agents' phones stop listing it); visits recorded before still arrive. */
export async function closeCampaign(
  db: Kysely<Database>,
  req: { utilityId: UtilityId; campaignId: string; by: Actor },
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const c = await campaignOf(trx, req.utilityId, req.campaignId);
    if (c.status === 'closed') return;
    await trx.updateTable('field_campaigns').set({ status: 'closed' }).where('id', '=', c.id).execute();
    await writeAudit(trx, {
      utilityId: req.utilityId,
      actor: req.by.actor,
      action: 'field.campaign.close',
      subject: `field_campaign:${c.id}`,
    });
  });
}

/**
 * Assigns the chosen premises of a campaign to a field agent (a technician of the utility), taking them from
 * whoever had them; audited as `field.assign`. Answers how many premises the agent now holds from the choice.
 */
export async function assignPremises(
  db: Kysely<Database>,
  req: { utilityId: UtilityId; campaignId: string; agentId: string; by: Actor; now?: Date } & PremiseChoice,
): Promise<{ assigned: number }> {
  return db.transaction().execute(async (trx) => {
    const c = await campaignOf(trx, req.utilityId, req.campaignId);
    const agent = await trx
      .selectFrom('users')
      .select(['id', 'username', 'role'])
      .where('id', '=', req.agentId as UserId)
      .where('utility_id', '=', req.utilityId)
      .executeTakeFirst();
    if (agent?.role !== 'technician') {
      throw new RasidError('validation_failed', 'agentId: not a technician of this utility');
    }
    const premises = await choose(trx, req.utilityId, req);
    if (premises.length === 0) return { assigned: 0 };
    const updated = await trx
      .updateTable('field_assignments')
      .set({ agent_id: agent.id, assigned_at: req.now ?? new Date() })
      .where('campaign_id', '=', c.id)
      .where(
        'premise_id',
        'in',
        premises.map((p) => p.id),
      )
      .executeTakeFirst();
    const assigned = Number(updated.numUpdatedRows);
    await writeAudit(trx, {
      utilityId: req.utilityId,
      actor: req.by.actor,
      action: 'field.assign',
      subject: `field_campaign:${c.id}`,
      details: { agent: agent.username, areas: [...(req.areas ?? [])], premises: assigned },
    });
    return { assigned };
  });
}

/** The utility's campaigns, newest first, with how far each has got. */
export async function listCampaigns(db: Kysely<Database>, utilityId: UtilityId): Promise<CampaignSummary[]> {
  const campaigns = await db
    .selectFrom('field_campaigns')
    .select(['id', 'name', 'status', 'created_at'])
    .where('utility_id', '=', utilityId)
    .orderBy('created_at', 'desc')
    .execute();
  const out: CampaignSummary[] = [];
  for (const c of campaigns) {
    const k = await campaignKpis(db, utilityId, c.id);
    out.push({
      id: c.id,
      name: c.name,
      status: c.status,
      createdAt: c.created_at,
      premises: k.total.premises,
      assigned: k.total.assigned,
      visited: k.total.visited,
    });
  }
  return out;
}

// ---------------------------------------------------------------- the agent's work list

export interface AssignedPremise {
  readonly campaignId: FieldCampaignId;
  readonly campaignName: string;
  readonly premiseId: PremiseId;
  readonly address: string;
  readonly area: string | null;
  readonly account: {
    readonly number: string;
    readonly holderName: string;
    readonly phone: string | null;
    readonly nationalId: string | null;
  } | null;
  readonly meters: { readonly serial: string; readonly kind: string; readonly status: string }[];
  /** Outcome of the latest visit that has arrived, if any. */
  readonly lastOutcome: FieldOutcome | null;
}

/** The account a premise's records say is there: the newest that is not closed. */
async function premiseRecords(db: Queryable, utilityId: UtilityId, premiseIds: readonly PremiseId[]) {
  if (premiseIds.length === 0) return new Map<PremiseId, PremiseRecord>();
  const accounts = await db
    .selectFrom('accounts as a')
    .innerJoin('customers as c', 'c.id', 'a.customer_id')
    .select([
      'a.id as account_id',
      'a.number',
      'a.premise_id',
      'a.status',
      'a.created_at',
      'c.id as customer_id',
      'c.name',
      'c.phone',
      'c.national_id',
    ])
    .where('a.utility_id', '=', utilityId)
    .where('a.premise_id', 'in', [...premiseIds])
    .where('a.status', '!=', 'closed')
    .orderBy('a.created_at', 'desc')
    .execute();
  const out = new Map<PremiseId, PremiseRecord>();
  for (const a of accounts) {
    if (out.has(a.premise_id)) continue;
    out.set(a.premise_id, {
      accountId: a.account_id,
      number: a.number,
      customerId: a.customer_id,
      holderName: a.name,
      phone: a.phone,
      nationalId: a.national_id,
      meters: [],
    });
  }
  const accountIds = [...out.values()].map((r) => r.accountId);
  if (accountIds.length > 0) {
    const meters = await db
      .selectFrom('meters')
      .select(['id', 'serial', 'kind', 'status', 'account_id'])
      .where('account_id', 'in', accountIds)
      .where('status', '!=', 'decommissioned')
      .orderBy('serial')
      .execute();
    const byAccount = new Map([...out.values()].map((r) => [r.accountId, r]));
    for (const m of meters) {
      if (m.account_id)
        byAccount
          .get(m.account_id)
          ?.meters.push({ id: m.id, serial: m.serial, kind: m.kind, status: m.status });
    }
  }
  return out;
}

interface PremiseRecord {
  accountId: AccountId;
  number: string;
  customerId: CustomerId;
  holderName: string;
  phone: string | null;
  nationalId: string | null;
  meters: { id: MeterId; serial: string; kind: string; status: string }[];
}

/** The premises of open campaigns assigned to this agent, with what the records say about each. */
export async function agentWork(
  db: Kysely<Database>,
  utilityId: UtilityId,
  agentId: UserId,
): Promise<AssignedPremise[]> {
  const rows = await db
    .selectFrom('field_assignments as fa')
    .innerJoin('field_campaigns as fc', 'fc.id', 'fa.campaign_id')
    .innerJoin('premises as p', 'p.id', 'fa.premise_id')
    .select(['fc.id as campaign_id', 'fc.name as campaign_name', 'p.id as premise_id', 'p.address', 'p.area'])
    .where('fa.utility_id', '=', utilityId)
    .where('fa.agent_id', '=', agentId)
    .where('fc.status', '=', 'open')
    .orderBy('fc.created_at')
    .orderBy('p.area')
    .orderBy('p.address')
    .execute();
  const records = await premiseRecords(
    db,
    utilityId,
    rows.map((r) => r.premise_id),
  );
  const visits =
    rows.length === 0
      ? []
      : await db
          .selectFrom('field_visits')
          .select(['campaign_id', 'premise_id', 'outcome', 'visited_at'])
          .where('agent_id', '=', agentId)
          .where('campaign_id', 'in', [...new Set(rows.map((r) => r.campaign_id))])
          .orderBy('visited_at')
          .execute();
  const last = new Map(visits.map((v) => [`${v.campaign_id}/${v.premise_id}`, v.outcome]));
  return rows.map((r) => {
    const rec = records.get(r.premise_id);
    return {
      campaignId: r.campaign_id,
      campaignName: r.campaign_name,
      premiseId: r.premise_id,
      address: r.address,
      area: r.area,
      account: rec
        ? { number: rec.number, holderName: rec.holderName, phone: rec.phone, nationalId: rec.nationalId }
        : null,
      meters: rec ? rec.meters.map((m) => ({ serial: m.serial, kind: m.kind, status: m.status })) : [],
      lastOutcome: last.get(`${r.campaign_id}/${r.premise_id}`) ?? null,
    };
  });
}

// ---------------------------------------------------------------- visits

export interface VisitInput {
  /** Generated by the phone when the visit is recorded: the same visit sent again has the same id. */
  readonly id: string;
  readonly campaignId: string;
  readonly premiseId: string;
  readonly outcome: FieldOutcome;
  readonly visitedAt: Date;
  readonly occupantName?: string | undefined;
  readonly payerName?: string | undefined;
  readonly phone?: string | undefined;
  readonly nationalId?: string | undefined;
  readonly premiseUse?: FieldPremiseUse | undefined;
  readonly premiseNote?: string | undefined;
  readonly meter?:
    | {
        readonly serial?: string | undefined;
        readonly reading?: string | undefined;
        readonly sealNumber?: string | undefined;
        readonly sealIntact?: boolean | undefined;
        readonly tamperSigns?: boolean | undefined;
      }
    | undefined;
  readonly position?:
    | { readonly latitude: number; readonly longitude: number; readonly accuracy?: number | undefined }
    | undefined;
  readonly photo?: { readonly type: PhotoType; readonly bytes: Buffer } | undefined;
}

export interface VisitReceipt {
  readonly id: FieldVisitId;
  /** True when this id had arrived before: nothing was stored again. */
  readonly duplicate: boolean;
  /** Changes proposed from this visit (none for a duplicate). */
  readonly proposed: number;
}

/** Checks a photo's size and that its bytes are of the type claimed. */
export function checkPhoto(photo: { type: PhotoType; bytes: Buffer }): void {
  if (photo.bytes.length === 0) throw new RasidError('validation_failed', 'photo: empty');
  if (photo.bytes.length > PHOTO_MAX_BYTES) {
    throw new RasidError(
      'payload_too_large',
      `photo: ${photo.bytes.length} bytes, at most ${PHOTO_MAX_BYTES}`,
    );
  }
  if (!MAGIC[photo.type](photo.bytes)) {
    throw new RasidError('validation_failed', `photo: the bytes are not ${photo.type}`);
  }
}

interface Proposal {
  kind: FieldChangeKind;
  subject: string;
  current: string | null;
  proposed: string | null;
  details: Record<string, unknown>;
}

/**
 * What a visit found that differs from the records. When the person who pays is not the account's holder,
 * the phone and national id given are theirs, so the one proposal is a change of holder; otherwise the
 * holder's phone and national id are compared. A meter with signs of tampering or a broken seal is proposed
 * for suspension.
 */
function proposals(v: VisitInput, rec: PremiseRecord | undefined): Proposal[] {
  if (v.outcome !== 'visited' || !rec) return [];
  const out: Proposal[] = [];
  if (v.payerName && !sameName(v.payerName, rec.holderName)) {
    out.push({
      kind: 'account.holder',
      subject: `account:${rec.accountId}`,
      current: rec.holderName,
      proposed: v.payerName,
      details: {
        accountNumber: rec.number,
        fromCustomerId: rec.customerId,
        name: v.payerName,
        phone: v.phone ?? null,
        nationalId: v.nationalId ?? null,
      },
    });
  } else {
    if (v.phone && v.phone !== rec.phone) {
      out.push({
        kind: 'customer.phone',
        subject: `customer:${rec.customerId}`,
        current: rec.phone,
        proposed: v.phone,
        details: { accountNumber: rec.number },
      });
    }
    if (v.nationalId && v.nationalId !== rec.nationalId) {
      out.push({
        kind: 'customer.national_id',
        subject: `customer:${rec.customerId}`,
        current: rec.nationalId,
        proposed: v.nationalId,
        details: { accountNumber: rec.number },
      });
    }
  }
  const seen = v.meter?.serial ? serialKey(v.meter.serial) : null;
  const meter = seen ? rec.meters.find((m) => serialKey(m.serial) === seen) : undefined;
  if (meter && (v.meter?.tamperSigns === true || v.meter?.sealIntact === false)) {
    out.push({
      kind: 'meter.tamper',
      subject: `meter:${meter.id}`,
      current: meter.status,
      proposed: 'suspended',
      details: {
        serial: meter.serial,
        tamperSigns: v.meter?.tamperSigns ?? null,
        sealIntact: v.meter?.sealIntact ?? null,
        sealNumber: v.meter?.sealNumber ?? null,
      },
    });
  }
  return out;
}

/**
 * Stores a visit once, whatever number of times it is sent: the phone's id is the key, and a second arrival
 * answers `duplicate` without writing. Only a premise assigned to this agent in the campaign is accepted.
 * The visit's findings are compared with the records in the same transaction.
 */
export async function recordVisit(
  db: Kysely<Database>,
  utilityId: UtilityId,
  agentId: UserId,
  v: VisitInput,
): Promise<VisitReceipt> {
  if (v.photo) checkPhoto(v.photo);
  const id = v.id as FieldVisitId;
  return db.transaction().execute(async (trx) => {
    const before = await trx
      .selectFrom('field_visits')
      .select(['utility_id', 'agent_id'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (before) {
      if (before.utility_id !== utilityId || before.agent_id !== agentId) {
        throw new RasidError('conflict', `id: visit ${id} was recorded by someone else`);
      }
      return { id, duplicate: true, proposed: 0 };
    }
    const assignment = await trx
      .selectFrom('field_assignments')
      .select(['id', 'agent_id'])
      .where('utility_id', '=', utilityId)
      .where('campaign_id', '=', v.campaignId as FieldCampaignId)
      .where('premise_id', '=', v.premiseId as PremiseId)
      .executeTakeFirst();
    if (!assignment) throw new RasidError('not_found', `premiseId: not in campaign ${v.campaignId}`);
    if (assignment.agent_id !== agentId) {
      throw new RasidError('forbidden', 'premiseId: this premise is assigned to another field agent');
    }
    const inserted = await trx
      .insertInto('field_visits')
      .values({
        id,
        utility_id: utilityId,
        campaign_id: v.campaignId as FieldCampaignId,
        premise_id: v.premiseId as PremiseId,
        agent_id: agentId,
        outcome: v.outcome,
        visited_at: v.visitedAt,
        occupant_name: v.occupantName ?? null,
        payer_name: v.payerName ?? null,
        phone: v.phone ?? null,
        national_id: v.nationalId ?? null,
        premise_use: v.premiseUse ?? null,
        premise_note: v.premiseNote ?? null,
        meter_serial: v.meter?.serial ?? null,
        meter_reading: v.meter?.reading ?? null,
        seal_number: v.meter?.sealNumber ?? null,
        seal_intact: v.meter?.sealIntact ?? null,
        tamper_signs: v.meter?.tamperSigns ?? null,
        latitude: v.position?.latitude ?? null,
        longitude: v.position?.longitude ?? null,
        accuracy_m: v.position?.accuracy ?? null,
        photo: v.photo?.bytes ?? null,
        photo_type: v.photo?.type ?? null,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    // Another request with the same id won the race: it is the one stored.
    if (!inserted) return { id, duplicate: true, proposed: 0 };
    const records = await premiseRecords(trx, utilityId, [v.premiseId as PremiseId]);
    const found = proposals(v, records.get(v.premiseId as PremiseId));
    if (found.length > 0) {
      await trx
        .insertInto('field_changes')
        .values(
          found.map((p) => ({
            utility_id: utilityId,
            campaign_id: v.campaignId as FieldCampaignId,
            visit_id: id,
            premise_id: v.premiseId as PremiseId,
            kind: p.kind,
            subject: p.subject,
            current_value: p.current,
            proposed_value: p.proposed,
            details: p.details,
          })),
        )
        .execute();
    }
    return { id, duplicate: false, proposed: found.length };
  });
}

export interface VisitView {
  readonly id: FieldVisitId;
  readonly campaignId: FieldCampaignId;
  readonly premiseId: PremiseId;
  readonly address: string;
  readonly area: string | null;
  readonly agent: string;
  readonly outcome: FieldOutcome;
  readonly visitedAt: Date;
  readonly receivedAt: Date;
  readonly occupantName: string | null;
  readonly payerName: string | null;
  readonly phone: string | null;
  readonly nationalId: string | null;
  readonly premiseUse: FieldPremiseUse | null;
  readonly meterSerial: string | null;
  readonly meterReading: string | null;
  readonly sealNumber: string | null;
  readonly sealIntact: boolean | null;
  readonly tamperSigns: boolean | null;
  readonly latitude: number | null;
  readonly longitude: number | null;
  readonly photo: boolean;
}

/** A campaign's visits as they arrived, newest first. */
export async function listVisits(
  db: Kysely<Database>,
  utilityId: UtilityId,
  campaignId: string,
): Promise<VisitView[]> {
  await campaignOf(db, utilityId, campaignId);
  const rows = await db
    .selectFrom('field_visits as v')
    .innerJoin('premises as p', 'p.id', 'v.premise_id')
    .innerJoin('users as u', 'u.id', 'v.agent_id')
    .select([
      'v.id',
      'v.campaign_id',
      'v.premise_id',
      'p.address',
      'p.area',
      'u.username',
      'v.outcome',
      'v.visited_at',
      'v.received_at',
      'v.occupant_name',
      'v.payer_name',
      'v.phone',
      'v.national_id',
      'v.premise_use',
      'v.meter_serial',
      'v.meter_reading',
      'v.seal_number',
      'v.seal_intact',
      'v.tamper_signs',
      'v.latitude',
      'v.longitude',
      'v.photo_type',
    ])
    .where('v.campaign_id', '=', campaignId as FieldCampaignId)
    .orderBy('v.received_at', 'desc')
    .orderBy('v.id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    campaignId: r.campaign_id,
    premiseId: r.premise_id,
    address: r.address,
    area: r.area,
    agent: r.username,
    outcome: r.outcome,
    visitedAt: r.visited_at,
    receivedAt: r.received_at,
    occupantName: r.occupant_name,
    payerName: r.payer_name,
    phone: r.phone,
    nationalId: r.national_id,
    premiseUse: r.premise_use,
    meterSerial: r.meter_serial,
    meterReading: r.meter_reading,
    sealNumber: r.seal_number,
    sealIntact: r.seal_intact,
    tamperSigns: r.tamper_signs,
    latitude: r.latitude,
    longitude: r.longitude,
    photo: r.photo_type !== null,
  }));
}

/** A visit's meter photo, or null when it has none. */
export async function visitPhoto(
  db: Kysely<Database>,
  utilityId: UtilityId,
  visitId: string,
): Promise<{ type: string; bytes: Buffer } | null> {
  const row = await db
    .selectFrom('field_visits')
    .select(['photo', 'photo_type'])
    .where('id', '=', visitId as FieldVisitId)
    .where('utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!row) throw new RasidError('not_found', `visit ${visitId} is unknown`);
  return row.photo && row.photo_type ? { type: row.photo_type, bytes: Buffer.from(row.photo) } : null;
}

// ---------------------------------------------------------------- proposed changes

export interface ChangeView {
  readonly id: FieldChangeId;
  readonly campaignId: FieldCampaignId;
  readonly visitId: FieldVisitId;
  readonly premiseId: PremiseId;
  readonly address: string;
  readonly area: string | null;
  readonly agent: string;
  readonly kind: FieldChangeKind;
  readonly subject: string;
  readonly current: string | null;
  readonly proposed: string | null;
  readonly details: Record<string, unknown>;
  readonly status: FieldChangeStatus;
  readonly reviewedBy: string | null;
  readonly reviewedAt: Date | null;
  readonly createdAt: Date;
}

export async function listChanges(
  db: Kysely<Database>,
  utilityId: UtilityId,
  filter: { status?: FieldChangeStatus | undefined; campaignId?: string | undefined },
): Promise<ChangeView[]> {
  let q = db
    .selectFrom('field_changes as c')
    .innerJoin('field_visits as v', 'v.id', 'c.visit_id')
    .innerJoin('premises as p', 'p.id', 'c.premise_id')
    .innerJoin('users as u', 'u.id', 'v.agent_id')
    .select([
      'c.id',
      'c.campaign_id',
      'c.visit_id',
      'c.premise_id',
      'p.address',
      'p.area',
      'u.username',
      'c.kind',
      'c.subject',
      'c.current_value',
      'c.proposed_value',
      'c.details',
      'c.status',
      'c.reviewed_by',
      'c.reviewed_at',
      'c.created_at',
    ])
    .where('c.utility_id', '=', utilityId);
  if (filter.status) q = q.where('c.status', '=', filter.status);
  if (filter.campaignId) q = q.where('c.campaign_id', '=', filter.campaignId as FieldCampaignId);
  const rows = await q.orderBy('c.created_at').orderBy('c.id').limit(500).execute();
  return rows.map((r) => ({
    id: r.id,
    campaignId: r.campaign_id,
    visitId: r.visit_id,
    premiseId: r.premise_id,
    address: r.address,
    area: r.area,
    agent: r.username,
    kind: r.kind,
    subject: r.subject,
    current: r.current_value,
    proposed: r.proposed_value,
    details: r.details,
    status: r.status,
    reviewedBy: r.reviewed_by,
    reviewedAt: r.reviewed_at,
    createdAt: r.created_at,
  }));
}

async function proposedChange(db: Queryable, utilityId: UtilityId, id: string, lock: boolean) {
  let q = db
    .selectFrom('field_changes')
    .selectAll()
    .where('id', '=', id as FieldChangeId)
    .where('utility_id', '=', utilityId);
  if (lock) q = q.forUpdate();
  const c = await q.executeTakeFirst();
  if (!c) throw new RasidError('not_found', `change ${id} is unknown`);
  if (c.status !== 'proposed') throw new RasidError('conflict', `change ${id} is ${c.status} already`);
  return c;
}

function idOf(subject: string, kind: string): string {
  const [k, id] = subject.split(':');
  if (k !== kind || !id) throw new Error(`subject ${subject} is not a ${kind}`);
  return id;
}

/**
 * Applies a proposed change through the service that owns the record (each writes its own audit row), then
 * marks the change applied with its own `field.change.apply` row naming the visit it came from.
 */
export async function applyChange(
  db: Kysely<Database>,
  req: { utilityId: UtilityId; changeId: string; by: Actor; now?: () => Date },
): Promise<{ status: 'applied' }> {
  const now = req.now ?? (() => new Date());
  const mark = async (trx: Queryable) => {
    const updated = await trx
      .updateTable('field_changes')
      .set({ status: 'applied', reviewed_by: req.by.actor, reviewed_at: now() })
      .where('id', '=', req.changeId as FieldChangeId)
      .where('status', '=', 'proposed')
      .returning(['id', 'kind', 'subject', 'visit_id'])
      .executeTakeFirst();
    if (!updated) throw new RasidError('conflict', `change ${req.changeId} is not proposed any more`);
    await writeAudit(trx, {
      utilityId: req.utilityId,
      actor: req.by.actor,
      action: 'field.change.apply',
      subject: updated.subject,
      details: { change: updated.id, kind: updated.kind, visit: updated.visit_id },
    });
  };
  const peek = await proposedChange(db, req.utilityId, req.changeId, false);
  if (peek.kind === 'account.holder') {
    // The transfer service runs its own transaction: the new holder is found or created first, then moved.
    const d = peek.details as { name?: string; phone?: string | null; nationalId?: string | null };
    const accountId = idOf(peek.subject, 'account') as AccountId;
    const holder = await db.transaction().execute(async (trx) => {
      if (d.nationalId) {
        const known = await trx
          .selectFrom('customers')
          .select('id')
          .where('utility_id', '=', req.utilityId)
          .where('national_id', '=', d.nationalId)
          .executeTakeFirst();
        if (known) return known.id;
      }
      const c = await createCustomerIn(
        trx,
        {
          utilityId: req.utilityId,
          name: d.name ?? peek.proposed_value ?? '',
          preferredLanguage: 'ar',
          phone: d.phone ?? null,
          nationalId: d.nationalId ?? null,
        },
        req.by,
      );
      return c.id;
    });
    await transferAccount(
      db,
      {
        utilityId: req.utilityId,
        accountId,
        toCustomerId: holder,
        reason: 'correction',
        evidenceRef: `field-visit:${peek.visit_id}`,
        note: 'door-to-door campaign',
        performedBy: req.by.userId,
        actor: req.by.actor,
      },
      now,
    );
    await db.transaction().execute(mark);
    return { status: 'applied' };
  }
  await db.transaction().execute(async (trx) => {
    const c = await proposedChange(trx, req.utilityId, req.changeId, true);
    switch (c.kind) {
      case 'customer.phone':
        await updateCustomerIn(
          trx,
          req.utilityId,
          idOf(c.subject, 'customer') as CustomerId,
          { phone: c.proposed_value },
          req.by,
        );
        break;
      case 'customer.national_id':
        await updateCustomerIn(
          trx,
          req.utilityId,
          idOf(c.subject, 'customer') as CustomerId,
          { nationalId: c.proposed_value },
          req.by,
        );
        break;
      case 'meter.tamper':
        try {
          await moveMeterIn(trx, {
            utilityId: req.utilityId,
            meterId: idOf(c.subject, 'meter') as MeterId,
            to: 'suspended',
            reason: `field visit ${c.visit_id}: signs of tampering`,
            actor: req.by.actor,
            at: now(),
          });
        } catch (err) {
          if (err instanceof MeterStateError) throw new RasidError('meter_state_invalid', err.message);
          throw err;
        }
        break;
      case 'account.holder':
        throw new Error('unreachable: handled above');
    }
    await mark(trx);
  });
  return { status: 'applied' };
}

/** Rejects a proposed change: the records stay as they are; audited as `field.change.reject`. */
export async function rejectChange(
  db: Kysely<Database>,
  req: { utilityId: UtilityId; changeId: string; by: Actor; note?: string | undefined; now?: () => Date },
): Promise<{ status: 'rejected' }> {
  await db.transaction().execute(async (trx) => {
    const c = await proposedChange(trx, req.utilityId, req.changeId, true);
    await trx
      .updateTable('field_changes')
      .set({
        status: 'rejected',
        reviewed_by: req.by.actor,
        reviewed_at: (req.now ?? (() => new Date()))(),
        review_note: req.note ?? null,
      })
      .where('id', '=', c.id)
      .execute();
    await writeAudit(trx, {
      utilityId: req.utilityId,
      actor: req.by.actor,
      action: 'field.change.reject',
      subject: c.subject,
      details: { change: c.id, kind: c.kind, visit: c.visit_id, note: req.note ?? null },
    });
  });
  return { status: 'rejected' };
}

// ---------------------------------------------------------------- meters and KPIs

export interface MeterFindings {
  /** Serials seen on site that no meter of the utility carries. */
  readonly unregistered: {
    serial: string;
    premiseId: PremiseId;
    address: string;
    area: string | null;
    agent: string;
    visitId: FieldVisitId;
  }[];
  /** Meters the records put at a visited premise that the agent did not find there. */
  readonly notFound: {
    meterId: MeterId;
    serial: string;
    premiseId: PremiseId;
    address: string;
    area: string | null;
    seenSerial: string | null;
  }[];
}

/** The latest visit per premise in which someone was met (outcome `visited`). */
async function latestVisits(db: Queryable, campaignId: FieldCampaignId) {
  const rows = await db
    .selectFrom('field_visits as v')
    .innerJoin('premises as p', 'p.id', 'v.premise_id')
    .innerJoin('users as u', 'u.id', 'v.agent_id')
    .select([
      'v.id',
      'v.premise_id',
      'v.outcome',
      'v.meter_serial',
      'v.agent_id',
      'u.username',
      'p.address',
      'p.area',
    ])
    .where('v.campaign_id', '=', campaignId)
    .orderBy('v.visited_at')
    .orderBy('v.received_at')
    .execute();
  const latest = new Map<PremiseId, (typeof rows)[number]>();
  for (const r of rows) if (r.outcome === 'visited') latest.set(r.premise_id, r);
  return { all: rows, latest };
}

export async function meterFindings(
  db: Kysely<Database>,
  utilityId: UtilityId,
  campaignId: string,
): Promise<MeterFindings> {
  const c = await campaignOf(db, utilityId, campaignId);
  const { latest } = await latestVisits(db, c.id);
  const seen = [...latest.values()].filter((v) => v.meter_serial);
  const known = new Set<string>();
  if (seen.length > 0) {
    const meters = await db
      .selectFrom('meters')
      .select('serial')
      .where('utility_id', '=', utilityId)
      .execute();
    for (const m of meters) known.add(serialKey(m.serial));
  }
  const unregistered = seen
    .filter((v) => !known.has(serialKey(v.meter_serial ?? '')))
    .map((v) => ({
      serial: v.meter_serial ?? '',
      premiseId: v.premise_id,
      address: v.address,
      area: v.area,
      agent: v.username,
      visitId: v.id,
    }));
  const records = await premiseRecords(db, utilityId, [...latest.keys()]);
  const notFound: MeterFindings['notFound'][number][] = [];
  for (const [premiseId, v] of latest) {
    const seenKey = v.meter_serial ? serialKey(v.meter_serial) : null;
    for (const m of records.get(premiseId)?.meters ?? []) {
      if (serialKey(m.serial) === seenKey) continue;
      notFound.push({
        meterId: m.id,
        serial: m.serial,
        premiseId,
        address: v.address,
        area: v.area,
        seenSerial: v.meter_serial,
      });
    }
  }
  return { unregistered, notFound };
}

export interface KpiLine {
  /** Premises the campaign covers (by agent: assigned to the agent). */
  readonly premises: number;
  readonly assigned: number;
  /** Premises with at least one visit of any outcome. */
  readonly attempted: number;
  /** Premises where someone was met and the visit recorded. */
  readonly visited: number;
  /** Visited premises with no change still waiting for review. */
  readonly verified: number;
  readonly nobodyHome: number;
  readonly refused: number;
  /** Changes applied to the records. */
  readonly corrected: number;
  readonly pending: number;
  readonly unregisteredMeters: number;
}

export interface CampaignKpis {
  readonly total: KpiLine;
  readonly byArea: ({ area: string | null } & KpiLine)[];
  readonly byAgent: ({ agent: string | null } & KpiLine)[];
}

/** Premises visited and verified, records corrected and meters found unregistered, by area and by agent. */
export async function campaignKpis(
  db: Kysely<Database>,
  utilityId: UtilityId,
  campaignId: string,
): Promise<CampaignKpis> {
  const c = await campaignOf(db, utilityId, campaignId);
  const assignments = await db
    .selectFrom('field_assignments as fa')
    .innerJoin('premises as p', 'p.id', 'fa.premise_id')
    .leftJoin('users as u', 'u.id', 'fa.agent_id')
    .select(['fa.premise_id', 'fa.agent_id', 'p.area', 'u.username'])
    .where('fa.campaign_id', '=', c.id)
    .execute();
  const { all } = await latestVisits(db, c.id);
  const changes = await db
    .selectFrom('field_changes')
    .select(['premise_id', 'visit_id', 'status'])
    .where('campaign_id', '=', c.id)
    .execute();
  const { unregistered } = await meterFindings(db, utilityId, c.id);

  type Acc = { -readonly [K in keyof KpiLine]: number };
  const blank = (): Acc => ({
    premises: 0,
    assigned: 0,
    attempted: 0,
    visited: 0,
    verified: 0,
    nobodyHome: 0,
    refused: 0,
    corrected: 0,
    pending: 0,
    unregisteredMeters: 0,
  });
  const total = blank();
  const byArea = new Map<string | null, Acc>();
  const byAgent = new Map<string | null, Acc>();
  const lineOf = <K>(map: Map<K, Acc>, key: K) => {
    let line = map.get(key);
    if (!line) {
      line = blank();
      map.set(key, line);
    }
    return line;
  };
  const visitAgent = new Map(all.map((v) => [v.id as string, v.username]));
  const premiseArea = new Map(assignments.map((a) => [a.premise_id as string, a.area]));
  for (const a of assignments) {
    for (const line of [total, lineOf(byArea, a.area), lineOf(byAgent, a.username)]) {
      line.premises += 1;
      if (a.agent_id) line.assigned += 1;
    }
  }
  // Per premise: the outcomes it had, by which agents; who last met someone there.
  const outcomes = new Map<
    string,
    { attempted: Set<string>; visitedBy: string | null; nobody: string | null; refused: string | null }
  >();
  for (const v of all) {
    const o = outcomes.get(v.premise_id) ?? {
      attempted: new Set<string>(),
      visitedBy: null,
      nobody: null,
      refused: null,
    };
    o.attempted.add(v.username);
    if (v.outcome === 'visited') o.visitedBy = v.username;
    if (v.outcome === 'nobody_home') o.nobody = v.username;
    if (v.outcome === 'refused') o.refused = v.username;
    outcomes.set(v.premise_id, o);
  }
  const pendingAt = new Set(
    changes.filter((ch) => ch.status === 'proposed').map((ch) => ch.premise_id as string),
  );
  for (const [premiseId, o] of outcomes) {
    const area = premiseArea.get(premiseId) ?? null;
    const bump = (agent: string | null, f: (line: Acc) => void) => {
      for (const line of [total, lineOf(byArea, area)]) f(line);
      if (agent !== null) f(lineOf(byAgent, agent));
    };
    const agentAttempted = [...o.attempted].at(-1) ?? null;
    bump(agentAttempted, (l) => {
      l.attempted += 1;
    });
    if (o.visitedBy) {
      bump(o.visitedBy, (l) => {
        l.visited += 1;
        if (!pendingAt.has(premiseId)) l.verified += 1;
      });
    } else if (o.refused) {
      bump(o.refused, (l) => {
        l.refused += 1;
      });
    } else if (o.nobody) {
      bump(o.nobody, (l) => {
        l.nobodyHome += 1;
      });
    }
  }
  for (const ch of changes) {
    const area = premiseArea.get(ch.premise_id) ?? null;
    const agent = visitAgent.get(ch.visit_id) ?? null;
    const lines = [total, lineOf(byArea, area), ...(agent !== null ? [lineOf(byAgent, agent)] : [])];
    for (const line of lines) {
      if (ch.status === 'applied') line.corrected += 1;
      if (ch.status === 'proposed') line.pending += 1;
    }
  }
  for (const u of unregistered) {
    for (const line of [total, lineOf(byArea, u.area), lineOf(byAgent, u.agent)])
      line.unregisteredMeters += 1;
  }
  const sortKey = (k: string | null) => k ?? '\uffff';
  return {
    total,
    byArea: [...byArea]
      .sort(([a], [b]) => sortKey(a).localeCompare(sortKey(b)))
      .map(([area, line]) => ({ area, ...line })),
    byAgent: [...byAgent]
      .sort(([a], [b]) => sortKey(a).localeCompare(sortKey(b)))
      .map(([agent, line]) => ({ agent, ...line })),
  };
}
