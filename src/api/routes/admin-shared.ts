/** Schemas and helpers shared by the operator routes (`admin-*.ts`). */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Actor } from '../../accounts/accounts.ts';
import { isUniqueViolation } from '../../accounts/accounts.ts';
import type { KeyStore } from '../../store/keystore.ts';
import type { Database } from '../../store/schema.ts';
import type { VendingService } from '../../vending/service.ts';
import { actorOf, type Principal } from '../auth.ts';
import { AppError } from '../errors.ts';

export interface AdminRoutesOptions {
  readonly db: Kysely<Database>;
  readonly keys: KeyStore;
  readonly vending: VendingService;
  readonly now?: () => Date;
}

/** Who did it, for audit rows and `performed_by`. */
export function actorFor(p: Principal): Actor {
  return { actor: actorOf(p), userId: p.kind === 'user' ? p.userId : null };
}

/** A positive amount in minor units: a JSON integer or a string of digits (exact beyond 2^53). */
export const PositiveMinor = z
  .union([z.string().regex(/^[0-9]{1,18}$/), z.number().int().nonnegative()])
  .transform((v) => BigInt(v))
  .refine((v) => v > 0n, 'must be more than zero')
  .describe('amount in the currency minor unit (e.g. fils): an integer or a string of digits');

/** A non-negative amount in minor units. */
export const MinorOrZero = z
  .union([z.string().regex(/^[0-9]{1,18}$/), z.number().int().nonnegative()])
  .transform((v) => BigInt(v))
  .describe('amount in the currency minor unit: an integer or a string of digits');

/** An instant as ISO 8601 (date-time with offset, or a date meaning its UTC midnight). */
export const Instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .transform((s) => new Date(s))
  .describe('ISO 8601 date-time (with Z or an offset) or date');

/** limit/offset paging of list routes. */
export const Paging = {
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
};

/** A query-string boolean: `true`/`false`. */
export const QueryBool = z.enum(['true', 'false']).transform((v) => v === 'true');

export const Phone = z
  .string()
  .regex(/^\+[1-9][0-9]{6,14}$/, 'an E.164 phone number such as +962790000001')
  .describe('E.164 phone number');

/** Runs an insert or update; a unique-index violation becomes 409 `conflict` with this detail. */
export async function uniqueOr409<T>(detail: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('conflict', detail);
    throw err;
  }
}

/** ISO string of a nullable instant. */
export function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}
