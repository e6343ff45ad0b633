/**
 * Customers sign in with a one-time code, over real HTTP against a started Rasid (embedded PGlite): the code
 * goes out through the notifications outbox (template sign_in_code, the customer's language) and only its
 * hash is stored; a right code gives a customer session the /me routes accept; a wrong, expired, used,
 * superseded or over-tried code, and an unknown contact, all answer alike. Then the token of a paid online
 * top-up sent by SMS to a number the customer types, a few times at most.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server.ts';
import { request } from '../support/api.ts';
import type { Seed } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { seedVending } from '../support/vending-fixture.ts';

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON read field by field and checked by expect.
type Json = any;

const PHONE = '+962790000001'; // Huda Haddad of the vending fixture, who reads Arabic
const EMAIL = 'Sami.Nasser@Example.com';

describe('customer sign-in by one-time code', () => {
  let server: RunningServer;
  let test: TestServer;
  let seed: Seed;

  /** The answer's status and JSON body only, so whole answers can be compared. */
  async function call(method: string, path: string, body?: unknown, token?: string) {
    const { status, json } = await request(server.url, method, path, { body, token });
    return { status, json };
  }

  const db = () => server.core.store.db;

  /** The outbox rows of sign-in codes sent to a recipient, oldest first. */
  async function codesSentTo(recipient: string) {
    return db()
      .selectFrom('notifications_outbox')
      .select(['channel', 'recipient', 'language', 'template', 'payload'])
      .where('template', '=', 'sign_in_code')
      .where('recipient', '=', recipient)
      .orderBy('id')
      .execute();
  }

  /** Asks for a code and reads it back from the outbox row (the test owns the database). */
  async function requestCode(contact: string, recipient = contact): Promise<string> {
    const before = (await codesSentTo(recipient)).length;
    const asked = await call('POST', '/api/v1/sessions/codes', { utility: 'jo', contact });
    expect(asked.status).toBe(202);
    const rows = await codesSentTo(recipient);
    expect(rows).toHaveLength(before + 1);
    return (rows.at(-1)!.payload as { code: string }).code;
  }

  const verify = (contact: string, code: string) =>
    call('POST', '/api/v1/sessions/code', { utility: 'jo', contact, code });

  /** A code that is not `code`. */
  const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

  beforeAll(async () => {
    // The worker would drop a code from its row once delivered: this suite reads codes from pending rows.
    test = await startTestServer('sessions-api', { OUTBOX_INTERVAL_SECONDS: '3600' });
    server = test.server;
    seed = await seedVending(db(), server.core.keys, 'jo');
    const sami = await db()
      .insertInto('customers')
      .values({ utility_id: seed.utilityId, name: 'Sami Nasser', preferred_language: 'en', email: EMAIL })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db()
      .insertInto('accounts')
      .values({
        utility_id: seed.utilityId,
        number: 'jo-0002',
        customer_id: sami.id,
        premise_id: seed.premiseId,
      })
      .execute();
  }, 120_000);

  afterAll(async () => {
    await test?.close();
  });

  it('sends a code by SMS in the customer’s language, stores only its hash, and signs them in once', async () => {
    const asked = await call('POST', '/api/v1/sessions/codes', {
      utility: 'jo',
      contact: '+962 79 000 0001',
    });
    expect(asked).toEqual({ status: 202, json: { channel: 'sms', expiresInSeconds: 600 } });
    const [row] = await codesSentTo(PHONE);
    expect(row).toMatchObject({ channel: 'sms', language: 'ar', template: 'sign_in_code' });
    const code = (row!.payload as { code: string; minutes: number }).code;
    expect(code).toMatch(/^\d{6}$/);
    expect(row!.payload).toEqual({ code, minutes: 10 });

    const stored = await db()
      .selectFrom('one_time_codes')
      .innerJoin('users', 'users.id', 'one_time_codes.user_id')
      .select(['one_time_codes.code_hash', 'one_time_codes.channel', 'users.role', 'users.customer_id'])
      .execute();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ channel: 'sms', role: 'customer', customer_id: seed.customerId });
    expect(stored[0]!.code_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored[0]!.code_hash).not.toContain(code);
    // The code is in no log line of the API (the SMS provider logs what it sends; no worker runs here).
    expect(test.logs.join('')).not.toContain(code);

    const signedIn = await verify(PHONE, code);
    expect(signedIn.status).toBe(201);
    expect(signedIn.json).toMatchObject({ role: 'customer', token: expect.stringMatching(/^rss_/) });
    const me = await call('GET', '/api/v1/me', undefined, signedIn.json.token);
    expect(me.status).toBe(200);
    expect(me.json.customer).toMatchObject({ id: seed.customerId, name: 'Huda Haddad' });
    const meters = await call('GET', '/api/v1/me/meters', undefined, signedIn.json.token);
    expect(meters.json.meters.map((m: Json) => m.serial)).toEqual(['jo-M-0001']);
    const who = await call('GET', '/api/v1/web/whoami', undefined, signedIn.json.token);
    expect(who.json).toMatchObject({ role: 'customer', utility: { code: 'jo' } });

    // Used once: the same code again is refused.
    expect((await verify(PHONE, code)).status).toBe(401);
    // A customer's user has no password: the staff sign-in never lets it in.
    const user = await db()
      .selectFrom('users')
      .select('username')
      .where('customer_id', '=', seed.customerId)
      .executeTakeFirstOrThrow();
    const byPassword = await call('POST', '/api/v1/sessions', {
      utility: 'jo',
      username: user.username,
      password: '!one-time-code-only',
    });
    expect(byPassword.status).toBe(401);
  });

  it('sends by e-mail to the address as the utility holds it, whatever its case', async () => {
    const asked = await call('POST', '/api/v1/sessions/codes', {
      utility: 'jo',
      contact: 'sami.nasser@example.COM',
    });
    expect(asked.json.channel).toBe('email');
    const rows = await codesSentTo(EMAIL);
    expect(rows.at(-1)).toMatchObject({ channel: 'email', language: 'en' });
    const code = (rows.at(-1)!.payload as { code: string }).code;
    const signedIn = await verify(EMAIL, code);
    expect(signedIn.status).toBe(201);
    const me = await call('GET', '/api/v1/me', undefined, signedIn.json.token);
    expect(me.json.customer.name).toBe('Sami Nasser');
  });

  it('refuses a wrong code, and still takes the right one after it', async () => {
    const code = await requestCode(PHONE);
    const refused = await verify(PHONE, wrong(code));
    expect(refused.status).toBe(401);
    expect(refused.json.code).toBe('unauthenticated');
    expect((await verify(PHONE, code)).status).toBe(201);
  });

  it('refuses an expired code', async () => {
    const code = await requestCode(PHONE);
    // Rewind the newest code's expiry (the column is immutable to Rasid; the test owns the database).
    await sql`update one_time_codes set expires_at = ${new Date(Date.now() - 1000)}
      where id = (select max(id) from one_time_codes)`.execute(db());
    expect((await verify(PHONE, code)).status).toBe(401);
  });

  it('spends a code after five wrong tries: the right one is refused then', async () => {
    const code = await requestCode(PHONE);
    for (let i = 0; i < 5; i++) expect((await verify(PHONE, wrong(code))).status).toBe(401);
    expect((await verify(PHONE, code)).status).toBe(401);
    const [latest] = await db()
      .selectFrom('one_time_codes')
      .select(['attempts', 'used_at'])
      .orderBy('id', 'desc')
      .limit(1)
      .execute();
    expect(latest).toEqual({ attempts: 5, used_at: null });
  });

  it('only the newest code counts', async () => {
    const first = await requestCode(EMAIL);
    const second = await requestCode(EMAIL);
    if (first !== second) expect((await verify(EMAIL, first)).status).toBe(401);
    expect((await verify(EMAIL, second)).status).toBe(201);
  });

  it('answers an unknown contact exactly as a known one, and sends nothing', async () => {
    const outbox = async () => (await db().selectFrom('notifications_outbox').select('id').execute()).length;
    const before = await outbox();
    const unknown = await call('POST', '/api/v1/sessions/codes', { utility: 'jo', contact: '+962799999999' });
    const otherUtility = await call('POST', '/api/v1/sessions/codes', { utility: 'nowhere', contact: PHONE });
    expect(await outbox()).toBe(before);
    const known = await call('POST', '/api/v1/sessions/codes', { utility: 'jo', contact: PHONE });
    expect(await outbox()).toBe(before + 1);
    expect(unknown).toEqual(known);
    expect(otherUtility).toEqual(known);
    const unknownEmail = await call('POST', '/api/v1/sessions/codes', {
      utility: 'jo',
      contact: 'x@example.com',
    });
    expect(unknownEmail).toEqual({ status: 202, json: { channel: 'email', expiresInSeconds: 600 } });
    expect(await outbox()).toBe(before + 1);

    // Verifying: an unknown contact is refused with the very answer a wrong code gets.
    const code = (await codesSentTo(PHONE)).at(-1)!.payload as { code: string };
    const forUnknown = await verify('+962799999999', code.code);
    const forWrong = await verify(PHONE, wrong(code.code));
    expect(forUnknown.status).toBe(401);
    const { instance: _a, ...a } = forUnknown.json;
    const { instance: _b, ...b } = forWrong.json;
    expect(a).toEqual(b);
  });

  it('sends one customer five codes an hour at most, and answers a sixth request the same', async () => {
    const sent = (await codesSentTo(PHONE)).length;
    expect(sent).toBe(5);
    const asked = await call('POST', '/api/v1/sessions/codes', { utility: 'jo', contact: PHONE });
    expect(asked).toEqual({ status: 202, json: { channel: 'sms', expiresInSeconds: 600 } });
    expect(await codesSentTo(PHONE)).toHaveLength(5);
  });

  it('refuses what is not a phone number, an e-mail address or a 6-digit code', async () => {
    expect((await call('POST', '/api/v1/sessions/codes', { utility: 'jo', contact: 'huda' })).status).toBe(
      400,
    );
    expect((await verify(PHONE, '12345')).status).toBe(400);
  });

  it('sends the token of a paid online top-up by SMS to a number the customer types, three times at most', async () => {
    const stripe = server.core.localStripe!;
    const started = await call('POST', '/api/v1/utilities/jo/checkout', {
      meter: 'jo-M-0001',
      amountMinor: 4000,
    });
    expect(started.status).toBe(201);
    const { sessionId } = started.json;
    const sms = (body: unknown, id = sessionId) => call('POST', `/api/v1/checkout/${id}/sms`, body);
    // Not paid yet: no token to send.
    expect((await sms({ phone: '+96891000001', language: 'en' })).status).toBe(404);
    expect(await stripe.deliver(stripe.completeSession(sessionId))).toBe(200);
    const paid = await call('GET', `/api/v1/checkout/${sessionId}`);
    expect(paid.json.token).toMatch(/^\d{20}$/);

    const sent = await sms({ phone: '00968 9100 0001', language: 'ar' });
    expect(sent).toEqual({ status: 202, json: { queued: true, to: '+968••••0001', left: 2 } });
    const rows = await db()
      .selectFrom('notifications_outbox')
      .select(['channel', 'recipient', 'language', 'payload'])
      .where('template', '=', 'token_delivery')
      .execute();
    expect(rows).toEqual([
      {
        channel: 'sms',
        recipient: '+96891000001',
        language: 'ar',
        payload: {
          meterSerial: 'jo-M-0001',
          token: paid.json.token,
          units: paid.json.receipt.units.value,
          unit: 'kWh',
          // The receipt PDF of this top-up, keyed by the payment, in the SMS's language.
          receiptUrl: `${server.url}/api/v1/checkout/${started.json.paymentId}/receipt?lang=ar`,
        },
      },
    ]);
    expect((await sms({ phone: '+96891000002', language: 'en' })).json.left).toBe(1);
    expect((await sms({ phone: '+96891000002', language: 'en' })).json.left).toBe(0);
    const fourth = await sms({ phone: '+96891000003', language: 'en' });
    expect([fourth.status, fourth.json.code]).toEqual([429, 'rate_limited']);
    expect((await sms({ phone: '12', language: 'en' })).status).toBe(400);
    expect((await sms({ phone: '+96891000001', language: 'en' }, 'cs_no_such_session')).status).toBe(404);
  });
});
