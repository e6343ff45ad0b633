/**
 * A generic hosted payment page (docs/payments.md), for a utility whose bank runs its own card gateway: the
 * customer is redirected to the bank's page with a signed request, and the bank tells Rasid the outcome in
 * a signed server-to-server callback. Both directions are signed with HMAC-SHA256 under a secret the utility
 * and its bank share, over the fields in a canonical form (names sorted, `name=value` joined by `&`,
 * values percent-encoded as in a URL query; the `signature` field itself left out). The customer's signed
 * return through the browser only brings them back to the token page: the token is issued on the
 * server-to-server callback alone.
 *
 * Request fields: merchant_id, order_id (Rasid's payment id), amount (minor units), currency, description,
 * return_url, cancel_url, callback_url, timestamp (Unix seconds), signature (lower-case hex).
 * Callback fields: merchant_id, order_id, transaction_id, status (`paid`, `failed`, `cancelled`), amount,
 * currency, timestamp, signature; JSON or application/x-www-form-urlencoded.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  type CheckoutRequest,
  type CheckoutSession,
  type PaymentEvent,
  type PaymentProvider,
  PaymentSignatureError,
} from './provider.ts';

export interface HostedPageOptions {
  /** The bank's payment page. */
  readonly paymentUrl: string;
  readonly merchantId: string;
  /** The shared HMAC secret (at least 32 characters). */
  readonly secret: string;
  /** Rasid's callback address (…/api/v1/payments/hpp/webhook); may be known only once Rasid listens. */
  readonly callbackUrl: string | (() => string);
  readonly toleranceSeconds?: number;
  readonly now?: () => Date;
}

/** The canonical string the signature covers. */
export function canonicalFields(fields: Readonly<Record<string, string>>): string {
  return Object.keys(fields)
    .filter((k) => k !== 'signature')
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(fields[k] ?? '')}`)
    .join('&');
}

export function signFields(secret: string, fields: Readonly<Record<string, string>>): string {
  return createHmac('sha256', secret).update(canonicalFields(fields)).digest('hex');
}

/** True when `fields.signature` is the HMAC of the other fields under `secret` (constant time). */
export function fieldsSigned(secret: string, fields: Readonly<Record<string, string>>): boolean {
  const given = fields.signature ?? '';
  if (!/^[0-9a-f]{64}$/i.test(given)) return false;
  return timingSafeEqual(Buffer.from(signFields(secret, fields), 'hex'), Buffer.from(given, 'hex'));
}

function header(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string {
  const v = headers[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

/** Form or JSON body to flat string fields. */
export function bodyFields(
  rawBody: string | Buffer,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string> {
  const text = Buffer.isBuffer(rawBody) ? rawBody.toString('utf8') : rawBody;
  if (header(headers, 'content-type').includes('application/json')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return {};
    }
    if (typeof json !== 'object' || json === null) return {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(json)) {
      if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
    }
    return out;
  }
  return Object.fromEntries(new URLSearchParams(text));
}

export class HostedPageProvider implements PaymentProvider {
  readonly name = 'hpp';
  readonly substitutesSessionId = false;
  private readonly now: () => Date;

  constructor(private readonly opts: HostedPageOptions) {
    if (opts.secret.length < 32)
      throw new Error('the hosted payment page secret needs 32 characters or more');
    this.now = opts.now ?? (() => new Date());
  }

  async createCheckout(request: CheckoutRequest): Promise<CheckoutSession> {
    const fields: Record<string, string> = {
      merchant_id: this.opts.merchantId,
      order_id: request.reference,
      amount: request.amountMinor.toString(),
      currency: request.currency,
      description: request.description.slice(0, 100),
      return_url: request.successUrl,
      cancel_url: request.cancelUrl,
      callback_url:
        typeof this.opts.callbackUrl === 'function' ? this.opts.callbackUrl() : this.opts.callbackUrl,
      timestamp: String(Math.floor(this.now().getTime() / 1000)),
    };
    const url = new URL(this.opts.paymentUrl);
    for (const [k, v] of Object.entries(fields)) url.searchParams.set(k, v);
    url.searchParams.set('signature', signFields(this.opts.secret, fields));
    // The order id is the session: the bank knows the payment by Rasid's reference.
    return { provider: this.name, sessionId: request.reference, url: url.toString() };
  }

  verifyEvent(
    rawBody: string | Buffer,
    headers: Readonly<Record<string, string | string[] | undefined>>,
  ): PaymentEvent {
    const f = bodyFields(rawBody, headers);
    if (!fieldsSigned(this.opts.secret, f))
      throw new PaymentSignatureError('the callback signature does not match');
    if (f.merchant_id !== this.opts.merchantId)
      throw new PaymentSignatureError('the callback is for another merchant');
    const at = Number(f.timestamp);
    const skew = Math.abs(this.now().getTime() / 1000 - at);
    if (!Number.isFinite(at) || skew > (this.opts.toleranceSeconds ?? 300)) {
      throw new PaymentSignatureError('the callback timestamp is missing or too far from now');
    }
    const { order_id: order, transaction_id: txn, status } = f;
    if (!order || !txn || !/^\d{1,18}$/.test(f.amount ?? '') || !/^[A-Z]{3}$/.test(f.currency ?? '')) {
      throw new PaymentSignatureError('the callback lacks order_id, transaction_id, amount or currency');
    }
    const eventId = `${txn}:${status}`;
    if (status !== 'paid') return { kind: 'ignored', eventId, type: `payment.${status}` };
    return {
      kind: 'payment_succeeded',
      eventId,
      sessionId: order,
      paymentRef: txn,
      reference: order,
      amountMinor: BigInt(f.amount!),
      currency: f.currency!,
    };
  }
}
