import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import type { Kysely } from 'kysely';
import type { Database, UtilityId, VendingKeyId } from './schema.ts';

/**
 * Rasid's key store: vending keys encrypted at rest with AES-256-GCM under a 32-byte master key from
 * configuration. Each row is bound to its id, utility, SGC and KRN through the GCM additional data, so a
 * ciphertext copied onto another row does not decrypt. Nothing here logs; errors never carry key bytes.
 */

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MASTER_KEY_BYTES = 32;

/** A decrypted key. Printing, logging or serialising it shows `[redacted]`; `reveal()` gives the bytes. */
export class SecretKey {
  readonly #bytes: Buffer;

  constructor(bytes: Uint8Array) {
    this.#bytes = Buffer.from(bytes);
  }

  /** A copy of the key bytes, for the token engine only. */
  reveal(): Buffer {
    return Buffer.from(this.#bytes);
  }

  get length(): number {
    return this.#bytes.length;
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'SecretKey [redacted]';
  }
}

export interface VendingKeyInput {
  utilityId: UtilityId;
  /** STS supply group code. */
  sgc: number;
  /** STS key revision number. */
  krn: number;
  /** The key bytes (an STS vending key is 8 or 16 bytes). */
  key: Uint8Array;
  label?: string;
}

export interface VendingKey {
  id: VendingKeyId;
  utilityId: UtilityId;
  sgc: number;
  krn: number;
  label: string | null;
  key: SecretKey;
}

export interface KeyStore {
  /**
   * Seals a secret other than a vending key (a meter's DLMS password or keys) for a column of its own:
   * AES-256-GCM under a key derived from the master key for this use only, bound to `context` (say
   * `gateway_meters:<meterId>`) so that the box opens on its own row only. Returns iv ‖ tag ‖ ciphertext.
   */
  seal(context: string, plaintext: Uint8Array): Buffer;
  /** Opens a {@link KeyStore.seal} box of the same context; throws a KeyStoreError otherwise. */
  open(context: string, box: Uint8Array): SecretKey;
  /** The key meters' MQTT secrets are kept under (HMAC-SHA-256), derived from the master key for this use. */
  meterSecretKey(): Buffer;
  /** Encrypts and stores a key; returns its id. */
  put(input: VendingKeyInput): Promise<VendingKeyId>;
  /** Decrypts a key by id; `undefined` when there is no such row. */
  get(id: VendingKeyId): Promise<VendingKey | undefined>;
  /** Decrypts the key of a utility's supply group and revision; `undefined` when absent. */
  find(utilityId: UtilityId, sgc: number, krn: number): Promise<VendingKey | undefined>;
}

export class KeyStoreError extends Error {
  override readonly name = 'KeyStoreError';
}

function additionalData(id: string, utilityId: string, sgc: number, krn: number): Buffer {
  return Buffer.from(`rasid:vending_key:v1:${id}:${utilityId}:${sgc}:${krn}`, 'utf8');
}

export function createKeyStore(options: { db: Kysely<Database>; masterKey: Uint8Array }): KeyStore {
  if (options.masterKey.length !== MASTER_KEY_BYTES) {
    throw new KeyStoreError(`master key must be ${MASTER_KEY_BYTES} bytes, got ${options.masterKey.length}`);
  }
  const masterKey = Buffer.from(options.masterKey);
  // A separate key for sealed secrets: vending-key rows and sealed boxes never share a key.
  const sealKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'rasid:sealed-secret:v1', 32));
  const { db } = options;

  type Row = {
    id: VendingKeyId;
    utility_id: UtilityId;
    sgc: number;
    krn: number;
    label: string | null;
    ciphertext: Buffer;
    iv: Buffer;
    auth_tag: Buffer;
  };

  function decrypt(row: Row): VendingKey {
    const decipher = createDecipheriv(ALGORITHM, masterKey, row.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(row.id, row.utility_id, row.sgc, row.krn));
    decipher.setAuthTag(row.auth_tag);
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(row.ciphertext), decipher.final()]);
    } catch {
      throw new KeyStoreError(
        `vending key ${row.id} failed authentication (wrong master key or altered row)`,
      );
    }
    const key = new SecretKey(plain);
    plain.fill(0);
    return { id: row.id, utilityId: row.utility_id, sgc: row.sgc, krn: row.krn, label: row.label, key };
  }

  const columns = ['id', 'utility_id', 'sgc', 'krn', 'label', 'ciphertext', 'iv', 'auth_tag'] as const;

  const meterKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'rasid:meter-secret:v1', 32));

  return {
    meterSecretKey: () => Buffer.from(meterKey),
    seal(context, plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, sealKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(`rasid:sealed:v1:${context}`, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
    },

    open(context, box) {
      const bytes = Buffer.from(box);
      if (bytes.length <= IV_BYTES + TAG_BYTES)
        throw new KeyStoreError(`sealed secret of ${context} is too short`);
      const decipher = createDecipheriv(ALGORITHM, sealKey, bytes.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(`rasid:sealed:v1:${context}`, 'utf8'));
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
      } catch {
        throw new KeyStoreError(
          `sealed secret of ${context} failed authentication (wrong master key or row)`,
        );
      }
      const secret = new SecretKey(plain);
      plain.fill(0);
      return secret;
    },

    async put(input) {
      if (input.key.length === 0) throw new KeyStoreError('vending key is empty');
      const id = randomUUID() as VendingKeyId;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, masterKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(additionalData(id, input.utilityId, input.sgc, input.krn));
      const ciphertext = Buffer.concat([cipher.update(input.key), cipher.final()]);
      await db
        .insertInto('vending_keys')
        .values({
          id,
          utility_id: input.utilityId,
          sgc: input.sgc,
          krn: input.krn,
          label: input.label ?? null,
          ciphertext,
          iv,
          auth_tag: cipher.getAuthTag(),
        })
        .execute();
      return id;
    },

    async get(id) {
      const row = await db.selectFrom('vending_keys').select(columns).where('id', '=', id).executeTakeFirst();
      return row ? decrypt(row) : undefined;
    },

    async find(utilityId, sgc, krn) {
      const row = await db
        .selectFrom('vending_keys')
        .select(columns)
        .where('utility_id', '=', utilityId)
        .where('sgc', '=', sgc)
        .where('krn', '=', krn)
        .executeTakeFirst();
      return row ? decrypt(row) : undefined;
    },
  };
}
