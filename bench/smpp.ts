/**
 * `npm run bench -- smpp [--messages N] [--rounds R]`: SMS over SMPP through Rasid's provider beside the
 * bare `smpp` package doing the same submits, in the same run.
 *
 * Workload: N messages (default 300), each the Arabic low-credit alert (UCS-2, split with a UDH into its
 * parts), to N distinct numbers, one at a time, each part waiting for its submit_sm_resp (as the outbox
 * sends: one message after the other). The SMSC is the test's (the package's server side, in this process),
 * which answers each part and sends a delivery receipt.
 *   A  baseline: the bare package, one bound session, the same pre-split PDUs, part after part
 *   B  Rasid's SmppSmsProvider.send(): splitting, throttling gate, part groups, receipts counted
 * Interleaved A B, R rounds (default 3); medians of messages/s and parts/s, and B/A.
 */
import smpp, { type PDU } from 'smpp';
import { SmppSmsProvider, splitSms } from '../src/notify/smpp.ts';
import { renderTemplate } from '../src/notify/templates.ts';
import { startSmsc } from '../test/support/smsc.ts';
import { median, optionReader } from './args.ts';

const option = optionReader('smpp', true);

export async function run(args: readonly string[]): Promise<void> {
  if (args.includes('--help')) {
    process.stdout.write('usage: npm run bench -- smpp [--messages N] [--rounds R]\n');
    return;
  }
  const messages = option(args, '--messages', 300);
  const rounds = option(args, '--rounds', 3);
  const text = renderTemplate('low_credit', 'ar', {
    customerName: 'هدى الحارثي',
    accountNumber: 'A-17',
    credit: '0.850',
    currency: 'OMR',
    daysLeft: 2,
  }).text;
  const parts = splitSms(text, 1).length;
  const smsc = await startSmsc();
  const to = (i: number) => `+9689${String(1_000_000 + i).padStart(7, '0')}`;
  process.stdout.write(
    `workload: ${messages} messages × ${parts} UCS-2 parts (${text.length} characters), one at a time, ` +
      `receipts on; SMSC in-process (smpp ${'0.5.1'} server); ${rounds} rounds A B\n`,
  );

  async function bare(): Promise<number> {
    const session = smpp.connect({ host: '127.0.0.1', port: Number(new URL(smsc.url).port) });
    await new Promise<void>((resolve, reject) => {
      session.on('error', reject);
      session.on('connect', () =>
        session.bind_transceiver({ system_id: 'rasid', password: 'secret1' }, (r: PDU) =>
          r.command_status === 0 ? resolve() : reject(new Error('bind')),
        ),
      );
    });
    session.on('deliver_sm', (pdu: PDU) => session.send(pdu.response()));
    const start = performance.now();
    for (let i = 0; i < messages; i++) {
      for (const part of splitSms(text, i & 0xff)) {
        await new Promise<void>((resolve) =>
          session.submit_sm(
            {
              source_addr: 'Rasid',
              source_addr_ton: 5,
              destination_addr: to(i).slice(1),
              dest_addr_ton: 1,
              dest_addr_npi: 1,
              registered_delivery: 1,
              data_coding: 8,
              esm_class: 0x40,
              short_message: { udh: part.udh, message: part.body },
            },
            () => resolve(),
          ),
        );
      }
    }
    const seconds = (performance.now() - start) / 1000;
    await new Promise<void>((resolve) => session.unbind(() => session.close(() => resolve())));
    return messages / seconds;
  }

  async function rasid(): Promise<number> {
    const provider = new SmppSmsProvider({
      url: smsc.url,
      systemId: 'rasid',
      password: 'secret1',
      sourceAddr: 'Rasid',
    });
    await provider.start();
    const start = performance.now();
    for (let i = 0; i < messages; i++) await provider.send(to(i), text);
    const seconds = (performance.now() - start) / 1000;
    await provider.close();
    return messages / seconds;
  }

  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(await bare());
    b.push(await rasid());
  }
  const total = smsc.messages.length;
  await smsc.close();
  if (total !== messages * rounds * 2)
    throw new Error(`the SMSC put together ${total} messages, not ${messages * rounds * 2}`);
  const ma = median(a);
  const mb = median(b);
  const line = (name: string, m: number, xs: number[]) =>
    `${name.padEnd(44)} ${m.toFixed(0).padStart(6)} msg/s  ${(m * parts).toFixed(0).padStart(6)} parts/s  (rounds: ${xs.map((x) => x.toFixed(0)).join(', ')})\n`;
  process.stdout.write(line('A bare smpp package, part after part', ma, a));
  process.stdout.write(line("B Rasid's SmppSmsProvider.send()", mb, b));
  process.stdout.write(`B/A ${(mb / ma).toFixed(2)}; every message reassembled at the SMSC (${total})\n`);
}
