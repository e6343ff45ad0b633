/** {@link CredentialStore} over the store's `meters` table (`mqtt_username`, `mqtt_password_hash`). */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../store/index.ts';
import type { CredentialRecord, CredentialStore } from './credentials.ts';

/**
 * A meter connects with its `mqtt_username`, or with its serial (the meter id of its topics) when that
 * serial is unique across utilities. Meters without a password hash, and decommissioned meters, cannot
 * connect. Gateways and services are not in the store yet: put them in a {@link ChainedCredentialStore}.
 */
export class StoreCredentialStore implements CredentialStore {
  readonly #db: Kysely<Database>;
  /** Look-ups asked for in this turn of the event loop: one query answers them all. */
  #lookups = new Map<string, ((record: CredentialRecord | null) => void)[]>();
  #lookupFailures = new Map<string, ((err: unknown) => void)[]>();
  /** Secrets moving to the keyed hash, written together a moment later. */
  #rehashes: {
    username: string;
    stored: string;
    hash: string;
    done: () => void;
    fail: (e: unknown) => void;
  }[] = [];
  #rehashTimer: NodeJS.Timeout | undefined;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /**
   * A connect storm (every meter back after an outage) asks for thousands of meters at once: the
   * look-ups of one turn of the event loop are one query (the store's single session on PGlite is then
   * held once, not once per meter).
   */
  findByUsername(username: string): Promise<CredentialRecord | null> {
    return new Promise((resolve, reject) => {
      const first = this.#lookups.size === 0;
      const waiting = this.#lookups.get(username);
      if (waiting === undefined) {
        this.#lookups.set(username, [resolve]);
        this.#lookupFailures.set(username, [reject]);
      } else {
        waiting.push(resolve);
        this.#lookupFailures.get(username)!.push(reject);
      }
      if (first) setImmediate(() => void this.#lookUp());
    });
  }

  async #lookUp(): Promise<void> {
    const lookups = this.#lookups;
    const failures = this.#lookupFailures;
    this.#lookups = new Map();
    this.#lookupFailures = new Map();
    const names = [...lookups.keys()];
    try {
      const { rows } = await sql<{ username: string | null; serial: string; code: string; hash: string }>`
        select m.mqtt_username as username, m.serial, u.code, m.mqtt_password_hash as hash
        from meters m join utilities u on u.id = m.utility_id
        where (m.mqtt_username = any(${names}::text[])
               or (m.mqtt_username is null and m.serial = any(${names}::text[])))
          and m.mqtt_password_hash is not null and m.status <> 'decommissioned'`.execute(this.#db);
      const found = new Map<string, (typeof rows)[number][]>();
      for (const row of rows) {
        const name = row.username ?? row.serial;
        found.set(name, [...(found.get(name) ?? []), row]);
      }
      for (const [name, resolvers] of lookups) {
        const matches = found.get(name) ?? [];
        // A serial shared by two utilities logs nobody in: it is not an identity.
        const row = matches.length === 1 ? matches[0]! : undefined;
        const record: CredentialRecord | null =
          row === undefined
            ? null
            : { secretHash: row.hash, identity: { role: 'meter', utility: row.code, meterId: row.serial } };
        for (const resolve of resolvers) resolve(record);
      }
    } catch (err) {
      for (const rejecters of failures.values()) for (const reject of rejecters) reject(err);
    }
  }

  /** Written with the others of the next 50 ms in one statement (a connect storm moves thousands). */
  rehash(username: string, stored: string, hash: string): Promise<void> {
    return new Promise((done, fail) => {
      this.#rehashes.push({ username, stored, hash, done, fail });
      this.#rehashTimer ??= setTimeout(() => void this.#writeRehashes(), 50);
    });
  }

  async #writeRehashes(): Promise<void> {
    this.#rehashTimer = undefined;
    const batch = this.#rehashes;
    this.#rehashes = [];
    try {
      await sql`
        update meters m set mqtt_password_hash = r.hash
        from unnest(${batch.map((r) => r.username)}::text[], ${batch.map((r) => r.stored)}::text[],
                    ${batch.map((r) => r.hash)}::text[]) as r (username, stored, hash)
        where (m.mqtt_username = r.username or (m.mqtt_username is null and m.serial = r.username))
          and m.mqtt_password_hash = r.stored`.execute(this.#db);
      for (const r of batch) r.done();
    } catch (err) {
      for (const r of batch) r.fail(err);
    }
  }
}

/**
 * Gateways log in with their code as username and their API key (`rgw_…`, kept as SHA-256) as password.
 * A gateway may act for exactly the meters assigned to it (`gateway_meters`) when it connects; after a
 * change of assignments it picks up the new list at its next connection. A code used by two utilities, or
 * that of a disabled gateway, cannot log in.
 */
export class StoreGatewayCredentialStore implements CredentialStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async findByUsername(username: string): Promise<CredentialRecord | null> {
    const gateways = await this.#db
      .selectFrom('gateways as g')
      .innerJoin('utilities as u', 'u.id', 'g.utility_id')
      .select(['g.id', 'g.code', 'g.api_key_hash', 'g.active', 'u.code as utility'])
      .where('g.code', '=', username)
      .limit(2)
      .execute();
    const gateway = gateways[0];
    if (gateway === undefined || gateways.length > 1 || !gateway.active) return null;
    const meters = await this.#db
      .selectFrom('gateway_meters as gm')
      .innerJoin('meters as m', 'm.id', 'gm.meter_id')
      .select('m.serial')
      .where('gm.gateway_id', '=', gateway.id)
      .where('m.status', '<>', 'decommissioned')
      .execute();
    return {
      secretHash: `sha256$${gateway.api_key_hash}`,
      identity: {
        role: 'gateway',
        utility: gateway.utility,
        gatewayId: gateway.code,
        meters: meters.map((m) => m.serial),
      },
    };
  }
}

/** Asks each store in turn; the first record found wins. */
export class ChainedCredentialStore implements CredentialStore {
  readonly #stores: readonly CredentialStore[];

  constructor(...stores: CredentialStore[]) {
    this.#stores = stores;
  }

  async findByUsername(username: string): Promise<CredentialRecord | null> {
    for (const store of this.#stores) {
      const record = await store.findByUsername(username);
      if (record !== null) return record;
    }
    return null;
  }

  async rehash(username: string, stored: string, hash: string): Promise<void> {
    for (const store of this.#stores) await store.rehash?.(username, stored, hash);
  }
}
