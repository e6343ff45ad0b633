/**
 * Meters, read: the register (list with filters, one meter with its STS parameters), the vending keys held
 * (never the key), and a meter online (its presence, readings, events and commands).
 */
import { sql } from 'kysely';
import { likeEscape } from '../accounts/audit.ts';
import { RasidError } from '../errors.ts';
import type { Queryable } from '../store/ledger.ts';
import type {
  AccountId,
  CommandId,
  CommandState,
  Meter,
  MeterId,
  MeterKind,
  MeterMode,
  MeterStatus,
  UtilityId,
  VendingKeyId,
} from '../store/schema.ts';
import type { MeterProtocol } from './protocols.ts';

/** A meter's every column (the answer of the meter register's reads and writes). */
export const METER_COLUMNS = [
  'id',
  'role',
  'district_id',
  'utility_id',
  'serial',
  'kind',
  'protocol',
  'mode',
  'account_id',
  'sts_iin',
  'sts_drn',
  'sts_sgc',
  'sts_ti',
  'sts_krn',
  'sts_kt',
  'sts_ea',
  'sts_base_date',
  'sts_ken',
  'vending_key_id',
  'mqtt_username',
  'mqtt_password_hash',
  'status',
  'status_reason',
  'status_changed_at',
  'replaced_by',
  'online',
  'last_seen_at',
  'created_at',
] as const;

export interface MeterListFilter {
  readonly accountId?: AccountId | undefined;
  readonly kind?: MeterKind | undefined;
  readonly protocol?: MeterProtocol | undefined;
  readonly mode?: MeterMode | undefined;
  readonly status?: MeterStatus | undefined;
  readonly online?: boolean | undefined;
  /** true: meters with no account; false: meters with one. */
  readonly unassigned?: boolean | undefined;
  /** Serial prefix. */
  readonly serial?: string | undefined;
  readonly limit: number;
  readonly offset: number;
}

/** A page of the utility's meters by serial. */
export function listMeters(db: Queryable, utilityId: UtilityId, f: MeterListFilter): Promise<Meter[]> {
  let q = db.selectFrom('meters').select(METER_COLUMNS).where('utility_id', '=', utilityId);
  if (f.accountId) q = q.where('account_id', '=', f.accountId);
  if (f.kind) q = q.where('kind', '=', f.kind);
  if (f.protocol) q = q.where('protocol', '=', f.protocol);
  if (f.mode) q = q.where('mode', '=', f.mode);
  if (f.status) q = q.where('status', '=', f.status);
  if (f.online !== undefined) q = q.where('online', '=', f.online);
  if (f.unassigned === true) q = q.where('account_id', 'is', null);
  if (f.unassigned === false) q = q.where('account_id', 'is not', null);
  if (f.serial) q = q.where('serial', 'like', `${likeEscape(f.serial)}%`);
  return q.orderBy('serial').limit(f.limit).offset(f.offset).execute();
}

