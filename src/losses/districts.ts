/**
 * Districts, their supply points and bulk meters (migration 0022, docs/losses.md), and the loss alert: a
 * district whose complete day lost at least the utility's threshold share of its inflow raises one
 * `losses.alert` audit row, which the operators' alert stream shows (src/api/routes/operator.ts).
 */
import type { Kysely, Transaction } from 'kysely';
import { writeAudit } from '../accounts/audit.ts';
import { RasidError } from '../errors.ts';
import type { Database, DistrictId, MeterId, MeterKind, SupplyPointId, UtilityId } from '../store/schema.ts';
import { dayMs, dayString, districtLoss } from './report.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** The loss share that raises an alert when the utility has not set one: 20 %. */
export const DEFAULT_LOSS_ALERT_BP = 2000;

export interface District {
  readonly id: DistrictId;
  readonly code: string;
  readonly name: string;
  readonly kind: MeterKind;
}

export interface Actor {
  readonly actor: string;
}

export async function findDistrict(db: Db, utilityId: UtilityId, id: string): Promise<District> {
  const d = await db
    .selectFrom('districts')
    .select(['id', 'code', 'name', 'kind'])
    .where('utility_id', '=', utilityId)
    .where('id', '=', id as DistrictId)
    .executeTakeFirst();
  if (!d) throw new RasidError('not_found', `district ${id} not found`);
  return d;
}

/** One meter placed in the district; `not_found` when the utility has no such meter in it. */
export async function districtMeter(
  db: Db,
  utilityId: UtilityId,
  district: { readonly id: DistrictId; readonly code: string },
  meterId: MeterId,
): Promise<{ id: MeterId; serial: string }> {
  const meter = await db
    .selectFrom('meters')
    .select(['id', 'serial'])
    .where('utility_id', '=', utilityId)
    .where('district_id', '=', district.id)
    .where('id', '=', meterId)
    .executeTakeFirst();
  if (!meter) throw new RasidError('not_found', `meter ${meterId} is not in district ${district.code}`);
  return meter;
}

export async function createDistrict(
  db: Kysely<Database>,
  utilityId: UtilityId,
  input: { code: string; name: string; kind: MeterKind },
  by: Actor,
): Promise<District> {
  return db.transaction().execute(async (trx) => {
    const taken = await trx
      .selectFrom('districts')
      .select('id')
      .where('utility_id', '=', utilityId)
      .where('code', '=', input.code)
      .executeTakeFirst();
    if (taken) throw new RasidError('conflict', `code: district ${input.code} exists`);
    const d = await trx
      .insertInto('districts')
      .values({ utility_id: utilityId, code: input.code, name: input.name, kind: input.kind })
      .returning(['id', 'code', 'name', 'kind'])
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      utilityId,
      actor: by.actor,
      action: 'district.create',
      subject: `district:${d.id}`,
      details: { code: d.code, name: d.name, kind: d.kind },
    });
    return d;
  });
}

export interface DistrictSummary extends District {
  readonly customerMeters: number;
  readonly supplyPoints: readonly {
    readonly id: SupplyPointId;
    readonly name: string;
    readonly meterId: MeterId | null;
    readonly serial: string | null;
  }[];
}

export async function listDistricts(db: Db, utilityId: UtilityId): Promise<DistrictSummary[]> {
  const districts = await db
    .selectFrom('districts')
    .select(['id', 'code', 'name', 'kind'])
    .where('utility_id', '=', utilityId)
    .orderBy('code')
    .execute();
  const points = await db
    .selectFrom('supply_points as s')
    .leftJoin('meters as m', 'm.id', 's.meter_id')
    .select(['s.id', 's.district_id', 's.name', 's.meter_id', 'm.serial'])
    .where('s.utility_id', '=', utilityId)
    .orderBy('s.name')
    .execute();
  const counts = await db
    .selectFrom('meters')
    .select((eb) => ['district_id', eb.fn.countAll<string>().as('n')])
    .where('utility_id', '=', utilityId)
    .where('role', '=', 'customer')
    .where('district_id', 'is not', null)
    .where('status', '!=', 'decommissioned')
    .groupBy('district_id')
    .execute();
  return districts.map((d) => ({
    ...d,
    customerMeters: Number(counts.find((c) => c.district_id === d.id)?.n ?? 0),
    supplyPoints: points
      .filter((p) => p.district_id === d.id)
      .map((p) => ({ id: p.id, name: p.name, meterId: p.meter_id, serial: p.serial })),
  }));
}

async function meterOf(db: Db, utilityId: UtilityId, meterId: string, kind: MeterKind) {
  const m = await db
    .selectFrom('meters')
    .select(['id', 'serial', 'kind', 'role', 'district_id'])
    .where('utility_id', '=', utilityId)
    .where('id', '=', meterId as MeterId)
    .executeTakeFirst();
  if (!m) throw new RasidError('not_found', `meter ${meterId} not found`);
  if (m.kind !== kind) throw new RasidError('conflict', `meterId: a ${m.kind} meter in a ${kind} district`);
  return m;
}

