/**
 * A vend's receipt as a PDF, for an 80 mm thermal roll (one page as long as the receipt) or A4, in Arabic or
 * English: the times in the utility's zone, the receipt number that finds the sale again, amounts with the
 * currency as the reader writes it, and the token grouped 4-4-4-4-4, always left to right.
 */
import type { Receipt } from '../vending/receipt.ts';
import {
  currencyLabel,
  isolate,
  type Lang,
  localDateTimeText,
  ltrIsolate as ltr,
  moneyText,
  receiptNumber,
  unitLabel,
} from './format.ts';
import { BidiPdf, type FontName } from './pdf-text.ts';

export interface ReceiptPdfOptions {
  readonly size: '80mm' | 'a4';
  readonly lang: Lang;
  /** The utility's IANA zone (e.g. Asia/Muscat). */
  readonly timeZone: string;
}

const MM = 72 / 25.4;

export const RECEIPT_TEXT = {
  en: {
    title: 'Prepaid top-up receipt',
    reprint: 'COPY (reprint)',
    receipt: 'Receipt no.',
    date: 'Date',
    meter: 'Meter',
    customer: 'Customer',
    account: 'Account',
    vendor: 'Sold by',
    online: 'Paid online',
    item: 'Item',
    amount: (cur: string) => `Amount (${cur})`,
    paid: 'Amount paid',
    units: 'Units credited',
    token: 'Token: type it on the meter',
    noToken: 'Credit added to your account',
    tid: 'Token id (TID)',
    keep: 'Quote the receipt number for a reprint or a query.',
  },
  ar: {
    title: 'إيصال شحن رصيد مسبق الدفع',
    reprint: 'نسخة (إعادة طباعة)',
    receipt: 'رقم الإيصال',
    date: 'التاريخ',
    meter: 'رقم العداد',
    customer: 'المشترك',
    account: 'رقم الحساب',
    vendor: 'نقطة البيع',
    online: 'دفع إلكتروني',
    item: 'البند',
    amount: (cur: string) => `المبلغ (${cur})`,
    paid: 'المبلغ المدفوع',
    units: 'الوحدات المشحونة',
    token: 'رمز الشحن: أدخله في العداد',
    noToken: 'أُضيف الرصيد إلى حسابك',
    tid: 'معرّف الرمز (TID)',
    keep: 'احتفظ برقم الإيصال لإعادة الطباعة أو الاستفسار.',
  },
} as const;

type Row =
  | { kind: 'text'; text: string; font: FontName; size: number; align: 'center' | 'start' }
  | { kind: 'pair'; label: string; value: string; font: FontName; size: number; note?: string }
  | { kind: 'rule' }
  | { kind: 'gap'; height: number }
  | { kind: 'token'; text: string; caption: string };

/** What the receipt says, top to bottom, independent of the page. */
function rows(r: Receipt, opts: ReceiptPdfOptions, s: number): Row[] {
  const t = RECEIPT_TEXT[opts.lang];
  const lang = opts.lang;
  const cur = currencyLabel(r.utility.currency, lang);
  const unit = unitLabel(r.units.unit, lang);
  const out: Row[] = [
    { kind: 'text', text: isolate(r.utility.name), font: 'bold', size: 12 * s, align: 'center' },
    { kind: 'text', text: t.title, font: 'bold', size: 10 * s, align: 'center' },
  ];
  if (r.reprint) out.push({ kind: 'text', text: t.reprint, font: 'bold', size: 9 * s, align: 'center' });
  out.push({ kind: 'rule' });
  const pair = (label: string, value: string, font: FontName = 'regular'): Row => ({
    kind: 'pair',
    label,
    value,
    font,
    size: 9 * s,
  });
  out.push(
    pair(t.receipt, ltr(receiptNumber(r.receiptNumber)), 'bold'),
    pair(t.date, ltr(localDateTimeText(r.issuedAt, opts.timeZone))),
    pair(t.meter, ltr(r.meter.serial)),
    pair(t.customer, isolate(r.meter.customerName)),
    pair(t.account, ltr(r.meter.accountNumber)),
    pair(r.vendorName ? t.vendor : t.online, r.vendorName ? isolate(r.vendorName) : ''),
    { kind: 'rule' },
    pair(t.item, t.amount(cur), 'bold'),
  );
  for (const l of r.lines) {
    const note =
      l.units !== undefined
        ? `${ltr(l.units)} ${unit} × ${ltr(l.price ?? '')} ${lang === 'ar' ? `${cur}/${unit}` : `${r.utility.currency}/${unit}`}`
        : undefined;
    out.push({ ...pair(l.label[lang], ltr(l.amount)), ...(note ? { note } : {}) } as Row);
  }
  out.push(
    { kind: 'rule' },
    pair(t.paid, moneyText(r.amountPaid, r.utility.currency, lang), 'bold'),
    pair(t.units, `${ltr(r.units.value)} ${unit}`, 'bold'),
    { kind: 'gap', height: 4 * s },
  );
  if (r.tokenGrouped) out.push({ kind: 'token', text: r.tokenGrouped, caption: t.token });
  else out.push({ kind: 'text', text: t.noToken, font: 'bold', size: 10 * s, align: 'center' });
  out.push({ kind: 'gap', height: 4 * s }, pair(t.tid, ltr(String(r.tid ?? '-'))), {
    kind: 'text',
    text: t.keep,
    font: 'regular',
    size: 7.5 * s,
    align: 'center',
  });
  return out;
}

