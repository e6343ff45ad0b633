/**
 * A currency's ISO 4217 minor-unit exponent. The platform's Intl (ICU) knows every current code; where ICU
 * rounds cash amounts differently from ISO 4217's minor unit (IQD, LBP, SYP, YER, IRR, PKR), the ISO
 * value wins, because Rasid keeps amounts in the currency's accounting minor unit (OMR, BHD, KWD: 3).
 */
const ISO_4217_EXPONENT: Readonly<Record<string, number>> = Object.freeze({
  IQD: 3,
  LBP: 2,
  SYP: 2,
  YER: 2,
  IRR: 2,
  PKR: 2,
});

/** The exponent of `currency` (upper-case ISO 4217 code), or null when the code is not a currency. */
export function currencyExponent(currency: string): number | null {
  if (!/^[A-Z]{3}$/.test(currency)) return null;
  if (!Intl.supportedValuesOf('currency').includes(currency)) return null;
  const iso = ISO_4217_EXPONENT[currency];
  if (iso !== undefined) return iso;
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
    .maximumFractionDigits;
  return digits !== undefined && digits >= 0 && digits <= 3 ? digits : null;
}

/** Whether `zone` is an IANA time zone the platform knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone.includes('/') || zone === 'UTC';
  } catch {
    return false;
  }
}

/** ISO weekday numbers (1 = Monday … 7 = Sunday) of day names such as `fri,sat`. */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export function weekdayNumbers(names: readonly string[]): number[] | null {
  const out: number[] = [];
  for (const n of names) {
    const i = WEEKDAYS.indexOf(n.trim().toLowerCase().slice(0, 3) as Weekday);
    if (i < 0) return null;
    if (!out.includes(i + 1)) out.push(i + 1);
  }
  return out.sort((a, b) => a - b);
}

export function weekdayNames(days: readonly number[]): Weekday[] {
  return days.map((d) => WEEKDAYS[d - 1]).filter((d): d is Weekday => d !== undefined);
}
