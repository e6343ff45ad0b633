/**
 * Meter numbers: IIN, IAIN (= DRN) and the meter PAN with its Luhn check digit.
 *
 * IEC 62055-41 meter primary account number (sts.md §1): PAN = IIN ‖ IAIN ‖ check digit, 18 digits. The standard
 * IIN `600727` has 6 digits and an 11-digit IAIN; legacy 4-digit IINs have a 13-digit IAIN. The 17 digits of
 * IIN ‖ IAIN are the same length either way, so the IIN length is an option (6 unless told).
 */
import { StsError } from './errors.ts';

/** A parsed meter PAN. */
export interface MeterPan {
  /** Issuer identification number (4 or 6 digits). */
  readonly iin: string;
  /** Individual account identification number = decoder reference number (13 or 11 digits). */
  readonly iain: string;
  /** The Luhn check digit over IIN ‖ IAIN. */
  readonly checkDigit: number;
  /** The full 18-digit PAN, check digit included. */
  readonly pan: string;
}

export type IinLength = 4 | 6;

const DIGITS = /^[0-9]+$/;

/** The Luhn check digit of a digit string: double every second digit starting from the rightmost. */
export function luhnCheckDigit(digits: string): number {
  if (!DIGITS.test(digits))
    throw new StsError('format', 'digits', `expected decimal digits, got '${digits}'`);
  let sum = 0;
  let double = true;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return (10 - (sum % 10)) % 10;
}

/**
 * Parses a meter number of 17 digits (IIN ‖ IAIN, no check digit) or 18 digits (with the check digit,
 * which must be right). Spaces and dashes are ignored.
 */
export function parseMeterPan(input: string, iinLength: IinLength = 6): MeterPan {
  const digits = input.replace(/[\s-]/g, '');
  if (!DIGITS.test(digits) || (digits.length !== 17 && digits.length !== 18)) {
    throw new StsError('format', 'pan', `expected 17 or 18 digits, got '${input}'`);
  }
  const body = digits.slice(0, 17);
  const check = luhnCheckDigit(body);
  if (digits.length === 18 && digits.charCodeAt(17) - 48 !== check) {
    throw new StsError('format', 'pan', `wrong check digit ${digits[17]} in '${input}' (expected ${check})`);
  }
  return Object.freeze({
    iin: body.slice(0, iinLength),
    iain: body.slice(iinLength),
    checkDigit: check,
    pan: body + check,
  });
}

/**
 * Builds a meter PAN from IIN and DRN (IAIN). The DRN may carry the check digit as one extra trailing
 * digit, which must then be right.
 */
export function meterPanFromParts(iin: string, drn: string): MeterPan {
  if (!DIGITS.test(iin) || (iin.length !== 4 && iin.length !== 6)) {
    throw new StsError('format', 'iin', `expected 4 or 6 digits, got '${iin}'`);
  }
  const iainLength = iin.length === 6 ? 11 : 13;
  if (!DIGITS.test(drn) || (drn.length !== iainLength && drn.length !== iainLength + 1)) {
    throw new StsError(
      'format',
      'drn',
      `expected ${iainLength} digits for a ${iin.length}-digit IIN, got '${drn}'`,
    );
  }
  return parseMeterPan(iin + drn, iin.length as IinLength);
}
