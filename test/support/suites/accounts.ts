import { describe, expect, test } from 'vitest';
import { openAccount, updateAccount } from '../../../src/accounts/accounts.ts';
import { listAudit } from '../../../src/accounts/audit.ts';
import { subsidyCarries, TRANSFER_REASONS, type TransferReason } from '../../../src/accounts/subsidy.ts';
import { type TransferRequest, transferAccount } from '../../../src/accounts/transfer.ts';
import { AppError } from '../../../src/api/errors.ts';
import type { Store } from '../../../src/store/db.ts';
import {
  type AccountId,
  type CustomerId,
  type Language,
  minorUnits,
  type UserId,
} from '../../../src/store/schema.ts';
import type { DbTest } from '../db.ts';
import { tariff, type VendingWorld, vendingWorld } from '../vending-fixture.ts';

async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  throw new Error('expected a refusal');
}

// After the rows' real creation time (the database's now()), so the history reads forwards.
const TRANSFER_AT = new Date('2030-03-10T09:30:00Z');
const operator = { actor: 'user:operator', userId: null };

/** The vending world plus the subsidised variant of its tariff (0.020 instead of 0.033 a kWh in block 1). */
async function subsidisedWorld(store: Store): Promise<VendingWorld> {
  const w = await vendingWorld(store, { now: TRANSFER_AT });
  await tariff(store.db, w.utilityId, {
    code: 'RES-SUB',
    subsidised: true,
    blocks: [
      { upToUnits: 160_000, priceMinorPerUnit: 20 },
      { upToUnits: null, priceMinorPerUnit: 72 },
    ],
  });
  await store.db
    .updateTable('accounts')
    .set({ debt_minor: minorUnits(0n) })
    .where('id', '=', w.accountId)
    .execute();
  return w;
}

/** The first-block price the vending quote uses for the world's meter, in minor units per kWh. */
async function blockPrice(w: VendingWorld): Promise<bigint | undefined> {
  const { quote } = await w.service.quote(w.utilityId, 'jo-M-0001', 2_000n);
  return quote.lines.find((l) => l.code === 'block')?.priceMinorPerKUnit;
}

