/**
 * What the staff screens gained after the demo, in Arabic and in English: a meter's page with the readings
 * chart from the aggregates (day and month), the last reading and a token meter's credit kept as energy, the
 * event, token and ledger kinds in the reader's language, and a command whose acknowledgement appears without
 * a reload; customer service opening a case for a customer who walked in, assigning it, and moving it on (the
 * case's own status is never offered as the move); the commissioning wizard warning before new MQTT credentials
 * cut off a meter that is active and online.
 */
import { describe, expect, it } from 'vitest';
import { expectDirection, unlabelledFields } from './layout.ts';
import {
  acknowledgeLatestCommand,
  DESKTOP,
  kioskSale,
  LANGS,
  pageDone,
  screenshot,
  signInAs,
  textOf,
  useWebWorld,
} from './support.ts';

const TEXT = {
  ar: {
    readNow: 'قراءة الآن',
    queued: 'في الانتظار',
    acknowledged: 'نُفِّذ',
    relayChanged: 'تغيّر المرحّل',
    credit: 'رصيد',
    month: 'شهر',
    kWh: 'ك.و.س',
  },
  en: {
    readNow: 'Read now',
    queued: 'queued',
    acknowledged: 'acknowledged',
    relayChanged: 'Relay changed',
    credit: 'Credit',
    month: 'Month',
    kWh: 'kWh',
  },
} as const;

const web = useWebWorld('staff-more', async (world) => {
  const db = world.server.core.store.db;
  await kioskSale(world, 'staff-more-1');
  // Five days of the cumulative register, the last one with the credit the meter keeps as energy (Wh left).
  const day = (n: number) => new Date(Date.now() - n * 86_400_000);
  await db
    .insertInto('readings')
    .values([
      { meter_id: world.seed.meterId, ts: day(5), energy_wh: 100_000n, relay: true },
      { meter_id: world.seed.meterId, ts: day(4), energy_wh: 104_000n, relay: true },
      { meter_id: world.seed.meterId, ts: day(3), energy_wh: 111_000n, relay: true },
      { meter_id: world.seed.meterId, ts: day(2), energy_wh: 114_500n, relay: true },
      { meter_id: world.seed.meterId, ts: day(1), energy_wh: 120_000n, relay: true, credit_wh: 91_250n },
    ])
    .execute();
  await db
    .insertInto('meter_events')
    .values({
      utility_id: world.seed.utilityId,
      meter_id: world.seed.meterId,
      ts: day(1),
      kind: 'relay_changed',
      details: { relay: 'connected', cause: 'credit_restored' },
    })
    .execute();
});

