/**
 * A local server answering as Thawani Pay's public e-commerce API does, for tests and demos where Thawani
 * cannot be reached (ThawaniProvider's `apiBase` points at it, so Rasid's code path is the production one).
 * It answers create and read a checkout session, list a session's payments by invoice, and create a refund,
 * in Thawani's `{ success, code, description, data }` envelope, refusing a wrong `thawani-api-key`. Its
 * payment page (`/pay/{session_id}?key=…`) has a Pay button; paying marks the session paid, sends Rasid a
 * signed `checkout.completed` webhook and redirects to the success address.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml, LocalServer, readBody, sendJson } from './local-server.ts';
import { thawaniSignature } from './thawani.ts';

export interface LocalThawaniOptions {
  readonly secretKey: string;
  readonly publishableKey: string;
  /** The secret webhooks are signed with. */
  readonly webhookSecret: string;
  readonly webhookUrl?: string;
  readonly host?: string;
  readonly port?: number;
}

export interface LocalThawaniSession {
  readonly session_id: string;
  readonly client_reference_id: string;
  readonly products: { name: string; quantity: number; unit_amount: number }[];
  readonly total_amount: number;
  readonly success_url: string;
  readonly cancel_url: string;
  readonly metadata: Record<string, unknown>;
  readonly invoice: string;
  payment_status: 'unpaid' | 'paid' | 'cancelled';
  payment_id: string | null;
  refunded: boolean;
}

export interface SignedThawaniEvent {
  readonly body: string;
  readonly headers: Record<string, string>;
}

