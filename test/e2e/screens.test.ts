/**
 * The screens as Gulf users meet them (issue: the screens as Gulf users saw them), in Arabic and in English:
 * the staff header on a phone, wide tables that show they scroll and take the keyboard, a refused form that
 * names its fields, and an operator's meter page that follows the meter without a reload.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MeterId } from '../../src/store/schema.ts';
import {
  acknowledgeLatestCommand,
  DESKTOP,
  kioskSignIn,
  LANGS,
  type Lang,
  type Page,
  PHONE,
  pageDone,
  SCREENSHOTS,
  screenshot,
  signInAs,
  textOf,
  useWebWorld,
} from './support.ts';

type Dictionary = Record<string, string>;
const DICT: Record<Lang, Dictionary> = {
  ar: ((await import(new URL('../../web/i18n/ar.js', import.meta.url).href)) as { default: Dictionary })
    .default,
  en: ((await import(new URL('../../web/i18n/en.js', import.meta.url).href)) as { default: Dictionary })
    .default,
};
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const web = useWebWorld('screens');

interface AxeResult {
  violations: { id: string; nodes: { target: string[] }[] }[];
}

/** axe-core's verdict on the page for the given rules. */
async function axe(page: Page, rules: string[]): Promise<AxeResult['violations']> {
  // Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not apply to.
  await page.evaluate(AXE);
  const result = await page.evaluate(
    (only) =>
      (
        globalThis as unknown as {
          axe: { run(opts: unknown): Promise<AxeResult> };
        }
      ).axe.run({ runOnly: { type: 'rule', values: only } }),
    rules,
  );
  return result.violations;
}

