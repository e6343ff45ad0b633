/**
 * A utility's settings (API and admin screen: src/api/routes/utilities.ts), read by the running balance
 * engine, vending and receipts. They live on the `utilities` row (migrations 0001 and 0009) and in
 * `no_disconnect_periods`; every change is one transaction with its `utility.settings` audit row.
 *
 * Readers go through {@link loadUtilitySettings}, or the short-lived {@link SettingsCache} (a few seconds;
 * a change made through this process drops its entry at once), so a change takes effect without a restart.
 */
import type { Kysely, Transaction, Updateable } from 'kysely';
import { z } from 'zod';
import { writeAudit } from '../accounts/audit.ts';
import { type BalanceThresholds, DEFAULT_THRESHOLDS } from '../balance/policy.ts';
import type { Database, UtilitiesTable, UtilityId } from '../store/schema.ts';
import { WEEKDAYS, weekdayNames, weekdayNumbers } from './currency.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface UtilitySettings {
  readonly utilityId: UtilityId;
  readonly code: string;
  readonly name: string;
  readonly nameAr: string | null;
  readonly country: string | null;
  readonly currency: string;
  readonly exponent: number;
  readonly timezone: string;
  readonly taxRateBp: number;
  readonly weekend: readonly (typeof WEEKDAYS)[number][];
  /** Friendly-credit night window, local "HH:MM"; null = none. */
  readonly friendlyHours: { readonly from: string; readonly to: string } | null;
  /** Default low-credit threshold (minor units) and days; null = Rasid's default. */
  readonly lowCreditMinor: bigint | null;
  readonly lowCreditDays: number | null;
  readonly emergencyCreditMinor: bigint;
  readonly minPurchaseMinor: bigint;
  readonly receipt: {
    readonly header: { readonly en: string | null; readonly ar: string | null };
    readonly footer: { readonly en: string | null; readonly ar: string | null };
  };
  readonly smsSender: string | null;
  /** Days a dead holder's subsidy is held for the family to transfer the account (src/deceased/). */
  readonly deceasedGraceDays: number;
  /** Days without a call attempt before an outreach case is flagged as stalled and a reminder written. */
  readonly outreachStallDays: number;
  /** A district's loss share (basis points of its inflow) that raises an operator alert; null = default. */
  readonly lossAlertBp: number | null;
}

