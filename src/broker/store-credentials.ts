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

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async findByUsername(username: string): Promise<CredentialRecord | null> {
    const { rows } = await sql<{ serial: string; code: string; hash: string }>`
      select m.serial, u.code, m.mqtt_password_hash as hash
      from meters m join utilities u on u.id = m.utility_id
      where (m.mqtt_username = ${username} or (m.mqtt_username is null and m.serial = ${username}))
        and m.mqtt_password_hash is not null and m.status <> 'decommissioned'
      limit 2`.execute(this.#db);
    const row = rows[0];
    if (row === undefined || rows.length > 1) return null;
    return { secretHash: row.hash, identity: { role: 'meter', utility: row.code, meterId: row.serial } };
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
}
