/**
 * Killing Rasid with SIGKILL while it waits for the SMSC's answer to an SMS sends that SMS to nobody a
 * second time. A real `bin/rasid start` on the machine's PostgreSQL, SMS over SMPP to the test's SMSC,
 * which keeps the second message without answering; Rasid is killed then, and started again: the first and
 * third messages are delivered once, the second is failed as interrupted and never submitted again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueNotification } from '../../src/notify/outbox.ts';
import { splitSms } from '../../src/notify/smpp.ts';
import { renderTemplate } from '../../src/notify/templates.ts';
import { createDatabase } from '../../src/store/db.ts';
import { TEST_DATABASE_URL } from '../support/db.ts';
import { type SeededWorld, seedWorld, startRasid } from '../support/process.ts';
import { type Smsc, startSmsc } from '../support/smsc.ts';

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('SIGKILL while an SMS waits for the SMSC', () => {
  let world: SeededWorld;
  let dir: string;
  let smsc: Smsc;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rasid-sms-kill-'));
    world = await seedWorld({ postgresUrl: TEST_DATABASE_URL, dataDir: dir, meters: 1 });
    smsc = await startSmsc('rasid', 'secret1');
  }, 120_000);

  afterAll(async () => {
    await smsc?.close();
    await world?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('never sends the interrupted SMS again', async () => {
    const store = await createDatabase({ databaseUrl: world.env.DATABASE_URL!, dataDir: dir, poolSize: 1 });
    const db = store.db;
    try {
      const { id: utilityId } = await db.selectFrom('utilities').select('id').executeTakeFirstOrThrow();
      const payload = (n: number) => ({
        customerName: `Customer ${n}`,
        accountNumber: `A-${n}`,
        credit: '0.500',
        currency: 'OMR',
        daysLeft: 1,
      });
      for (const n of [1, 2, 3]) {
        await enqueueNotification(db, {
          utilityId,
          channel: 'sms',
          recipient: `+96891${String(n).padStart(6, '0')}`,
          template: 'low_credit',
          language: 'ar',
          payload: payload(n),
          dedupKey: `kill:${n}`,
        });
      }
      // The second message's first part is kept unanswered: Rasid waits for it, and is killed then.
      const parts = splitSms(renderTemplate('low_credit', 'ar', payload(1)).text, 0).length;
      smsc.holdAtSubmit = parts + 1;
      const env = {
        ...world.env,
        SMS_PROVIDER: 'smpp',
        SMPP_URL: smsc.url,
        SMPP_SYSTEM_ID: 'rasid',
        SMPP_PASSWORD: 'secret1',
        OUTBOX_INTERVAL_SECONDS: '1',
        BALANCE_INTERVAL_SECONDS: '3600',
      };
      const first = await startRasid(env);
      await waitFor(async () => {
        if (smsc.held.length !== 1) return false;
        const row = await db
          .selectFrom('notifications_outbox')
          .select('state')
          .where('recipient', '=', '+96891000001')
          .executeTakeFirstOrThrow();
        return row.state === 'delivered';
      });
      await first.stop('SIGKILL');
      expect(smsc.messages.map((m) => m.to)).toEqual(['96891000001']);

      // The row's retry time has come (the backoff after its claim); a new process takes over.
      await db
        .updateTable('notifications_outbox')
        .set({ next_attempt_at: new Date() })
        .where('state', '=', 'pending')
        .execute();
      smsc.holdAtSubmit = null;
      const second = await startRasid(env);
      try {
        await waitFor(async () => {
          const rows = await db.selectFrom('notifications_outbox').select('state').execute();
          return rows.every((r) => r.state === 'delivered' || r.state === 'failed');
        });
      } finally {
        await second.stop();
      }
      const rows = await db
        .selectFrom('notifications_outbox')
        .select(['recipient', 'state', 'last_error'])
        .orderBy('id')
        .execute();
      expect(rows).toEqual([
        { recipient: '+96891000001', state: 'delivered', last_error: null },
        { recipient: '+96891000002', state: 'failed', last_error: expect.stringContaining('interrupted') },
        { recipient: '+96891000003', state: 'delivered', last_error: null },
      ]);
      // The SMSC got the second message's first part once (held), and nothing of it since.
      expect(smsc.messages.map((m) => m.to)).toEqual(['96891000001', '96891000003']);
      expect(smsc.submits.filter((s) => s.to === '96891000002')).toEqual([]);
    } finally {
      await store.close();
    }
  }, 240_000);
});
