/**
 * The operator's fleet view, read: each meter's derived state, the overview counts, a meter's page, and the
 * staff a case can go to.
 *
 * A meter's state is derived, never stored twice:
 * - online: `meters.online` (the broker's status messages and last wills);
 * - low credit: the balance engine's state of the meter says the low-credit alert has fired and not
 *   re-armed (`balance_state.low_credit`, docs/balance.md);
 * - disconnected: a disconnect or reconnect the meter has acknowledged since its latest reading, else the
 *   relay of that reading when the meter reports it, else the supply as the engine last ordered it;
 * - last seen: the later of the broker's last status message and the latest reading (a reading is a sign of
 *   life too, so "last seen" is never before "last reading");
 * - tamper: a `tamper`, `cover_open` or `magnetic` event newer than the meter's last clear-tamper token.
 */
import { type RawBuilder, sql } from 'kysely';
import { RasidError } from '../errors.ts';
import { accountBalance, type Queryable } from '../store/ledger.ts';
import type { AccountId, MeterId, MeterKind, Role, UserId, UtilityId } from '../store/schema.ts';

/** The meter events that are tamper. */
export const TAMPER_KINDS = ['tamper', 'cover_open', 'magnetic'] as const;

export interface MeterFilter {
  readonly utilityId: UtilityId;
  readonly meterId?: MeterId | undefined;
  readonly area?: string | undefined;
  readonly status?: string | undefined;
  readonly online?: boolean | undefined;
  readonly lowCredit?: boolean | undefined;
  readonly disconnected?: boolean | undefined;
  readonly tamper?: boolean | undefined;
  /** Serial prefix, account number prefix, or part of the customer's name (case-insensitive). */
  readonly q?: string | undefined;
}

export interface MeterStateRow {
  id: MeterId;
  serial: string;
  kind: 'electricity' | 'water';
  protocol: string;
  mode: 'token' | 'central';
  status: string;
  online: boolean;
  last_seen_at: Date | null;
  account_id: string | null;
  account_number: string | null;
  customer_id: string | null;
  customer_name: string | null;
  address: string | null;
  area: string | null;
  last_ts: Date | null;
  energy_wh: bigint | null;
  volume_l: bigint | null;
  relay: boolean | null;
  credit_minor: bigint | null;
  low_credit: boolean;
  disconnected: boolean;
  tamper: boolean;
}

function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The derived state of each meter of a utility (decommissioned meters excluded unless asked by status). */
export function meterStateQuery(f: MeterFilter): RawBuilder<MeterStateRow> {
  const conditions: RawBuilder<unknown>[] = [sql`m.utility_id = ${f.utilityId}`];
  if (f.meterId) conditions.push(sql`m.id = ${f.meterId}`);
  if (f.status) conditions.push(sql`m.status = ${f.status}`);
  else if (!f.meterId) conditions.push(sql`m.status <> 'decommissioned'`);
  if (f.online !== undefined) conditions.push(sql`m.online = ${f.online}`);
  if (f.area !== undefined) conditions.push(sql`p.area = ${f.area}`);
  if (f.q) {
    const prefix = `${likeEscape(f.q)}%`;
    const part = `%${likeEscape(f.q.toLowerCase())}%`;
    conditions.push(sql`(m.serial like ${prefix} or a.number like ${prefix} or lower(c.name) like ${part})`);
  }
  const tamperKinds = sql.join(TAMPER_KINDS.map((k) => sql`${k}`));
  const inner = sql`
    select m.id, m.serial, m.kind, m.protocol, m.mode, m.status, m.online,
      greatest(m.last_seen_at, lr.ts) as last_seen_at,
      a.id as account_id, a.number as account_number, c.id as customer_id, c.name as customer_name,
      p.address, p.area,
      lr.ts as last_ts, lr.energy_wh, lr.volume_l, lr.relay, lr.credit_minor,
      coalesce(bs.low_credit, false) as low_credit,
      case when rc.acknowledged_at is not null and (lr.ts is null or rc.acknowledged_at > lr.ts)
             then rc.kind = 'disconnect'
           when lr.relay is not null then not lr.relay
           else coalesce(bs.supply = 'disconnected', false) end as disconnected,
      exists (
        select 1 from meter_events e
        where e.meter_id = m.id and e.kind in (${tamperKinds})
          and e.ts > coalesce(
            (select max(t.issued_at) from tokens t where t.meter_id = m.id and t.kind = 'clear_tamper'),
            '-infinity'::timestamptz)
      ) as tamper
    from meters m
    left join accounts a on a.id = m.account_id
    left join customers c on c.id = a.customer_id
    left join premises p on p.id = a.premise_id
    left join lateral (
      select r.ts, r.energy_wh, r.volume_l, r.relay, r.credit_minor from readings r
      where r.meter_id = m.id order by r.ts desc limit 1
    ) lr on true
    left join balance_state bs on bs.meter_id = m.id
    left join lateral (
      select c.kind, c.acknowledged_at from commands c
      where c.meter_id = m.id and c.kind in ('disconnect', 'reconnect') and c.state = 'acknowledged'
      order by c.acknowledged_at desc limit 1
    ) rc on true
    where ${sql.join(conditions, sql` and `)}`;
  const outer: RawBuilder<unknown>[] = [];
  if (f.lowCredit !== undefined) outer.push(sql`low_credit = ${f.lowCredit}`);
  if (f.disconnected !== undefined) outer.push(sql`disconnected = ${f.disconnected}`);
  if (f.tamper !== undefined) outer.push(sql`tamper = ${f.tamper}`);
  return sql<MeterStateRow>`select * from (${inner}) s ${outer.length > 0 ? sql`where ${sql.join(outer, sql` and `)}` : sql``}`;
}

