/**
 * Money in Rasid is an integer count of a currency's minor units (ISO 4217 exponent: OMR, BHD, KWD have 3
 * decimals, JOD 3, SAR and AED 2). `MinorUnits` has one producer, `minorUnits()`, so a plain number can never
 * pass for money by accident.
 */
declare const minorUnitsBrand: unique symbol;
export type MinorUnits = bigint & { readonly [minorUnitsBrand]: true };

/** Brands an integer amount of minor units. */
export function minorUnits(value: bigint | number): MinorUnits {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new RangeError(`money must be a whole number of minor units, got ${value}`);
  }
  return BigInt(value) as MinorUnits;
}

/** ISO 4217 exponents of the currencies Rasid's utilities use; others may be configured per utility. */
export const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = Object.freeze({
  OMR: 3,
  BHD: 3,
  KWD: 3,
  JOD: 3,
  IQD: 3,
  LYD: 3,
  TND: 3,
  SAR: 2,
  AED: 2,
  QAR: 2,
  EGP: 2,
  LBP: 2,
  SYP: 2,
  USD: 2,
  EUR: 2,
  ILS: 2,
  JPY: 0,
});

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/**
 * Parses a decimal string ("1.250") into minor units with the currency's exponent, exactly. More decimals
 * than the exponent allows is an error, never a silent rounding.
 */
export function parseMoney(text: string, exponent: number): MinorUnits {
  const m = DECIMAL.exec(text.trim());
  if (!m) throw new RangeError(`"${text}" is not a decimal amount`);
  const [, sign, whole = '0', frac = ''] = m;
  if (frac.length > exponent) {
    throw new RangeError(`"${text}" has more than ${exponent} decimals`);
  }
  const digits = BigInt(whole + frac.padEnd(exponent, '0'));
  return minorUnits(sign ? -digits : digits);
}

/** Formats minor units as a decimal string with exactly `exponent` decimals ("1.250"). */
export function formatMoney(amount: bigint, exponent: number): string {
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString().padStart(exponent + 1, '0');
  const whole = exponent === 0 ? digits : digits.slice(0, -exponent);
  const frac = exponent === 0 ? '' : `.${digits.slice(-exponent)}`;
  return `${negative ? '-' : ''}${whole}${frac}`;
}

/** `a * num / den` rounded half up (away from zero for positive values), in integers. */
export function mulDivRound(a: bigint, num: bigint, den: bigint): bigint {
  if (den <= 0n) throw new RangeError('denominator must be positive');
  const product = a * num;
  const q = product / den;
  const r = product % den;
  return r * 2n >= den ? q + 1n : q;
}

/** `ceil(a / b)` for non-negative integers. */
export function ceilDiv(a: bigint, b: bigint): bigint {
  return a === 0n ? 0n : (a + b - 1n) / b;
}
