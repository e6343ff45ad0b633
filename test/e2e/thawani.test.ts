/**
 * A Thawani Pay top-up from the customer's screen, in Arabic and English, in Debian's Chromium: a started
 * Rasid configured with Thawani keys whose API base is a local server answering as Thawani's public API does
 * (src/payments/thawani-local.ts), the utility an Omani one paying through Thawani. The customer pays on the
 * Thawani page, Thawani's signed callback reaches Rasid, Rasid reads the session back, and the token shows.
 * A replayed callback gives no second token; a forged callback, or a signed one for an unpaid session, none.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalThawani } from '../../src/payments/thawani-local.ts';
import {
  LANGS,
  type Lang,
  launchChromium,
  newPage,
  type Page,
  PHONE,
  pageDone,
  screenshot,
  startWebWorld,
  textOf,
  type WebWorld,
} from './support.ts';

const KEYS = { secretKey: 'sk_thawani_e2e', publishableKey: 'pk_thawani_e2e' };
const WEBHOOK_SECRET = 'thawani-e2e-webhook-secret';

let world: WebWorld;
let browser: Browser;
let thawani: LocalThawani;
const db = () => world.server.core.store.db;

beforeAll(async () => {
  thawani = new LocalThawani({ ...KEYS, webhookSecret: WEBHOOK_SECRET });
  const apiBase = await thawani.start();
  world = await startWebWorld('thawani', {
    THAWANI_SECRET_KEY: KEYS.secretKey,
    THAWANI_PUBLISHABLE_KEY: KEYS.publishableKey,
    THAWANI_WEBHOOK_SECRET: WEBHOOK_SECRET,
    THAWANI_API_BASE: apiBase,
  });
  thawani.setWebhookUrl(`${world.url}/api/v1/payments/thawani/webhook`);
  await db()
    .updateTable('utilities')
    .set({ currency: 'OMR', timezone: 'Asia/Muscat', payment_provider: 'thawani' })
    .where('id', '=', world.seed.utilityId)
    .execute();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await world?.close();
  await thawani?.stop();
});

/** From the meter number to Thawani's payment page, as the customer goes. */
async function toThawani(page: Page, amount: string): Promise<string> {
  await page.goto(`${world.url}/`);
  await page.locator('#meter').fill('jo-M-0001');
  await page.locator('form button[type=submit]').click();
  await page.locator('#amount').fill(amount);
  await page.locator('form button[type=submit]').click();
  await page.locator('button.pay').click();
  await page.waitForURL(/\/pay\/checkout_/);
  const sessionId = /\/pay\/(checkout_\w+)/.exec(page.url())?.[1];
  if (!sessionId) throw new Error(`not on a Thawani page: ${page.url()}`);
  return sessionId;
}

const tokenCount = async () => (await db().selectFrom('tokens').select('id').execute()).length;

describe.each(LANGS)('a Thawani top-up (%s)', (lang: Lang) => {
  it('pays on the Thawani page and shows the one token, however often the callback comes', async () => {
    const before = await tokenCount();
    const page = await newPage(browser, lang, PHONE);
    const sessionId = await toThawani(page, '5');
    expect(await textOf(page.locator('strong'))).toBe('OMR 5.000');
    expect(thawani.session(sessionId)?.products[0]?.unit_amount).toBe(5000);
    await page.getByRole('button', { name: 'Pay' }).click();
    await page.locator('[data-screen="topup-token"] [data-testid="token"]').waitFor();
    const shown = (await textOf(page.getByTestId('token'))).replace(/[^0-9]/g, '');
    const payment = await db()
      .selectFrom('payments as p')
      .innerJoin('vends as v', 'v.id', 'p.vend_id')
      .select(['p.id', 'p.status', 'p.provider', 'v.token'])
      .where('p.provider_ref', '=', sessionId)
      .executeTakeFirstOrThrow();
    expect(payment).toMatchObject({ status: 'succeeded', provider: 'thawani', token: shown });
    // The page came back with Rasid's payment id (Thawani does not return its session id).
    expect(new URL(page.url()).searchParams.get('session') ?? page.url()).toContain(payment.id);
    expect(await tokenCount()).toBe(before + 1);
    // Thawani retries the callback: the same token, no second one.
    expect(await thawani.deliver(thawani.completedEvent(sessionId))).toBe(200);
    expect(await thawani.deliver(thawani.completedEvent(sessionId))).toBe(200);
    expect(await tokenCount()).toBe(before + 1);
    await page.reload();
    await page.locator('[data-testid="token"]').waitFor();
    expect((await textOf(page.getByTestId('token'))).replace(/[^0-9]/g, '')).toBe(shown);
    // The receipt PDF the page links to is the one of this sale.
    const href = await page.getByTestId('receipt-pdf').getAttribute('href');
    expect(href).toBe(`/api/v1/checkout/${payment.id}/receipt?lang=${lang}`);
    const pdf = await fetch(`${world.url}${href}`);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    await screenshot(page, `thawani-token-${lang}`);
    await pageDone(page);
  });
});

describe('Thawani callbacks that must not sell', () => {
  it('gives no token for a forged callback, nor for a signed one of a session left unpaid', async () => {
    const before = await tokenCount();
    const page = await newPage(browser, 'en', PHONE);
    const sessionId = await toThawani(page, '3');
    const session = thawani.session(sessionId)!;
    const claim = {
      session_id: sessionId,
      client_reference_id: session.client_reference_id,
      payment_status: 'paid',
      total_amount: session.total_amount,
      currency: 'OMR',
      invoice: session.invoice,
    };
    // Signed with another secret: refused as problem+json.
    const forged = thawani.signEvent('checkout.completed', claim, 'not-the-webhook-secret-0');
    const res = await fetch(`${world.url}/api/v1/payments/thawani/webhook`, {
      method: 'POST',
      headers: forged.headers,
      body: forged.body,
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(((await res.json()) as { code: string }).code).toBe('payment_signature_invalid');
    // Signed correctly, but Thawani reports the session unpaid when Rasid reads it back.
    expect(await thawani.deliver(thawani.signEvent('checkout.completed', claim))).toBe(200);
    expect(await tokenCount()).toBe(before);
    // The customer cancels on Thawani's page and is back on the amount screen, told so.
    await page.getByRole('link', { name: 'Cancel' }).click();
    await page.locator('[data-screen="topup-quote"], [data-screen="topup-amount"]').first().waitFor();
    const row = await db()
      .selectFrom('payments')
      .select(['status', 'vend_id'])
      .where('provider_ref', '=', sessionId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'pending', vend_id: null });
    expect(await tokenCount()).toBe(before);
    await pageDone(page);
  });
});