export interface FleetCounts {
  total: number;
  online: number;
  offline: number;
  lowCredit: number;
  disconnected: number;
  tamper: number;
}

/** Counts of the fleet's states, overall and per area (null area: premises without one, or no account). */
export async function fleetOverview(
  db: Queryable,
  utilityId: UtilityId,
): Promise<FleetCounts & { byArea: (FleetCounts & { area: string | null })[] }> {
  const { rows } = await sql<{
    area: string | null;
    all_areas: boolean;
    total: string;
    online: string;
    low_credit: string;
    disconnected: string;
    tamper: string;
  }>`
    select area, grouping(area) = 1 as all_areas, count(*)::text as total,
      count(*) filter (where online)::text as online,
      count(*) filter (where low_credit)::text as low_credit,
      count(*) filter (where disconnected)::text as disconnected,
      count(*) filter (where tamper)::text as tamper
    from (${meterStateQuery({ utilityId })}) f
    group by grouping sets ((area), ())
    order by area nulls last`.execute(db);
  const counts = (r: (typeof rows)[number]): FleetCounts => ({
    total: Number(r.total),
    online: Number(r.online),
    offline: Number(r.total) - Number(r.online),
    lowCredit: Number(r.low_credit),
    disconnected: Number(r.disconnected),
    tamper: Number(r.tamper),
  });
  const all = rows.find((r) => r.all_areas);
  return {
    ...(all ? counts(all) : { total: 0, online: 0, offline: 0, lowCredit: 0, disconnected: 0, tamper: 0 }),
    byArea: rows.filter((r) => !r.all_areas).map((r) => ({ area: r.area, ...counts(r) })),
  };
}

/** One page of the fleet's meters by serial, with the number of meters the filter matches. */
export async function fleetMeters(
  db: Queryable,
  filter: MeterFilter,
  page: { readonly limit: number; readonly offset: number },
): Promise<{ total: number; meters: MeterStateRow[] }> {
  const { rows } = await sql<MeterStateRow & { total: string }>`
    select s.*, count(*) over ()::text as total from (${meterStateQuery(filter)}) s
    order by s.serial limit ${page.limit} offset ${page.offset}`.execute(db);
  let total = Number(rows[0]?.total ?? 0);
  if (rows.length === 0 && page.offset > 0) {
    const count = await sql<{ n: string }>`
      select count(*)::text as n from (${meterStateQuery(filter)}) s`.execute(db);
    total = Number(count.rows[0]?.n ?? 0);
  }
  return { total, meters: rows };
}

export interface MeterPage {
  readonly meter: MeterStateRow;
  readonly currency: string;
  readonly currencyExponent: number;
  /** The account ledger (central mode) or the credit the meter last reported (token mode). */
  readonly credit: bigint | null;
  /** Token meters that keep their credit as energy: the Wh left, as the meter last reported. */
  readonly creditUnits: bigint | null;
  readonly events: { id: bigint; ts: Date; kind: string; details: Record<string, unknown> }[];
  readonly commands: {
    id: string;
    kind: string;
    state: string;
    attempts: number;
    created_at: Date;
    sent_at: Date | null;
    acknowledged_at: Date | null;
    expires_at: Date;
    reason: string | null;
  }[];
  readonly tokens: {
    issued_at: Date;
    kind: string;
    token: string;
    tid: number;
    vend_id: string | null;
    used_at: Date | null;
  }[];
  readonly ledger: { id: bigint; created_at: Date; kind: string; amount_minor: bigint; ref: string | null }[];
}

