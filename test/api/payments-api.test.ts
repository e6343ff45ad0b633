/**
 * Payment providers, receipts and statements through the HTTP API of a started Rasid configured with Thawani
 * keys (the API base a local server answering as Thawani's public API does), from an empty utility: the
 * admin chooses Thawani for the utility, a top-up is paid, the callback arrives on
 * /api/v1/payments/thawani/webhook, the operator refunds it, and the receipt is found again by the number
 * printed on it, as PDF and HTML in the utility's time zone; the month's statement adds up.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalThawani } from '../../src/payments/thawani-local.ts';
import { hashSecret } from '../../src/security/secrets.ts';
import type { RunningServer } from '../../src/server.ts';
import type { Seed } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { seedVending } from '../support/vending-fixture.ts';

const KEYS = { secretKey: 'sk_thawani_api', publishableKey: 'pk_thawani_api' };
const WEBHOOK_SECRET = 'thawani-api-webhook-secret';

describe('payments, receipts and statements over HTTP', () => {
  let server: RunningServer;
  let test: TestServer;
  let seed: Seed;
  let thawani: LocalThawani;
  let smtp: SMTPServer;
  /** Every message the SMTP server accepted, raw. */
  const mails: { to: string[]; raw: string }[] = [];
  const tokens: Record<string, string> = {};

  async function call(
    method: string,
    path: string,
    init: { body?: unknown; as?: string; headers?: Record<string, string> } = {},
  ) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(init.as ? { authorization: `Bearer ${tokens[init.as]}` } : {}),
        ...init.headers,
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      bytes,
      text: bytes.toString('utf8'),
      json: () => JSON.parse(bytes.toString('utf8')),
    };
  }

  beforeAll(async () => {
    thawani = new LocalThawani({ ...KEYS, webhookSecret: WEBHOOK_SECRET });
    const apiBase = await thawani.start();
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, done) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push({
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          done();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const smtpPort = (smtp.server.address() as AddressInfo).port;
    test = await startTestServer('payments', {
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      SMTP_FROM: 'Muscat Electricity <receipts@utility.test>',
      OUTBOX_INTERVAL_SECONDS: '1',
      THAWANI_SECRET_KEY: KEYS.secretKey,
      THAWANI_PUBLISHABLE_KEY: KEYS.publishableKey,
      THAWANI_WEBHOOK_SECRET: WEBHOOK_SECRET,
      THAWANI_API_BASE: apiBase,
    });
    server = test.server;
    thawani.setWebhookUrl(`${server.url}/api/v1/payments/thawani/webhook`);
    const db = server.core.store.db;
    seed = await seedVending(db, server.core.keys, 'om');
    await db
      .updateTable('utilities')
      .set({ currency: 'OMR', timezone: 'Asia/Muscat' })
      .where('id', '=', seed.utilityId)
      .execute();
    for (const [username, role] of [
      ['amal', 'admin'],
      ['omar', 'operator'],
    ] as const) {
      await db
        .insertInto('users')
        .values({
          utility_id: seed.utilityId,
          username,
          password_hash: await hashSecret('correct horse'),
          role,
        })
        .execute();
      const login = await call('POST', '/api/v1/sessions', {
        body: { utility: 'om', username, password: 'correct horse' },
      });
      expect(login.status).toBe(201);
      tokens[username] = login.json().token;
    }
  }, 120_000);

  afterAll(async () => {
    await test?.close();
    await thawani?.stop();
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  });

  let paymentId = '';
  let vendId = '';

  it('lets the admin choose Thawani for the utility, and only a configured provider', async () => {
    const before = await call('GET', '/api/v1/utility/payment-provider', { as: 'omar' });
    expect(before.json()).toEqual({ provider: 'stripe', chosen: false, available: ['stripe', 'thawani'] });
    const unknown = await call('PUT', '/api/v1/utility/payment-provider', {
      as: 'amal',
      body: { provider: 'paypal' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json().code).toBe('payment_provider_unknown');
    const byOperator = await call('PUT', '/api/v1/utility/payment-provider', {
      as: 'omar',
      body: { provider: 'thawani' },
    });
    expect(byOperator.status).toBe(403);
    const chosen = await call('PUT', '/api/v1/utility/payment-provider', {
      as: 'amal',
      body: { provider: 'thawani' },
    });
    expect(chosen.json()).toEqual({ provider: 'thawani' });
    const after = await call('GET', '/api/v1/utility/payment-provider', { as: 'omar' });
    expect(after.json()).toMatchObject({ provider: 'thawani', chosen: true });
  });

  it('pays a top-up through Thawani and issues the token once, on the verified callback', async () => {
    const started = await call('POST', '/api/v1/utilities/om/checkout', {
      body: { meter: 'om-M-0001', amountMinor: 5000 },
    });
    expect(started.status).toBe(201);
    const { sessionId, url } = started.json();
    paymentId = started.json().paymentId;
    expect(url).toBe(`${thawani.url}/pay/${sessionId}?key=${KEYS.publishableKey}`);
    expect(thawani.session(sessionId)?.success_url).toBe(`${server.url}/topup?session=${paymentId}`);
    expect((await call('GET', `/api/v1/checkout/${paymentId}`)).json()).toMatchObject({
      status: 'pending',
      token: null,
    });
    // The payment page posts; Thawani calls back; the replay is answered as a duplicate.
    const page = await fetch(`${thawani.url}/pay/${sessionId}?key=${KEYS.publishableKey}`, {
      method: 'POST',
      redirect: 'manual',
    });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe(`${server.url}/topup?session=${paymentId}`);
    expect(thawani.delivered).toEqual([{ type: 'checkout.completed', status: 200 }]);
    expect(await thawani.deliver(thawani.completedEvent(sessionId))).toBe(200);
    const result = (await call('GET', `/api/v1/checkout/${paymentId}`)).json();
    expect(result).toMatchObject({ status: 'succeeded' });
    expect(result.token).toMatch(/^\d{20}$/);
    vendId = result.vendId;
    const issued = await server.core.store.db
      .selectFrom('tokens')
      .select('id')
      .where('vend_id', '=', vendId as never)
      .execute();
    expect(issued).toHaveLength(1);
  });

  it('answers a callback for a provider that is not configured as problem+json 404, and keeps the Stripe path', async () => {
    const res = await call('POST', '/api/v1/payments/paypal/webhook', { body: { any: 1 } });
    expect(res.status).toBe(404);
    expect(res.type).toContain('application/problem+json');
    expect(res.json().code).toBe('payment_provider_unknown');
    const stripe = await call('POST', '/api/v1/payments/stripe/webhook', {
      headers: { 'stripe-signature': 't=1,v1=00' },
      body: { id: 'evt_x' },
    });
    expect(stripe.json().code).toBe('payment_signature_invalid');
  });

  it('finds the sale by the receipt number printed on it, as PDF and as HTML in Muscat time', async () => {
    const number = vendId.slice(0, 8).toUpperCase();
    const pdf = await call('GET', `/api/v1/vends/${number}/receipt?format=pdf&lang=ar`, { as: 'omar' });
    expect(pdf.status).toBe(200);
    expect(pdf.type).toBe('application/pdf');
    expect(pdf.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const a4 = await call('GET', `/api/v1/vends/${number.toLowerCase()}/receipt?format=pdf&size=a4`, {
      as: 'omar',
    });
    expect(a4.type).toBe('application/pdf');
    const html = await call('GET', `/api/v1/vends/${number}/receipt?format=80mm&lang=en`, { as: 'omar' });
    const issued = await server.core.store.db
      .selectFrom('vends')
      .select('created_at')
      .where('id', '=', vendId as never)
      .executeTakeFirstOrThrow();
    const muscat = new Date(issued.created_at.getTime() + 4 * 3_600_000).toISOString();
    expect(html.text).toContain(`${muscat.slice(0, 10)} ${muscat.slice(11, 16)} GMT+4`);
    expect(html.text).toContain(number);
    const none = await call('GET', '/api/v1/vends/00000000/receipt?format=pdf', { as: 'omar' });
    expect(none.status).toBe(404);
    const bad = await call('GET', '/api/v1/vends/not-a-receipt/receipt?format=pdf', { as: 'omar' });
    expect(bad.status).toBe(400);
    expect(bad.json().code).toBe('validation_failed');
    // The buyer's receipt link (the payment's key) gives the same receipt as PDF without signing in.
    const link = await call('GET', `/api/v1/checkout/${paymentId}/receipt?lang=ar`);
    expect(link.type).toBe('application/pdf');
  });

  it('e-mails the receipt with its PDF attached through SMTP, and sends the token and receipt link by SMS', async () => {
    const queued = await call('POST', `/api/v1/checkout/${paymentId}/email`, {
      body: { email: 'huda@customer.test', language: 'ar' },
    });
    expect(queued.status).toBe(202);
    await expect.poll(() => mails.length, { timeout: 30_000 }).toBe(1);
    const mail = mails[0]!;
    expect(mail.to).toEqual(['huda@customer.test']);
    const number = vendId.slice(0, 8).toUpperCase();
    expect(mail.raw).toMatch(/^Content-Language: ar$/m);
    expect(mail.raw).toMatch(new RegExp(`Content-Type: application/pdf; name=receipt-${number}\\.pdf`));
    const attached =
      /Content-Transfer-Encoding: base64\r?\nContent-Disposition: attachment; filename=receipt-[0-9A-F]{8}\.pdf\r?\n\r?\n([A-Za-z0-9+/=\r\n]+)/.exec(
        mail.raw,
      );
    expect(
      Buffer.from(attached?.[1] ?? '', 'base64')
        .subarray(0, 5)
        .toString('latin1'),
    ).toBe('%PDF-');
    // The worker marks the row sent once the SMTP server has answered.
    const outbox = () =>
      server.core.store.db
        .selectFrom('notifications_outbox')
        .select(['state', 'template'])
        .where('channel', '=', 'email')
        .execute();
    await expect.poll(outbox, { timeout: 30_000 }).toEqual([{ state: 'sent', template: 'vend_receipt' }]);
    const sms = await call('POST', `/api/v1/checkout/${paymentId}/sms`, {
      body: { phone: '+968 9100 0001', language: 'en' },
    });
    expect(sms.status).toBe(202);
    const row = await server.core.store.db
      .selectFrom('notifications_outbox')
      .select('payload')
      .where('template', '=', 'token_delivery')
      .executeTakeFirstOrThrow();
    const link = (row.payload as { receiptUrl: string }).receiptUrl;
    expect(link).toBe(`${server.url}/api/v1/checkout/${paymentId}/receipt?lang=en`);
    const pdf = await fetch(link);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
  });

  it("refunds through Thawani from the operator's refund, once", async () => {
    const refund = await call('POST', `/api/v1/payments/${paymentId}/refund`, {
      as: 'omar',
      body: { reason: 'meter replaced before the token was used' },
    });
    expect(refund.status).toBe(200);
    expect(refund.json()).toMatchObject({ amountMinor: '5000', status: 'refunded' });
    expect(thawani.refunds).toHaveLength(1);
    const again = await call('POST', `/api/v1/payments/${paymentId}/refund`, {
      as: 'omar',
      body: { reason: 'again' },
    });
    expect(again.status).toBe(409);
    expect(thawani.refunds).toHaveLength(1);
  });

  it("gives the month's statement: opening balance, every movement, closing balance", async () => {
    const db = server.core.store.db;
    const ledger = await db
      .selectFrom('account_ledger')
      .select(['kind', 'amount_minor', 'created_at'])
      .where('account_id', '=', seed.accountId)
      .orderBy('id')
      .execute();
    expect(ledger.length).toBeGreaterThan(0);
    const at = ledger[0]!.created_at;
    const month = new Date(at.getTime() + 4 * 3_600_000).toISOString().slice(0, 7);
    const st = await call('GET', `/api/v1/accounts/${seed.accountId}/statement?month=${month}`, {
      as: 'omar',
    });
    expect(st.status).toBe(200);
    const body = st.json();
    const sum = ledger.reduce((s, l) => s + BigInt(l.amount_minor), 0n);
    expect(BigInt(body.closingMinor) - BigInt(body.openingMinor)).toBe(
      body.entries.reduce((s: bigint, e: { amountMinor: string }) => s + BigInt(e.amountMinor), 0n),
    );
    expect(BigInt(body.closingMinor)).toBe(sum);
    expect(body.entries.map((e: { kind: string }) => e.kind)).toEqual(ledger.map((l) => l.kind));
    expect(body.timezone).toBe('Asia/Muscat');
    const pdf = await call(
      'GET',
      `/api/v1/accounts/${seed.accountId}/statement?month=${month}&format=pdf&lang=ar`,
      { as: 'omar' },
    );
    expect(pdf.type).toBe('application/pdf');
    const badMonth = await call('GET', `/api/v1/accounts/${seed.accountId}/statement?month=2026-13`, {
      as: 'omar',
    });
    expect(badMonth.status).toBe(400);
  });
});
