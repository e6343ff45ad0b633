/**
 * Money in the browser, as on the server: integer minor units kept as strings of digits, never floats.
 * The currency's ISO 4217 exponent decides the decimals (OMR and JOD: 3, SAR: 2).
 */

const ARABIC_INDIC = '٠١٢٣٤٥٦٧٨٩';
const EASTERN_ARABIC_INDIC = '۰۱۲۳۴۵۶۷۸۹';

/** Arabic-Indic (and Persian) digits to Latin ones; the Arabic decimal separator to a dot. */
export function latinDigits(text) {
  return String(text)
    .replace(/[٠-٩]/g, (d) => String(ARABIC_INDIC.indexOf(d)))
    .replace(/[۰-۹]/g, (d) => String(EASTERN_ARABIC_INDIC.indexOf(d)))
    .replace(/٫/g, '.');
}

/** Latin digits to Arabic-Indic ones (a display option). */
export function arabicDigits(text) {
  return String(text).replace(/[0-9]/g, (d) => ARABIC_INDIC[Number(d)]);
}

/**
 * Parses what a person typed ("10", "10.5", "١٠٫٥") into minor units as a string of digits.
 * Returns { minor } or { error: 'empty' | 'format' | 'precision' | 'zero' }.
 */
export function parseAmount(text, exponent) {
  const s = latinDigits(text).trim().replace(/\s+/g, '');
  if (s === '') return { error: 'empty' };
  const m = /^(\d{1,12})(?:\.(\d*))?$/.exec(s);
  if (!m) return { error: 'format' };
  const fraction = m[2] ?? '';
  if (fraction.length > exponent) return { error: 'precision' };
  const digits = `${m[1]}${fraction.padEnd(exponent, '0')}`.replace(/^0+(?=\d)/, '');
  if (/^0+$/.test(digits)) return { error: 'zero' };
  return { minor: digits };
}

/** Minor units (string or integer) → "10.000" with the exponent's decimals; keeps a leading minus. */
export function formatMinor(minor, exponent) {
  const raw = String(minor);
  const negative = raw.startsWith('-');
  const digits = (negative ? raw.slice(1) : raw).padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = exponent > 0 ? `.${digits.slice(digits.length - exponent)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}