describe.each(LANGS)('on a 390×844 phone (%s)', (lang) => {
  const text = DICT[lang];

  it('the staff header is one row with a menu that opens and closes', async () => {
    const page = await web.newPage(lang, PHONE);
    await signInAs(page, web.world.url, 'omar');
    await page.locator('[data-screen="fleet-overview"]').waitFor();
    const headerHeight = () => page.locator('header.top').evaluate((h) => h.getBoundingClientRect().height);
    // One row: the brand, the language and the menu button (the screen is 844 px high).
    expect(await headerHeight()).toBeLessThan(100);
    await screenshot(page, `phone-staff-header-${lang}`);
    const toggle = page.getByTestId('menu-toggle');
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    expect(await page.getByRole('link', { name: text['nav.audit'] }).isVisible()).toBe(false);
    await toggle.click();
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    await screenshot(page, `phone-staff-menu-${lang}`);
    await page.getByRole('link', { name: text['nav.meters'], exact: true }).click();
    await page.locator('[data-screen="fleet-meters"]').waitFor();
    // The chosen screen closes the menu.
    await expect.poll(() => toggle.getAttribute('aria-expanded')).toBe('false');
    expect(await headerHeight()).toBeLessThan(100);
    await pageDone(page);
  });

  it("no staff screen scrolls sideways as a whole: only a wide table's frame does", async () => {
    const page = await web.newPage(lang, PHONE);
    await signInAs(page, web.world.url, 'omar');
    const screens: [string, string][] = [
      ['/ops', 'fleet-overview'],
      ['/ops/meters', 'fleet-meters'],
      [`/ops/meters/${web.world.seed.meterId}`, 'fleet-meter'],
      ['/ops/alerts', 'alerts'],
      ['/service/cases', 'cases'],
      ['/tech/commission', 'commission'],
    ];
    for (const [path, name] of screens) {
      await page.goto(`${web.world.url}/#${path}`);
      await page.locator(`[data-screen="${name}"]`).waitFor();
      await page.waitForLoadState('networkidle');
      const overflow = await page.evaluate(() => {
        const d = (
          globalThis as unknown as {
            document: { documentElement: { scrollWidth: number; clientWidth: number } };
          }
        ).document.documentElement;
        return d.scrollWidth - d.clientWidth;
      });
      expect(overflow, name).toBeLessThanOrEqual(0);
      await screenshot(page, `phone-${name}-${lang}`);
    }
    await pageDone(page);
  });

  it('a wide table says it scrolls and the keyboard can scroll it', async () => {
    const page = await web.newPage(lang, PHONE);
    await signInAs(page, web.world.url, 'omar');
    await page.goto(`${web.world.url}/#/ops/meters`);
    await page.locator('table a', { hasText: 'jo-M-0001' }).waitFor();
    const frame = page.locator('.table-scroll').first();
    const wide = await frame.evaluate((f) => f.scrollWidth > f.clientWidth);
    expect(wide).toBe(true);
    await expect.poll(() => frame.getAttribute('data-overflow')).toBe('true');
    // The line above the table, in the reader's language.
    const hint = await frame.evaluate(
      (f) =>
        (
          globalThis as unknown as {
            getComputedStyle(e: unknown, pseudo: string): { content: string };
          }
        ).getComputedStyle(f, '::before').content,
    );
    expect(hint).toBe(JSON.stringify(text['table.scrollHint']));
    expect(await axe(page, ['scrollable-region-focusable'])).toEqual([]);
    await frame.focus();
    await page.keyboard.press(lang === 'ar' ? 'ArrowLeft' : 'ArrowRight');
    await expect.poll(() => frame.evaluate((f) => Math.abs(f.scrollLeft))).toBeGreaterThan(0);
    await screenshot(page, `phone-meter-list-${lang}`);
    await pageDone(page);
  });

  it('a meter registered without its DRN and SGC is refused, naming both fields', async () => {
    const page = await web.newPage(lang, PHONE);
    await signInAs(page, web.world.url, 'tariq');
    await page.goto(`${web.world.url}/#/tech/commission`);
    await page.locator('#commission-serial').fill(`JO-EMPTY-${lang}`);
    await page.locator('form[role=search] button[type=submit]').click();
    await page.locator('#sts-drn').waitFor();
    await page.locator('#sts-sgc').fill('');
    await page.locator('form[aria-labelledby="register-title"] button[type=submit]').click();
    const alert = await textOf(page.locator('[data-screen="commission"] [role=alert]'));
    expect(alert).toContain(text['tech.sts.drn']);
    expect(alert).toContain(text['tech.sts.sgc']);
    expect(await page.locator('#sts-drn').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#sts-sgc').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#sts-iin').getAttribute('aria-invalid')).toBeNull();
    await screenshot(page, `phone-register-refused-${lang}`);
    await pageDone(page);
  });
});

describe.each(LANGS)("the operator's meter page (%s)", (lang) => {
  const text = DICT[lang];

  it('follows the meter live: supply off once the disconnect is acknowledged, offline when it drops', async () => {
    const db = web.world.server.core.store.db;
    const meterId = web.world.seed.meterId as MeterId;
    const now = Date.now();
    // Seen by its status message ten minutes ago, read a minute ago with the supply on.
    await db
      .updateTable('meters')
      .set({ online: true, last_seen_at: new Date(now - 600_000) })
      .where('id', '=', meterId)
      .execute();
    await db
      .insertInto('readings')
      .values({
        meter_id: meterId,
        ts: new Date(now - 60_000 - (lang === 'ar' ? 0 : 1000)),
        seq: lang === 'ar' ? 900_001n : 900_002n,
        energy_wh: 1_234_567n,
        relay: true,
        flags: 0,
      })
      .execute();

    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, 'omar');
    await page.goto(`${web.world.url}/#/ops/meters/${meterId}`);
    await page.locator('[data-screen="fleet-meter"]').waitFor();
    const state = page.getByTestId('meter-state');
    await expect.poll(() => textOf(state)).toContain(text['fleet.online']);
    // Last seen is never before the last reading: the reading itself is a sign of life.
    expect(await textOf(page.getByTestId('last-seen'))).toBe(await textOf(page.locator('.reading-at')));
    // Both in the utility's time zone, as its people read the time.
    const { timezone } = await db
      .selectFrom('utilities')
      .select('timezone')
      .where('id', '=', web.world.seed.utilityId)
      .executeTakeFirstOrThrow();
    const read = new Intl.DateTimeFormat(lang === 'ar' ? 'ar-u-nu-latn' : 'en-GB', {
      dateStyle: 'medium',
      timeStyle: 'short',
      timeZone: timezone,
    }).format(new Date(now - 60_000 - (lang === 'ar' ? 0 : 1000)));
    expect(await textOf(page.locator('.reading-at'))).toBe(read);

    await page.locator('button.danger').click();
    const dialog = page.locator('dialog.confirm');
    await dialog.locator('button.primary').click();
    await dialog.waitFor({ state: 'hidden' });
    const url = page.url();
    // The meter acknowledges the disconnect; the next reading is still ~a minute away.
    await acknowledgeLatestCommand(web.world, meterId, 'disconnect');
    await expect.poll(() => textOf(state), { timeout: 15_000 }).toContain(text['fleet.disconnected']);
    expect(await textOf(state)).not.toContain(text['meter.relayOn']);
    // The meter drops off the broker (its last will): the page hears it through the live stream.
    await db.updateTable('meters').set({ online: false }).where('id', '=', meterId).execute();
    await expect.poll(() => textOf(state), { timeout: 20_000 }).toContain(text['fleet.offline']);
    expect(page.url()).toBe(url);
    await screenshot(page, `operator-meter-live-${lang}`);
    await db.updateTable('meters').set({ online: true }).where('id', '=', meterId).execute();
    await pageDone(page);
  });
});

