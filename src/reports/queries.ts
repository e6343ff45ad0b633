/**
 * The reads behind operators' reports: revenue per local day (the utility's time zone) from the vends, and
 * consumption per UTC day from the daily readings roll-up.
 */
import { sql } from 'kysely';
import type { Queryable } from '../store/ledger.ts';
import type { UtilityId } from '../store/schema.ts';

/** What a report shows of its utility: code (file names), currency and exponent, time zone. */
export async function reportUtility(db: Queryable, utilityId: UtilityId) {
  return db
    .selectFrom('utilities')
    .select(['code', 'currency', 'currency_exponent', 'timezone'])
    .where('id', '=', utilityId)
    .executeTakeFirstOrThrow();
}

export interface RevenueDay {
  day: string;
  vends: number;
  paidMinor: bigint;
  onlineMinor: bigint;
  vendorMinor: bigint;
  reversals: number;
  reversedMinor: bigint;
  energyWh: bigint;
  volumeL: bigint;
}

/**
 * Sales per local day of the utility in [from, to): completed vends and what was paid (online and at
 * vendors), reversals by the day of the sale, and the units sold (Wh and litres).
 */
export async function revenueByDay(
  db: Queryable,
  utilityId: UtilityId,
  from: string,
  to: string,
  area?: string,
): Promise<RevenueDay[]> {
  const { rows } = await sql<{
    day: string;
    vends: string;
    paid: string;
    online: string;
    vendor: string;
    reversals: string;
    reversed: string;
    energy_wh: string;
    volume_l: string;
  }>`
    select to_char((v.created_at at time zone u.timezone)::date, 'YYYY-MM-DD') as day,
      count(*) filter (where v.status = 'completed')::text as vends,
      coalesce(sum(v.amount_paid_minor) filter (where v.status = 'completed'), 0)::text as paid,
      coalesce(sum(v.amount_paid_minor) filter (where v.status = 'completed' and v.channel = 'online'), 0)::text as online,
      coalesce(sum(v.amount_paid_minor) filter (where v.status = 'completed' and v.channel = 'vendor'), 0)::text as vendor,
      count(*) filter (where v.status = 'reversed')::text as reversals,
      coalesce(sum(v.amount_paid_minor) filter (where v.status = 'reversed'), 0)::text as reversed,
      coalesce(sum(v.units) filter (where v.status = 'completed' and m.kind = 'electricity'), 0)::text as energy_wh,
      coalesce(sum(v.units) filter (where v.status = 'completed' and m.kind = 'water'), 0)::text as volume_l
    from vends v
    join utilities u on u.id = v.utility_id
    join meters m on m.id = v.meter_id
    ${area === undefined ? sql`` : sql`join accounts a on a.id = v.account_id join premises p on p.id = a.premise_id`}
    where v.utility_id = ${utilityId}
      and v.created_at >= (${from}::date)::timestamp at time zone u.timezone
      and v.created_at < (${to}::date)::timestamp at time zone u.timezone
      ${area === undefined ? sql`` : sql`and p.area = ${area}`}
    group by 1 order by 1`.execute(db);
  return rows.map((r) => ({
    day: r.day,
    vends: Number(r.vends),
    paidMinor: BigInt(r.paid),
    onlineMinor: BigInt(r.online),
    vendorMinor: BigInt(r.vendor),
    reversals: Number(r.reversals),
    reversedMinor: BigInt(r.reversed),
    energyWh: BigInt(r.energy_wh),
    volumeL: BigInt(r.volume_l),
  }));
}

export interface ConsumptionDay {
  day: string;
  meters: number;
  energyWh: bigint;
  volumeL: bigint;
}

/**
 * Fleet consumption per UTC day in [from, to) from `readings_daily`: per meter and day, the day's last
 * register value less the meter's previous day with readings in the week before (else the day's first
 * value); a register that went down counts the day's own spread. Summed per day over the meters.
 */
export async function consumptionByDay(
  db: Queryable,
  utilityId: UtilityId,
  from: string,
  to: string,
  area?: string,
): Promise<ConsumptionDay[]> {
  const use = (min: string, max: string, prev: string) =>
    sql.raw(`case when ${max} is null then 0
      when ${max} >= coalesce(${prev}, ${min}) then ${max} - coalesce(${prev}, ${min})
      else ${max} - ${min} end`);
  const { rows } = await sql<{ day: string; meters: string; energy_wh: string; volume_l: string }>`
    with d as (
      select r.meter_id, r.bucket, r.energy_wh_min, r.energy_wh_max, r.volume_l_min, r.volume_l_max,
        lag(r.energy_wh_max) over w as prev_e, lag(r.volume_l_max) over w as prev_v
      from readings_daily r
      join meters m on m.id = r.meter_id
      ${area === undefined ? sql`` : sql`join accounts a on a.id = m.account_id join premises p on p.id = a.premise_id`}
      where m.utility_id = ${utilityId}
        and r.bucket >= (${from}::date - 7)::timestamp at time zone 'UTC'
        and r.bucket < (${to}::date)::timestamp at time zone 'UTC'
        ${area === undefined ? sql`` : sql`and p.area = ${area}`}
      window w as (partition by r.meter_id order by r.bucket)
    )
    select to_char(bucket at time zone 'UTC', 'YYYY-MM-DD') as day,
      count(distinct meter_id)::text as meters,
      sum(${use('energy_wh_min', 'energy_wh_max', 'prev_e')})::text as energy_wh,
      sum(${use('volume_l_min', 'volume_l_max', 'prev_v')})::text as volume_l
    from d
    where bucket >= (${from}::date)::timestamp at time zone 'UTC'
    group by 1 order by 1`.execute(db);
  return rows.map((r) => ({
    day: r.day,
    meters: Number(r.meters),
    energyWh: BigInt(r.energy_wh ?? '0'),
    volumeL: BigInt(r.volume_l ?? '0'),
  }));
}
