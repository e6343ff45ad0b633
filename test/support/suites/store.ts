import { inspect } from 'node:util';
import { sql } from 'kysely';
import { Migrator, NO_MIGRATIONS } from 'kysely/migration';
import { describe, expect } from 'vitest';
import { createKeyStore, KeyStoreError } from '../../../src/store/keystore.ts';
import { accountBalance, vendorFloat } from '../../../src/store/ledger.ts';
import {
  appliedMigrations,
  FolderMigrationProvider,
  listMigrationFiles,
  migrateToLatest,
  storeFeatures,
} from '../../../src/store/migrate.ts';
import {
  type JsonText,
  jsonText,
  type MeterId,
  minorUnits,
  type TariffBlock,
} from '../../../src/store/schema.ts';
import { type DbTest, seedBasics } from '../db.ts';

/** Resolves to the SQLSTATE of the database error the promise rejects with (PGlite and pg both set `code`). */
async function sqlState(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return String((error as { code?: unknown }).code);
  }
  throw new Error('expected the statement to be refused');
}

const UNIQUE_VIOLATION = '23505';
const RESTRICT_VIOLATION = '23001';

export function migrationSuite(dbTest: DbTest): void {
  describe('migrations', () => {
    dbTest('every migration file is applied, and the timescale path is recorded', async ({ store }) => {
      const files = (await listMigrationFiles()).map((file) => file.replace(/\.ts$/, ''));
      expect(files.slice(0, 2)).toEqual(['0001_core', '0002_readings_rollups']);
      expect(await appliedMigrations(store.db)).toEqual(files);
      expect(await storeFeatures(store.db)).toEqual({ timescaledb: store.timescale });
      const feature = await store.db
        .selectFrom('store_features')
        .selectAll()
        .where('name', '=', 'timescaledb')
        .executeTakeFirstOrThrow();
      expect(feature.detail).toMatch(store.timescale ? /hypertable/ : /plain views/);
    });

    dbTest('migrating again is a no-op', async ({ store }) => {
      const outcome = await migrateToLatest(store.db);
      expect(outcome).toEqual({ results: [] });
    });

    dbTest('every migration goes down and up again on this dialect', async ({ store }) => {
      const migrator = new Migrator({ db: store.db, provider: new FolderMigrationProvider() });
      const down = await migrator.migrateTo(NO_MIGRATIONS);
      expect(down.error).toBeUndefined();
      const names = (await listMigrationFiles()).map((file) => file.replace(/\.ts$/, ''));
      expect(names.slice(0, 2)).toEqual(['0001_core', '0002_readings_rollups']);
      expect(down.results?.map((result) => [result.migrationName, result.direction, result.status])).toEqual(
        [...names].reverse().map((name) => [name, 'Down', 'Success']),
      );
      const { rows: left } = await sql<{ table_name: string }>`
        select table_name from information_schema.tables
        where table_schema = 'public' and table_name not like 'kysely_%'
      `.execute(store.db);
      expect(left).toEqual([]);

      const up = await migrateToLatest(store.db);
      expect(up.error).toBeUndefined();
      expect(up.results.map((result) => [result.migrationName, result.status])).toEqual(
        names.map((name) => [name, 'Success']),
      );
    });

    dbTest(
      'a failing migration is reported per migration, not thrown, and nothing is applied',
      async ({ store }) => {
        const migrator = new Migrator({ db: store.db, provider: new FolderMigrationProvider() });
        await migrator.migrateTo(NO_MIGRATIONS);
        // The schema is gone; an extra table named like one the core migration creates makes it fail.
        await sql`create table meters (id int)`.execute(store.db);
        const outcome = await migrateToLatest(store.db);
        expect(outcome.error).toBeInstanceOf(Error);
        const names = (await listMigrationFiles()).map((file) => file.replace(/\.ts$/, ''));
        expect(outcome.results.map((result) => [result.migrationName, result.status])).toEqual(
          names.map((name, i) => [name, i === 0 ? 'Error' : 'NotExecuted']),
        );
        expect(await appliedMigrations(store.db)).toEqual([]);
        const { rows } = await sql<{ n: bigint }>`
        select count(*)::int8 as n from information_schema.tables where table_name = 'utilities'
      `.execute(store.db);
        expect(rows).toEqual([{ n: 0n }]);
      },
    );
  });
}

