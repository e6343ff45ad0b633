/**
 * The receipt a customer holds, at the kiosk, in Arabic and English, in Debian's Chromium: the number printed
 * on it (8 characters) finds the sale for a reprint, and the receipt prints the sale's time in the utility's
 * zone (a sale at 21:12 UTC is on the next day in Muscat). The 80 mm receipt's PDF is also fetched as the
 * browser would, and is a PDF.
 */
import { describe, expect, it } from 'vitest';
import { localDateTimeText } from '../../src/receipts/format.ts';
import {
  kioskSale,
  kioskSignIn,
  LANGS,
  type Lang,
  PHONE,
  pageDone,
  screenshot,
  textOf,
  useWebWorld,
} from './support.ts';

const web = useWebWorld('receipts', async (world) => {
  await world.server.core.store.db
    .updateTable('utilities')
    .set({ timezone: 'Asia/Muscat' })
    .where('id', '=', world.seed.utilityId)
    .execute();
});

describe.each(LANGS)('a reprint by the printed receipt number (%s)', (lang: Lang) => {
  it('finds the sale by its 8 characters and prints it in the utility time', async () => {
    const sale = await kioskSale(web.world, `receipt-e2e-${lang}`);
    const number = sale.vendId.slice(0, 8).toUpperCase();
    const issued = await web.world.server.core.store.db
      .selectFrom('vends')
      .select('created_at')
      .where('id', '=', sale.vendId)
      .executeTakeFirstOrThrow();
    const page = await web.newPage(lang, PHONE);
    await kioskSignIn(page, web.world);
    await page.goto(`${web.world.url}/#/kiosk/sales`);
    await page.locator('[data-screen="kiosk-sales"]').waitFor();
    await page.locator('#receipt-no').fill(number);
    await page.locator('form.inline button[type=submit]').click();
    const receipt = page.frameLocator('iframe.receipt-80mm');
    await expect.poll(() => textOf(receipt.locator('.token'))).toBe(sale.receipt.tokenGrouped);
    const body = await textOf(receipt.locator('body'));
    expect(body).toContain(number);
    expect(body).toContain(localDateTimeText(issued.created_at, 'Asia/Muscat'));
    expect(body).not.toContain('UTC');
    await screenshot(page, `kiosk-reprint-by-number-${lang}`);
    // The same receipt as a PDF for the roll, as the kiosk's browser would fetch it.
    const pdf = await page.evaluate(
      async ([url, key]) => {
        const res = await fetch(url!, { headers: { 'x-api-key': key! } });
        return {
          type: res.headers.get('content-type'),
          head: new TextDecoder().decode((await res.arrayBuffer()).slice(0, 5)),
        };
      },
      [`/api/v1/vends/${number}/receipt?format=pdf&size=80mm&lang=${lang}`, web.world.kioskKey],
    );
    expect(pdf).toEqual({ type: 'application/pdf', head: '%PDF-' });
    await pageDone(page);
  });
});
