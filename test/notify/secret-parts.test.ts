/**
 * A one-time sign-in code lives in its outbox row only until the message is delivered (or given up), and no
 * log line carries it: the log SMS provider writes the text with the code masked, and a development inbox
 * file (DATA_DIR, outside production) is where a developer reads the whole message.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { DeliveryError, LogSmsProvider, SmsChannel } from '../../src/notify/channels.ts';
import { enqueueNotification, OutboxWorker } from '../../src/notify/outbox.ts';
import { dbTestFor, SUITE_DIALECT, seedBasics } from '../support/db.ts';

const dbTest = dbTestFor(SUITE_DIALECT);

function capture() {
  const lines: string[] = [];
  return {
    lines,
    logger: {
      info: (fields: Record<string, unknown>, message: string) =>
        lines.push(JSON.stringify({ ...fields, message })),
      warn: (fields: Record<string, unknown>, message: string) =>
        lines.push(JSON.stringify({ ...fields, message })),
    },
  };
}

dbTest('a delivered sign-in code leaves the outbox row and never reaches the log', async ({ store }) => {
  const seed = await seedBasics(store.db);
  const log = capture();
  const dir = await mkdtemp(join(tmpdir(), 'rasid-inbox-'));
  const inbox = join(dir, 'sms-inbox.jsonl');
  try {
    for (const [language, code] of [
      ['en', '048213'],
      ['ar', '731905'],
    ] as const) {
      await enqueueNotification(store.db, {
        utilityId: seed.utilityId,
        channel: 'sms',
        recipient: '+962790000001',
        template: 'sign_in_code',
        language,
        payload: { code, minutes: 10 },
      });
    }
    const worker = new OutboxWorker({
      db: store.db,
      channels: { sms: new SmsChannel({ provider: new LogSmsProvider({ logger: log.logger, inbox }) }) },
      logger: log.logger,
    });
    expect(await worker.runOnce()).toEqual({ sent: 2, retried: 0, failed: 0 });

    const rows = await store.db
      .selectFrom('notifications_outbox')
      .select(['state', 'payload'])
      .where('template', '=', 'sign_in_code')
      .execute();
    expect(rows.map((r) => r.state)).toEqual(['sent', 'sent']);
    for (const row of rows) expect(row.payload).toEqual({ minutes: 10 });

    const logged = log.lines.join('\n');
    expect(logged).toContain('sms');
    for (const code of ['048213', '731905']) expect(logged).not.toContain(code);
    // The developer's inbox has the whole messages, readable by the owner only.
    const delivered = await readFile(inbox, 'utf8');
    expect(delivered).toContain('048213');
    expect(delivered).toContain('731905');
    expect((await stat(inbox)).mode & 0o077).toBe(0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

dbTest('a sign-in code the channel gives up on leaves the outbox row too', async ({ store }) => {
  const seed = await seedBasics(store.db);
  await enqueueNotification(store.db, {
    utilityId: seed.utilityId,
    channel: 'sms',
    recipient: '+962790000001',
    template: 'sign_in_code',
    language: 'en',
    payload: { code: '555123', minutes: 10 },
  });
  const worker = new OutboxWorker({
    db: store.db,
    channels: {
      sms: {
        deliver: async () => {
          throw new DeliveryError('number unreachable', true);
        },
      },
    },
  });
  expect(await worker.runOnce()).toEqual({ sent: 0, retried: 0, failed: 1 });
  const row = await store.db
    .selectFrom('notifications_outbox')
    .select(['state', 'payload'])
    .executeTakeFirstOrThrow();
  expect(row).toEqual({ state: 'failed', payload: { minutes: 10 } });
});
