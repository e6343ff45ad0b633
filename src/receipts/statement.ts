/**
 * The monthly account statement: the balance at the start of the month (in the utility's time zone), every
 * ledger entry of the month in order (payments, vends, charges, consumption, adjustments, reversals) with the
 * running balance, and the closing balance. Balances are derived from the append-only account ledger, never
 * stored. Rendered as A4 PDF in Arabic or English.
 */
import { type Kysely, sql } from 'kysely';
import { RasidError } from '../errors.ts';
import { formatMoney } from '../money.ts';
import type { AccountId, AccountLedgerKind, Database, UtilityId } from '../store/schema.ts';
import {
  currencyLabel,
  isolate,
  type Lang,
  localDateTimeText,
  localTime,
  ltrIsolate as ltr,
  moneyText,
  receiptNumber,
} from './format.ts';
import { BidiPdf } from './pdf-text.ts';

export interface StatementEntry {
  readonly at: Date;
  readonly kind: AccountLedgerKind;
  readonly amountMinor: bigint;
  readonly balanceMinor: bigint;
  /** The receipt number of the vend it belongs to, when there is one. */
  readonly receipt: string | null;
  readonly ref: string | null;
}

export interface Statement {
  readonly utility: { name: string; currency: string; exponent: number; timezone: string };
  readonly account: { number: string; customerName: string };
  /** YYYY-MM */
  readonly month: string;
  readonly openingMinor: bigint;
  readonly closingMinor: bigint;
  readonly entries: readonly StatementEntry[];
  readonly generatedAt: Date;
}

export const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

function nextMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

