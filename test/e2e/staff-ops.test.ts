/**
 * The operator's and customer service's further screens, in Arabic and in English: a meter's page (a vend's
 * token pushed, the clock set, each after a confirmation), reports with the period picker and the CSV,
 * a new tariff version with blocks, a new kiosk whose key is shown once and works, the audit log filtered, and
 * customer service transferring an account to an heir (evidence, eligibility, the heir told).
 */
import { describe, expect, it } from 'vitest';
import type { AccountId, CustomerId } from '../../src/store/schema.ts';
import { expectDirection, unlabelledFields } from './layout.ts';
import {
  DESKTOP,
  kioskSale,
  LANGS,
  type Page,
  pageDone,
  screenshot,
  signInAs,
  textOf,
  useWebWorld,
} from './support.ts';

let vendId = '';

const web = useWebWorld('staff-ops', async (world) => {
  vendId = (await kioskSale(world, 'staff-ops-1')).vendId;
});

async function confirm(page: Page) {
  const dialog = page.locator('dialog[open]');
  await dialog.waitFor();
  await dialog.locator('button.primary').click();
  await dialog.waitFor({ state: 'hidden' });
}

const commandsOf = (kind: string) =>
  web.world.server.core.store.db
    .selectFrom('commands')
    .select(['kind', 'payload', 'reason'])
    .where('meter_id', '=', web.world.seed.meterId)
    .where('kind', '=', kind as never)
    .execute();

