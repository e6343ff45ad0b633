/**
 * A utility's administration, one transaction per use case with its audit row: a platform administrator
 * creating a further utility, creating a staff user (usernames unique within a utility), and adding or
 * removing a public holiday or declared no-disconnect period (whole days in the utility's time zone).
 * A period's change takes effect in the balance engine at once (the settings cache drops its entry).
 */
import type { Kysely } from 'kysely';
import { type Actor, isUniqueViolation } from '../accounts/accounts.ts';
import { writeAudit } from '../accounts/audit.ts';
import { instantOfLocal } from '../balance/calendar.ts';
import { RasidError } from '../errors.ts';
import { hashSecret } from '../security/secrets.ts';
import type { Database, NoDisconnectPeriodsTable, UserId, UtilityId } from '../store/schema.ts';
import { type CreatedUtility, createUtility, type NewUtilityInput, UtilityExistsError } from './create.ts';
import { isPlatformAdmin, periodColumns, staffColumns } from './queries.ts';
import { settingsChanged } from './settings.ts';

/**
 * A platform administrator creates a further utility and its first admin (src/utilities/create.ts);
 * anyone else is `forbidden`, a code that is taken `utility_exists`.
 */
export async function createTenant(
  db: Kysely<Database>,
  userId: UserId | null,
  input: NewUtilityInput,
  by: Actor,
): Promise<CreatedUtility> {
  const admin = userId !== null && (await isPlatformAdmin(db, userId));
  if (!admin) throw new RasidError('forbidden', 'only a platform administrator creates utilities');
  try {
    return await createUtility(db, input, { actor: by.actor, platformAdmin: false });
  } catch (err) {
    if (err instanceof UtilityExistsError) throw new RasidError('utility_exists', `code: ${err.message}`);
    throw err;
  }
}

export interface NewStaffUser {
  readonly username: string;
  readonly displayName?: string | undefined;
  readonly role: 'operator' | 'technician' | 'service' | 'admin';
  readonly password: string;
}

/** Creates a staff user of the utility, audited as `user.create`; a username it has already is `conflict`. */
export async function createStaffUser(
  db: Kysely<Database>,
  utilityId: UtilityId,
  req: NewStaffUser,
  by: Actor,
) {
  const hash = await hashSecret(req.password);
  try {
    return await db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('users')
        .values({
          utility_id: utilityId,
          username: req.username,
          display_name: req.displayName ?? null,
          password_hash: hash,
          role: req.role,
        })
        .returning(staffColumns)
        .executeTakeFirstOrThrow();
      await writeAudit(trx, {
        utilityId,
        actor: by.actor,
        action: 'user.create',
        subject: `user:${row.id}`,
        details: { username: row.username, role: row.role },
      });
      return row;
    });
  } catch (err) {
    if (isUniqueViolation(err))
      throw new RasidError('conflict', `username: ${req.username} exists in this utility`);
    throw err;
  }
}

export interface NewNoDisconnectPeriod {
  readonly kind: NoDisconnectPeriodsTable['kind'];
  /** First day, Gregorian YYYY-MM-DD in the utility's time zone. */
  readonly from: string;
  /** Last day, inclusive. */
  readonly to: string;
  readonly reason: string;
  /** The utility's time zone. */
  readonly timezone: string;
}

/**
 * Adds a public holiday or declared no-disconnect period from the start of `from` to the end of `to` in
 * the utility's time zone, audited as `utility.no_disconnect_period.add`.
 */
export async function addNoDisconnectPeriod(
  db: Kysely<Database>,
  utilityId: UtilityId,
  req: NewNoDisconnectPeriod,
  by: Actor,
) {
  const [y1, m1, d1] = req.from.split('-').map(Number) as [number, number, number];
  const [y2, m2, d2] = req.to.split('-').map(Number) as [number, number, number];
  const startsAt = instantOfLocal(y1, m1, d1, 0, req.timezone);
  const after = new Date(Date.UTC(y2, m2 - 1, d2 + 1));
  const endsAt = instantOfLocal(
    after.getUTCFullYear(),
    after.getUTCMonth() + 1,
    after.getUTCDate(),
    0,
    req.timezone,
  );
  const row = await db.transaction().execute(async (trx) => {
    const r = await trx
      .insertInto('no_disconnect_periods')
      .values({
        utility_id: utilityId,
        kind: req.kind,
        starts_at: startsAt,
        ends_at: endsAt,
        reason: req.reason,
        created_by: by.userId,
      })
      .returning(periodColumns)
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      utilityId,
      actor: by.actor,
      action: 'utility.no_disconnect_period.add',
      subject: `utility:${utilityId}`,
      details: { id: String(r.id), kind: r.kind, from: req.from, to: req.to, reason: r.reason },
    });
    return r;
  });
  settingsChanged(utilityId);
  return row;
}

/**
 * Removes one of the utility's no-disconnect periods with a reason, audited as
 * `utility.no_disconnect_period.remove` with what it was; `not_found` when unknown.
 */
export async function removeNoDisconnectPeriod(
  db: Kysely<Database>,
  utilityId: UtilityId,
  id: string,
  reason: string,
  by: Actor,
): Promise<void> {
  const removed = await db.transaction().execute(async (trx) => {
    const r = await trx
      .deleteFrom('no_disconnect_periods')
      .where('id', '=', BigInt(id))
      .where('utility_id', '=', utilityId)
      .returning(periodColumns)
      .executeTakeFirst();
    if (!r) return null;
    await writeAudit(trx, {
      utilityId,
      actor: by.actor,
      action: 'utility.no_disconnect_period.remove',
      subject: `utility:${utilityId}`,
      details: {
        id: String(r.id),
        kind: r.kind,
        startsAt: r.starts_at.toISOString(),
        endsAt: r.ends_at.toISOString(),
        was: r.reason,
        reason,
      },
    });
    return r;
  });
  if (!removed) throw new RasidError('not_found', `period ${id} is unknown`);
  settingsChanged(utilityId);
}
