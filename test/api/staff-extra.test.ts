/**
 * The staff screens' two extra routes through real HTTP against a started Rasid: a meter test token (class 1,
 * decoded back, audited; technicians yes, customer service no) and the transfer check, which must agree with
 * what the transfer then does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeToken } from '../../protocols/sts/index.ts';
import { hashSecret } from '../../src/security/secrets.ts';
import type { CustomerId } from '../../src/store/schema.ts';
import type { Seed } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { seedVending } from '../support/vending-fixture.ts';

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON read field by field and checked by expect.
type Json = any;

let test: TestServer;
let seed: Seed;
const tokens: Record<string, string> = {};
let heir: CustomerId;
let silentHeir: CustomerId;

async function call(as: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${test.server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tokens[as]}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Json };
}

beforeAll(async () => {
  test = await startTestServer('staff-extra');
  const db = test.server.core.store.db;
  seed = await seedVending(db, test.server.core.keys, 'jo');
  const hash = await hashSecret('correct horse');
  for (const role of ['operator', 'technician', 'service'] as const) {
    await db
      .insertInto('users')
      .values({ utility_id: seed.utilityId, username: role, password_hash: hash, role })
      .execute();
    const res = await fetch(`${test.server.url}/api/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ utility: 'jo', username: role, password: 'correct horse' }),
    });
    tokens[role] = ((await res.json()) as Json).token;
  }
  const customer = (name: string, phone: string | null) =>
    db
      .insertInto('customers')
      .values({ utility_id: seed.utilityId, name, preferred_language: 'ar', phone })
      .returning('id')
      .executeTakeFirstOrThrow();
  heir = (await customer('Rami Haddad', '+962790000002')).id;
  silentHeir = (await customer('Nour Haddad', null)).id;
}, 120_000);

afterAll(async () => {
  await test?.close();
});

describe('POST /api/v1/meters/{id}/test-token', () => {
  it('gives a technician the class 1 test token for every test, grouped, and audits it', async () => {
    const res = await call('technician', 'POST', `/api/v1/meters/${seed.meterId}/test-token`);
    expect(res.status).toBe(201);
    expect(res.json.token).toMatch(/^[0-9]{20}$/);
    expect(res.json.tokenGrouped).toBe(res.json.token.replace(/(\d{4})(?=\d)/g, '$1-'));
    const decoded = decodeToken(res.json.token, {});
    expect(decoded.ok).toBe(true);
    if (decoded.ok) {
      expect(decoded.token.tokenClass).toBe(1);
      expect(decoded.token).toMatchObject({ control: (1n << 36n) - 1n, manufacturer: 0 });
    }
    const audit = await test.server.core.store.db
      .selectFrom('audit_log')
      .select(['action', 'subject'])
      .where('action', '=', 'meter.test_token')
      .execute();
    expect(audit).toEqual([{ action: 'meter.test_token', subject: `meter:${seed.meterId}` }]);
  });

  it('refuses customer service, and an unknown meter is 404', async () => {
    expect((await call('service', 'POST', `/api/v1/meters/${seed.meterId}/test-token`)).status).toBe(403);
    const unknown = await call('operator', 'POST', `/api/v1/meters/${crypto.randomUUID()}/test-token`);
    expect(unknown.status).toBe(404);
  });
});

describe('GET /api/v1/accounts/{id}/transfer-check', () => {
  const check = (customerId: string, reason: string) =>
    call(
      'service',
      'GET',
      `/api/v1/accounts/${seed.accountId}/transfer-check?customerId=${customerId}&reason=${reason}`,
    );

  it.each([
    ['death', true],
    ['inheritance', true],
    ['sale', false],
  ])('a subsidised account to an heir by %s: carries = %s, the heir told by SMS', async (reason, carries) => {
    const res = await check(heir, reason);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      allowed: true,
      refusal: null,
      subsidy: { eligible: true, inheritance: carries, heirHasOtherSubsidisedAccount: false, carries },
      notify: { channel: 'sms' },
    });
  });

  it('the current holder is refused; a new holder without phone or e-mail is not told', async () => {
    const same = await check(seed.customerId, 'death');
    expect(same.json).toMatchObject({ allowed: false, refusal: 'same_holder' });
    const silent = await check(silentHeir, 'death');
    expect(silent.json).toMatchObject({ allowed: true, notify: null });
    expect((await check(crypto.randomUUID(), 'death')).status).toBe(404);
  });

  it('agrees with the transfer that follows it', async () => {
    const before = await check(heir, 'death');
    const done = await call('service', 'POST', `/api/v1/accounts/${seed.accountId}/transfer`, {
      customerId: heir,
      reason: 'death',
      evidenceRef: 'DC-2026-0042',
    });
    expect(done.status).toBe(200);
    expect(done.json.transfer).toMatchObject({
      subsidyCarried: before.json.subsidy.carries,
      notified: before.json.notify !== null,
    });
  });
});
