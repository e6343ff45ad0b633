/**
 * Sign-in for people: staff with a username and password (consecutive wrong passwords lock the account for a
 * while, each lock audited), customers with a one-time code sent by SMS or e-mail to the phone or address the
 * utility holds for them. Either way the result is a bearer session. A refusal never says which check failed.
 */
import { randomInt, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { writeAudit } from '../accounts/audit.ts';
import { RasidError } from '../errors.ts';
import { notify } from '../notify/audience.ts';
import { newSecret, secretDigest, verifySecret } from '../security/secrets.ts';
import type { CustomerId, Database, Language, Role, UserId, UtilityId } from '../store/schema.ts';
import {
  codesSince,
  customerByContact,
  customerUserRow,
  enabledCustomerUser,
  latestCodeId,
  userByUsername,
} from './queries.ts';

/** How sessions and one-time codes behave (the route's options, defaulted). */
export interface SessionPolicy {
  readonly now: () => Date;
  /** How long a session lasts. */
  readonly sessionTtlMs: number;
  /** How long a one-time code is good for. */
  readonly codeTtlMs: number;
  /** Wrong tries before a code is spent. */
  readonly codeMaxAttempts: number;
  /** Codes sent to one customer per hour at most; more requests are answered but send nothing. */
  readonly codesPerHour: number;
  /** A new one-time code: 6 digits. */
  readonly newCode: () => string;
}

/** Consecutive wrong passwords that lock a staff account; the first lock's length; the longest lock. */
const LOCK_AFTER = 5;
const LOCK_FIRST_SECONDS = 30;
const LOCK_MAX_SECONDS = 3600;

/** Marks a customer's user row: it has no password; only one-time codes sign it in (never verifies). */
const NO_PASSWORD = '!one-time-code-only';

/** SHA-256 of the code with the user id (so equal codes of two people never share a hash). */
function codeDigest(userId: UserId, code: string): string {
  return secretDigest(`${userId}:${code}`);
}

/** Six random digits: the default one-time code. */
export function sixDigits(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/** A new session: the bearer token (shown once) and when it expires. */
export interface Session {
  readonly token: string;
  readonly expiresAt: string;
}

async function startSession(
  db: Kysely<Database>,
  policy: SessionPolicy,
  utilityId: UtilityId,
  userId: UserId,
): Promise<Session> {
  const token = newSecret('rss_');
  const expiresAt = new Date(policy.now().getTime() + policy.sessionTtlMs);
  await db
    .insertInto('sessions')
    .values({
      token_hash: secretDigest(token),
      utility_id: utilityId,
      user_id: userId,
      expires_at: expiresAt,
    })
    .execute();
  return { token, expiresAt: expiresAt.toISOString() };
}

/** The customer's own user (role customer), made on their first code; null if it was disabled. */
async function customerUser(
  db: Kysely<Database>,
  c: { id: CustomerId; utility_id: UtilityId; name: string },
): Promise<UserId | null> {
  const existing = await customerUserRow(db, c.id);
  if (existing) return existing.disabled_at ? null : existing.id;
  const username = `customer-${c.id}`;
  await db
    .insertInto('users')
    .values({
      utility_id: c.utility_id,
      username,
      display_name: c.name,
      password_hash: NO_PASSWORD,
      role: 'customer',
      customer_id: c.id,
    })
    .onConflict((oc) => oc.columns(['utility_id', 'username']).doNothing())
    .execute();
  const made = await db
    .selectFrom('users')
    .select('id')
    .where('utility_id', '=', c.utility_id)
    .where('username', '=', username)
    .executeTakeFirstOrThrow();
  return made.id;
}

/** How a code goes out to a contact of this form. */
export function contactChannel(contact: string): 'sms' | 'email' {
  return contact.includes('@') ? 'email' : 'sms';
}

export interface CodeRequest {
  /** The utility's code. */
  readonly utility: string;
  /** A phone number in E.164 or a lower-case e-mail address. */
  readonly contact: string;
  /** The language of the page asking: the code comes in it (default: the customer's own). */
  readonly language?: Language | undefined;
}

/**
 * A customer asks for a one-time sign-in code: when the contact is a customer's who may sign in and has not
 * had too many codes this hour, a code is stored (hashed) and queued for the contact in one transaction. The
 * answer is the same whether or not anything was sent.
 */
export async function requestCode(
  db: Kysely<Database>,
  policy: SessionPolicy,
  req: CodeRequest,
): Promise<{ channel: 'sms' | 'email'; expiresInSeconds: number }> {
  const { utility, contact, language } = req;
  const channel = contactChannel(contact);
  const answer = { channel, expiresInSeconds: Math.round(policy.codeTtlMs / 1000) };
  const customer = await customerByContact(db, utility, contact);
  const userId = customer ? await customerUser(db, customer) : null;
  if (!customer || !userId) return answer;
  const at = policy.now();
  // Someone asking again and again gets the same answer, and the customer's phone stays quiet.
  if ((await codesSince(db, userId, new Date(at.getTime() - 3_600_000))) >= policy.codesPerHour)
    return answer;
  const code = policy.newCode();
  await db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('one_time_codes')
      .values({
        utility_id: customer.utility_id,
        user_id: userId,
        code_hash: codeDigest(userId, code),
        channel,
        created_at: at,
        expires_at: new Date(at.getTime() + policy.codeTtlMs),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    // A requested message: to the contact given, in the page's language (notify/audience.ts).
    await notify(trx, {
      utilityId: customer.utility_id,
      template: 'sign_in_code',
      payload: { code, minutes: Math.max(1, Math.round(policy.codeTtlMs / 60_000)) },
      dedupKey: `sign_in_code:${row.id}`,
      customerId: customer.id,
      to: {
        channel,
        // The address as the utility holds it (the e-mail in its own case).
        recipient: channel === 'sms' ? contact : (customer.email ?? contact),
        // The customer reads the code beside the page they asked from, so it comes in that page's language.
        language: language ?? customer.preferred_language,
      },
    });
  });
  return answer;
}

/**
 * A customer signs in with the one-time code: a session for their own user. A wrong, expired, used or
 * over-tried code and an unknown contact are all the same `unauthenticated`. Only the newest code counts;
 * each try spends one attempt, counted before the comparison.
 */
export async function signInWithCode(
  db: Kysely<Database>,
  policy: SessionPolicy,
  req: { readonly utility: string; readonly contact: string; readonly code: string },
): Promise<Session> {
  const refused = new RasidError('unauthenticated', 'the code is wrong or has expired; ask for a new one');
  const customer = await customerByContact(db, req.utility, req.contact);
  if (!customer) throw refused;
  const user = await enabledCustomerUser(db, customer.id);
  if (!user) throw refused;
  const at = policy.now();
  const latest = await latestCodeId(db, user.id);
  if (latest === undefined) throw refused;
  const tried = await db
    .updateTable('one_time_codes')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('id', '=', latest)
    .where('used_at', 'is', null)
    .where('expires_at', '>', at)
    .where('attempts', '<', policy.codeMaxAttempts)
    .returning('code_hash')
    .executeTakeFirst();
  if (!tried) throw refused;
  const given = Buffer.from(codeDigest(user.id, req.code), 'hex');
  if (!timingSafeEqual(given, Buffer.from(tried.code_hash, 'hex'))) throw refused;
  const spent = await db
    .updateTable('one_time_codes')
    .set({ used_at: at })
    .where('id', '=', latest)
    .where('used_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  if (!spent) throw refused;
  return startSession(db, policy, customer.utility_id, user.id);
}

/**
 * Counts a wrong password. From the {@link LOCK_AFTER}th consecutive one on, the account refuses every
 * password for 30 s, doubling with each further failure up to an hour, whatever address the tries come
 * from; each lock is audited.
 */
async function signInFailed(
  db: Kysely<Database>,
  userId: UserId,
  utilityId: UtilityId,
  at: Date,
  ip: string,
) {
  await db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('users')
      .set((eb) => ({ failed_sign_ins: eb('failed_sign_ins', '+', 1) }))
      .where('id', '=', userId)
      .returning('failed_sign_ins')
      .executeTakeFirstOrThrow();
    const failures = row.failed_sign_ins;
    if (failures < LOCK_AFTER) return;
    const lockedSeconds = Math.min(
      LOCK_MAX_SECONDS,
      LOCK_FIRST_SECONDS * 2 ** Math.min(failures - LOCK_AFTER, 20),
    );
    await trx
      .updateTable('users')
      .set({ sign_in_locked_until: new Date(at.getTime() + lockedSeconds * 1000) })
      .where('id', '=', userId)
      .execute();
    await writeAudit(trx, {
      utilityId,
      actor: 'system:sign-in',
      action: 'user.sign_in_locked',
      subject: `user:${userId}`,
      details: { failures, lockedSeconds, ip },
    });
  });
}

/**
 * Sign-in with a username and password: a session and the user's role. An unknown user, a disabled or locked
 * account and a wrong password are all the same `unauthenticated`; a wrong password counts towards a lock
 * (`ip` goes into the lock's audit row), a right one clears the count.
 */
export async function signInWithPassword(
  db: Kysely<Database>,
  policy: SessionPolicy,
  req: {
    readonly utility: string;
    readonly username: string;
    readonly password: string;
    readonly ip: string;
  },
): Promise<Session & { role: Role }> {
  const refused = new RasidError('unauthenticated', 'unknown user or wrong password');
  const user = await userByUsername(db, req.utility, req.username);
  // The same answer for an unknown user, a wrong password and a locked account.
  if (!user || user.disabled_at) throw refused;
  const at = policy.now();
  if (user.sign_in_locked_until && user.sign_in_locked_until > at) throw refused;
  if (!(await verifySecret(req.password, user.password_hash))) {
    await signInFailed(db, user.id, user.utility_id, at, req.ip);
    throw refused;
  }
  await db
    .updateTable('users')
    .set({ failed_sign_ins: 0, sign_in_locked_until: null })
    .where('id', '=', user.id)
    .where('failed_sign_ins', '>', 0)
    .execute();
  const session = await startSession(db, policy, user.utility_id, user.id);
  return { ...session, role: user.role };
}

/** Ends the session of a bearer token (revoked now). */
export async function signOut(db: Kysely<Database>, policy: SessionPolicy, token: string): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ revoked_at: policy.now() })
    .where('token_hash', '=', secretDigest(token))
    .execute();
}
