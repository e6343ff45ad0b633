/**
 * Accounts: opening one (with its first holder row), changing its flags (every change audited, with the
 * values before and after), and reading it with its derived balance and holder history.
 */
import { randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import { RasidError } from '../errors.ts';
import { accountBalance, type Queryable } from '../store/ledger.ts';
import type {
  AccountId,
  AccountStatus,
  CustomerId,
  Database,
  MeterId,
  MeterKind,
  MinorUnits,
  PremiseId,
  UserId,
  UtilityId,
} from '../store/schema.ts';
import { writeAudit } from './audit.ts';
import { hasOtherSubsidisedAccount } from './subsidy.ts';

export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505';
}

export interface Actor {
  /** The audit actor, e.g. `user:<id>`. */
  readonly actor: string;
  readonly userId: UserId | null;
}

export interface OpenAccountRequest {
  readonly utilityId: UtilityId;
  readonly customerId: CustomerId;
  readonly premiseId: PremiseId;
  /** Human-facing number; generated when absent. */
  readonly number?: string | undefined;
  readonly tariffCode?: string | null | undefined;
  readonly subsidyEligible?: boolean | undefined;
  readonly protected?: boolean | undefined;
}

export interface AccountChanges {
  readonly status?: AccountStatus | undefined;
  readonly protected?: boolean | undefined;
  readonly subsidyEligible?: boolean | undefined;
  readonly tariffCode?: string | null | undefined;
}

async function assertTariffCode(db: Queryable, utilityId: UtilityId, code: string): Promise<void> {
  const found = await db
    .selectFrom('tariffs')
    .select('id')
    .where('utility_id', '=', utilityId)
    .where('code', '=', code)
    .limit(1)
    .executeTakeFirst();
  if (!found) throw new RasidError('validation_failed', `tariffCode: no tariff ${code} in this utility`);
}

async function assertSubsidyAllowed(
  db: Queryable,
  utilityId: UtilityId,
  customerId: CustomerId,
  accountId: AccountId | null,
): Promise<void> {
  if (await hasOtherSubsidisedAccount(db, utilityId, customerId, accountId)) {
    throw new RasidError(
      'subsidy_not_allowed',
      'subsidyEligible: the holder already has a subsidised account in this utility',
    );
  }
}

/** A 10-digit account number; a collision is retried once by the caller's unique index. */
function generatedNumber(): string {
  return String(randomInt(1_000_000_000, 10_000_000_000));
}

