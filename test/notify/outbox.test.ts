/**
 * The outbox worker on PGlite, delivering over real sockets: e-mail to a tiny SMTP sink (node:net) through
 * nodemailer, webhooks to a local HTTP receiver that verifies the HMAC, SMS through the in-memory provider.
 */
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect } from 'vitest';
import {
  type Channel,
  DeliveryError,
  EmailChannel,
  MemorySmsProvider,
  SmsChannel,
  WebhookChannel,
} from '../../src/notify/channels.ts';
import { enqueueNotification, OutboxWorker } from '../../src/notify/outbox.ts';
import { TemplateError } from '../../src/notify/templates.ts';
import { verifyWebhook } from '../../src/notify/webhook-signature.ts';
import { dbTestFor, SUITE_DIALECT, seedBasics } from '../support/db.ts';

const dbTest = dbTestFor(SUITE_DIALECT);

const LOW_CREDIT = {
  customerName: 'Huda',
  accountNumber: 'A-17',
  credit: '0.850',
  currency: 'JOD',
  daysLeft: 2,
};

/** A minimal SMTP server (RFC 5321 happy path): keeps each message's envelope and data. */
interface SmtpSink {
  readonly port: number;
  readonly messages: { from: string; to: string[]; data: string }[];
  /** Answer RCPT TO with this code (e.g. 550) instead of 250. */
  rcptCode: number;
  close(): Promise<void>;
}

