/**
 * The deceased holders' outreach in Arabic and English: the civil registry's deaths are imported over the API;
 * a customer-service agent finds the held account on the worklist, adds the family's contact, records a call
 * that reached them, sends the confirming SMS, transfers the account to an heir from the case with its
 * subsidy, and reads the outreach figures.
 */
import { describe, expect, it } from 'vitest';
import { expectDirection, unlabelledFields } from './layout.ts';
import {
  DESKTOP,
  LANGS,
  PASSWORD,
  pageDone,
  screenshot,
  signInAs,
  staffSession,
  textOf,
  useWebWorld,
} from './support.ts';

const account = (lang: string) => `DEC-${lang.toUpperCase()}-1`;

const web = useWebWorld('deceased', async (world) => {
  const token = await staffSession(world.url, 'jo', 'omar', PASSWORD);
  const upload = async (kind: string, csv: string) => {
    const res = await fetch(`${world.url}/api/v1/imports/${kind}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
      body: csv,
    });
    expect(res.status).toBe(200);
    const report = (await res.json()) as { errors: unknown[]; added: number };
    expect(report.errors).toEqual([]);
  };
  await upload(
    'customers',
    [
      'national_id,name,name_ar,phone,language',
      '770000001,Hassan Ali,حسن علي,+96279000101,ar',
      '770000002,Laila Omar,ليلى عمر,+96279000102,en',
    ].join('\n'),
  );
  await upload(
    'accounts',
    [
      'account_number,national_id,address,subsidy_eligible',
      `${account('ar')},770000001,"Street 1, House 1",yes`,
      `${account('en')},770000002,"Street 2, House 2",yes`,
    ].join('\n'),
  );
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  await upload(
    'deaths',
    [
      'national_id,date_of_death,evidence_ref',
      `770000001,${yesterday},CR-AR-1`,
      `770000002,${yesterday},CR-EN-1`,
    ].join('\n'),
  );
});

const subsidyOf = (number: string) =>
  web.world.server.core.store.db
    .selectFrom('accounts')
    .select(['subsidy_eligible', 'customer_id'])
    .where('number', '=', number)
    .executeTakeFirstOrThrow();

describe.each(LANGS)('deceased holders worklist (%s)', (lang) => {
  it('the agent works a held account to a transfer to the heir with the subsidy kept', async () => {
    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, 'salma');
    await page.goto(`${web.world.url}/#/service/deceased`);
    await page.locator('[data-screen="deceased"]').waitFor();
    await expectDirection(page, lang);
    const row = page.getByTestId('deceased-worklist').locator('tbody tr', { hasText: account(lang) });
    await row.waitFor();
    const text = await textOf(row);
    expect(text).toContain(lang === 'ar' ? 'حسن علي' : 'Laila Omar');
    expect(text).toContain(lang === 'ar' ? 'الدعم قائم' : 'Subsidy held');
    expect(await unlabelledFields(page)).toBe(0);
    await screenshot(page, `deceased-worklist-${lang}`);

    await row.locator('a').first().click();
    await page.locator('[data-screen="deceased-case"]').waitFor();
    expect(await unlabelledFields(page)).toBe(0);
    await page.locator('#contact-name').fill(lang === 'ar' ? 'محمد حسن' : 'Sara Omar');
    await page.locator('#contact-relation').fill(lang === 'ar' ? 'ابن' : 'daughter');
    await page.locator('#contact-phone').fill(lang === 'ar' ? '+96279000201' : '+96279000202');
    await page.locator('#contact-language').selectOption(lang);
    await page.getByTestId('add-contact').locator('button[type="submit"]').click();
    await page
      .getByTestId('contacts')
      .locator('tbody tr', { hasText: lang === 'ar' ? 'محمد حسن' : 'Sara Omar' })
      .waitFor();

    await page.locator('#attempt-outcome').selectOption('reached');
    await page
      .locator('#attempt-note')
      .fill(lang === 'ar' ? 'سيحضر حصر الإرث' : 'Will bring the heirs certificate');
    await page.getByTestId('record-attempt').locator('button[type="submit"]').click();
    await expect
      .poll(() => textOf(page.getByTestId('attempts')))
      .toContain(lang === 'ar' ? 'تم التواصل' : 'Reached');
    // The call is recorded against the contact the form shows.
    expect(await textOf(page.getByTestId('attempts'))).toContain(lang === 'ar' ? 'محمد حسن' : 'Sara Omar');

    await page.getByTestId('send-sms').click();
    await expect
      .poll(() => textOf(page.locator('[aria-labelledby="contacts-title"] .alert.ok')))
      .toContain(lang === 'ar' ? 'رسالة التأكيد' : 'confirming SMS');
    const sms = await web.world.server.core.store.db
      .selectFrom('notifications_outbox')
      .select(['template', 'language', 'recipient'])
      .where('template', '=', 'deceased_outreach')
      .where('recipient', '=', lang === 'ar' ? '+96279000201' : '+96279000202')
      .execute();
    expect(sms).toEqual([
      {
        template: 'deceased_outreach',
        language: lang,
        recipient: lang === 'ar' ? '+96279000201' : '+96279000202',
      },
    ]);
    await screenshot(page, `deceased-case-${lang}`);

    const before = await subsidyOf(account(lang));
    await page.locator('#heir-national-id').fill(`88000000${lang === 'ar' ? 1 : 2}`);
    await page.locator('#heir-name').fill(lang === 'ar' ? 'Mohammed Hassan' : 'Sara Omar');
    await page.locator('#heir-evidence').fill(`HEIRS-${lang}`);
    await page.getByTestId('heir-transfer').locator('button[type="submit"]').click();
    await expect
      .poll(() => textOf(page.getByTestId('outreach-status')))
      .toBe(lang === 'ar' ? 'نُقل إلى أحد الورثة' : 'Transferred to an heir');
    const after = await subsidyOf(account(lang));
    expect(after.subsidy_eligible).toBe(true);
    expect(after.customer_id).not.toBe(before.customer_id);

    await page.goto(`${web.world.url}/#/service/deceased/kpi`);
    await page.locator('[data-screen="deceased-kpi"]').waitFor();
    await expectDirection(page, lang);
    await expect.poll(() => textOf(page.getByTestId('kpi-found'))).toBe('2');
    expect(await textOf(page.getByTestId('kpi-summary'))).toContain(
      lang === 'ar' ? 'نُقل منها' : 'subsidised accounts',
    );
    await screenshot(page, `deceased-kpi-${lang}`);
    await pageDone(page);
  });
});
