/**
 * CSV exports of a utility's customers, accounts and meters, in the columns of their import (docs/import.md)
 * so that an export reads back as an import, and of the account ledger of a period: each row with its
 * instant in UTC and in the utility's time zone, the account, the kind and the amount in minor units and as
 * the currency writes it.
 */
import { stringify } from 'csv-stringify/sync';
import { type Kysely, sql } from 'kysely';
import { formatMoney } from '../money.ts';
import type { Database, UtilityId } from '../store/schema.ts';
import { COLUMNS, type ImportKind } from './columns.ts';

export const EXPORT_KINDS = ['customers', 'accounts', 'meters', 'ledger'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

const csv = (rows: readonly (readonly unknown[])[]) =>
  stringify(rows as unknown[][], { cast: { boolean: (b) => (b ? 'true' : 'false') } });

/** Customers, accounts or meters as CSV, with the header of their import. */
export async function exportTable(
  db: Kysely<Database>,
  utilityId: UtilityId,
  kind: ImportKind,
): Promise<string> {
  const header = COLUMNS[kind].map((c) => c.name);
  if (kind === 'customers') {
    const rows = await db
      .selectFrom('customers')
      .select(['national_id', 'name', 'name_ar', 'phone', 'email', 'preferred_language'])
      .where('utility_id', '=', utilityId)
      .orderBy('national_id')
      .orderBy('id')
      .execute();
    return csv([
      header,
      ...rows.map((r) => [r.national_id, r.name, r.name_ar, r.phone, r.email, r.preferred_language]),
    ]);
  }
  if (kind === 'accounts') {
    const rows = await db
      .selectFrom('accounts as a')
      .innerJoin('customers as c', 'c.id', 'a.customer_id')
      .innerJoin('premises as p', 'p.id', 'a.premise_id')
      .select(['a.number', 'c.national_id', 'p.address', 'p.area', 'a.tariff_code', 'a.subsidy_eligible'])
      .where('a.utility_id', '=', utilityId)
      .orderBy('a.number')
      .execute();
    return csv([
      header,
      ...rows.map((r) => [r.number, r.national_id, r.address, r.area, r.tariff_code, r.subsidy_eligible]),
    ]);
  }
  const rows = await db
    .selectFrom('meters as m')
    .leftJoin('accounts as a', 'a.id', 'm.account_id')
    .leftJoin('districts as d', 'd.id', 'm.district_id')
    .select([
      'm.serial',
      'm.kind',
      'm.protocol',
      'm.mode',
      'a.number',
      'm.sts_iin',
      'm.sts_drn',
      'm.sts_sgc',
      'm.sts_ti',
      'm.sts_krn',
      'm.sts_kt',
      'm.sts_ea',
      'm.sts_base_date',
      'm.sts_ken',
      'm.role',
      'd.code as district',
      'm.status',
    ])
    .where('m.utility_id', '=', utilityId)
    .orderBy('m.serial')
    .execute();
  return csv([
    [...header, 'status'],
    ...rows.map((r) => [
      r.serial,
      r.kind,
      r.protocol,
      r.mode,
      r.number,
      r.sts_iin,
      r.sts_drn,
      r.sts_sgc,
      r.sts_ti === null ? null : String(r.sts_ti).padStart(2, '0'),
      r.sts_krn,
      r.sts_kt,
      r.sts_ea === null ? null : String(r.sts_ea).padStart(2, '0'),
      r.sts_base_date,
      r.sts_ken,
      r.role,
      r.district,
      r.status,
    ]),
  ]);
}

/**
 * A bound of a period: an instant (ISO 8601 with Z or an offset) or a calendar date, which means the start of
 * that day in the utility's time zone.
 */
export type PeriodBound = { readonly instant: Date } | { readonly date: string };

function boundSql(b: PeriodBound, timezone: string) {
  return 'instant' in b
    ? sql`${b.instant}::timestamptz`
    : sql`(${b.date}::date)::timestamp at time zone ${timezone}`;
}

/** The account ledger rows created in [from, to), oldest first. */
export async function exportLedger(
  db: Kysely<Database>,
  utilityId: UtilityId,
  from: PeriodBound,
  to: PeriodBound,
): Promise<string> {
  const utility = await db
    .selectFrom('utilities')
    .select(['currency', 'currency_exponent', 'timezone'])
    .where('id', '=', utilityId)
    .executeTakeFirstOrThrow();
  const { rows } = await sql<{
    id: bigint;
    created_at: Date;
    local: string;
    number: string;
    kind: string;
    amount_minor: bigint;
    ref: string | null;
    vend_id: string | null;
  }>`
    select l.id, l.created_at, to_char(l.created_at at time zone ${utility.timezone}, 'YYYY-MM-DD HH24:MI:SS') as local,
           a.number, l.kind, l.amount_minor, l.ref, l.vend_id
    from account_ledger l join accounts a on a.id = l.account_id
    where l.utility_id = ${utilityId} and l.created_at >= ${boundSql(from, utility.timezone)}
      and l.created_at < ${boundSql(to, utility.timezone)}
    order by l.created_at, l.id`.execute(db);
  return csv([
    [
      'id',
      'created_at_utc',
      `created_at_local (${utility.timezone})`,
      'account_number',
      'kind',
      'amount_minor',
      `amount (${utility.currency})`,
      'ref',
      'vend_id',
    ],
    ...rows.map((r) => [
      r.id.toString(),
      r.created_at.toISOString(),
      r.local,
      r.number,
      r.kind,
      r.amount_minor.toString(),
      formatMoney(r.amount_minor, utility.currency_exponent),
      r.ref,
      r.vend_id,
    ]),
  ]);
}
