/**
 * Receipts: the JSON form API clients get (every quote line, exact amounts as strings of minor units beside
 * their formatted value) and printable HTML for 80 mm thermal printers and A4, in Arabic (right to left) and
 * English. Tokens are grouped 4-4-4-4-4 in both languages and always read left to right.
 */
import { formatMoney } from '../money.ts';
import { currencyLabel, localDateTimeText, receiptNumber, unitLabel } from '../receipts/format.ts';
import { pricePerThousand, type ScheduleLine } from '../tariffs/price.ts';
import type { Quote, QuoteLineCode } from './quote.ts';

export interface ReceiptLine {
  readonly code: QuoteLineCode;
  readonly label: { readonly en: string; readonly ar: string };
  /** Signed minor units as a decimal string (exact). */
  readonly amountMinor: string;
  /** Formatted with the currency's exponent, e.g. "-0.238". */
  readonly amount: string;
  /** Block lines: units bought (kWh or m³, three decimals) and the price per kWh / m³. */
  readonly units?: string;
  readonly block?: number;
  readonly price?: string;
}

/** The utility's receipt header and footer in both languages (its settings at the time of the sale). */
export interface ReceiptNotes {
  readonly header: { readonly en: string | null; readonly ar: string | null };
  readonly footer: { readonly en: string | null; readonly ar: string | null };
}

export interface Receipt {
  readonly receiptNumber: string;
  readonly notes?: ReceiptNotes;
  readonly issuedAt: string;
  readonly utility: {
    readonly code: string;
    readonly name: string;
    readonly currency: string;
    readonly exponent: number;
    /** The utility's IANA zone: screens show the sale's date and time as people there read them. */
    readonly timeZone?: string;
  };
  readonly meter: {
    readonly serial: string;
    readonly kind: 'electricity' | 'water';
    readonly customerName: string;
    readonly accountNumber: string;
  };
  readonly channel: 'online' | 'vendor';
  readonly vendorName: string | null;
  readonly token: string | null;
  readonly tokenGrouped: string | null;
  readonly tid: number | null;
  /** Units credited: display value (kWh or m³ with 1 decimal) and exact base units (Wh or L). */
  readonly units: { readonly value: string; readonly unit: 'kWh' | 'm³'; readonly base: string };
  readonly lines: readonly ReceiptLine[];
  readonly amountPaid: string;
  readonly toAccountCredit: string;
  readonly reprint?: boolean;
  readonly status?: string;
  /**
   * A time-of-use tariff (docs/tariffs.md): the periods of the season of the sale, each with its price per
   * `perUnits` base units (and per kWh / m³ as `price` when exact), the one in force at the sale marked.
   */
  readonly periods?: readonly ReceiptPeriod[];
}

export interface ReceiptPeriod {
  readonly season: string;
  readonly name: string;
  readonly days: 'all' | 'weekday' | 'weekend';
  readonly fromHour: number;
  readonly toHour: number;
  readonly priceMinor: string;
  readonly perUnits: string;
  readonly price?: string;
  readonly current: boolean;
}

const LABELS: Readonly<Record<QuoteLineCode, { en: string; ar: string }>> = Object.freeze({
  amount_paid: { en: 'Amount paid', ar: 'المبلغ المدفوع' },
  account_credit_used: { en: 'Credit carried from your account', ar: 'رصيد سابق في حسابك' },
  tax: { en: 'Tax', ar: 'الضريبة' },
  debt_recovery: { en: 'Debt recovery', ar: 'تحصيل الدين' },
  fixed_charge: { en: 'Monthly fixed charge', ar: 'الرسوم الشهرية الثابتة' },
  block: { en: 'Energy, block', ar: 'الاستهلاك، الشريحة' },
  rounding_to_account_credit: { en: 'Kept as account credit', ar: 'يُحفظ رصيدًا في حسابك' },
});

/** "23716100501183194197" → "2371-6100-5011-8319-4197". */
export function groupToken(token: string): string {
  return token.replace(/(\d{4})(?=\d)/g, '$1-');
}

/** Base units (Wh or L) as kWh or m³ with three decimals. */
function thousandths(base: bigint): string {
  return formatMoney(base, 3);
}

export interface ReceiptInput {
  readonly vendId: string;
  readonly at: Date;
  readonly utility: {
    code: string;
    name: string;
    currency: string;
    exponent: number;
    timezone?: string;
    receiptNotes?: ReceiptNotes | null;
  };
  readonly meter: {
    serial: string;
    kind: 'electricity' | 'water';
    customerName: string;
    accountNumber: string;
  };
  readonly quote: Quote;
  readonly token: string | null;
  readonly tid: number | null;
  readonly channel: 'online' | 'vendor';
  readonly vendorName: string | null;
}

