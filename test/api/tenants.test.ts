/**
 * Several utilities on one install, made only through Rasid's interfaces (`rasid init` twice, then a
 * platform administrator's POST /api/v1/utilities): each has its own `admin`, sign-in is utility code +
 * username, and nothing of one utility is visible to another's staff (404, never 403).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FreshInstall, freshInstall } from '../support/fresh.ts';

describe('two utilities on one install', () => {
  let f: FreshInstall;
  let north: string;
  let south: string;

  beforeAll(async () => {
    f = await freshInstall('tenants', [
      { code: 'north', password: 'north-admin-password' },
      { code: 'south', currency: 'BHD', timezone: 'Asia/Bahrain', password: 'south-admin-password' },
    ]);
    north = await f.signIn('north', 'admin', 'north-admin-password');
    south = await f.signIn('south', 'admin', 'south-admin-password');
  }, 240_000);

  afterAll(async () => {
    await f?.close();
  });

  it('signs in by utility code and username: each admin with its own password only', async () => {
    const wrong = await f.call(null, 'POST', '/api/v1/sessions', {
      utility: 'south',
      username: 'admin',
      password: 'north-admin-password',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.json.code).toBe('unauthenticated');
    const unknown = await f.call(null, 'POST', '/api/v1/sessions', {
      utility: 'west',
      username: 'admin',
      password: 'north-admin-password',
    });
    expect(unknown.status).toBe(401);
  });

  it('lets the platform administrator create a third utility over HTTP, and no one else', async () => {
    const body = {
      code: 'east',
      name: 'East Water',
      nameAr: 'مياه الشرق',
      currency: 'KWD',
      timezone: 'Asia/Kuwait',
      admin: 'admin',
      password: 'east-admin-password',
    };
    const refused = await f.call(south, 'POST', '/api/v1/utilities', body);
    expect(refused.status).toBe(403);
    const made = await f.call(north, 'POST', '/api/v1/utilities', body);
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ code: 'east', currency: 'KWD', exponent: 3, admin: 'admin' });
    const again = await f.call(north, 'POST', '/api/v1/utilities', body);
    expect(again.status).toBe(409);
    expect(again.json.code).toBe('utility_exists');
    const bad = await f.call(north, 'POST', '/api/v1/utilities', { ...body, code: 'x y', currency: 'ABC' });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('validation_failed');
    const east = await f.signIn('east', 'admin', 'east-admin-password');
    const settings = await f.call(east, 'GET', '/api/v1/utility/settings');
    expect(settings.json).toMatchObject({ code: 'east', nameAr: 'مياه الشرق', currency: 'KWD', exponent: 3 });
  });

  it('keeps usernames unique within a utility, not across utilities', async () => {
    const op = { username: 'operator', role: 'operator', password: 'operator-password' };
    expect((await f.call(north, 'POST', '/api/v1/users', op)).status).toBe(201);
    expect((await f.call(south, 'POST', '/api/v1/users', op)).status).toBe(201);
    const twice = await f.call(north, 'POST', '/api/v1/users', op);
    expect(twice.status).toBe(409);
    expect(twice.json.code).toBe('conflict');
    const token = await f.signIn('south', 'operator', 'operator-password');
    const meters = await f.call(token, 'GET', '/api/v1/meters');
    expect(meters.status).toBe(200);
  });

  it("answers 404 to one utility's staff for everything of the other", async () => {
    const customer = await f.call(north, 'POST', '/api/v1/customers', {
      name: 'Hamad',
      phone: '+96891000009',
    });
    const premise = await f.call(north, 'POST', '/api/v1/premises', { address: 'Way 7' });
    const account = await f.call(north, 'POST', '/api/v1/accounts', {
      customerId: customer.json.id,
      premiseId: premise.json.id,
    });
    const meter = await f.call(north, 'POST', '/api/v1/meters', {
      serial: 'N-0001',
      kind: 'electricity',
      protocol: 'mqtt',
      mode: 'central',
      accountId: account.json.id,
    });
    expect([customer.status, premise.status, account.status, meter.status]).toEqual([201, 201, 201, 201]);
    const m = meter.json.id;
    for (const path of [
      `/api/v1/customers/${customer.json.id}`,
      `/api/v1/accounts/${account.json.id}`,
      `/api/v1/meters/${m}`,
      `/api/v1/fleet/meters/${m}`,
      `/api/v1/meters/${m}/readings`,
    ]) {
      const r = await f.call(south, 'GET', path);
      expect([path, r.status]).toEqual([path, 404]);
      expect((await f.call(north, 'GET', path)).status).toBe(200);
    }
    for (const [method, path, body] of [
      ['POST', `/api/v1/meters/${m}/state`, { to: 'installed', reason: 'not yours' }],
      ['POST', `/api/v1/meters/${m}/mqtt-credentials`, undefined],
      ['PUT', `/api/v1/meters/${m}/account`, { accountId: null }],
    ] as const) {
      const r = await f.call(south, method, path, body);
      expect([path, r.status]).toEqual([path, 404]);
    }
    const lists = await Promise.all([
      f.call(south, 'GET', '/api/v1/meters'),
      f.call(south, 'GET', '/api/v1/customers'),
      f.call(south, 'GET', '/api/v1/audit'),
    ]);
    expect(lists[0].json.meters).toEqual([]);
    expect(lists[1].json.customers).toEqual([]);
    expect(JSON.stringify(lists[2].json)).not.toContain(m);
    const users = await f.call(south, 'GET', '/api/v1/users');
    expect(users.json.users.map((u: { username: string }) => u.username)).toEqual(['admin', 'operator']);
  });
});
