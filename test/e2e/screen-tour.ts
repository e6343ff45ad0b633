/**
 * A tour of every screen of the web app, in Arabic and English, on a 390×844 phone and a 1440×900 desk:
 * a full-page screenshot of each under OUT (default /tmp/rasid-tour), and a line per screen that overflows
 * the page sideways or clips a text. For people to look at; asserts nothing.
 *
 *   node bin/run-ts.mjs test/e2e/screen-tour.ts [OUT]
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  kioskSale,
  kioskSignIn,
  type Lang,
  launchChromium,
  newPage,
  type Page,
  signInAs,
  startWebWorld,
} from './support.ts';

const OUT = process.argv[2] ?? '/tmp/rasid-tour';
const VIEWPORTS = { phone: { width: 390, height: 844 }, desk: { width: 1440, height: 900 } } as const;
const HUDA = '+962790000001';

const world = await startWebWorld('tour');
const browser = await launchChromium();
const db = world.server.core.store.db;
const { seed } = world;
await kioskSale(world, 'tour-sale');
const c = await db
  .insertInto('cases')
  .values({
    utility_id: seed.utilityId,
    customer_id: seed.customerId,
    meter_id: seed.meterId,
    channel: 'phone',
    category: 'complaint',
    subject: 'No alert received',
    description: 'The customer says no SMS came before the supply was cut off.',
    sla_hours: 48,
    sla_due_at: new Date(Date.now() + 48 * 3_600_000),
    opened_by: 'user:salma',
  })
  .returning('id')
  .executeTakeFirstOrThrow();
const customerCase = String(c.id);
await mkdir(OUT, { recursive: true });

const findings: string[] = [];

/** Elements wider than the page, and texts cut off inside their box. */
async function inspect(page: Page, name: string): Promise<void> {
  // A string, evaluated in the page (the page's DOM is not this program's).
  const problems = (await page.evaluate(`(() => {
    const out = [];
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > width + 1)
      out.push(\`page scrolls sideways: \${document.documentElement.scrollWidth} > \${width}\`);
    for (const el of Array.from(document.querySelectorAll('main *, header *'))) {
      const e = el;
      if (e.closest('.table-scroll')) continue;
      const r = e.getBoundingClientRect();
      if (r.width === 0) continue;
      if (r.right > width + 1 || r.left < -1)
        out.push(
          \`\${e.tagName.toLowerCase()}.\${e.className} outside the page (\${Math.round(r.left)}..\${Math.round(r.right)})\`,
        );
      const style = getComputedStyle(e);
      if (
        (style.overflowX === 'hidden' || style.textOverflow === 'ellipsis') &&
        e.scrollWidth > e.clientWidth + 1
      )
        out.push(
          \`\${e.tagName.toLowerCase()}.\${e.className} clips its text: "\${e.textContent?.slice(0, 40)}"\`,
        );
    }
    return out.slice(0, 6);
  })()`)) as string[];
  for (const p of problems) findings.push(`${name}: ${p}`);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForTimeout(700);
  await inspect(page, name);
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

async function visit(page: Page, path: string, name: string, screen?: string): Promise<void> {
  await page.goto(`${world.url}/#${path}`);
  await page
    .locator(screen ? `[data-screen="${screen}"]` : '[data-screen]')
    .first()
    .waitFor({ timeout: 15_000 });
  await shot(page, name);
}

async function latestCode(): Promise<string | null> {
  const lines = await readFile(join(world.server.core.config.dataDir, 'sms-inbox.jsonl'), 'utf8').catch(
    () => '',
  );
  const last = lines
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { to: string; text: string })
    .filter((m) => m.to === HUDA)
    .at(-1);
  return last ? (/\d{6}/.exec(last.text)?.[0] ?? null) : null;
}

