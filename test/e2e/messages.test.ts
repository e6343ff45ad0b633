/**
 * Customer service sees a customer's messages and their delivery state, and sets the channels the customer
 * accepts and their order, from a case's customer, in Arabic and in English. The messages are made the way
 * Rasid makes them (notify/audience.ts) and their states come from a provider's receipt.
 */
import { describe, expect, it } from 'vitest';
import { notify } from '../../src/notify/audience.ts';
import { recordReceipt } from '../../src/notify/receipts.ts';
import { expectDirection, unlabelledFields } from './layout.ts';
import { DESKTOP, LANGS, pageDone, screenshot, signInAs, textOf, useWebWorld } from './support.ts';

const STATES = {
  ar: { delivered: 'وصلت', failed: 'لم تصل' },
  en: { delivered: 'Delivered', failed: 'Failed' },
} as const;

let caseId = '';

const web = useWebWorld('messages', async (world) => {
  const db = world.server.core.store.db;
  const { utilityId, customerId } = world.seed;
  await db
    .updateTable('customers')
    .set({ notify_channels: ['sms', 'whatsapp'] })
    .where('id', '=', customerId)
    .execute();
  const payload = {
    customerName: 'Huda Haddad',
    accountNumber: 'jo-0001',
    credit: '0.900',
    currency: 'JOD',
    daysLeft: 2,
  };
  await notify(db, { utilityId, template: 'low_credit', payload, dedupKey: 'web-1', customerId });
  const rows = await db.selectFrom('notifications_outbox').select(['id', 'channel']).orderBy('id').execute();
  for (const [i, row] of rows.entries()) {
    await db
      .updateTable('notifications_outbox')
      .set({ state: 'sent', sent_at: new Date(), provider_ref: `ref-${i}`, attempts: 1 })
      .where('id', '=', row.id)
      .execute();
    await recordReceipt(db, {
      channel: row.channel,
      providerRef: `ref-${i}`,
      state: row.channel === 'sms' ? 'delivered' : 'failed',
      detail: row.channel === 'sms' ? 'DELIVRD' : '131026 Message undeliverable',
      at: new Date(),
    });
  }
  const c = await world.server.core.store.db
    .insertInto('cases')
    .values({
      utility_id: utilityId,
      customer_id: customerId,
      channel: 'phone',
      category: 'complaint',
      subject: 'No alert received',
      description: '',
      sla_hours: 48,
      sla_due_at: new Date(Date.now() + 48 * 3_600_000),
      opened_by: 'user:salma',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  caseId = String(c.id);
});

describe.each(LANGS)("a customer's messages for customer service (%s)", (lang) => {
  it('shows each message with its state and saves the channels in a new order', async () => {
    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, 'salma');
    await page.goto(`${web.world.url}/#/service/cases/${caseId}`);
    await page.getByTestId('customer-messages').click();
    await page.locator('[data-screen="customer-messages"]').waitFor();
    await expect.poll(() => page.getByTestId('message-state').count()).toBe(2);
    const states = (await page.getByTestId('message-state').allTextContents()).map((s) => s.trim());
    expect(states.some((s) => s.startsWith(STATES[lang].delivered))).toBe(true);
    expect(states.some((s) => s.startsWith(STATES[lang].failed) && s.includes('131026'))).toBe(true);
    expect(await unlabelledFields(page)).toBe(0);
    await expectDirection(page, lang);
    await screenshot(page, `service-customer-messages-${lang}`);

    // WhatsApp first, then SMS; e-mail not accepted.
    await page.getByTestId('up-whatsapp').click();
    await page.locator('form[data-testid="message-preferences"] button[type=submit]').click();
    await expect.poll(() => textOf(page.getByTestId('prefs-saved'))).not.toBe('');
    const saved = await web.world.server.core.store.db
      .selectFrom('customers')
      .select(['notify_channels', 'notify_opt_out'])
      .where('id', '=', web.world.seed.customerId)
      .executeTakeFirstOrThrow();
    expect(saved).toEqual({ notify_channels: ['whatsapp', 'sms'], notify_opt_out: false });
    // Put back for the other language's run.
    await web.world.server.core.store.db
      .updateTable('customers')
      .set({ notify_channels: ['sms', 'whatsapp'] })
      .where('id', '=', web.world.seed.customerId)
      .execute();
    await pageDone(page);
  });
});