/** A meter's page: its state, its latest events, commands and tokens, its account's ledger and its credit. */
export async function meterPage(
  db: Queryable,
  utilityId: UtilityId,
  meterId: MeterId,
  limit: number,
): Promise<MeterPage> {
  const { rows } = await meterStateQuery({ utilityId, meterId }).execute(db);
  const meter = rows[0];
  if (!meter) throw new RasidError('not_found', `meter ${meterId} is unknown`);
  const u = await db
    .selectFrom('utilities')
    .select(['currency', 'currency_exponent'])
    .where('id', '=', utilityId)
    .executeTakeFirstOrThrow();
  const events = await db
    .selectFrom('meter_events')
    .select(['id', 'ts', 'kind', 'details'])
    .where('meter_id', '=', meterId)
    .orderBy('ts', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  const commands = await db
    .selectFrom('commands')
    .select([
      'id',
      'kind',
      'state',
      'attempts',
      'created_at',
      'sent_at',
      'acknowledged_at',
      'expires_at',
      'reason',
    ])
    .where('meter_id', '=', meterId)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
  const tokens = await db
    .selectFrom('tokens')
    .select(['issued_at', 'kind', 'token', 'tid', 'vend_id', 'used_at'])
    .where('meter_id', '=', meterId)
    .orderBy('issued_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  const ledger = meter.account_id
    ? await db
        .selectFrom('account_ledger')
        .select(['id', 'created_at', 'kind', 'amount_minor', 'ref'])
        .where('account_id', '=', meter.account_id as AccountId)
        .orderBy('id', 'desc')
        .limit(limit)
        .execute()
    : [];
  let credit: bigint | null = null;
  let creditUnits: bigint | null = null;
  if (meter.mode === 'central' && meter.account_id) {
    credit = await accountBalance(db, meter.account_id as AccountId);
  } else if (meter.mode === 'token') {
    const r = await db
      .selectFrom('readings')
      .select(['credit_minor', 'credit_wh'])
      .where('meter_id', '=', meterId)
      .where((eb) => eb.or([eb('credit_minor', 'is not', null), eb('credit_wh', 'is not', null)]))
      .orderBy('ts', 'desc')
      .limit(1)
      .executeTakeFirst();
    credit = r?.credit_minor == null ? null : BigInt(r.credit_minor);
    creditUnits = r?.credit_wh == null ? null : BigInt(r.credit_wh);
  }
  return {
    meter,
    currency: u.currency,
    currencyExponent: u.currency_exponent,
    credit,
    creditUnits,
    events,
    commands,
    tokens,
    ledger,
  };
}

/** A meter of the utility with its kind (what its consumption is counted in). */
export async function fleetMeterKind(
  db: Queryable,
  utilityId: UtilityId,
  meterId: MeterId,
): Promise<{ id: MeterId; kind: MeterKind }> {
  const meter = await db
    .selectFrom('meters')
    .select(['id', 'kind'])
    .where('id', '=', meterId)
    .where('utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!meter) throw new RasidError('not_found', `meter ${meterId} is unknown`);
  return meter;
}

/** The staff a case can be assigned to: enabled operators, technicians, service agents, admins. */
export function assignableStaff(
  db: Queryable,
  utilityId: UtilityId,
): Promise<{ id: UserId; username: string; display_name: string | null; role: Role }[]> {
  return db
    .selectFrom('users')
    .select(['id', 'username', 'display_name', 'role'])
    .where('utility_id', '=', utilityId)
    .where('role', 'in', ['operator', 'technician', 'service', 'admin'])
    .where('disabled_at', 'is', null)
    .orderBy('role')
    .orderBy('username')
    .execute();
}

/** The user of a live session, by the digest of its token; refused when unknown, expired or revoked. */
export async function sessionUser(db: Queryable, tokenHash: string, at: Date): Promise<UserId> {
  const s = await db
    .selectFrom('sessions')
    .select(['user_id', 'expires_at', 'revoked_at'])
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!s || s.revoked_at || s.expires_at <= at) {
    throw new RasidError('unauthenticated', 'the session is unknown, expired or revoked');
  }
  return s.user_id;
}

/** The utility and role of an enabled user; refused when the user is disabled or gone. */
export async function watcherOf(
  db: Queryable,
  userId: UserId,
): Promise<{ utilityId: UtilityId; role: Role }> {
  const user = await db
    .selectFrom('users')
    .select(['utility_id', 'role', 'disabled_at'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (!user || user.disabled_at) throw new RasidError('unauthenticated', 'the user is disabled');
  return { utilityId: user.utility_id, role: user.role };
}
