/**
 * Each role's main journey in the web app, in Arabic and in English, in Debian's Chromium: the customer's
 * top-up from an empty session to a token in at most four screens, and the vendor kiosk's sale, reprint,
 * today's sales and end-of-day reconciliation. Arabic pages are checked for right-to-left layout, and a
 * screenshot of each role's main screen in each language is saved under test-output/screenshots/.
 */

import { describe, expect, it } from 'vitest';
import { documentDir, expectDirection, focusedId, unlabelledFields } from './layout.ts';
import {
  pageDone as done,
  LANGS,
  type Lang,
  type Page,
  PHONE,
  screenshot,
  screenTrail,
  textOf,
  useWebWorld,
} from './support.ts';

const web = useWebWorld('journeys');

const newPage = (lang: Lang, viewport = PHONE): Promise<Page> => web.newPage(lang, viewport);

const TEXT = {
  ar: {
    topupTitle: 'اشحن عدادك',
    tokenTitle: 'رمز الشحن جاهز',
    amountPaid: 'المبلغ المدفوع',
    sold: 'تم البيع',
  },
  en: { topupTitle: 'Top up your meter', tokenTitle: 'Your token', amountPaid: 'Amount paid', sold: 'Sold' },
} as const;

describe('the first screen', () => {
  it('offers both languages and switches direction, and remembers the choice', async () => {
    const page = await newPage('en');
    await page.goto(`${web.world.url}/`);
    await expect.poll(() => textOf(page.locator('h1'))).toBe(TEXT.en.topupTitle);
    await expectDirection(page, 'en');
    await page.getByTestId('lang-switch').click();
    await page.locator('h1', { hasText: TEXT.ar.topupTitle }).waitFor();
    await expectDirection(page, 'ar');
    expect(await page.locator('label[for=meter]').textContent()).toBe('رقم العداد');
    await page.reload();
    await page.locator('h1', { hasText: TEXT.ar.topupTitle }).waitFor();
    expect(await documentDir(page)).toBe('rtl');
    await page.getByTestId('lang-switch').click();
    await page.locator('h1', { hasText: TEXT.en.topupTitle }).waitFor();
    await done(page);
  });

  it('is usable from the keyboard alone: every field has a label, and the form submits with Enter', async () => {
    const page = await newPage('en');
    await page.goto(`${web.world.url}/`);
    await page.locator('#meter').waitFor();
    const unlabelled = await unlabelledFields(page);
    expect(unlabelled).toBe(0);
    await page.keyboard.press('Tab'); // skip link
    await page.keyboard.press('Tab'); // brand
    let focused = '';
    for (let i = 0; i < 10 && focused !== 'meter'; i++) {
      await page.keyboard.press('Tab');
      focused = await focusedId(page);
    }
    expect(focused).toBe('meter');
    await page.keyboard.type('no-such-meter');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => textOf(page.locator('#meter-error')))
      .toBe('No meter has this number. Check it and try again.');
    expect(await page.locator('#meter').getAttribute('aria-invalid')).toBe('true');
    await done(page);
  });
});

describe.each(LANGS)('customer top-up (%s)', (lang) => {
  it('goes from an empty session to a token on screen in at most four screens', async () => {
    const page = await newPage(lang);
    const { screens, seen } = screenTrail(page);

    // 1: the meter number.
    await page.goto(`${web.world.url}/`);
    await seen('topup-meter');
    await expect.poll(() => textOf(page.locator('h1'))).toBe(TEXT[lang].topupTitle);
    await expectDirection(page, lang);
    await page.locator('#meter').fill('jo-M-0001');
    await page.locator('form button[type=submit]').click();

    // 2: masked name, amount, quote with every line.
    await seen('topup-quote');
    await expect.poll(() => textOf(page.getByTestId('holder'))).toBe('H*** H*****');
    await page.locator('#amount').fill(lang === 'ar' ? '١٠' : '10');
    await page.locator('form button[type=submit]').click();
    const quote = page.locator('.quote table.lines');
    await quote.waitFor();
    const rows = await quote.locator('tbody tr').allTextContents();
    expect(rows[0]).toContain(TEXT[lang].amountPaid);
    expect(rows[0]).toContain('10.000');
    expect(rows.length).toBeGreaterThanOrEqual(5);
    // The unit as the reader's language writes it (the glossary's ك.و.س in Arabic).
    expect(await quote.locator('tfoot').textContent()).toMatch(lang === 'ar' ? /ك\.و\.س/ : /kWh/);
    await expectDirection(page, lang);
    await screenshot(page, `customer-${lang}`);

    // 3: the payment page (the local Stripe-compatible server in development and tests).
    await page.locator('button.pay').click();
    await page.waitForURL(/\/pay\/cs_/);
    screens.push('checkout');
    await page.getByRole('button', { name: 'Pay' }).click();

    // 4: the token, grouped in fours, with the receipt.
    await seen('topup-token');
    const token = page.getByTestId('token');
    await token.waitFor();
    const shown = (await token.textContent())?.replace(/\s/g, '') ?? '';
    expect(shown).toMatch(/^\d{4}(-\d{4}){4}$/);
    await expect.poll(() => textOf(page.locator('h1'))).toBe(TEXT[lang].tokenTitle);
    expect(await token.getAttribute('dir')).toBe('ltr');
    const session = new URL(page.url()).searchParams.get('session');
    const paid = (await (await fetch(`${web.world.url}/api/v1/checkout/${session}`)).json()) as {
      token: string;
    };
    expect(shown.replaceAll('-', '')).toBe(paid.token);
    await expect.poll(() => textOf(page.locator('.receipt'))).toContain('jo-M-0001');
    await expectDirection(page, lang);
    await screenshot(page, `customer-token-${lang}`);

    expect(screens).toEqual(['topup-meter', 'topup-quote', 'checkout', 'topup-token']);
    await done(page);
  });

  it('explains an amount it cannot accept without leaving the screen', async () => {
    const page = await newPage(lang);
    await page.goto(`${web.world.url}/`);
    await page.locator('#meter').fill('jo-M-0001');
    await page.locator('form button[type=submit]').click();
    await page.locator('[data-screen="topup-quote"]').waitFor();
    await page.locator('#amount').fill('1.2345');
    await page.locator('form button[type=submit]').click();
    await page.locator('#amount-error').waitFor();
    expect(await page.locator('#amount').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('.quote').count()).toBe(0);
    await done(page);
  });
});