/** Adds a supply point, its bulk meter (optional) becoming role `bulk` in the district. */
export async function addSupplyPoint(
  db: Kysely<Database>,
  utilityId: UtilityId,
  districtId: string,
  input: { name: string; meterId?: string | undefined },
  by: Actor,
): Promise<{ id: SupplyPointId; name: string; meterId: MeterId | null }> {
  return db.transaction().execute(async (trx) => {
    const d = await findDistrict(trx, utilityId, districtId);
    let meterId: MeterId | null = null;
    if (input.meterId !== undefined) {
      const m = await meterOf(trx, utilityId, input.meterId, d.kind);
      const used = await trx
        .selectFrom('supply_points')
        .select('id')
        .where('meter_id', '=', m.id)
        .executeTakeFirst();
      if (used) throw new RasidError('conflict', `meterId: meter ${m.serial} is on another supply point`);
      await trx
        .updateTable('meters')
        .set({ role: 'bulk', district_id: d.id })
        .where('id', '=', m.id)
        .execute();
      meterId = m.id;
    }
    const taken = await trx
      .selectFrom('supply_points')
      .select('id')
      .where('district_id', '=', d.id)
      .where('name', '=', input.name)
      .executeTakeFirst();
    if (taken) throw new RasidError('conflict', `name: supply point ${input.name} exists in ${d.code}`);
    const p = await trx
      .insertInto('supply_points')
      .values({ utility_id: utilityId, district_id: d.id, name: input.name, meter_id: meterId })
      .returning(['id', 'name', 'meter_id'])
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      utilityId,
      actor: by.actor,
      action: 'district.supply_point',
      subject: `district:${d.id}`,
      details: { supplyPointId: p.id, name: p.name, meterId },
    });
    return { id: p.id, name: p.name, meterId: p.meter_id };
  });
}

/** Puts a meter in a district (or out of any, with null) with a role. */
export async function placeMeter(
  db: Kysely<Database>,
  utilityId: UtilityId,
  meterId: string,
  input: { districtId: string | null; role?: 'customer' | 'bulk' | undefined },
  by: Actor,
): Promise<{ meterId: MeterId; districtId: DistrictId | null; role: 'customer' | 'bulk' }> {
  return db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('meters')
      .select(['id', 'kind', 'role'])
      .where('utility_id', '=', utilityId)
      .where('id', '=', meterId as MeterId)
      .executeTakeFirst();
    if (!current) throw new RasidError('not_found', `meter ${meterId} not found`);
    let districtId: DistrictId | null = null;
    if (input.districtId !== null) {
      const d = await findDistrict(trx, utilityId, input.districtId);
      if (d.kind !== current.kind)
        throw new RasidError('conflict', `districtId: a ${current.kind} meter in a ${d.kind} district`);
      districtId = d.id;
    }
    const role = input.role ?? current.role;
    await trx
      .updateTable('meters')
      .set({ district_id: districtId, role })
      .where('id', '=', current.id)
      .execute();
    await writeAudit(trx, {
      utilityId,
      actor: by.actor,
      action: 'meter.district',
      subject: `meter:${current.id}`,
      details: { districtId, role },
    });
    return { meterId: current.id, districtId, role };
  });
}

export interface LossAlert {
  readonly districtId: DistrictId;
  readonly code: string;
  readonly day: string;
  readonly shareBp: number;
  readonly thresholdBp: number;
}

/**
 * Looks at one UTC day of every district of a utility and raises an alert (a `losses.alert` audit row) for
 * each complete day whose loss share reaches the utility's threshold, once per district and day. A day with
 * a gap (partial, no inflow) raises nothing: a gap is not a loss. Returns the alerts raised now.
 */
export async function checkLosses(
  db: Kysely<Database>,
  utilityId: UtilityId,
  day: string,
): Promise<LossAlert[]> {
  const u = await db
    .selectFrom('utilities')
    .select('loss_alert_bp')
    .where('id', '=', utilityId)
    .executeTakeFirstOrThrow();
  const threshold = u.loss_alert_bp ?? DEFAULT_LOSS_ALERT_BP;
  const raised: LossAlert[] = [];
  const districts = await db
    .selectFrom('districts')
    .select(['id', 'code', 'name', 'kind'])
    .where('utility_id', '=', utilityId)
    .execute();
  for (const d of districts) {
    const [p] = await districtLoss(db, utilityId, d, 'day', day, day);
    if (p?.status !== 'complete' || p.loss === null || p.loss.shareBp < threshold) continue;
    const subject = `district:${d.id}`;
    const done = await db.transaction().execute(async (trx) => {
      const seen = await trx
        .selectFrom('audit_log')
        .select('id')
        .where('utility_id', '=', utilityId)
        .where('subject', '=', subject)
        .where('action', '=', 'losses.alert')
        .where((eb) => eb(eb.ref('details', '->>').key('day' as never), '=', day))
        .executeTakeFirst();
      if (seen) return false;
      await writeAudit(trx, {
        utilityId,
        actor: 'system:losses',
        action: 'losses.alert',
        subject,
        details: {
          day,
          code: d.code,
          name: d.name,
          shareBp: p.loss!.shareBp,
          thresholdBp: threshold,
          lossUnits: p.loss!.units.toString(),
          inflowUnits: (p.inflow.units ?? 0n).toString(),
          unit: d.kind === 'electricity' ? 'Wh' : 'L',
        },
      });
      return true;
    });
    if (done)
      raised.push({ districtId: d.id, code: d.code, day, shareBp: p.loss.shareBp, thresholdBp: threshold });
  }
  return raised;
}

/** The workers' pass: yesterday (UTC) of every utility. */
export async function checkAllLosses(db: Kysely<Database>, now: Date = new Date()): Promise<LossAlert[]> {
  const yesterday = dayString(dayMs(now.toISOString().slice(0, 10)) - 86_400_000);
  const utilities = await db.selectFrom('utilities').select('id').execute();
  const out: LossAlert[] = [];
  for (const u of utilities) out.push(...(await checkLosses(db, u.id, yesterday)));
  return out;
}
