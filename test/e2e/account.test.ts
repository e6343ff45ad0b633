/**
 * The customer's account in the web app, in Arabic and in English, in Debian's Chromium: sign in with a
 * one-time code (read from the outbox row, as the SMS would carry it), my meters with credit and days left,
 * the consumption chart per day, week and month with its table, payments and tokens, low-credit alert
 * settings, and a case opened and followed as customer service answers it. Then the token by SMS after an
 * online top-up. Arabic pages are checked for right-to-left layout; screenshots go to test-output/screenshots/.
 */
import { describe, expect, it } from 'vitest';
import { minorUnits } from '../../src/store/schema.ts';
import { expectDirection, focusedId, unlabelledFields } from './layout.ts';
import {
  pageDone as done,
  kioskSale,
  LANGS,
  type Lang,
  PASSWORD,
  type Page,
  PHONE,
  screenshot,
  staffSession,
  textOf,
  useWebWorld,
} from './support.ts';

const HUDA = '+962790000001'; // the vending fixture's customer

const newPage = (lang: Lang, viewport = PHONE): Promise<Page> => web.newPage(lang, viewport);
const db = () => web.world.server.core.store.db;

const TEXT = {
  ar: {
    signIn: 'الدخول إلى حسابك',
    meters: 'عداداتي',
    history: 'السجلّ',
    alerts: 'التنبيهات',
    cases: 'طلباتي',
    saved: 'تم الحفظ.',
    opened: 'فُتح الطلب',
    inProgress: 'قيد المعالجة',
    wrong: 'الرمز غير صحيح أو انتهت صلاحيته. تحقّق منه أو اطلب رمزًا جديدًا.',
  },
  en: {
    signIn: 'Sign in to your account',
    meters: 'Meters',
    history: 'History',
    alerts: 'Alerts',
    cases: 'Cases',
    saved: 'Saved.',
    opened: 'Case opened',
    inProgress: 'We are on it',
    wrong: 'This code is wrong or has expired. Check it, or ask for a new one.',
  },
} as const;

/** The newest sign-in code sent to a recipient (the test owns the database the outbox is in). */
async function latestCode(recipient: string): Promise<string | null> {
  const row = await db()
    .selectFrom('notifications_outbox')
    .select('payload')
    .where('template', '=', 'sign_in_code')
    .where('recipient', '=', recipient)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return (row?.payload as { code?: string } | undefined)?.code ?? null;
}

/** Signs Huda in through the two sign-in screens; ends on her meters. */
async function signIn(page: Page, lang: Lang) {
  await page.goto(`${web.world.url}/`);
  await page.locator('main a[href="/#/account/signin"]').click();
  await page.locator('[data-screen="account-signin"]').waitFor();
  await expect.poll(() => textOf(page.locator('h1'))).toBe(TEXT[lang].signIn);
  await expectDirection(page, lang);
  expect(await unlabelledFields(page)).toBe(0);
  const before = await latestCode(HUDA);
  await page.locator('#contact').fill(lang === 'ar' ? '+962 79 000 0001' : HUDA);
  await page.locator('form button[type=submit]').click();
  await page.locator('[data-screen="account-code"]').waitFor();
  // The code field takes the focus; the code arrives in the outbox row the SMS is sent from.
  await expect.poll(() => focusedId(page)).toBe('otp-code');
  await expect.poll(() => latestCode(HUDA)).not.toBe(before);
  const code = (await latestCode(HUDA))!;
  await expectDirection(page, lang);
  await screenshot(page, `account-code-${lang}`);
  await page.locator('#otp-code').fill(code);
  await page.keyboard.press('Enter');
  await page.locator('[data-screen="account-home"]').waitFor();
}

const web = useWebWorld('account', async (world) => {
  const { seed } = world;
  // Ten days of readings (cumulative Wh) for the consumption chart, the meter's last reported credit, and
  // the balance engine's days-left estimate.
  const day = 86_400_000;
  const start = Date.now() - 10 * day;
  const readings = Array.from({ length: 11 }, (_, i) => ({
    meter_id: seed.meterId,
    ts: new Date(start + i * day),
    energy_wh: BigInt(100_000 + i * i * 900 + i * 2_500),
    credit_minor: i === 10 ? minorUnits(7_250n) : null,
    relay: true,
  }));
  await db().insertInto('readings').values(readings).execute();
  await db()
    .insertInto('audit_log')
    .values({
      utility_id: seed.utilityId,
      actor: 'system:balance',
      action: 'balance.alert_low_credit',
      subject: `meter:${seed.meterId}`,
      details: { reason: 'days_left_below_threshold', creditMinor: '7250', daysLeft: 4.6 },
    })
    .execute();
  await kioskSale(world, 'account-e2e-1');
});

