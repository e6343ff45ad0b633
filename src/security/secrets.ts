/**
 * Stored secrets, verified in constant time:
 *
 * - people's passwords (and older meter secrets): scrypt with a per-secret salt, a password KDF, because
 *   a person's password may be guessable;
 * - meters' MQTT secrets, which Rasid generates (192 random bits): HMAC-SHA-256 under a server-held key
 *   derived from the master key ({@link MeterSecretKey}, `hmac-sha256$<base64>`). Nothing can be guessed,
 *   so a KDF adds only cost: a reconnect storm of 10,000 meters costs 10,000 HMACs (microseconds each),
 *   not 10,000 scrypts (tens of milliseconds each). A stolen table without the key gives nothing to test
 *   guesses against either. A meter's scrypt record moves to HMAC at its next good connect.
 *
 * A verified secret can be remembered as a SHA-256 digest so that a reconnect of a meter with an older
 * scrypt record costs one hash, not one scrypt.
 */
import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** SHA-256 hex of a bearer token, API key or one-time code: what the database stores. */
export function secretDigest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A new random bearer token or API key with a readable prefix (e.g. `rks_` for kiosk keys). */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** scrypt cost parameters of newly hashed secrets (RFC 7914). N = 2^14 takes ~15-40 ms on one core. */
export const SCRYPT_PARAMS = Object.freeze({ N: 16_384, r: 8, p: 1, keyLength: 32, saltLength: 16 });

const PREFIX = 'scrypt';

