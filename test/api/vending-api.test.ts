/**
 * Vending and online top-up through the real HTTP API of a started Rasid (embedded PGlite on disk, the real
 * Stripe SDK against the local Stripe-compatible server, webhook signatures made with the SDK's own helper).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeToken, deriveDecoderKey, meterPanFromParts, StsKey } from '../../protocols/sts/index.ts';
import { newSecret, secretDigest } from '../../src/api/auth.ts';
import { hashSecret } from '../../src/security/secrets.ts';
import type { RunningServer } from '../../src/server.ts';
import { accountBalance } from '../../src/store/ledger.ts';
import type { Seed } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { seedVending, VENDING_KEY_HEX } from '../support/vending-fixture.ts';

describe('vending over HTTP', () => {
  let server: RunningServer;
  let test: TestServer;
  let seed: Seed;
  let kioskKey: string;
  let operatorToken: string;
  let logs: string[] = [];
  const bodies: string[] = [];
  const decoderKey = deriveDecoderKey(StsKey.fromHex(VENDING_KEY_HEX), {
    pan: meterPanFromParts('600727', '01234567890'),
    keyType: 2,
    supplyGroupCode: '123456',
    tariffIndex: 1,
    keyRevision: 1,
  });

  async function call(
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string> } = {},
  ) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await res.text();
    bodies.push(text);
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      text,
      json: () => JSON.parse(text),
    };
  }

  beforeAll(async () => {
    test = await startTestServer('api');
    server = test.server;
    logs = test.logs;
    const db = server.core.store.db;
    seed = await seedVending(db, server.core.keys, 'jo');
    kioskKey = newSecret('rks_');
    await db
      .updateTable('kiosks')
      .set({ api_key_hash: secretDigest(kioskKey) })
      .where('id', '=', seed.kioskId)
      .execute();
    await db
      .insertInto('users')
      .values({
        utility_id: seed.utilityId,
        username: 'omar',
        password_hash: await hashSecret('correct horse'),
        role: 'operator',
      })
      .execute();
    const login = await call('POST', '/api/v1/sessions', {
      body: { utility: 'jo', username: 'omar', password: 'correct horse' },
    });
    expect(login.status).toBe(201);
    operatorToken = login.json().token;
  }, 120_000);

  afterAll(async () => {
    await test?.close();
  });

  it('finds a meter for a top-up with the holder’s name masked, and quotes every line', async () => {
    const found = await call('GET', '/api/v1/utilities/jo/meters/600727012345678903');
    expect(found.status).toBe(200);
    expect(found.json()).toMatchObject({ meter: 'jo-M-0001', customerName: 'H*** H*****', currency: 'JOD' });
    const quote = await call('POST', '/api/v1/utilities/jo/quotes', {
      body: { meter: 'jo-M-0001', amountMinor: 10_000 },
    });
    expect(quote.status).toBe(200);
    expect(quote.json().lines.map((l: { code: string }) => l.code)).toEqual([
      'amount_paid',
      'tax',
      'debt_recovery',
      'fixed_charge',
      'block',
      'block',
      'rounding_to_account_credit',
    ]);
    expect(quote.json().units).toBe('175.5');
  });

  it('sells at a kiosk with an API key: one token per Idempotency-Key', async () => {
    const headers = { 'x-api-key': kioskKey, 'idempotency-key': 'till-0000001' };
    const first = await call('POST', '/api/v1/vends', {
      headers,
      body: { meter: 'jo-M-0001', amountMinor: '2000' },
    });
    expect(first.status).toBe(201);
    const again = await call('POST', '/api/v1/vends', {
      headers,
      body: { meter: 'jo-M-0001', amountMinor: '2000' },
    });
    expect(again.status).toBe(200);
    expect(again.json().token).toBe(first.json().token);
    expect(again.json().replayed).toBe(true);
    const decoded = decodeToken(first.json().token, { key: decoderKey, baseDate: 2014 });
    expect(decoded.ok).toBe(true);
    const other = await call('POST', '/api/v1/vends', {
      headers,
      body: { meter: 'jo-M-0001', amountMinor: '3000' },
    });
    expect(other.status).toBe(409);
    expect(other.json().code).toBe('idempotency_key_reused');
    const noKey = await call('POST', '/api/v1/vends', {
      headers: { 'x-api-key': kioskKey },
      body: { meter: 'jo-M-0001', amountMinor: '2000' },
    });
    expect(noKey.json().code).toBe('idempotency_key_required');
  });

  it('prints the receipt for 80 mm in Arabic, right to left, and refuses other roles', async () => {
    const sale = await call('POST', '/api/v1/vends', {
      headers: { 'x-api-key': kioskKey, 'idempotency-key': 'till-0000002' },
      body: { meter: 'jo-M-0001', amountMinor: 5000 },
    });
    const html = await call('GET', `/api/v1/vends/${sale.json().vendId}/receipt?format=80mm&lang=ar`, {
      headers: { 'x-api-key': kioskKey },
    });
    expect(html.type).toContain('text/html');
    expect(html.text).toContain('dir="rtl"');
    expect(html.text).toContain(sale.json().tokenGrouped);
    expect(html.text).toContain('الضريبة');
    const reversal = await call('POST', `/api/v1/vends/${sale.json().vendId}/reversal`, {
      headers: { 'x-api-key': kioskKey },
      body: { reason: 'wrong meter' },
    });
    expect(reversal.status).toBe(403);
    const byOperator = await call('POST', `/api/v1/vends/${sale.json().vendId}/reversal`, {
      headers: { authorization: `Bearer ${operatorToken}` },
      body: { reason: 'wrong meter' },
    });
    expect(byOperator.status).toBe(200);
  });

  it('issues the token only on the verified Stripe webhook, once, however often it is delivered', async () => {
    const stripe = server.core.localStripe!;
    const start = await call('POST', '/api/v1/utilities/jo/checkout', {
      body: { meter: 'jo-M-0001', amountMinor: 4000 },
    });
    expect(start.status).toBe(201);
    const { sessionId } = start.json();
    // Checkout returns the customer to this server's own address, even though it was started on PORT=0.
    expect(stripe.session(sessionId)?.success_url).toBe(`${server.url}/topup?session={CHECKOUT_SESSION_ID}`);
    expect((await call('GET', `/api/v1/checkout/${sessionId}`)).json()).toMatchObject({
      status: 'pending',
      token: null,
    });
    const tokensBefore = await server.core.store.db.selectFrom('tokens').select('id').execute();

    // A forged event (signed with another secret) changes nothing.
    const forged = await call('POST', '/api/v1/payments/stripe/webhook', {
      headers: { 'stripe-signature': 't=1,v1=00' },
      body: { id: 'evt_forged', type: 'checkout.session.completed', data: { object: { id: sessionId } } },
    });
    expect(forged.status).toBe(400);
    expect(forged.json().code).toBe('payment_signature_invalid');
    expect(await server.core.store.db.selectFrom('tokens').select('id').execute()).toHaveLength(
      tokensBefore.length,
    );

    const signed = stripe.completeSession(sessionId);
    expect(await stripe.deliver(signed)).toBe(200);
    expect(await stripe.deliver(signed)).toBe(200);
    const result = (await call('GET', `/api/v1/checkout/${sessionId}`)).json();
    expect(result.status).toBe('succeeded');
    expect(result.token).toMatch(/^\d{20}$/);
    const tokensAfter = await server.core.store.db.selectFrom('tokens').select('id').execute();
    expect(tokensAfter).toHaveLength(tokensBefore.length + 1);
    expect(await stripe.refund(sessionId, 1000)).toBe(200);
    const payment = await server.core.store.db
      .selectFrom('payments')
      .select(['status', 'refunded_minor'])
      .where('provider_ref', '=', sessionId)
      .executeTakeFirstOrThrow();
    expect(payment).toEqual({ status: 'partially_refunded', refunded_minor: 1000n });
    expect(await accountBalance(server.core.store.db, seed.accountId)).toBeGreaterThanOrEqual(0n);
  });

  it('reconciles the vendor per kiosk per day, as JSON and CSV, and only for its own vendor', async () => {
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const q = `from=${day(-1)}&to=${day(1)}`;
    const json = await call('GET', `/api/v1/vendors/${seed.vendorId}/reconciliation?${q}`, {
      headers: { 'x-api-key': kioskKey },
    });
    expect(json.status).toBe(200);
    const days = json.json().days as {
      kiosk: string | null;
      sales: number;
      salesMinor: string;
      commissionMinor: string;
    }[];
    const till = days.filter((d) => d.kiosk === 'Till 1');
    // Two sales (2.000 and 5.000 JOD) and one reversal of the 5.000 sale, 1.5% commission on each sale.
    expect(till.reduce((s, d) => s + d.sales, 0)).toBe(2);
    expect(till.reduce((s, d) => s + BigInt(d.salesMinor), 0n)).toBe(7_000n);
    expect(till.reduce((s, d) => s + BigInt(d.commissionMinor), 0n)).toBe(105n);
    const csv = await call('GET', `/api/v1/vendors/${seed.vendorId}/reconciliation?${q}&format=csv`, {
      headers: { authorization: `Bearer ${operatorToken}` },
    });
    expect(csv.type).toContain('text/csv');
    expect(csv.text.split('\n')[0]).toBe(
      'day,kiosk,sales_count,sales_amount,commission,float_topups,reversals,net_float',
    );
    expect(csv.text).toMatch(/,Till 1,2,7\.000,0\.105,/);
    const other = await call(
      'GET',
      `/api/v1/vendors/00000000-0000-4000-8000-000000000000/reconciliation?${q}`,
      {
        headers: { 'x-api-key': kioskKey },
      },
    );
    expect(other.status).toBe(404);
  });

  it('never shows a vending key in an API answer or a log line', () => {
    const key = VENDING_KEY_HEX;
    expect(bodies.length).toBeGreaterThan(5);
    expect(logs.length).toBeGreaterThan(5);
    for (const text of [...bodies, ...logs]) {
      expect(text.toLowerCase()).not.toContain(key);
      expect(text).not.toContain(Buffer.from(key, 'hex').toString('base64'));
      expect(text).not.toContain(kioskKey);
    }
    // The session token appears once, in the sign-in answer, and never in a log line.
    expect(bodies.filter((b) => b.includes(operatorToken))).toHaveLength(1);
    for (const line of logs) expect(line).not.toContain(operatorToken);
  });
});
