/**
 * Bulk import of customers, accounts, meters and the civil registry's deaths from a sheet (src/import/sheet.ts): every row is checked
 * (its cells, then against the store: the holder, the tariff, the account, the natural key), the good rows
 * are written in batches of one `INSERT ... SELECT FROM unnest(...)` per table, and a report lists each bad
 * row with its row number, column and reason, and each row skipped because its natural key (national id,
 * account number, meter serial) is already there. A dry run writes nothing; `allOrNothing` writes every
 * good row in one transaction, or none when any row is bad. One audit row records each import that wrote.
 */
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Actor } from '../accounts/accounts.ts';
import { writeAudit } from '../accounts/audit.ts';
import { recordDeath } from '../deceased/service.ts';
import { stsColumns, vendingKeyIndex } from '../meters/registration.ts';
import type { Queryable } from '../store/ledger.ts';
import type { CustomerId, Database, UtilityId } from '../store/schema.ts';
import {
  type AccountInput,
  COLUMNS,
  type CustomerInput,
  type DeathInput,
  type ImportKind,
  type MeterInput,
  NATURAL_KEY,
  ROW_SCHEMAS,
  stsOfCells,
} from './columns.ts';
import { type Sheet, SheetError, type SheetRow } from './sheet.ts';

export interface RowError {
  readonly row: number;
  readonly column: string;
  readonly reason: string;
}

export interface RowSkipped {
  readonly row: number;
  /** The natural key already stored. */
  readonly key: string;
}

export interface ImportReport {
  readonly kind: ImportKind;
  readonly dryRun: boolean;
  readonly allOrNothing: boolean;
  /** Data rows read (the header not counted). */
  readonly rows: number;
  /** Rows written (in a dry run: rows that would be written). */
  readonly added: number;
  readonly skipped: RowSkipped[];
  readonly errors: RowError[];
  /** Header names that are not columns of this import (their cells are not read). */
  readonly ignoredColumns: string[];
  /** Whether anything was written. */
  readonly written: boolean;
}