describe.each(LANGS)('operator screens (%s)', (lang) => {
  it("a meter's page pushes a vend's token and sets the clock, each after a confirmation", async () => {
    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, 'omar');
    await page.goto(`${web.world.url}/#/ops/meters/${web.world.seed.meterId}`);
    await page.locator('[data-screen="fleet-meter"]').waitFor();
    await page.getByTestId('push-token').first().click();
    await confirm(page);
    await expect.poll(async () => (await commandsOf('token')).length).toBe(1);
    expect((await commandsOf('token'))[0]?.reason).toBe(`vend:${vendId}`);

    await page.getByRole('button', { name: lang === 'ar' ? 'ضبط الساعة' : 'Set the clock' }).click();
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    await expectDirection(page, lang);
    await screenshot(page, `operator-timesync-${lang}`);
    await confirm(page);
    await expect.poll(async () => (await commandsOf('time_sync')).length).toBe(LANGS.indexOf(lang) + 1);
    const sync = (await commandsOf('time_sync')).at(-1);
    expect(Date.parse((sync?.payload as { time?: string } | undefined)?.time ?? '')).not.toBeNaN();
    await pageDone(page);
  });

  it("an account's arrears read in the page's currency name: د.أ. in Arabic, JOD in English", async () => {
    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, 'omar');
    await page.goto(`${web.world.url}/#/ops/accounts/${web.world.seed.accountId}/arrears`);
    await page.locator('[data-screen="arrears"]').waitFor();
    const outstanding = await textOf(page.getByTestId('arrears-outstanding'));
    expect(outstanding).toContain(lang === 'ar' ? 'د.أ.' : 'JOD');
    if (lang === 'ar') expect(outstanding).not.toContain('JOD');
    await pageDone(page);
  });

  it('reports: revenue and consumption per day, another period, and the CSV', async () => {
    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, 'omar');
    await page.getByRole('link', { name: lang === 'ar' ? 'التقارير' : 'Reports' }).click();
    await page.locator('[data-screen="reports"]').waitFor();
    await expect.poll(() => textOf(page.getByTestId('revenue-total'))).toBe('5.000');
    await page.getByTestId('consumption-table').waitFor();
    expect(await unlabelledFields(page)).toBe(0);
    await expectDirection(page, lang);
    await screenshot(page, `operator-reports-${lang}`);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('revenue-csv').click(),
    ]);
    const path = await download.path();
    const { readFile } = await import('node:fs/promises');
    const csv = await readFile(path, 'utf8');
    expect(csv.split('\r\n')[0]).toBe(
      'day,currency,vends,paid,online,vendor,reversals,reversed,energy_wh,volume_l',
    );
    expect(csv).toContain(',JOD,1,5.000,');

    // A period before the sale shows nothing.
    await page.locator('#report-from').fill('2020-01-01');
    await page.locator('#report-to').fill('2020-01-08');
    await page.locator('form.period button[type=submit]').click();
    await expect.poll(() => textOf(page.getByTestId('revenue-total'))).toBe('0.000');
    await pageDone(page);
  });

  it('tariffs: a new version with two blocks', async () => {
    const code = `T-${lang.toUpperCase()}`;
    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, 'omar');
    await page.goto(`${web.world.url}/#/ops/tariffs`);
    await page.getByTestId('tariff-table').waitFor();
    await page.locator('#tariff-code').fill(code);
    await page.locator('#tariff-name').fill(`Commercial ${lang}`);
    await page.locator('#tariff-tax').fill('16');
    await page.locator('#tariff-min').fill('1');
    await page.locator('#block-upto-0').fill('200');
    await page.locator('#block-price-0').fill('0.050');
    await page.getByRole('button', { name: lang === 'ar' ? 'أضف شريحة' : 'Add a block' }).click();
    await page.locator('#block-price-1').fill(lang === 'ar' ? '٠٫١٢' : '0.12');
    expect(await unlabelledFields(page)).toBe(0);
    await screenshot(page, `operator-tariffs-${lang}`);
    await page.locator('form.tariff-form button[type=submit]').click();
    await expect.poll(() => textOf(page.locator('.alert.ok'))).toContain(code);
    const row = await web.world.server.core.store.db
      .selectFrom('tariffs')
      .select(['version', 'tax_rate_bp', 'min_purchase_minor', 'blocks', 'price_per_units'])
      .where('code', '=', code)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ version: 1, tax_rate_bp: 1600, price_per_units: 1000 });
    expect(String(row.min_purchase_minor)).toBe('1000');
    expect(row.blocks).toEqual([
      { upToUnits: 200_000, priceMinorPerUnit: 50 },
      { upToUnits: null, priceMinorPerUnit: 120 },
    ]);
    await expect.poll(() => textOf(page.getByTestId('tariff-table'))).toContain(code);
    await pageDone(page);
  });

  it('tariffs: a time-of-use version, two periods refused while they overlap, then stored', async () => {
    const code = `TOU-${lang.toUpperCase()}`;
    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, 'omar');
    await page.goto(`${web.world.url}/#/ops/tariffs`);
    await page.getByTestId('tariff-table').waitFor();
    await page.locator('#tariff-code').fill(code);
    await page.locator('#tariff-name').fill(`Time of use ${lang}`);
    await page.locator('input[name=scheme][value=tou]').check();
    await page.getByTestId('tou-editor').waitFor();
    await page.locator('#season-name-0').fill(lang === 'ar' ? 'السنة' : 'year');
    await page.locator('#period-name-0-0').fill(lang === 'ar' ? 'ليل' : 'night');
    await page.locator('#period-from-0-0').fill('0');
    await page.locator('#period-to-0-0').fill('13');
    await page.locator('#period-price-0-0').fill('0.010');
    await page.getByRole('button', { name: lang === 'ar' ? 'أضف فترة' : 'Add a period' }).click();
    await page.locator('#period-name-0-1').fill(lang === 'ar' ? 'نهار' : 'day');
    await page.locator('#period-from-0-1').fill('12');
    await page.locator('#period-to-0-1').fill('24');
    await page.locator('#period-price-0-1').fill('0.040');
    expect(await unlabelledFields(page)).toBe(0);
    await page.locator('form.tariff-form button[type=submit]').click();
    // The server names the overlap; nothing is stored.
    await expect.poll(() => textOf(page.locator('form.tariff-form .alert'))).toContain('12:00');
    await page.locator('#period-to-0-0').fill('12');
    await screenshot(page, `operator-tariffs-tou-${lang}`);
    await page.locator('form.tariff-form button[type=submit]').click();
    await expect.poll(() => textOf(page.locator('.alert.ok'))).toContain(code);
    const row = await web.world.server.core.store.db
      .selectFrom('tariffs')
      .select(['version', 'tou', 'blocks'])
      .where('code', '=', code)
      .executeTakeFirstOrThrow();
    expect(row.version).toBe(1);
    expect(row.tou?.[0]?.periods.map((p) => [p.fromHour, p.toHour, p.priceMinorPerUnit])).toEqual([
      [0, 12, 10],
      [12, 24, 40],
    ]);
    await expect.poll(() => textOf(page.getByTestId('tariff-table'))).toContain(code);
    await pageDone(page);
  });

  it('vendors: the float, a new kiosk whose key is shown once and opens the kiosk; the audit log filtered', async () => {
    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, 'omar');
    await page.goto(`${web.world.url}/#/ops/vendors`);
    await page.getByTestId('vendor-table').waitFor();
    await page.getByTestId('vendor-table').locator('button').first().click();
    await page.getByTestId('kiosk-table').waitFor();
    await page.locator('#kiosk-name').fill(`Till ${lang}`);
    await page.locator('section form button[type=submit]').click();
    const key = await textOf(page.getByTestId('kiosk-key').locator('code'));
    expect(key).toMatch(/^rks_/);
    await expect.poll(() => textOf(page.getByTestId('kiosk-table'))).toContain(`Till ${lang}`);
    await expectDirection(page, lang);
    await screenshot(page, `operator-vendors-${lang}`);
    const whoami = await fetch(`${web.world.url}/api/v1/web/whoami`, { headers: { 'x-api-key': key } });
    expect(whoami.status).toBe(200);
    expect(((await whoami.json()) as { role: string }).role).toBe('vendor');

    await page.getByRole('link', { name: lang === 'ar' ? 'سجل التدقيق' : 'Audit log' }).click();
    await page.locator('[data-screen="audit"]').waitFor();
    await page.locator('#audit-action').fill('kiosk.*');
    await page.locator('form.audit-filters button[type=submit]').click();
    await expect.poll(() => page.url()).toContain('action=kiosk.*');
    // Every row shown is a kiosk action, one of them this kiosk's creation.
    const actions = () => page.getByTestId('audit-table').locator('tbody td:nth-child(3)').allTextContents();
    await expect.poll(async () => [...new Set(await actions())]).toEqual(['kiosk.create']);
    expect(await textOf(page.getByTestId('audit-table'))).toContain(`Till ${lang}`);
    expect(await unlabelledFields(page)).toBe(0);
    await expectDirection(page, lang);
    await screenshot(page, `operator-audit-${lang}`);
    await pageDone(page);
  });
});

