/** The HTTP shape of an amount of money, as the top-up, kiosk and Checkout routes all take it. */
import { z } from 'zod';

/** Minor units as a JSON integer or a string of digits (exact beyond 2^53). */
export const MinorAmount = z
  .union([z.string().regex(/^[0-9]{1,18}$/), z.number().int().nonnegative()])
  .transform((v) => BigInt(v))
  .describe('amount in the currency minor unit (e.g. fils, baisa): an integer or a string of digits');
