import { type Kysely, sql } from 'kysely';

/**
 * Tariffs as one module (src/tariffs, docs/tariffs.md):
 *
 * - `rasid_tariff_in_force`: THE rule that chooses the version pricing a meter's account at an instant. The
 *   vend's context read (`rasid_vend_context`, 0005 and 0009) now joins it instead of its own subquery, and
 *   the balance engine calls it (src/tariffs/in-force.ts), so SQL and TypeScript choose alike.
 * - `rasid_vend_context` also answers the version's `tou`, so a quote sees its time-of-use periods.
 * - `tou` holds seasons of periods (src/tariffs/model.ts). Versions written before in the earlier shape (a
 *   list of periods without seasons) were always priced flat by their blocks: their `tou` is cleared so the
 *   stored version says how it priced.
 * - `balance_state` keeps the month's consumption cost scaled (minor units × price_per_units) beside its
 *   units: a time-of-use month's cost depends on when its units were used, not on how many there were.
 */
const IN_FORCE = `create function rasid_tariff_in_force(
     p_utility uuid, p_kind text, p_code text, p_eligible boolean, p_at timestamptz
   ) returns setof tariffs language sql stable as $$
     select t.* from tariffs t
      where t.utility_id = p_utility and t.kind = p_kind and t.effective_from <= p_at
        and (p_code is null or t.code = p_code or (t.subsidised and t.variant_of = p_code))
        and (coalesce(p_eligible, false) or not t.subsidised)
      order by t.subsidised desc, t.effective_from desc, t.version desc
      limit 1
   $$`;

/** The tariff choice of `rasid_vend_context` after 0009, and the call that replaces it. */
const OLD_CHOICE =
  /left join lateral \(\s*select tt\.\* from tariffs tt\s+where tt\.utility_id = m\.utility_id[\s\S]*?limit 1\) t on true/;
const OLD_CHOICE_TEXT = `left join lateral (
         select tt.* from tariffs tt
          where tt.utility_id = m.utility_id and tt.kind = m.kind and tt.effective_from <= p_at
            and (a.tariff_code is null or tt.code = a.tariff_code or (tt.subsidised and tt.variant_of = a.tariff_code))
            and (a.subsidy_eligible or not tt.subsidised)
          order by tt.subsidised desc, tt.effective_from desc, tt.version desc
          limit 1) t on true`;
const NEW_CHOICE =
  'left join lateral rasid_tariff_in_force(m.utility_id, m.kind, a.tariff_code, a.subsidy_eligible, p_at) t on true';

async function vendContextDef(db: Kysely<unknown>): Promise<string> {
  const { rows } = await sql<{ def: string }>`
    select pg_get_functiondef('rasid_vend_context'::regproc) as def
  `.execute(db);
  return rows[0]?.def ?? '';
}

function replaceOnce(text: string, from: string | RegExp, to: string, what: string): string {
  const next = text.replace(from, to);
  if (next === text) throw new Error(`rasid_vend_context: ${what} is not there to rewrite`);
  return next;
}

const DROP_CONTEXT =
  'drop function rasid_vend_context(uuid, text, text, text, uuid, text, timestamptz, timestamptz, text)';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(IN_FORCE).execute(db);
  let def = await vendContextDef(db);
  def = replaceOnce(def, OLD_CHOICE, NEW_CHOICE, 'the tariff choice');
  def = replaceOnce(
    def,
    /blocks jsonb, vendor_name text/,
    'blocks jsonb, tou jsonb, vendor_name text',
    'blocks',
  );
  def = replaceOnce(def, /t\.blocks,/, 't.blocks, t.tou,', 't.blocks');
  // The answer gains a column: a new function, not a replaced one.
  await sql.raw(DROP_CONTEXT).execute(db);
  await sql.raw(def).execute(db);
  await sql
    .raw(
      `update tariffs set tou = null
        where tou is not null
          and exists (select 1 from jsonb_array_elements(tou) e where not (e ? 'periods'))`,
    )
    .execute(db);
  await sql
    .raw(
      `alter table balance_state
         add column month_cost_scaled bigint not null default 0,
         add column month_cost_per integer not null default 1000 check (month_cost_per > 0)`,
    )
    .execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw('alter table balance_state drop column month_cost_scaled, drop column month_cost_per')
    .execute(db);
  let def = await vendContextDef(db);
  def = replaceOnce(def, NEW_CHOICE, OLD_CHOICE_TEXT, 'the tariff call');
  def = replaceOnce(
    def,
    'blocks jsonb, tou jsonb, vendor_name text',
    'blocks jsonb, vendor_name text',
    'tou',
  );
  def = replaceOnce(def, 't.blocks, t.tou,', 't.blocks,', 't.tou');
  await sql.raw(DROP_CONTEXT).execute(db);
  await sql.raw(def).execute(db);
  await sql.raw('drop function rasid_tariff_in_force(uuid, text, text, boolean, timestamptz)').execute(db);
}