/** One meter of the utility; refused when unknown. */
export async function meterOf(db: Queryable, utilityId: UtilityId, meterId: MeterId): Promise<Meter> {
  const m = await db
    .selectFrom('meters')
    .select(METER_COLUMNS)
    .where('id', '=', meterId)
    .where('utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!m) throw new RasidError('not_found', `meter ${meterId} is unknown`);
  return m;
}

export interface VendingKeyRow {
  id: VendingKeyId;
  sgc: number;
  krn: number;
  label: string | null;
  created_at: Date;
}

/** The vending keys the utility holds (ids, supply groups and revisions only). */
export function vendingKeys(db: Queryable, utilityId: UtilityId): Promise<VendingKeyRow[]> {
  return db
    .selectFrom('vending_keys')
    .select(['id', 'sgc', 'krn', 'label', 'created_at'])
    .where('utility_id', '=', utilityId)
    .orderBy('sgc')
    .orderBy('krn')
    .execute();
}

/** One vending key (never the key itself). */
export function vendingKeyOf(db: Queryable, id: VendingKeyId): Promise<VendingKeyRow> {
  return db
    .selectFrom('vending_keys')
    .select(['id', 'sgc', 'krn', 'label', 'created_at'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

// ---- Meters online -----------------------------------------------------------------------------------

export interface OnlineMeter {
  id: MeterId;
  serial: string;
  status: MeterStatus;
  online: boolean;
  last_seen_at: Date | null;
  mqtt_username: string | null;
  /** The utility's code (part of the meter's MQTT username and topics). */
  code: string;
}

/** A meter of the utility with its presence and MQTT username; refused when unknown. */
export async function onlineMeterOf(db: Queryable, utilityId: UtilityId, id: MeterId): Promise<OnlineMeter> {
  const meter = await db
    .selectFrom('meters as m')
    .innerJoin('utilities as u', 'u.id', 'm.utility_id')
    .select(['m.id', 'm.serial', 'm.status', 'm.online', 'm.last_seen_at', 'm.mqtt_username', 'u.code'])
    .where('m.id', '=', id)
    .where('m.utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!meter) throw new RasidError('not_found', `meter ${id} is unknown`);
  return meter;
}

export interface CommandRow {
  id: CommandId;
  meter_id: MeterId;
  kind: string;
  payload: Record<string, unknown>;
  state: CommandState;
  attempts: number;
  reason: string | null;
  created_by: string | null;
  created_at: Date;
  sent_at: Date | null;
  acknowledged_at: Date | null;
  expires_at: Date;
  result: Record<string, unknown> | null;
}

const COMMAND_COLUMNS = [
  'id',
  'meter_id',
  'kind',
  'payload',
  'state',
  'attempts',
  'reason',
  'created_by',
  'created_at',
  'sent_at',
  'acknowledged_at',
  'expires_at',
  'result',
] as const;

export interface ReadingRow {
  ts: Date;
  seq: bigint | null;
  energy_wh: bigint | null;
  volume_l: bigint | null;
  power_w: number | null;
  voltage_dv: number | null;
  current_ma: number | null;
  credit_minor: bigint | null;
  credit_wh: bigint | null;
  relay: boolean | null;
  flags: number;
}

/** A meter's readings, newest first (before an instant, when given). */
export async function readingsOf(
  db: Queryable,
  meterId: MeterId,
  opts: { limit: number; before?: Date | undefined },
): Promise<ReadingRow[]> {
  const rows = await sql<ReadingRow>`
    select ts, seq, energy_wh, volume_l, power_w, voltage_dv, current_ma, credit_minor, credit_wh, relay, flags
     from readings where meter_id = ${meterId} ${opts.before ? sql`and ts < ${opts.before}` : sql``}
     order by ts desc limit ${opts.limit}`.execute(db);
  return rows.rows;
}

/** A utility's meter's readings, newest first; refused when the meter is unknown. */
export async function meterReadings(
  db: Queryable,
  utilityId: UtilityId,
  id: MeterId,
  opts: { limit: number; before?: Date | undefined },
): Promise<ReadingRow[]> {
  const meter = await onlineMeterOf(db, utilityId, id);
  return readingsOf(db, meter.id, opts);
}

/** A meter's presence: online, last seen, its last reading, latest five events and commands not yet done. */
export async function meterPresence(
  db: Queryable,
  utilityId: UtilityId,
  id: MeterId,
): Promise<{
  meter: OnlineMeter;
  reading: ReadingRow | null;
  events: { ts: Date; kind: string; details: Record<string, unknown> }[];
  pending: number;
}> {
  const meter = await onlineMeterOf(db, utilityId, id);
  const [reading] = await readingsOf(db, meter.id, { limit: 1 });
  const events = await db
    .selectFrom('meter_events')
    .select(['ts', 'kind', 'details'])
    .where('meter_id', '=', meter.id)
    .orderBy('ts', 'desc')
    .limit(5)
    .execute();
  const pending = await db
    .selectFrom('commands')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('meter_id', '=', meter.id)
    .where('state', 'in', ['queued', 'sent'])
    .executeTakeFirstOrThrow();
  return { meter, reading: reading ?? null, events, pending: Number(pending.n) };
}

/** A utility's meter's events, newest first; refused when the meter is unknown. */
export async function meterEvents(
  db: Queryable,
  utilityId: UtilityId,
  id: MeterId,
  limit: number,
): Promise<{ ts: Date; seq: bigint | null; kind: string; details: Record<string, unknown> }[]> {
  const meter = await onlineMeterOf(db, utilityId, id);
  return db
    .selectFrom('meter_events')
    .select(['ts', 'seq', 'kind', 'details'])
    .where('meter_id', '=', meter.id)
    .orderBy('ts', 'desc')
    .limit(limit)
    .execute();
}

/** A utility's meter's commands, newest first; refused when the meter is unknown. */
export async function meterCommands(
  db: Queryable,
  utilityId: UtilityId,
  id: MeterId,
  limit: number,
): Promise<CommandRow[]> {
  const meter = await onlineMeterOf(db, utilityId, id);
  return db
    .selectFrom('commands')
    .select(COMMAND_COLUMNS)
    .where('meter_id', '=', meter.id)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** One command of the utility; refused when unknown. */
export async function commandOf(db: Queryable, utilityId: UtilityId, id: CommandId): Promise<CommandRow> {
  const row = await db
    .selectFrom('commands')
    .select(COMMAND_COLUMNS)
    .where('id', '=', id)
    .where('utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!row) throw new RasidError('not_found', `command ${id} is unknown`);
  return row;
}

/** A command known to exist (one just queued). */
export function commandRow(db: Queryable, id: CommandId): Promise<CommandRow> {
  return db.selectFrom('commands').select(COMMAND_COLUMNS).where('id', '=', id).executeTakeFirstOrThrow();
}

/** The credit token of a utility's vend; refused when the vend has none. */
export async function vendCreditToken(
  db: Queryable,
  utilityId: UtilityId,
  vendId: string,
): Promise<{ meter_id: MeterId; token: string; vend_id: string | null }> {
  const token = await db
    .selectFrom('tokens')
    .select(['meter_id', 'token', 'vend_id'])
    .where('vend_id', '=', vendId as never)
    .where('utility_id', '=', utilityId)
    .where('kind', '=', 'credit')
    .executeTakeFirst();
  if (!token) throw new RasidError('not_found', `vend ${vendId} has no credit token`);
  return token;
}