function hhmm(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

function minuteOf(text: string): number {
  const [h, m] = text.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** The settings of one utility, read now; null when there is no such utility. */
export async function loadUtilitySettings(db: Db, utilityId: UtilityId): Promise<UtilitySettings | null> {
  const u = await db.selectFrom('utilities').selectAll().where('id', '=', utilityId).executeTakeFirst();
  if (!u) return null;
  return {
    utilityId: u.id,
    code: u.code,
    name: u.name,
    nameAr: u.name_ar,
    country: u.country,
    currency: u.currency,
    exponent: u.currency_exponent,
    timezone: u.timezone,
    taxRateBp: u.tax_rate_bp,
    weekend: weekdayNames(u.weekend_days),
    friendlyHours:
      u.night_start_minute !== null && u.night_end_minute !== null
        ? { from: hhmm(u.night_start_minute), to: hhmm(u.night_end_minute) }
        : null,
    lowCreditMinor: u.low_credit_minor,
    lowCreditDays: u.low_credit_days,
    emergencyCreditMinor: u.emergency_credit_minor,
    minPurchaseMinor: u.min_purchase_minor,
    receipt: {
      header: { en: u.receipt_header_en, ar: u.receipt_header_ar },
      footer: { en: u.receipt_footer_en, ar: u.receipt_footer_ar },
    },
    smsSender: u.sms_sender,
    deceasedGraceDays: u.deceased_grace_days,
    outreachStallDays: u.outreach_stall_days,
    lossAlertBp: u.loss_alert_bp,
  };
}

/** The balance engine's thresholds for a utility: its settings over Rasid's defaults. */
export function thresholdsOf(s: UtilitySettings | null | undefined): BalanceThresholds {
  if (!s) return DEFAULT_THRESHOLDS;
  return {
    ...DEFAULT_THRESHOLDS,
    ...(s.lowCreditMinor !== null ? { lowCreditMinor: s.lowCreditMinor } : {}),
    ...(s.lowCreditDays !== null ? { lowCreditDays: s.lowCreditDays } : {}),
    emergencyCreditMinor: s.emergencyCreditMinor,
  };
}

/** Per utility, how many settings changes this process has made: caches compare it with their entry's. */
const generations = new Map<UtilityId, number>();

/** The count of this process's settings changes of a utility (a cached entry of another count is stale). */
export function settingsGeneration(utilityId: UtilityId): number {
  return generations.get(utilityId) ?? 0;
}

/** Called by every settings change of this process: caches drop the utility's entry. */
export function settingsChanged(utilityId: UtilityId): void {
  generations.set(utilityId, settingsGeneration(utilityId) + 1);
}

/**
 * Settings kept for `ttlMs` (default 5 s) per utility; a change through this process drops the entry at
 * once, a change made by another process is seen within `ttlMs`. `prime()` loads every utility (one small
 * query each), for readers that must answer synchronously (the balance engine's thresholds callback).
 */
export class SettingsCache {
  readonly #db: Kysely<Database>;
  readonly #ttlMs: number;
  readonly #entries = new Map<UtilityId, { at: number; generation: number; settings: UtilitySettings }>();

  constructor(db: Kysely<Database>, ttlMs = 5_000) {
    this.#db = db;
    this.#ttlMs = ttlMs;
  }

  async get(utilityId: UtilityId): Promise<UtilitySettings | null> {
    const hit = this.#entries.get(utilityId);
    if (hit && Date.now() - hit.at < this.#ttlMs && hit.generation === settingsGeneration(utilityId)) {
      return hit.settings;
    }
    const generation = settingsGeneration(utilityId);
    const settings = await loadUtilitySettings(this.#db, utilityId);
    if (settings) this.#entries.set(utilityId, { at: Date.now(), generation, settings });
    return settings;
  }

  /** Loads every utility's settings now. */
  async prime(): Promise<void> {
    const ids = await this.#db.selectFrom('utilities').select('id').execute();
    for (const { id } of ids) {
      const generation = settingsGeneration(id);
      const settings = await loadUtilitySettings(this.#db, id);
      if (settings) this.#entries.set(id, { at: Date.now(), generation, settings });
    }
  }

  /** The cached settings, without I/O (after `prime`). */
  peek(utilityId: UtilityId): UtilitySettings | undefined {
    return this.#entries.get(utilityId)?.settings;
  }
}

const Minor = z
  .union([z.string().regex(/^[0-9]{1,18}$/), z.number().int().nonnegative()])
  .transform((v) => BigInt(v));
const Clock = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'HH:MM, 24-hour');
const Text = z.string().trim().max(500).nullable();

/** A change of settings: only the fields given change. */
export const SettingsPatch = z
  .object({
    name: z.string().trim().min(1).max(200),
    nameAr: z.string().trim().min(1).max(200).nullable(),
    taxRateBp: z.number().int().min(0).max(10_000).describe('basis points: 500 = 5 %'),
    weekend: z.array(z.enum(WEEKDAYS)).max(7),
    friendlyHours: z.object({ from: Clock, to: Clock }).nullable().describe('the night window, local time'),
    lowCreditMinor: Minor.nullable(),
    lowCreditDays: z.number().int().min(0).max(60).nullable(),
    emergencyCreditMinor: Minor,
    minPurchaseMinor: Minor,
    receipt: z
      .object({
        header: z.object({ en: Text, ar: Text }).partial(),
        footer: z.object({ en: Text, ar: Text }).partial(),
      })
      .partial(),
    smsSender: z
      .string()
      .regex(/^[A-Za-z0-9 .-]{1,11}$/, 'up to 11 letters, digits, space, . or - (an SMS alphanumeric sender)')
      .nullable(),
    deceasedGraceDays: z
      .number()
      .int()
      .min(1)
      .max(730)
      .describe("days a dead holder's subsidy is held for the family to transfer the account to an heir"),
    outreachStallDays: z
      .number()
      .int()
      .min(1)
      .max(60)
      .describe('days without a call attempt before an outreach case is flagged and a reminder written'),
    lossAlertBp: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .nullable()
      .describe("a district's loss share that raises an operator alert, basis points (1500 = 15 %)"),
  })
  .partial()
  .strict();
export type SettingsPatch = z.output<typeof SettingsPatch>;

/** Applies a change of settings with its audit row (before and after of each field changed). */
export async function updateUtilitySettings(
  db: Kysely<Database>,
  utilityId: UtilityId,
  patch: SettingsPatch,
  actor: string,
): Promise<UtilitySettings> {
  const after = await db.transaction().execute(async (trx) => {
    const before = await loadUtilitySettings(trx, utilityId);
    if (!before) throw new Error(`utility ${utilityId} is unknown`);
    const set: Updateable<UtilitiesTable> = {};
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.nameAr !== undefined) set.name_ar = patch.nameAr;
    if (patch.taxRateBp !== undefined) set.tax_rate_bp = patch.taxRateBp;
    if (patch.weekend !== undefined) set.weekend_days = weekdayNumbers(patch.weekend) ?? [];
    if (patch.friendlyHours !== undefined) {
      set.night_start_minute = patch.friendlyHours ? minuteOf(patch.friendlyHours.from) : null;
      set.night_end_minute = patch.friendlyHours ? minuteOf(patch.friendlyHours.to) : null;
    }
    if (patch.lowCreditMinor !== undefined) set.low_credit_minor = patch.lowCreditMinor;
    if (patch.lowCreditDays !== undefined) set.low_credit_days = patch.lowCreditDays;
    if (patch.emergencyCreditMinor !== undefined) set.emergency_credit_minor = patch.emergencyCreditMinor;
    if (patch.minPurchaseMinor !== undefined) set.min_purchase_minor = patch.minPurchaseMinor;
    const r = patch.receipt;
    if (r?.header?.en !== undefined) set.receipt_header_en = r.header.en || null;
    if (r?.header?.ar !== undefined) set.receipt_header_ar = r.header.ar || null;
    if (r?.footer?.en !== undefined) set.receipt_footer_en = r.footer.en || null;
    if (r?.footer?.ar !== undefined) set.receipt_footer_ar = r.footer.ar || null;
    if (patch.smsSender !== undefined) set.sms_sender = patch.smsSender;
    if (patch.deceasedGraceDays !== undefined) set.deceased_grace_days = patch.deceasedGraceDays;
    if (patch.outreachStallDays !== undefined) set.outreach_stall_days = patch.outreachStallDays;
    if (patch.lossAlertBp !== undefined) set.loss_alert_bp = patch.lossAlertBp;
    if (Object.keys(set).length > 0) {
      await trx.updateTable('utilities').set(set).where('id', '=', utilityId).execute();
    }
    const after = (await loadUtilitySettings(trx, utilityId)) as UtilitySettings;
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    for (const key of Object.keys(after) as (keyof UtilitySettings)[]) {
      const from = JSON.stringify(before[key], (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
      const to = JSON.stringify(after[key], (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
      if (from !== to) changes[key] = { from: JSON.parse(from ?? 'null'), to: JSON.parse(to ?? 'null') };
    }
    if (Object.keys(changes).length > 0) {
      await writeAudit(trx, {
        utilityId,
        actor,
        action: 'utility.settings',
        subject: `utility:${utilityId}`,
        details: { changes },
      });
    }
    return after;
  });
  settingsChanged(utilityId);
  return after;
}

/** A Gregorian date (YYYY-MM-DD) with its Hijri date (Umm al-Qura) in Arabic and English. */
export function hijriOf(date: string): { ar: string; en: string } {
  const d = new Date(`${date}T12:00:00Z`);
  const fmt = (locale: string) =>
    new Intl.DateTimeFormat(`${locale}-u-ca-islamic-umalqura`, {
      day: 'numeric',
      month: 'long',
      year: 'numeric',
      timeZone: 'UTC',
    }).format(d);
  return { ar: fmt('ar-SA'), en: fmt('en') };
}
