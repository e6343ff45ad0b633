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
}
