/**
 * Making a utility and its first admin: `rasid init`, the platform administrator's POST /api/v1/utilities
 * and the web app's first-run screen all come here, so the three make the same rows. The input is checked
 * with {@link NewUtilityInput} (zod) at each edge; the currency's exponent comes from the currency.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { UTILITY_CODE_PATTERN } from '../../protocols/mqtt/topics.ts';
import { writeAudit } from '../accounts/audit.ts';
import { hashSecret } from '../security/secrets.ts';
import type { Database, UserId, UtilityId } from '../store/schema.ts';
import { currencyExponent, isTimeZone, WEEKDAYS, weekdayNumbers } from './currency.ts';

/** A utility code: what staff type at sign-in and what MQTT topics carry. */
export const UtilityCode = z
  .string()
  .trim()
  .regex(UTILITY_CODE_PATTERN, 'lower-case letters, digits, _ and - (1 to 32), e.g. muscat-power');

export const Username = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9._@-]{2,64}$/, 'letters, digits and . _ @ - (2 to 64)');

/** Staff passwords: at least 10 characters (NIST SP 800-63B: length over composition rules). */
export const StaffPassword = z.string().min(10, 'at least 10 characters').max(256);

export const NewUtilityInput = z.object({
  code: UtilityCode,
  name: z.string().trim().min(1).max(200),
  nameAr: z.string().trim().min(1).max(200).optional(),
  currency: z
    .string()
    .trim()
    .transform((s) => s.toUpperCase())
    .refine((c) => currencyExponent(c) !== null, 'an ISO 4217 currency code such as OMR'),
  timezone: z.string().trim().refine(isTimeZone, 'an IANA time zone such as Asia/Muscat'),
  country: z
    .string()
    .trim()
    .transform((s) => s.toUpperCase())
    .pipe(z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166 country code such as OM'))
    .optional(),
  /** Percent with up to two decimals, e.g. 5 or 16.5. */
  taxRatePct: z.number().min(0).max(100).multipleOf(0.01).default(0),
  weekend: z
    .array(z.enum(WEEKDAYS))
    .max(7)
    .default(['fri', 'sat'])
    .describe('days on which nobody is disconnected'),
  admin: Username,
  password: StaffPassword,
});
export type NewUtilityInput = z.input<typeof NewUtilityInput>;

export interface CreatedUtility {
  readonly utilityId: UtilityId;
  readonly adminId: UserId;
  readonly code: string;
  readonly currency: string;
  readonly exponent: number;
  readonly platformAdmin: boolean;
}

/** The code is taken: nothing was written. */
export class UtilityExistsError extends Error {
  override readonly name = 'UtilityExistsError';
}

/**
 * Creates the utility and its admin in one transaction, audited as `utility.create`. The first utility's
 * admin on an install is also its platform administrator (may create further utilities); `platformAdmin`
 * forces it either way. Throws {@link UtilityExistsError} when the code is taken.
 */
export async function createUtility(
  db: Kysely<Database>,
  raw: NewUtilityInput,
  opts: { actor: string; platformAdmin?: boolean } = { actor: 'system:init' },
): Promise<CreatedUtility> {
  const input = NewUtilityInput.parse(raw);
  const exponent = currencyExponent(input.currency) as number;
  const passwordHash = await hashSecret(input.password);
  return db.transaction().execute(async (trx) => {
    const taken = await trx
      .selectFrom('utilities')
      .select('id')
      .where('code', '=', input.code)
      .executeTakeFirst();
    if (taken) throw new UtilityExistsError(`utility ${input.code} exists already`);
    const { n } = await trx
      .selectFrom('utilities')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    const platformAdmin = opts.platformAdmin ?? Number(n) === 0;
    const utility = await trx
      .insertInto('utilities')
      .values({
        code: input.code,
        name: input.name,
        name_ar: input.nameAr ?? null,
        country: input.country ?? null,
        currency: input.currency,
        currency_exponent: exponent,
        tax_rate_bp: Math.round(input.taxRatePct * 100),
        timezone: input.timezone,
        weekend_days: weekdayNumbers(input.weekend) ?? [],
        night_start_minute: null,
        night_end_minute: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const admin = await trx
      .insertInto('users')
      .values({
        utility_id: utility.id,
        username: input.admin,
        display_name: input.admin,
        password_hash: passwordHash,
        role: 'admin',
        customer_id: null,
        vendor_id: null,
        disabled_at: null,
        platform_admin: platformAdmin,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      utilityId: utility.id,
      actor: opts.actor,
      action: 'utility.create',
      subject: `utility:${utility.id}`,
      details: {
        code: input.code,
        name: input.name,
        currency: input.currency,
        exponent,
        timezone: input.timezone,
        admin: input.admin,
        platformAdmin,
      },
    });
    return {
      utilityId: utility.id,
      adminId: admin.id,
      code: input.code,
      currency: input.currency,
      exponent,
      platformAdmin,
    };
  });
}
