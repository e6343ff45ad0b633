import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { ImportKind } from '../../../src/import/columns.ts';
import { type ImportReport, runImport } from '../../../src/import/run.ts';
import { readSheet, writeXlsx } from '../../../src/import/sheet.ts';
import type { Store } from '../../../src/store/db.ts';
import { createKeyStore } from '../../../src/store/keystore.ts';
import type { UtilityId } from '../../../src/store/schema.ts';
import { type DbTest, seedBasics } from '../db.ts';

const by = { actor: 'system:import-test', userId: null };

async function importCsv(
  store: Store,
  utilityId: UtilityId,
  kind: ImportKind,
  csv: string,
  opts: { dryRun?: boolean; allOrNothing?: boolean; batchSize?: number } = {},
): Promise<ImportReport> {
  const sheet = await readSheet(Buffer.from(csv), 'csv');
  return runImport({ db: store.db, utilityId, kind, sheet, actor: by, ...opts });
}

const CUSTOMERS = [
  'national_id,name,name_ar,phone,email,language',
  '1001,Salim Al Harthy,سالم الحارثي,+96891000001,salim@example.om,ar',
  '1002,Aisha Al Balushi,,+96891000002,,en',
  '1003,,,+96891000003,,ar', // row 4: no name
  '1004,Hamad Said,,0912,not-mail,fr', // row 5: phone, email, language
  '1001,Twice,,,,', // row 6: the national id of row 2 again
  '1005,Mariam Nasser,مريم ناصر,,,',
].join('\n');

