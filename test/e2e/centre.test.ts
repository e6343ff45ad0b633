/**
 * The contact centre's screens in Arabic and English: the screen pop from a caller's number (as telephony
 * links it) shows the customer, their meter and credit, last payments and open cases, and a case opened from
 * it carries the phone channel and the caller's number; the KPI screen shows the answer rate of the calls the
 * API imported, the cases of the period, its charts and its table by channel.
 */
import { describe, expect, it } from 'vitest';
import { expectDirection, unlabelledFields } from './layout.ts';
import {
  DESKTOP,
  LANGS,
  PASSWORD,
  pageDone,
  screenshot,
  signInAs,
  staffSession,
  textOf,
  useWebWorld,
} from './support.ts';

const CALLS = [
  'call_id,kind,queue,received_at,outcome,wait_seconds,talk_seconds',
  `e-1,call,billing,${new Date(Date.now() - 3_600_000).toISOString()},answered,10,120`,
  `e-2,call,billing,${new Date(Date.now() - 3_500_000).toISOString()},answered,20,60`,
  `e-3,call,faults,${new Date(Date.now() - 3_400_000).toISOString()},answered,15,30`,
  `e-4,chat,web,${new Date(Date.now() - 3_300_000).toISOString()},abandoned,90,0`,
].join('\n');

const web = useWebWorld('centre', async (world) => {
  const token = await staffSession(world.url, 'jo', 'omar', PASSWORD);
  const res = await fetch(`${world.url}/api/v1/contact-centre/calls/import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
    body: CALLS,
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ added: 4 });
});

describe.each(LANGS)('contact centre screens (%s)', (lang) => {
  it('the screen pop of a caller leads to a case that carries the phone channel and the caller', async () => {
    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, 'salma');
    // As the telephony system links it: the number as the switch gives it, another way of writing it.
    await page.goto(`${web.world.url}/#/service/pop?number=00962790000001`);
    await page.locator('[data-screen="screen-pop"]').waitFor();
    await expectDirection(page, lang);
    expect(await unlabelledFields(page)).toBe(0);
    const customer = page.getByTestId('pop-customer');
    expect(await textOf(customer.locator('h2'))).toBe('Huda Haddad');
    await page.getByTestId('pop-meters').locator('tbody tr').first().waitFor();
    expect(await page.getByTestId('pop-meters').locator('tbody tr').count()).toBe(1);
    await page.getByTestId('pop-payments').waitFor();
    await page.getByTestId('pop-cases').waitFor();
    await screenshot(page, `screen-pop-${lang}`);

    await page.getByTestId('pop-open-case').click();
    await page.locator('[data-screen="case-new"]').waitFor();
    expect(await textOf(page.getByTestId('case-caller'))).toContain('Huda Haddad');
    expect(await page.locator('#case-channel').inputValue()).toBe('phone');
    await page.locator('#case-subject').fill(`No supply since morning (${lang})`);
    await page.locator('form:not([role="search"]) button[type="submit"]').click();
    await page.locator('[data-screen="case"]').waitFor();

    const db = web.world.server.core.store.db;
    const stored = await db
      .selectFrom('cases')
      .select(['channel', 'caller_number', 'customer_id'])
      .where('subject', '=', `No supply since morning (${lang})`)
      .executeTakeFirstOrThrow();
    expect(stored).toEqual({
      channel: 'phone',
      caller_number: '00962790000001',
      customer_id: web.world.seed.customerId,
    });

    // Back on the screen pop, the new case is among the caller's open cases.
    await page.goto(`${web.world.url}/#/service/pop?number=790000001`);
    await page.getByTestId('pop-cases').locator('tbody a').first().waitFor();
    expect(await page.getByTestId('pop-cases').textContent()).toContain(`No supply since morning (${lang})`);
    await pageDone(page);
  });

  it('the KPI screen shows the answer rate of the imported calls, the cases, charts and a table by channel', async () => {
    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, 'salma');
    await page.goto(`${web.world.url}/#/service/centre-kpi`);
    await page.locator('[data-screen="centre-kpi"]').waitFor();
    await expectDirection(page, lang);
    expect(await unlabelledFields(page)).toBe(0);
    // 3 of the 4 imported calls and chats were answered.
    expect(await textOf(page.getByTestId('kpi-answer-rate'))).toBe('75%');
    const cases = await web.world.server.core.store.db
      .selectFrom('cases')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(await textOf(page.getByTestId('kpi-received'))).toBe(String(Number(cases.n)));
    expect(await page.getByTestId('kpi-chart').count()).toBe(2);
    const phoneRow = page.getByTestId('kpi-groups').locator('tbody tr', {
      hasText: lang === 'ar' ? 'الهاتف' : 'Phone',
    });
    expect(await phoneRow.count()).toBe(1);
    await page.locator('#kpi-by').selectOption('category');
    await page
      .getByTestId('kpi-groups')
      .locator('caption', {
        hasText: lang === 'ar' ? 'حسب الفئة' : 'By category',
      })
      .waitFor();
    await screenshot(page, `centre-kpi-${lang}`);
    await pageDone(page);
  });
});