for (const lang of ['ar', 'en'] as Lang[]) {
  for (const [vp, viewport] of Object.entries(VIEWPORTS)) {
    const tag = (s: string) => `${vp}-${lang}-${s}`;
    // Public screens.
    let page = await newPage(browser, lang, viewport);
    await visit(page, '/', tag('topup-meter'), 'topup-meter');
    await page.locator('#meter').fill('jo-M-0001');
    await page.locator('form button[type=submit]').click();
    await page.locator('[data-screen="topup-quote"]').waitFor();
    await page.locator('#amount').fill('10');
    await page.locator('form button[type=submit]').click();
    await page.locator('.quote').waitFor();
    await shot(page, tag('topup-quote'));
    await page.locator('button.pay').click();
    await page.waitForURL(/\/pay\/cs_/);
    await page.getByRole('button', { name: 'Pay' }).click();
    await page.getByTestId('receipt-number').waitFor({ timeout: 30_000 });
    await shot(page, tag('topup-token'));
    await visit(page, '/signin', tag('staff-signin'), 'signin');
    await visit(page, '/kiosk/signin', tag('kiosk-signin'), 'kiosk-signin');
    await visit(page, '/account/signin', tag('account-signin'), 'account-signin');
    await visit(page, '/no-such-page', tag('not-found'), 'not-found');
    await page.context().close();

    // The customer's account.
    page = await newPage(browser, lang, viewport);
    await page.goto(`${world.url}/#/account/signin`);
    const before = await latestCode();
    await page.locator('#contact').fill(HUDA);
    await page.locator('form button[type=submit]').click();
    await page.locator('[data-screen="account-code"]').waitFor();
    let code = before;
    for (let i = 0; i < 60 && code === before; i++) {
      await page.waitForTimeout(500);
      code = await latestCode();
    }
    await shot(page, tag('account-code'));
    await page.locator('#otp-code').fill(code ?? '');
    await page.keyboard.press('Enter');
    await page.locator('[data-screen="account-home"]').waitFor();
    await shot(page, tag('account-home'));
    await visit(page, `/account/meters/${seed.meterId}`, tag('account-meter'));
    await visit(page, '/account/history', tag('account-history'));
    await visit(page, '/account/alerts', tag('account-alerts'));
    await visit(page, '/account/cases', tag('account-cases'));
    await visit(page, `/account/cases/${customerCase}`, tag('account-case'));
    await page.context().close();

    // The kiosk.
    page = await newPage(browser, lang, viewport);
    await kioskSignIn(page, world);
    await shot(page, tag('kiosk-sell'));
    await page.locator('#sell-meter').fill('jo-M-0001');
    await page.locator('#sell-amount').fill('5');
    await page.locator('form button[type=submit]').click();
    await page.locator('.quote').waitFor();
    await shot(page, tag('kiosk-quote'));
    await page.locator('.quote button.primary').click();
    await page.locator('[data-screen="kiosk-token"]').waitFor();
    await shot(page, tag('kiosk-token'));
    await visit(page, '/kiosk/sales', tag('kiosk-sales'), 'kiosk-sales');
    await visit(page, '/kiosk/close', tag('kiosk-close'), 'kiosk-close');
    await page.context().close();

    // Staff: the operator sees every staff screen.
    page = await newPage(browser, lang, viewport);
    await signInAs(page, world.url, 'omar');
    for (const [path, name] of [
      ['/ops', 'ops-overview'],
      ['/ops/meters', 'ops-meters'],
      [`/ops/meters/${seed.meterId}`, 'ops-meter'],
      ['/ops/alerts', 'ops-alerts'],
      ['/ops/tariffs', 'ops-tariffs'],
      ['/ops/vendors', 'ops-vendors'],
      ['/ops/audit', 'ops-audit'],
      ['/ops/reports', 'ops-reports'],
      ['/ops/import', 'ops-import'],
      [`/ops/accounts/${seed.accountId}/arrears`, 'ops-arrears'],
      ['/service/transfer', 'service-transfer'],
      ['/service/cases', 'service-cases'],
      ['/service/cases/new', 'service-case-new'],
      [`/service/cases/${customerCase}`, 'service-case'],
      ['/service/kpi', 'service-kpi'],
      [`/service/customers/${seed.customerId}/messages`, 'service-messages'],
      ['/tech/commission', 'tech-commission'],
      ['/admin/settings', 'admin-settings'],
      ['/service/deceased', 'service-deceased'],
      ['/service/deceased/kpi', 'service-deceased-kpi'],
      [`/service/pop?number=${encodeURIComponent(HUDA)}`, 'service-pop'],
      ['/service/centre-kpi', 'service-centre-kpi'],
      ['/tech/work-orders', 'tech-work-orders'],
      ['/field/campaigns', 'field-campaigns'],
      ['/ops/losses', 'ops-losses'],
    ] as const) {
      await visit(page, path, tag(name));
    }
    await page.context().close();

    // The technician's own screens: the field visits.
    page = await newPage(browser, lang, viewport);
    await signInAs(page, world.url, 'tariq');
    await visit(page, '/field', tag('field-agent'));
    await page.context().close();
    process.stdout.write(`${vp} ${lang} done\n`);
  }
}

await browser.close();
await world.close();
process.stdout.write(`${findings.length} findings\n${findings.join('\n')}\n`);