function id(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

export class LocalThawani extends LocalServer {
  private readonly sessions = new Map<string, LocalThawaniSession>();
  private webhookUrl: string | undefined;
  /** Every webhook sent, with the HTTP status Rasid answered. */
  readonly delivered: { type: string; status: number }[] = [];
  /** Refund requests received, in order. */
  readonly refunds: { refund_id: string; payment_id: string; reason: string }[] = [];

  constructor(private readonly opts: LocalThawaniOptions) {
    super(opts.host, opts.port);
    this.webhookUrl = opts.webhookUrl;
  }

  setWebhookUrl(url: string): void {
    this.webhookUrl = url;
  }

  session(sessionId: string): LocalThawaniSession | undefined {
    return this.sessions.get(sessionId);
  }

  /** A webhook body with its headers, signed as Thawani signs (or with another secret, to forge one). */
  signEvent(
    eventType: string,
    data: Record<string, unknown>,
    secret = this.opts.webhookSecret,
    at = new Date(),
  ): SignedThawaniEvent {
    const body = JSON.stringify({ event_type: eventType, data });
    const timestamp = String(Math.floor(at.getTime() / 1000));
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'thawani-timestamp': timestamp,
        'thawani-signature': thawaniSignature(secret, body, timestamp),
      },
    };
  }

  /** The `checkout.completed` event of a session as it stands. */
  completedEvent(sessionId: string, secret?: string): SignedThawaniEvent {
    const s = this.sessions.get(sessionId);
    if (!s) throw new Error(`no session ${sessionId}`);
    return this.signEvent('checkout.completed', this.sessionObject(s), secret);
  }

  /** Marks a session paid (as the customer paying on the page would) without sending the webhook. */
  markPaid(sessionId: string): void {
    const s = this.sessions.get(sessionId);
    if (!s) throw new Error(`no session ${sessionId}`);
    s.payment_status = 'paid';
    s.payment_id ??= id('pay');
  }

  async deliver(event: SignedThawaniEvent): Promise<number> {
    if (!this.webhookUrl) throw new Error('no webhook URL set');
    const res = await fetch(this.webhookUrl, { method: 'POST', headers: event.headers, body: event.body });
    await res.arrayBuffer();
    this.delivered.push({
      type: (JSON.parse(event.body) as { event_type: string }).event_type,
      status: res.status,
    });
    return res.status;
  }

  /** Pays the session and delivers the signed webhook; returns Rasid's HTTP status. */
  async pay(sessionId: string): Promise<number> {
    this.markPaid(sessionId);
    return this.deliver(this.completedEvent(sessionId));
  }

  private sessionObject(s: LocalThawaniSession): Record<string, unknown> {
    return {
      session_id: s.session_id,
      client_reference_id: s.client_reference_id,
      products: s.products,
      total_amount: s.total_amount,
      currency: 'OMR',
      success_url: s.success_url,
      cancel_url: s.cancel_url,
      payment_status: s.payment_status,
      mode: 'payment',
      invoice: s.invoice,
      metadata: s.metadata,
    };
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    sendJson(res, status, body);
  }

  private ok(res: ServerResponse, description: string, data: unknown): void {
    this.json(res, 200, { success: true, code: 2004, description, data });
  }

  private fail(res: ServerResponse, status: number, code: number, description: string): void {
    this.json(res, status, { success: false, code, description });
  }

  protected failed(res: ServerResponse, err: unknown): void {
    this.json(res, 500, { success: false, code: 5000, description: String(err) });
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const pay = /^\/pay\/([\w-]+)$/.exec(url.pathname);
    if (pay?.[1]) return this.payPage(req, res, pay[1], url);
    if (req.headers['thawani-api-key'] !== this.opts.secretKey) {
      return this.fail(res, 401, 4001, 'Invalid API key');
    }
    if (req.method === 'POST' && url.pathname === '/api/v1/checkout/session') {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(await readBody(req)) as Record<string, unknown>;
      } catch {
        return this.fail(res, 400, 4000, 'Body is not JSON');
      }
      const products = Array.isArray(body.products)
        ? (body.products as { name: string; quantity: number; unit_amount: number }[])
        : [];
      const valid =
        products.length > 0 &&
        products.every(
          (p) =>
            typeof p.name === 'string' &&
            p.name.length > 0 &&
            p.name.length <= 40 &&
            Number.isInteger(p.quantity) &&
            p.quantity > 0 &&
            Number.isInteger(p.unit_amount) &&
            p.unit_amount >= 100,
        );
      if (
        !valid ||
        typeof body.client_reference_id !== 'string' ||
        typeof body.success_url !== 'string' ||
        typeof body.cancel_url !== 'string' ||
        body.mode !== 'payment'
      ) {
        return this.fail(res, 400, 4002, 'Validation error: products, client_reference_id, urls, mode');
      }
      const session: LocalThawaniSession = {
        session_id: id('checkout'),
        client_reference_id: body.client_reference_id,
        products,
        total_amount: products.reduce((sum, p) => sum + p.unit_amount * p.quantity, 0),
        success_url: body.success_url,
        cancel_url: body.cancel_url,
        metadata: (body.metadata as Record<string, unknown>) ?? {},
        invoice: String(10_000_000 + this.sessions.size + 1),
        payment_status: 'unpaid',
        payment_id: null,
        refunded: false,
      };
      this.sessions.set(session.session_id, session);
      return this.ok(res, 'Session generated successfully', this.sessionObject(session));
    }
    const get = /^\/api\/v1\/checkout\/session\/([\w-]+)$/.exec(url.pathname);
    if (req.method === 'GET' && get?.[1]) {
      const s = this.sessions.get(get[1]);
      return s
        ? this.ok(res, 'Session retrieved successfully', this.sessionObject(s))
        : this.fail(res, 404, 4040, 'Session not found');
    }
    if (req.method === 'GET' && url.pathname === '/api/v1/payments') {
      const invoice = url.searchParams.get('checkout_invoice');
      const found = [...this.sessions.values()].filter((s) => s.invoice === invoice && s.payment_id);
      return this.ok(
        res,
        'Payments retrieved successfully',
        found.map((s) => ({
          payment_id: s.payment_id,
          client_reference_id: s.client_reference_id,
          amount: s.total_amount,
          status: s.refunded ? 'refunded' : 'successful',
          checkout_invoice: s.invoice,
        })),
      );
    }
    if (req.method === 'POST' && url.pathname === '/api/v1/refunds') {
      const body = JSON.parse(await readBody(req)) as { payment_id?: string; reason?: string };
      const s = [...this.sessions.values()].find((x) => x.payment_id && x.payment_id === body.payment_id);
      if (!s || !body.reason) return this.fail(res, 400, 4002, 'Validation error: payment_id, reason');
      if (s.refunded) return this.fail(res, 409, 4009, 'Payment already refunded');
      s.refunded = true;
      const refund = { refund_id: id('refund'), payment_id: s.payment_id!, reason: body.reason };
      this.refunds.push(refund);
      return this.ok(res, 'Refund created successfully', {
        ...refund,
        amount: s.total_amount,
        status: 'successful',
      });
    }
    this.fail(res, 404, 4040, `No route ${req.method} ${url.pathname}`);
  }

  private async payPage(req: IncomingMessage, res: ServerResponse, sessionId: string, url: URL) {
    const s = this.sessions.get(sessionId);
    if (!s || url.searchParams.get('key') !== this.opts.publishableKey) {
      res.statusCode = 404;
      return void res.end('Unknown session or key');
    }
    if (req.method === 'POST') {
      if (s.payment_status === 'unpaid') await this.pay(s.session_id);
      res.statusCode = 303;
      res.setHeader('location', s.success_url);
      return void res.end();
    }
    const amount = (s.total_amount / 1000).toFixed(3);
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
        `<title>Thawani checkout (local test payments)</title></head><body style="font-family:sans-serif;max-width:28rem;margin:2rem auto">` +
        `<h1>Thawani test checkout</h1><p>${escapeHtml(s.products.map((p) => p.name).join(', '))}</p>` +
        `<p><strong>OMR ${amount}</strong></p>` +
        `<form method="post"><button type="submit" style="font-size:1.2rem;padding:.6rem 1.4rem">Pay</button></form>` +
        `<p><a href="${escapeHtml(s.cancel_url)}">Cancel</a></p><p><small>Local Thawani-compatible server: no real money moves.</small></p></body></html>`,
    );
  }
}
