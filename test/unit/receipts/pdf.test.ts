/**
 * Receipt and statement PDFs in Arabic and English, read back with Debian's poppler-utils: each page is
 * rendered to PNG with pdftoppm (kept in test-output/pdf/ to be looked at) and to greyscale to check that
 * ink is where the layout puts it; pdftotext gives the words and where they stand (an Arabic line has its
 * label on the right and its value on the left); pdffonts shows the font embedded.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isolate, localDateTimeText } from '../../../src/receipts/format.ts';
import { BidiPdf, visualRuns } from '../../../src/receipts/pdf-text.ts';
import { renderReceiptPdf } from '../../../src/receipts/receipt-pdf.ts';
import { renderStatementPdf, type Statement } from '../../../src/receipts/statement.ts';
import { renderReceiptHtml } from '../../../src/vending/receipt.ts';
import { sampleReceipt } from './sample.ts';

const run = promisify(execFile);
const OUT = join(process.cwd(), 'test-output', 'pdf');

/** Writes the PDF and its PNG pages; returns the PDF's path. */
async function keep(name: string, pdf: Buffer): Promise<string> {
  await mkdir(OUT, { recursive: true });
  const file = join(OUT, `${name}.pdf`);
  await writeFile(file, pdf);
  await run('pdftoppm', ['-png', '-r', '150', file, join(OUT, name)]);
  expect((await readFile(join(OUT, `${name}-1.png`))).subarray(1, 4).toString('latin1')).toBe('PNG');
  return file;
}

/** The first page as greyscale pixels (pdftoppm's PGM), at 72 dpi: one pixel per PDF point. */
async function pixels(
  file: string,
): Promise<{ width: number; height: number; dark(x0: number, x1: number, y0: number, y1: number): number }> {
  const { stdout } = await run('pdftoppm', ['-gray', '-r', '72', '-f', '1', '-l', '1', file], {
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  });
  const buf = stdout as unknown as Buffer;
  const header = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(buf.subarray(0, 40).toString('latin1'));
  if (!header) throw new Error('pdftoppm did not write a PGM');
  const width = Number(header[1]);
  const height = Number(header[2]);
  const data = buf.subarray(header[0].length);
  return {
    width,
    height,
    dark(x0, x1, y0, y1) {
      let n = 0;
      for (let y = Math.max(0, y0); y < Math.min(height, y1); y++) {
        for (let x = Math.max(0, x0); x < Math.min(width, x1); x++)
          if ((data[y * width + x] ?? 255) < 128) n++;
      }
      return n;
    },
  };
}

interface Word {
  readonly text: string;
  readonly xMin: number;
  readonly xMax: number;
  readonly yMin: number;
}

async function words(file: string): Promise<Word[]> {
  const { stdout } = await run('pdftotext', ['-bbox', file, '-']);
  return [
    ...stdout.matchAll(
      /<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="[\d.-]+">([^<]*)<\/word>/g,
    ),
  ].map((m) => ({ xMin: Number(m[1]), yMin: Number(m[2]), xMax: Number(m[3]), text: m[4] ?? '' }));
}

async function text(file: string): Promise<string> {
  return (await run('pdftotext', ['-layout', file, '-'])).stdout;
}

/** pdftotext writes Arabic words in drawing order (left to right), i.e. reversed: this turns one back. */
const arabicWord = (w: string) => [...w].reverse().join('');

describe('the Unicode bidi order of a line', () => {
  it('keeps a negative amount and its currency in reading order inside Arabic text', () => {
    const runs = visualRuns('المبلغ: \u2066-0.690\u2069 ر.ع.', 'rtl');
    // Left to right on the page: the currency, the amount (sign first), then the label.
    expect(runs.map((r) => r.text)).toEqual([' ر.ع.', '-0.690', 'المبلغ: ']);
  });

  it('mirrors brackets in right-to-left text and keeps a Latin word inside them', () => {
    const runs = visualRuns('معرّف الرمز (TID)', 'rtl');
    // The Arabic run stays in logical order with its bracket mirrored: fontkit lays it right to left.
    expect(runs.map((r) => r.text)).toEqual(['(', 'TID', 'معرّف الرمز )']);
  });

  it('joins Arabic letters: a shaped word is narrower than its letters kept apart', () => {
    const pdf = new BidiPdf({ size: 'A4' }, 'rtl');
    const word = 'المستهلك';
    const apart = [...word].join('\u200c');
    expect(pdf.width(word, { size: 20 })).toBeLessThan(pdf.width(apart, { size: 20 }) - 10);
  });

  it('keeps a masked Latin name whole inside Arabic text', () => {
    const runs = visualRuns(`المشترك: ${isolate('H*** H*****')}`, 'rtl');
    // Left to right: the name as written, then the Arabic label (kept logical; fontkit lays it right to left).
    expect(runs.map((r) => r.text)).toEqual(['H*** H*****', 'المشترك: ']);
  });

  it('leaves English lines alone', () => {
    expect(visualRuns('Amount (OMR) 5.000', 'ltr')).toEqual([{ text: 'Amount (OMR) 5.000', rtl: false }]);
  });
});