describe.each(LANGS)('customer service: transfer to an heir (%s)', (lang) => {
  it('finds the account and the heir, shows the eligibility, confirms, and the heir is told', async () => {
    const db = web.world.server.core.store.db;
    const number = `jo-H-${lang}`;
    const account = await db
      .insertInto('accounts')
      .values({
        utility_id: web.world.seed.utilityId,
        number,
        customer_id: web.world.seed.customerId,
        premise_id: web.world.seed.premiseId,
        subsidy_eligible: true,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const heirName = lang === 'ar' ? 'رامي حداد' : 'Rami Haddad';
    const heir = await db
      .insertInto('customers')
      .values({
        utility_id: web.world.seed.utilityId,
        name: heirName,
        preferred_language: lang,
        phone: lang === 'ar' ? '+962790000011' : '+962790000012',
      })
      .returning('id')
      .executeTakeFirstOrThrow();

    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, 'salma');
    await page.getByRole('link', { name: lang === 'ar' ? 'نقل حساب' : 'Transfer' }).click();
    await page.locator('[data-screen="transfer"]').waitFor();
    await page.locator('#transfer-account').fill(number);
    await page.locator('form[role=search] button[type=submit]').first().click();
    await page.getByTestId('transfer-account-facts').waitFor();
    await page.locator('#transfer-person').fill(heirName);
    await page.locator('form[role=search]').nth(1).locator('button[type=submit]').click();
    await page.getByRole('radio', { name: heirName }).check();
    await page.locator('#transfer-reason').selectOption('death');
    await expect
      .poll(() => textOf(page.getByTestId('eligibility-subsidy')))
      .toBe(
        lang === 'ar' ? 'ينتقل الدعم إلى صاحب الحساب الجديد.' : 'The subsidy carries over to the new holder.',
      );
    // A sale would end the subsidy; the screen says so before anything is done.
    await page.locator('#transfer-reason').selectOption('sale');
    await expect
      .poll(() => textOf(page.getByTestId('eligibility-subsidy')))
      .toBe(
        lang === 'ar'
          ? 'ينتهي الدعم: لا ينتقل إلا بالإرث.'
          : 'The subsidy ends: it passes only by inheritance.',
      );
    await page.locator('#transfer-reason').selectOption('death');
    await page.locator('#transfer-evidence').fill(`DC-2026-${lang}`);
    expect(await unlabelledFields(page)).toBe(0);
    await expectDirection(page, lang);
    await screenshot(page, `service-transfer-${lang}`);
    await page.locator('form:has(#transfer-evidence) button[type=submit]').click();
    await confirm(page);
    await page.getByTestId('transfer-done').waitFor();
    expect(await textOf(page.getByTestId('holder'))).toBe(heirName);
    await expect
      .poll(() => textOf(page.getByTestId('transfer-done')))
      .toContain(lang === 'ar' ? 'أُبلغ صاحب الحساب الجديد.' : 'The new holder has been notified.');
    await expect.poll(() => textOf(page.getByTestId('holder-history'))).toContain(`DC-2026-${lang}`);
    await screenshot(page, `service-transfer-done-${lang}`);

    const after = await db
      .selectFrom('accounts')
      .select(['customer_id', 'subsidy_eligible'])
      .where('id', '=', account.id as AccountId)
      .executeTakeFirstOrThrow();
    expect(after).toEqual({ customer_id: heir.id as CustomerId, subsidy_eligible: true });
    const told = await db
      .selectFrom('notifications_outbox')
      .select(['recipient', 'template'])
      .where('template', '=', 'account_transfer')
      .where('recipient', '=', lang === 'ar' ? '+962790000011' : '+962790000012')
      .execute();
    expect(told).toHaveLength(1);
    await pageDone(page);
  });
});
