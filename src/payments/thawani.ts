/**
 * Thawani Pay (Oman) through its public e-commerce API (docs/payments.md): a hosted checkout session per
 * payment (`client_reference_id` = Rasid's payment id, one product priced in baisa), the customer sent to
 * Thawani's payment page, and the token issued only after a signed webhook AND the session read back from
 * Thawani says `paid` for the amount asked. Refunds go through the refunds endpoint with the payment id that
 * Thawani lists for the session's invoice.
 *
 * Requests carry the secret key in the `thawani-api-key` header; webhooks carry `thawani-signature`, the
 * hex HMAC-SHA256 under the webhook secret of the raw body, a hyphen and the `thawani-timestamp` header.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { RasidError } from '../errors.ts';
import {
  type CheckoutRequest,
  type CheckoutSession,
  type PaymentEvent,
  type PaymentProvider,
  PaymentSignatureError,
  type RefundRequest,
  type RefundResult,
  type SessionStatus,
} from './provider.ts';

export interface ThawaniProviderOptions {
  /** Secret key (header `thawani-api-key`). */
  readonly secretKey: string;
  /** Publishable key: goes in the payment page address. */
  readonly publishableKey: string;
  /** The webhook secret set in Thawani's merchant portal. */
  readonly webhookSecret: string;
  /** https://checkout.thawani.om (production), https://uatcheckout.thawani.om (UAT), or a local test server. */
  readonly apiBase: string;
  /** Seconds a webhook's timestamp may differ from the clock (default 300). */
  readonly toleranceSeconds?: number;
  readonly now?: () => Date;
  readonly fetch?: typeof fetch;
}

/** Thawani answers every call in one envelope: `{ success, code, description, data }`. */
const Envelope = z.object({
  success: z.boolean(),
  code: z.number().optional(),
  description: z.string().optional(),
  data: z.unknown(),
});

const Session = z.object({
  session_id: z.string().min(1),
  client_reference_id: z.string().nullish(),
  total_amount: z.number().int().nonnegative(),
  currency: z.string().default('OMR'),
  payment_status: z.enum(['unpaid', 'paid', 'cancelled']),
  invoice: z.string().nullish(),
});

const Payment = z.object({
  payment_id: z.string().min(1),
  status: z.string(),
  amount: z.number().int().nonnegative().optional(),
});

const Refund = z.object({ refund_id: z.string().min(1), amount: z.number().int().nonnegative().optional() });

const WebhookBody = z.object({
  event_type: z.string().min(1),
  data: z
    .object({
      session_id: z.string().min(1).optional(),
      client_reference_id: z.string().nullish(),
      payment_status: z.string().optional(),
      total_amount: z.number().int().nonnegative().optional(),
      currency: z.string().optional(),
      invoice: z.string().nullish(),
    })
    .loose(),
});

