/**
 * SMS over SMPP 3.4 against an SMS centre on the same library's server side (test/support/smsc.ts): the
 * bind, UCS-2 Arabic split with UDH and put together again at the SMSC, receipts, enquire_link, throttling,
 * and the outbox over PGlite with the link dropped in the middle of a batch: every message arrives once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmsChannel } from '../../src/notify/channels.ts';
import { enqueueNotification, OutboxWorker } from '../../src/notify/outbox.ts';
import { recordReceipt } from '../../src/notify/receipts.ts';
import { isGsmText, SmppSmsProvider, splitSms } from '../../src/notify/smpp.ts';
import { renderTemplate } from '../../src/notify/templates.ts';
import { dbTestFor, SUITE_DIALECT, seedBasics } from '../support/db.ts';
import { type Smsc, startSmsc } from '../support/smsc.ts';

const dbTest = dbTestFor(SUITE_DIALECT);

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ARABIC_LONG = renderTemplate('low_credit', 'ar', {
  customerName: 'هدى الحارثي',
  accountNumber: 'A-17',
  credit: '0.850',
  currency: 'OMR',
  daysLeft: 2,
}).text;

describe('splitting an SMS', () => {
  it('keeps GSM text in one part up to 160 characters and Arabic in UCS-2 parts of 67 with a UDH', () => {
    expect(isGsmText('Your code is 123456.')).toBe(true);
    expect(isGsmText('رصيدك منخفض')).toBe(false);
    const [one] = splitSms('x'.repeat(160), 7);
    expect(one).toMatchObject({ dataCoding: 0, udh: Buffer.alloc(0) });
    expect(ARABIC_LONG.length).toBeGreaterThan(70);
    const parts = splitSms(ARABIC_LONG, 42);
    expect(parts.length).toBe(Math.ceil(ARABIC_LONG.length / 67));
    parts.forEach((p, i) => {
      expect(p.dataCoding).toBe(8);
      expect([...p.udh]).toEqual([0x05, 0x00, 0x03, 42, parts.length, i + 1]);
      expect(p.body.length).toBeLessThanOrEqual(134);
    });
    const back = parts.map((p) => Buffer.from(p.body).swap16().toString('utf16le')).join('');
    expect(back).toBe(ARABIC_LONG);
  });

  it('never splits a surrogate pair', () => {
    const text = `${'ب'.repeat(66)}😀${'ت'.repeat(10)}`;
    const parts = splitSms(text, 1);
    const first = Buffer.from(parts[0]!.body).swap16().toString('utf16le');
    expect(first).toBe('ب'.repeat(66));
    expect(parts.map((p) => Buffer.from(p.body).swap16().toString('utf16le')).join('')).toBe(text);
  });
});

describe('the SMPP provider against an SMSC', () => {
  let smsc: Smsc;
  let provider: SmppSmsProvider | undefined;
  const receipts: { id: string; state: string }[] = [];

  beforeEach(async () => {
    smsc = await startSmsc();
    receipts.length = 0;
  });
  afterEach(async () => {
    await provider?.close();
    provider = undefined;
    await smsc.close();
  });

  function open(extra: Partial<ConstructorParameters<typeof SmppSmsProvider>[0]> = {}) {
    provider = new SmppSmsProvider({
      url: smsc.url,
      systemId: 'rasid',
      password: 'secret1',
      sourceAddr: 'Rasid',
      reconnect: { initialMs: 20, maxMs: 200 },
      throttleMs: 20,
      onReceipt: (id, state) => receipts.push({ id, state }),
      ...extra,
    });
    return provider;
  }

  it('binds as transceiver, sends Arabic in UCS-2 parts the SMSC puts together, and reports one receipt', async () => {
    const p = open();
    await p.start();
    expect(smsc.binds).toEqual(['rasid']);
    const id = await p.send('+96891000001', ARABIC_LONG);
    const [message] = smsc.messages;
    expect(message).toMatchObject({ to: '96891000001', from: 'Rasid', dataCoding: 8, text: ARABIC_LONG });
    expect(message!.parts).toBeGreaterThan(1);
    expect(id).toBe(message!.ids[0]);
    await waitFor(() => receipts.length > 0);
    await waitFor(() => p.stats.receipts === message!.parts);
    // One receipt for the message, when every part is delivered.
    expect(receipts).toEqual([{ id, state: 'delivered' }]);
  });

  it('a refused bind is retried; a failed receipt is reported as failed', async () => {
    const p = open({ password: 'wrong' });
    void p.start();
    await waitFor(() => !p.bound && smsc.binds.length === 0);
    await p.close();
    smsc.statFor = () => 'UNDELIV';
    const q = open();
    await q.start();
    const id = await q.send('+96891000002', 'Your Rasid code expires soon.');
    await waitFor(() => receipts.length > 0);
    expect(receipts).toEqual([{ id, state: 'failed' }]);
  });

  it('keeps the link with enquire_link', async () => {
    const p = open({ enquireLinkMs: 30 });
    await p.start();
    await waitFor(() => smsc.enquireLinks >= 3);
    expect(p.bound).toBe(true);
  });

  it('honours ESME_RTHROTTLED: pauses and submits the refused part again, once', async () => {
    const p = open();
    await p.start();
    smsc.throttleNext = 3;
    await p.send('+96891000003', 'one');
    await p.send('+96891000003', 'two');
    expect(p.stats.throttled).toBe(3);
    expect(smsc.messages.map((m) => m.text)).toEqual(['one', 'two']);
  });
});

describe('the outbox over SMPP', () => {
  dbTest(
    'a link dropped in the middle of a batch: after the reconnect nothing is lost and nothing is sent twice',
    async ({ store }) => {
      const smsc = await startSmsc();
      const seed = await seedBasics(store.db);
      const db = store.db;
      const provider = new SmppSmsProvider({
        url: smsc.url,
        systemId: 'rasid',
        password: 'secret1',
        sourceAddr: '+96890000000',
        reconnect: { initialMs: 20, maxMs: 200 },
        onReceipt: (id, state, detail) =>
          void recordReceipt(db, { channel: 'sms', providerRef: id, state, detail, at: new Date() }),
      });
      try {
        await provider.start();
        const n = 12;
        for (let i = 1; i <= n; i++) {
          await enqueueNotification(db, {
            utilityId: seed.utilityId,
            channel: 'sms',
            recipient: `+9689100${String(i).padStart(4, '0')}`,
            template: 'low_credit',
            language: i % 2 === 0 ? 'ar' : 'en',
            payload: {
              customerName: `Customer ${i}`,
              accountNumber: `A-${i}`,
              credit: '0.500',
              currency: 'OMR',
              daysLeft: 1,
            },
            dedupKey: `batch:${i}`,
          });
        }
        // The 5th submit_sm never gets an answer: the SMSC drops the link when it arrives.
        smsc.dropAtSubmit = 5;
        const worker = new OutboxWorker({ db, channels: { sms: new SmsChannel({ provider }) } });
        const report = await worker.runOnce();
        expect(report).toEqual({ sent: n, retried: 0, failed: 0 });
        expect(smsc.binds.length).toBe(2);
        const destinations = smsc.messages.map((m) => m.to).sort();
        expect(destinations).toEqual(
          Array.from({ length: n }, (_, i) => `9689100${String(i + 1).padStart(4, '0')}`).sort(),
        );
        expect(new Set(destinations).size).toBe(n);
        // Every row ends delivered by its receipt.
        await waitFor(async () => {
          const rows = await db.selectFrom('notifications_outbox').select('state').execute();
          return rows.every((r) => r.state === 'delivered');
        });
        const rows = await db
          .selectFrom('notifications_outbox')
          .select(['recipient', 'provider_ref', 'delivered_at'])
          .orderBy('id')
          .execute();
        for (const row of rows) {
          const message = smsc.messages.find((m) => `+${m.to}` === row.recipient)!;
          expect(row.provider_ref).toBe(message.ids[0]);
          expect(row.delivered_at).not.toBeNull();
        }
        // A second pass finds nothing due: nothing is sent again.
        expect(await worker.runOnce()).toEqual({ sent: 0, retried: 0, failed: 0 });
        expect(smsc.messages.length).toBe(n);
      } finally {
        await provider.close();
        await smsc.close();
      }
    },
  );
});
