/**
 * Who hears what (notify/audience.ts) on PGlite: the customer's channels in their order, the reach of each
 * message, the opt-out honoured for unsolicited messages only, webhook endpoints by the events they want;
 * and the outbox's rule after a crash: an interrupted SMS is failed, never sent again, while a webhook
 * (whose receiver drops repeats) is delivered again.
 */
import { describe, expect } from 'vitest';
import { AUDIENCE, type NotifyEvent, notify, WEBHOOK_EVENTS } from '../../src/notify/audience.ts';
import { type Channel, type Delivery, MemorySmsProvider, SmsChannel } from '../../src/notify/channels.ts';
import { OutboxWorker } from '../../src/notify/outbox.ts';
import type { TemplateName } from '../../src/notify/templates.ts';
import type { Queryable } from '../../src/store/ledger.ts';
import { dbTestFor, type Seed, SUITE_DIALECT, seedBasics } from '../support/db.ts';

const dbTest = dbTestFor(SUITE_DIALECT);

const LOW = { customerName: 'Huda', accountNumber: 'A-1', credit: '0.500', currency: 'OMR', daysLeft: 1 };
const CASE = { customerName: 'Huda', caseNumber: 'C-1', status: 'resolved' as const, note: null };

/** An event about the seeded customer of the seeded utility, told through notify(). */
function aboutCustomer<T extends TemplateName>(
  db: Queryable,
  seed: Seed,
  event: Omit<NotifyEvent<T>, 'utilityId' | 'customerId'>,
): Promise<string[]> {
  return notify(db, { utilityId: seed.utilityId, customerId: seed.customerId, ...event });
}

describe('who hears what', () => {
  dbTest(
    'the customer’s channels, order and reach; the opt-out for unsolicited messages only',
    async ({ store }) => {
      const db = store.db;
      const seed = await seedBasics(db);
      await db
        .updateTable('customers')
        .set({
          email: 'huda@example.test',
          notify_channels: ['whatsapp', 'email', 'sms'],
          preferred_language: 'en',
        })
        .where('id', '=', seed.customerId)
        .execute();
      const rows = async () =>
        (
          await db
            .selectFrom('notifications_outbox')
            .select(['channel', 'template', 'language', 'customer_id'])
            .orderBy('id')
            .execute()
        ).map((r) => `${r.template}:${r.channel}:${r.language}:${r.customer_id === seed.customerId}`);

      // A supply message goes on every accepted channel, in order; a case update on the first only.
      await aboutCustomer(db, seed, { template: 'low_credit', payload: LOW, dedupKey: 'e1' });
      await aboutCustomer(db, seed, { template: 'case_updated', payload: CASE, dedupKey: 'e2' });
      expect(await rows()).toEqual([
        'low_credit:whatsapp:en:true',
        'low_credit:email:en:true',
        'low_credit:sms:en:true',
        'case_updated:whatsapp:en:true',
      ]);
      // The same event again writes nothing.
      expect(await aboutCustomer(db, seed, { template: 'low_credit', payload: LOW, dedupKey: 'e1' })).toEqual(
        [],
      );

      // Opted out: no alert, no case news; the sign-in code they asked for still goes.
      await db
        .updateTable('customers')
        .set({ notify_opt_out: true })
        .where('id', '=', seed.customerId)
        .execute();
      expect(await aboutCustomer(db, seed, { template: 'low_credit', payload: LOW, dedupKey: 'e3' })).toEqual(
        [],
      );
      expect(
        await aboutCustomer(db, seed, { template: 'case_updated', payload: CASE, dedupKey: 'e4' }),
      ).toEqual([]);
      const code = await aboutCustomer(db, seed, {
        template: 'sign_in_code',
        payload: { code: '123456', minutes: 10 },
        dedupKey: 'e5',
        to: { channel: 'sms', recipient: '+962790000001', language: 'en' },
      });
      expect(code).toHaveLength(1);

      // No channel with an address: nothing (the customer accepts e-mail only and has none).
      await db
        .updateTable('customers')
        .set({ notify_opt_out: false, notify_channels: ['email'], email: null })
        .where('id', '=', seed.customerId)
        .execute();
      expect(await aboutCustomer(db, seed, { template: 'low_credit', payload: LOW, dedupKey: 'e6' })).toEqual(
        [],
      );
    },
  );

  dbTest(
    'webhook endpoints hear the events they chose; codes and tokens never go to a webhook',
    async ({ store }) => {
      const db = store.db;
      const seed = await seedBasics(db);
      expect(WEBHOOK_EVENTS).not.toContain('sign_in_code');
      expect(WEBHOOK_EVENTS).not.toContain('token_delivery');
      expect(AUDIENCE.token_delivery.webhook).toBe(false);
      for (const [url, events] of [
        ['https://billing.example/hook', ['low_credit', 'disconnect']],
        ['https://crm.example/hook', ['case_updated']],
      ] as const) {
        await db
          .insertInto('webhook_endpoints')
          .values({ utility_id: seed.utilityId, url, events: [...events], secret_box: Buffer.alloc(40) })
          .execute();
      }
      await db
        .updateTable('customers')
        .set({ notify_opt_out: true })
        .where('id', '=', seed.customerId)
        .execute();
      await aboutCustomer(db, seed, {
        template: 'low_credit',
        payload: LOW,
        dedupKey: 'b1',
        configuredWebhook: 'https://legacy.example/hook',
      });
      const rows = await db
        .selectFrom('notifications_outbox')
        .select(['channel', 'recipient'])
        .orderBy('id')
        .execute();
      // The opted-out customer hears nothing; the utility's systems still do.
      expect(rows).toEqual([
        { channel: 'webhook', recipient: 'https://legacy.example/hook' },
        { channel: 'webhook', recipient: 'https://billing.example/hook' },
      ]);
    },
  );
});