function header(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string {
  const v = headers[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

/** The signature Thawani puts in `thawani-signature`: hex HMAC-SHA256 of `${body}-${timestamp}`. */
export function thawaniSignature(secret: string, rawBody: string | Buffer, timestamp: string): string {
  return createHmac('sha256', secret)
    .update(Buffer.isBuffer(rawBody) ? rawBody : Buffer.from(rawBody, 'utf8'))
    .update(`-${timestamp}`)
    .digest('hex');
}

function toNumber(amount: bigint): number {
  const n = Number(amount);
  if (!Number.isSafeInteger(n)) throw new RangeError(`amount ${amount} is out of range`);
  return n;
}

export class ThawaniProvider implements PaymentProvider {
  readonly name = 'thawani';
  readonly substitutesSessionId = false;
  private readonly base: string;
  private readonly now: () => Date;
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: ThawaniProviderOptions) {
    this.base = opts.apiBase.replace(/\/$/, '');
    this.now = opts.now ?? (() => new Date());
    this.fetch = opts.fetch ?? fetch;
  }

  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await this.fetch(`${this.base}${path}`, {
        method,
        headers: {
          'thawani-api-key': this.opts.secretKey,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(20_000),
      });
    } catch (err) {
      throw new RasidError('payment_provider_failed', `Thawani ${path}: ${(err as Error).message}`);
    }
    const parsed = Envelope.safeParse(await res.json().catch(() => null));
    if (!res.ok || !parsed.success || !parsed.data.success) {
      const why = parsed.success ? (parsed.data.description ?? `HTTP ${res.status}`) : `HTTP ${res.status}`;
      throw new RasidError('payment_provider_failed', `Thawani ${method} ${path}: ${why}`);
    }
    return parsed.data.data;
  }

  async createCheckout(request: CheckoutRequest): Promise<CheckoutSession> {
    if (request.currency !== 'OMR') {
      throw new RasidError('validation_failed', `Thawani takes Omani rials only, not ${request.currency}`);
    }
    const data = await this.call('POST', '/api/v1/checkout/session', {
      client_reference_id: request.reference,
      mode: 'payment',
      // OMR has three decimals: Rasid's minor units are baisa, as Thawani counts them.
      products: [
        { name: request.description.slice(0, 40), quantity: 1, unit_amount: toNumber(request.amountMinor) },
      ],
      success_url: request.successUrl,
      cancel_url: request.cancelUrl,
      metadata: { ...request.metadata, rasid_reference: request.reference },
    });
    const session = Session.safeParse(data);
    if (!session.success) throw new RasidError('payment_provider_failed', 'Thawani returned no session id');
    const url = `${this.base}/pay/${encodeURIComponent(session.data.session_id)}?key=${encodeURIComponent(this.opts.publishableKey)}`;
    return { provider: this.name, sessionId: session.data.session_id, url };
  }

  async retrieveSession(sessionId: string): Promise<SessionStatus> {
    const parsed = Session.safeParse(
      await this.call('GET', `/api/v1/checkout/session/${encodeURIComponent(sessionId)}`),
    );
    if (!parsed.success)
      throw new RasidError('payment_provider_failed', 'Thawani returned a malformed session');
    const s = parsed.data;
    let paymentRef: string | null = null;
    if (s.payment_status === 'paid' && s.invoice) {
      const list = z
        .array(Payment)
        .safeParse(
          await this.call(
            'GET',
            `/api/v1/payments?checkout_invoice=${encodeURIComponent(s.invoice)}&limit=10&skip=0`,
          ),
        );
      paymentRef = list.success
        ? (list.data.find((p) => p.status === 'successful')?.payment_id ?? null)
        : null;
    }
    return {
      sessionId: s.session_id,
      paid: s.payment_status === 'paid',
      amountMinor: BigInt(s.total_amount),
      currency: s.currency.toUpperCase(),
      paymentRef,
      reference: s.client_reference_id ?? null,
    };
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    const parsed = Refund.safeParse(
      await this.call('POST', '/api/v1/refunds', {
        payment_id: request.paymentRef,
        reason: request.reason.slice(0, 200),
        metadata: { rasid_reference: request.reference },
      }),
    );
    if (!parsed.success) throw new RasidError('payment_provider_failed', 'Thawani returned no refund id');
    return {
      refundId: parsed.data.refund_id,
      amountMinor: parsed.data.amount === undefined ? request.amountMinor : BigInt(parsed.data.amount),
    };
  }

  verifyEvent(
    rawBody: string | Buffer,
    headers: Readonly<Record<string, string | string[] | undefined>>,
  ): PaymentEvent {
    const timestamp = header(headers, 'thawani-timestamp');
    const given = header(headers, 'thawani-signature');
    if (!/^\d{9,13}$/.test(timestamp) || !/^[0-9a-f]{64}$/i.test(given)) {
      throw new PaymentSignatureError('missing or malformed thawani-signature / thawani-timestamp');
    }
    const expected = Buffer.from(thawaniSignature(this.opts.webhookSecret, rawBody, timestamp), 'hex');
    if (!timingSafeEqual(expected, Buffer.from(given, 'hex'))) {
      throw new PaymentSignatureError('thawani-signature does not match the body');
    }
    // Seconds, or milliseconds from senders that use them.
    const seconds = timestamp.length > 10 ? Number(timestamp) / 1000 : Number(timestamp);
    const skew = Math.abs(this.now().getTime() / 1000 - seconds);
    if (skew > (this.opts.toleranceSeconds ?? 300)) {
      throw new PaymentSignatureError(`thawani-timestamp is ${Math.round(skew)} s away from now`);
    }
    let json: unknown;
    try {
      json = JSON.parse(Buffer.isBuffer(rawBody) ? rawBody.toString('utf8') : rawBody);
    } catch {
      throw new PaymentSignatureError('the signed body is not JSON');
    }
    const body = WebhookBody.safeParse(json);
    if (!body.success) throw new PaymentSignatureError('the signed body is not a Thawani event');
    const { event_type: type, data } = body.data;
    if (type === 'checkout.completed' && data.session_id && data.payment_status === 'paid') {
      return {
        kind: 'payment_succeeded',
        // One event per session and type: a replayed callback is the same event.
        eventId: `${type}:${data.session_id}`,
        sessionId: data.session_id,
        paymentRef: null,
        reference: data.client_reference_id ?? null,
        amountMinor: BigInt(data.total_amount ?? 0),
        currency: (data.currency ?? 'OMR').toUpperCase(),
      };
    }
    return { kind: 'ignored', eventId: `${type}:${data.session_id ?? timestamp}`, type };
  }
}