async function startSmtpSink(): Promise<SmtpSink> {
  const sockets = new Set<Socket>();
  const sink: SmtpSink = {
    port: 0,
    messages: [],
    rcptCode: 250,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffer = '';
    let inData = false;
    let current = { from: '', to: [] as string[], data: '' };
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 sink.test ESMTP');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          current.data = buffer.slice(0, end);
          buffer = buffer.slice(end + 5);
          inData = false;
          sink.messages.push(current);
          current = { from: '', to: [], data: '' };
          reply('250 2.0.0 queued');
          continue;
        }
        const nl = buffer.indexOf('\r\n');
        if (nl < 0) return;
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') reply('250-sink.test\r\n250 8BITMIME');
        else if (verb === 'MAIL') {
          current.from = line.slice(10).replace(/[<>]/g, '').split(' ')[0] ?? '';
          reply('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          if (sink.rcptCode !== 250) reply(`${sink.rcptCode} 5.1.1 no such user`);
          else {
            current.to.push(line.slice(8).replace(/[<>]/g, ''));
            reply('250 2.1.5 ok');
          }
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 go ahead');
        } else if (verb === 'QUIT') {
          reply('221 bye');
          socket.end();
        } else if (verb === 'RSET' || verb === 'NOOP') reply('250 ok');
        else reply('502 5.5.2 not implemented');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return Object.assign(sink, { port: (server.address() as AddressInfo).port });
}

/** A utility's webhook receiver: verifies the signature on the raw body, answers with the next status. */
interface Receiver {
  readonly url: string;
  readonly received: {
    verified: boolean;
    event: string | undefined;
    delivery: string | undefined;
    body: unknown;
  }[];
  statuses: number[];
  close(): Promise<void>;
}

async function startReceiver(secret: string, now: () => number): Promise<Receiver> {
  const receiver: Receiver = { url: '', received: [], statuses: [], close: async () => {} };
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const header = req.headers['rasid-signature'];
      const check = verifyWebhook(
        secret,
        typeof header === 'string' ? header : undefined,
        raw,
        Math.floor(now() / 1000),
      );
      receiver.received.push({
        verified: check.ok,
        event: req.headers['rasid-event'] as string | undefined,
        delivery: req.headers['rasid-delivery'] as string | undefined,
        body: JSON.parse(raw),
      });
      res.statusCode = check.ok ? (receiver.statuses.shift() ?? 200) : 401;
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  receiver.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/rasid/events`,
  });
}

describe('the notifications outbox', () => {
  let smtp: SmtpSink;
  let receiver: Receiver;
  const clock = { now: new Date('2026-03-03T08:00:00Z') };

  beforeEach(async () => {
    clock.now = new Date('2026-03-03T08:00:00Z');
    smtp = await startSmtpSink();
    receiver = await startReceiver('utility-secret', () => clock.now.getTime());
  });
  afterEach(async () => {
    await smtp.close();
    await receiver.close();
  });

  function worker(db: Parameters<typeof seedBasics>[0], sms: MemorySmsProvider, email: EmailChannel) {
    return new OutboxWorker({
      db,
      now: () => clock.now,
      backoff: { initialMs: 60_000, maxMs: 600_000, maxAttempts: 3 },
      channels: {
        sms: new SmsChannel({ provider: sms }),
        email,
        webhook: new WebhookChannel({
          secrets: (_utility, url) => (url === receiver.url ? 'utility-secret' : null),
          now: () => clock.now,
        }),
      },
    });
  }

  dbTest(
    'delivers SMS, e-mail over SMTP and a signed webhook; a dedup key enqueues once',
    async ({ store }) => {
      const seed = await seedBasics(store.db);
      const base = {
        utilityId: seed.utilityId,
        template: 'low_credit',
        payload: LOW_CREDIT,
        notBefore: clock.now,
      } as const;
      const ids = [
        await enqueueNotification(store.db, {
          ...base,
          channel: 'sms',
          recipient: '+962790000001',
          language: 'ar',
          dedupKey: 'k:sms',
        }),
        await enqueueNotification(store.db, {
          ...base,
          channel: 'email',
          recipient: 'huda@example.test',
          language: 'en',
          dedupKey: 'k:email',
        }),
        await enqueueNotification(store.db, {
          ...base,
          channel: 'webhook',
          recipient: receiver.url,
          language: 'en',
          dedupKey: 'k:hook',
        }),
      ];
      expect(ids.every((id) => id !== null)).toBe(true);
      expect(
        await enqueueNotification(store.db, {
          ...base,
          channel: 'sms',
          recipient: '+962790000001',
          language: 'ar',
          dedupKey: 'k:sms',
        }),
      ).toBeNull();

      const sms = new MemorySmsProvider();
      const email = new EmailChannel({
        host: '127.0.0.1',
        port: smtp.port,
        from: 'no-reply@rasid.test',
        ignoreTls: true,
      });
      try {
        expect(await worker(store.db, sms, email).runOnce()).toEqual({ sent: 3, retried: 0, failed: 0 });
      } finally {
        email.close();
      }

      expect(sms.sent).toHaveLength(1);
      expect(sms.sent[0]?.to).toBe('+962790000001');
      expect(sms.sent[0]?.text).toContain('رصيدك في الحساب');

      expect(smtp.messages).toHaveLength(1);
      const mail = smtp.messages[0]!;
      expect(mail.from).toBe('no-reply@rasid.test');
      expect(mail.to).toEqual(['huda@example.test']);
      expect(mail.data).toMatch(/^Subject: Low credit on account A-17$/m);
      expect(mail.data).toMatch(/^Content-Language: en$/m);
      expect(mail.data).toContain('the credit on account A-17 is low');

      expect(receiver.received).toEqual([
        {
          verified: true,
          event: 'low_credit',
          delivery: ids[2],
          body: expect.objectContaining({
            id: ids[2],
            event: 'low_credit',
            language: 'en',
            payload: LOW_CREDIT,
          }),
        },
      ]);
      const rows = await store.db
        .selectFrom('notifications_outbox')
        .select(['state', 'attempts'])
        .orderBy('id')
        .execute();
      expect(rows).toEqual([
        { state: 'sent', attempts: 1 },
        { state: 'sent', attempts: 1 },
        { state: 'sent', attempts: 1 },
      ]);
    },
  );

  dbTest(
    'a message due within the clock’s current millisecond goes on this pass (the database keeps microseconds)',
    async ({ store }) => {
      const seed = await seedBasics(store.db);
      await enqueueNotification(store.db, {
        utilityId: seed.utilityId,
        channel: 'sms',
        recipient: '+962790000002',
        template: 'low_credit',
        language: 'en',
        payload: LOW_CREDIT,
        dedupKey: 'k:same-ms',
      });
      // As `default now()` gives it when the worker's clock, in whole milliseconds, reads 08:00:00.000.
      await sql`update notifications_outbox set next_attempt_at = '2026-03-03T08:00:00.000400Z'`.execute(
        store.db,
      );
      const sms = new MemorySmsProvider();
      const email = new EmailChannel({ host: '127.0.0.1', port: smtp.port, from: 'no-reply@rasid.test' });
      try {
        expect(await worker(store.db, sms, email).runOnce()).toEqual({ sent: 1, retried: 0, failed: 0 });
      } finally {
        email.close();
      }
      expect(sms.sent.map((m) => m.to)).toEqual(['+962790000002']);
    },
  );

  dbTest(
    'a case message dates its resolution in the utility time zone, in each language',
    async ({ store }) => {
      const seed = await seedBasics(store.db);
      await store.db
        .updateTable('utilities')
        .set({ timezone: 'Asia/Muscat' })
        .where('id', '=', seed.utilityId)
        .execute();
      // Due at 21:12 UTC on 4 December: 01:12 on 5 December in Muscat.
      const payload = {
        customerName: 'Huda',
        caseNumber: 'C-7',
        category: 'complaint',
        dueAt: '2026-12-04T21:12:00.000Z',
      } as const;
      for (const [language, recipient] of [
        ['ar', '+96890000001'],
        ['en', '+96890000002'],
      ] as const) {
        await enqueueNotification(store.db, {
          utilityId: seed.utilityId,
          notBefore: clock.now,
          channel: 'sms',
          recipient,
          template: 'case_opened',
          language,
          payload,
        });
      }
      const sms = new MemorySmsProvider();
      const email = new EmailChannel({
        host: '127.0.0.1',
        port: smtp.port,
        from: 'no-reply@rasid.test',
        ignoreTls: true,
      });
      try {
        expect(await worker(store.db, sms, email).runOnce()).toEqual({ sent: 2, retried: 0, failed: 0 });
      } finally {
        email.close();
      }
      const text = (to: string) => sms.sent.find((m) => m.to === to)?.text ?? '';
      expect(text('+96890000001')).toContain('نسعى إلى إنجازه قبل 5 ديسمبر 2026 في 1:12 ص.');
      expect(text('+96890000002')).toContain('We aim to resolve it by 5 December 2026 at 01:12.');
      for (const m of sms.sent) expect(m.text).not.toMatch(/UTC|العالمي|4 (December|ديسمبر)/);
    },
  );

  dbTest(
    'retries with backoff: a webhook answering 503 is delivered on the next attempt',
    async ({ store }) => {
      const seed = await seedBasics(store.db);
      await enqueueNotification(store.db, {
        utilityId: seed.utilityId,
        notBefore: clock.now,
        channel: 'webhook',
        recipient: receiver.url,
        template: 'low_credit',
        language: 'ar',
        payload: LOW_CREDIT,
      });
      receiver.statuses = [503];
      const email = new EmailChannel({
        host: '127.0.0.1',
        port: smtp.port,
        from: 'no-reply@rasid.test',
        ignoreTls: true,
      });
      const w = worker(store.db, new MemorySmsProvider(), email);
      try {
        expect(await w.runOnce()).toEqual({ sent: 0, retried: 1, failed: 0 });
        clock.now = new Date('2026-03-03T08:00:59Z');
        expect(await w.runOnce()).toEqual({ sent: 0, retried: 0, failed: 0 });
        clock.now = new Date('2026-03-03T08:01:00Z');
        expect(await w.runOnce()).toEqual({ sent: 1, retried: 0, failed: 0 });
      } finally {
        email.close();
      }
      expect(receiver.received.map((r) => r.verified)).toEqual([true, true]);
      const row = await store.db.selectFrom('notifications_outbox').selectAll().executeTakeFirstOrThrow();
      expect(row).toMatchObject({ state: 'sent', attempts: 2, last_error: null });
    },
  );

  dbTest(
    'a refused recipient fails at once; a transient failure fails after the last attempt',
    async ({ store }) => {
      const seed = await seedBasics(store.db);
      smtp.rcptCode = 550;
      await enqueueNotification(store.db, {
        utilityId: seed.utilityId,
        notBefore: clock.now,
        channel: 'email',
        recipient: 'nobody@example.test',
        template: 'low_credit',
        language: 'en',
        payload: LOW_CREDIT,
      });
      await enqueueNotification(store.db, {
        utilityId: seed.utilityId,
        notBefore: clock.now,
        channel: 'sms',
        recipient: '+962790000001',
        template: 'low_credit',
        language: 'en',
        payload: LOW_CREDIT,
      });
      const down: Channel = {
        deliver: async () => {
          throw new DeliveryError('gateway down');
        },
      };
      const email = new EmailChannel({
        host: '127.0.0.1',
        port: smtp.port,
        from: 'no-reply@rasid.test',
        ignoreTls: true,
      });
      const w = new OutboxWorker({
        db: store.db,
        now: () => clock.now,
        backoff: { initialMs: 60_000, maxMs: 600_000, maxAttempts: 3 },
        channels: { email, sms: down },
      });
      try {
        expect(await w.runOnce()).toEqual({ sent: 0, retried: 1, failed: 1 });
        clock.now = new Date('2026-03-03T08:01:00Z');
        expect(await w.runOnce()).toEqual({ sent: 0, retried: 1, failed: 0 });
        clock.now = new Date('2026-03-03T08:03:00Z');
        expect(await w.runOnce()).toEqual({ sent: 0, retried: 0, failed: 1 });
      } finally {
        email.close();
      }
      const rows = await store.db
        .selectFrom('notifications_outbox')
        .select(['channel', 'state', 'attempts', 'last_error'])
        .orderBy('id')
        .execute();
      expect(rows).toEqual([
        { channel: 'email', state: 'failed', attempts: 1, last_error: expect.stringContaining('550') },
        { channel: 'sms', state: 'failed', attempts: 3, last_error: 'gateway down' },
      ]);
    },
  );

  dbTest('a payload the template refuses is refused at enqueue', async ({ store }) => {
    const seed = await seedBasics(store.db);
    await expect(
      enqueueNotification(store.db, {
        utilityId: seed.utilityId,
        channel: 'sms',
        recipient: '+962790000001',
        template: 'low_credit',
        language: 'en',
        payload: { ...LOW_CREDIT, credit: 'a lot' },
      }),
    ).rejects.toBeInstanceOf(TemplateError);
  });
});
