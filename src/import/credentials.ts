/**
 * MQTT credentials for many meters at once (an imported fleet): a username (`<utility>.<serial>`) and a
 * random password per meter, the password hashed (the meters' keyed HMAC, src/security/secrets.ts) before it is stored and
 * handed back once, and one audit row per meter as `POST /api/v1/meters/:id/mqtt-credentials` writes. The
 * answer is also the file `rasid sim fleet --credentials FILE` reads (docs/import.md).
 */
import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { meterTopicRoot } from '../../protocols/mqtt/index.ts';
import type { Actor } from '../accounts/accounts.ts';
import { hashSecret } from '../security/secrets.ts';
import type { Database, UtilityId } from '../store/schema.ts';

/** A new meter credential: the username the broker knows it by and a random password (shown once). */
export function newMeterCredential(
  utilityCode: string,
  serial: string,
): { username: string; password: string } {
  return { username: `${utilityCode}.${serial}`, password: randomBytes(24).toString('base64url') };
}

export interface IssuedCredential {
  readonly serial: string;
  readonly username: string;
  readonly password: string;
  readonly clientId: string;
  readonly topicRoot: string;
  readonly kind: 'electricity' | 'water';
  readonly mode: 'token' | 'central';
  readonly drn: string | null;
  readonly sgc: number | null;
}

/** The file `rasid sim fleet --credentials` reads: who the meters are and how they sign in. */
export interface FleetCredentials {
  readonly utility: string;
  readonly brokerUrl: string | null;
  readonly issuedAt: string;
  readonly meters: IssuedCredential[];
}

export interface IssueOptions {
  readonly db: Kysely<Database>;
  readonly utilityId: UtilityId;
  readonly actor: Actor;
  /** These serials only (else every meter that matches the prefix). */
  readonly serials?: readonly string[] | undefined;
  readonly serialPrefix?: string | undefined;
  /** Re-issue meters that have credentials already (their old password stops working). */
  readonly rotate?: boolean | undefined;
  readonly limit?: number | undefined;
  readonly brokerUrl?: string | null | undefined;
  readonly onProgress?: (done: number, total: number) => void;
  /** How a password is stored: the server's keyed HMAC for meters; scrypt when no key is at hand. */
  readonly hash?: ((password: string) => string | Promise<string>) | undefined;
}

/** Issues credentials to the chosen meters that are not decommissioned. */
export async function issueFleetCredentials(opts: IssueOptions): Promise<FleetCredentials> {
  const { db, utilityId } = opts;
  const utility = await db
    .selectFrom('utilities')
    .select('code')
    .where('id', '=', utilityId)
    .executeTakeFirstOrThrow();
  let q = db
    .selectFrom('meters')
    .select(['id', 'serial', 'kind', 'mode', 'sts_drn', 'sts_sgc', 'mqtt_username'])
    .where('utility_id', '=', utilityId)
    .where('status', '<>', 'decommissioned');
  if (opts.serials) q = q.where('serial', 'in', opts.serials.length > 0 ? [...opts.serials] : ['']);
  if (opts.serialPrefix) q = q.where(sql<boolean>`starts_with(serial, ${opts.serialPrefix})`);
  if (!opts.rotate) q = q.where('mqtt_password_hash', 'is', null);
  const meters = await q
    .orderBy('serial')
    .limit(opts.limit ?? 100_000)
    .execute();
  const issued: (IssuedCredential & { id: string; hash: string; rotated: boolean })[] = [];
  let done = 0;
  // scrypt runs on libuv's thread pool: a few at a time use it without queueing thousands of jobs.
  const parallel = 4;
  for (let i = 0; i < meters.length; i += parallel) {
    const chunk = meters.slice(i, i + parallel);
    const hashed = await Promise.all(
      chunk.map(async (m) => {
        const c = newMeterCredential(utility.code, m.serial);
        return { m, c, hash: await (opts.hash ?? hashSecret)(c.password) };
      }),
    );
    for (const { m, c, hash } of hashed) {
      issued.push({
        id: m.id,
        hash,
        rotated: m.mqtt_username !== null,
        serial: m.serial,
        username: c.username,
        password: c.password,
        clientId: m.serial,
        topicRoot: meterTopicRoot(utility.code, m.serial),
        kind: m.kind,
        mode: m.mode,
        drn: m.sts_drn,
        sgc: m.sts_sgc,
      });
    }
    done += chunk.length;
    opts.onProgress?.(done, meters.length);
  }
  const batch = 1000;
  for (let i = 0; i < issued.length; i += batch) {
    const rows = issued.slice(i, i + batch);
    await db.transaction().execute(async (trx) => {
      await sql`
        update meters m set mqtt_username = u.username, mqtt_password_hash = u.hash
        from unnest(${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.username)}::text[],
                    ${rows.map((r) => r.hash)}::text[]) as u(id, username, hash)
        where m.id = u.id`.execute(trx);
      await sql`
        insert into audit_log (utility_id, actor, action, subject, details)
        select ${utilityId}::uuid, ${opts.actor.actor}, u.action, 'meter:' || u.id, jsonb_build_object('username', u.username, 'bulk', true)
        from unnest(${rows.map((r) => r.id)}::text[], ${rows.map((r) => r.username)}::text[],
                    ${rows.map((r) => (r.rotated ? 'meter.mqtt_credentials_rotated' : 'meter.mqtt_credentials_issued'))}::text[])
          as u(id, username, action)`.execute(trx);
    });
  }
  return {
    utility: utility.code,
    brokerUrl: opts.brokerUrl ?? null,
    issuedAt: new Date().toISOString(),
    meters: issued.map(({ id: _id, hash: _hash, rotated: _rotated, ...c }) => c),
  };
}