describe.each(LANGS)('vendor kiosk (%s)', (lang) => {
  it('signs in with the kiosk key, sells, reprints, and closes the day', async () => {
    const page = await newPage(lang);
    await page.goto(`${web.world.url}/#/kiosk/signin`);
    await page.locator('#kiosk-key').fill(web.world.kioskKey);
    await page.locator('form button[type=submit]').click();
    await page.locator('[data-screen="kiosk-sell"]').waitFor();
    await page.getByTestId('available').waitFor();
    await expectDirection(page, lang);

    await page.locator('#sell-meter').fill('jo-M-0001');
    await page.locator('#sell-amount').fill('5');
    await page.locator('form button[type=submit]').click();
    await page.locator('.quote table.lines').waitFor();
    await expect.poll(() => textOf(page.getByTestId('holder'))).toBe('H*** H*****');
    await screenshot(page, `vendor-${lang}`);
    await page.locator('.quote button.primary').click();

    await page.locator('[data-screen="kiosk-token"]').waitFor();
    await expect.poll(() => textOf(page.locator('h1'))).toBe(TEXT[lang].sold);
    const shown = (await page.getByTestId('token').textContent())?.replace(/\s/g, '') ?? '';
    expect(shown).toMatch(/^\d{4}(-\d{4}){4}$/);
    const vend = await web.world.server.core.store.db
      .selectFrom('vends')
      .select(['id', 'token'])
      .where('token', '=', shown.replaceAll('-', ''))
      .executeTakeFirst();
    expect(vend?.id).toBeDefined();
    await screenshot(page, `vendor-token-${lang}`);

    // Today's sales: the sale is listed and can be reprinted as the API's 80 mm receipt.
    await page.getByRole('link', { name: lang === 'ar' ? 'مبيعات اليوم' : 'Today' }).click();
    await page.locator('[data-screen="kiosk-sales"]').waitFor();
    expect(Number(await page.getByTestId('sales-count').textContent())).toBeGreaterThanOrEqual(1);
    await page.locator('.sales li button').first().click();
    const receipt = page.frameLocator('iframe.receipt-80mm');
    await expect.poll(() => textOf(receipt.locator('.token'))).toBe(shown);
    await expect
      .poll(() => textOf(receipt.locator('body')))
      .toContain(lang === 'ar' ? 'نسخة مكررة' : 'REPRINT');
    await expectDirection(page, lang);

    // End of day: the drawer should hold what was sold; a count one unit short says so.
    await page.getByRole('link', { name: lang === 'ar' ? 'إقفال اليوم' : 'End of day' }).click();
    await page.locator('[data-screen="kiosk-close"]').waitFor();
    const expected = (await page.getByTestId('expected-cash').textContent())?.match(/[\d.]+/)?.[0] ?? '';
    expect(Number(expected)).toBeGreaterThanOrEqual(5);
    await page.locator('#counted').fill(expected);
    await expect
      .poll(() => textOf(page.getByTestId('difference')))
      .toBe(lang === 'ar' ? 'الصندوق مطابق.' : 'The drawer balances.');
    await page.locator('#counted').fill(String(Number(expected) - 1));
    await expect.poll(() => textOf(page.getByTestId('difference'))).toContain('1.000');
    await expectDirection(page, lang);
    await screenshot(page, `vendor-close-${lang}`);
    await done(page);
  });
});
