/**
 * Who may connect to Rasid's broker, and as what. A {@link CredentialStore} answers one question: for
 * this MQTT username, which stored secret hash and which identity. The store room implements it over the
 * `meters` table (username = meter id or `mqtt_username`); {@link MemoryCredentialStore} sits beside it
 * for tests and the simulator (docs/style.md practice 8).
 */
import {
  type GatewayTopicRoot,
  gatewayTopicRoot,
  isDeviceId,
  isUtilityCode,
  type MeterTopicRoot,
  meterTopicRoot,
} from '../../protocols/mqtt/index.ts';

/** A meter: publishes only under its own subtree, subscribes only to its own commands. */
export interface MeterIdentity {
  readonly role: 'meter';
  readonly utility: string;
  /** The meter id as it appears in topics. */
  readonly meterId: string;
}

/** A gateway that speaks MQTT for DLMS/Modbus meters. */
export interface GatewayIdentity {
  readonly role: 'gateway';
  readonly utility: string;
  readonly gatewayId: string;
  /** The meters (topic ids) it serves, or `'utility'` for every meter of its utility. */
  readonly meters: 'utility' | readonly string[];
}

/** Rasid's own workers (command dispatcher, external ingest, simulator control): every topic. */
export interface ServiceIdentity {
  readonly role: 'service';
  readonly name: string;
}

export type Identity = MeterIdentity | GatewayIdentity | ServiceIdentity;

export interface CredentialRecord {
  /** A {@link hashSecret} result. */
  readonly secretHash: string;
  readonly identity: Identity;
}

/** The broker's only view of stored credentials. */
export interface CredentialStore {
  /** The record for an MQTT username, or null when there is none (or it is disabled). */
  findByUsername(username: string): Promise<CredentialRecord | null>;
  /**
   * Replaces a record's stored hash `stored` with `hash` (a meter's scrypt record moving to the keyed
   * hash after a good connect); does nothing when the record changed meanwhile.
   */
  rehash?(username: string, stored: string, hash: string): Promise<void>;
}

/** An identity as the broker keeps it for a connected client, with its topic roots precomputed. */
export type Principal =
  | (MeterIdentity & { readonly username: string; readonly root: MeterTopicRoot })
  | (GatewayIdentity & {
      readonly username: string;
      readonly root: GatewayTopicRoot;
      readonly serves: (utility: string, meterId: string) => boolean;
    })
  | (ServiceIdentity & { readonly username: string });

/** Raised when a stored identity cannot be used in topics (bad utility code or device id). */
export class CredentialError extends Error {
  override readonly name = 'CredentialError';
}

export function toPrincipal(username: string, identity: Identity): Principal {
  switch (identity.role) {
    case 'meter':
      if (!isUtilityCode(identity.utility) || !isDeviceId(identity.meterId)) {
        throw new CredentialError(`credential ${username}: utility or meterId not usable in a topic`);
      }
      return { ...identity, username, root: meterTopicRoot(identity.utility, identity.meterId) };
    case 'gateway': {
      if (!isUtilityCode(identity.utility) || !isDeviceId(identity.gatewayId)) {
        throw new CredentialError(`credential ${username}: utility or gatewayId not usable in a topic`);
      }
      const own = identity.utility;
      const set = identity.meters === 'utility' ? null : new Set(identity.meters);
      const serves = (utility: string, meterId: string) =>
        utility === own && (set === null || set.has(meterId));
      return { ...identity, username, root: gatewayTopicRoot(identity.utility, identity.gatewayId), serves };
    }
    case 'service':
      return { ...identity, username };
  }
}

/** In-memory credential store: for tests, the simulator and the demo. */
export class MemoryCredentialStore implements CredentialStore {
  readonly #records = new Map<string, CredentialRecord>();

  set(username: string, record: CredentialRecord): this {
    this.#records.set(username, record);
    return this;
  }

  delete(username: string): void {
    this.#records.delete(username);
  }

  async findByUsername(username: string): Promise<CredentialRecord | null> {
    return this.#records.get(username) ?? null;
  }
}