function rowHeight(row: Row, s: number): number {
  switch (row.kind) {
    case 'text':
      return row.size * 1.45;
    case 'pair':
      return row.size * 1.5 + (row.note ? row.size * 1.35 : 0);
    case 'rule':
      return 8 * s;
    case 'gap':
      return row.height;
    case 'token':
      return 44 * s;
  }
}

/** Renders a receipt to PDF bytes. */
export async function renderReceiptPdf(r: Receipt, opts: ReceiptPdfOptions): Promise<Buffer> {
  const narrow = opts.size === '80mm';
  const s = narrow ? 1 : 1.3;
  const margin = narrow ? 4 * MM : 20 * MM;
  const pageWidth = narrow ? 80 * MM : 210 * MM;
  const width = narrow ? pageWidth - 2 * margin : 120 * MM;
  const left = (pageWidth - width) / 2;
  const content = rows(r, opts, s);
  const height = content.reduce((h, row) => h + rowHeight(row, s), 0);
  const pageHeight = narrow ? height + 2 * margin : 297 * MM;
  const rtl = opts.lang === 'ar';
  const pdf = new BidiPdf(
    {
      size: [pageWidth, pageHeight],
      margin,
      lang: opts.lang,
      info: {
        Title: `${RECEIPT_TEXT[opts.lang].title} ${receiptNumber(r.receiptNumber)}`,
        Author: r.utility.name,
        Producer: 'Rasid',
        CreationDate: new Date(r.issuedAt),
      },
    },
    rtl ? 'rtl' : 'ltr',
  );
  const start = rtl ? 'right' : 'left';
  const end = rtl ? 'left' : 'right';
  let y = margin;
  for (const row of content) {
    const h = rowHeight(row, s);
    switch (row.kind) {
      case 'text':
        pdf.line(row.text, left, y, width, {
          font: row.font,
          size: row.size,
          align: row.align === 'center' ? 'center' : start,
        });
        break;
      case 'pair': {
        pdf.line(row.label, left, y, width, { font: row.font, size: row.size, align: start });
        if (row.value) pdf.line(row.value, left, y, width, { font: row.font, size: row.size, align: end });
        if (row.note) {
          pdf.line(row.note, left, y + row.size * 1.4, width, {
            size: row.size * 0.85,
            align: start,
            color: '#333',
          });
        }
        break;
      }
      case 'rule':
        pdf.doc
          .moveTo(left, y + h / 2)
          .lineTo(left + width, y + h / 2)
          .dash(2, { space: 2 })
          .lineWidth(0.6)
          .strokeColor('#000')
          .stroke()
          .undash();
        break;
      case 'gap':
        break;
      case 'token': {
        pdf.line(row.caption, left, y, width, { size: 8 * s, align: 'center' });
        pdf.doc
          .rect(left + 2, y + 13 * s, width - 4, 26 * s)
          .lineWidth(1.5)
          .strokeColor('#000')
          .stroke();
        pdf.line(row.text, left, y + 19 * s, width, { font: 'mono', size: 12.5 * s, align: 'center' });
        break;
      }
    }
    y += h;
  }
  return pdf.toBuffer();
}