export interface ImportOptions {
  readonly db: Kysely<Database>;
  readonly utilityId: UtilityId;
  readonly kind: ImportKind;
  readonly sheet: Sheet;
  readonly actor: Actor;
  readonly dryRun?: boolean;
  readonly allOrNothing?: boolean;
  /** A name for the audit row (the file's name). */
  readonly source?: string;
  readonly batchSize?: number;
  readonly now?: () => Date;
  /** Rows checked so far (and written, unless dry or all-or-nothing), of the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

interface Parsed<T> {
  readonly row: number;
  readonly value: T;
}

/** One batch's rows ready to insert, per table. */
interface Plan {
  customers: { id: string; v: CustomerInput }[];
  premises: { id: string; address: string; area: string | null }[];
  accounts: { id: string; premiseId: string; customerId: string; v: AccountInput }[];
  meters: { v: MeterInput; accountId: string | null; keyId: string | null; districtId: string | null }[];
  deaths: { customerId: CustomerId; v: DeathInput }[];
}

const emptyPlan = (): Plan => ({ customers: [], premises: [], accounts: [], meters: [], deaths: [] });

type RowValue = CustomerInput | AccountInput | MeterInput | DeathInput;

export async function runImport(opts: ImportOptions): Promise<ImportReport> {
  const { db, utilityId, kind, sheet } = opts;
  const dryRun = opts.dryRun ?? false;
  const allOrNothing = opts.allOrNothing ?? false;
  const batchSize = opts.batchSize ?? 1000;
  const now = opts.now ?? (() => new Date());
  const known = new Set(COLUMNS[kind].map((c) => c.name));
  const missing = COLUMNS[kind].filter((c) => c.required && !sheet.headers.includes(c.name));
  if (missing.length > 0) {
    throw new SheetError(
      `missing column${missing.length > 1 ? 's' : ''} ${missing.map((c) => c.name).join(', ')} in the header row`,
    );
  }
  const ignoredColumns = sheet.headers.filter((h) => h !== '' && !known.has(h));
  const errors: RowError[] = [];
  const skipped: RowSkipped[] = [];

  // 1. Cells: each row through its zod schema; a natural key twice in the file is an error on the second.
  const good: Parsed<RowValue>[] = [];
  const firstRowOf = new Map<string, number>();
  for (const r of sheet.rows) {
    const parsed = parseRow(kind, r);
    if ('problems' in parsed) {
      for (const p of parsed.problems) errors.push({ row: r.row, ...p });
      continue;
    }
    const key = (parsed.value as Record<string, unknown>)[NATURAL_KEY[kind]] as string;
    const first = firstRowOf.get(key);
    if (first !== undefined) {
      errors.push({ row: r.row, column: NATURAL_KEY[kind], reason: `${key} is also on row ${first}` });
      continue;
    }
    firstRowOf.set(key, r.row);
    good.push({ row: r.row, value: parsed.value });
  }

  // 2. The store: per batch, what is there already and what the rows refer to.
  const context = await loadContext(db, utilityId, kind);
  const total = sheet.rows.length;
  let checked = total - good.length;
  opts.onProgress?.(checked, total);
  let added = 0;
  let written = false;
  const held: Plan[] = [];
  for (let i = 0; i < good.length; i += batchSize) {
    const batch = good.slice(i, i + batchSize);
    const plan = await planBatch(db, utilityId, kind, batch, context, errors, skipped, now);
    const count = plan.customers.length + plan.accounts.length + plan.meters.length + plan.deaths.length;
    if (dryRun) added += count;
    else if (allOrNothing) {
      held.push(plan);
      added += count;
    } else if (count > 0) {
      const n = await db.transaction().execute((trx) => writePlan(trx, utilityId, plan, opts.actor, now));
      added += n;
      written = true;
    }
    checked += batch.length;
    opts.onProgress?.(checked, total);
  }
  if (allOrNothing && !dryRun) {
    if (errors.length > 0) added = 0;
    else if (added > 0) {
      added = await db.transaction().execute(async (trx) => {
        let n = 0;
        for (const plan of held) n += await writePlan(trx, utilityId, plan, opts.actor, now);
        await audit(trx, opts, n, skipped.length, 0);
        return n;
      });
      written = true;
    }
  } else if (written) {
    await audit(db, opts, added, skipped.length, errors.length);
  }
  errors.sort((a, b) => a.row - b.row);
  skipped.sort((a, b) => a.row - b.row);
  return { kind, dryRun, allOrNothing, rows: total, added, skipped, errors, ignoredColumns, written };
}

function audit(db: Queryable, opts: ImportOptions, added: number, skipped: number, errors: number) {
  return writeAudit(db, {
    utilityId: opts.utilityId,
    actor: opts.actor.actor,
    action: `import.${opts.kind}`,
    subject: `import:${opts.kind}`,
    details: {
      source: opts.source ?? null,
      rows: opts.sheet.rows.length,
      added,
      skipped,
      errors,
      allOrNothing: opts.allOrNothing ?? false,
    },
  });
}

function parseRow(
  kind: ImportKind,
  r: SheetRow,
): { value: RowValue } | { problems: { column: string; reason: string }[] } {
  const cells: Record<string, string> = {};
  for (const c of COLUMNS[kind]) cells[c.name] = r.cells[c.name] ?? '';
  const result = ROW_SCHEMAS[kind].safeParse(cells);
  const problems = result.success
    ? []
    : result.error.issues.map((i) => ({ column: String(i.path[0] ?? ''), reason: i.message }));
  if (kind !== 'meters') {
    return result.success
      ? { value: result.data as CustomerInput | AccountInput | DeathInput }
      : { problems };
  }
  const sts = stsOfCells(cells);
  if ('problems' in sts) problems.push(...sts.problems);
  if (problems.length > 0 || !result.success || 'problems' in sts) return { problems };
  return { value: { ...(result.data as Omit<MeterInput, 'sts'>), sts: sts.sts } };
}

interface Context {
  tariffCodes: Set<string>;
  /** Districts by code (meters). */
  districts: Map<string, { id: string; kind: string }>;
  vendingKeyOf: (sts: MeterInput['sts']) => string | null;
  /** Customers who hold a subsidised account, in the store or earlier in this file. */
  subsidised: Set<string>;
}

async function loadContext(db: Kysely<Database>, utilityId: UtilityId, kind: ImportKind): Promise<Context> {
  const tariffCodes =
    kind === 'accounts'
      ? new Set(
          (
            await db
              .selectFrom('tariffs')
              .select('code')
              .distinct()
              .where('utility_id', '=', utilityId)
              .execute()
          ).map((t) => t.code),
        )
      : new Set<string>();
  const vendingKeyOf = kind === 'meters' ? await vendingKeyIndex(db, utilityId) : () => null;
  const districts =
    kind === 'meters'
      ? new Map(
          (
            await db
              .selectFrom('districts')
              .select(['id', 'code', 'kind'])
              .where('utility_id', '=', utilityId)
              .execute()
          ).map((d) => [d.code, { id: d.id as string, kind: d.kind as string }]),
        )
      : new Map<string, { id: string; kind: string }>();
  return { tariffCodes, vendingKeyOf, districts, subsidised: new Set() };
}

async function planBatch(
  db: Kysely<Database>,
  utilityId: UtilityId,
  kind: ImportKind,
  batch: readonly Parsed<RowValue>[],
  ctx: Context,
  errors: RowError[],
  skipped: RowSkipped[],
  now: () => Date,
): Promise<Plan> {
  const plan = emptyPlan();
  if (kind === 'customers') {
    const rows = batch as Parsed<CustomerInput>[];
    const ids = rows.map((r) => r.value.national_id);
    const { rows: there } = await sql<{ national_id: string }>`
      select national_id from customers
      where utility_id = ${utilityId} and national_id = any(${ids}::text[])`.execute(db);
    const exists = new Set(there.map((t) => t.national_id));
    for (const r of rows) {
      if (exists.has(r.value.national_id)) skipped.push({ row: r.row, key: r.value.national_id });
      else plan.customers.push({ id: randomUUID(), v: r.value });
    }
    return plan;
  }
  if (kind === 'deaths') {
    const rows = batch as Parsed<DeathInput>[];
    const ids = rows.map((r) => r.value.national_id);
    const { rows: people } = await sql<{ id: CustomerId; national_id: string; recorded: boolean }>`
      select c.id, c.national_id,
        exists (select 1 from holder_deaths d where d.customer_id = c.id) as recorded
      from customers c
      where c.utility_id = ${utilityId} and c.national_id = any(${ids}::text[])`.execute(db);
    const personOf = new Map(people.map((p) => [p.national_id, p]));
    const today = now().toISOString().slice(0, 10);
    for (const r of rows) {
      const v = r.value;
      const person = personOf.get(v.national_id);
      if (!person) {
        errors.push({
          row: r.row,
          column: 'national_id',
          reason: `no customer with national id ${v.national_id}`,
        });
      } else if (v.date_of_death > today) {
        errors.push({ row: r.row, column: 'date_of_death', reason: 'the date of death is in the future' });
      } else if (person.recorded) {
        skipped.push({ row: r.row, key: v.national_id });
      } else {
        plan.deaths.push({ customerId: person.id, v });
      }
    }
    return plan;
  }
  if (kind === 'accounts') {
    const rows = batch as Parsed<AccountInput>[];
    const numbers = rows.map((r) => r.value.account_number);
    const nationalIds = [...new Set(rows.map((r) => r.value.national_id))];
    const [{ rows: there }, { rows: holders }] = await Promise.all([
      sql<{ number: string }>`
        select number from accounts where utility_id = ${utilityId} and number = any(${numbers}::text[])`.execute(
        db,
      ),
      sql<{ id: string; national_id: string; subsidised: boolean }>`
        select c.id, c.national_id, exists (
          select 1 from accounts a
          where a.customer_id = c.id and a.subsidy_eligible and a.status <> 'closed') as subsidised
        from customers c
        where c.utility_id = ${utilityId} and c.national_id = any(${nationalIds}::text[])`.execute(db),
    ]);
    const exists = new Set(there.map((t) => t.number));
    const holderOf = new Map(holders.map((h) => [h.national_id, h.id]));
    for (const h of holders) if (h.subsidised) ctx.subsidised.add(h.id);
    for (const r of rows) {
      const v = r.value;
      if (exists.has(v.account_number)) {
        skipped.push({ row: r.row, key: v.account_number });
        continue;
      }
      const customerId = holderOf.get(v.national_id);
      const problems: { column: string; reason: string }[] = [];
      if (customerId === undefined) {
        problems.push({ column: 'national_id', reason: `no customer with national id ${v.national_id}` });
      }
      if (v.tariff_code !== null && !ctx.tariffCodes.has(v.tariff_code)) {
        problems.push({ column: 'tariff_code', reason: `no tariff ${v.tariff_code} in this utility` });
      }
      if (customerId !== undefined && v.subsidy_eligible && ctx.subsidised.has(customerId)) {
        problems.push({
          column: 'subsidy_eligible',
          reason: 'the holder already has a subsidised account in this utility',
        });
      }
      if (problems.length > 0 || customerId === undefined) {
        for (const p of problems) errors.push({ row: r.row, ...p });
        continue;
      }
      if (v.subsidy_eligible) ctx.subsidised.add(customerId);
      const premiseId = randomUUID();
      plan.premises.push({ id: premiseId, address: v.address, area: v.area });
      plan.accounts.push({ id: randomUUID(), premiseId, customerId, v });
    }
    return plan;
  }
  const rows = batch as Parsed<MeterInput>[];
  const serials = rows.map((r) => r.value.serial);
  const numbers = [...new Set(rows.flatMap((r) => (r.value.account_number ? [r.value.account_number] : [])))];
  const [{ rows: there }, { rows: accounts }] = await Promise.all([
    sql<{ serial: string }>`
      select serial from meters where utility_id = ${utilityId} and serial = any(${serials}::text[])`.execute(
      db,
    ),
    sql<{ id: string; number: string; status: string }>`
      select id, number, status from accounts
      where utility_id = ${utilityId} and number = any(${numbers}::text[])`.execute(db),
  ]);
  const exists = new Set(there.map((t) => t.serial));
  const accountOf = new Map(accounts.map((a) => [a.number, a]));
  for (const r of rows) {
    const v = r.value;
    if (exists.has(v.serial)) {
      skipped.push({ row: r.row, key: v.serial });
      continue;
    }
    let accountId: string | null = null;
    if (v.account_number !== null) {
      const account = accountOf.get(v.account_number);
      if (!account) {
        errors.push({ row: r.row, column: 'account_number', reason: `no account ${v.account_number}` });
        continue;
      }
      if (account.status === 'closed') {
        errors.push({
          row: r.row,
          column: 'account_number',
          reason: `account ${v.account_number} is closed`,
        });
        continue;
      }
      accountId = account.id;
    }
    let districtId: string | null = null;
    if (v.district !== null) {
      const district = ctx.districts.get(v.district);
      if (!district) {
        errors.push({ row: r.row, column: 'district', reason: `no district ${v.district}` });
        continue;
      }
      if (district.kind !== v.kind) {
        errors.push({
          row: r.row,
          column: 'district',
          reason: `${v.district} is a ${district.kind} district`,
        });
        continue;
      }
      districtId = district.id;
    }
    plan.meters.push({ v, accountId, keyId: ctx.vendingKeyOf(v.sts), districtId });
  }
  return plan;
}

/**
 * Writes one batch; a row whose natural key was stored meanwhile (another import at the same time) is left
 * out by `on conflict do nothing`. Returns the rows written.
 */
async function writePlan(
  trx: Queryable,
  utilityId: UtilityId,
  plan: Plan,
  by: Actor,
  now: () => Date,
): Promise<number> {
  let n = 0;
  if (plan.customers.length > 0) {
    const c = plan.customers;
    const r = await sql`
      insert into customers (id, utility_id, national_id, name, name_ar, phone, email, preferred_language)
      select u.id, ${utilityId}::uuid, u.national_id, u.name, u.name_ar, u.phone, u.email, u.lang
      from unnest(${c.map((x) => x.id)}::uuid[], ${c.map((x) => x.v.national_id)}::text[],
                  ${c.map((x) => x.v.name)}::text[], ${c.map((x) => x.v.name_ar)}::text[],
                  ${c.map((x) => x.v.phone)}::text[], ${c.map((x) => x.v.email)}::text[],
                  ${c.map((x) => x.v.language)}::text[])
        as u(id, national_id, name, name_ar, phone, email, lang)
      on conflict (utility_id, national_id) where national_id is not null do nothing`.execute(trx);
    n += Number(r.numAffectedRows ?? 0n);
  }
  if (plan.accounts.length > 0) {
    const p = plan.premises;
    await sql`
      insert into premises (id, utility_id, address, area)
      select u.id, ${utilityId}::uuid, u.address, u.area
      from unnest(${p.map((x) => x.id)}::uuid[], ${p.map((x) => x.address)}::text[],
                  ${p.map((x) => x.area)}::text[]) as u(id, address, area)`.execute(trx);
    const a = plan.accounts;
    const { rows } = await sql<{ id: string; customer_id: string }>`
      insert into accounts (id, utility_id, number, customer_id, premise_id, tariff_code, subsidy_eligible)
      select u.id, ${utilityId}::uuid, u.number, u.customer_id, u.premise_id, u.tariff_code, u.subsidy
      from unnest(${a.map((x) => x.id)}::uuid[], ${a.map((x) => x.v.account_number)}::text[],
                  ${a.map((x) => x.customerId)}::uuid[], ${a.map((x) => x.premiseId)}::uuid[],
                  ${a.map((x) => x.v.tariff_code)}::text[], ${a.map((x) => x.v.subsidy_eligible)}::boolean[])
        as u(id, number, customer_id, premise_id, tariff_code, subsidy)
      on conflict (utility_id, number) do nothing
      returning id, customer_id`.execute(trx);
    if (rows.length > 0) {
      await sql`
        insert into account_holders (utility_id, account_id, customer_id, from_at, reason, performed_by)
        select ${utilityId}::uuid, u.account_id, u.customer_id, ${now()}, 'opening', ${by.userId}::uuid
        from unnest(${rows.map((x) => x.id)}::uuid[], ${rows.map((x) => x.customer_id)}::uuid[])
          as u(account_id, customer_id)`.execute(trx);
    }
    n += rows.length;
  }
  for (const d of plan.deaths) {
    const recorded = await recordDeath(
      trx,
      {
        utilityId,
        customerId: d.customerId,
        dateOfDeath: d.v.date_of_death,
        evidenceRef: d.v.evidence_ref,
        source: 'registry',
        actor: by.actor,
      },
      now(),
    );
    if (recorded) n += 1;
  }
  if (plan.meters.length > 0) {
    const m = plan.meters;
    const sts = m.map((x) => stsColumns(x.v.sts));
    const r = await sql`
      insert into meters (utility_id, serial, kind, protocol, mode, account_id, sts_iin, sts_drn, sts_sgc,
                          sts_ti, sts_krn, sts_kt, sts_ea, sts_base_date, sts_ken, vending_key_id, role,
                          district_id)
      select ${utilityId}::uuid, u.*
      from unnest(${m.map((x) => x.v.serial)}::text[], ${m.map((x) => x.v.kind)}::text[],
                  ${m.map((x) => x.v.protocol)}::text[], ${m.map((x) => x.v.mode)}::text[],
                  ${m.map((x) => x.accountId)}::uuid[], ${sts.map((s) => s.sts_iin)}::text[],
                  ${sts.map((s) => s.sts_drn)}::text[], ${sts.map((s) => s.sts_sgc)}::integer[],
                  ${sts.map((s) => s.sts_ti)}::smallint[], ${sts.map((s) => s.sts_krn)}::smallint[],
                  ${sts.map((s) => s.sts_kt)}::smallint[], ${sts.map((s) => s.sts_ea)}::smallint[],
                  ${sts.map((s) => s.sts_base_date)}::date[], ${sts.map((s) => s.sts_ken)}::smallint[],
                  ${m.map((x) => x.keyId)}::uuid[], ${m.map((x) => x.v.role)}::text[],
                  ${m.map((x) => x.districtId)}::uuid[]) as u
      on conflict (utility_id, serial) do nothing`.execute(trx);
    n += Number(r.numAffectedRows ?? 0n);
  }
  return n;
}
