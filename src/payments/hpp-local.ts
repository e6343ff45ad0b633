/**
 * A local bank payment page speaking the generic hosted-payment-page protocol (hpp.ts), for tests and demos:
 * it refuses a request whose signature does not verify, shows a Pay button, and on payment sends Rasid the
 * signed server-to-server callback, then sends the customer back with the signed return fields.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fieldsSigned, signFields } from './hpp.ts';
import { escapeHtml, LocalServer } from './local-server.ts';

export interface LocalHppOptions {
  readonly merchantId: string;
  readonly secret: string;
  readonly host?: string;
}

export interface LocalHppOrder {
  readonly fields: Record<string, string>;
  transactionId: string | null;
  status: 'open' | 'paid';
}

export class LocalHpp extends LocalServer {
  readonly orders = new Map<string, LocalHppOrder>();
  /** Callbacks sent, with Rasid's HTTP status. */
  readonly delivered: { orderId: string; status: number }[] = [];
  /** Requests refused for a bad signature. */
  refused = 0;

  constructor(private readonly opts: LocalHppOptions) {
    super(opts.host);
  }

  /** The signed callback fields of an order, as the bank sends them (or signed with another secret). */
  callback(
    orderId: string,
    status: 'paid' | 'failed' = 'paid',
    secret = this.opts.secret,
  ): Record<string, string> {
    const o = this.orders.get(orderId);
    if (!o) throw new Error(`no order ${orderId}`);
    o.transactionId ??= `txn_${randomBytes(8).toString('hex')}`;
    const fields: Record<string, string> = {
      merchant_id: this.opts.merchantId,
      order_id: orderId,
      transaction_id: o.transactionId,
      status,
      amount: o.fields.amount ?? '0',
      currency: o.fields.currency ?? '',
      timestamp: String(Math.floor(Date.now() / 1000)),
    };
    return { ...fields, signature: signFields(secret, fields) };
  }

  /** Posts callback fields to the order's callback address, form-encoded; returns Rasid's status. */
  async deliver(fields: Record<string, string>): Promise<number> {
    const o = this.orders.get(fields.order_id ?? '');
    if (!o?.fields.callback_url) throw new Error('no callback address');
    const res = await fetch(o.fields.callback_url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    await res.arrayBuffer();
    this.delivered.push({ orderId: fields.order_id ?? '', status: res.status });
    return res.status;
  }

  protected failed(res: ServerResponse, err: unknown): void {
    res.statusCode = 500;
    res.end(String(err));
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    if (url.pathname !== '/pay') {
      res.statusCode = 404;
      return void res.end('not found');
    }
    const fields = Object.fromEntries(url.searchParams);
    if (!fieldsSigned(this.opts.secret, fields) || fields.merchant_id !== this.opts.merchantId) {
      this.refused += 1;
      res.statusCode = 403;
      return void res.end('signature refused');
    }
    const orderId = fields.order_id ?? '';
    let order = this.orders.get(orderId);
    if (!order) {
      order = { fields, transactionId: null, status: 'open' };
      this.orders.set(orderId, order);
    }
    if (req.method === 'POST') {
      if (order.status === 'open') {
        order.status = 'paid';
        await this.deliver(this.callback(orderId));
      }
      const back = new URL(fields.return_url ?? '/');
      const signed = this.callback(orderId);
      for (const [k, v] of Object.entries(signed)) if (k !== 'order_id') back.searchParams.set(`hpp_${k}`, v);
      res.statusCode = 303;
      res.setHeader('location', back.toString());
      return void res.end();
    }
    const amount = fields.amount ?? '0';
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bank payment page (local test)</title></head>` +
        `<body style="font-family:sans-serif;max-width:28rem;margin:2rem auto"><h1>Bank card payment</h1>` +
        `<p>${escapeHtml(fields.description ?? '')}</p><p><strong>${escapeHtml(fields.currency ?? '')} ${escapeHtml(amount)} (minor units)</strong></p>` +
        `<form method="post"><button type="submit">Pay</button></form><p><a href="${escapeHtml(fields.cancel_url ?? '/')}">Cancel</a></p></body></html>`,
    );
  }
}
