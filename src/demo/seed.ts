/**
 * The demo utility `rasid demo` runs on: a utility in Oman (OMR, three decimals, 5 % VAT, Friday–Saturday
 * weekend, Asia/Muscat), residential electricity tariffs with a subsidised variant, customers who prefer
 * Arabic or English, an STS meter per account (the simulator's fleet, same STS parameters and the public
 * demo vending key of docs/sts.md), a vendor with a float and a kiosk, one user per staff role, and a month of
 * hourly readings so the charts have something to show. Idempotent: a second run finds the utility and
 * changes nothing. Never for production: the passwords and the kiosk key are printed and well known.
 */

import { type Kysely, sql } from 'kysely';
import { DEMO_VENDING_KEY } from '../../firmware-sim/model/sts.ts';
import { secretDigest } from '../api/auth.ts';
import { hashSecret } from '../security/secrets.ts';
import type { KeyStore } from '../store/keystore.ts';
import { type Database, jsonText, minorUnits, type TariffBlock, type UtilityId } from '../store/schema.ts';
import { validateTariffPrices } from '../tariffs/model.ts';

export const DEMO_UTILITY = 'demo';
/** The staff accounts: username = role, this password. */
export const DEMO_STAFF_PASSWORD = 'rasid-demo';
export const DEMO_STAFF_ROLES = ['admin', 'operator', 'technician', 'service'] as const;
/** Every demo meter's MQTT password (username = its serial). */
export const DEMO_METER_PASSWORD = 'rasid-demo-meter';
/** The demo kiosk's API key (fixed, so the README can name it). */
export const DEMO_KIOSK_KEY = 'rks_demo_kiosk_key_do_not_use_in_production';
export const DEMO_SERIAL_PREFIX = 'DEMO-';
export const DEMO_DRN_BASE = 47_000_000_000;
export const DEMO_SGC = 123456;

/** Serial of demo meter i (from 1), as the simulator's fleet names it (prefix + 6 digits). */
export function demoSerial(i: number): string {
  return `${DEMO_SERIAL_PREFIX}${String(i).padStart(6, '0')}`;
}

const CUSTOMERS: readonly { name: string; language: 'ar' | 'en'; area: string }[] = [
  { name: 'سالم بن راشد البلوشي', language: 'ar', area: 'Seeb' },
  { name: 'Fatma Al Harthy', language: 'en', area: 'Bawshar' },
  { name: 'مريم بنت سعيد الكندي', language: 'ar', area: 'Muttrah' },
  { name: 'Ahmed Al Rawahi', language: 'en', area: 'Seeb' },
  { name: 'خالد بن ناصر العامري', language: 'ar', area: 'Al Amerat' },
  { name: 'Aisha Al Siyabi', language: 'en', area: 'Bawshar' },
  { name: 'يوسف بن علي الحسني', language: 'ar', area: 'Muttrah' },
  { name: 'Noor Al Lawati', language: 'en', area: 'Qurayyat' },
];

const RESIDENTIAL: TariffBlock[] = [
  { upToUnits: 4_000_000, priceMinorPerUnit: 10 },
  { upToUnits: 6_000_000, priceMinorPerUnit: 15 },
  { upToUnits: null, priceMinorPerUnit: 20 },
];
const SUBSIDISED: TariffBlock[] = [
  { upToUnits: 4_000_000, priceMinorPerUnit: 7 },
  { upToUnits: null, priceMinorPerUnit: 15 },
];

export interface DemoSeedResult {
  readonly utilityId: UtilityId;
  /** False when the demo utility was already there. */
  readonly created: boolean;
  readonly meters: number;
}