describe('the receipt PDF', () => {
  const receipt = sampleReceipt({ reprint: true });
  const local = localDateTimeText(receipt.issuedAt, 'Asia/Muscat');

  it('prints the sale in Muscat time, not UTC (21:12 UTC on 4 December is 01:12 on 5 December)', () => {
    expect(local).toBe('2026-12-05 01:12 GMT+4');
  });

  for (const size of ['80mm', 'a4'] as const) {
    it(`in English on ${size}: the receipt number, local time, token and amounts, in an embedded font`, async () => {
      const file = await keep(
        `receipt-${size}-en`,
        await renderReceiptPdf(receipt, { size, lang: 'en', timeZone: 'Asia/Muscat' }),
      );
      const body = await text(file);
      for (const s of [
        'A76395C1',
        local,
        '4377-5018-9459-3350-8681',
        'OMR 5.000',
        '89.3 kWh',
        'COPY (reprint)',
      ]) {
        expect(body).toContain(s);
      }
      expect(body).not.toContain('UTC');
      const fonts = (await run('pdffonts', [file])).stdout;
      expect(fonts).toMatch(/DejaVuSans\s.*\byes\s+yes\b/);
      const page = await pixels(file);
      if (size === '80mm') {
        // 80 mm wide (227 pt) and as long as the receipt.
        expect(page.width).toBe(227);
        expect(page.height).toBeGreaterThan(page.width);
      } else {
        // A4: 595.28 × 841.89 pt.
        expect(page.width).toBeGreaterThanOrEqual(595);
        expect(page.width).toBeLessThanOrEqual(596);
        expect(page.height).toBe(842);
      }
      // The label starts the line on the left; its value ends it on the right.
      const w = await words(file);
      const label = w.find((x) => x.text === 'Receipt')!;
      const number = w.find((x) => x.text === 'A76395C1')!;
      expect(label.xMin).toBeLessThan(number.xMin);
      expect(Math.abs(label.yMin - number.yMin)).toBeLessThan(1);
      expect(page.dark(0, page.width, 0, page.height)).toBeGreaterThan(2000);
    });

    it(`in Arabic on ${size}: right to left, shaped, numbers and token left to right`, async () => {
      const file = await keep(
        `receipt-${size}-ar`,
        await renderReceiptPdf(receipt, { size, lang: 'ar', timeZone: 'Asia/Muscat' }),
      );
      const w = await words(file);
      const all = w.map((x) => x.text);
      // The token and the date read left to right; the currency is the Arabic symbol.
      expect(all).toContain('4377-5018-9459-3350-8681');
      expect(all).toContain('2026-12-05');
      expect(all).toContain('01:12');
      expect(all.map(arabicWord)).toContain('ر.ع.');
      expect(all.join(' ')).not.toContain('UTC');
      // "رقم الإيصال" is drawn at the right edge and the number at the left, on the same line.
      const number = w.find((x) => x.text === 'A76395C1')!;
      const label = w.find((x) => arabicWord(x.text) === 'رقم' && Math.abs(x.yMin - number.yMin) < 1)!;
      expect(number.xMax).toBeLessThan(label.xMin);
      expect(Math.abs(label.yMin - number.yMin)).toBeLessThan(1);
      const page = await pixels(file);
      const right = page.dark(
        Math.floor(page.width / 2),
        page.width,
        Math.floor(label.yMin),
        Math.ceil(label.yMin + 10),
      );
      expect(right).toBeGreaterThan(20);
    });
  }
});

