/**
 * A local Stripe-compatible server for tests and `rasid demo`, where Stripe's API cannot be reached. The real
 * Stripe SDK talks to it (StripeProvider's `apiBase`), so Rasid's code path is the production one. It answers
 * the few endpoints Rasid uses (create and retrieve a Checkout Session), shows a one-button checkout page, and
 * on payment sends Rasid a webhook event signed with the SDK's own `webhooks.generateTestHeaderString`.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Stripe from 'stripe';
import { escapeHtml, LocalServer, readBody, sendJson } from './local-server.ts';

export interface LocalStripeOptions {
  /** Where signed events are delivered (Rasid's webhook route). May be set later with `setWebhookUrl`. */
  readonly webhookUrl?: string;
  /** The signing secret Rasid verifies with. */
  readonly webhookSecret: string;
  readonly host?: string;
  readonly port?: number;
}

export interface LocalSession {
  readonly id: string;
  readonly amount_total: number;
  readonly currency: string;
  readonly client_reference_id: string | null;
  readonly metadata: Record<string, string>;
  readonly success_url: string;
  readonly cancel_url: string;
  payment_status: 'unpaid' | 'paid';
  status: 'open' | 'complete';
  payment_intent: string | null;
  readonly description: string;
}

const webhooks = Stripe.webhooks;

function id(prefix: string): string {
  return `${prefix}_local_${randomBytes(12).toString('hex')}`;
}

export class LocalStripe extends LocalServer {
  private readonly sessions = new Map<string, LocalSession>();
  private readonly idempotency = new Map<string, string>();
  private webhookUrl: string | undefined;
  /** Every event sent, in order, with the HTTP status Rasid answered. */
  readonly delivered: { eventId: string; type: string; status: number }[] = [];

  constructor(private readonly opts: LocalStripeOptions) {
    super(opts.host, opts.port);
    this.webhookUrl = opts.webhookUrl;
  }

  setWebhookUrl(url: string): void {
    this.webhookUrl = url;
  }

  session(sessionId: string): LocalSession | undefined {
    return this.sessions.get(sessionId);
  }

  /** Builds a signed event exactly as Stripe would deliver it: the raw body and its Stripe-Signature header. */
  signEvent(
    type: string,
    object: unknown,
    eventId = id('evt'),
  ): { body: string; signature: string; eventId: string } {
    const body = JSON.stringify({
      id: eventId,
      object: 'event',
      api_version: Stripe.API_VERSION,
      created: Math.floor(Date.now() / 1000),
      type,
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      data: { object },
    });
    const signature = webhooks.generateTestHeaderString({ payload: body, secret: this.opts.webhookSecret });
    return { body, signature, eventId };
  }