describe.each(LANGS)('customer account (%s)', (lang) => {
  it('signs in by code, and shows meters, the chart, history, alert settings and a case followed', async () => {
    const page = await newPage(lang);
    await signIn(page, lang);

    // My meters: credit and days left.
    await expect.poll(() => textOf(page.getByTestId('hello'))).toContain('Huda Haddad');
    const card = page.getByTestId('my-meter');
    expect(await card.count()).toBe(1);
    await expect.poll(() => textOf(card.getByTestId('credit'))).toContain('7.250');
    await expect.poll(() => textOf(card.getByTestId('days-left'))).toMatch(/4/);
    expect(await card.locator('h2').textContent()).toContain('jo-M-0001');
    await expectDirection(page, lang);
    expect(await unlabelledFields(page)).toBe(0);
    await screenshot(page, `account-meters-${lang}`);

    // The chart: one bar per day with use, the same figures in the table; week and month too.
    await card.locator('a.button').click();
    await page.locator('[data-screen="account-meter"]').waitFor();
    const chart = page.getByTestId('chart');
    await chart.waitFor();
    const bars = await chart.locator('rect.bar').count();
    expect(bars).toBeGreaterThanOrEqual(9);
    expect(await page.getByTestId('consumption-table').locator('tbody tr').count()).toBe(bars);
    expect(await chart.getAttribute('role')).toBe('img');
    expect(await chart.getAttribute('aria-label')).toMatch(/kWh/);
    await expectDirection(page, lang);
    if (lang === 'ar') {
      // The oldest day is on the right in Arabic.
      const xs = await chart
        .locator('rect.bar')
        .evaluateAll((els) => els.map((e) => Number(e.getAttribute('x'))));
      expect(xs[0]).toBeGreaterThan(xs.at(-1)!);
    }
    await screenshot(page, `account-chart-${lang}`);
    const total = await textOf(page.getByTestId('consumption-total'));
    for (const bucket of ['week', 'month']) {
      await page.locator(`button[data-bucket="${bucket}"]`).click();
      await expect
        .poll(() => page.locator(`button[data-bucket="${bucket}"]`).getAttribute('aria-pressed'))
        .toBe('true');
      await page.getByTestId('chart').waitFor();
      expect(await page.getByTestId('chart').locator('rect.bar').count()).toBeGreaterThanOrEqual(1);
    }
    // The month's total covers the same readings as the 30 days'.
    await expect.poll(() => textOf(page.getByTestId('consumption-total'))).toBe(total);

    // History: the kiosk sale as a payment, and its token.
    await page.getByRole('link', { name: TEXT[lang].history, exact: true }).click();
    await page.locator('[data-screen="account-history"]').waitFor();
    await expect.poll(() => textOf(page.getByTestId('payments').locator('li'))).toContain('jo-M-0001');
    expect(await page.getByTestId('payments').textContent()).toContain('5.000');
    const token = await textOf(page.getByTestId('tokens').locator('li .mono'));
    expect(token).toMatch(/^\d{4}(-\d{4}){4}$/);
    await expectDirection(page, lang);
    await screenshot(page, `account-history-${lang}`);

    // Low-credit alerts: 2.5 JOD or 3 days, saved in minor units.
    await page.getByRole('link', { name: TEXT[lang].alerts, exact: true }).click();
    await page.locator('[data-screen="account-alerts"]').waitFor();
    const threshold = page.locator('input[id^="threshold-"]');
    await threshold.fill(lang === 'ar' ? '٢٫٥' : '2.5');
    await page.locator('input[id^="days-"]').fill('3');
    expect(await unlabelledFields(page)).toBe(0);
    await page.locator('.alert-settings button[type=submit]').click();
    await expect.poll(() => textOf(page.locator('.alert-settings .alert.ok'))).toBe(TEXT[lang].saved);
    const account = await db()
      .selectFrom('accounts')
      .select(['low_credit_alert_enabled', 'low_credit_alert_minor', 'low_credit_alert_days'])
      .where('id', '=', web.world.seed.accountId)
      .executeTakeFirstOrThrow();
    expect(account).toEqual({
      low_credit_alert_enabled: true,
      low_credit_alert_minor: 2500n,
      low_credit_alert_days: 3,
    });
    await expectDirection(page, lang);
    await screenshot(page, `account-alerts-${lang}`);

    // A case: opened about the meter, then followed as customer service moves it.
    await page.getByRole('link', { name: TEXT[lang].cases, exact: true }).click();
    await page.locator('[data-screen="account-cases"]').waitFor();
    await page.locator('#case-category').selectOption('meter_fault');
    await page.locator('#case-meter').selectOption({ label: 'jo-M-0001' });
    await page.locator('#case-subject').fill(`Display blank (${lang})`);
    await page.locator('#case-description').fill('The screen shows nothing since yesterday.');
    expect(await unlabelledFields(page)).toBe(0);
    await page.locator('form button[type=submit]').click();
    await page.locator('[data-screen="account-case"]').waitFor();
    await expect.poll(() => textOf(page.getByTestId('timeline'))).toContain(TEXT[lang].opened);
    const caseId = /\/account\/cases\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    const salma = await staffSession(web.world.url, 'jo', 'salma', PASSWORD);
    const moved = await fetch(`${web.world.url}/api/v1/cases/${caseId}/status`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${salma}` },
      body: JSON.stringify({ status: 'in_progress', note: 'A technician visits tomorrow.' }),
    });
    expect(moved.status).toBe(200);
    await page.reload();
    await expect.poll(() => textOf(page.getByTestId('timeline'))).toContain('A technician visits tomorrow.');
    expect(await textOf(page.getByTestId('case-status'))).toBe(TEXT[lang].inProgress);
    await expectDirection(page, lang);
    await screenshot(page, `account-case-${lang}`);
    await page.getByRole('link', { name: TEXT[lang].cases, exact: true }).click();
    await expect.poll(() => textOf(page.locator('.my-cases'))).toContain(`Display blank (${lang})`);
    await done(page);
  });
});

describe('customer sign-in', () => {
  it('refuses a wrong code on the same screen, from the keyboard', async () => {
    const page = await newPage('en');
    await page.goto(`${web.world.url}/#/account/signin`);
    await page.locator('#contact').waitFor();
    await page.locator('#contact').focus();
    await page.keyboard.type('+962799999999');
    await page.keyboard.press('Enter');
    // An unknown number gets the same next screen as a known one.
    await page.locator('[data-screen="account-code"]').waitFor();
    await expect.poll(() => focusedId(page)).toBe('otp-code');
    await page.keyboard.type('123456');
    await page.keyboard.press('Enter');
    await expect.poll(() => textOf(page.locator('#otp-code-error'))).toBe(TEXT.en.wrong);
    expect(await page.locator('#otp-code').getAttribute('aria-invalid')).toBe('true');
    await done(page);
  });
});

describe.each(LANGS)('the token by SMS after a top-up (%s)', (lang) => {
  it('sends the token on screen to the number typed, through the outbox', async () => {
    const page = await newPage(lang);
    await page.goto(`${web.world.url}/`);
    await page.locator('#meter').fill('jo-M-0001');
    await page.locator('form button[type=submit]').click();
    await page.locator('#amount').fill('10');
    await page.locator('form button[type=submit]').click();
    await page.locator('button.pay').click();
    await page.waitForURL(/\/pay\/cs_/);
    await page.getByRole('button', { name: 'Pay' }).click();
    await page.locator('[data-screen="topup-token"]').waitFor();
    const shown = (await textOf(page.getByTestId('token'))).replace(/\s/g, '').replaceAll('-', '');
    await page.locator('#sms-phone').fill('+968 9100 0001');
    expect(await unlabelledFields(page)).toBe(0);
    await page.locator('form.token-sms button[type=submit]').click();
    await expect.poll(() => textOf(page.getByTestId('sms-to'))).toBe('+968••••0001');
    const row = await db()
      .selectFrom('notifications_outbox')
      .select(['recipient', 'language', 'payload'])
      .where('template', '=', 'token_delivery')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ recipient: '+96891000001', language: lang, payload: { token: shown } });
    await expectDirection(page, lang);
    await screenshot(page, `customer-token-sms-${lang}`);
    await done(page);
  });
});
