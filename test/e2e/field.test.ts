/**
 * A door-to-door campaign in the browser: a supervisor (English, desk) opens it over an area and assigns the
 * area to a technician; the field agent on a phone (390×844, Arabic) records three visits
 * with the network cut off — the visits wait on the phone — and when the connection returns they arrive at
 * the server once each; then a supervisor (English, desk) applies the phone number a visit found, and the
 * change shows in the audit log through the audit screen.
 */
import { describe, expect, it } from 'vitest';
import { request } from '../support/api.ts';
import { unlabelledFields } from './layout.ts';
import {
  DESKTOP,
  PHONE,
  pageDone,
  screenshot,
  signInAs,
  staffSession,
  textOf,
  useWebWorld,
} from './support.ts';

/** A 1×1 PNG: what the phone's camera gives the file input in this test (the screen shrinks it to JPEG). */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000a49444154789c6300010000050001' +
    '0d0a2db40000000049454e44ae426082',
  'hex',
);
const AT = { latitude: 33.8938, longitude: 35.5018 };

const web = useWebWorld('field');

const call = (token: string, method: string, path: string, body?: unknown) =>
  request(web.world.url, method, path, { token, ...(body !== undefined ? { body } : {}) });

describe('field campaign', () => {
  it('records three visits offline on a phone, sends each once when the connection returns, and a supervisor applies a change', async () => {
    const { world } = web;
    const db = world.server.core.store.db;
    const operator = await staffSession(world.url, 'jo', 'omar', 'correct horse battery');

    // Two more premises in the seeded premise's area, through the API.
    for (const address of ['14 Rainbow St', '16 Rainbow St']) {
      expect(
        (await call(operator, 'POST', '/api/v1/premises', { address, area: 'Jabal Amman' })).status,
      ).toBe(201);
    }
    // The supervisor opens the campaign over the area and assigns it to the technician tariq, on screen.
    const desk = await web.newPage('en', DESKTOP);
    await signInAs(desk, world.url, 'omar');
    await desk.goto(`${world.url}/#/field/campaigns`);
    await desk.locator('[data-screen="field-campaigns"]').waitFor();
    await desk.locator('#campaign-name').fill('Jabal Amman records');
    await desk.locator('#campaign-areas').fill('Jabal Amman');
    await desk.locator('form button[type=submit]').click();
    await desk.locator('[data-screen="field-campaign"]').waitFor();
    const campaignId = /\/field\/campaigns\/([0-9a-f-]{36})$/.exec(desk.url())?.[1] ?? '';
    expect(campaignId).toMatch(/^[0-9a-f-]{36}$/);
    await desk.locator('#assign-agent option', { hasText: 'tariq' }).waitFor({ state: 'attached' });
    await desk.locator('#assign-agent').selectOption({ label: 'tariq' });
    await desk.locator('#assign-areas').fill('Jabal Amman');
    await desk.locator('form button[type=submit]').click();
    await expect.poll(() => textOf(desk.locator('.alert.ok'))).toBe('Premises assigned: 3.');

    // The agent's phone.
    const page = await web.newPage('ar', PHONE);
    const context = page.context();
    await context.grantPermissions(['geolocation'], { origin: world.url });
    await context.setGeolocation({ ...AT, accuracy: 12 });
    const posts: number[] = [];
    page.on('response', (r) => {
      if (r.url().endsWith('/api/v1/field/visits') && r.request().method() === 'POST') posts.push(r.status());
    });
    await signInAs(page, world.url, 'tariq');
    await page.goto(`${world.url}/#/field`);
    await page.locator('[data-screen="field-work"]').waitFor();
    expect(await page.locator('html').getAttribute('dir')).toBe('rtl');
    await expect.poll(() => page.locator('[data-premise]').count()).toBe(3);
    // Wait for the service worker: the app's files are kept for a start without a connection.
    await page.evaluate('navigator.serviceWorker.ready.then(() => true)');

    await context.setOffline(true);
    await expect.poll(() => textOf(page.getByTestId('field-connection'))).toContain('لا يوجد اتصال');

    const premise = (address: string) => page.locator('[data-premise]', { hasText: address });
    // 1. The seeded premise: someone home, a new mobile number, the registered meter, its photo.
    await premise('12 Rainbow St').locator('button.primary').click();
    await page.locator('[data-screen="field-visit"]').waitFor();
    await expect.poll(() => textOf(page.getByTestId('field-position'))).toContain('سُجّل الموقع');
    await page.locator('#occupant').fill('Huda Haddad');
    await page.locator('#payer').fill('Huda Haddad');
    await page.locator('#phone').fill('+962790000555');
    await page.locator('#meter-serial').fill('jo-M-0001');
    await page.locator('#meter-reading').fill('1234.5');
    await page
      .locator('#meter-photo')
      .setInputFiles({ name: 'meter.png', mimeType: 'image/png', buffer: PNG });
    await page.getByTestId('field-photo-size').waitFor();
    expect(await unlabelledFields(page)).toBe(0);
    await screenshot(page, 'field-visit-ar');
    await page.locator('form button[type=submit]').click();
    await page.locator('[data-screen="field-work"]').waitFor();

    // 2. Nobody home.
    await premise('14 Rainbow St').locator('button.primary').click();
    await page.locator('#outcome-nobody_home').check();
    await page.locator('form button[type=submit]').click();
    await page.locator('[data-screen="field-work"]').waitFor();

    // 3. A meter the records do not know.
    await premise('16 Rainbow St').locator('button.primary').click();
    await page.locator('#occupant').fill('Rami Khoury');
    await page.locator('#meter-serial').fill('UNREG-77');
    await page.locator('#tamper-signs').check();
    await page.locator('form button[type=submit]').click();
    await page.locator('[data-screen="field-work"]').waitFor();

    await expect.poll(() => textOf(page.getByTestId('field-waiting'))).toMatch(/[3٣]$/);
    // Still offline, the page is opened again: the app comes from the service worker, the premises and the
    // three visits from the phone's store.
    await page.reload();
    await page.locator('[data-screen="field-work"]').waitFor();
    expect(await textOf(page.getByTestId('field-connection'))).toContain('لا يوجد اتصال');
    await expect.poll(() => page.locator('[data-premise]').count()).toBe(3);
    await expect.poll(() => textOf(page.getByTestId('field-waiting'))).toMatch(/[3٣]$/);
    await screenshot(page, 'field-offline-ar');
    expect(await db.selectFrom('field_visits').select('id').execute()).toEqual([]);
    expect(posts.filter((s) => s === 201 || s === 200)).toEqual([]);
    // What the phone keeps: the visits' ids in its IndexedDB outbox (page script, as a string: no DOM types here).
    const queued = (await page.evaluate(`new Promise((resolve, reject) => {
      const req = indexedDB.open('rasid-field');
      req.onsuccess = () => {
        const keys = req.result.transaction('outbox').objectStore('outbox').getAllKeys();
        keys.onsuccess = () => resolve(keys.result.map(String));
        keys.onerror = () => reject(keys.error);
      };
      req.onerror = () => reject(req.error);
    })`)) as string[];
    expect(queued).toHaveLength(3);

    // The connection returns: the phone sends what waits, each once.
    await context.setOffline(false);
    await expect.poll(() => textOf(page.getByTestId('field-waiting')), { timeout: 30_000 }).toMatch(/[0٠]$/);
    const stored = await db
      .selectFrom('field_visits')
      .select(['id', 'outcome', 'meter_serial', 'photo_type', 'latitude', 'longitude', 'phone'])
      .orderBy('visited_at')
      .execute();
    expect(stored.map((v) => v.id).sort()).toEqual([...queued].sort());
    expect(stored.map((v) => [v.outcome, v.meter_serial])).toEqual([
      ['visited', 'jo-M-0001'],
      ['nobody_home', null],
      ['visited', 'UNREG-77'],
    ]);
    expect(stored[0]).toMatchObject({ photo_type: 'image/jpeg', phone: '+962790000555', ...AT });
    expect(posts).toEqual([201, 201, 201]);
    // Another round sends nothing more, and the same visit sent again is not stored twice.
    await page.reload();
    await page.locator('[data-screen="field-work"]').waitFor();
    await expect.poll(() => page.locator('[data-testid="field-premise-state"]').count()).toBe(3);
    expect(posts).toEqual([201, 201, 201]);
    expect(await db.selectFrom('field_visits').select('id').execute()).toHaveLength(3);
    await pageDone(page);

    // The supervisor: KPIs, the unregistered meter, and the proposed phone number applied.
    await desk.goto(`${world.url}/#/field/campaigns`);
    await desk.locator('[data-screen="field-campaigns"]').waitFor();
    await desk.goto(`${world.url}/#/field/campaigns/${campaignId}`);
    await desk.locator('[data-screen="field-campaign"]').waitFor();
    await expect.poll(() => textOf(desk.getByTestId('field-unregistered'))).toContain('UNREG-77');
    // Premises 3, visited 2, verified 1 (the other has a change waiting), nobody home 1, refused 0,
    // corrected 0, awaiting review 1, unregistered meters 1.
    const area = desk.getByTestId('field-kpi-area').locator('tbody tr', { hasText: 'Jabal Amman' });
    await expect.poll(() => textOf(area)).toMatch(/^Jabal Amman\s*3\s*2\s*1\s*1\s*0\s*0\s*1\s*1$/);
    const change = desk.locator('[data-change="customer.phone"]');
    expect(await textOf(change)).toContain('+962790000555');
    await screenshot(desk, 'field-campaign-en');
    await change.locator('button.primary').click();
    await expect.poll(() => textOf(desk.getByTestId('field-reviewed'))).toContain('Applied');

    const customer = await db
      .selectFrom('customers')
      .select('phone')
      .where('id', '=', world.seed.customerId)
      .executeTakeFirstOrThrow();
    expect(customer.phone).toBe('+962790000555');
    await desk.goto(`${world.url}/#/ops/audit`);
    await desk.locator('#audit-subject').fill(`customer:${world.seed.customerId}`);
    await desk.locator('form button[type=submit]').click();
    await expect
      .poll(() => textOf(desk.getByTestId('audit-table')), { timeout: 15_000 })
      .toContain('customer.update');
    expect(await textOf(desk.getByTestId('audit-table'))).toContain('field.change.apply');
    await pageDone(desk);
  });
});