export function buildReceipt(input: ReceiptInput): Receipt {
  const exp = input.utility.exponent;
  const lines: ReceiptLine[] = input.quote.lines.map((l) => ({
    code: l.code,
    label: l.block
      ? { en: `${LABELS.block.en} ${l.block}`, ar: `${LABELS.block.ar} ${l.block}` }
      : LABELS[l.code],
    amountMinor: l.amountMinor.toString(),
    amount: formatMoney(l.amountMinor, exp),
    ...(l.units !== undefined ? { units: thousandths(l.units) } : {}),
    ...(l.block !== undefined ? { block: l.block } : {}),
    ...(l.priceMinorPerKUnit !== undefined ? { price: formatMoney(l.priceMinorPerKUnit, exp) } : {}),
  }));
  return {
    receiptNumber: input.vendId,
    issuedAt: input.at.toISOString(),
    utility: {
      code: input.utility.code,
      name: input.utility.name,
      currency: input.utility.currency,
      exponent: input.utility.exponent,
      ...(input.utility.timezone ? { timeZone: input.utility.timezone } : {}),
    },
    ...(input.utility.receiptNotes ? { notes: input.utility.receiptNotes } : {}),
    meter: {
      serial: input.meter.serial,
      kind: input.meter.kind,
      customerName: input.meter.customerName,
      accountNumber: input.meter.accountNumber,
    },
    channel: input.channel,
    vendorName: input.vendorName,
    token: input.token,
    tokenGrouped: input.token ? groupToken(input.token) : null,
    tid: input.tid,
    units: {
      value: formatMoney(input.quote.tenths, 1),
      unit: input.meter.kind === 'water' ? 'm³' : 'kWh',
      base: input.quote.units.toString(),
    },
    lines,
    amountPaid: formatMoney(input.quote.amountPaid, exp),
    toAccountCredit: formatMoney(input.quote.toAccountCredit, exp),
    ...(input.quote.schedule && input.quote.schedule.length > 0
      ? { periods: receiptPeriods(input.quote.schedule, exp) }
      : {}),
  };
}

/** The schedule lines of a quote as the receipt shows them. */
export function receiptPeriods(schedule: readonly ScheduleLine[], exponent: number): ReceiptPeriod[] {
  return schedule.map((p) => {
    const perK = pricePerThousand(p.priceMinor, p.per);
    return {
      season: p.season,
      name: p.period,
      days: p.days,
      fromHour: p.fromHour,
      toHour: p.toHour,
      priceMinor: p.priceMinor.toString(),
      perUnits: p.per.toString(),
      ...(perK !== undefined ? { price: formatMoney(perK, exponent) } : {}),
      current: p.current,
    };
  });
}

const ARABIC_INDIC = '٠١٢٣٤٥٦٧٨٩';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface RenderOptions {
  readonly format: '80mm' | 'a4';
  readonly lang: 'ar' | 'en';
  /** Show digits in Arabic-Indic script (Arabic only); grouping stays the same. */
  readonly arabicDigits?: boolean;
  /** The utility's IANA zone: the date printed is the local one (e.g. Asia/Muscat). */
  readonly timeZone: string;
}

const TEXT = {
  en: {
    title: 'Prepaid token receipt',
    meter: 'Meter',
    customer: 'Customer',
    account: 'Account',
    token: 'Token',
    units: 'Units credited',
    receipt: 'Receipt',
    date: 'Date',
    vendor: 'Sold by',
    online: 'Online payment',
    reprint: 'REPRINT',
    noToken: 'Credit added to your account',
    tid: 'Token id (TID)',
    periods: 'Time-of-use prices',
    now: 'now',
    days: { all: 'every day', weekday: 'weekdays', weekend: 'weekend' },
  },
  ar: {
    title: 'إيصال شحن مسبق الدفع',
    meter: 'العداد',
    customer: 'المشترك',
    account: 'الحساب',
    token: 'رمز الشحن',
    units: 'الوحدات المشحونة',
    receipt: 'رقم الإيصال',
    date: 'التاريخ',
    vendor: 'نقطة البيع',
    online: 'دفع إلكتروني',
    reprint: 'نسخة مكررة',
    noToken: 'أضيف الرصيد إلى حسابك',
    tid: 'معرّف الرمز (TID)',
    periods: 'أسعار فترات الاستهلاك',
    now: 'الفترة الحالية',
    days: { all: 'كل الأيام', weekday: 'أيام العمل', weekend: 'عطلة نهاية الأسبوع' },
  },
} as const;