export function typesSuite(dbTest: DbTest): void {
  describe('value types are the same on both dialects', () => {
    dbTest('int8 is bigint, date is YYYY-MM-DD, int[] is numbers, jsonb is objects', async ({ store }) => {
      const seed = await seedBasics(store.db);
      const huge = minorUnits(9_007_199_254_740_993n); // 2^53 + 1: not representable as a JS number
      await store.db
        .insertInto('account_ledger')
        .values({
          utility_id: seed.utilityId,
          account_id: seed.accountId,
          kind: 'adjustment',
          amount_minor: huge,
        })
        .execute();
      const entry = await store.db
        .selectFrom('account_ledger')
        .select(['id', 'amount_minor', 'created_at'])
        .executeTakeFirstOrThrow();
      expect(entry.amount_minor).toBe(9_007_199_254_740_993n);
      expect(typeof entry.id).toBe('bigint');
      expect(entry.created_at).toBeInstanceOf(Date);

      const meter = await store.db
        .selectFrom('meters')
        .select(['sts_base_date', 'sts_sgc'])
        .where('id', '=', seed.meterId)
        .executeTakeFirstOrThrow();
      expect(meter).toEqual({ sts_base_date: '1993-01-01', sts_sgc: 123456 });

      const utility = await store.db
        .selectFrom('utilities')
        .select(['weekend_days', 'currency_exponent'])
        .executeTakeFirstOrThrow();
      expect(utility).toEqual({ weekend_days: [5, 6], currency_exponent: 3 });

      const { rows } = await sql<{ list: bigint[]; doc: unknown; bytes: Buffer }>`
        select array[1, -2]::int8[] as list, '{"a": [1, "x"]}'::jsonb as doc, '\\x00ff'::bytea as bytes
      `.execute(store.db);
      expect(rows[0]?.list).toEqual([1n, -2n]);
      expect(rows[0]?.doc).toEqual({ a: [1, 'x'] });
      expect(Buffer.isBuffer(rows[0]?.bytes)).toBe(true);
      expect(rows[0]?.bytes.toString('hex')).toBe('00ff');
    });

    dbTest('jsonb arrays go in as JSON text and come out as arrays', async ({ store }) => {
      const seed = await seedBasics(store.db);
      const blocks: TariffBlock[] = [
        { upToUnits: 160_000, priceMinorPerUnit: 33 },
        { upToUnits: null, priceMinorPerUnit: 72 },
      ];
      const tariff = {
        utility_id: seed.utilityId,
        code: 'RES',
        name: 'Residential',
        kind: 'electricity',
        version: 1,
        effective_from: new Date('2026-01-01T00:00:00Z'),
        currency: 'JOD',
        fixed_monthly_minor: minorUnits(1_500n),
        tax_rate_bp: 1600,
        debt_recovery_bp: 2500,
        min_purchase_minor: minorUnits(1_000n),
        unit: 'Wh',
      } as const;
      await store.db
        .insertInto('tariffs')
        .values({ ...tariff, blocks: jsonText(blocks), tou: null })
        .execute();
      // @ts-expect-error a bare array would reach pg as a Postgres array literal, not JSON.
      const bare = store.db.insertInto('tariffs').values({ ...tariff, version: 2, blocks });
      expect(bare.compile().parameters).toContain(blocks);

      const row = await store.db
        .selectFrom('tariffs')
        .select(['blocks', 'tou', 'price_per_units', 'subsidised', 'fixed_monthly_minor'])
        .executeTakeFirstOrThrow();
      expect(row).toEqual({
        blocks,
        tou: null,
        price_per_units: 1000,
        subsidised: false,
        fixed_monthly_minor: 1_500n,
      });
      expect(
        await sqlState(
          store.db
            .insertInto('tariffs')
            .values({ ...tariff, version: 3, blocks: jsonText([]) as JsonText<TariffBlock[]> })
            .execute(),
        ),
      ).toBe('23514');
    });

    dbTest('updates report affected rows', async ({ store }) => {
      const seed = await seedBasics(store.db);
      const result = await store.db
        .updateTable('meters')
        .set({ online: true, last_seen_at: new Date('2026-01-01T00:00:00Z') })
        .where('utility_id', '=', seed.utilityId)
        .executeTakeFirst();
      expect(result.numUpdatedRows).toBe(1n);
    });

    dbTest('concurrent transactions each see only their own rows until commit', async ({ store }) => {
      const seed = await seedBasics(store.db);
      const entry = (amount: bigint) => ({
        utility_id: seed.utilityId,
        account_id: seed.accountId,
        kind: 'payment' as const,
        amount_minor: minorUnits(amount),
      });
      const results = await Promise.allSettled([
        store.db.transaction().execute(async (trx) => {
          await trx.insertInto('account_ledger').values(entry(100n)).execute();
          return accountBalance(trx, seed.accountId);
        }),
        store.db.transaction().execute(async (trx) => {
          await trx.insertInto('account_ledger').values(entry(5n)).execute();
          throw new Error('abandon');
        }),
        store.db.transaction().execute(async (trx) => {
          await trx.insertInto('account_ledger').values(entry(20n)).execute();
          return accountBalance(trx, seed.accountId);
        }),
      ]);
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const balances = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      // Each committed transaction saw its own row; whether it saw the other depends on scheduling.
      expect(balances[0] === 100n || balances[0] === 120n).toBe(true);
      expect(balances[1] === 20n || balances[1] === 120n).toBe(true);
      expect(await accountBalance(store.db, seed.accountId)).toBe(120n);
    });
  });
}

