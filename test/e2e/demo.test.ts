/**
 * The customer's journeys against `bin/rasid demo`, as a newcomer starts it from the README: the real binary
 * with its seeded utility (OMR), customers and simulated fleet. A top-up from an empty session to a token in
 * at most four screens, and a sign-in by one-time code with a demo customer's phone or e-mail, the code read
 * from the SMS the demo's log provider writes (the outbox worker delivers it), then their meter and chart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoSerial } from '../../src/demo/seed.ts';
import { freePort } from '../support/process.ts';
import { expectDirection } from './layout.ts';
import {
  pageDone as done,
  type Lang,
  launchChromium,
  newPage as openPage,
  type Page,
  screenshot,
  textOf,
} from './support.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rasid');
const PHONE = { width: 390, height: 844 };
const LANGS: readonly Lang[] = ['ar', 'en'];

/** Demo customer i's contacts, as src/demo/seed.ts makes them. */
const demoPhone = (i: number) => `+9689${String(1_000_000 + i).slice(-7)}`;
const demoEmail = (i: number) => `customer${i}@demo.rasid.invalid`;

let dir: string;
let child: ChildProcess;
let url: string;
let output = '';
let browser: Awaited<ReturnType<typeof launchChromium>>;

const newPage = (lang: Lang): Promise<Page> => openPage(browser, lang, PHONE);

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The SMS and e-mail texts the demo has logged so far, as `{ to, text }`. */
function messagesLogged(): { to: string; text: string }[] {
  const found: { to: string; text: string }[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; to?: string; text?: string };
      if (entry.msg === 'sms' && entry.to && entry.text) found.push({ to: entry.to, text: entry.text });
    } catch {
      // a line of the demo's banner or status
    }
  }
  return found;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rasid-demo-e2e-'));
  const port = await freePort();
  child = spawn(
    process.execPath,
    [BIN, 'demo', '--port', String(port), '--meters', '3', '--interval', '5', '--data-dir', dir],
    {
      // info: the demo's SMS provider writes each message it sends to the log, where this test reads the code.
      env: { ...process.env, LOG_LEVEL: 'info', OUTBOX_INTERVAL_SECONDS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const collect = (d: string) => {
    output += d;
  };
  child.stdout?.setEncoding('utf8').on('data', collect);
  child.stderr?.setEncoding('utf8').on('data', collect);
  await waitFor(() => /Rasid demo .*: (http:\/\/\S+)/.test(output), 90_000);
  url = /Rasid demo .*: (http:\/\/\S+)/.exec(output)![1]!;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
});

describe.each(LANGS)('on the demo (%s)', (lang) => {
  it('a customer tops up a demo meter: from an empty session to a token in at most four screens', async () => {
    const page = await newPage(lang);
    const screens: string[] = [];
    const seen = async (name: string) => {
      await page.locator(`[data-screen="${name}"]`).waitFor();
      screens.push(name);
    };
    await page.goto(`${url}/`);
    await seen('topup-meter');
    await expectDirection(page, lang);
    await page.locator('#meter').fill(demoSerial(lang === 'ar' ? 1 : 2));
    await page.locator('form button[type=submit]').click();
    await seen('topup-quote');
    await page.locator('#amount').fill('5');
    await page.locator('form button[type=submit]').click();
    await page.locator('.quote table.lines').waitFor();
    // OMR: three decimals.
    expect(await page.locator('.quote tbody tr').first().textContent()).toContain('5.000');
    await page.locator('button.pay').click();
    await page.waitForURL(/\/pay\/cs_/);
    screens.push('checkout');
    await page.getByRole('button', { name: 'Pay' }).click();
    await seen('topup-token');
    const token = page.getByTestId('token');
    await token.waitFor({ timeout: 30_000 });
    expect((await token.textContent())?.replace(/\s/g, '')).toMatch(/^\d{4}(-\d{4}){4}$/);
    expect(screens).toEqual(['topup-meter', 'topup-quote', 'checkout', 'topup-token']);
    await expectDirection(page, lang);
    await screenshot(page, `demo-token-${lang}`);
    await done(page);
  });

  it('a demo customer signs in with the code sent to their phone or e-mail and sees their meter', async () => {
    // Customer 1 by phone (the SMS reaches the demo's log); customer 3 by e-mail, whose code the outbox
    // keeps until an SMTP server is configured — so the e-mail path stops at the code screen.
    const page = await newPage(lang);
    await page.goto(`${url}/#/account/signin`);
    await page.locator('[data-screen="account-signin"]').waitFor();
    await expectDirection(page, lang);
    if (lang === 'en') {
      await page.locator('#contact').fill(demoEmail(3));
      await page.locator('form button[type=submit]').click();
      await page.locator('[data-screen="account-code"]').waitFor();
      await page.getByRole('button', { name: 'Use a different phone or e-mail' }).click();
      await page.locator('[data-screen="account-signin"]').waitFor();
    }
    const before = messagesLogged().length;
    await page.locator('#contact').fill(demoPhone(1));
    await page.locator('form button[type=submit]').click();
    await page.locator('[data-screen="account-code"]').waitFor();
    await waitFor(
      () =>
        messagesLogged()
          .slice(before)
          .some((m) => m.to === demoPhone(1)),
      30_000,
    );
    const sms = messagesLogged()
      .slice(before)
      .find((m) => m.to === demoPhone(1))!;
    const code = /\d{6}/.exec(sms.text)![0];
    await page.locator('#otp-code').fill(code);
    await page.locator('form button[type=submit]').click();
    await page.locator('[data-screen="account-home"]').waitFor();
    const card = page.getByTestId('my-meter');
    await expect.poll(() => textOf(card.locator('h2'))).toContain(demoSerial(1));
    await expectDirection(page, lang);
    await screenshot(page, `demo-account-${lang}`);
    await card.locator('a.button').click();
    await page.getByTestId('chart').waitFor();
    // A month of seeded readings: a bar for most days.
    expect(await page.getByTestId('chart').locator('rect.bar').count()).toBeGreaterThanOrEqual(20);
    await screenshot(page, `demo-chart-${lang}`);
    await done(page);
  });
});
