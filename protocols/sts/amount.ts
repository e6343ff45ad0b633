/**
 * The 16-bit exponent/mantissa value field: exponent (2 bits) ‖ mantissa (14 bits).
 * IEC 62055-41 transfer amount (sts.md §2.4).
 *
 *   e = 0: amount = m
 *   e > 0: amount = m * 10^e + sum_{i=1..e} 2^14 * 10^(i-1)
 *
 * Class 0 amounts are integers in tenths of the unit (0.1 kWh for electricity); the power-limit registers
 * (class 2 subclasses 0 and 6) use the same field in whole watts. Everything here is integer arithmetic.
 */
import { StsError } from './errors.ts';

const MANTISSA_BITS = 14;
const MANTISSA_LIMIT = 1 << MANTISSA_BITS; // 16384
/** Smallest amount of each exponent (the offset added to m * 10^e). */
const OFFSET = Object.freeze([0, 16_384, 180_224, 1_818_624]);
/** Step between consecutive values of each exponent. */
const STEP = Object.freeze([1, 10, 100, 1000]);
/** Largest amount the field can carry (exponent 3, mantissa 16383). */
export const MAX_AMOUNT = 18_201_624;

export type AmountRounding = 'up' | 'down';

/** Decodes a 16-bit amount field into an integer amount (tenths for credit, watts for power limits). */
export function decodeAmount(field: number): number {
  const e = (field >>> MANTISSA_BITS) & 3;
  const m = field & (MANTISSA_LIMIT - 1);
  return OFFSET[e]! + m * STEP[e]!;
}

/**
 * Encodes an integer amount with the smallest exponent whose range holds it. With `rounding` 'up' (the
 * default, the STS rule: the customer never gets less than paid for) the mantissa is rounded up, so the
 * field decodes to the smallest representable amount >= `amount`; with 'down' to the largest <= `amount`
 * (for a vending system that keeps the remainder as account credit).
 */
export function encodeAmount(amount: number, rounding: AmountRounding = 'up', field = 'amount'): number {
  if (!Number.isSafeInteger(amount) || amount < 0) {
    throw new StsError('range', field, `expected a non-negative integer, got ${amount}`);
  }
  if (amount > MAX_AMOUNT) throw new StsError('range', field, `${amount} is above the maximum ${MAX_AMOUNT}`);
  if (amount < MANTISSA_LIMIT) return amount;
  let e = 1;
  while (e < 3 && amount > OFFSET[e]! + (MANTISSA_LIMIT - 1) * STEP[e]!) e++;
  const above = amount - OFFSET[e]!;
  const step = STEP[e]!;
  if (rounding === 'down') {
    // Below this exponent's offset (in the gap above the previous exponent's top): fall back to that top.
    if (above < 0) return ((e - 1) << MANTISSA_BITS) | (MANTISSA_LIMIT - 1);
    return (e << MANTISSA_BITS) | Math.floor(above / step);
  }
  // IEC 62055-41 (sts.md §2.4): smallest exponent, mantissa rounded up. A negative `above` (the gap between
  // two exponents) gives mantissa 0; a mantissa of 16384 would roll into the next exponent with 0, which
  // decodes to the same amount, so `(e << 14) | m` stays right in every case.
  const m = above <= 0 ? 0 : Math.ceil(above / step);
  return ((e << MANTISSA_BITS) + m) & 0xffff;
}
