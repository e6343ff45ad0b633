/**
 * `npm run bench -- receipts [--seconds S] [--rounds N]`: how fast one core makes receipt and statement
 * documents, beside the HTML receipt measured in the same run.
 *
 * Figures, run interleaved (A B C D E, repeated `rounds` times) and compared by their medians:
 *   A  baseline: the printable HTML receipt (80 mm, Arabic), documents/s
 *   B  the 80 mm PDF receipt in English, documents/s
 *   C  the 80 mm PDF receipt in Arabic (bidi ordering + Arabic shaping), documents/s
 *   D  the A4 PDF receipt in Arabic, documents/s
 *   E  the A4 monthly statement in Arabic with 60 movements (2 pages), documents/s
 * Each PDF embeds its font subset; the sizes printed are those of one document.
 */
import { renderReceiptPdf } from '../src/receipts/receipt-pdf.ts';
import { renderStatementPdf, type Statement } from '../src/receipts/statement.ts';
import { renderReceiptHtml } from '../src/vending/receipt.ts';
import { sampleReceipt } from '../test/unit/receipts/sample.ts';
import { median, optionReader } from './args.ts';

/** The receipt the unit tests print: a sale at 01:12 on 5 December in Muscat. */
const receipt = sampleReceipt();

function statement(): Statement {
  let balance = 1250n;
  const entries = Array.from({ length: 60 }, (_, i) => {
    const amount = i % 2 === 0 ? 5000n : -5000n;
    balance += amount;
    return {
      at: new Date(Date.UTC(2026, 11, 1 + (i >> 1), 8, i)),
      kind: i % 2 === 0 ? ('payment' as const) : ('vend' as const),
      amountMinor: amount,
      balanceMinor: balance,
      receipt: 'A76395C1',
      ref: null,
    };
  });
  return {
    utility: { name: 'Muscat Electricity', currency: 'OMR', exponent: 3, timezone: 'Asia/Muscat' },
    account: { number: 'om-0001', customerName: 'هدى الحارثي' },
    month: '2026-12',
    openingMinor: 1250n,
    closingMinor: balance,
    entries,
    generatedAt: new Date('2027-01-01T06:00:00Z'),
  };
}

const option = optionReader('receipts');

interface Figure {
  readonly name: string;
  readonly make: () => Promise<number>;
}

async function measure(fig: Figure, seconds: number): Promise<{ rate: number; bytes: number }> {
  let n = 0;
  let bytes = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  let now = start;
  while (now < until) {
    bytes = await fig.make();
    n++;
    now = performance.now();
  }
  return { rate: n / ((now - start) / 1000), bytes };
}

export async function run(args: readonly string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(
      'usage: npm run bench -- receipts [--seconds S (per figure per round, 2)] [--rounds N (3)]\n',
    );
    return;
  }
  const seconds = option(args, '--seconds', 2);
  const rounds = option(args, '--rounds', 3);
  const st = statement();
  const tz = 'Asia/Muscat';
  const figures: Figure[] = [
    {
      name: 'A html 80mm ar (baseline)',
      make: async () => renderReceiptHtml(receipt, { format: '80mm', lang: 'ar', timeZone: tz }).length,
    },
    {
      name: 'B pdf 80mm en',
      make: async () => (await renderReceiptPdf(receipt, { size: '80mm', lang: 'en', timeZone: tz })).length,
    },
    {
      name: 'C pdf 80mm ar',
      make: async () => (await renderReceiptPdf(receipt, { size: '80mm', lang: 'ar', timeZone: tz })).length,
    },
    {
      name: 'D pdf a4 ar',
      make: async () => (await renderReceiptPdf(receipt, { size: 'a4', lang: 'ar', timeZone: tz })).length,
    },
    { name: 'E statement a4 ar, 60 rows', make: async () => (await renderStatementPdf(st, 'ar')).length },
  ];
  process.stdout.write(
    `workload: one document at a time on this process's main thread; ${rounds} rounds of ${seconds} s per figure, interleaved; node ${process.version}\n`,
  );
  const rates = figures.map(() => [] as number[]);
  const sizes = figures.map(() => 0);
  for (let r = 0; r < rounds; r++) {
    for (const [i, fig] of figures.entries()) {
      const m = await measure(fig, seconds);
      rates[i]!.push(m.rate);
      sizes[i] = m.bytes;
    }
  }
  const base = median(rates[0]!);
  for (const [i, fig] of figures.entries()) {
    const med = median(rates[i]!);
    process.stdout.write(
      `${fig.name.padEnd(30)} ${med.toFixed(1).padStart(10)} docs/s  ${(sizes[i]! / 1024).toFixed(1).padStart(7)} KiB  ${((med / base) * 100).toFixed(2).padStart(7)} % of A\n`,
    );
  }
}