/** Printable HTML of a receipt (self-contained: no external fonts or scripts). */
export function renderReceiptHtml(r: Receipt, opts: RenderOptions): string {
  const t = TEXT[opts.lang];
  const digits = (s: string) =>
    opts.lang === 'ar' && opts.arabicDigits ? s.replace(/[0-9]/g, (d) => ARABIC_INDIC[Number(d)] ?? d) : s;
  const ltr = (s: string) => `<bdi dir="ltr">${escapeHtml(digits(s))}</bdi>`;
  const width = opts.format === '80mm' ? 'width:72mm;font-size:12px' : 'width:180mm;font-size:14px';
  const unit = unitLabel(r.units.unit, opts.lang);
  const cur = currencyLabel(r.utility.currency, opts.lang);
  // Each number is isolated on its own and the unit is written in the reader's language, so an Arabic line
  // reads "(333.200 ك.و.س × 0.007)" and not "(kWh 333.200 × (0.007".
  const rows = r.lines
    .map(
      (l) =>
        `<tr><td>${escapeHtml(l.label[opts.lang])}${l.units ? ` (${ltr(l.units)} ${unit} × ${ltr(l.price ?? '')})` : ''}</td>` +
        `<td class="n">${ltr(l.amount)}</td></tr>`,
    )
    .join('');
  const hour = (h: number) => `${String(h).padStart(2, '0')}:00`;
  const periods = (r.periods ?? [])
    .map(
      (p) =>
        `<tr data-period="${escapeHtml(p.name)}"><td><bdi>${escapeHtml(p.name)}</bdi> · ${t.days[p.days]} ${ltr(`${hour(p.fromHour)}-${hour(p.toHour)}`)}${p.current ? ` (${t.now})` : ''}</td>` +
        `<td class="n">${ltr(p.price ?? `${p.priceMinor}/${p.perUnits}`)}</td></tr>`,
    )
    .join('');
  const when = localDateTimeText(r.issuedAt, opts.timeZone);
  return `<!doctype html>
<html lang="${opts.lang}" dir="${opts.lang === 'ar' ? 'rtl' : 'ltr'}"><head><meta charset="utf-8">
<title>${escapeHtml(t.title)}</title>
<style>
@page { size: ${opts.format === '80mm' ? '80mm 210mm' : 'A4'}; margin: ${opts.format === '80mm' ? '4mm' : '15mm'}; }
body { font-family: "DejaVu Sans", "Noto Sans Arabic", Arial, sans-serif; margin: 0; }
.r { ${width}; margin: 0 auto; }
h1 { font-size: 1.2em; text-align: center; margin: 0 0 .5em; }
table { width: 100%; border-collapse: collapse; }
td { padding: 2px 0; vertical-align: top; }
td.n { text-align: end; white-space: nowrap; }
.token { font-family: "DejaVu Sans Mono", monospace; font-size: ${opts.format === '80mm' ? '1.35em' : '1.8em'}; font-weight: bold; text-align: center; letter-spacing: .04em; margin: .6em 0; border: 2px solid #000; padding: .3em; }
.muted { color: #333; font-size: .9em; }
hr { border: 0; border-top: 1px dashed #000; }
</style></head><body><div class="r">
<h1><bdi>${escapeHtml(r.utility.name)}</bdi><br>${escapeHtml(t.title)}</h1>
${r.notes?.header[opts.lang] ? `<p class="muted" style="text-align:center" data-note="header">${escapeHtml(r.notes.header[opts.lang] ?? '')}</p>` : ''}
${r.reprint ? `<p style="text-align:center;font-weight:bold">${t.reprint}</p>` : ''}
<table>
<tr><td>${t.receipt}</td><td class="n">${ltr(receiptNumber(r.receiptNumber))}</td></tr>
<tr><td>${t.date}</td><td class="n">${ltr(when)}</td></tr>
<tr><td>${t.meter}</td><td class="n">${ltr(r.meter.serial)}</td></tr>
<tr><td>${t.customer}</td><td class="n"><bdi>${escapeHtml(r.meter.customerName)}</bdi></td></tr>
<tr><td>${t.account}</td><td class="n">${ltr(r.meter.accountNumber)}</td></tr>
<tr><td>${r.vendorName ? t.vendor : t.online}</td><td class="n"><bdi>${escapeHtml(r.vendorName ?? '')}</bdi></td></tr>
</table><hr>
<table>${rows}</table><hr>
${periods ? `<p><strong>${t.periods}</strong> (${ltr(r.periods?.[0]?.season ?? '')}, ${escapeHtml(cur)}/${unit})</p><table>${periods}</table><hr>` : ''}
<table><tr><td><strong>${t.units}</strong></td><td class="n"><strong>${ltr(r.units.value)} ${unit}</strong></td></tr></table>
${r.tokenGrouped ? `<div class="token" aria-label="${t.token}">${ltr(r.tokenGrouped)}</div>` : `<p>${t.noToken}</p>`}
<p class="muted">${escapeHtml(cur)} · ${t.tid}: ${ltr(String(r.tid ?? '-'))}</p>
${r.notes?.footer[opts.lang] ? `<p class="muted" style="text-align:center" data-note="footer">${escapeHtml(r.notes.footer[opts.lang] ?? '')}</p>` : ''}
</div></body></html>`;
}
