import { type Kysely, sql } from 'kysely';

/**
 * A vendor's float is derived from its ledger; summing every row on each sale grows with the vendor's
 * history. Each vendor_ledger row now records the running float after it (`balance_after`), computed by the
 * database on insert under the vendor's row lock, so reading the float is one indexed row and concurrent
 * inserts for one vendor cannot interleave. The rows stay append-only; the float is still never edited.
 */
const UP: readonly string[] = [
  'alter table vendor_ledger add column balance_after bigint',
  `create function rasid_vendor_running_float() returns trigger language plpgsql as $$
   begin
     perform 1 from vendors where id = new.vendor_id for no key update;
     new.balance_after := coalesce(
       (select balance_after from vendor_ledger where vendor_id = new.vendor_id order by id desc limit 1), 0
     ) + new.amount_minor;
     return new;
   end $$`,
  `create trigger vendor_ledger_running_float before insert on vendor_ledger
     for each row execute function rasid_vendor_running_float()`,
  // Rows written before this migration: fill the running float once, in order.
  `alter table vendor_ledger disable trigger vendor_ledger_append_only`,
  `update vendor_ledger v set balance_after = s.running
     from (select id, sum(amount_minor) over (partition by vendor_id order by id) as running from vendor_ledger) s
     where v.id = s.id`,
  `alter table vendor_ledger enable trigger vendor_ledger_append_only`,
  'alter table vendor_ledger alter column balance_after set not null',
  'create index vendor_ledger_latest on vendor_ledger (vendor_id, id desc)',
];

const DOWN: readonly string[] = [
  'drop index if exists vendor_ledger_latest',
  'drop trigger if exists vendor_ledger_running_float on vendor_ledger',
  'drop function if exists rasid_vendor_running_float()',
  'alter table vendor_ledger drop column if exists balance_after',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