  /** Delivers a signed body to Rasid's webhook; returns Rasid's HTTP status. */
  async deliver(
    signed: { body: string; signature: string; eventId: string },
    type = 'event',
  ): Promise<number> {
    if (!this.webhookUrl) throw new Error('no webhook URL set');
    const res = await fetch(this.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': signed.signature },
      body: signed.body,
    });
    await res.arrayBuffer();
    this.delivered.push({ eventId: signed.eventId, type, status: res.status });
    return res.status;
  }

  /** Marks the session paid and returns the signed `checkout.session.completed` event (not yet delivered). */
  completeSession(sessionId: string): { body: string; signature: string; eventId: string } {
    const s = this.sessions.get(sessionId);
    if (!s) throw new Error(`no session ${sessionId}`);
    s.payment_status = 'paid';
    s.status = 'complete';
    s.payment_intent ??= id('pi');
    return this.signEvent('checkout.session.completed', this.sessionObject(s));
  }

  /** Pays the session and delivers the event; returns Rasid's HTTP status. */
  async pay(sessionId: string): Promise<number> {
    return this.deliver(this.completeSession(sessionId), 'checkout.session.completed');
  }

  async refund(sessionId: string, amount?: number): Promise<number> {
    const s = this.sessions.get(sessionId);
    if (!s?.payment_intent) throw new Error(`session ${sessionId} is not paid`);
    const charge = {
      id: id('ch'),
      object: 'charge',
      amount: s.amount_total,
      amount_refunded: amount ?? s.amount_total,
      currency: s.currency,
      payment_intent: s.payment_intent,
      refunded: (amount ?? s.amount_total) === s.amount_total,
    };
    return this.deliver(this.signEvent('charge.refunded', charge), 'charge.refunded');
  }

  async dispute(sessionId: string, reason = 'fraudulent'): Promise<number> {
    const s = this.sessions.get(sessionId);
    if (!s?.payment_intent) throw new Error(`session ${sessionId} is not paid`);
    const dispute = {
      id: id('dp'),
      object: 'dispute',
      amount: s.amount_total,
      currency: s.currency,
      payment_intent: s.payment_intent,
      reason,
      status: 'needs_response',
    };
    return this.deliver(this.signEvent('charge.dispute.created', dispute), 'charge.dispute.created');
  }

  private sessionObject(s: LocalSession): Record<string, unknown> {
    return {
      id: s.id,
      object: 'checkout.session',
      mode: 'payment',
      amount_total: s.amount_total,
      currency: s.currency,
      client_reference_id: s.client_reference_id,
      metadata: s.metadata,
      success_url: s.success_url,
      cancel_url: s.cancel_url,
      payment_status: s.payment_status,
      status: s.status,
      payment_intent: s.payment_intent,
      url: s.status === 'open' ? `${this.url}/pay/${s.id}` : null,
    };
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    sendJson(res, status, body);
  }

  protected failed(res: ServerResponse, err: unknown): void {
    res.statusCode = 500;
    res.end(JSON.stringify({ error: { message: String(err) } }));
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    if (req.method === 'POST' && url.pathname === '/v1/checkout/sessions') {
      const key = String(req.headers['idempotency-key'] ?? '');
      const existing = key ? this.idempotency.get(key) : undefined;
      if (existing) return this.json(res, 200, this.sessionObject(this.sessions.get(existing)!));
      const form = new URLSearchParams(await readBody(req));
      const metadata: Record<string, string> = {};
      for (const [k, v] of form) {
        const m = /^metadata\[(.+)\]$/.exec(k);
        if (m?.[1]) metadata[m[1]] = v;
      }
      const amount = Number(form.get('line_items[0][price_data][unit_amount]'));
      const currency = form.get('line_items[0][price_data][currency]');
      const successUrl = form.get('success_url');
      if (!Number.isInteger(amount) || amount <= 0 || !currency || !successUrl) {
        return this.json(res, 400, {
          error: { type: 'invalid_request_error', message: 'missing amount, currency or success_url' },
        });
      }
      const session: LocalSession = {
        id: id('cs'),
        amount_total: amount,
        currency,
        client_reference_id: form.get('client_reference_id'),
        metadata,
        success_url: successUrl,
        cancel_url: form.get('cancel_url') ?? successUrl,
        payment_status: 'unpaid',
        status: 'open',
        payment_intent: null,
        description: form.get('line_items[0][price_data][product_data][name]') ?? '',
      };
      this.sessions.set(session.id, session);
      if (key) this.idempotency.set(key, session.id);
      return this.json(res, 200, this.sessionObject(session));
    }
    const get = /^\/v1\/checkout\/sessions\/([\w]+)$/.exec(url.pathname);
    if (req.method === 'GET' && get?.[1]) {
      const s = this.sessions.get(get[1]);
      return s
        ? this.json(res, 200, this.sessionObject(s))
        : this.json(res, 404, {
            error: { type: 'invalid_request_error', message: 'No such checkout session' },
          });
    }
    const pay = /^\/pay\/([\w]+)$/.exec(url.pathname);
    if (pay?.[1]) {
      const s = this.sessions.get(pay[1]);
      if (!s) return this.json(res, 404, { error: { message: 'No such checkout session' } });
      if (req.method === 'POST') {
        if (s.status === 'open') await this.pay(s.id);
        res.statusCode = 303;
        res.setHeader('location', s.success_url.replace('{CHECKOUT_SESSION_ID}', s.id));
        return void res.end();
      }
      res.setHeader('content-type', 'text/html; charset=utf-8');
      return void res.end(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
          `<title>Checkout (local test payments)</title></head><body style="font-family:sans-serif;max-width:28rem;margin:2rem auto">` +
          `<h1>Test checkout</h1><p>${escapeHtml(s.description)}</p>` +
          `<p><strong>${escapeHtml(s.metadata.amount_display ?? `${s.amount_total} (minor units)`)} ${escapeHtml(s.currency.toUpperCase())}</strong></p>` +
          `<form method="post"><button type="submit" style="font-size:1.2rem;padding:.6rem 1.4rem">Pay</button></form>` +
          `<p><a href="${escapeHtml(s.cancel_url)}">Cancel</a></p><p><small>Local Stripe-compatible server: no real money moves.</small></p></body></html>`,
      );
    }
    this.json(res, 404, {
      error: {
        type: 'invalid_request_error',
        message: `Unrecognized request URL (${req.method}: ${url.pathname})`,
      },
    });
  }
}