/** Builds an account's statement of one month. */
export async function buildStatement(
  db: Kysely<Database>,
  utilityId: UtilityId,
  accountId: AccountId,
  month: string,
  now: Date = new Date(),
): Promise<Statement> {
  if (!MONTH.test(month)) throw new RasidError('validation_failed', `month ${month} is not YYYY-MM`);
  const head = await db
    .selectFrom('accounts as a')
    .innerJoin('utilities as u', 'u.id', 'a.utility_id')
    .leftJoin('customers as c', 'c.id', 'a.customer_id')
    .select([
      'a.number',
      'c.name as customer',
      'u.name as utility',
      'u.currency',
      'u.currency_exponent',
      'u.timezone',
    ])
    .where('a.id', '=', accountId)
    .where('a.utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!head) throw new RasidError('not_found', `account ${accountId} is unknown`);
  const tz = head.timezone;
  const start = sql<Date>`(${`${month}-01`}::date)::timestamp at time zone ${tz}`;
  const end = sql<Date>`(${`${nextMonth(month)}-01`}::date)::timestamp at time zone ${tz}`;
  const opening = await db
    .selectFrom('account_ledger')
    .select(sql<string>`coalesce(sum(amount_minor), 0)::text`.as('sum'))
    .where('account_id', '=', accountId)
    .where('created_at', '<', start)
    .executeTakeFirstOrThrow();
  const rows = await db
    .selectFrom('account_ledger')
    .select(['kind', 'amount_minor', 'ref', 'vend_id', 'created_at'])
    .where('account_id', '=', accountId)
    .where('created_at', '>=', start)
    .where('created_at', '<', end)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  let balance = BigInt(opening.sum);
  const openingMinor = balance;
  const entries = rows.map((r) => {
    balance += BigInt(r.amount_minor);
    return {
      at: r.created_at,
      kind: r.kind,
      amountMinor: BigInt(r.amount_minor),
      balanceMinor: balance,
      receipt: r.vend_id ? receiptNumber(r.vend_id) : null,
      ref: r.ref,
    };
  });
  return {
    utility: {
      name: head.utility,
      currency: head.currency.trim(),
      exponent: head.currency_exponent,
      timezone: tz,
    },
    account: { number: head.number, customerName: head.customer ?? '' },
    month,
    openingMinor,
    closingMinor: balance,
    entries,
    generatedAt: now,
  };
}

export const STATEMENT_TEXT = {
  en: {
    title: 'Account statement',
    month: 'Month',
    account: 'Account',
    customer: 'Customer',
    printed: 'Printed',
    date: 'Date',
    item: 'Item',
    amount: 'Amount',
    balance: 'Balance',
    opening: 'Opening balance',
    closing: 'Closing balance',
    none: 'No movements this month.',
    receipt: 'receipt',
    page: 'Page',
    kinds: {
      payment: 'Payment',
      vend: 'Credit sent to the meter (token)',
      charge: 'Charge',
      consumption: 'Consumption',
      adjustment: 'Adjustment',
      reversal: 'Reversal',
    },
  },
  ar: {
    title: 'كشف حساب',
    month: 'الشهر',
    account: 'رقم الحساب',
    customer: 'المشترك',
    printed: 'تاريخ الإصدار',
    date: 'التاريخ',
    item: 'البيان',
    amount: 'المبلغ',
    balance: 'الرصيد',
    opening: 'الرصيد الافتتاحي',
    closing: 'الرصيد الختامي',
    none: 'لا توجد حركات في هذا الشهر.',
    receipt: 'إيصال',
    page: 'صفحة',
    kinds: {
      payment: 'دفعة',
      vend: 'رصيد مشحون إلى العداد (رمز شحن)',
      charge: 'رسوم',
      consumption: 'استهلاك',
      adjustment: 'تسوية',
      reversal: 'إلغاء عملية',
    },
  },
} as const;

const MM = 72 / 25.4;

/** Renders a statement as A4 PDF pages. */
export async function renderStatementPdf(st: Statement, lang: Lang): Promise<Buffer> {
  const t = STATEMENT_TEXT[lang];
  const rtl = lang === 'ar';
  const margin = 18 * MM;
  const pageWidth = 210 * MM;
  const pageHeight = 297 * MM;
  const width = pageWidth - 2 * margin;
  const pdf = new BidiPdf(
    {
      size: 'A4',
      margin,
      lang,
      info: {
        Title: `${t.title} ${st.account.number} ${st.month}`,
        Author: st.utility.name,
        Producer: 'Rasid',
        CreationDate: st.generatedAt,
      },
    },
    rtl ? 'rtl' : 'ltr',
  );
  const money = (minor: bigint) => ltr(formatMoney(minor, st.utility.exponent));
  // Columns as fractions of the width, in reading order: date, item, amount, balance.
  const cols = [
    { w: 0.2, align: 'start' },
    { w: 0.46, align: 'start' },
    { w: 0.17, align: 'end' },
    { w: 0.17, align: 'end' },
  ] as const;
  const start = rtl ? 'right' : 'left';
  const end = rtl ? 'left' : 'right';
  const row = (cells: readonly string[], y: number, bold = false) => {
    let offset = 0;
    cells.forEach((cell, i) => {
      const c = cols[i]!;
      const w = c.w * width;
      const x = rtl ? margin + width - offset - w : margin + offset;
      pdf.line(cell, x + 2, y, w - 4, {
        size: 9,
        font: bold ? 'bold' : 'regular',
        align: c.align === 'start' ? start : end,
      });
      offset += w;
    });
  };
  const rule = (y: number) =>
    pdf.doc
      .moveTo(margin, y)
      .lineTo(margin + width, y)
      .lineWidth(0.5)
      .strokeColor('#555')
      .stroke();

  let page = 1;
  let y = margin;
  const header = () => {
    y = margin;
    pdf.line(isolate(st.utility.name), margin, y, width, { font: 'bold', size: 14, align: start });
    y += 20;
    pdf.line(t.title, margin, y, width, { font: 'bold', size: 12, align: start });
    pdf.line(`${t.page} ${ltr(String(page))}`, margin, y, width, { size: 9, align: end });
    y += 20;
    const facts: [string, string][] = [
      [t.month, ltr(st.month)],
      [t.account, ltr(st.account.number)],
      [t.customer, isolate(st.account.customerName)],
      [t.printed, ltr(localDateTimeText(st.generatedAt, st.utility.timezone))],
    ];
    for (const [label, value] of facts) {
      pdf.line(`${label}: ${value}`, margin, y, width, { size: 9.5, align: start });
      y += 14;
    }
    y += 6;
    row(
      [
        t.date,
        t.item,
        `${t.amount} (${currencyLabel(st.utility.currency, lang)})`,
        `${t.balance} (${currencyLabel(st.utility.currency, lang)})`,
      ],
      y,
      true,
    );
    y += 14;
    rule(y);
    y += 5;
  };
  header();
  row(['', t.opening, '', money(st.openingMinor)], y, true);
  y += 16;
  if (st.entries.length === 0) {
    pdf.line(t.none, margin, y, width, { size: 9.5, align: start, color: '#333' });
    y += 16;
  }
  for (const e of st.entries) {
    if (y > pageHeight - margin - 40) {
      pdf.doc.addPage();
      page += 1;
      header();
    }
    const when = localTime(e.at, st.utility.timezone);
    const item = e.receipt ? `${t.kinds[e.kind]} · ${t.receipt} ${ltr(e.receipt)}` : t.kinds[e.kind];
    row([ltr(`${when.date} ${when.time}`), item, money(e.amountMinor), money(e.balanceMinor)], y);
    y += 15;
  }
  rule(y);
  y += 5;
  row(['', t.closing, '', money(st.closingMinor)], y, true);
  y += 18;
  pdf.line(
    `${t.closing}: ${moneyText(formatMoney(st.closingMinor, st.utility.exponent), st.utility.currency, lang)}`,
    margin,
    y,
    width,
    { size: 10, font: 'bold', align: start },
  );
  return pdf.toBuffer();
}
