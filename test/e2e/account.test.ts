/**
 * The customer's account in the web app, in Arabic and in English, in Debian's Chromium: sign in with a
 * one-time code (read from the outbox row, as the SMS would carry it), my meters with credit and days left,
 * the consumption chart per day, week and month with its table, payments and tokens, low-credit alert
 * settings, and a case opened and followed as customer service answers it. Then the token by SMS after an
 * online top-up. Arabic pages are checked for right-to-left layout; screenshots go to test-output/screenshots/.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { minorUnits } from '../../src/store/schema.ts';
import { expectDirection, expectLeftToRight, focusedId, unlabelledFields } from './layout.ts';
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
    csvHead: 'التاريخ والوقت,رقم الإيصال,العداد,المكان,المبلغ,العملة,الوحدات,الوحدة,الحالة',
  },
  en: {
    signIn: 'Sign in to your account',
    meters: 'Meters',
    history: 'History',
    alerts: 'Alerts',
    cases: 'Requests',
    saved: 'Saved.',
    opened: 'Request received',
    inProgress: 'We are on it',
    wrong: 'This code is wrong or has expired. Check it, or ask for a new one.',
    csvHead: 'Date and time,Receipt no.,Meter,Where,Amount,Currency,Units,Unit,Status',
  },
} as const;

/**
 * The newest sign-in code sent to a recipient: the outbox drops it from its row once delivered, and the log
 * masks it, so it is read from the development SMS inbox in DATA_DIR, as the customer's phone would show it.
 */
async function latestCode(recipient: string): Promise<string | null> {
  const inbox = join(web.world.server.core.config.dataDir, 'sms-inbox.jsonl');
  const lines = await readFile(inbox, 'utf8').catch(() => '');
  const last = lines
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { to: string; text: string })
    // Only the sign-in messages: an alert or a case update to the same number carries no code.
    .filter((m) => m.to === recipient && /sign-in code|رمز الدخول/.test(m.text))
    .at(-1);
  return last ? (/\d{6}/.exec(last.text)?.[0] ?? null) : null;
}

/** Signs Huda in through the two sign-in screens; ends on her meters. */
async function signIn(page: Page, lang: Lang) {
  await page.goto(`${web.world.url}/`);
  await page.locator('main a[href="/#/account/signin"]').click();
  await page.locator('[data-screen="account-signin"]').waitFor();
  await expect.poll(() => textOf(page.locator('h1'))).toBe(TEXT[lang].signIn);
  await expectDirection(page, lang);
  expect(await unlabelledFields(page)).toBe(0);
  // The example phone number reads as it is dialled, in Arabic text too.
  await expectLeftToRight(page, ['+968', '9100', '0001']);
  const before = await latestCode(HUDA);
  await page.locator('#contact').fill(lang === 'ar' ? '+962 79 000 0001' : HUDA);
  await page.locator('form button[type=submit]').click();
  await page.locator('[data-screen="account-code"]').waitFor();
  // The code field takes the focus; the code arrives in the outbox row the SMS is sent from.
  await expect.poll(() => focusedId(page)).toBe('otp-code');
  // The outbox worker delivers within OUTBOX_INTERVAL_SECONDS (5 s).
  await expect.poll(() => latestCode(HUDA), { timeout: 20_000 }).not.toBe(before);
  const code = (await latestCode(HUDA))!;
  // Huda keeps Arabic as her language; the code comes in the language of the page she asked from.
  const sent = await db()
    .selectFrom('notifications_outbox')
    .select('language')
    .where('template', '=', 'sign_in_code')
    .where('recipient', '=', HUDA)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirstOrThrow();
  expect(sent.language).toBe(lang);
  await expectDirection(page, lang);
  await screenshot(page, `account-code-${lang}`);
  await page.locator('#otp-code').fill(code);
  await page.keyboard.press('Enter');
  await page.locator('[data-screen="account-home"]').waitFor();
}

const web = useWebWorld('account', async (world) => {
  const { seed } = world;
  await kioskSale(world, 'account-e2e-1');
  // The running balance engine evaluates the meter when the sale's ledger entry arrives; the history below
  // is written after that evaluation, and the engine evaluates the meter again with it.
  await vi.waitFor(
    async () => {
      const state = await db()
        .selectFrom('balance_state')
        .select('evaluated_at')
        .where('meter_id', '=', seed.meterId)
        .executeTakeFirst();
      if (!state?.evaluated_at) throw new Error('the balance engine has not evaluated the meter yet');
    },
    { timeout: 30_000, interval: 200 },
  );
  // Ten days of readings (cumulative Wh) for the consumption chart and the meter's last reported credit.
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
  // The engine's estimate of days left from that use and credit, kept in the meter's state.
  await web.world.server.metersOnline.runBalance({ meterIds: [seed.meterId] });
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
    // The currency as the reader's language writes it: the Jordanian dinar is د.أ. in Arabic.
    const credit = await textOf(card.getByTestId('credit'));
    if (lang === 'ar') expect(credit).not.toContain('JOD');
    expect(credit).toContain(lang === 'ar' ? 'د.أ.' : 'JOD');
    const state = await db()
      .selectFrom('balance_state')
      .select('days_left')
      .where('meter_id', '=', web.world.seed.meterId)
      .executeTakeFirstOrThrow();
    expect(state.days_left).toBeGreaterThan(0);
    await expect
      .poll(() => textOf(card.getByTestId('days-left')))
      .toContain(String(Math.floor(state.days_left!)));
    // The last top-up on the card, in money, then its units and when: the kiosk's sale of 5.000.
    const lastTopUp = await textOf(card.getByTestId('last-topup'));
    expect(lastTopUp).toContain(`5.000 ${lang === 'ar' ? 'د.أ.' : 'JOD'}`);
    expect(lastTopUp).toContain(lang === 'ar' ? 'ك.و.س' : 'kWh');
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
    // The unit as the reader's language writes it (the glossary's ك.و.س in Arabic).
    expect(await chart.getAttribute('aria-label')).toMatch(lang === 'ar' ? /ك\.و\.س/ : /kWh/);
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
    // The payments as CSV: headings in the page's language, the sale with the number its receipt shows.
    const sale = await db()
      .selectFrom('vends')
      .select(['id', 'amount_paid_minor'])
      .where('idempotency_key', '=', 'account-e2e-1')
      .executeTakeFirstOrThrow();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('payments-csv').click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^rasid-payments-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = await readFile((await download.path())!, 'utf8');
    const [head, ...rows] = csv
      .replace(/^\ufeff/, '')
      .trim()
      .split('\r\n');
    expect(head).toBe(lang === 'ar' ? TEXT.ar.csvHead : TEXT.en.csvHead);
    const row = rows.find((r) => r.includes(sale.id.slice(0, 8).toUpperCase()))?.split(',');
    expect(row?.slice(1, 3)).toEqual([sale.id.slice(0, 8).toUpperCase(), 'jo-M-0001']);
    expect(row?.[4]).toBe('5.000');

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
    // The SMS hint's example number reads as it is dialled, in Arabic text too.
    await expectLeftToRight(page, ['+968', '9100', '0001']);
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