async function customer(
  store: Store,
  w: VendingWorld,
  name: string,
  contact: { phone?: string; email?: string; language?: Language } = {},
): Promise<CustomerId> {
  const row = await store.db
    .insertInto('customers')
    .values({
      utility_id: w.utilityId,
      name,
      phone: contact.phone ?? null,
      email: contact.email ?? null,
      preferred_language: contact.language ?? 'ar',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

function transfer(
  w: VendingWorld,
  to: CustomerId,
  reason: TransferReason,
  extra: Partial<TransferRequest> = {},
): TransferRequest {
  return {
    utilityId: w.utilityId,
    accountId: w.accountId,
    toCustomerId: to,
    reason,
    evidenceRef: `DOC-${reason}-1`,
    performedBy: null,
    actor: 'user:service-agent',
    ...extra,
  };
}

/** Account transfers and the subsidy rule (issue 3 "Done when"), written once, run on PGlite and PostgreSQL. */
export function accountSuites(dbTest: DbTest): void {
  describe('the subsidy rule', () => {
    const cases: { eligible: boolean; reason: TransferReason; other: boolean; carries: boolean }[] = [
      ...TRANSFER_REASONS.map((reason) => ({
        eligible: true,
        reason,
        other: false,
        carries: reason === 'death' || reason === 'inheritance',
      })),
      { eligible: false, reason: 'death', other: false, carries: false },
      { eligible: true, reason: 'inheritance', other: true, carries: false },
      { eligible: false, reason: 'sale', other: true, carries: false },
    ];
    test.each(cases)('eligible=$eligible reason=$reason heir has another=$other → $carries', (c) => {
      expect(
        subsidyCarries({ eligible: c.eligible, reason: c.reason, heirHasOtherSubsidisedAccount: c.other }),
      ).toBe(c.carries);
    });
  });

  describe('account transfer', () => {
    dbTest('a transfer to an heir keeps the subsidised tariff where eligible', async ({ store }) => {
      const w = await subsidisedWorld(store);
      expect(await blockPrice(w)).toBe(20n);
      const heir = await customer(store, w, 'Sami Haddad', { phone: '+962790000002', language: 'en' });

      const out = await transferAccount(store.db, transfer(w, heir, 'death'), () => TRANSFER_AT);

      expect(out).toMatchObject({ subsidyWasEligible: true, subsidyCarried: true, toCustomerId: heir });
      expect(out.fromCustomerId).toBe(w.customerId);
      // The vending quote still prices the first block at the subsidised 0.020.
      expect(await blockPrice(w)).toBe(20n);
      const account = await store.db
        .selectFrom('accounts')
        .select(['customer_id', 'subsidy_eligible'])
        .where('id', '=', w.accountId)
        .executeTakeFirstOrThrow();
      expect(account).toEqual({ customer_id: heir, subsidy_eligible: true });

      // History: the seeded holding (recorded now, closed at the transfer) and the heir's, open.
      const holders = await store.db
        .selectFrom('account_holders')
        .select(['customer_id', 'from_at', 'to_at', 'reason', 'evidence_ref', 'subsidy_carried'])
        .where('account_id', '=', w.accountId)
        .orderBy('id')
        .execute();
      expect(holders).toHaveLength(2);
      expect(holders[0]).toMatchObject({ customer_id: w.customerId, reason: 'opening', to_at: out.at });
      expect(holders[1]).toEqual({
        customer_id: heir,
        from_at: out.at,
        to_at: null,
        reason: 'death',
        evidence_ref: 'DOC-death-1',
        subsidy_carried: true,
      });

      const audit = await listAudit(store.db, {
        utilityId: w.utilityId,
        action: 'account.transfer',
        limit: 10,
      });
      expect(audit.entries).toHaveLength(1);
      expect(audit.entries[0]).toMatchObject({
        actor: 'user:service-agent',
        subject: `account:${w.accountId}`,
        details: { reason: 'death', evidenceRef: 'DOC-death-1', subsidyCarried: true, toCustomerId: heir },
      });

      const outbox = await store.db
        .selectFrom('notifications_outbox')
        .select(['channel', 'recipient', 'template', 'language', 'payload', 'state'])
        .execute();
      expect(outbox).toEqual([
        {
          channel: 'sms',
          recipient: '+962790000002',
          template: 'account_transfer',
          language: 'en',
          payload: {
            customerName: 'Sami Haddad',
            accountNumber: 'jo-0001',
            reason: 'death',
            subsidyCarried: true,
            at: out.at.toISOString(),
          },
          state: 'pending',
        },
      ]);
    });

    dbTest('a transfer for another reason (sale) loses the subsidy', async ({ store }) => {
      const w = await subsidisedWorld(store);
      const buyer = await customer(store, w, 'Lina Nasser', { email: 'lina@example.com' });

      const out = await transferAccount(store.db, transfer(w, buyer, 'sale'), () => TRANSFER_AT);

      expect(out).toMatchObject({ subsidyWasEligible: true, subsidyCarried: false });
      expect(await blockPrice(w)).toBe(33n);
      const account = await store.db
        .selectFrom('accounts')
        .select('subsidy_eligible')
        .where('id', '=', w.accountId)
        .executeTakeFirstOrThrow();
      expect(account.subsidy_eligible).toBe(false);
      // No phone: the notice goes by e-mail, in the buyer's language.
      const outbox = await store.db
        .selectFrom('notifications_outbox')
        .select(['channel', 'recipient', 'language'])
        .execute();
      expect(outbox).toEqual([{ channel: 'email', recipient: 'lina@example.com', language: 'ar' }]);
      // The account keeps its meters and its ledger: a vend still works for the new holder.
      const sale = await w.service.vend({
        utilityId: w.utilityId,
        meter: 'jo-M-0001',
        amountMinor: 2_000n,
        channel: { kind: 'vendor', vendorId: w.vendorId, kioskId: w.kioskId },
        idempotencyKey: 'after-sale-1',
        actor: 'kiosk:test',
      });
      expect(sale.token).toMatch(/^\d{20}$/);
    });

    dbTest('an heir who already holds a subsidised account does not take a second one', async ({ store }) => {
      const w = await subsidisedWorld(store);
      const heir = await customer(store, w, 'Sami Haddad');
      await store.db
        .insertInto('accounts')
        .values({
          utility_id: w.utilityId,
          number: 'jo-0002',
          customer_id: heir,
          premise_id: w.premiseId,
          subsidy_eligible: true,
        })
        .execute();

      const out = await transferAccount(store.db, transfer(w, heir, 'inheritance'), () => TRANSFER_AT);

      expect(out.subsidyCarried).toBe(false);
      expect(await blockPrice(w)).toBe(33n);
      // No phone and no e-mail: nobody to notify.
      expect(out.notificationId).toBeNull();
      expect(await store.db.selectFrom('notifications_outbox').select('id').execute()).toEqual([]);
    });

    dbTest('two inheritances to one heir at once: only one keeps the subsidy', async ({ store }) => {
      const w = await subsidisedWorld(store);
      const heir = await customer(store, w, 'Sami Haddad');
      const second = await store.db
        .insertInto('accounts')
        .values({
          utility_id: w.utilityId,
          number: 'jo-0002',
          customer_id: w.customerId,
          premise_id: w.premiseId,
          subsidy_eligible: true,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const results = await Promise.all([
        transferAccount(store.db, transfer(w, heir, 'death'), () => TRANSFER_AT),
        transferAccount(store.db, transfer(w, heir, 'death', { accountId: second.id }), () => TRANSFER_AT),
      ]);
      expect(results.map((r) => r.subsidyCarried).sort()).toEqual([false, true]);
      const eligible = await store.db
        .selectFrom('accounts')
        .select('id')
        .where('customer_id', '=', heir)
        .where('subsidy_eligible', '=', true)
        .execute();
      expect(eligible).toHaveLength(1);
    });

    dbTest('a second transfer closes the first: one current holder, history in order', async ({ store }) => {
      const w = await subsidisedWorld(store);
      const heir = await customer(store, w, 'Sami Haddad');
      const buyer = await customer(store, w, 'Lina Nasser');
      const later = new Date(TRANSFER_AT.getTime() + 86_400_000);
      await transferAccount(store.db, transfer(w, heir, 'inheritance'), () => TRANSFER_AT);
      await transferAccount(store.db, transfer(w, buyer, 'sale', { performedBy: null }), () => later);
      const rows = await store.db
        .selectFrom('account_holders')
        .select(['customer_id', 'to_at', 'reason', 'subsidy_carried'])
        .where('account_id', '=', w.accountId)
        .orderBy('from_at')
        .orderBy('id')
        .execute();
      expect(
        rows.map((r) => [r.customer_id, r.reason, r.to_at?.toISOString() ?? null, r.subsidy_carried]),
      ).toEqual([
        [w.customerId, 'opening', TRANSFER_AT.toISOString(), false],
        [heir, 'inheritance', later.toISOString(), true],
        [buyer, 'sale', null, false],
      ]);
    });

    dbTest('refusals change nothing', async ({ store }) => {
      const w = await subsidisedWorld(store);
      const other = await vendingWorld(store, { code: 'om' });
      const stranger = await customer(store, other, 'Other utility');
      const cases: [TransferRequest, string][] = [
        [transfer(w, w.customerId, 'death'), 'transfer_not_allowed'],
        [transfer(w, '00000000-0000-4000-8000-000000000000' as CustomerId, 'death'), 'not_found'],
        [transfer(w, stranger, 'death'), 'not_found'],
        [transfer(w, stranger, 'death', { accountId: other.accountId }), 'not_found'],
      ];
      for (const [req, code] of cases) {
        expect(await errorCode(transferAccount(store.db, req, () => TRANSFER_AT))).toBe(code);
      }
      await store.db
        .updateTable('accounts')
        .set({ status: 'closed' })
        .where('id', '=', w.accountId)
        .execute();
      const heir = await customer(store, w, 'Sami Haddad');
      expect(await errorCode(transferAccount(store.db, transfer(w, heir, 'death')))).toBe(
        'transfer_not_allowed',
      );
      expect(await store.db.selectFrom('account_holders').select('id').execute()).toEqual([]);
      expect(await store.db.selectFrom('audit_log').select('id').execute()).toEqual([]);
      expect(await store.db.selectFrom('notifications_outbox').select('id').execute()).toEqual([]);
    });
  });

  describe('accounts', () => {
    dbTest('opening an account records its first holder and an audit row', async ({ store }) => {
      const w = await subsidisedWorld(store);
      const by = { actor: 'user:someone', userId: null as UserId | null };
      const heir = await customer(store, w, 'Sami Haddad');
      const id = await openAccount(
        store.db,
        { utilityId: w.utilityId, customerId: heir, premiseId: w.premiseId, number: 'jo-0100' },
        by,
        () => TRANSFER_AT,
      );
      const holders = await store.db
        .selectFrom('account_holders')
        .select(['customer_id', 'from_at', 'to_at', 'reason'])
        .where('account_id', '=', id)
        .execute();
      expect(holders).toEqual([{ customer_id: heir, from_at: TRANSFER_AT, to_at: null, reason: 'opening' }]);
      expect(
        await errorCode(
          openAccount(
            store.db,
            { utilityId: w.utilityId, customerId: heir, premiseId: w.premiseId, number: 'jo-0100' },
            by,
          ),
        ),
      ).toBe('conflict');
      // Generated numbers are unique too.
      const generated = await openAccount(
        store.db,
        { utilityId: w.utilityId, customerId: heir, premiseId: w.premiseId },
        by,
      );
      expect(generated).not.toBe(id);
      const actions = (await listAudit(store.db, { utilityId: w.utilityId, limit: 10 })).entries.map(
        (e) => e.action,
      );
      expect(actions).toEqual(['account.create', 'account.create']);
    });

    dbTest(
      'each change of flags is audited with before and after; a second subsidy is refused',
      async ({ store }) => {
        const w = await subsidisedWorld(store);
        const diff = await updateAccount(
          store.db,
          w.utilityId,
          w.accountId,
          { protected: true, status: 'suspended', tariffCode: 'RES' },
          operator,
        );
        expect(diff).toEqual({
          status: { from: 'active', to: 'suspended' },
          protected: { from: false, to: true },
          tariffCode: { from: null, to: 'RES' },
        });
        expect(
          await updateAccount(store.db, w.utilityId, w.accountId, { protected: true }, operator),
        ).toEqual({});
        expect(
          await errorCode(
            updateAccount(store.db, w.utilityId, w.accountId, { tariffCode: 'NOPE' }, operator),
          ),
        ).toBe('validation_failed');
        const second = await store.db
          .insertInto('accounts')
          .values({
            utility_id: w.utilityId,
            number: 'jo-0002',
            customer_id: w.customerId,
            premise_id: w.premiseId,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        expect(
          await errorCode(
            updateAccount(store.db, w.utilityId, second.id as AccountId, { subsidyEligible: true }, operator),
          ),
        ).toBe('subsidy_not_allowed');
        const audit = await listAudit(store.db, {
          utilityId: w.utilityId,
          subject: `account:${w.accountId}`,
          limit: 10,
        });
        expect(audit.entries.map((e) => [e.action, e.actor])).toEqual([['account.update', 'user:operator']]);
        expect(audit.entries[0]?.details).toEqual({ changes: diff });
      },
    );

    dbTest('the audit log pages newest first and filters by action prefix and date', async ({ store }) => {
      const w = await subsidisedWorld(store);
      for (const flag of [true, false, true]) {
        await updateAccount(store.db, w.utilityId, w.accountId, { protected: flag }, operator);
      }
      const heir = await customer(store, w, 'Sami Haddad');
      await transferAccount(store.db, transfer(w, heir, 'death'), () => TRANSFER_AT);
      const first = await listAudit(store.db, { utilityId: w.utilityId, action: 'account.*', limit: 3 });
      expect(first.entries.map((e) => e.action)).toEqual([
        'account.transfer',
        'account.update',
        'account.update',
      ]);
      expect(first.next).not.toBeNull();
      const second = await listAudit(store.db, {
        utilityId: w.utilityId,
        action: 'account.*',
        limit: 3,
        before: BigInt(first.next!),
      });
      expect(second.entries.map((e) => e.action)).toEqual(['account.update']);
      expect(second.next).toBeNull();
      const future = await listAudit(store.db, {
        utilityId: w.utilityId,
        from: new Date(Date.now() + 3_600_000),
        limit: 10,
      });
      expect(future.entries).toEqual([]);
      const other = await listAudit(store.db, {
        utilityId: w.utilityId,
        action: 'account.transfe',
        limit: 10,
      });
      expect(other.entries).toEqual([]);
    });
  });
}
