/**
 * Each role's main journey against `bin/rasid demo`, as a newcomer starts it from the README: the real binary
 * with its seeded utility (OMR), customers, staff, kiosk and simulated fleet, in Arabic and in English. The
 * customer: a top-up from an empty session to a token in at most four screens, and a sign-in by one-time code
 * with a demo customer's phone or e-mail, the code read from the SMS the demo's log provider writes (the
 * outbox worker delivers it), then their meter and chart. The vendor kiosk: a sale with the printed demo kiosk
 * key. The operator: the simulated fleet online, a demo meter's page, a command confirmed and acknowledged by
 * the simulated meter. The technician: the commissioning wizard finds a demo meter. Customer service: a demo
 * customer's case moved with a note. Only the printed demo sign-ins are used, never the demo's database.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_KIOSK_KEY, DEMO_STAFF_PASSWORD, DEMO_UTILITY, demoSerial } from '../../src/demo/seed.ts';
import { maskName } from '../../src/vending/service.ts';
import { freePort } from '../support/process.ts';
import { expectDirection } from './layout.ts';
import {
  DESKTOP,
  pageDone as done,
  LANGS,
  type Lang,
  launchChromium,
  newPage as openPage,
  type Page,
  PHONE,
  reloadUntil,
  screenshot,
  screenTrail,
  signInWith,
  staffSession,
  textOf,
} from './support.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rasid');
/** The demo's simulated fleet for this file: one meter per demo customer 1 to 3. */
const METERS = 3;
/** Demo customer i's name, as src/demo/seed.ts names the first three. */
const DEMO_NAMES = ['سالم بن راشد البلوشي', 'Fatma Al Harthy', 'مريم بنت سعيد الكندي'] as const;

const TEXT = {
  ar: {
    sold: 'تم البيع',
    readNow: 'قراءة الآن',
    disconnect: 'فصل',
    reconnect: 'إعادة توصيل',
    acknowledged: 'نُفِّذ',
    events: 'آخر الأحداث',
    commission: 'تشغيل عداد',
    stepDone: 'تمت',
    inProgress: 'قيد المعالجة',
    caseSubject: 'خُصم المبلغ مرتين',
    caseNote: 'نراجع الدفعتين.',
  },
  en: {
    sold: 'Sold',
    readNow: 'Read now',
    disconnect: 'Disconnect',
    reconnect: 'Reconnect',
    acknowledged: 'acknowledged',
    events: 'Recent events',
    commission: 'Commission',
    stepDone: 'done',
    inProgress: 'In progress',
    caseSubject: 'Charged twice',
    caseNote: 'We are checking the two payments.',
  },
} as const;

/** Demo customer i's contacts, as src/demo/seed.ts makes them. */
const demoPhone = (i: number) => `+9689${String(1_000_000 + i).slice(-7)}`;
const demoEmail = (i: number) => `customer${i}@demo.rasid.invalid`;

let dir: string;
let child: ChildProcess;
let url: string;
let output = '';
let browser: Awaited<ReturnType<typeof launchChromium>>;

