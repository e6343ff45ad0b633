/** The reads of sign-in: whose a contact is, a customer's own user, the one-time codes asked for lately. */
import type { Queryable } from '../store/ledger.ts';
import type { CustomerId, Language, UserId, UtilityId } from '../store/schema.ts';

/** A customer a contact belongs to, with where and how the utility reaches them. */
export interface ContactCustomer {
  id: CustomerId;
  utility_id: UtilityId;
  name: string;
  preferred_language: Language;
  phone: string | null;
  email: string | null;
}

/**
 * The customer a contact belongs to in a utility (by the utility's code): the oldest customer with that
 * phone or e-mail who holds an account (a contact shared by two customers signs in the first one). Null when
 * there is none. An e-mail address is given in lower case and compared so.
 */
export async function customerByContact(
  db: Queryable,
  utility: string,
  contact: string,
): Promise<ContactCustomer | null> {
  const byEmail = contact.includes('@');
  let query = db
    .selectFrom('customers as c')
    .innerJoin('utilities as u', 'u.id', 'c.utility_id')
    .select(['c.id', 'c.utility_id', 'c.name', 'c.preferred_language', 'c.phone', 'c.email'])
    .where('u.code', '=', utility)
    .where((eb) =>
      eb.exists(eb.selectFrom('accounts as a').select('a.id').whereRef('a.customer_id', '=', 'c.id')),
    );
  query = byEmail
    ? query.where((eb) => eb(eb.fn('lower', ['c.email']), '=', contact))
    : query.where('c.phone', '=', contact);
  return (await query.orderBy('c.created_at').orderBy('c.id').limit(1).executeTakeFirst()) ?? null;
}

/** The customer's own user (role customer), the oldest if several, enabled or not; undefined when none. */
export async function customerUserRow(
  db: Queryable,
  customerId: CustomerId,
): Promise<{ id: UserId; disabled_at: Date | null } | undefined> {
  return db
    .selectFrom('users')
    .select(['id', 'disabled_at'])
    .where('customer_id', '=', customerId)
    .where('role', '=', 'customer')
    .orderBy('created_at')
    .executeTakeFirst();
}

/** The customer's own enabled user (role customer), the oldest if several; undefined when none. */
export async function enabledCustomerUser(
  db: Queryable,
  customerId: CustomerId,
): Promise<{ id: UserId } | undefined> {
  return db
    .selectFrom('users')
    .select('id')
    .where('customer_id', '=', customerId)
    .where('role', '=', 'customer')
    .where('disabled_at', 'is', null)
    .orderBy('created_at')
    .executeTakeFirst();
}

/** How many one-time codes a user was sent since `since`. */
export async function codesSince(db: Queryable, userId: UserId, since: Date): Promise<number> {
  const recent = await db
    .selectFrom('one_time_codes')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', userId)
    .where('created_at', '>', since)
    .executeTakeFirstOrThrow();
  return Number(recent.n);
}

/** The id of a user's newest one-time code (the only one that counts); undefined when none. */
export async function latestCodeId(db: Queryable, userId: UserId): Promise<bigint | undefined> {
  const latest = await db
    .selectFrom('one_time_codes')
    .select('id')
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return latest?.id;
}

/** A staff or customer user by utility code and username, with what a password sign-in checks. */
export async function userByUsername(db: Queryable, utility: string, username: string) {
  return db
    .selectFrom('users')
    .innerJoin('utilities', 'utilities.id', 'users.utility_id')
    .select([
      'users.id',
      'users.utility_id',
      'users.role',
      'users.password_hash',
      'users.disabled_at',
      'users.sign_in_locked_until',
    ])
    .where('utilities.code', '=', utility)
    .where('users.username', '=', username)
    .executeTakeFirst();
}
