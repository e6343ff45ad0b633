/**
 * The signature on Rasid's webhooks, which a utility's system verifies (docs/notifications.md):
 *
 *   Rasid-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * The timestamp is inside the signed text, so a captured request cannot be replayed later than the
 * receiver's tolerance (five minutes by default). Compare in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'rasid-signature';
/** Default replay window, seconds. */
export const DEFAULT_TOLERANCE_S = 300;

/** The hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`. */
export function webhookHmac(secret: string, timestampS: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex');
}

/** The `Rasid-Signature` header value for a body sent at `timestampS`. */
export function signWebhook(secret: string, timestampS: number, body: string): string {
  return `t=${timestampS},v1=${webhookHmac(secret, timestampS, body)}`;
}

export type VerifyResult =
  | { readonly ok: true; readonly timestampS: number }
  | { readonly ok: false; readonly reason: 'malformed' | 'stale' | 'bad_signature' };

/**
 * Verifies a `Rasid-Signature` header against the raw body (the exact bytes received, before any JSON
 * parsing). Accepts several `v1=` entries (a secret being rotated).
 */
export function verifyWebhook(
  secret: string,
  header: string | undefined,
  body: string,
  nowS: number,
  toleranceS = DEFAULT_TOLERANCE_S,
): VerifyResult {
  if (header === undefined) return { ok: false, reason: 'malformed' };
  let timestampS: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value !== undefined && /^\d+$/.test(value)) timestampS = Number(value);
    if (key === 'v1' && value !== undefined && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestampS === null || signatures.length === 0) return { ok: false, reason: 'malformed' };
  if (Math.abs(nowS - timestampS) > toleranceS) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(webhookHmac(secret, timestampS, body), 'hex');
  const match = signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
  return match ? { ok: true, timestampS } : { ok: false, reason: 'bad_signature' };
}
