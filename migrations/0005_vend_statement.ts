import { type Kysely, sql } from 'kysely';

/**
 * A vend in two statements (docs/vending.md "How a vend runs"). Node reads the vend's whole context in one
 * query, prices it and computes the STS token, then `rasid_vend` writes everything in one statement, and so
 * in one transaction. Nothing is locked between the two: `rasid_vend` takes the meter's and the account's row
 * locks, recomputes `rasid_vend_state` and writes only if its `version` is the one Node priced against;
 * otherwise it answers `stale` and Node reads and prices again (optimistic concurrency: a stale answer means
 * another vend of the same meter or account committed, so every retry follows someone's progress).
 */
const UP: readonly string[] = [
  // Meters are also found by STS meter number (DRN) in the one-statement context read.
  'create index meters_drn on meters (utility_id, sts_drn) where sts_drn is not null',
  // A meter's last TID is the greater of two index reads: tokens_meter_tid holds every token but key-change
  // pairs, this small index holds only those (a full index would cost every vend one more insertion).
  `create index tokens_meter_key_change_tid on tokens (meter_id, tid) where kind = 'key_change'`,

  /*
   * What a vend of this meter is priced and numbered against: the meter's last TID, its units bought this
   * month, the account's balance, debt recovered and the fixed charge paid for the month (`p_fixed_ref`),
   * and `version`, a digest of these and of the meter's and the account's vending columns.
   */
  `create function rasid_vend_state(
     p_meter uuid, p_from timestamptz, p_fixed_ref text,
     out last_tid integer, out month_units bigint, out balance bigint, out recovered bigint,
     out fixed_paid bigint, out version text
   ) language plpgsql stable as $$
   declare
     v_account uuid;
     v_rows text;
   begin
     select m.account_id,
            row(m.account_id, m.status, m.mode, m.kind, m.sts_iin, m.sts_drn, m.sts_sgc, m.sts_ti, m.sts_krn,
                m.sts_kt, m.sts_ea, m.sts_base_date, m.sts_ken, m.vending_key_id,
                a.status, a.debt_minor, a.tariff_code, a.subsidy_eligible)::text
       into v_account, v_rows
       from meters m left join accounts a on a.id = m.account_id
      where m.id = p_meter;
     select greatest(
              (select max(t.tid) from tokens t where t.meter_id = p_meter and t.kind <> 'key_change'),
              (select max(t.tid) from tokens t where t.meter_id = p_meter and t.kind = 'key_change'))
       into last_tid;
     select coalesce(sum(v.units), 0) into month_units
       from vends v where v.meter_id = p_meter and v.status = 'completed' and v.created_at >= p_from;
     select coalesce(sum(l.amount_minor), 0),
            coalesce(-sum(l.amount_minor) filter (where l.ref = 'debt_recovery'), 0),
            coalesce(-sum(l.amount_minor) filter (where l.ref = p_fixed_ref), 0)
       into balance, recovered, fixed_paid
       from account_ledger l where l.account_id = v_account;
     version := md5(row(v_rows, last_tid, month_units, balance, recovered, fixed_paid)::text);
   end $$`,

  /*
   * Everything a quote or a vend is priced against, in one call: the meter (by serial, or by STS meter
   * number `p_drn` with its IIN `p_iin` when given), its account and holder, the tariff in force (the
   * subsidised variant when the account is eligible, else the standard one; the latest effective version),
   * the selling vendor, an earlier vend under the idempotency key, and rasid_vend_state. No row: no meter.
   * A function so that the database plans these queries once per session, not once per vend.
   */
  `create function rasid_vend_context(
     p_utility uuid, p_serial text, p_drn text, p_iin text, p_vendor uuid, p_key text,
     p_at timestamptz, p_from timestamptz, p_fixed_ref text
   ) returns table (
     id uuid, utility_id uuid, serial text, kind text, mode text, status text, account_id uuid,
     sts_iin text, sts_drn text, sts_sgc integer, sts_ti smallint, sts_krn smallint, sts_kt smallint,
     sts_ea smallint, sts_base_date date, sts_ken smallint, vending_key_id uuid,
     account_number text, account_status text, debt_minor bigint, tariff_code text, subsidy_eligible boolean,
     customer_name text, preferred_language text,
     tariff_id uuid, fixed_monthly_minor bigint, tax_rate_bp integer, debt_recovery_bp integer,
     min_purchase_minor bigint, price_per_units integer, blocks jsonb,
     vendor_name text, vendor_active boolean, vendor_utility_id uuid, commission_bp integer,
     earlier_id uuid, earlier_hash text, earlier_token text, earlier_receipt jsonb,
     last_tid integer, month_units bigint, balance bigint, recovered bigint, fixed_paid bigint, version text
   ) language plpgsql stable as $$
   #variable_conflict use_column
   begin
     return query
     select m.id, m.utility_id, m.serial, m.kind, m.mode, m.status, m.account_id,
            m.sts_iin, m.sts_drn, m.sts_sgc, m.sts_ti, m.sts_krn, m.sts_kt,
            m.sts_ea, m.sts_base_date, m.sts_ken, m.vending_key_id,
            a.number, a.status, a.debt_minor, a.tariff_code, a.subsidy_eligible,
            c.name, c.preferred_language,
            t.id, t.fixed_monthly_minor, t.tax_rate_bp, t.debt_recovery_bp,
            t.min_purchase_minor, t.price_per_units, t.blocks,
            vd.name, vd.active, vd.utility_id, vd.commission_bp,
            e.id, e.request_hash, e.token, e.receipt,
            s.last_tid, s.month_units, s.balance, s.recovered, s.fixed_paid, s.version
       from (select mm.* from meters mm
              where mm.utility_id = p_utility
                and (mm.serial = p_serial
                     or (mm.sts_drn = p_drn and (p_iin is null or mm.sts_iin = p_iin)))
              order by mm.serial = p_serial desc
              limit 1) m
       left join accounts a on a.id = m.account_id
       left join customers c on c.id = a.customer_id
       left join lateral (
         select tt.* from tariffs tt
          where tt.utility_id = m.utility_id and tt.kind = m.kind and tt.effective_from <= p_at
            and (a.tariff_code is null or tt.code = a.tariff_code)
            and (a.subsidy_eligible or not tt.subsidised)
          order by tt.subsidised desc, tt.effective_from desc, tt.version desc
          limit 1) t on true
       left join vendors vd on vd.id = p_vendor
       left join vends e on e.utility_id = p_utility and e.idempotency_key = p_key
       cross join lateral rasid_vend_state(m.id, p_from, p_fixed_ref) s;
   end $$`,

  /*
   * Writes one priced vend: the vend row, the account ledger lines, the token, the payment's link, the audit
   * row and, for a vendor sale, the sale and commission lines under the vendor's row lock after the float
   * check. `v` is the vend as JSON (amounts as strings of digits). Answers {"outcome": ...}:
   *   replay              the idempotency key is taken: the earlier vend's id, request hash, token, receipt
   *   stale               the meter's or account's state moved since Node read it: nothing written
   *   insufficient_float  float plus credit limit is short: nothing written
   *   done                written
   * Locks, always in this order: meter, account, vendor (NO KEY UPDATE: the rows written hold KEY SHARE on
   * them through their foreign keys).
   */
  `create function rasid_vend(v jsonb) returns jsonb language plpgsql as $$
   declare
     v_id uuid := (v->>'id')::uuid;
     v_utility uuid := (v->>'utility_id')::uuid;
     v_meter uuid := (v->>'meter_id')::uuid;
     v_account uuid := (v->>'account_id')::uuid;
     v_vendor uuid := (v->>'vendor_id')::uuid;
     v_amount bigint := (v->>'amount_paid_minor')::bigint;
     v_at timestamptz := (v->>'at')::timestamptz;
     v_earlier record;
     v_version text;
     v_credit_limit bigint;
     v_float bigint;
   begin
     select e.id, e.request_hash, e.token, e.receipt into v_earlier
       from vends e where e.utility_id = v_utility and e.idempotency_key = v->>'idempotency_key';
     if found then
       return jsonb_build_object('outcome', 'replay', 'id', v_earlier.id, 'request_hash', v_earlier.request_hash,
                                 'token', v_earlier.token, 'receipt', v_earlier.receipt);
     end if;

     perform 1 from meters where id = v_meter for no key update;
     perform 1 from accounts where id = v_account for no key update;
     select s.version into v_version
       from rasid_vend_state(v_meter, (v->>'month_start')::timestamptz, v->>'fixed_ref') s;
     if v_version is distinct from v->>'version' then
       return jsonb_build_object('outcome', 'stale');
     end if;

     if v_vendor is not null then
       select credit_limit_minor into v_credit_limit from vendors where id = v_vendor for no key update;
       v_float := coalesce(
         (select balance_after from vendor_ledger where vendor_id = v_vendor order by id desc limit 1), 0);
       if v_float + v_credit_limit < v_amount then
         return jsonb_build_object('outcome', 'insufficient_float', 'float', v_float::text,
                                   'credit_limit', v_credit_limit::text);
       end if;
     end if;

     insert into vends (id, utility_id, meter_id, account_id, channel, vendor_id, kiosk_id, payment_id,
                        idempotency_key, request_hash, amount_paid_minor, units, token, tid, receipt)
     values (v_id, v_utility, v_meter, v_account, v->>'channel', v_vendor, (v->>'kiosk_id')::uuid,
             (v->>'payment_id')::uuid, v->>'idempotency_key', v->>'request_hash', v_amount,
             (v->>'units')::bigint, v->>'token', (v->>'tid')::integer, v->'receipt');

     insert into account_ledger (utility_id, account_id, kind, amount_minor, ref, vend_id)
     select v_utility, v_account, l.e->>'kind', (l.e->>'amount_minor')::bigint, l.e->>'ref', v_id
       from jsonb_array_elements(v->'account_ledger') with ordinality as l(e, n)
      order by l.n;

     if v->>'token' is not null then
       insert into tokens (utility_id, meter_id, tid, kind, token, vend_id, issued_at)
       values (v_utility, v_meter, (v->>'tid')::integer, 'credit', v->>'token', v_id, v_at);
     end if;

     if v->>'payment_id' is not null then
       update payments set vend_id = v_id, updated_at = v_at where id = (v->>'payment_id')::uuid;
     end if;

     insert into audit_log (utility_id, actor, action, subject, details)
     values (v_utility, v->>'actor', 'vend.issue', 'vend:' || v_id, v->'audit');

     if v_vendor is not null then
       insert into vendor_ledger (utility_id, vendor_id, kiosk_id, kind, amount_minor, ref, vend_id)
       select v_utility, v_vendor, (v->>'kiosk_id')::uuid, l.e->>'kind', (l.e->>'amount_minor')::bigint,
              l.e->>'ref', v_id
         from jsonb_array_elements(v->'vendor_ledger') with ordinality as l(e, n)
        order by l.n;
     end if;

     return jsonb_build_object('outcome', 'done');
   end $$`,
];

const DOWN: readonly string[] = [
  'drop function if exists rasid_vend(jsonb)',
  'drop function if exists rasid_vend_context(uuid, text, text, text, uuid, text, timestamptz, timestamptz, text)',
  'drop function if exists rasid_vend_state(uuid, timestamptz, text)',
  'drop index if exists tokens_meter_key_change_tid',
  'drop index if exists meters_drn',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