describe.each(LANGS)('empty screens say what to do next (%s)', (lang) => {
  const text = DICT[lang];

  it("the kiosk's sales before the day's first sale, and a search that finds no meter", async () => {
    const kiosk = await web.newPage(lang, PHONE);
    await kioskSignIn(kiosk, web.world);
    await kiosk.goto(`${web.world.url}/#/kiosk/sales`);
    const empty = kiosk.getByTestId('empty').first();
    expect(await textOf(empty)).toContain(text['kiosk.noSales']);
    await empty.getByRole('link', { name: text['kiosk.sellNow'] }).click();
    await kiosk.locator('[data-screen="kiosk-sell"]').waitFor();
    await pageDone(kiosk);

    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, 'omar');
    await page.goto(`${web.world.url}/#/ops/meters?q=no-such-meter`);
    const none = page.getByTestId('empty');
    expect(await textOf(none)).toContain(text['fleet.noMatch']);
    await screenshot(page, `operator-no-match-${lang}`);
    await none.getByRole('link', { name: text['fleet.showAll'] }).click();
    await page.locator('table a', { hasText: 'jo-M-0001' }).waitFor();
    expect(await textOf(page.getByTestId('meter-total'))).toBe(text['fleet.foundOne']);
    await pageDone(page);
  });
});

/** Each page's size in points ([width, height]) from a PDF's page dictionaries (Chromium writes them plain). */
function pdfPages(pdf: Buffer): [number, number][] {
  const text = pdf.toString('latin1');
  const pages: [number, number][] = [];
  for (const m of text.matchAll(
    /\/Type\s*\/Page(?![s\w])[\s\S]*?\/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]/g,
  )) {
    pages.push([Number(m[3]) - Number(m[1]), Number(m[4]) - Number(m[2])]);
  }
  return pages;
}

const MM = 72 / 25.4;

describe.each(LANGS)("the kiosk's printed receipt (%s)", (lang) => {
  it('prints on the 80 mm roll: one page 80 mm wide with the token and the receipt, nothing else', async () => {
    const page = await web.newPage(lang, PHONE);
    await kioskSignIn(page, web.world);
    await page.getByTestId('available').waitFor();
    await page.locator('#sell-meter').fill('jo-M-0001');
    await page.locator('#sell-amount').fill('5');
    await page.locator('form button[type=submit]').click();
    await page.locator('.quote button.primary').click();
    await page.locator('[data-screen="kiosk-token"]').waitFor();
    const token = ((await page.getByTestId('token').textContent()) ?? '').replace(/\s/g, '');

    await page.emulateMedia({ media: 'print' });
    await screenshot(page, `kiosk-print-${lang}`);
    // What "print the receipt" gives Chromium's print path: the page size the stylesheet asks for.
    const pdf = await page.pdf({ preferCSSPageSize: true, printBackground: true });
    await writeFile(join(SCREENSHOTS, `kiosk-receipt-${lang}.pdf`), pdf);
    const pages = pdfPages(pdf);
    expect(pages).toHaveLength(1);
    const [width] = pages[0]!;
    expect(Math.round(width / MM)).toBe(80);
    // The slip alone: the screen's heading and the buttons are not printed.
    expect(await page.locator('h1').isVisible()).toBe(false);
    expect(await page.locator('.actions').isVisible()).toBe(false);
    expect(await page.getByTestId('token').isVisible()).toBe(true);
    expect(token).toMatch(/^\d{4}(-\d{4}){4}$/);
    await pageDone(page);
  });
});