describe('after a crash', () => {
  dbTest(
    'an interrupted SMS is failed and not sent again; an interrupted webhook is delivered again',
    async ({ store }) => {
      const db = store.db;
      const seed = await seedBasics(db);
      await db
        .insertInto('webhook_endpoints')
        .values({
          utility_id: seed.utilityId,
          url: 'https://billing.example/hook',
          events: ['low_credit'],
          secret_box: Buffer.alloc(40),
        })
        .execute();
      await aboutCustomer(db, seed, { template: 'low_credit', payload: LOW, dedupKey: 'c1' });
      // A worker claimed both rows and died while delivering them: what it leaves behind.
      const claimedAt = new Date(Date.now() - 120_000);
      await db
        .updateTable('notifications_outbox')
        .set({ attempts: 1, claimed_at: claimedAt, next_attempt_at: new Date(Date.now() - 60_000) })
        .execute();
      const sms = new MemorySmsProvider();
      const hooks: Delivery[] = [];
      const webhook: Channel = { deliver: async (d) => void hooks.push(d) };
      const worker = new OutboxWorker({ db, channels: { sms: new SmsChannel({ provider: sms }), webhook } });
      expect(await worker.runOnce()).toEqual({ sent: 1, retried: 0, failed: 1 });
      expect(sms.sent).toEqual([]);
      expect(hooks.map((h) => h.recipient)).toEqual(['https://billing.example/hook']);
      const rows = await db
        .selectFrom('notifications_outbox')
        .select(['channel', 'state', 'last_error', 'claimed_at'])
        .orderBy('id')
        .execute();
      expect(rows).toEqual([
        {
          channel: 'sms',
          state: 'failed',
          last_error: expect.stringContaining('interrupted'),
          claimed_at: null,
        },
        { channel: 'webhook', state: 'sent', last_error: null, claimed_at: null },
      ]);
      expect(await worker.runOnce()).toEqual({ sent: 0, retried: 0, failed: 0 });
    },
  );
});