async function count(store: Store, table: 'customers' | 'accounts' | 'meters' | 'premises') {
  const r = await store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export function importSuites(dbTest: DbTest): void {
  dbTest(
    'customers: bad rows are named by row, column and reason; the good ones are written once',
    async ({ store }) => {
      const { utilityId } = await seedBasics(store.db, 'imp');
      const before = await count(store, 'customers');

      const dry = await importCsv(store, utilityId, 'customers', CUSTOMERS, { dryRun: true });
      expect(dry).toMatchObject({ rows: 6, added: 3, written: false, skipped: [] });
      expect(await count(store, 'customers')).toBe(before);
      expect(dry.errors).toEqual([
        { row: 4, column: 'name', reason: 'required' },
        { row: 5, column: 'phone', reason: 'an E.164 number such as +96891234567' },
        { row: 5, column: 'email', reason: 'not an email address' },
        { row: 5, column: 'language', reason: 'expected one of ar, en' },
        { row: 6, column: 'national_id', reason: '1001 is also on row 2' },
      ]);

      const first = await importCsv(store, utilityId, 'customers', CUSTOMERS, { batchSize: 2 });
      expect(first).toMatchObject({ added: 3, written: true, skipped: [] });
      expect(first.errors).toEqual(dry.errors);
      expect(await count(store, 'customers')).toBe(before + 3);
      const salim = await store.db
        .selectFrom('customers')
        .selectAll()
        .where('national_id', '=', '1001')
        .executeTakeFirstOrThrow();
      expect(salim).toMatchObject({
        name: 'Salim Al Harthy',
        name_ar: 'سالم الحارثي',
        phone: '+96891000001',
        email: 'salim@example.om',
        preferred_language: 'ar',
        utility_id: utilityId,
      });

      const again = await importCsv(store, utilityId, 'customers', CUSTOMERS);
      expect(again.added).toBe(0);
      expect(again.written).toBe(false);
      expect(again.skipped).toEqual([
        { row: 2, key: '1001' },
        { row: 3, key: '1002' },
        { row: 7, key: '1005' },
      ]);
      expect(await count(store, 'customers')).toBe(before + 3);

      const audit = await store.db
        .selectFrom('audit_log')
        .select(['action', 'details'])
        .where('action', '=', 'import.customers')
        .execute();
      expect(audit).toHaveLength(1);
      expect(audit[0]?.details).toMatchObject({ rows: 6, added: 3, errors: 5 });
    },
  );

  dbTest(
    'all or nothing: one bad row and nothing is written; a clean file is written whole',
    async ({ store }) => {
      const { utilityId } = await seedBasics(store.db, 'aon');
      const before = await count(store, 'customers');
      const report = await importCsv(store, utilityId, 'customers', CUSTOMERS, { allOrNothing: true });
      expect(report).toMatchObject({ added: 0, written: false });
      expect(report.errors).toHaveLength(5);
      expect(await count(store, 'customers')).toBe(before);
      const clean = CUSTOMERS.split('\n')
        .filter((_, i) => [0, 1, 2, 6].includes(i))
        .join('\n');
      const ok = await importCsv(store, utilityId, 'customers', clean, { allOrNothing: true, batchSize: 1 });
      expect(ok).toMatchObject({ added: 3, written: true, errors: [] });
      expect(await count(store, 'customers')).toBe(before + 3);
    },
  );

  dbTest('a file without a required column is refused whole', async ({ store }) => {
    const { utilityId } = await seedBasics(store.db, 'hdr');
    await expect(
      importCsv(store, utilityId, 'customers', 'national_id,phone\n1,+96891000001'),
    ).rejects.toThrow(/missing column name/);
  });

  dbTest('accounts refer to customers and tariffs; one subsidised account per holder', async ({ store }) => {
    const { utilityId } = await seedBasics(store.db, 'acc');
    await importCsv(store, utilityId, 'customers', CUSTOMERS);
    const csv = [
      'account_number,national_id,address,area,tariff_code,subsidy_eligible',
      'A-1001,1001,Way 2817 House 12,Bawshar,,yes',
      'A-1002,1002,Way 100 House 3,,NOPE,no', // row 3: unknown tariff
      'A-1003,9999,Way 1 House 1,,,', // row 4: unknown holder
      'A-1004,1001,Way 2817 House 14,Bawshar,,true', // row 5: second subsidised account of 1001
      'A-1005,1005,Way 5 House 5,Seeb,,maybe', // row 6: not a yes or no
      'A-1006,1005,Way 5 House 6,Seeb,,0',
      'x,1005,Way 5 House 7,,,', // row 8: number too short
    ].join('\r\n');
    const report = await importCsv(store, utilityId, 'accounts', csv);
    expect(report.errors).toEqual([
      { row: 3, column: 'tariff_code', reason: 'no tariff NOPE in this utility' },
      { row: 4, column: 'national_id', reason: 'no customer with national id 9999' },
      {
        row: 5,
        column: 'subsidy_eligible',
        reason: 'the holder already has a subsidised account in this utility',
      },
      { row: 6, column: 'subsidy_eligible', reason: 'expected true or false (yes/no, 1/0)' },
      { row: 8, column: 'account_number', reason: 'letters, digits and - (3 to 32)' },
    ]);
    expect(report.added).toBe(2);
    const a = await store.db
      .selectFrom('accounts as a')
      .innerJoin('customers as c', 'c.id', 'a.customer_id')
      .innerJoin('premises as p', 'p.id', 'a.premise_id')
      .innerJoin('account_holders as h', 'h.account_id', 'a.id')
      .select([
        'a.number',
        'c.national_id',
        'p.address',
        'p.area',
        'a.subsidy_eligible',
        'h.reason',
        'a.status',
      ])
      .where('a.number', 'in', ['A-1001', 'A-1006'])
      .orderBy('a.number')
      .execute();
    expect(a).toEqual([
      {
        number: 'A-1001',
        national_id: '1001',
        address: 'Way 2817 House 12',
        area: 'Bawshar',
        subsidy_eligible: true,
        reason: 'opening',
        status: 'active',
      },
      {
        number: 'A-1006',
        national_id: '1005',
        address: 'Way 5 House 6',
        area: 'Seeb',
        subsidy_eligible: false,
        reason: 'opening',
        status: 'active',
      },
    ]);
    const again = await importCsv(store, utilityId, 'accounts', csv);
    expect(again.added).toBe(0);
    expect(again.skipped.map((s) => s.key)).toEqual(['A-1001', 'A-1006']);
  });

  dbTest(
    'meters from a workbook: STS parameters all or none, linked to the vending key as the API does',
    async ({ store }) => {
      const seed = await seedBasics(store.db, 'mtr');
      const keys = createKeyStore({ db: store.db, masterKey: randomBytes(32) });
      const key = {
        id: await keys.put({ utilityId: seed.utilityId, sgc: 654321, krn: 2, key: randomBytes(8) }),
        sgc: 654321,
        krn: 2,
      };
      const account = await store.db
        .selectFrom('accounts')
        .select('number')
        .where('id', '=', seed.accountId)
        .executeTakeFirstOrThrow();
      const headers = [
        'Serial',
        'Kind',
        'Protocol',
        'Mode',
        'Account Number',
        'sts_iin',
        'sts_drn',
        'sts_sgc',
      ].concat(['sts_ti', 'sts_krn', 'sts_kt', 'sts_ea', 'sts_base_date', 'notes']);
      const sgc = String(key.sgc);
      const krn = String(key.krn);
      const book = await writeXlsx(headers, [
        [
          'IMP-0001',
          'electricity',
          'mqtt',
          'token',
          account.number,
          '600727',
          '01000000001',
          sgc,
          '01',
          krn,
          '2',
          '07',
          '2014',
          'x',
        ],
        ['IMP-0002', 'water', 'modbus', 'central', '', '', '', '', '', '', '', '', '', ''],
        ['IMP-0003', 'electricity', 'mqtt', 'token', '', '600727', '', sgc, '01', krn, '2', '07', '2014', ''],
        ['IMP-0004', 'gas', 'mqtt', 'token', 'NO-SUCH', '', '', '', '', '', '', '', '', ''],
        ['IMP-0005', 'electricity', 'mqtt', 'token', 'NO-SUCH', '', '', '', '', '', '', '', '', ''],
      ]);
      const sheet = await readSheet(book, 'xlsx');
      const report = await runImport({
        db: store.db,
        utilityId: seed.utilityId,
        kind: 'meters',
        sheet,
        actor: by,
      });
      expect(report.ignoredColumns).toEqual(['notes']);
      expect(report.errors).toEqual([
        { row: 4, column: 'sts_drn', reason: 'required when any sts_ column is given' },
        { row: 5, column: 'kind', reason: 'expected one of electricity, water' },
        { row: 6, column: 'account_number', reason: 'no account NO-SUCH' },
      ]);
      expect(report.added).toBe(2);
      const m = await store.db
        .selectFrom('meters')
        .selectAll()
        .where('serial', 'in', ['IMP-0001', 'IMP-0002'])
        .orderBy('serial')
        .execute();
      expect(m[0]).toMatchObject({
        serial: 'IMP-0001',
        kind: 'electricity',
        account_id: seed.accountId,
        sts_iin: '600727',
        sts_drn: '01000000001',
        sts_sgc: Number(sgc),
        sts_ti: 1,
        sts_krn: Number(krn),
        sts_kt: 2,
        sts_ea: 7,
        sts_base_date: '2014-01-01',
        sts_ken: 255,
        vending_key_id: key.id,
        status: 'registered',
        mqtt_password_hash: null,
      });
      expect(m[1]).toMatchObject({
        serial: 'IMP-0002',
        kind: 'water',
        mode: 'central',
        account_id: null,
        sts_drn: null,
      });
      const again = await runImport({
        db: store.db,
        utilityId: seed.utilityId,
        kind: 'meters',
        sheet,
        actor: by,
      });
      expect(again.added).toBe(0);
      expect(again.skipped).toEqual([
        { row: 2, key: 'IMP-0001' },
        { row: 3, key: 'IMP-0002' },
      ]);
    },
  );
}
