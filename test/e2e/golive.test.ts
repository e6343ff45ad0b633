/**
 * Go-live in the browser, in Arabic and in English, from a fresh install: the first-run screen with the
 * setup code the start printed, the admin's first sign-in, the utility settings (audited, read back through
 * the API) and a public holiday shown with its Hijri date beside the Gregorian one.
 */

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import {
  DESKTOP,
  LANGS,
  launchChromium,
  newPage,
  pageDone,
  screenshot,
  signInWith,
  staffSession,
  textOf,
} from './support.ts';

describe.each(LANGS)('go-live screens (%s)', (lang) => {
  let test: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    test = await startTestServer(`golive-${lang}`);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await test?.close();
  });

  it('sets up the first utility with the setup code, then the admin changes settings and adds a holiday', async () => {
    const url = test.server.url;
    const code = /^ {4}([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})$/m.exec(test.logs.join(''))?.[1];
    expect(code).toBeDefined();
    const utility = `muscat-${lang}`;
    const page = await newPage(browser, lang, DESKTOP);
    await page.goto(`${url}/`);
    await page.locator('[data-screen="setup"]').waitFor();
    await page.locator('#setup-code').fill(code ?? '');
    await page.locator('#setup-utility').fill(utility);
    await page.locator('#setup-name').fill('Muscat Power');
    await page.locator('#setup-name-ar').fill('كهرباء مسقط');
    await page.locator('#setup-currency').fill('OMR');
    await page.locator('#setup-timezone').fill('Asia/Muscat');
    await page.locator('#setup-password').fill('first-admin-password');
    await page.locator('form button[type=submit]').click();
    await page.locator('[data-screen="signin"]').waitFor();
    await screenshot(page, `golive-setup-done-${lang}`);

    await signInWith(page, url, 'admin', 'first-admin-password');
    await page.goto(`${url}/#/admin/settings`);
    await page.locator('[data-screen="settings"]').waitFor();
    await page.locator('#settings-emergency').fill('1.500');
    await page.locator('#settings-header-ar').fill('شركة كهرباء مسقط');
    await page.locator('[data-testid="settings-form"] button[type=submit]').click();
    await page.locator('[data-testid="settings-form"] .alert.ok').waitFor();

    await page.locator('#period-from').fill('2026-03-20');
    await page.locator('#period-to').fill('2026-03-22');
    await page.locator('#period-reason').fill(lang === 'ar' ? 'عيد الفطر' : 'Eid al-Fitr');
    await page.locator('[data-testid="period-form"] button[type=submit]').click();
    await expect
      .poll(() => textOf(page.locator('section[aria-labelledby="periods-title"] tbody')))
      .toContain(lang === 'ar' ? 'شوال' : 'Shawwal 1, 1447 AH');
    await screenshot(page, `golive-settings-${lang}`);

    const token = await staffSession(url, utility, 'admin', 'first-admin-password');
    const settings = await fetch(`${url}/api/v1/utility/settings`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await settings.json()).toMatchObject({
      emergencyCreditMinor: '1500',
      receipt: { header: { ar: 'شركة كهرباء مسقط' } },
    });
    await pageDone(page);
  }, 180_000);
});