export function ledgerSuite(dbTest: DbTest): void {
  describe('ledgers are append-only', () => {
    dbTest('the kysely type refuses an update and the database refuses it too', async ({ store }) => {
      const seed = await seedBasics(store.db);
      await store.db
        .insertInto('account_ledger')
        .values({
          utility_id: seed.utilityId,
          account_id: seed.accountId,
          kind: 'payment',
          amount_minor: minorUnits(5_000n),
          ref: 'cash',
        })
        .execute();

      const update = store.db
        .updateTable('account_ledger')
        // @ts-expect-error amount_minor is ColumnType<…, …, never>: a ledger row cannot be updated.
        .set({ amount_minor: minorUnits(1n) })
        .where('account_id', '=', seed.accountId);
      expect(update.compile().sql).toBe(
        'update "account_ledger" set "amount_minor" = $1 where "account_id" = $2',
      );
      expect(await sqlState(update.execute())).toBe(RESTRICT_VIOLATION);

      expect(
        await sqlState(
          store.db.deleteFrom('account_ledger').where('account_id', '=', seed.accountId).execute(),
        ),
      ).toBe(RESTRICT_VIOLATION);
      expect(await sqlState(sql`truncate account_ledger`.execute(store.db))).toBe(RESTRICT_VIOLATION);

      const rows = await store.db
        .selectFrom('account_ledger')
        .select(['kind', 'amount_minor', 'ref'])
        .execute();
      expect(rows).toEqual([{ kind: 'payment', amount_minor: 5_000n, ref: 'cash' }]);
    });

    dbTest('vendor ledger and audit log refuse UPDATE and DELETE', async ({ store }) => {
      const seed = await seedBasics(store.db);
      await store.db
        .insertInto('vendor_ledger')
        .values({
          utility_id: seed.utilityId,
          vendor_id: seed.vendorId,
          kind: 'float_topup',
          amount_minor: minorUnits(10_000n),
        })
        .execute();
      await store.db
        .insertInto('audit_log')
        .values({
          utility_id: seed.utilityId,
          actor: 'user:test',
          action: 'vendor.float_topup',
          subject: `vendor:${seed.vendorId}`,
          details: { amount: '10000' },
        })
        .execute();

      const error = await store.db
        .updateTable('vendor_ledger')
        // @ts-expect-error kind is ColumnType<…, …, never>.
        .set({ kind: 'adjustment' })
        .execute()
        .catch((caught: unknown) => caught);
      expect(String((error as Error).message)).toContain('vendor_ledger is append-only; UPDATE refused');

      for (const statement of [
        sql`update vendor_ledger set amount_minor = 1`,
        sql`delete from vendor_ledger`,
        sql`update audit_log set action = 'nothing happened'`,
        sql`delete from audit_log`,
        sql`truncate audit_log`,
      ]) {
        expect(await sqlState(statement.execute(store.db))).toBe(RESTRICT_VIOLATION);
      }
      expect(await store.db.selectFrom('vendor_ledger').select(['kind', 'amount_minor']).execute()).toEqual([
        { kind: 'float_topup', amount_minor: 10_000n },
      ]);
      expect(await store.db.selectFrom('audit_log').select(['action', 'details']).execute()).toEqual([
        { action: 'vendor.float_topup', details: { amount: '10000' } },
      ]);
    });

    dbTest('balances are derived from the ledgers', async ({ store }) => {
      const seed = await seedBasics(store.db);
      const other = await seedBasics(store.db, 'other');
      expect(await accountBalance(store.db, seed.accountId)).toBe(0n);
      expect(await vendorFloat(store.db, seed.vendorId)).toBe(0n);

      const account = (kind: 'payment' | 'vend' | 'reversal' | 'charge', amount: bigint) => ({
        utility_id: seed.utilityId,
        account_id: seed.accountId,
        kind,
        amount_minor: minorUnits(amount),
      });
      await store.db
        .insertInto('account_ledger')
        .values([
          account('payment', 10_000n),
          account('vend', -9_250n),
          account('charge', -500n),
          account('reversal', 9_250n),
          { ...account('payment', 777n), utility_id: other.utilityId, account_id: other.accountId },
        ])
        .execute();
      expect(await accountBalance(store.db, seed.accountId)).toBe(9_500n);
      expect(await accountBalance(store.db, other.accountId)).toBe(777n);

      const vendor = (kind: 'float_topup' | 'vend' | 'commission', amount: bigint) => ({
        utility_id: seed.utilityId,
        vendor_id: seed.vendorId,
        kiosk_id: seed.kioskId,
        kind,
        amount_minor: minorUnits(amount),
      });
      await store.db
        .insertInto('vendor_ledger')
        .values([vendor('float_topup', 100_000n), vendor('vend', -10_000n), vendor('commission', 150n)])
        .execute();
      expect(await vendorFloat(store.db, seed.vendorId)).toBe(90_150n);
      expect(await vendorFloat(store.db, other.vendorId)).toBe(0n);
    });
  });
}

