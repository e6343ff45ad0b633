/**
 * The operator API through real HTTP against a started Rasid (embedded PGlite on disk): customers, premises,
 * accounts and the transfer to an heir, meters and vending keys, tariffs, vendors and kiosks, the audit log.
 * Each role signs in with a real session; kiosks use the API key the API hands out once.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../../src/api/errors.ts';
import { hashSecret } from '../../src/security/secrets.ts';
import type { RunningServer } from '../../src/server.ts';
import { minorUnits, type Role } from '../../src/store/schema.ts';
import type { Seed } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { seedVending, tariff, VENDING_KEY_HEX } from '../support/vending-fixture.ts';

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON read field by field and checked by expect.
type Json = any;

/** A second vending key, uploaded through the API: it must never come back out. */
const UPLOADED_KEY_HEX = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

describe('operator API over HTTP', () => {
  let server: RunningServer;
  let test: TestServer;
  let seed: Seed;
  const tokens: Partial<Record<Role, string>> = {};
  let logs: string[] = [];
  const bodies: string[] = [];

  async function call(
    method: string,
    path: string,
    init: { as?: Role | null; body?: unknown; headers?: Record<string, string> } = {},
  ) {
    const as = init.as === undefined ? 'operator' : init.as;
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(as ? { authorization: `Bearer ${tokens[as]}` } : {}),
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
      json: JSON.parse(text) as Json,
    };
  }

  beforeAll(async () => {
    test = await startTestServer('admin-api');
    server = test.server;
    logs = test.logs;
    const db = server.core.store.db;
    seed = await seedVending(db, server.core.keys, 'jo');
    // The subsidised variant the seeded (eligible) account buys at; no debt, so quotes show the blocks plainly.
    await tariff(db, seed.utilityId, {
      code: 'RES-SUB',
      subsidised: true,
      blocks: [
        { upToUnits: 160_000, priceMinorPerUnit: 20 },
        { upToUnits: null, priceMinorPerUnit: 72 },
      ],
    });
    await db
      .updateTable('accounts')
      .set({ debt_minor: minorUnits(0n) })
      .where('id', '=', seed.accountId)
      .execute();
    const password = await hashSecret('correct horse');
    for (const role of ['admin', 'operator', 'service', 'technician'] as const) {
      await db
        .insertInto('users')
        .values({ utility_id: seed.utilityId, username: `${role}-1`, password_hash: password, role })
        .execute();
      const login = await call('POST', '/api/v1/sessions', {
        as: null,
        body: { utility: 'jo', username: `${role}-1`, password: 'correct horse' },
      });
      expect(login.status).toBe(201);
      tokens[role] = login.json.token;
    }
  }, 120_000);

  afterAll(async () => {
    await test?.close();
  });

  describe('customers and premises', () => {
    it('creates, searches by name and phone, reads and updates contact and language (audited)', async () => {
      const created = await call('POST', '/api/v1/customers', {
        body: { name: 'Rania Khoury', phone: '+962795550101', preferredLanguage: 'en' },
      });
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({ name: 'Rania Khoury', preferredLanguage: 'en', email: null });
      const id = created.json.id;

      const byName = await call('GET', '/api/v1/customers?q=khou', { as: 'service' });
      expect(byName.status).toBe(200);
      expect(byName.json.customers.map((c: { id: string }) => c.id)).toEqual([id]);
      const byPhone = await call('GET', '/api/v1/customers?q=5550101');
      expect(byPhone.json.customers.map((c: { id: string }) => c.id)).toEqual([id]);

      const updated = await call('PATCH', `/api/v1/customers/${id}`, {
        body: { email: 'rania@example.com', preferredLanguage: 'ar' },
      });
      expect(updated.status).toBe(200);
      expect(updated.json).toMatchObject({ email: 'rania@example.com', preferredLanguage: 'ar' });
      const read = await call('GET', `/api/v1/customers/${id}`, { as: 'service' });
      expect(read.json).toMatchObject({ email: 'rania@example.com', accounts: [] });

      const audit = await call('GET', `/api/v1/audit?subject=customer:${id}`);
      expect(audit.json.entries.map((e: { action: string }) => e.action)).toEqual([
        'customer.update',
        'customer.create',
      ]);
      expect(audit.json.entries[0].details.changes).toEqual({
        email: { from: null, to: 'rania@example.com' },
        preferredLanguage: { from: 'en', to: 'ar' },
      });
    });

    it('answers 400 naming the field, 403 for roles that may not, 401 without a session', async () => {
      const bad = await call('POST', '/api/v1/customers', { body: { name: 'X', phone: '0795' } });
      expect(bad.status).toBe(400);
      expect(bad.type).toContain('application/problem+json');
      expect(bad.json.code).toBe('validation_failed');
      expect(bad.json.detail).toContain('body.phone');
      const extra = await call('PATCH', `/api/v1/customers/${seed.customerId}`, {
        body: { name: 'New name' },
      });
      expect(extra.status).toBe(400);
      expect((await call('POST', '/api/v1/customers', { as: 'service', body: { name: 'Y' } })).status).toBe(
        403,
      );
      expect((await call('GET', '/api/v1/customers', { as: 'technician' })).status).toBe(403);
      const anonymous = await call('GET', '/api/v1/customers', { as: null });
      expect(anonymous.status).toBe(401);
      expect(anonymous.json.code).toBe('unauthenticated');
    });
  });

  describe('accounts', () => {
    it('opens an account for a customer at a premise, reads its balance and holders, changes flags', async () => {
      const customer = (await call('POST', '/api/v1/customers', { body: { name: 'Yousef Saleh' } })).json;
      const premise = await call('POST', '/api/v1/premises', {
        body: { address: '3 Garden St', area: 'Abdoun' },
      });
      expect(premise.status).toBe(201);
      const listed = await call('GET', '/api/v1/premises?q=abdoun', { as: 'technician' });
      expect(listed.json.premises.map((p: { id: string }) => p.id)).toEqual([premise.json.id]);

      const opened = await call('POST', '/api/v1/accounts', {
        body: { customerId: customer.id, premiseId: premise.json.id, number: 'jo-0500', tariffCode: 'RES' },
      });
      expect(opened.status).toBe(201);
      expect(opened.json).toMatchObject({
        number: 'jo-0500',
        status: 'active',
        tariffCode: 'RES',
        subsidyEligible: false,
        balanceMinor: '0',
        balance: '0.000',
        currency: 'JOD',
        customer: { id: customer.id, name: 'Yousef Saleh' },
      });
      expect(opened.json.holders).toHaveLength(1);
      expect(opened.json.holders[0]).toMatchObject({
        customerId: customer.id,
        reason: 'opening',
        toAt: null,
      });
      const again = await call('POST', '/api/v1/accounts', {
        body: { customerId: customer.id, premiseId: premise.json.id, number: 'jo-0500' },
      });
      expect(again.status).toBe(409);
      const unknownTariff = await call('POST', '/api/v1/accounts', {
        body: { customerId: customer.id, premiseId: premise.json.id, tariffCode: 'NOPE' },
      });
      expect(unknownTariff.status).toBe(400);
      expect(unknownTariff.json.detail).toContain('tariffCode');

      const id = opened.json.id;
      expect((await call('GET', `/api/v1/accounts/${id}`, { as: 'service' })).status).toBe(200);
      expect(
        (await call('PATCH', `/api/v1/accounts/${id}`, { as: 'service', body: { protected: true } })).status,
      ).toBe(403);
      const badStatus = await call('PATCH', `/api/v1/accounts/${id}`, { body: { status: 'frozen' } });
      expect(badStatus.status).toBe(400);
      expect(badStatus.json.detail).toContain('body.status');
      const changed = await call('PATCH', `/api/v1/accounts/${id}`, {
        body: { protected: true, status: 'suspended', tariffCode: null },
      });
      expect(changed.status).toBe(200);
      expect(changed.json).toMatchObject({ protected: true, status: 'suspended', tariffCode: null });
      expect(changed.json.changed.sort()).toEqual(['protected', 'status', 'tariffCode']);
      const byCustomer = await call('GET', `/api/v1/accounts?customerId=${customer.id}`, { as: 'service' });
      expect(byCustomer.json.accounts.map((a: { number: string }) => a.number)).toEqual(['jo-0500']);

      const audit = await call('GET', `/api/v1/audit?subject=account:${id}&action=account.*`);
      expect(audit.json.entries.map((e: { action: string }) => e.action)).toEqual([
        'account.update',
        'account.create',
      ]);
    });

    it('transfers an account to an heir: the subsidised price stays; a sale loses it', async () => {
      const price = async () => {
        const q = await call('POST', '/api/v1/utilities/jo/quotes', {
          as: null,
          body: { meter: 'jo-M-0001', amountMinor: 2000 },
        });
        expect(q.status).toBe(200);
        return q.json.lines.find((l: { code: string }) => l.code === 'block').price;
      };
      expect(await price()).toBe('0.020');
      const heir = (
        await call('POST', '/api/v1/customers', {
          body: { name: 'Sami Haddad', phone: '+962790000002', preferredLanguage: 'en' },
        })
      ).json;
      const badReason = await call('POST', `/api/v1/accounts/${seed.accountId}/transfer`, {
        as: 'service',
        body: { customerId: heir.id, reason: 'gift', evidenceRef: 'X' },
      });
      expect(badReason.status).toBe(400);
      expect(badReason.json.detail).toContain('body.reason');
      const noEvidence = await call('POST', `/api/v1/accounts/${seed.accountId}/transfer`, {
        as: 'service',
        body: { customerId: heir.id, reason: 'death' },
      });
      expect(noEvidence.json.detail).toContain('body.evidenceRef');
      expect(
        (
          await call('POST', `/api/v1/accounts/${seed.accountId}/transfer`, {
            as: 'technician',
            body: { customerId: heir.id, reason: 'death', evidenceRef: 'DC-2026-118' },
          })
        ).status,
      ).toBe(403);

      const inherited = await call('POST', `/api/v1/accounts/${seed.accountId}/transfer`, {
        as: 'service',
        body: {
          customerId: heir.id,
          reason: 'death',
          evidenceRef: 'DC-2026-118',
          note: 'holder died 2026-10-02',
        },
      });
      expect(inherited.status).toBe(200);
      expect(inherited.json.transfer).toMatchObject({
        fromCustomerId: seed.customerId,
        toCustomerId: heir.id,
        reason: 'death',
        subsidyWasEligible: true,
        subsidyCarried: true,
        notified: true,
      });
      expect(inherited.json.account).toMatchObject({ subsidyEligible: true, customer: { id: heir.id } });
      expect(inherited.json.account.holders.map((h: { reason: string }) => h.reason)).toEqual([
        'opening',
        'death',
      ]);
      expect(inherited.json.account.holders[1]).toMatchObject({ evidenceRef: 'DC-2026-118', toAt: null });
      expect(await price()).toBe('0.020');
      const same = await call('POST', `/api/v1/accounts/${seed.accountId}/transfer`, {
        as: 'service',
        body: { customerId: heir.id, reason: 'death', evidenceRef: 'DC-2026-118' },
      });
      expect(same.status).toBe(422);
      expect(same.json.code).toBe('transfer_not_allowed');

      const buyer = (await call('POST', '/api/v1/customers', { body: { name: 'Lina Nasser' } })).json;
      const sold = await call('POST', `/api/v1/accounts/${seed.accountId}/transfer`, {
        body: { customerId: buyer.id, reason: 'sale', evidenceRef: 'SALE-77' },
      });
      expect(sold.json.transfer).toMatchObject({ subsidyCarried: false, notified: false });
      expect(sold.json.account.subsidyEligible).toBe(false);
      expect(await price()).toBe('0.033');

      const audit = await call(
        'GET',
        `/api/v1/audit?subject=account:${seed.accountId}&action=account.transfer&limit=1`,
      );
      expect(audit.json.entries).toHaveLength(1);
      expect(audit.json.entries[0].details).toMatchObject({ reason: 'sale', evidenceRef: 'SALE-77' });
      expect(audit.json.next).not.toBeNull();
      const older = await call(
        'GET',
        `/api/v1/audit?subject=account:${seed.accountId}&action=account.transfer&before=${audit.json.next}`,
      );
      expect(older.json.entries.map((e: { details: { reason: string } }) => e.details.reason)).toEqual([
        'death',
      ]);
      expect(older.json.entries[0].actor).toMatch(/^user:/);
      expect((await call('GET', '/api/v1/audit', { as: 'service' })).status).toBe(403);
      const badDate = await call('GET', '/api/v1/audit?from=yesterday');
      expect(badDate.status).toBe(400);
      expect(badDate.json.detail).toContain('querystring.from');
    });
  });

  describe('meters and vending keys', () => {
    it('registers a meter, links the key uploaded later, and never returns the key', async () => {
      const sts = {
        iin: '600727',
        drn: '04040404040',
        sgc: 654321,
        ti: 2,
        krn: 1,
        kt: 2,
        ea: 7,
        baseDate: '2014-01-01',
      };
      const registered = await call('POST', '/api/v1/meters', {
        as: 'technician',
        body: { serial: 'jo-M-0404', kind: 'electricity', protocol: 'dlms', mode: 'token', sts },
      });
      expect(registered.status).toBe(201);
      expect(registered.json).toMatchObject({
        serial: 'jo-M-0404',
        status: 'registered',
        accountId: null,
        vendingKeyId: null,
        sts: { ...sts, ken: 255 },
      });
      const id = registered.json.id;
      const duplicate = await call('POST', '/api/v1/meters', {
        body: { serial: 'jo-M-0404', kind: 'water', protocol: 'mqtt', mode: 'central' },
      });
      expect(duplicate.status).toBe(409);
      const badSts = await call('POST', '/api/v1/meters', {
        body: {
          serial: 'jo-M-0405',
          kind: 'water',
          protocol: 'mqtt',
          mode: 'token',
          sts: { ...sts, krn: 12 },
        },
      });
      expect(badSts.status).toBe(400);
      expect(badSts.json.detail).toContain('body.sts.krn');

      const byOperator = await call('POST', '/api/v1/vending-keys', {
        body: { sgc: 654321, krn: 1, key: UPLOADED_KEY_HEX },
      });
      expect(byOperator.status).toBe(403);
      const badKey = await call('POST', '/api/v1/vending-keys', {
        as: 'admin',
        body: { sgc: 654321, krn: 1, key: 'xyz' },
      });
      expect(badKey.status).toBe(400);
      expect(badKey.json.detail).toContain('body.key');
      const uploaded = await call('POST', '/api/v1/vending-keys', {
        as: 'admin',
        body: { sgc: 654321, krn: 1, key: UPLOADED_KEY_HEX, label: 'SGC 654321 r1' },
      });
      expect(uploaded.status).toBe(201);
      expect(Object.keys(uploaded.json).sort()).toEqual([
        'createdAt',
        'id',
        'krn',
        'label',
        'metersLinked',
        'sgc',
      ]);
      expect(uploaded.json).toMatchObject({ sgc: 654321, krn: 1, metersLinked: 1 });
      const twice = await call('POST', '/api/v1/vending-keys', {
        as: 'admin',
        body: { sgc: 654321, krn: 1, key: UPLOADED_KEY_HEX },
      });
      expect(twice.status).toBe(409);
      // The key store holds it, decryptable by the token engine only.
      const stored = await server.core.keys.get(uploaded.json.id);
      expect(stored?.key.reveal().toString('hex')).toBe(UPLOADED_KEY_HEX);

      const meter = await call('GET', `/api/v1/meters/${id}`, { as: 'technician' });
      expect(meter.json.vendingKeyId).toBe(uploaded.json.id);
      const keys = await call('GET', '/api/v1/vending-keys', { as: 'admin' });
      expect(keys.json.keys.map((k: { sgc: number }) => k.sgc)).toEqual([123456, 654321]);
      for (const k of keys.json.keys)
        expect(Object.keys(k).sort()).toEqual(['createdAt', 'id', 'krn', 'label', 'sgc']);
      expect((await call('GET', '/api/v1/vending-keys')).status).toBe(403);
      const audit = await call('GET', `/api/v1/audit?action=vending_key.upload`);
      expect(audit.json.entries[0].details).toEqual({
        sgc: 654321,
        krn: 1,
        label: 'SGC 654321 r1',
        metersLinked: 1,
      });
    });

    it('assigns a meter to an account (operator only) and lists meters with filters', async () => {
      const meter = (
        await call('POST', '/api/v1/meters', {
          as: 'technician',
          body: { serial: 'jo-W-0001', kind: 'water', protocol: 'modbus', mode: 'central' },
        })
      ).json;
      expect(meter.sts).toBeNull();
      const refused = await call('PUT', `/api/v1/meters/${meter.id}/account`, {
        as: 'technician',
        body: { accountId: seed.accountId },
      });
      expect(refused.status).toBe(403);
      const assigned = await call('PUT', `/api/v1/meters/${meter.id}/account`, {
        body: { accountId: seed.accountId },
      });
      expect(assigned.status).toBe(200);
      expect(assigned.json.accountId).toBe(seed.accountId);
      const water = await call('GET', '/api/v1/meters?kind=water', { as: 'technician' });
      expect(water.json.meters.map((m: { serial: string }) => m.serial)).toEqual(['jo-W-0001']);
      const onAccount = await call('GET', `/api/v1/meters?accountId=${seed.accountId}`);
      expect(onAccount.json.meters.map((m: { serial: string }) => m.serial)).toEqual([
        'jo-M-0001',
        'jo-W-0001',
      ]);
      const unassigned = await call('GET', '/api/v1/meters?unassigned=true&serial=jo-');
      expect(unassigned.json.meters.map((m: { serial: string }) => m.serial)).toEqual(['jo-M-0404']);
      expect((await call('GET', '/api/v1/meters', { as: 'service' })).status).toBe(403);
      const account = await call('GET', `/api/v1/accounts/${seed.accountId}`);
      expect(account.json.meters.map((m: { serial: string }) => m.serial)).toEqual([
        'jo-M-0001',
        'jo-W-0001',
      ]);
    });
  });

  describe('tariffs', () => {
    const blocks = [
      { upToUnits: 100_000, priceMinorPerUnit: 40 },
      { upToUnits: null, priceMinorPerUnit: 90 },
    ];

    it('creates versions, never edits them, and answers the one in force', async () => {
      const v1 = await call('POST', '/api/v1/tariffs', {
        body: { code: 'BIZ', name: 'Business', kind: 'electricity', effectiveFrom: '2024-01-01', blocks },
      });
      expect(v1.status).toBe(201);
      expect(v1.json).toMatchObject({
        code: 'BIZ',
        version: 1,
        unit: 'Wh',
        currency: 'JOD',
        fixedMonthlyMinor: '0',
      });
      const v2 = await call('POST', '/api/v1/tariffs', {
        body: {
          code: 'BIZ',
          name: 'Business 2025',
          kind: 'electricity',
          effectiveFrom: '2025-01-01T00:00:00+03:00',
          fixedMonthlyMinor: '1500',
          taxRateBp: 1600,
          blocks,
        },
      });
      expect(v2.json).toMatchObject({
        version: 2,
        fixedMonthlyMinor: '1500',
        effectiveFrom: '2024-12-31T21:00:00.000Z',
      });
      const backdated = await call('POST', '/api/v1/tariffs', {
        body: { code: 'BIZ', name: 'Business', kind: 'electricity', effectiveFrom: '2024-06-01', blocks },
      });
      expect(backdated.status).toBe(409);
      const otherKind = await call('POST', '/api/v1/tariffs', {
        body: { code: 'BIZ', name: 'Business', kind: 'water', effectiveFrom: '2026-01-01', blocks },
      });
      expect(otherKind.status).toBe(400);
      expect(otherKind.json.detail).toContain('kind');
      const falling = await call('POST', '/api/v1/tariffs', {
        body: {
          code: 'BIZ',
          name: 'Business',
          kind: 'electricity',
          effectiveFrom: '2026-01-01',
          blocks: [
            { upToUnits: 100_000, priceMinorPerUnit: 40 },
            { upToUnits: 50_000, priceMinorPerUnit: 90 },
          ],
        },
      });
      expect(falling.status).toBe(400);
      expect(falling.json.detail).toContain('body.blocks.1.upToUnits');

      const in2024 = await call('GET', '/api/v1/tariffs/BIZ/current?at=2024-07-01', { as: 'service' });
      expect(in2024.json.version).toBe(1);
      expect((await call('GET', '/api/v1/tariffs/BIZ/current')).json.version).toBe(2);
      expect((await call('GET', '/api/v1/tariffs/BIZ/current?at=2023-01-01')).status).toBe(404);
      const list = await call('GET', '/api/v1/tariffs?code=BIZ');
      expect(list.json.tariffs.map((t: { version: number }) => t.version)).toEqual([2, 1]);
      expect(
        (
          await call('POST', '/api/v1/tariffs', {
            as: 'service',
            body: { code: 'X', name: 'X', kind: 'water', effectiveFrom: '2026-01-01', blocks },
          })
        ).status,
      ).toBe(403);
    });
  });

  describe('vendors and kiosks', () => {
    it('tops up a float once per Idempotency-Key, with an audit row', async () => {
      const vendor = await call('POST', '/api/v1/vendors', {
        body: { name: 'Pharmacy', creditLimitMinor: 10_000, commissionBp: 200 },
      });
      expect(vendor.status).toBe(201);
      const path = `/api/v1/vendors/${vendor.json.id}/float-topups`;
      const noKey = await call('POST', path, { body: { amountMinor: 5000 } });
      expect(noKey.json.code).toBe('idempotency_key_required');
      const zero = await call('POST', path, {
        headers: { 'idempotency-key': 'topup-0000' },
        body: { amountMinor: 0 },
      });
      expect(zero.status).toBe(400);
      expect(zero.json.detail).toContain('body.amountMinor');
      const headers = { 'idempotency-key': 'topup-0001' };
      const first = await call('POST', path, {
        headers,
        body: { amountMinor: '25000', note: 'cash at branch' },
      });
      expect(first.status).toBe(201);
      expect(first.json).toMatchObject({ replayed: false, floatMinor: '25000', float: '25.000' });
      const replay = await call('POST', path, { headers, body: { amountMinor: '25000' } });
      expect(replay.status).toBe(200);
      expect(replay.json).toMatchObject({ replayed: true, entryId: first.json.entryId, floatMinor: '25000' });
      const reused = await call('POST', path, { headers, body: { amountMinor: '30000' } });
      expect(reused.status).toBe(409);
      expect(reused.json.code).toBe('idempotency_key_reused');
      const listed = await call('GET', '/api/v1/vendors');
      expect(listed.json.vendors.find((v: { id: string }) => v.id === vendor.json.id)).toMatchObject({
        floatMinor: '25000',
        creditLimitMinor: '10000',
      });
      const audit = await call(
        'GET',
        `/api/v1/audit?subject=vendor:${vendor.json.id}&action=vendor.float_topup`,
      );
      expect(audit.json.entries).toHaveLength(1);
      expect(audit.json.entries[0].details).toMatchObject({ amountMinor: '25000', note: 'cash at branch' });
      expect((await call('POST', path, { as: 'service', headers, body: { amountMinor: 1 } })).status).toBe(
        403,
      );
    });

    it('shows a kiosk API key once; the key works until the kiosk is disabled', async () => {
      const created = await call('POST', `/api/v1/vendors/${seed.vendorId}/kiosks`, {
        body: { name: 'Till 9' },
      });
      expect(created.status).toBe(201);
      const apiKey: string = created.json.apiKey;
      expect(apiKey).toMatch(/^rks_/);
      const float = await call('GET', `/api/v1/vendors/${seed.vendorId}/float`, {
        as: null,
        headers: { 'x-api-key': apiKey },
      });
      expect(float.status).toBe(200);
      const kiosks = await call('GET', `/api/v1/vendors/${seed.vendorId}/kiosks`);
      expect(kiosks.json.kiosks.map((k: { name: string }) => k.name)).toEqual(['Till 1', 'Till 9']);
      expect(kiosks.text).not.toContain(apiKey);
      expect(kiosks.text).not.toContain('apiKey');
      // A kiosk may not use the operator API.
      const kioskAsOperator = await call('GET', '/api/v1/customers', {
        as: null,
        headers: { 'x-api-key': apiKey },
      });
      expect(kioskAsOperator.status).toBe(403);
      const noReason = await call('POST', `/api/v1/kiosks/${created.json.id}/disable`, { body: {} });
      expect(noReason.json.detail).toContain('body.reason');
      const disabled = await call('POST', `/api/v1/kiosks/${created.json.id}/disable`, {
        body: { reason: 'till stolen' },
      });
      expect(disabled.json.active).toBe(false);
      const after = await call('GET', `/api/v1/vendors/${seed.vendorId}/float`, {
        as: null,
        headers: { 'x-api-key': apiKey },
      });
      expect(after.status).toBe(401);
      expect(bodies.filter((b) => b.includes(apiKey))).toHaveLength(1);
      for (const line of logs) expect(line).not.toContain(apiKey);
    });
  });

  it('documents every operator route in the OpenAPI document, the key field as write-only input', async () => {
    const doc = await call('GET', '/openapi.json', { as: null });
    expect(doc.status).toBe(200);
    const paths = Object.keys(doc.json.paths);
    for (const path of [
      '/api/v1/customers',
      '/api/v1/customers/{customerId}',
      '/api/v1/premises',
      '/api/v1/accounts',
      '/api/v1/accounts/{accountId}',
      '/api/v1/accounts/{accountId}/transfer',
      '/api/v1/meters',
      '/api/v1/meters/{meterId}',
      '/api/v1/meters/{meterId}/account',
      '/api/v1/vending-keys',
      '/api/v1/tariffs',
      '/api/v1/tariffs/{code}/current',
      '/api/v1/vendors',
      '/api/v1/vendors/{vendorId}/float-topups',
      '/api/v1/vendors/{vendorId}/kiosks',
      '/api/v1/kiosks/{kioskId}/disable',
      '/api/v1/audit',
    ]) {
      expect(paths).toContain(path);
    }
    const keyAnswer = JSON.stringify(doc.json.paths['/api/v1/vending-keys'].get.responses);
    expect(keyAnswer).not.toContain('"key"');
  });

  it('lists every error code of the catalogue in docs/api.md', async () => {
    const doc = await readFile(new URL('../../docs/api.md', import.meta.url), 'utf8');
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      expect(doc).toContain(`| \`${code}\` | ${entry.status} |`);
    }
  });

  it('never shows a vending key in an answer or a log line', () => {
    expect(bodies.length).toBeGreaterThan(40);
    expect(logs.length).toBeGreaterThan(40);
    for (const hex of [VENDING_KEY_HEX, UPLOADED_KEY_HEX]) {
      const base64 = Buffer.from(hex, 'hex').toString('base64');
      for (const text of [...bodies, ...logs]) {
        expect(text.toLowerCase()).not.toContain(hex);
        expect(text).not.toContain(base64);
      }
    }
  });
});
