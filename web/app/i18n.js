/**
 * Languages: Arabic (right to left) and English, both from the first screen. The choice is kept in
 * localStorage; without one, a browser that prefers English gets English and every other gets Arabic.
 * Digits are Latin by default; Arabic-Indic digits are a display option in Arabic. Tokens are grouped the
 * same way in both languages and always read left to right.
 */
import ar from '../i18n/ar.js';
import en from '../i18n/en.js';
import { arabicDigits } from './money.js';

const DICTIONARIES = { ar, en };
const LANG_KEY = 'rasid.lang';
const DIGITS_KEY = 'rasid.digits';

function initialLang() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved === 'ar' || saved === 'en') return saved;
  return (navigator.language ?? '').toLowerCase().startsWith('en') ? 'en' : 'ar';
}

let lang = initialLang();
let digits = localStorage.getItem(DIGITS_KEY) === 'arabic' ? 'arabic' : 'latin';
const listeners = new Set();

function applyToDocument() {
  const root = document.documentElement;
  root.lang = lang;
  root.dir = lang === 'ar' ? 'rtl' : 'ltr';
  document.title = DICTIONARIES[lang]['app.title'];
}
applyToDocument();

export function currentLang() {
  return lang;
}

export function currentDigits() {
  return digits;
}

export function setLang(next) {
  lang = next === 'en' ? 'en' : 'ar';
  localStorage.setItem(LANG_KEY, lang);
  applyToDocument();
  for (const l of listeners) l();
}

export function setDigits(next) {
  digits = next === 'arabic' ? 'arabic' : 'latin';
  localStorage.setItem(DIGITS_KEY, digits);
  for (const l of listeners) l();
}

/** Called after every language or digit change (the app re-renders). */
export function onLanguageChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Numbers in the reader's script: Arabic-Indic digits only when chosen, and only in Arabic. */
export function num(value) {
  const s = String(value ?? '');
  return lang === 'ar' && digits === 'arabic' ? arabicDigits(s) : s;
}

/** A currency as the reader's language writes it: `ر.ع.` in Arabic, the ISO 4217 code in English. */
export function currencyName(code) {
  return DICTIONARIES[lang][`currency.${code}`] ?? String(code ?? '');
}

/** A unit (kWh, m³) as the reader's language writes it beside a figure: `ك.و.س` and `م³` in Arabic. */
export function unitName(unit) {
  return DICTIONARIES[lang][`unit.${unit}`] ?? String(unit ?? '');
}

/**
 * The translated text of `key`, with {name} placeholders filled from `params`; a `currency` parameter is an
 * ISO 4217 code, written as the reader's language writes it.
 */
export function t(key, params) {
  const text = DICTIONARIES[lang][key] ?? DICTIONARIES.en[key] ?? key;
  if (!params) return text;
  const named = (name) => (name === 'currency' ? currencyName(params[name]) : String(params[name]));
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? named(name) : `{${name}}`));
}

/** A problem+json error in the reader's language: by its code, else the server's title. */
export function problemText(err) {
  const code = err?.problem?.code;
  if (code && DICTIONARIES[lang][`error.${code}`]) return DICTIONARIES[lang][`error.${code}`];
  if (err?.network) return t('error.network');
  return err?.problem?.detail ?? err?.problem?.title ?? t('error.internal');
}

let utilityZone;

/** The signed-in person's utility zone: a date-time shown without a zone of its own is read there. */
export function setUtilityZone(timeZone) {
  utilityZone = timeZone ?? undefined;
}

/** A date-time in the reader's language and the utility's time zone. */
export function dateTime(iso, timeZone = utilityZone) {
  const d = new Date(iso);
  const locale = lang === 'ar' ? (digits === 'arabic' ? 'ar-u-nu-arab' : 'ar-u-nu-latn') : 'en-GB';
  return new Intl.DateTimeFormat(locale, {
    dateStyle: 'medium',
    timeStyle: 'short',
    ...(timeZone ? { timeZone } : {}),
  }).format(d);
}

/**
 * The date and time of a sale on a receipt, in the reader's language and the utility's time zone, with the
 * month in words ("5 December 2026 at 01:12" / "5 ديسمبر 2026 في 1:12 ص"): a sale just after midnight there
 * carries that day's date, not the UTC one.
 */
export function receiptDateTime(iso, timeZone = utilityZone) {
  const locale = lang === 'ar' ? (digits === 'arabic' ? 'ar-u-nu-arab' : 'ar-u-nu-latn') : 'en-GB';
  return new Intl.DateTimeFormat(locale, {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: lang === 'ar' ? 'numeric' : '2-digit',
    minute: '2-digit',
    ...(timeZone ? { timeZone } : {}),
  }).format(new Date(iso));
}

/** Today's calendar date (YYYY-MM-DD) in a time zone. */
export function todayIn(timeZone) {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date());
}
