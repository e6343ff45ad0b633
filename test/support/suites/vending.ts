import { describe, expect } from 'vitest';
import {
  decodeToken,
  deriveDecoderKey,
  keyFromSections,
  meterPanFromParts,
  StsKey,
} from '../../../protocols/sts/index.ts';
import { AppError } from '../../../src/api/errors.ts';
import { accountBalance, vendorFloat } from '../../../src/store/ledger.ts';
import { type MeterId, minorUnits, type UtilityId } from '../../../src/store/schema.ts';
import { ManagementTokens } from '../../../src/vending/management.ts';
import type { DbTest } from '../db.ts';
import { METER_DRN, vendingWorld } from '../vending-fixture.ts';

async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  throw new Error('expected a refusal');
}

/** Vending scenarios (issue 3 "Done when"), written once and run on PGlite and PostgreSQL. */
export function vendingSuites(dbTest: DbTest): void {
  describe('vending', () => {
    dbTest(
      'a cash vend at a kiosk with tax, debt recovery and two tariff blocks gives the exact units and lines',
      async ({ store }) => {
        const w = await vendingWorld(store);
        const result = await w.service.vend({
          utilityId: w.utilityId,
          meter: 'jo-M-0001',
          amountMinor: 10_000n,
          channel: { kind: 'vendor', vendorId: w.vendorId, kioskId: w.kioskId },
          idempotencyKey: 'till1-0001',
          actor: `kiosk:${w.kioskId}`,
        });
        // 10.000 JOD, 16% tax inclusive: 1.379; 20% of the 8.621 net to debt: 1.724; fixed 0.500; 6.397 for
        // units: 160 kWh at 0.033 (5.280) then 15.5 kWh at 0.072 (1.116); 0.001 stays on the account.
        expect(result.receipt.lines.map((l) => [l.code, l.amount, l.units ?? null])).toEqual([
          ['amount_paid', '10.000', null],
          ['tax', '-1.379', null],
          ['debt_recovery', '-1.724', null],
          ['fixed_charge', '-0.500', null],
          ['block', '-5.280', '160.000'],
          ['block', '-1.116', '15.500'],
          ['rounding_to_account_credit', '-0.001', null],
        ]);
        expect(result.receipt.units).toEqual({ value: '175.5', unit: 'kWh', base: '175500' });
        const decoded = decodeToken(result.token!, { key: w.decoderKey, baseDate: 2014 });
        expect(decoded.ok).toBe(true);
        if (decoded.ok && decoded.token.layout === 'register') {
          expect(decoded.token.type).toBe('electricity-credit');
          expect(decoded.token.value).toBe(1755);
          expect(decoded.token.issuedAt.toISOString()).toBe('2026-11-10T09:30:00.000Z');
        }
        expect(await accountBalance(store.db, w.accountId)).toBe(1n);
        // Float 20.000 − 10.000 sold + 1.5% commission (0.150).
        expect(await vendorFloat(store.db, w.vendorId)).toBe(10_150n);
        const audit = await store.db.selectFrom('audit_log').select(['action', 'actor']).execute();
        expect(audit).toEqual([{ action: 'vend.issue', actor: `kiosk:${w.kioskId}` }]);
      },
    );

    dbTest('one idempotency key used twice, even at once, gives one token', async ({ store }) => {
      const w = await vendingWorld(store);
      const request = {
        utilityId: w.utilityId,
        meter: '60072701234567890',
        amountMinor: 5_000n,
        channel: { kind: 'vendor' as const, vendorId: w.vendorId, kioskId: w.kioskId },
        idempotencyKey: 'till1-0002',
        actor: 'kiosk:test',
      };
      const results = await Promise.all([
        w.service.vend(request),
        w.service.vend(request),
        w.service.vend(request),
      ]);
      const again = await w.service.vend(request);
      expect(new Set([...results, again].map((r) => r.vendId)).size).toBe(1);
      expect(new Set([...results, again].map((r) => r.token)).size).toBe(1);
      expect(again.replayed).toBe(true);
      const tokens = await store.db.selectFrom('tokens').select('token').execute();
      expect(tokens).toHaveLength(1);
      const payments = await store.db
        .selectFrom('account_ledger')
        .select('id')
        .where('kind', '=', 'payment')
        .execute();
      expect(payments).toHaveLength(1);
      expect(await errorCode(w.service.vend({ ...request, amountMinor: 6_000n }))).toBe(
        'idempotency_key_reused',
      );
    });

    dbTest('two vends in the same minute get different, increasing TIDs', async ({ store }) => {
      const w = await vendingWorld(store);
      const base = {
        utilityId: w.utilityId,
        meter: 'jo-M-0001',
        amountMinor: 2_000n,
        channel: { kind: 'vendor' as const, vendorId: w.vendorId, kioskId: w.kioskId },
        actor: 'kiosk:test',
      };
      await w.service.vend({ ...base, idempotencyKey: 'a' });
      await w.service.vend({ ...base, idempotencyKey: 'b' });
      const tids = (await store.db.selectFrom('tokens').select('tid').orderBy('id').execute()).map(
        (r) => r.tid,
      );
      expect(tids[1]).toBe(tids[0]! + 1);
    });

    dbTest(
      'vends of one meter at once are priced one after another: one fixed charge, every TID different',
      async ({ store }) => {
        const w = await vendingWorld(store);
        // Each vend reads its context, then writes only if the meter's state is still the one it priced
        // against; the others see the first one's rows and price again.
        const results = await Promise.all(
          ['c1', 'c2', 'c3', 'c4'].map((key) =>
            w.service.vend({
              utilityId: w.utilityId,
              meter: 'jo-M-0001',
              amountMinor: 2_000n,
              channel: { kind: 'vendor', vendorId: w.vendorId, kioskId: w.kioskId },
              idempotencyKey: key,
              actor: 'kiosk:test',
            }),
          ),
        );
        expect(results.every((r) => !r.replayed)).toBe(true);
        expect(new Set(results.map((r) => r.receipt.tid)).size).toBe(4);
        const fixed = results.flatMap((r) => r.receipt.lines.filter((l) => l.code === 'fixed_charge'));
        expect(fixed.map((l) => l.amountMinor)).toEqual(['-500']);
        const charged = await store.db
          .selectFrom('account_ledger')
          .select(['ref', 'amount_minor'])
          .where('ref', 'like', 'fixed_charge:%')
          .execute();
        expect(charged).toEqual([{ ref: 'fixed_charge:2026-11', amount_minor: -500n }]);
        // 4 × 2.000 less 1.5% commission each (0.030).
        expect(await vendorFloat(store.db, w.vendorId)).toBe(20_000n - 4n * 2_000n + 4n * 30n);
      },
    );

    dbTest('vends of two meters of one account at once take its fixed charge once', async ({ store }) => {
      const w = await vendingWorld(store);
      const meter = await store.db
        .selectFrom('meters')
        .selectAll()
        .where('id', '=', w.meterId)
        .executeTakeFirstOrThrow();
      const { id: _id, created_at: _at, mqtt_username: _user, ...columns } = meter;
      await store.db
        .insertInto('meters')
        .values({ ...columns, serial: 'jo-M-0002', sts_drn: '01234567891' })
        .execute();
      const results = await Promise.all(
        ['jo-M-0001', 'jo-M-0002'].map((serial) =>
          w.service.vend({
            utilityId: w.utilityId,
            meter: serial,
            amountMinor: 2_000n,
            channel: { kind: 'vendor', vendorId: w.vendorId, kioskId: w.kioskId },
            idempotencyKey: `two-${serial}`,
            actor: 'kiosk:test',
          }),
        ),
      );
      const fixed = results.flatMap((r) => r.receipt.lines.filter((l) => l.code === 'fixed_charge'));
      expect(fixed.map((l) => l.amountMinor)).toEqual(['-500']);
      const debt = results.flatMap((r) => r.receipt.lines.filter((l) => l.code === 'debt_recovery'));
      const recovered = await store.db
        .selectFrom('account_ledger')
        .select('amount_minor')
        .where('ref', '=', 'debt_recovery')
        .execute();
      expect(recovered.map((r) => String(r.amount_minor)).sort()).toEqual(
        debt.map((l) => l.amountMinor).sort(),
      );
    });

    dbTest('a vendor short of float is refused and nothing changes', async ({ store }) => {
      const w = await vendingWorld(store);
      // Float 20.000 + credit limit 50.000 = 70.000: 70.001 is short.
      const code = await errorCode(
        w.service.vend({
          utilityId: w.utilityId,
          meter: 'jo-M-0001',
          amountMinor: 70_001n,
          channel: { kind: 'vendor', vendorId: w.vendorId, kioskId: w.kioskId },
          idempotencyKey: 'big',
          actor: 'kiosk:test',
        }),
      );
      expect(code).toBe('insufficient_float');
      expect(await store.db.selectFrom('vends').select('id').execute()).toEqual([]);
      expect(await store.db.selectFrom('tokens').select('id').execute()).toEqual([]);
      expect(await vendorFloat(store.db, w.vendorId)).toBe(20_000n);
      expect(await accountBalance(store.db, w.accountId)).toBe(0n);
    });

    dbTest(
      'a reversal restores both ledgers and is audited; a used token cannot be reversed',
      async ({ store }) => {
        const w = await vendingWorld(store);
        const vend = (key: string) =>
          w.service.vend({
            utilityId: w.utilityId,
            meter: 'jo-M-0001',
            amountMinor: 3_000n,
            channel: { kind: 'vendor', vendorId: w.vendorId, kioskId: w.kioskId },
            idempotencyKey: key,
            actor: 'kiosk:test',
          });
        const first = await vend('r1');
        const balanceAfter = await accountBalance(store.db, w.accountId);
        const floatAfter = await vendorFloat(store.db, w.vendorId);
        expect(floatAfter).not.toBe(20_000n);
        const out = await w.service.reverse(
          w.utilityId,
          first.vendId,
          'user:operator',
          'customer paid twice',
        );
        expect(out.reversedMinor).toBe(3_000n);
        expect(await accountBalance(store.db, w.accountId)).toBe(0n);
        expect(await vendorFloat(store.db, w.vendorId)).toBe(20_000n);
        expect(balanceAfter).toBeGreaterThanOrEqual(0n);
        const status = await store.db
          .selectFrom('vends')
          .select('status')
          .where('id', '=', first.vendId)
          .executeTakeFirstOrThrow();
        expect(status.status).toBe('reversed');
        expect(await errorCode(w.service.reverse(w.utilityId, first.vendId, 'user:operator', 'again'))).toBe(
          'token_not_reversible',
        );
        const second = await vend('r2');
        await store.db
          .updateTable('tokens')
          .set({ used_at: new Date() })
          .where('vend_id', '=', second.vendId)
          .execute();
        expect(await errorCode(w.service.reverse(w.utilityId, second.vendId, 'user:operator', 'late'))).toBe(
          'token_already_used',
        );
        const actions = (await store.db.selectFrom('audit_log').select('action').orderBy('id').execute()).map(
          (a) => a.action,
        );
        expect(actions).toEqual(['vend.issue', 'vend.reverse', 'vend.issue']);
      },
    );

    dbTest('the subsidised tariff applies to an eligible account and not to others', async ({ store }) => {
      const w = await vendingWorld(store);
      const { tariff } = await import('../vending-fixture.ts');
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
      const q = (await w.service.quote(w.utilityId, 'jo-M-0001', 2_000n)).quote;
      expect(q.lines.find((l) => l.code === 'block')?.priceMinorPerKUnit).toBe(20n);
      await store.db
        .updateTable('accounts')
        .set({ subsidy_eligible: false })
        .where('id', '=', w.accountId)
        .execute();
      const q2 = (await w.service.quote(w.utilityId, 'jo-M-0001', 2_000n)).quote;
      expect(q2.lines.find((l) => l.code === 'block')?.priceMinorPerKUnit).toBe(33n);
    });

    dbTest('an amount below the minimum purchase and an unknown meter are refused', async ({ store }) => {
      const w = await vendingWorld(store);
      expect(await errorCode(w.service.quote(w.utilityId, 'jo-M-0001', 999n))).toBe('amount_too_small');
      expect(await errorCode(w.service.quote(w.utilityId, 'nope', 5000n))).toBe('not_found');
    });
  });
}

