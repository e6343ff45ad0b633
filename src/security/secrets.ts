/**
 * Secrets stored as scrypt hashes with a per-secret salt: the MQTT passwords of meters, gateways and services,
 * and people's passwords. Verification runs in constant time. A verified secret can be remembered as a
 * SHA-256 digest so that a reconnect storm of thousands of meters costs one hash each, not one scrypt each.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

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
export async function verifySecret(secret: string | Uint8Array, stored: string): Promise<boolean> {
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
}

/**
 * Remembers secrets already verified against their stored hash, as a salted SHA-256 digest (never the
 * secret itself). Concurrent checks of the same (username, secret) share one scrypt.
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
    this.#verify = opts.verify ?? ((secret, stored) => verifySecret(secret, stored));
  }

  get size(): number {
    return this.#entries.size;
  }

  get stats(): { hits: number; misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  /** Checks `secret` for `username` against `stored`, from the cache when it was verified before. */
  async check(username: string, secret: string | Uint8Array, stored: string): Promise<boolean> {
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
    const key = `${username}\0${d.toString('base64')}`;
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
