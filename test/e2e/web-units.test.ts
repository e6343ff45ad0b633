/** The web app's pure modules, loaded as the browser loads them: dictionaries and money. */
import { describe, expect, it } from 'vitest';

/** The browser modules are plain JavaScript without declarations: load them by URL and type what is used. */
async function browserModule<T>(path: string): Promise<T> {
  return (await import(new URL(path, import.meta.url).href)) as T;
}

type Dictionary = Record<string, string>;
const ar = (await browserModule<{ default: Dictionary }>('../../web/i18n/ar.js')).default;
const en = (await browserModule<{ default: Dictionary }>('../../web/i18n/en.js')).default;
const { formatMinor, latinDigits, parseAmount } = await browserModule<{
  formatMinor(minor: string, exponent: number): string;
  latinDigits(text: string): string;
  parseAmount(text: string, exponent: number): { minor?: string; error?: string };
}>('../../web/app/money.js');

describe('dictionaries', () => {
  it('have the same keys in Arabic and English, none empty', () => {
    expect(Object.keys(ar).sort()).toEqual(Object.keys(en).sort());
    for (const d of [ar, en]) for (const v of Object.values(d)) expect(String(v).trim()).not.toBe('');
  });

  it('use the same placeholders in both languages', () => {
    const holes = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(en)) {
      expect(holes(ar[key] ?? ''), key).toEqual(holes(en[key] ?? ''));
    }
  });
});

describe('money in the browser', () => {
  it.each([
    ['10', 3, '10000'],
    ['10.5', 3, '10500'],
    ['0.001', 3, '1'],
    ['١٠٫٥', 3, '10500'],
    ['۲۰', 2, '2000'],
    [' 7 ', 0, '7'],
  ])('parses %j with exponent %i as %s minor units', (text, exponent, minor) => {
    expect(parseAmount(text, exponent)).toEqual({ minor });
  });

  it.each([
    ['', 3, 'empty'],
    ['abc', 3, 'format'],
    ['1,5', 3, 'format'],
    ['-1', 3, 'format'],
    ['1.0001', 3, 'precision'],
    ['1.5', 0, 'precision'],
    ['0.000', 3, 'zero'],
  ])('refuses %j with exponent %i (%s)', (text, exponent, error) => {
    expect(parseAmount(text, exponent)).toEqual({ error });
  });

  it.each([
    ['10000', 3, '10.000'],
    ['1', 3, '0.001'],
    ['-238', 3, '-0.238'],
    ['1999', 2, '19.99'],
    ['5', 0, '5'],
  ])('formats %s minor units with exponent %i as %s', (minor, exponent, text) => {
    expect(formatMinor(minor, exponent)).toBe(text);
  });

  it('reads Arabic-Indic digits', () => {
    expect(latinDigits('٠١٢٣٤٥٦٧٨٩')).toBe('0123456789');
  });
});
