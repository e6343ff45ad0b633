/**
 * Rasid's OpenPAYGO Token codec: generate and decode the short keypad codes of pay-as-you-go devices, in
 * standard (9-digit) and extended (12-digit) form, with the restricted digit set, plus the device's count
 * and used-count rules. Pure functions and one small stateful device model, no I/O.
 *
 * The authority is EnAccess/OpenPAYGO-python (MIT); docs/openpaygo.md lists where Rasid follows it and the
 * few places where it deliberately does not.
 */
export * from './chain.ts';
export * from './decode.ts';
export * from './device.ts';
export * from './encode.ts';
export * from './errors.ts';
export * from './format.ts';