describe.each(LANGS)('staff screens after the demo (%s)', (lang) => {
  it("a meter's page: chart, last reading, credit in kWh, kinds translated, a command followed live", async () => {
    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, 'omar');
    await page.goto(`${web.world.url}/#/ops/meters/${web.world.seed.meterId}`);
    await page.locator('[data-screen="fleet-meter"]').waitFor();

    await expect.poll(() => textOf(page.getByTestId('meter-credit'))).toBe(`91.2 ${TEXT[lang].kWh}`);
    expect(await textOf(page.getByTestId('last-reading'))).toContain(`120.0 ${TEXT[lang].kWh}`);
    const chart = page.getByTestId('chart');
    await chart.waitFor();
    // Five days read: the first is the baseline (nothing used yet), then 4.0, 7.0, 3.5 and 5.5 kWh.
    expect(await chart.locator('rect.bar').count()).toBe(5);
    expect(await chart.getAttribute('aria-label')).toContain(`20.0 ${TEXT[lang].kWh}`);
    await expect
      .poll(() => textOf(page.getByTestId('consumption-total')))
      .toContain(`20.0 ${TEXT[lang].kWh}`);
    await page.locator('button[data-bucket="month"]').click();
    await expect
      .poll(() => page.locator('button[data-bucket="month"]').getAttribute('aria-pressed'))
      .toBe('true');
    await expect.poll(() => textOf(page.locator('h3'))).not.toBe('');
    await page.getByTestId('chart').waitFor();

    const tables = await page.locator('table').allTextContents();
    expect(tables.join(' ')).toContain(TEXT[lang].relayChanged);
    expect(tables.join(' ')).toContain(TEXT[lang].credit);
    expect(tables.join(' ')).not.toContain('relay_changed');

    // A read-now: the page follows the command until the meter's acknowledgement, with no reload.
    expect(await page.getByTestId('command-live').getAttribute('aria-live')).toBe('polite');
    await page.getByRole('button', { name: TEXT[lang].readNow, exact: true }).click();
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    await dialog.locator('.actions button.primary').click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => textOf(page.getByTestId('command-live'))).toContain(TEXT[lang].readNow);
    const url = page.url();
    // The meter acknowledges the read-now.
    await acknowledgeLatestCommand(web.world, web.world.seed.meterId, 'read_now');
    await expect
      .poll(() => textOf(page.getByTestId('command-live')), { timeout: 15_000 })
      .toBe(`${TEXT[lang].readNow}: ${TEXT[lang].acknowledged}`);
    await expect
      .poll(() => textOf(page.getByTestId('commands').locator('tr').first().locator('td').nth(1)))
      .toBe(TEXT[lang].acknowledged);
    expect(page.url()).toBe(url);
    await expectDirection(page, lang);
    await screenshot(page, `staff-meter-live-${lang}`);
    await page.getByTestId('chart').scrollIntoViewIfNeeded();
    await screenshot(page, `staff-meter-chart-${lang}`);
    await pageDone(page);
  });

  it('customer service opens a case for a walk-in customer, assigns it, and moves it on', async () => {
    const subject = `Meter display blank (${lang})`;
    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, 'salma');
    await page.locator('[data-screen="cases"]').waitFor();
    await page.getByTestId('new-case').click();
    await page.locator('[data-screen="case-new"]').waitFor();
    // Without a customer the form says so.
    await page.locator('#case-subject').fill(subject);
    await page.locator('form:not([role=search]) button[type=submit]').click();
    await page.locator('.field-error[role=alert]').waitFor();

    await page.locator('#case-find').fill('jo-M-0001');
    await page.locator('form[role=search] button[type=submit]').click();
    await page.getByTestId('case-customers').locator('input[type=radio]').first().check();
    await page.locator('#case-channel').selectOption('walk_in');
    await page.locator('#case-category').selectOption('meter_fault');
    await page.locator('#case-description').fill('The display shows nothing since yesterday.');
    await expect.poll(() => page.locator('#case-assignee option').count()).toBeGreaterThan(2);
    await page.locator('#case-assignee').selectOption('me');
    expect(await unlabelledFields(page)).toBe(0);
    await expectDirection(page, lang);
    await screenshot(page, `service-case-new-${lang}`);
    await page.locator('form:not([role=search]) button[type=submit]').click();

    await page.locator('[data-screen="case"]').waitFor();
    await expect.poll(() => textOf(page.getByTestId('case-assignee'))).toBe('salma');
    const db = web.world.server.core.store.db;
    const row = await db
      .selectFrom('cases as c')
      .innerJoin('users as u', 'u.id', 'c.assignee_id')
      .select(['c.channel', 'c.category', 'c.meter_id', 'c.customer_id', 'c.status', 'u.username'])
      .where('c.subject', '=', subject)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({
      channel: 'walk_in',
      category: 'meter_fault',
      meter_id: web.world.seed.meterId,
      customer_id: web.world.seed.customerId,
      status: 'open',
      username: 'salma',
    });

    // Moved on: the list no longer offers the status the case is in.
    const options = () =>
      page.locator('#case-next option').evaluateAll((os) => os.map((o) => o.getAttribute('value')));
    expect(await options()).toEqual(['in_progress', 'waiting_customer', 'resolved', 'closed']);
    await page.locator('#case-next').selectOption('in_progress');
    await page
      .locator('#case-note')
      .fill(lang === 'ar' ? 'سيزوركم فني غدًا.' : 'A technician will call tomorrow.');
    await page.locator('form.case-move button[type=submit]').click();
    await expect.poll(options).toEqual(['waiting_customer', 'resolved', 'closed']);

    // Handed to the operator on duty.
    const omar = await db
      .selectFrom('users')
      .select('id')
      .where('username', '=', 'omar')
      .executeTakeFirstOrThrow();
    await page.locator('#case-assign').selectOption(omar.id);
    await page.locator('form.case-assign button[type=submit]').click();
    await expect.poll(() => textOf(page.getByTestId('case-assignee'))).toBe('omar');
    await expect
      .poll(() => textOf(page.locator('.timeline')))
      .toContain(lang === 'ar' ? 'أُسندت إلى \u2068omar\u2069.' : 'Assigned to \u2068omar\u2069.');
    await expectDirection(page, lang);
    await screenshot(page, `service-case-assigned-${lang}`);
    await pageDone(page);
  });

  it('the commissioning wizard warns before new MQTT credentials cut off a meter in service', async () => {
    const db = web.world.server.core.store.db;
    await db.updateTable('meters').set({ online: true }).where('id', '=', web.world.seed.meterId).execute();
    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, 'tariq');
    await page.goto(`${web.world.url}/#/tech/commission`);
    await page.locator('[data-screen="commission"]').waitFor();
    await page.locator('#commission-serial').fill('jo-M-0001');
    await page.locator('form[role=search] button[type=submit]').click();
    await page.getByTestId('found-meter').waitFor();
    await page.locator('[data-testid="found-meter"] + .actions button.primary').click();
    await expect.poll(() => textOf(page.getByTestId('in-service'))).toContain('jo-M-0001');

    await page.locator('li[data-step="credentials"] .actions > button.danger').click();
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    expect(await textOf(dialog.locator('h2'))).toContain('jo-M-0001');
    await expectDirection(page, lang);
    await screenshot(page, `technician-in-service-${lang}`);
    // Cancelled: nothing issued, the meter keeps its password.
    await dialog.locator(':scope > .actions > button:not(.primary)').click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.getByTestId('mqtt-password').count()).toBe(0);
    const meter = await db
      .selectFrom('meters')
      .select('mqtt_password_hash')
      .where('id', '=', web.world.seed.meterId)
      .executeTakeFirstOrThrow();
    expect(meter.mqtt_password_hash).toBeNull();
    await pageDone(page);
  });
});
