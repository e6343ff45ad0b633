/**
 * Staff journeys in the web app, in Arabic and in English: the operator (fleet overview, search, a meter's
 * page, a disconnect with its confirmation, the live alert stream), the technician (meters) and customer
 * service (cases, moving a case with a note, the KPI). Screenshots of each role's main screen.
 */
import { describe, expect, it } from 'vitest';
import { expectDirection } from './layout.ts';
import {
  DESKTOP,
  LANGS,
  PASSWORD,
  type Page,
  pageDone,
  screenshot,
  staffSession,
  submitSignIn,
  textOf,
  useWebWorld,
} from './support.ts';

const web = useWebWorld('staff');

const signIn = (page: Page, username: string) => submitSignIn(page, web.world.url, username);

describe.each(LANGS)('operator (%s)', (lang) => {
  it('sees the fleet, finds a meter, and disconnects it after confirming', async () => {
    const page = await web.newPage(lang, DESKTOP);
    await signIn(page, 'omar');
    await page.locator('[data-screen="fleet-overview"]').waitFor();
    await expect.poll(() => textOf(page.getByTestId('count-total'))).toMatch(/^1/);
    await expectDirection(page, lang);
    await screenshot(page, `operator-${lang}`);

    await page.getByTestId('count-total').click();
    await page.locator('[data-screen="fleet-meters"]').waitFor();
    await page.locator('#meter-search').fill('jo-M-0001');
    await page.locator('form[role=search] button[type=submit]').click();
    await expect.poll(() => page.url()).toContain('q=jo-M-0001');
    await page.locator('table a', { hasText: 'jo-M-0001' }).click();

    await page.locator('[data-screen="fleet-meter"]').waitFor();
    await expect.poll(() => textOf(page.locator('h1'))).toContain('jo-M-0001');
    await page.locator('button.danger').click();
    const dialog = page.locator('dialog.confirm');
    await dialog.waitFor();
    await dialog.locator('#command-reason').fill('unpaid debt (test)');
    await dialog.locator('button.primary').click();
    await dialog.waitFor({ state: 'hidden' });
    await expect
      .poll(() => textOf(page.getByTestId('commands')))
      .toContain(lang === 'ar' ? 'فصل' : 'Disconnect');
    const commands = await web.world.server.core.store.db
      .selectFrom('commands')
      .select(['kind', 'state'])
      .where('meter_id', '=', web.world.seed.meterId)
      .execute();
    expect(commands.some((c) => c.kind === 'disconnect')).toBe(true);
    await expectDirection(page, lang);
    await screenshot(page, `operator-meter-${lang}`);

    await page.goto(`${web.world.url}/#/ops/alerts`);
    await page.locator('[data-screen="alerts"]').waitFor();
    await expect
      .poll(() => textOf(page.getByTestId('stream-state')))
      .toBe(
        lang === 'ar' ? 'مباشر: تظهر التنبيهات الجديدة في الأعلى.' : 'Live: new alerts appear at the top.',
      );
    await pageDone(page);
  });
});

describe.each(LANGS)('technician (%s)', (lang) => {
  it('lands on the meter list and opens a meter', async () => {
    const page = await web.newPage(lang, DESKTOP);
    await signIn(page, 'tariq');
    await page.locator('[data-screen="fleet-meters"]').waitFor();
    await page.locator('table a', { hasText: 'jo-M-0001' }).waitFor();
    await expectDirection(page, lang);
    await screenshot(page, `technician-${lang}`);
    await page.locator('table a', { hasText: 'jo-M-0001' }).click();
    await page.locator('[data-screen="fleet-meter"]').waitFor();
    await pageDone(page);
  });
});

describe.each(LANGS)('customer service (%s)', (lang) => {
  it('works a case: the list, the case page, a status move with a note, and the KPI', async () => {
    const token = await staffSession(web.world.url, 'jo', 'salma', PASSWORD);
    const opened = await fetch(`${web.world.url}/api/v1/cases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        category: 'meter_fault',
        subject: `No display (${lang})`,
        customerId: web.world.seed.customerId,
        meterId: web.world.seed.meterId,
      }),
    });
    expect(opened.status).toBe(201);
    const theCase = (await opened.json()) as { id: string; number: string };

    const page = await web.newPage(lang, DESKTOP);
    await signIn(page, 'salma');
    await page.locator('[data-screen="cases"]').waitFor();
    await page.locator('table a', { hasText: theCase.number }).waitFor();
    await expectDirection(page, lang);
    await screenshot(page, `service-${lang}`);
    await page.locator('table a', { hasText: theCase.number }).click();

    await page.locator('[data-screen="case"]').waitFor();
    await page.locator('#case-next').selectOption('in_progress');
    await page.locator('#case-note').fill('A technician visits tomorrow.');
    await page.locator('form.case-move button[type=submit]').click();
    await expect
      .poll(() => textOf(page.getByTestId('case-status')))
      .toBe(lang === 'ar' ? 'قيد المعالجة' : 'In progress');
    await expect.poll(() => textOf(page.locator('.timeline'))).toContain('A technician visits tomorrow.');

    let kpiRequests = 0;
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/v1/cases/kpi') kpiRequests += 1;
    });
    await page.getByRole('link', { name: lang === 'ar' ? 'المؤشرات' : 'KPI' }).click();
    await page.locator('[data-screen="kpi"]').waitFor();
    await expect
      .poll(async () => Number(await textOf(page.getByTestId('kpi-opened'))))
      .toBeGreaterThanOrEqual(1);
    // The page asks once per visit; it once asked again on every render (hundreds of requests a second).
    await page.waitForTimeout(1_000);
    expect(kpiRequests).toBe(1);
    await pageDone(page);
  });
});