/** Management tokens and key rotation (issue 3 "the other token services"), on both databases. */
export function managementSuites(dbTest: DbTest): void {
  describe('management tokens and key change', () => {
    dbTest(
      'clear tamper, max power and an engineering token decode under the meter key and are audited',
      async ({ store }) => {
        const w = await vendingWorld(store);
        const mgmt = new ManagementTokens({
          db: store.db,
          tokens: w.service.tokens,
          keys: w.keys,
          now: () => NOW,
        });
        const tamper = await mgmt.issue({
          ...base(w),
          token: 'clear_tamper',
          value: 0,
          reason: 'cover replaced',
          engineering: false,
        });
        const power = await mgmt.issue({
          ...base(w),
          token: 'max_power',
          value: 4600,
          reason: 'contract 4.6 kW',
          engineering: false,
        });
        for (const [issued, type] of [
          [tamper, 'clear-tamper'],
          [power, 'max-power-limit'],
        ] as const) {
          const d = decodeToken(issued.token, { key: w.decoderKey, baseDate: 2014 });
          expect(d.ok && d.token.type).toBe(type);
        }
        expect(power.tid).toBe(tamper.tid + 1);
        await expect(
          mgmt.issue({ ...base(w), token: 'tariff_rate', value: 12, reason: '', engineering: true }),
        ).rejects.toThrow(/reason/);
        const eng = await mgmt.issue({
          ...base(w),
          token: 'tariff_rate',
          value: 12,
          reason: 'field test',
          engineering: true,
        });
        expect(eng.kind).toBe('engineering');
        const actions = (await store.db.selectFrom('audit_log').select('action').orderBy('id').execute()).map(
          (a) => a.action,
        );
        expect(actions).toEqual(['token.clear_tamper', 'token.max_power', 'token.engineering']);
      },
    );

    dbTest(
      'a meter on base date 1993, whose TIDs ran out in 2024, is refused with a clear error, not a fault',
      async ({ store }) => {
        const w = await vendingWorld(store);
        await store.db
          .updateTable('meters')
          .set({ sts_base_date: '1993-01-01' })
          .where('id', '=', w.meterId)
          .execute();
        const mgmt = new ManagementTokens({
          db: store.db,
          tokens: w.service.tokens,
          keys: w.keys,
          now: () => NOW,
        });
        await expect(
          mgmt.issue({
            ...base(w),
            token: 'clear_tamper',
            value: 0,
            reason: 'cover replaced',
            engineering: false,
          }),
        ).rejects.toMatchObject({ code: 'meter_not_vendable', detail: expect.stringMatching(/TID range/) });
        expect(await store.db.selectFrom('tokens').select('id').execute()).toEqual([]);
      },
    );

    dbTest(
      'a key change gives the pair under the old key, and the next vend is under the new key',
      async ({ store }) => {
        const w = await vendingWorld(store);
        await w.keys.put({
          utilityId: w.utilityId,
          sgc: 123456,
          krn: 2,
          key: Buffer.from('0123456789abcdef', 'hex'),
        });
        const mgmt = new ManagementTokens({
          db: store.db,
          tokens: w.service.tokens,
          keys: w.keys,
          now: () => NOW,
        });
        const { tokens } = await mgmt.keyChange({
          ...base(w),
          newKrn: 2,
          rollover: false,
          reason: 'annual rotation',
        });
        const first = decodeToken(tokens[0], { key: w.decoderKey });
        const second = decodeToken(tokens[1], { key: w.decoderKey });
        expect(first.ok && first.token.layout).toBe('key-change-1');
        expect(second.ok && second.token.layout).toBe('key-change-2');
        const newKey = deriveDecoderKey(StsKey.fromHex('0123456789abcdef'), {
          pan: meterPanFromParts('600727', METER_DRN),
          keyType: 2,
          supplyGroupCode: '123456',
          tariffIndex: 1,
          keyRevision: 2,
        });
        if (
          first.ok &&
          second.ok &&
          first.token.layout === 'key-change-1' &&
          second.token.layout === 'key-change-2'
        ) {
          expect(keyFromSections(first.token, second.token).toHex()).toBe(newKey.toHex());
          expect(first.token.keyRevision).toBe(2);
        }
        const vend = await w.service.vend({
          utilityId: w.utilityId,
          meter: 'jo-M-0001',
          amountMinor: 2_000n,
          channel: { kind: 'vendor', vendorId: w.vendorId, kioskId: w.kioskId },
          idempotencyKey: 'after-kc',
          actor: 'kiosk:test',
        });
        expect(decodeToken(vend.token!, { key: newKey, baseDate: 2014 }).ok).toBe(true);
        expect(decodeToken(vend.token!, { key: w.decoderKey, baseDate: 2014 }).ok).toBe(false);
        await expect(
          mgmt.keyChange({ ...base(w), newKrn: 3, rollover: false, reason: 'no key' }),
        ).rejects.toThrow(/no vending key/);
      },
    );
  });
}

const NOW = new Date('2026-11-10T09:30:00Z');
function base(w: { utilityId: UtilityId; meterId: MeterId }) {
  return { utilityId: w.utilityId, meterId: w.meterId, actor: 'user:technician' };
}
