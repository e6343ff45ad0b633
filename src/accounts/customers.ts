/**
 * Customers: creating one and changing its contact details, national id and language, each audited with the
 * values before and after in the caller's transaction. The operator routes (src/api/routes/admin-customers.ts)
 * and a supervisor's applied field correction (src/field/) both go through here.
 */
import { RasidError } from '../errors.ts';
import type { Queryable } from '../store/ledger.ts';
import type { CustomerId, Language, UtilityId } from '../store/schema.ts';
import type { Actor } from './accounts.ts';
import { writeAudit } from './audit.ts';

export const customerColumns = [
  'id',
  'name',
  'preferred_language',
  'phone',
  'email',
  'national_id',
  'created_at',
] as const;

export interface CustomerRow {
  id: CustomerId;
  name: string;
  preferred_language: Language;
  phone: string | null;
  email: string | null;
  national_id: string | null;
  created_at: Date;
}

export interface NewCustomer {
  readonly utilityId: UtilityId;
  readonly name: string;
  readonly preferredLanguage: Language;
  readonly phone?: string | null | undefined;
  readonly email?: string | null | undefined;
  readonly nationalId?: string | null | undefined;
}

/** Creates a customer, audited as `customer.create`. A national id already held answers a unique violation. */
export async function createCustomerIn(trx: Queryable, req: NewCustomer, by: Actor): Promise<CustomerRow> {
  const c = await trx
    .insertInto('customers')
    .values({
      utility_id: req.utilityId,
      name: req.name,
      preferred_language: req.preferredLanguage,
      phone: req.phone ?? null,
      email: req.email ?? null,
      national_id: req.nationalId ?? null,
    })
    .returning(customerColumns)
    .executeTakeFirstOrThrow();
  await writeAudit(trx, {
    utilityId: req.utilityId,
    actor: by.actor,
    action: 'customer.create',
    subject: `customer:${c.id}`,
    details: { name: c.name, preferredLanguage: c.preferred_language },
  });
  return c;
}

/** Fields to change; `undefined` leaves one as it is, `null` clears it. */
export interface CustomerChanges {
  readonly phone?: string | null | undefined;
  readonly email?: string | null | undefined;
  readonly nationalId?: string | null | undefined;
  readonly preferredLanguage?: Language | undefined;
}

/**
 * Changes a customer (locks its row), audited as `customer.update` with each changed field's values before
 * and after; nothing is written when nothing differs. Unknown in this utility: `not_found`.
 */
export async function updateCustomerIn(
  trx: Queryable,
  utilityId: UtilityId,
  id: CustomerId,
  req: CustomerChanges,
  by: Actor,
): Promise<CustomerRow> {
  const before = await trx
    .selectFrom('customers')
    .select(customerColumns)
    .where('id', '=', id)
    .where('utility_id', '=', utilityId)
    .forUpdate()
    .executeTakeFirst();
  if (!before) throw new RasidError('not_found', `customer ${id} is unknown`);
  const set: {
    phone?: string | null;
    email?: string | null;
    national_id?: string | null;
    preferred_language?: Language;
  } = {};
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  if (req.phone !== undefined && req.phone !== before.phone) {
    set.phone = req.phone;
    changes.phone = { from: before.phone, to: req.phone };
  }
  if (req.email !== undefined && req.email !== before.email) {
    set.email = req.email;
    changes.email = { from: before.email, to: req.email };
  }
  if (req.nationalId !== undefined && req.nationalId !== before.national_id) {
    set.national_id = req.nationalId;
    changes.nationalId = { from: before.national_id, to: req.nationalId };
  }
  if (req.preferredLanguage !== undefined && req.preferredLanguage !== before.preferred_language) {
    set.preferred_language = req.preferredLanguage;
    changes.preferredLanguage = { from: before.preferred_language, to: req.preferredLanguage };
  }
  if (Object.keys(changes).length === 0) return before;
  const after = await trx
    .updateTable('customers')
    .set(set)
    .where('id', '=', id)
    .returning(customerColumns)
    .executeTakeFirstOrThrow();
  await writeAudit(trx, {
    utilityId,
    actor: by.actor,
    action: 'customer.update',
    subject: `customer:${id}`,
    details: { changes },
  });
  return after;
}
