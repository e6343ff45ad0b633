/**
 * Use cases that change customers, premises and a customer's own alert settings, one transaction each, with
 * the audit row in it. A national id already held by another customer is `conflict`.
 */
import type { Kysely } from 'kysely';
import { RasidError } from '../errors.ts';
import type { AccountId, CustomerId, Database, UtilityId } from '../store/schema.ts';
import { minorUnits } from '../store/schema.ts';
import { type Actor, isUniqueViolation } from './accounts.ts';
import { writeAudit } from './audit.ts';
import {
  type CustomerChanges,
  type CustomerRow,
  createCustomerIn,
  type NewCustomer,
  updateCustomerIn,
} from './customers.ts';
import {
  type AlertColumns,
  type AlertsView,
  alertsView,
  type OwnCustomer,
  type PremiseRow,
  utilityCurrency,
} from './queries.ts';

const NATIONAL_ID_HELD = 'nationalId: a customer with this national id exists';

/** Runs a write; a unique-index violation becomes `conflict` with this detail. */
async function uniqueOrConflict<T>(detail: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isUniqueViolation(err)) throw new RasidError('conflict', detail);
    throw err;
  }
}

/** Creates a customer (src/accounts/customers.ts), audited, in its own transaction. */
export async function createCustomer(
  db: Kysely<Database>,
  req: NewCustomer,
  by: Actor,
): Promise<CustomerRow> {
  return uniqueOrConflict(NATIONAL_ID_HELD, () =>
    db.transaction().execute((trx) => createCustomerIn(trx, req, by)),
  );
}

/** Changes a customer's contacts, national id or language (src/accounts/customers.ts), in its own transaction. */
export async function updateCustomer(
  db: Kysely<Database>,
  utilityId: UtilityId,
  id: CustomerId,
  req: CustomerChanges,
  by: Actor,
): Promise<CustomerRow> {
  return uniqueOrConflict(NATIONAL_ID_HELD, () =>
    db.transaction().execute((trx) => updateCustomerIn(trx, utilityId, id, req, by)),
  );
}

/** Creates a premise (a place supplied), audited as `premise.create`. */
export async function createPremise(
  db: Kysely<Database>,
  utilityId: UtilityId,
  req: { readonly address: string; readonly area?: string | null | undefined },
  by: Actor,
): Promise<PremiseRow> {
  return db.transaction().execute(async (trx) => {
    const premise = await trx
      .insertInto('premises')
      .values({ utility_id: utilityId, address: req.address, area: req.area ?? null })
      .returning(['id', 'address', 'area', 'created_at'])
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      utilityId,
      actor: by.actor,
      action: 'premise.create',
      subject: `premise:${premise.id}`,
      details: { address: premise.address, area: premise.area },
    });
    return premise;
  });
}

/** The alert settings as the audit log keeps them. */
function alertsAudited(r: AlertColumns) {
  return {
    enabled: r.low_credit_alert_enabled,
    thresholdMinor: r.low_credit_alert_minor?.toString() ?? null,
    days: r.low_credit_alert_days,
  };
}

/** A change of an account's low-credit alert; `undefined` leaves a threshold as it is, `null` clears it. */
export interface AlertChanges {
  readonly enabled: boolean;
  readonly thresholdMinor?: bigint | null | undefined;
  readonly days?: number | null | undefined;
}

/**
 * The customer sets the low-credit alert of one of their accounts (locks its row), audited as
 * `account.alerts` with the settings before and after. An account not the customer's is `not_found`.
 */
export async function setOwnAlerts(
  db: Kysely<Database>,
  c: OwnCustomer,
  accountId: string,
  b: AlertChanges,
  actor: string,
): Promise<AlertsView> {
  const m = await utilityCurrency(db, c.utilityId);
  return db.transaction().execute(async (trx) => {
    const before = await trx
      .selectFrom('accounts')
      .select(['id', 'low_credit_alert_enabled', 'low_credit_alert_minor', 'low_credit_alert_days'])
      .where('id', '=', accountId as AccountId)
      .where('utility_id', '=', c.utilityId)
      .where('customer_id', '=', c.customerId)
      .forUpdate()
      .executeTakeFirst();
    if (!before) throw new RasidError('not_found', `account ${accountId} is unknown`);
    const after = await trx
      .updateTable('accounts')
      .set({
        low_credit_alert_enabled: b.enabled,
        ...(b.thresholdMinor !== undefined
          ? { low_credit_alert_minor: b.thresholdMinor === null ? null : minorUnits(b.thresholdMinor) }
          : {}),
        ...(b.days !== undefined ? { low_credit_alert_days: b.days } : {}),
      })
      .where('id', '=', before.id)
      .returning(['low_credit_alert_enabled', 'low_credit_alert_minor', 'low_credit_alert_days'])
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      utilityId: c.utilityId,
      actor,
      action: 'account.alerts',
      subject: `account:${before.id}`,
      details: { from: alertsAudited(before), to: alertsAudited(after) },
    });
    return alertsView(after, m);
  });
}