const newPage = (lang: Lang, viewport = PHONE): Promise<Page> => openPage(browser, lang, viewport);

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The SMS and e-mail texts the demo has logged so far, as `{ to, text }`. */
function messagesLogged(): { to: string; text: string }[] {
  // The log masks codes; the development SMS inbox in the demo's data folder has the whole messages.
  let inbox = '';
  try {
    inbox = readFileSync(join(dir, 'sms-inbox.jsonl'), 'utf8');
  } catch {
    // nothing sent yet
  }
  return inbox
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { to: string; text: string });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rasid-demo-e2e-'));
  const port = await freePort();
  child = spawn(
    process.execPath,
    [BIN, 'demo', '--port', String(port), '--meters', String(METERS), '--interval', '5', '--data-dir', dir],
    {
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
    const { screens, seen } = screenTrail(page);
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

  it("a vendor's kiosk signs in with the printed demo kiosk key and sells to a demo meter", async () => {
    const serial = demoSerial(lang === 'ar' ? 3 : 2);
    const page = await newPage(lang);
    await page.goto(`${url}/#/kiosk/signin`);
    await page.locator('#kiosk-key').fill(DEMO_KIOSK_KEY);
    await page.locator('form button[type=submit]').click();
    await page.locator('[data-screen="kiosk-sell"]').waitFor();
    // The demo vendor's opening float.
    await page.getByTestId('available').waitFor();
    await expectDirection(page, lang);
    await page.locator('#sell-meter').fill(serial);
    await page.locator('#sell-amount').fill('2');
    await page.locator('form button[type=submit]').click();
    await page.locator('.quote table.lines').waitFor();
    expect(await page.locator('.quote tbody tr').first().textContent()).toContain('2.000');
    await expect
      .poll(() => textOf(page.getByTestId('holder')))
      .toBe(maskName(DEMO_NAMES[lang === 'ar' ? 2 : 1]));
    await page.locator('.quote button.primary').click();
    await page.locator('[data-screen="kiosk-token"]').waitFor();
    await expect.poll(() => textOf(page.locator('h1'))).toBe(TEXT[lang].sold);
    const token = (await textOf(page.getByTestId('token'))).replace(/\s/g, '');
    expect(token).toMatch(/^\d{4}(-\d{4}){4}$/);
    await expect.poll(() => textOf(page.locator('.receipt'))).toContain(serial);
    await expectDirection(page, lang);
    await screenshot(page, `demo-vendor-${lang}`);
    await done(page);
  });

  it('an operator sees the simulated fleet online, opens a demo meter, and a confirmed command is acknowledged by it', async () => {
    const serial = demoSerial(3);
    const page = await newPage(lang, DESKTOP);
    await signInWith(page, url, 'operator', DEMO_STAFF_PASSWORD);
    await page.locator('[data-screen="fleet-overview"]').waitFor();
    await expect.poll(() => textOf(page.getByTestId('count-total').locator('.count'))).toBe(String(METERS));
    // The overview reads the fleet once: look again until every simulated meter has connected.
    await reloadUntil(page, () => textOf(page.getByTestId('count-online').locator('.count')), String(METERS));
    expect(await textOf(page.locator('table'))).toContain('Seeb');
    await expectDirection(page, lang);
    await screenshot(page, `demo-operator-${lang}`);

    await page.getByTestId('count-online').click();
    await page.locator('[data-screen="fleet-meters"]').waitFor();
    await expect.poll(() => page.url()).toContain('online=true');
    await page.locator('table a', { hasText: serial }).click();
    await page.locator('[data-screen="fleet-meter"]').waitFor();
    await expect.poll(() => textOf(page.locator('h1'))).toContain(serial);
    await expect.poll(() => textOf(page.locator('dl.facts'))).toContain(DEMO_NAMES[2]);
    await page.locator('caption', { hasText: TEXT[lang].events }).waitFor();

    // Arabic: a reading asked for now; English: the supply cut off with a reason, then restored.
    const commands = lang === 'ar' ? [TEXT.ar.readNow] : [TEXT.en.disconnect, TEXT.en.reconnect];
    for (const command of commands) {
      await page.getByRole('button', { name: command, exact: true }).click();
      const dialog = page.locator('dialog[open]');
      await dialog.waitFor();
      if (command === TEXT.en.disconnect) await dialog.locator('#command-reason').fill('demo: unpaid debt');
      await dialog.locator('.actions button.primary').click();
      await dialog.waitFor({ state: 'hidden' });
      // The page follows the command until the simulated meter acknowledges it, with no reload.
      await expect
        .poll(() => textOf(page.getByTestId('command-live')), { timeout: 30_000 })
        .toBe(`${command}: ${TEXT[lang].acknowledged}`);
      await expect
        .poll(() =>
          textOf(
            page.getByTestId('commands').locator('tr', { hasText: command }).first().locator('td').nth(1),
          ),
        )
        .toBe(TEXT[lang].acknowledged);
    }
    await expectDirection(page, lang);
    await screenshot(page, `demo-operator-meter-${lang}`);
    await done(page);
  });

  it('a technician finds a demo meter in the commissioning wizard', async () => {
    const serial = demoSerial(lang === 'ar' ? 1 : 2);
    const page = await newPage(lang, DESKTOP);
    await signInWith(page, url, 'technician', DEMO_STAFF_PASSWORD);
    await page.locator('[data-screen="fleet-meters"]').waitFor();
    for (let i = 1; i <= METERS; i++) await page.locator('table a', { hasText: demoSerial(i) }).waitFor();
    await page.getByRole('link', { name: TEXT[lang].commission, exact: true }).click();
    await page.locator('[data-screen="commission"]').waitFor();
    await page.locator('#commission-serial').fill(serial);
    await page.locator('form[role=search] button[type=submit]').click();
    const found = page.getByTestId('found-meter');
    await expect.poll(() => textOf(found)).toContain(serial);
    expect(await textOf(found)).toContain('mqtt');
    // Taking the meter into the wizard only marks the first step done; the next one would issue new MQTT
    // credentials, which the simulated meter does not have, so the journey stops here.
    await page.locator('[data-testid="found-meter"] + .actions button.primary').click();
    await expect.poll(() => textOf(page.getByTestId('step-meter-status'))).toBe(TEXT[lang].stepDone);
    await expectDirection(page, lang);
    await screenshot(page, `demo-technician-${lang}`);
    await done(page);
  });

  it("customer service moves a demo customer's case with a note to the customer", async () => {
    const i = lang === 'ar' ? 1 : 2;
    // A case opened from a phone call, through the API here (staff-more.test.ts opens one with the form).
    const token = await staffSession(url, DEMO_UTILITY, 'service', DEMO_STAFF_PASSWORD);
    const auth = { authorization: `Bearer ${token}` };
    const found = (await (
      await fetch(`${url}/api/v1/fleet/meters?q=${demoSerial(i)}`, { headers: auth })
    ).json()) as { meters: { id: string; customer: { id: string; name: string } | null }[] };
    const meter = found.meters[0]!;
    expect(meter.customer?.name).toBe(DEMO_NAMES[i - 1]);
    const opened = await fetch(`${url}/api/v1/cases`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        category: 'billing_dispute',
        subject: TEXT[lang].caseSubject,
        customerId: meter.customer?.id,
        meterId: meter.id,
      }),
    });
    expect(opened.status).toBe(201);
    const theCase = (await opened.json()) as { number: string };

    const page = await newPage(lang, DESKTOP);
    await signInWith(page, url, 'service', DEMO_STAFF_PASSWORD);
    await page.locator('[data-screen="cases"]').waitFor();
    await page.locator('table a', { hasText: theCase.number }).waitFor();
    await expectDirection(page, lang);
    await screenshot(page, `demo-service-${lang}`);
    await page.locator('table a', { hasText: theCase.number }).click();
    await page.locator('[data-screen="case"]').waitFor();
    await expect.poll(() => textOf(page.locator('dl.facts'))).toContain(DEMO_NAMES[i - 1]);
    await page.locator('#case-next').selectOption('in_progress');
    await page.locator('#case-note').fill(TEXT[lang].caseNote);
    await page.locator('form.case-move button[type=submit]').click();
    await expect.poll(() => textOf(page.getByTestId('case-status'))).toBe(TEXT[lang].inProgress);
    await expect.poll(() => textOf(page.locator('.timeline'))).toContain(TEXT[lang].caseNote);
    await expectDirection(page, lang);
    await screenshot(page, `demo-service-case-${lang}`);
    await done(page);
  });
});
