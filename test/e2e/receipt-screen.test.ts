/**
 * The receipt on screen right after a sale — a customer's top-up and a kiosk's cash sale — in Arabic and
 * English, in Debian's Chromium: it carries the sale's date in the utility's time zone (the utility's zone is
 * set far from UTC, so that the local date of a sale made now is not the UTC one), in the reader's language,
 * and the short receipt number that the kiosk's reprint finds the sale by.
 */
import { describe, expect, it } from 'vitest';
import type { VendId } from '../../src/store/schema.ts';
import { expectLeftToRight } from './layout.ts';
import {
  kioskSignIn,
  LANGS,
  type Lang,
  type Page,
  PHONE,
  pageDone,
  screenshot,
  textOf,
  useWebWorld,
} from './support.ts';

/**
 * A zone whose calendar date differs from UTC's for the next hour: eleven hours behind UTC in the morning
 * (UTC), fourteen ahead from 10:00 UTC on.
 */
const ZONE = new Date().getUTCHours() < 10 ? 'Pacific/Pago_Pago' : 'Pacific/Kiritimati';

const web = useWebWorld('receipt-screen', async (world) => {
  await world.server.core.store.db
    .updateTable('utilities')
    .set({ timezone: ZONE })
    .where('id', '=', world.seed.utilityId)
    .execute();
});

const LOCALE = { ar: 'ar', en: 'en-GB' } as const;

const arabicDigits = (s: string): string =>
  s.replace(/[0-9]/g, (d) => String.fromCharCode(0x660 + Number(d)));
/** Digits and dashes only, in Latin digits: a token as the meter takes it. */
const tokenDigits = (s: string): string =>
  s.replace(/[٠-٩]/g, (d) => String(d.charCodeAt(0) - 0x660)).replace(/[^0-9]/g, '');

/** "5 December" / "5 ديسمبر": the day of the month and the month's name of `at` as a calendar in `zone` reads it. */
function dayAndMonth(at: Date, zone: string, lang: Lang, arabicIndic = false): string {
  const part = (o: Intl.DateTimeFormatOptions) =>
    new Intl.DateTimeFormat(LOCALE[lang], { ...o, timeZone: zone }).format(at);
  const day = new Intl.DateTimeFormat('en', { day: 'numeric', timeZone: zone }).format(at);
  return `${arabicIndic ? arabicDigits(day) : day} ${part({ month: 'long' })}`;
}

/** The sale's instant as its receipt records it. */
async function issuedAt(vendId: VendId): Promise<Date> {
  const row = await web.world.server.core.store.db
    .selectFrom('vends')
    .select('receipt')
    .where('id', '=', vendId)
    .executeTakeFirstOrThrow();
  return new Date((row.receipt as { issuedAt: string }).issuedAt);
}

/** Checks the on-screen receipt's date against the sale's own instant; returns the number it shows. */
async function checkReceipt(page: Page, lang: Lang, vendId: VendId, arabicIndic: boolean): Promise<string> {
  const at = await issuedAt(vendId);
  const local = dayAndMonth(at, ZONE, lang, arabicIndic);
  const utc = dayAndMonth(at, 'UTC', lang, arabicIndic);
  expect(local).not.toBe(utc);
  const date = await textOf(page.getByTestId('receipt-date'));
  expect(date).toContain(local);
  expect(date).not.toContain(utc);
  expect(await page.getByTestId('receipt-date').locator('time').getAttribute('datetime')).toBe(
    at.toISOString(),
  );
  const shown = await textOf(page.getByTestId('receipt-number'));
  expect(await page.getByTestId('receipt-number').getAttribute('dir')).toBe('ltr');
  expect(shown).toBe(
    arabicIndic ? arabicDigits(vendId.slice(0, 8).toUpperCase()) : vendId.slice(0, 8).toUpperCase(),
  );
  return shown;
}

describe.each(LANGS)('the receipt on screen after a top-up (%s)', (lang: Lang) => {
  it('dates the sale in the utility time zone and shows the receipt number', async () => {
    const page = await web.newPage(lang, PHONE);
    await page.goto(`${web.world.url}/`);
    await page.locator('#meter').fill('jo-M-0001');
    await page.locator('form button[type=submit]').click();
    await page.locator('[data-screen="topup-quote"]').waitFor();
    await page.locator('#amount').fill('10');
    await page.locator('form button[type=submit]').click();
    await page.locator('button.pay').click();
    await page.waitForURL(/\/pay\/cs_/);
    await page.getByRole('button', { name: 'Pay' }).click();
    await page.locator('[data-screen="topup-token"]').waitFor();
    await page.getByTestId('receipt-number').waitFor();
    const session = new URL(page.url()).searchParams.get('session');
    const paid = (await (await fetch(`${web.world.url}/api/v1/checkout/${session}`)).json()) as {
      vendId: VendId;
    };
    await checkReceipt(page, lang, paid.vendId, false);
    // The example mobile number of the token-by-SMS form reads as it is dialled, in Arabic text too.
    await expectLeftToRight(page, ['+968', '9100', '0001']);
    await screenshot(page, `topup-receipt-${lang}`);
    await pageDone(page);
  });
});

describe.each(LANGS)('the receipt on screen after a kiosk sale (%s)', (lang: Lang) => {
  it('dates the sale in the utility time zone, and its number finds the sale for a reprint', async () => {
    const page = await web.newPage(lang, PHONE);
    // In Arabic, with Arabic-Indic digits: the number is typed back as the receipt shows it.
    const arabicIndic = lang === 'ar';
    if (arabicIndic) await page.addInitScript("localStorage.setItem('rasid.digits', 'arabic')");
    await kioskSignIn(page, web.world);
    await page.locator('#sell-meter').fill('jo-M-0001');
    await page.locator('#sell-amount').fill('5');
    await page.locator('form button[type=submit]').click();
    await page.locator('.quote button.primary').click();
    await page.locator('[data-screen="kiosk-token"]').waitFor();
    const token = tokenDigits(await textOf(page.getByTestId('token')));
    const vend = await web.world.server.core.store.db
      .selectFrom('vends')
      .select(['id', 'token'])
      .where('token', '=', token)
      .executeTakeFirstOrThrow();
    const number = await checkReceipt(page, lang, vend.id, arabicIndic);
    await screenshot(page, `kiosk-receipt-${lang}`);

    // The kiosk's reprint, by the number exactly as the screen showed it.
    await page.goto(`${web.world.url}/#/kiosk/sales`);
    await page.locator('[data-screen="kiosk-sales"]').waitFor();
    await page.locator('#receipt-no').fill(number);
    await page.locator('form.inline button[type=submit]').click();
    const receipt = page.frameLocator('iframe.receipt-80mm');
    await expect.poll(async () => tokenDigits(await textOf(receipt.locator('.token')))).toBe(token);
    await pageDone(page);
  });
});
