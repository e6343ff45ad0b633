/**
 * Door-to-door campaigns from an empty install (`rasid init`, then HTTP only): an operator opens a campaign
 * over an area and assigns it to field agents; an agent's visit sent twice is stored once; its differences
 * from the records are proposed, applied or rejected by the operator through the audited customer path; the
 * roles are kept apart and a photo that is not what it claims is refused.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FreshInstall, freshInstall } from '../support/fresh.ts';

const U = 'fieldapi';
const PASSWORD = 'agent password 1';
/** A JPEG's first bytes and end marker: enough for the server's type check. */
const JPEG = Buffer.from('ffd8ffe000104a46494600010100000100010000ffd9', 'hex').toString('base64');

describe('field campaigns from an empty install', () => {
  let f: FreshInstall;
  let admin: string;
  let agent: string;
  let other: string;
  let campaignId: string;
  let premiseId: string;
  let customerId: string;
  const as = (token: string) => (method: string, path: string, body?: unknown) =>
    f.call(token, method, path, body);

  beforeAll(async () => {
    f = await freshInstall('field-api', [{ code: U }]);
    admin = await f.signIn(U, 'admin');
    const call = as(admin);
    for (const username of ['agent1', 'agent2']) {
      expect(
        (await call('POST', '/api/v1/users', { username, role: 'technician', password: PASSWORD })).status,
      ).toBe(201);
    }
    agent = await f.signIn(U, 'agent1', PASSWORD);
    other = await f.signIn(U, 'agent2', PASSWORD);
    const customer = await call('POST', '/api/v1/customers', { name: 'Nadia Saade', phone: '+96171000001' });
    customerId = customer.json.id;
    const premise = await call('POST', '/api/v1/premises', { address: 'Rue Hamra 10', area: 'Hamra' });
    premiseId = premise.json.id;
    await call('POST', '/api/v1/premises', { address: 'Rue Hamra 12', area: 'Hamra' });
    await call('POST', '/api/v1/premises', { address: 'Rue Verdun 1', area: 'Verdun' });
    const account = await call('POST', '/api/v1/accounts', { customerId, premiseId });
    expect(account.status).toBe(201);
    const meter = await call('POST', '/api/v1/meters', {
      serial: 'W-1001',
      kind: 'water',
      protocol: 'mqtt',
      mode: 'central',
      accountId: account.json.id,
    });
    expect(meter.status).toBe(201);
  }, 180_000);

  afterAll(async () => {
    await f?.close();
  });

  it('opens a campaign over an area and assigns it to an agent, who alone sees its premises', async () => {
    const c = await as(admin)('POST', '/api/v1/field/campaigns', { name: 'Hamra 2026', areas: ['Hamra'] });
    expect(c).toMatchObject({ status: 201, json: { premises: 2 } });
    campaignId = c.json.id;
    const users = await as(admin)('GET', '/api/v1/users');
    const agent1 = users.json.users.find((u: { username: string }) => u.username === 'agent1');
    const assigned = await as(admin)('POST', `/api/v1/field/campaigns/${campaignId}/assignments`, {
      agentId: agent1.id,
      areas: ['Hamra'],
    });
    expect(assigned.json).toEqual({ assigned: 2 });

    const mine = await as(agent)('GET', '/api/v1/field/my-premises');
    expect(mine.status).toBe(200);
    expect(mine.json.premises.map((p: { address: string }) => p.address)).toEqual([
      'Rue Hamra 10',
      'Rue Hamra 12',
    ]);
    expect(mine.json.premises[0]).toMatchObject({
      account: { holderName: 'Nadia Saade', phone: '+96171000001' },
      meters: [{ serial: 'W-1001', kind: 'water' }],
      lastOutcome: null,
    });
    expect((await as(other)('GET', '/api/v1/field/my-premises')).json.premises).toEqual([]);
    // Agents do not run campaigns; operators do not record visits.
    expect((await as(agent)('GET', '/api/v1/field/campaigns')).status).toBe(403);
    expect((await as(admin)('GET', '/api/v1/field/my-premises')).json.premises).toEqual([]);
  });

  it('stores a visit once however often it is sent, and proposes what differs', async () => {
    const visit = {
      id: randomUUID(),
      campaignId,
      premiseId,
      outcome: 'visited',
      visitedAt: '2026-12-07T08:15:00Z',
      occupantName: 'Nadia Saade',
      payerName: 'Nadia Saade',
      phone: '+96171999999',
      meter: {
        serial: 'W-1001',
        reading: '345.120',
        sealNumber: 'S-77',
        sealIntact: true,
        tamperSigns: false,
      },
      position: { latitude: 33.8959, longitude: 35.4786, accuracy: 9 },
      photo: { type: 'image/jpeg', data: JPEG },
    };
    const first = await as(agent)('POST', '/api/v1/field/visits', visit);
    expect(first).toMatchObject({ status: 201, json: { id: visit.id, duplicate: false, proposed: 1 } });
    const second = await as(agent)('POST', '/api/v1/field/visits', visit);
    expect(second).toMatchObject({ status: 200, json: { id: visit.id, duplicate: true, proposed: 0 } });
    // Another agent may not record here, nor reuse the id.
    expect((await as(other)('POST', '/api/v1/field/visits', { ...visit, id: randomUUID() })).status).toBe(
      403,
    );
    expect((await as(other)('POST', '/api/v1/field/visits', visit)).status).toBe(409);

    const visits = await as(admin)('GET', `/api/v1/field/campaigns/${campaignId}/visits`);
    expect(visits.json.visits).toHaveLength(1);
    expect(visits.json.visits[0]).toMatchObject({ agent: 'agent1', meterReading: '345.120', photo: true });
    const photo = await fetch(`${f.url}/api/v1/field/visits/${visit.id}/photo`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(photo.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await photo.arrayBuffer()).toString('base64')).toBe(JPEG);
  });

  it('refuses a photo whose bytes are not its type, and a malformed visit', async () => {
    const base = { campaignId, premiseId, outcome: 'visited', visitedAt: '2026-12-07T09:00:00Z' };
    const png = await as(agent)('POST', '/api/v1/field/visits', {
      ...base,
      id: randomUUID(),
      photo: { type: 'image/png', data: JPEG },
    });
    expect(png).toMatchObject({ status: 400, json: { code: 'validation_failed' } });
    const phone = await as(agent)('POST', '/api/v1/field/visits', {
      ...base,
      id: randomUUID(),
      phone: '71 000',
    });
    expect(phone).toMatchObject({ status: 400, json: { code: 'validation_failed' } });
    const outcome = await as(agent)('POST', '/api/v1/field/visits', {
      ...base,
      id: randomUUID(),
      outcome: 'maybe',
    });
    expect(outcome.status).toBe(400);
  });

  it('applies a proposed change through the customer path, audited, and counts it as a correction', async () => {
    const proposed = await as(admin)('GET', `/api/v1/field/changes?status=proposed&campaignId=${campaignId}`);
    expect(
      proposed.json.changes.map((c: { kind: string; current: string; proposed: string }) => [
        c.kind,
        c.current,
        c.proposed,
      ]),
    ).toEqual([['customer.phone', '+96171000001', '+96171999999']]);
    const id = proposed.json.changes[0].id;
    expect((await as(agent)('POST', `/api/v1/field/changes/${id}/apply`)).status).toBe(403);
    expect(await as(admin)('POST', `/api/v1/field/changes/${id}/apply`)).toMatchObject({
      status: 200,
      json: { status: 'applied' },
    });
    expect((await as(admin)('POST', `/api/v1/field/changes/${id}/apply`)).status).toBe(409);
    expect((await as(admin)('GET', `/api/v1/customers/${customerId}`)).json.phone).toBe('+96171999999');

    const audit = await as(admin)('GET', `/api/v1/audit?subject=customer:${customerId}`);
    const actions = audit.json.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['customer.update', 'field.change.apply']));

    const kpis = await as(admin)('GET', `/api/v1/field/campaigns/${campaignId}/kpis`);
    expect(kpis.json.total).toMatchObject({
      premises: 2,
      assigned: 2,
      visited: 1,
      verified: 1,
      corrected: 1,
      pending: 0,
    });
    expect(kpis.json.byArea.map((a: { area: string }) => a.area)).toEqual(['Hamra']);
    expect(kpis.json.byAgent).toEqual([
      expect.objectContaining({ agent: 'agent1', visited: 1, corrected: 1 }),
    ]);
    const meters = await as(admin)('GET', `/api/v1/field/campaigns/${campaignId}/meters`);
    expect(meters.json).toEqual({ unregistered: [], notFound: [] });
  });
});