describe('the monthly statement PDF', () => {
  const statement: Statement = {
    utility: { name: 'Muscat Electricity', currency: 'OMR', exponent: 3, timezone: 'Asia/Muscat' },
    account: { number: 'om-0001', customerName: 'هدى الحارثي' },
    month: '2026-12',
    openingMinor: 1250n,
    closingMinor: 1250n + 5000n - 5000n - 500n + 200n,
    entries: [
      {
        at: new Date('2026-11-30T20:30:00Z'),
        kind: 'payment',
        amountMinor: 5000n,
        balanceMinor: 6250n,
        receipt: 'A76395C1',
        ref: 'online',
      },
      {
        at: new Date('2026-11-30T20:30:01Z'),
        kind: 'vend',
        amountMinor: -5000n,
        balanceMinor: 1250n,
        receipt: 'A76395C1',
        ref: null,
      },
      {
        at: new Date('2026-12-01T00:00:00Z'),
        kind: 'charge',
        amountMinor: -500n,
        balanceMinor: 750n,
        receipt: null,
        ref: 'fixed',
      },
      {
        at: new Date('2026-12-14T09:00:00Z'),
        kind: 'adjustment',
        amountMinor: 200n,
        balanceMinor: 950n,
        receipt: null,
        ref: 'goodwill',
      },
    ],
    generatedAt: new Date('2027-01-01T06:00:00Z'),
  };

  it('in English: opening balance, each movement in local time with its running balance, closing balance', async () => {
    const file = await keep('statement-en', await renderStatementPdf(statement, 'en'));
    const body = await text(file);
    const lines = body.split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
    expect(lines).toContain('Opening balance 1.250');
    // 20:30 UTC on 30 November is 00:30 on 1 December in Muscat: inside December's statement.
    expect(lines).toContain('2026-12-01 00:30 Payment · receipt A76395C1 5.000 6.250');
    expect(lines).toContain(
      '2026-12-01 00:30 Credit sent to the meter (token) · receipt A76395C1 -5.000 1.250',
    );
    expect(lines).toContain('2026-12-01 04:00 Charge -0.500 0.750');
    expect(lines).toContain('2026-12-14 13:00 Adjustment 0.200 0.950');
    expect(lines).toContain('Closing balance 0.950');
    expect(body).toContain('Closing balance: OMR 0.950');
  });

  it('in Arabic: the same figures, right to left, with the Arabic currency symbol', async () => {
    const file = await keep('statement-ar', await renderStatementPdf(statement, 'ar'));
    const w = await words(file);
    const onLineOf = (word: Word) => w.filter((x) => Math.abs(x.yMin - word.yMin) < 1);
    const closing = w.filter((x) => arabicWord(x.text) === 'الختامي');
    // The table's closing row (the summary line below says "الختامي:" with a colon).
    expect(closing.length).toBe(1);
    // The table's closing row: the balance at the left end, the words at the right.
    const row = onLineOf(closing[0]!);
    const amount = row.find((x) => x.text === '0.950')!;
    expect(amount.xMax).toBeLessThan(closing[0]!.xMin);
    // Dates read left to right in the date column at the right edge, before the item.
    const date = w.find((x) => x.text === '2026-12-14')!;
    const item = onLineOf(date).find((x) => arabicWord(x.text) === 'تسوية')!;
    expect(date.xMin).toBeGreaterThan(item.xMax);
    expect(w.map((x) => arabicWord(x.text))).toContain('ر.ع.');
  });
});

describe('the HTML receipt', () => {
  const receipt = sampleReceipt();

  it('prints the local date and time of the utility, not UTC', () => {
    const html = renderReceiptHtml(receipt, { format: '80mm', lang: 'en', timeZone: 'Asia/Muscat' });
    expect(html).toContain('2026-12-05 01:12 GMT+4');
    expect(html).not.toContain('UTC');
  });

  it('keeps the numbers of Arabic mixed text apart and names the unit in Arabic', () => {
    const html = renderReceiptHtml(receipt, { format: '80mm', lang: 'ar', timeZone: 'Asia/Muscat' });
    expect(html).toContain('(<bdi dir="ltr">89.300</bdi> ك.و.س × <bdi dir="ltr">0.033</bdi>)');
    expect(html).toContain('<bdi dir="ltr">89.3</bdi> ك.و.س');
    expect(html).toContain('ر.ع. · معرّف الرمز (TID): <bdi dir="ltr">6798072</bdi>');
    expect(html).not.toContain('kWh');
  });

  it('isolates names, so a masked Latin name reads whole in Arabic', () => {
    const html = renderReceiptHtml(
      sampleReceipt({ meter: { ...sampleReceipt().meter, customerName: 'H*** H*****' } }),
      {
        format: '80mm',
        lang: 'ar',
        timeZone: 'Asia/Muscat',
      },
    );
    expect(html).toContain('<td class="n"><bdi>H*** H*****</bdi></td>');
  });

  it('asks for an 80 mm page with a valid @page size', () => {
    const html = renderReceiptHtml(receipt, { format: '80mm', lang: 'en', timeZone: 'Asia/Muscat' });
    expect(html).toMatch(/@page \{ size: 80mm 210mm;/);
  });
});
