/**
 * What receipts and statements print, in the utility's time zone and the reader's language: local date and
 * time with the zone's offset, the receipt number (the vend id's first eight characters, which find the sale
 * again), the currency's Arabic symbol and the units' Arabic names.
 */

export type Lang = 'ar' | 'en';

/** Left-to-right isolate: numbers, serials and tokens keep their order inside Arabic text. */
export const LRI = '\u2066';
export const PDI = '\u2069';
export const ltrIsolate = (s: string): string => `${LRI}${s}${PDI}`;
/** First-strong isolate: a name keeps its own direction (a Latin name in Arabic text, or the reverse). */
export const FSI = '\u2068';
export const isolate = (s: string): string => `${FSI}${s}${PDI}`;

export interface LocalTime {
  /** 2026-12-05 */
  readonly date: string;
  /** 01:12 */
  readonly time: string;
  /** GMT+4 */
  readonly offset: string;
}

/** An instant as people in the utility's zone read it. */
export function localTime(at: Date | string, timeZone: string): LocalTime {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'shortOffset',
  }).formatToParts(typeof at === 'string' ? new Date(at) : at);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    date: `${get('year')}-${get('month')}-${get('day')}`,
    time: `${get('hour')}:${get('minute')}`,
    offset: get('timeZoneName') === 'GMT' ? 'GMT+0' : get('timeZoneName'),
  };
}

/** "2026-12-05 01:12 GMT+4" */
export function localDateTimeText(at: Date | string, timeZone: string): string {
  const t = localTime(at, timeZone);
  return `${t.date} ${t.time} ${t.offset}`;
}

/** The number printed on a receipt: the vend id's first eight characters in capitals. */
export function receiptNumber(vendId: string): string {
  return vendId.slice(0, 8).toUpperCase();
}

/** A receipt number as typed at a counter: eight hexadecimal characters, any case. */
export const RECEIPT_NUMBER = /^[0-9A-Fa-f]{8}$/;

const ARABIC_CURRENCY: Readonly<Record<string, string>> = Object.freeze({
  OMR: 'ر.ع.',
  JOD: 'د.أ.',
  BHD: 'د.ب.',
  KWD: 'د.ك.',
  SAR: 'ر.س.',
  AED: 'د.إ.',
  QAR: 'ر.ق.',
  EGP: 'ج.م.',
  LBP: 'ل.ل.',
  IQD: 'د.ع.',
});

/** The currency as the reader writes it: the Arabic symbol in Arabic, the ISO code in English. */
export function currencyLabel(code: string, lang: Lang): string {
  const c = code.trim().toUpperCase();
  return lang === 'ar' ? (ARABIC_CURRENCY[c] ?? c) : c;
}

/** "5.000 ر.ع." / "OMR 5.000" */
export function moneyText(amount: string, currency: string, lang: Lang): string {
  return lang === 'ar'
    ? `${ltrIsolate(amount)} ${currencyLabel(currency, lang)}`
    : `${currency.trim()} ${amount}`;
}

export function unitLabel(unit: 'kWh' | 'm³', lang: Lang): string {
  if (lang === 'en') return unit;
  return unit === 'kWh' ? 'ك.و.س' : 'م³';
}