export async function seedDemo(
  db: Kysely<Database>,
  keys: KeyStore,
  opts: {
    meters: number;
    now?: Date /** Days of hourly history per meter (default 30). */;
    historyDays?: number;
  },
): Promise<DemoSeedResult> {
  const existing = await db
    .selectFrom('utilities')
    .select('id')
    .where('code', '=', DEMO_UTILITY)
    .executeTakeFirst();
  if (existing) {
    const { n } = await db
      .selectFrom('meters')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('utility_id', '=', existing.id)
      .executeTakeFirstOrThrow();
    return { utilityId: existing.id, created: false, meters: Number(n) };
  }
  const now = opts.now ?? new Date();
  const staffHash = await hashSecret(DEMO_STAFF_PASSWORD);
  const meterHash = await hashSecret(DEMO_METER_PASSWORD);

  // Keys first (the key store writes outside the transaction below; PGlite is one session).
  const utility = await db
    .insertInto('utilities')
    .values({
      code: DEMO_UTILITY,
      name: 'Rasid Demo Electricity',
      currency: 'OMR',
      currency_exponent: 3,
      tax_rate_bp: 500,
      timezone: 'Asia/Muscat',
      weekend_days: [5, 6],
      night_start_minute: 22 * 60,
      night_end_minute: 7 * 60,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const utilityId = utility.id;
  const keyId = await keys.put({
    utilityId,
    sgc: DEMO_SGC,
    krn: 1,
    key: Buffer.from(DEMO_VENDING_KEY, 'hex'),
    label: 'public demo vending key (docs/sts.md)',
  });

  await db.transaction().execute(async (trx) => {
    for (const [code, subsidised, blocks] of [
      ['RES', false, RESIDENTIAL],
      ['RES', true, SUBSIDISED],
    ] as const) {
      await trx
        .insertInto('tariffs')
        .values({
          utility_id: utilityId,
          code: subsidised ? 'RES-SUB' : code,
          name: subsidised ? 'Residential (subsidised)' : 'Residential',
          kind: 'electricity',
          subsidised,
          variant_of: subsidised ? code : null,
          version: 1,
          effective_from: new Date('2025-01-01T00:00:00Z'),
          currency: 'OMR',
          fixed_monthly_minor: minorUnits(1_000n),
          tax_rate_bp: 500,
          debt_recovery_bp: 1000,
          min_purchase_minor: minorUnits(500n),
          unit: 'Wh',
          price_per_units: 1000,
          // The one validator of tariff prices (src/tariffs): the demo's tariffs pass what the API asks.
          blocks: jsonText(validateTariffPrices({ pricePerUnits: 1000, blocks }).blocks),
          tou: null,
        })
        .execute();
    }

    for (const role of DEMO_STAFF_ROLES) {
      await trx
        .insertInto('users')
        .values({ utility_id: utilityId, username: role, password_hash: staffHash, role })
        .execute();
    }

    const vendor = await trx
      .insertInto('vendors')
      .values({
        utility_id: utilityId,
        name: 'Al Noor Store',
        credit_limit_minor: minorUnits(20_000n),
        commission_bp: 200,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('kiosks')
      .values({
        utility_id: utilityId,
        vendor_id: vendor.id,
        name: 'Counter 1',
        api_key_hash: secretDigest(DEMO_KIOSK_KEY),
      })
      .execute();
    await trx
      .insertInto('vendor_ledger')
      .values({
        utility_id: utilityId,
        vendor_id: vendor.id,
        kind: 'float_topup',
        amount_minor: minorUnits(100_000n),
        ref: 'opening float',
      })
      .execute();
    await trx
      .insertInto('users')
      .values({
        utility_id: utilityId,
        username: 'vendor',
        password_hash: staffHash,
        role: 'vendor',
        vendor_id: vendor.id,
      })
      .execute();

    for (let i = 1; i <= opts.meters; i++) {
      const who = CUSTOMERS[(i - 1) % CUSTOMERS.length]!;
      const customer = await trx
        .insertInto('customers')
        .values({
          utility_id: utilityId,
          name: i <= CUSTOMERS.length ? who.name : `${who.name} ${Math.ceil(i / CUSTOMERS.length)}`,
          preferred_language: who.language,
          phone: `+9689${String(1_000_000 + i).slice(-7)}`,
          email: `customer${i}@demo.rasid.invalid`,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const premise = await trx
        .insertInto('premises')
        .values({ utility_id: utilityId, address: `House ${100 + i}, Way ${2000 + i}`, area: who.area })
        .returning('id')
        .executeTakeFirstOrThrow();
      const account = await trx
        .insertInto('accounts')
        .values({
          utility_id: utilityId,
          number: `DEMO-${String(i).padStart(5, '0')}`,
          customer_id: customer.id,
          premise_id: premise.id,
          subsidy_eligible: i % 3 === 0,
          protected: i % 7 === 0,
          ...(i % 4 === 0 ? { debt_minor: minorUnits(5_000n) } : {}),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('meters')
        .values({
          utility_id: utilityId,
          serial: demoSerial(i),
          kind: 'electricity',
          protocol: 'mqtt',
          mode: 'token',
          account_id: account.id,
          sts_iin: '600727',
          sts_drn: String(DEMO_DRN_BASE + i).padStart(11, '0'),
          sts_sgc: DEMO_SGC,
          sts_ti: 1,
          sts_krn: 1,
          sts_kt: 2,
          sts_ea: 7,
          sts_base_date: '2014-01-01',
          sts_ken: 255,
          vending_key_id: keyId,
          mqtt_password_hash: meterHash,
          status: 'active',
        })
        .execute();
    }
  });

  // A month of hourly history per meter, so consumption charts and reports have data from the first
  // screen: a daily shape (evening peak) and a per-meter size, cumulative registers in Wh.
  const days = opts.historyDays ?? 30;
  if (days === 0) return { utilityId, created: true, meters: opts.meters };
  const from = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - days * 86_400_000);
  await sql`
    insert into readings (meter_id, ts, seq, energy_wh, power_w, voltage_dv, relay, flags)
    select m.id, h.ts, h.n,
           1000000 + sum(w.wh) over (partition by m.id order by h.ts)::bigint,
           w.wh::int, 2300, true, 0
    from meters m
    cross join lateral generate_series(${from}::timestamptz, ${now}::timestamptz - interval '1 hour',
                                       interval '1 hour') with ordinality as h(ts, n)
    cross join lateral (
      select round((300 + (get_byte(decode(md5(m.serial), 'hex'), 0) * 4))
                   * (0.6 + 0.4 * sin(pi() * (extract(hour from h.ts at time zone 'Asia/Muscat') - 6) / 12) ^ 2)
                   * (case when extract(hour from h.ts at time zone 'Asia/Muscat') between 17 and 22 then 1.8 else 1 end)
                   -- Days differ: a hotter or cooler day, the household in or out (0.7 to 1.3).
                   * (0.7 + get_byte(decode(md5(m.serial || to_char(h.ts at time zone 'Asia/Muscat', 'YYYY-MM-DD')), 'hex'), 0) / 425.0)
             ) as wh
    ) w
    where m.utility_id = ${utilityId}
    on conflict do nothing`.execute(db);

  return { utilityId, created: true, meters: opts.meters };
}

/**
 * Where each demo meter's register stands in the history Rasid holds (Wh, by serial): the simulated meters
 * start counting from there, so the register on a meter's page goes on from the chart's history instead of
 * starting again at zero.
 */
export async function demoRegisters(
  db: Kysely<Database>,
  utilityId: UtilityId,
): Promise<Map<string, number>> {
  const { rows } = await sql<{ serial: string; wh: string | null }>`
    select m.serial, max(r.energy_wh)::text as wh
    from meters m join readings r on r.meter_id = m.id
    where m.utility_id = ${utilityId}
    group by m.serial`.execute(db);
  return new Map(rows.filter((r) => r.wh !== null).map((r) => [r.serial, Number(r.wh)]));
}
