/**
 * The reads behind a utility's administration: whether a user is a platform administrator, the utility's
 * staff users, and its public holidays and declared no-disconnect periods.
 */
import { instantOfLocal } from '../balance/calendar.ts';
import type { Queryable } from '../store/ledger.ts';
import type { UserId, UtilityId } from '../store/schema.ts';

/** Whether the user is a platform administrator (may create further utilities); false when unknown. */
export async function isPlatformAdmin(db: Queryable, userId: UserId): Promise<boolean> {
  const me = await db
    .selectFrom('users')
    .select('platform_admin')
    .where('id', '=', userId)
    .executeTakeFirst();
  return me?.platform_admin === true;
}

/** The columns of a staff user the API shows. */
export const staffColumns = ['id', 'username', 'display_name', 'role', 'disabled_at', 'created_at'] as const;

/** The utility's staff users (every role but customer), by username. */
export async function listStaffUsers(db: Queryable, utilityId: UtilityId) {
  return db
    .selectFrom('users')
    .select(staffColumns)
    .where('utility_id', '=', utilityId)
    .where('role', '!=', 'customer')
    .orderBy('username')
    .execute();
}

/** The columns of a no-disconnect period the API shows. */
export const periodColumns = ['id', 'kind', 'starts_at', 'ends_at', 'reason'] as const;

/**
 * The utility's public holidays and declared no-disconnect periods by start; with `from` (a Gregorian
 * date in the utility's time zone), only those ending after that day's start.
 */
export async function listNoDisconnectPeriods(
  db: Queryable,
  utilityId: UtilityId,
  opts: { readonly timezone: string; readonly from?: string | undefined },
) {
  let q = db.selectFrom('no_disconnect_periods').select(periodColumns).where('utility_id', '=', utilityId);
  if (opts.from) {
    const [y, m, d] = opts.from.split('-').map(Number) as [number, number, number];
    q = q.where('ends_at', '>', instantOfLocal(y, m, d, 0, opts.timezone));
  }
  return q.orderBy('starts_at').execute();
}
