/**
 * One table: every route of /openapi.json that takes an id (in its path or as `meterId`, `accountId`,
 * `customerId`, `premiseId` in its query), called by every kind of caller with ids it may not see — another
 * utility's, another vendor's, another customer's, or ids of nothing — answers 404 (or 401/403 when the
 * caller may not call the route at all), never an empty 200, a 400 about the body, or a 500. Bodies are
 * left out on purpose: the id is refused before the body is read.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSecret, secretDigest } from '../../src/api/auth.ts';
import type { Role } from '../../src/store/schema.ts';
import { request, secondCustomer, signIn, waterMeter } from '../support/api.ts';
import { type Seed, seedBasics } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

type Doc = { paths: Record<string, Record<string, { parameters?: { in: string; name: string }[] }>> };

const QUERY_IDS = ['meterId', 'accountId', 'customerId', 'premiseId'];
const SEGMENT: Record<string, string> = {
  meters: 'meter',
  accounts: 'account',
  customers: 'customer',
  premises: 'premise',
  vendors: 'vendor',
  kiosks: 'kiosk',
  vends: 'vend',
  cases: 'case',
  commands: 'command',
  gateways: 'gateway',
};

describe('foreign ids answer 404 on every route, for every caller', () => {
  let test: TestServer;
  let doc: Doc;
  let home: Seed;
  let other: Seed;
  const auth: Record<string, Record<string, string>> = {};
  const foreign: Record<string, Record<string, string>> = {};

  beforeAll(async () => {
    test = await startTestServer('foreign-ids', { PUBLIC_RATE_LIMIT: '100000' });
    const server = test.server;
    const db = server.core.store.db;
    home = await seedBasics(db, 'jo');
    other = await seedBasics(db, 'om');
    // In the caller's own utility: a second customer with an account and meter, a second vendor and kiosk.
    const second = await secondCustomer(db, home);
    const secondMeter = await waterMeter(db, home, second.accountId);
    const vendor2 = await db
      .insertInto('vendors')
      .values({ utility_id: home.utilityId, name: 'Vendor 2', commission_bp: 100 })
      .returning('id')
      .executeTakeFirstOrThrow();
    const kiosk2 = await db
      .insertInto('kiosks')
      .values({
        utility_id: home.utilityId,
        vendor_id: vendor2.id,
        name: 'Till 2',
        api_key_hash: 'x'.repeat(64),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const staff: Role[] = ['admin', 'operator', 'technician', 'service'];
    const people = await signIn(server, home.utilityId, {
      ...Object.fromEntries(staff.map((r) => [r, { role: r }])),
      customer: { role: 'customer', customerId: home.customerId },
      vendorStaff: { role: 'vendor' },
    } as Record<string, { role: Role }>);
    await db
      .updateTable('users')
      .set({ vendor_id: home.vendorId })
      .where('username', '=', 'vendorStaff')
      .execute();
    for (const [name, p] of Object.entries(people)) auth[name] = { authorization: `Bearer ${p.token}` };
    const kioskKey = newSecret('rks_');
    await db
      .updateTable('kiosks')
      .set({ api_key_hash: secretDigest(kioskKey) })
      .where('id', '=', home.kioskId)
      .execute();
    auth.kiosk = { 'x-api-key': kioskKey };
    const gatewayKey = newSecret('rgw_');
    await db
      .insertInto('gateways')
      .values({
        utility_id: home.utilityId,
        code: 'gw-1',
        name: 'GW 1',
        api_key_hash: secretDigest(gatewayKey),
      })
      .execute();
    const otherGateway = await db
      .insertInto('gateways')
      .values({ utility_id: other.utilityId, code: 'gw-9', name: 'GW 9', api_key_hash: 'y'.repeat(64) })
      .returning('id')
      .executeTakeFirstOrThrow();
    auth.gateway = { 'x-api-key': gatewayKey };
    auth.anonymous = {};

    // What each caller may not see: the other utility's records, and within its own utility another
    // vendor's or another customer's; ids of nothing for kinds the seeds have none of.
    const otherUtility = {
      meter: other.meterId,
      account: other.accountId,
      customer: other.customerId,
      premise: other.premiseId,
      vendor: other.vendorId,
      kiosk: other.kioskId,
      gateway: otherGateway.id,
      vend: randomUUID(),
      case: randomUUID(),
      command: randomUUID(),
    };
    for (const caller of Object.keys(auth)) foreign[caller] = { ...otherUtility };
    for (const caller of ['vendorStaff', 'kiosk']) {
      foreign[caller] = { ...otherUtility, vendor: vendor2.id, kiosk: kiosk2.id };
    }
    foreign.customer = {
      ...otherUtility,
      meter: secondMeter,
      account: second.accountId,
      customer: second.customerId,
    };
    doc = (await request(server.url, 'GET', '/openapi.json')).json as Doc;
  }, 120_000);

  afterAll(async () => {
    await test?.close();
  });

  it('every route with an id, every caller', async () => {
    const wrong: string[] = [];
    let calls = 0;
    for (const [template, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const query = (op.parameters ?? []).filter((p) => p.in === 'query' && QUERY_IDS.includes(p.name));
        const segments = template.split('/');
        const hasPathId = segments.some((s, i) => /^\{\w+\}$/.test(s) && SEGMENT[segments[i - 1] ?? '']);
        if (!hasPathId && query.length === 0) continue;
        for (const [caller, headers] of Object.entries(auth)) {
          const ids = foreign[caller]!;
          // Query ids one at a time, so each is the only reason for the answer.
          const variants = hasPathId
            ? ['']
            : query.map((q) => `?${q.name}=${ids[q.name.replace(/Id$/, '')]}`);
          for (const qs of variants) {
            const path =
              segments
                .map((s, i) => {
                  const m = /^\{(\w+)\}$/.exec(s);
                  if (!m) return s;
                  const kind = SEGMENT[segments[i - 1] ?? ''];
                  return kind ? ids[kind] : 'x';
                })
                .join('/') + qs;
            const answer = await request(test.server.url, method.toUpperCase(), path, { headers });
            calls++;
            const allowedAnswer = caller === 'admin' ? [404] : [401, 403, 404];
            if (!allowedAnswer.includes(answer.status)) {
              wrong.push(
                `${caller} ${method.toUpperCase()} ${path}: ${answer.status} ${answer.text.slice(0, 120)}`,
              );
            }
          }
        }
      }
    }
    expect(calls).toBeGreaterThan(400);
    expect(wrong).toEqual([]);
  }, 300_000);
});