/** Opens an account for a customer at a premise, with its first holder row and an audit row. */
export async function openAccount(
  db: Kysely<Database>,
  req: OpenAccountRequest,
  by: Actor,
  now: () => Date = () => new Date(),
): Promise<AccountId> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.transaction().execute(async (trx) => {
        const customer = await trx
          .selectFrom('customers')
          .select('id')
          .where('id', '=', req.customerId)
          .where('utility_id', '=', req.utilityId)
          .forUpdate()
          .executeTakeFirst();
        if (!customer) throw new RasidError('not_found', `customerId: customer ${req.customerId} is unknown`);
        const premise = await trx
          .selectFrom('premises')
          .select('id')
          .where('id', '=', req.premiseId)
          .where('utility_id', '=', req.utilityId)
          .executeTakeFirst();
        if (!premise) throw new RasidError('not_found', `premiseId: premise ${req.premiseId} is unknown`);
        if (req.tariffCode) await assertTariffCode(trx, req.utilityId, req.tariffCode);
        if (req.subsidyEligible) await assertSubsidyAllowed(trx, req.utilityId, customer.id, null);
        const number = req.number ?? generatedNumber();
        const account = await trx
          .insertInto('accounts')
          .values({
            utility_id: req.utilityId,
            number,
            customer_id: customer.id,
            premise_id: premise.id,
            tariff_code: req.tariffCode ?? null,
            subsidy_eligible: req.subsidyEligible ?? false,
            protected: req.protected ?? false,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        await trx
          .insertInto('account_holders')
          .values({
            utility_id: req.utilityId,
            account_id: account.id,
            customer_id: customer.id,
            from_at: now(),
            reason: 'opening',
            evidence_ref: null,
            performed_by: by.userId,
          })
          .execute();
        await writeAudit(trx, {
          utilityId: req.utilityId,
          actor: by.actor,
          action: 'account.create',
          subject: `account:${account.id}`,
          details: {
            number,
            customerId: customer.id,
            premiseId: premise.id,
            tariffCode: req.tariffCode ?? null,
            subsidyEligible: req.subsidyEligible ?? false,
            protected: req.protected ?? false,
          },
        });
        return account.id;
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      if (req.number !== undefined) {
        throw new RasidError('conflict', `number: account ${req.number} already exists`);
      }
      if (attempt >= 2) throw err;
    }
  }
}

/** Changes an account's status, flags or tariff code; audits each changed field as `{ from, to }`. */
export async function updateAccount(
  db: Kysely<Database>,
  utilityId: UtilityId,
  accountId: AccountId,
  changes: AccountChanges,
  by: Actor,
): Promise<Record<string, { from: unknown; to: unknown }>> {
  return db.transaction().execute(async (trx) => {
    const account = await trx
      .selectFrom('accounts')
      .select(['id', 'customer_id', 'status', 'protected', 'subsidy_eligible', 'tariff_code'])
      .where('id', '=', accountId)
      .where('utility_id', '=', utilityId)
      .forUpdate()
      .executeTakeFirst();
    if (!account) throw new RasidError('not_found', `account ${accountId} is unknown`);
    const diff: Record<string, { from: unknown; to: unknown }> = {};
    const set: {
      status?: AccountStatus;
      protected?: boolean;
      subsidy_eligible?: boolean;
      tariff_code?: string | null;
    } = {};
    if (changes.status !== undefined && changes.status !== account.status) {
      if (account.status === 'closed') {
        throw new RasidError('conflict', 'status: a closed account cannot be reopened');
      }
      set.status = changes.status;
      diff.status = { from: account.status, to: changes.status };
    }
    if (changes.protected !== undefined && changes.protected !== account.protected) {
      set.protected = changes.protected;
      diff.protected = { from: account.protected, to: changes.protected };
    }
    if (changes.subsidyEligible !== undefined && changes.subsidyEligible !== account.subsidy_eligible) {
      if (changes.subsidyEligible) {
        await trx
          .selectFrom('customers')
          .select('id')
          .where('id', '=', account.customer_id)
          .forUpdate()
          .execute();
        await assertSubsidyAllowed(trx, utilityId, account.customer_id, account.id);
      }
      set.subsidy_eligible = changes.subsidyEligible;
      diff.subsidyEligible = { from: account.subsidy_eligible, to: changes.subsidyEligible };
    }
    if (changes.tariffCode !== undefined && changes.tariffCode !== account.tariff_code) {
      if (changes.tariffCode !== null) await assertTariffCode(trx, utilityId, changes.tariffCode);
      set.tariff_code = changes.tariffCode;
      diff.tariffCode = { from: account.tariff_code, to: changes.tariffCode };
    }
    if (Object.keys(diff).length === 0) return diff;
    await trx.updateTable('accounts').set(set).where('id', '=', account.id).execute();
    await writeAudit(trx, {
      utilityId,
      actor: by.actor,
      action: 'account.update',
      subject: `account:${account.id}`,
      details: { changes: diff },
    });
    return diff;
  });
}

export interface HolderView {
  readonly id: string;
  readonly customerId: CustomerId;
  readonly customerName: string;
  readonly fromAt: Date;
  readonly toAt: Date | null;
  readonly reason: string;
  readonly evidenceRef: string | null;
  readonly performedBy: UserId | null;
  readonly subsidyCarried: boolean;
}

export interface AccountView {
  readonly id: AccountId;
  readonly number: string;
  readonly status: AccountStatus;
  readonly tariffCode: string | null;
  readonly subsidyEligible: boolean;
  readonly protected: boolean;
  readonly debtMinor: MinorUnits;
  /** Derived from the ledger; never stored. */
  readonly balanceMinor: MinorUnits;
  readonly customer: { readonly id: CustomerId; readonly name: string };
  readonly premise: { readonly id: PremiseId; readonly address: string; readonly area: string | null };
  readonly createdAt: Date;
  readonly holders: readonly HolderView[];
  readonly meters: readonly { readonly id: MeterId; readonly serial: string; readonly kind: MeterKind }[];
}

export interface AccountListFilter {
  readonly customerId?: CustomerId | undefined;
  readonly premiseId?: PremiseId | undefined;
  readonly status?: AccountStatus | undefined;
  /** The account number, exactly. */
  readonly number?: string | undefined;
  readonly limit: number;
  readonly offset: number;
}

/** The utility's accounts by number, each with its holder's name, one page of them. */
export function listAccounts(db: Queryable, utilityId: UtilityId, f: AccountListFilter) {
  let q = db
    .selectFrom('accounts')
    .innerJoin('customers', 'customers.id', 'accounts.customer_id')
    .select([
      'accounts.id',
      'accounts.number',
      'accounts.status',
      'accounts.customer_id as customerId',
      'customers.name as customerName',
      'accounts.premise_id as premiseId',
      'accounts.subsidy_eligible as subsidyEligible',
      'accounts.protected',
    ])
    .where('accounts.utility_id', '=', utilityId);
  if (f.customerId) q = q.where('accounts.customer_id', '=', f.customerId);
  if (f.premiseId) q = q.where('accounts.premise_id', '=', f.premiseId);
  if (f.status) q = q.where('accounts.status', '=', f.status);
  if (f.number) q = q.where('accounts.number', '=', f.number);
  return q.orderBy('accounts.number').limit(f.limit).offset(f.offset).execute();
}

/** An account with its derived balance, holder history (oldest first) and meters. */
export async function accountView(
  db: Queryable,
  utilityId: UtilityId,
  accountId: AccountId,
): Promise<AccountView> {
  const a = await db
    .selectFrom('accounts')
    .innerJoin('customers', 'customers.id', 'accounts.customer_id')
    .innerJoin('premises', 'premises.id', 'accounts.premise_id')
    .select([
      'accounts.id',
      'accounts.number',
      'accounts.status',
      'accounts.tariff_code',
      'accounts.subsidy_eligible',
      'accounts.protected',
      'accounts.debt_minor',
      'accounts.created_at',
      'customers.id as customerId',
      'customers.name as customerName',
      'premises.id as premiseId',
      'premises.address',
      'premises.area',
    ])
    .where('accounts.id', '=', accountId)
    .where('accounts.utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!a) throw new RasidError('not_found', `account ${accountId} is unknown`);
  const holders = await db
    .selectFrom('account_holders')
    .innerJoin('customers', 'customers.id', 'account_holders.customer_id')
    .select([
      'account_holders.id',
      'account_holders.customer_id',
      'customers.name',
      'account_holders.from_at',
      'account_holders.to_at',
      'account_holders.reason',
      'account_holders.evidence_ref',
      'account_holders.performed_by',
      'account_holders.subsidy_carried',
    ])
    .where('account_holders.account_id', '=', a.id)
    .orderBy('account_holders.from_at')
    .orderBy('account_holders.id')
    .execute();
  const meters = await db
    .selectFrom('meters')
    .select(['id', 'serial', 'kind'])
    .where('account_id', '=', a.id)
    .orderBy('serial')
    .execute();
  return {
    id: a.id,
    number: a.number,
    status: a.status,
    tariffCode: a.tariff_code,
    subsidyEligible: a.subsidy_eligible,
    protected: a.protected,
    debtMinor: a.debt_minor,
    balanceMinor: await accountBalance(db, a.id),
    customer: { id: a.customerId, name: a.customerName },
    premise: { id: a.premiseId, address: a.address, area: a.area },
    createdAt: a.created_at,
    holders: holders.map((h) => ({
      id: String(h.id),
      customerId: h.customer_id,
      customerName: h.name,
      fromAt: h.from_at,
      toAt: h.to_at,
      reason: h.reason,
      evidenceRef: h.evidence_ref,
      performedBy: h.performed_by,
      subsidyCarried: h.subsidy_carried,
    })),
    meters,
  };
}