export function constraintsSuite(dbTest: DbTest): void {
  describe('unique constraints', () => {
    dbTest('an idempotency key is unique per utility', async ({ store }) => {
      const seed = await seedBasics(store.db);
      const other = await seedBasics(store.db, 'other');
      const vend = (s: typeof seed, key: string) => ({
        utility_id: s.utilityId,
        meter_id: s.meterId,
        account_id: s.accountId,
        channel: 'vendor' as const,
        vendor_id: s.vendorId,
        kiosk_id: s.kioskId,
        idempotency_key: key,
        request_hash: 'h1',
        amount_paid_minor: minorUnits(10_000n),
        units: 55_500n,
        token: '12345678901234567890',
        tid: 1_000,
        receipt: { lines: [] },
      });
      await store.db.insertInto('vends').values(vend(seed, 'req-1')).execute();
      expect(await sqlState(store.db.insertInto('vends').values(vend(seed, 'req-1')).execute())).toBe(
        UNIQUE_VIOLATION,
      );
      await store.db.insertInto('vends').values(vend(other, 'req-1')).execute();
      // The retry path: the existing vend is found by its key and returned.
      const again = await store.db
        .insertInto('vends')
        .values(vend(seed, 'req-1'))
        .onConflict((conflict) => conflict.columns(['utility_id', 'idempotency_key']).doNothing())
        .returning('id')
        .execute();
      expect(again).toEqual([]);
      const rows = await store.db.selectFrom('vends').select(['utility_id', 'idempotency_key']).execute();
      expect(rows).toHaveLength(2);
    });

    dbTest('a TID is unique per meter', async ({ store }) => {
      const seed = await seedBasics(store.db);
      const other = await store.db
        .insertInto('meters')
        .values({
          utility_id: seed.utilityId,
          serial: 'M-2',
          kind: 'water',
          protocol: 'modbus',
          mode: 'central',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const token = (meterId: MeterId, tid: number, digits: string) => ({
        utility_id: seed.utilityId,
        meter_id: meterId,
        tid,
        kind: 'credit' as const,
        token: digits,
      });
      await store.db
        .insertInto('tokens')
        .values(token(seed.meterId, 4_000_000, '11112222333344445555'))
        .execute();
      expect(
        await sqlState(
          store.db
            .insertInto('tokens')
            .values(token(seed.meterId, 4_000_000, '99998888777766665555'))
            .execute(),
        ),
      ).toBe(UNIQUE_VIOLATION);
      await store.db
        .insertInto('tokens')
        .values(token(seed.meterId, 4_000_001, '99998888777766665555'))
        .execute();
      await store.db
        .insertInto('tokens')
        .values(token(other.id, 4_000_000, '99998888777766665555'))
        .execute();
      const rows = await store.db
        .selectFrom('tokens')
        .select(['meter_id', 'tid'])
        .orderBy('meter_id')
        .orderBy('tid')
        .execute();
      expect(rows).toHaveLength(3);
      expect(rows.filter((row) => row.meter_id === seed.meterId).map((row) => row.tid)).toEqual([
        4_000_000, 4_000_001,
      ]);
    });

    dbTest('meter serials are unique per utility; payment events once per provider', async ({ store }) => {
      const seed = await seedBasics(store.db);
      const meter = { utility_id: seed.utilityId, kind: 'water', protocol: 'mqtt', mode: 'central' } as const;
      expect(
        await sqlState(
          store.db
            .insertInto('meters')
            .values({ ...meter, serial: 'demo-M-0001' })
            .execute(),
        ),
      ).toBe(UNIQUE_VIOLATION);
      const event = { provider: 'stripe', event_id: 'evt_1', utility_id: seed.utilityId, type: 'checkout' };
      await store.db.insertInto('payment_events').values(event).execute();
      expect(await sqlState(store.db.insertInto('payment_events').values(event).execute())).toBe(
        UNIQUE_VIOLATION,
      );
      await store.db
        .insertInto('payment_events')
        .values({ ...event, provider: 'mobile-money' })
        .execute();
      expect(
        await store.db.selectFrom('payment_events').select('provider').orderBy('provider').execute(),
      ).toEqual([{ provider: 'mobile-money' }, { provider: 'stripe' }]);
    });

    dbTest(
      'an account has one current holder; a transfer closes one and opens the next',
      async ({ store }) => {
        const seed = await seedBasics(store.db);
        const heir = await store.db
          .insertInto('customers')
          .values({ utility_id: seed.utilityId, name: 'Omar Haddad', preferred_language: 'en' })
          .returning('id')
          .executeTakeFirstOrThrow();
        const opened = new Date('2020-01-01T00:00:00Z');
        const transferred = new Date('2026-03-01T09:00:00Z');
        const holder = {
          utility_id: seed.utilityId,
          account_id: seed.accountId,
          customer_id: seed.customerId,
          from_at: opened,
          reason: 'opening',
        };
        await store.db.insertInto('account_holders').values(holder).execute();
        expect(
          await sqlState(
            store.db
              .insertInto('account_holders')
              .values({ ...holder, customer_id: heir.id, from_at: transferred, reason: 'inheritance' })
              .execute(),
          ),
        ).toBe(UNIQUE_VIOLATION);

        await store.db.transaction().execute(async (trx) => {
          await trx
            .updateTable('account_holders')
            .set({ to_at: transferred })
            .where('account_id', '=', seed.accountId)
            .where('to_at', 'is', null)
            .execute();
          await trx
            .insertInto('account_holders')
            .values({
              ...holder,
              customer_id: heir.id,
              from_at: transferred,
              reason: 'inheritance',
              evidence_ref: 'court-order-2026-117',
              subsidy_carried: true,
            })
            .execute();
        });
        const history = await store.db
          .selectFrom('account_holders')
          .select(['customer_id', 'from_at', 'to_at', 'reason', 'subsidy_carried'])
          .orderBy('from_at')
          .execute();
        expect(history).toEqual([
          {
            customer_id: seed.customerId,
            from_at: opened,
            to_at: transferred,
            reason: 'opening',
            subsidy_carried: false,
          },
          {
            customer_id: heir.id,
            from_at: transferred,
            to_at: null,
            reason: 'inheritance',
            subsidy_carried: true,
          },
        ]);
      },
    );
  });
}

export function keystoreSuite(dbTest: DbTest): void {
  const masterKey = Buffer.alloc(32, 0x5a);
  const vendingKey = Buffer.from('0123456789abcdeffedcba9876543210', 'hex');

  describe('key store', () => {
    dbTest('a key goes in encrypted and comes out whole', async ({ store }) => {
      const seed = await seedBasics(store.db);
      const keys = createKeyStore({ db: store.db, masterKey });
      const id = await keys.put({
        utilityId: seed.utilityId,
        sgc: 123456,
        krn: 1,
        key: vendingKey,
        label: 'SGC 123456',
      });

      const byId = await keys.get(id);
      expect(byId?.key.reveal().equals(vendingKey)).toBe(true);
      expect(byId).toMatchObject({ id, utilityId: seed.utilityId, sgc: 123456, krn: 1, label: 'SGC 123456' });
      const found = await keys.find(seed.utilityId, 123456, 1);
      expect(found?.key.reveal().toString('hex')).toBe(vendingKey.toString('hex'));
      expect(await keys.find(seed.utilityId, 123456, 2)).toBeUndefined();

      // Printing or serialising a decrypted key never shows it.
      const shown = `${JSON.stringify(found)} ${inspect(found, { depth: 5 })} ${String(found?.key)}`;
      expect(shown).not.toContain(vendingKey.toString('hex'));
      expect(shown).toContain('redacted');
    });

    dbTest('the stored row holds no trace of the key', async ({ store }) => {
      const seed = await seedBasics(store.db);
      const keys = createKeyStore({ db: store.db, masterKey });
      await keys.put({ utilityId: seed.utilityId, sgc: 123456, krn: 1, key: vendingKey });

      const row = await store.db.selectFrom('vending_keys').selectAll().executeTakeFirstOrThrow();
      const atRest = Buffer.concat([row.ciphertext, row.iv, row.auth_tag]);
      expect(row.ciphertext).toHaveLength(vendingKey.length);
      expect(row.iv).toHaveLength(12);
      expect(row.auth_tag).toHaveLength(16);
      expect(atRest.includes(vendingKey)).toBe(false);
      expect(atRest.includes(vendingKey.subarray(0, 4))).toBe(false);
      const { rows } = await sql<{ text: string }>`select t::text as text from vending_keys t`.execute(
        store.db,
      );
      expect(rows[0]?.text).not.toContain(vendingKey.toString('hex'));
      expect(rows[0]?.text).not.toContain(masterKey.toString('hex'));
    });

    dbTest('a wrong master key or a row moved to another revision does not decrypt', async ({ store }) => {
      const seed = await seedBasics(store.db);
      const keys = createKeyStore({ db: store.db, masterKey });
      const id = await keys.put({ utilityId: seed.utilityId, sgc: 123456, krn: 1, key: vendingKey });

      const wrong = createKeyStore({ db: store.db, masterKey: Buffer.alloc(32, 0x11) });
      const failure = await wrong.get(id).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(KeyStoreError);
      expect(String(failure)).not.toContain(vendingKey.toString('hex'));

      await sql`update vending_keys set krn = 2 where id = ${id}`.execute(store.db);
      await expect(keys.get(id)).rejects.toThrow(/failed authentication/);
      expect(() => createKeyStore({ db: store.db, masterKey: Buffer.alloc(16) })).toThrow(/32 bytes/);
    });
  });
}

export function readingsSuite(dbTest: DbTest): void {
  describe('readings', () => {
    dbTest('hourly and daily roll-ups answer the same columns on every engine', async ({ store }) => {
      const seed = await seedBasics(store.db);
      const meterId = seed.meterId;
      const at = (iso: string) => new Date(iso);
      const reading = (ts: string, seq: bigint, energyWh: bigint, powerW: number, creditMinor: bigint) => ({
        meter_id: meterId,
        ts: at(ts),
        seq,
        energy_wh: energyWh,
        power_w: powerW,
        voltage_dv: 2300,
        current_ma: powerW * 4,
        credit_minor: minorUnits(creditMinor),
        credit_wh: null,
        relay: true,
      });
      await store.db
        .insertInto('readings')
        .values([
          reading('2026-03-01T10:00:00Z', 1n, 1_000n, 400, 9_000n),
          reading('2026-03-01T10:15:00Z', 2n, 1_100n, 600, 8_900n),
          reading('2026-03-01T11:00:00Z', 3n, 1_300n, 800, 8_700n),
          reading('2026-03-02T00:30:00Z', 4n, 2_000n, 200, 8_000n),
        ])
        .execute();
      // A repeated reading (same meter and timestamp) is stored once.
      const repeat = await store.db
        .insertInto('readings')
        .values(reading('2026-03-01T10:15:00Z', 2n, 1_100n, 600, 8_900n))
        .onConflict((conflict) => conflict.columns(['meter_id', 'ts']).doNothing())
        .executeTakeFirst();
      expect(repeat.numInsertedOrUpdatedRows).toBe(0n);

      const hourly = await store.db
        .selectFrom('readings_hourly')
        .select(['bucket', 'readings', 'energy_wh_min', 'energy_wh_max', 'power_w_avg', 'power_w_max'])
        .select(['credit_minor_min', 'voltage_dv_min', 'last_ts'])
        .where('meter_id', '=', meterId)
        .orderBy('bucket')
        .execute();
      expect(hourly).toEqual([
        {
          bucket: at('2026-03-01T10:00:00Z'),
          readings: 2n,
          energy_wh_min: 1_000n,
          energy_wh_max: 1_100n,
          power_w_avg: 500,
          power_w_max: 600,
          credit_minor_min: 8_900n,
          voltage_dv_min: 2300,
          last_ts: at('2026-03-01T10:15:00Z'),
        },
        {
          bucket: at('2026-03-01T11:00:00Z'),
          readings: 1n,
          energy_wh_min: 1_300n,
          energy_wh_max: 1_300n,
          power_w_avg: 800,
          power_w_max: 800,
          credit_minor_min: 8_700n,
          voltage_dv_min: 2300,
          last_ts: at('2026-03-01T11:00:00Z'),
        },
        {
          bucket: at('2026-03-02T00:00:00Z'),
          readings: 1n,
          energy_wh_min: 2_000n,
          energy_wh_max: 2_000n,
          power_w_avg: 200,
          power_w_max: 200,
          credit_minor_min: 8_000n,
          voltage_dv_min: 2300,
          last_ts: at('2026-03-02T00:30:00Z'),
        },
      ]);

      const daily = await store.db
        .selectFrom('readings_daily')
        .select(['bucket', 'readings', 'energy_wh_min', 'energy_wh_max', 'volume_l_max'])
        .where('meter_id', '=', meterId)
        .orderBy('bucket')
        .execute();
      expect(daily).toEqual([
        {
          bucket: at('2026-03-01T00:00:00Z'),
          readings: 3n,
          energy_wh_min: 1_000n,
          energy_wh_max: 1_300n,
          volume_l_max: null,
        },
        {
          bucket: at('2026-03-02T00:00:00Z'),
          readings: 1n,
          energy_wh_min: 2_000n,
          energy_wh_max: 2_000n,
          volume_l_max: null,
        },
      ]);
    });

    dbTest('daily buckets are UTC days whatever the session time zone', async ({ store }) => {
      const seed = await seedBasics(store.db);
      await store.db.transaction().execute(async (trx) => {
        await sql`set local time zone 'Asia/Amman'`.execute(trx);
        await trx
          .insertInto('readings')
          .values({ meter_id: seed.meterId, ts: new Date('2026-03-01T23:30:00Z'), seq: 1n, energy_wh: 5n })
          .execute();
        const daily = await trx.selectFrom('readings_daily').select(['bucket', 'readings']).execute();
        expect(daily).toEqual([{ bucket: new Date('2026-03-01T00:00:00Z'), readings: 1n }]);
      });
    });

    dbTest('commands and the notifications outbox take their defaults', async ({ store }) => {
      const seed = await seedBasics(store.db);
      const expiresAt = new Date('2030-01-01T00:00:00Z');
      const command = await store.db
        .insertInto('commands')
        .values({
          utility_id: seed.utilityId,
          meter_id: seed.meterId,
          kind: 'disconnect',
          payload: { reason: 'credit exhausted' },
          expires_at: expiresAt,
          reason: 'balance below zero',
        })
        .returning(['id', 'state', 'attempts', 'expires_at'])
        .executeTakeFirstOrThrow();
      expect(command).toMatchObject({ state: 'queued', attempts: 0, expires_at: expiresAt });
      expect(command.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(
        await sqlState(
          store.db
            .updateTable('commands')
            .set({ state: 'lost' as never })
            .where('id', '=', command.id)
            .execute(),
        ),
      ).toBe('23514');

      const outbox = { utility_id: seed.utilityId, channel: 'sms', recipient: '+962790000001' } as const;
      const message = {
        ...outbox,
        template: 'low_credit',
        language: 'ar',
        payload: {},
        dedup_key: 'low:1',
      } as const;
      await store.db.insertInto('notifications_outbox').values(message).execute();
      expect(await sqlState(store.db.insertInto('notifications_outbox').values(message).execute())).toBe(
        UNIQUE_VIOLATION,
      );
      const queued = await store.db
        .selectFrom('notifications_outbox')
        .select(['state', 'attempts'])
        .execute();
      expect(queued).toEqual([{ state: 'pending', attempts: 0 }]);
    });
  });
}

/** Every store suite, for one dialect. */
export function storeSuites(dbTest: DbTest): void {
  migrationSuite(dbTest);
  typesSuite(dbTest);
  ledgerSuite(dbTest);
  constraintsSuite(dbTest);
  keystoreSuite(dbTest);
  readingsSuite(dbTest);
}