function scryptAsync(secret: Buffer, salt: Buffer, keyLength: number, N: number, r: number, p: number) {
  return new Promise<Buffer>((resolve, reject) => {
    // maxmem: 128 * N * r bytes plus headroom, as node's default (32 MiB) is just enough for N = 2^15.
    scrypt(secret, salt, keyLength, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

function toBuffer(secret: string | Uint8Array): Buffer {
  return typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
}

/**
 * Hashes a new secret: `scrypt$N$r$p$<salt base64>$<key base64>`. Store the result, never the secret.
 */
export async function hashSecret(secret: string | Uint8Array): Promise<string> {
  const { N, r, p, keyLength, saltLength } = SCRYPT_PARAMS;
  const salt = randomBytes(saltLength);
  const key = await scryptAsync(toBuffer(secret), salt, keyLength, N, r, p);
  return [PREFIX, N, r, p, salt.toString('base64'), key.toString('base64')].join('$');
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parseHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== PREFIX) return null;
  const [, n, r, p, salt, key] = parts;
  const N = Number(n);
  const R = Number(r);
  const P = Number(p);
  if (!Number.isInteger(N) || N < 2 || (N & (N - 1)) !== 0 || N > 1 << 20) return null;
  if (!Number.isInteger(R) || R < 1 || R > 32 || !Number.isInteger(P) || P < 1 || P > 16) return null;
  const saltBuf = Buffer.from(salt ?? '', 'base64');
  const keyBuf = Buffer.from(key ?? '', 'base64');
  if (saltBuf.length < 8 || keyBuf.length < 16) return null;
  return { N, r: R, p: P, salt: saltBuf, key: keyBuf };
}

/**
 * True when `secret` matches `stored`: a {@link hashSecret} result, or `sha256$<64 hex>` — the form Rasid
 * keeps its random 256-bit API keys in (kiosks, gateways), where a slow hash adds nothing. A malformed hash
 * never matches.
 */
export async function verifySecret(
  secret: string | Uint8Array,
  stored: string,
  meterKey?: MeterSecretKey,
): Promise<boolean> {
  if (stored.startsWith(HMAC_PREFIX)) return meterKey?.verify(secret, stored) ?? false;
  if (stored.startsWith('sha256$')) {
    const hex = stored.slice('sha256$'.length);
    if (!/^[0-9a-f]{64}$/.test(hex)) return false;
    return timingSafeEqual(createHash('sha256').update(toBuffer(secret)).digest(), Buffer.from(hex, 'hex'));
  }
  const parsed = parseHash(stored);
  if (parsed === null) return false;
  const key = await scryptAsync(
    toBuffer(secret),
    parsed.salt,
    parsed.key.length,
    parsed.N,
    parsed.r,
    parsed.p,
  );
  return timingSafeEqual(key, parsed.key);
}

const HMAC_PREFIX = 'hmac-sha256$';

/** True for a record kept with a password KDF (a candidate to move to {@link MeterSecretKey.hash}). */
export function isSlowHash(stored: string): boolean {
  return stored.startsWith(`${PREFIX}$`);
}

/**
 * The server-held key meters' MQTT secrets are kept under: `hmac-sha256$<base64 HMAC(key, secret)>`.
 * Made from 32 bytes derived from the master key for this use only (`KeyStore.meterSecretKey`).
 */
export class MeterSecretKey {
  readonly #key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length < 32) throw new RangeError('a meter secret key has at least 32 bytes');
    this.#key = Buffer.from(key);
  }

  #mac(secret: string | Uint8Array): Buffer {
    return createHmac('sha256', this.#key).update(toBuffer(secret)).digest();
  }

  /** The stored form of a meter's secret. */
  hash(secret: string | Uint8Array): string {
    return `${HMAC_PREFIX}${this.#mac(secret).toString('base64')}`;
  }

  verify(secret: string | Uint8Array, stored: string): boolean {
    if (!stored.startsWith(HMAC_PREFIX)) return false;
    const expected = Buffer.from(stored.slice(HMAC_PREFIX.length), 'base64');
    if (expected.length !== 32) return false;
    return timingSafeEqual(this.#mac(secret), expected);
  }
}

function digest(username: string, stored: string, secret: Buffer): Buffer {
  // The stored hash is part of the digest input, so a rotated secret never matches an old cache entry.
  return createHash('sha256')
    .update(username)
    .update('\0')
    .update(stored)
    .update('\0')
    .update(secret)
    .digest();
}

export interface VerifiedSecretCacheOptions {
  /** Most entries kept (least recently used evicted first). */
  maxEntries?: number;
  /** Verify function, injectable for tests of the cache itself. */
  verify?: (secret: Buffer, stored: string) => Promise<boolean>;
  /** The key meters' `hmac-sha256$` records are checked with. */
  meterKey?: MeterSecretKey;
}

/**
 * Remembers secrets already verified against their stored hash, as a salted SHA-256 digest (never the
 * secret itself). Concurrent checks of the same secret against the same stored record share one scrypt.
 */
export class VerifiedSecretCache {
  readonly #max: number;
  readonly #verify: (secret: Buffer, stored: string) => Promise<boolean>;
  readonly #entries = new Map<string, Buffer>();
  readonly #pending = new Map<string, Promise<boolean>>();
  #hits = 0;
  #misses = 0;

  constructor(opts: VerifiedSecretCacheOptions = {}) {
    this.#max = opts.maxEntries ?? 100_000;
    const meterKey = opts.meterKey;
    this.#verify = opts.verify ?? ((secret, stored) => verifySecret(secret, stored, meterKey));
    this.#meterKey = meterKey;
  }

  readonly #meterKey: MeterSecretKey | undefined;

  get size(): number {
    return this.#entries.size;
  }

  get stats(): { hits: number; misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  /** Checks `secret` for `username` against `stored`, from the cache when it was verified before. */
  async check(username: string, secret: string | Uint8Array, stored: string): Promise<boolean> {
    // A keyed hash is as fast as the cache itself: checked directly, nothing remembered.
    if (stored.startsWith(HMAC_PREFIX)) return this.#meterKey?.verify(secret, stored) ?? false;
    const secretBuf = toBuffer(secret);
    const d = digest(username, stored, secretBuf);
    const known = this.#entries.get(username);
    if (known !== undefined && timingSafeEqual(known, d)) {
      this.#hits++;
      this.#entries.delete(username);
      this.#entries.set(username, known);
      return true;
    }
    this.#misses++;
    // The scrypt's answer depends on the secret and the stored record only: meters given the same record
    // (a batch provisioned with one secret) share one scrypt when they connect together.
    const key = digest('', stored, secretBuf).toString('base64');
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = this.#verify(secretBuf, stored).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    const ok = await pending;
    if (ok) this.#remember(username, d);
    return ok;
  }

  /** Forgets one username (call it when a meter's secret is rotated or revoked). */
  forget(username: string): void {
    this.#entries.delete(username);
  }

  #remember(username: string, d: Buffer): void {
    this.#entries.delete(username);
    this.#entries.set(username, d);
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }
}
