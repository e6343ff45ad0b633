/**
 * Bulk import and export over HTTP against a started Rasid (embedded PGlite on disk): uploads of CSV and
 * Excel files with their reports, roles, problem+json for a file that is not a table, templates, CSV
 * exports that read back as imports, the ledger of a period, and MQTT credentials for many meters at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeXlsx, XLSX_MEDIA_TYPE } from '../../src/import/sheet.ts';
import { MeterSecretKey } from '../../src/security/secrets.ts';
import type { RunningServer } from '../../src/server.ts';
import { minorUnits } from '../../src/store/schema.ts';
import { type Call, caller, signIn } from '../support/api.ts';
import { type Seed, seedBasics } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON read field by field and checked by expect.
type Json = any;

const CUSTOMERS = [
  'National ID,Name,Name_AR,Phone,Language',
  '2001,Khalid Al Amri,خالد العامري,+96892000001,ar',
  '2002,Fatma Al Lawati,,+96892000002,en',
  '2003,Bad Phone,,92000003,ar',
].join('\n');

describe('import and export over HTTP', () => {
  let test: TestServer;
  let server: RunningServer;
  let seed: Seed;
  let call: Call<'operator' | 'technician' | 'service'>;

  const upload = (kind: string, body: Buffer | string, query = '', type = 'text/csv', as = 'operator') =>
    fetch(`${server.url}/api/v1/imports/${kind}${query}`, {
      method: 'POST',
      headers: { 'content-type': type, authorization: `Bearer ${tokens[as]}` },
      body,
    }).then(async (r) => ({
      status: r.status,
      type: r.headers.get('content-type') ?? '',
      json: (await r.json()) as Json,
    }));
  let tokens: Record<string, string> = {};

  beforeAll(async () => {
    test = await startTestServer('imports');
    server = test.server;
    seed = await seedBasics(server.core.store.db, 'imp');
    // A customer without a national id has no natural key and cannot be re-imported: the seed's gets one.
    await server.core.store.db
      .updateTable('customers')
      .set({ national_id: '1999' })
      .where('id', '=', seed.customerId)
      .execute();
    const people = await signIn(server, seed.utilityId, {
      operator: { role: 'operator' },
      technician: { role: 'technician' },
      service: { role: 'service' },
    });
    tokens = Object.fromEntries(Object.entries(people).map(([k, v]) => [k, v.token]));
    call = caller(server, people, 'operator');
  }, 120_000);

  afterAll(async () => {
    await test?.close();
  });

  it('a dry run reports and writes nothing; the real run writes the good rows; a re-run skips them', async () => {
    const dry = await upload('customers', CUSTOMERS, '?dryRun=true');
    expect(dry.status).toBe(200);
    expect(dry.json).toMatchObject({ kind: 'customers', rows: 3, added: 2, dryRun: true, written: false });
    expect(dry.json.errors).toEqual([
      { row: 4, column: 'phone', reason: 'an E.164 number such as +96891234567' },
    ]);
    expect((await call('GET', '/api/v1/customers?q=Khalid')).json.customers).toEqual([]);

    const real = await upload('customers', CUSTOMERS, '?filename=old-billing.csv');
    expect(real.json).toMatchObject({ added: 2, written: true, skipped: [] });
    const found = await call('GET', '/api/v1/customers?q=Khalid');
    expect(found.json.customers).toMatchObject([{ name: 'Khalid Al Amri', nationalId: '2001' }]);

    const again = await upload('customers', CUSTOMERS);
    expect(again.json).toMatchObject({ added: 0, written: false });
    expect(again.json.skipped).toEqual([
      { row: 2, key: '2001' },
      { row: 3, key: '2002' },
    ]);
    const audit = await call('GET', '/api/v1/audit?action=import.customers');
    expect(audit.status).toBe(200);
    expect(JSON.stringify(audit.json)).toContain('old-billing.csv');
  });

  it('an Excel workbook is read by its header names; all or nothing refuses the file with a bad row', async () => {
    const book = await writeXlsx(
      ['account_number', 'national_id', 'address', 'area', 'subsidy_eligible'],
      [
        ['B-2001', '2001', 'Way 3011, House 4', 'Seeb', 'no'],
        ['B-2002', '2999', 'Way 3011, House 5', 'Seeb', 'no'],
      ],
    );
    const refused = await upload('accounts', book, '?allOrNothing=true', XLSX_MEDIA_TYPE);
    expect(refused.json).toMatchObject({ added: 0, written: false, allOrNothing: true });
    expect(refused.json.errors).toEqual([
      { row: 3, column: 'national_id', reason: 'no customer with national id 2999' },
    ]);
    expect((await call('GET', '/api/v1/accounts?number=B-2001')).json.accounts).toEqual([]);

    const partial = await upload('accounts', book, '', XLSX_MEDIA_TYPE);
    expect(partial.json).toMatchObject({ added: 1, written: true });
    const accounts = (await call('GET', '/api/v1/accounts?number=B-2001')).json.accounts;
    expect(accounts).toMatchObject([{ number: 'B-2001', customerName: 'Khalid Al Amri', status: 'active' }]);
  });

  it('roles: technicians and service agents may not import; a file that is not a table is problem+json', async () => {
    const tech = await upload('customers', CUSTOMERS, '', 'text/csv', 'technician');
    expect(tech.status).toBe(403);
    expect(tech.type).toContain('application/problem+json');
    const svc = await upload('customers', CUSTOMERS, '', 'text/csv', 'service');
    expect(svc.status).toBe(403);

    const noHeader = await upload('meters', 'serial,kind\nX-1,electricity\n');
    expect(noHeader.status).toBe(422);
    expect(noHeader.json).toMatchObject({ code: 'import_file_invalid' });
    expect(noHeader.json.detail).toContain('missing columns protocol, mode');
    const broken = await upload('meters', Buffer.from('PK\u0003\u0004 not really a zip'));
    expect(broken.status).toBe(422);
    expect(broken.json.code).toBe('import_file_invalid');
    const unknown = await upload('tariffs', CUSTOMERS);
    expect(unknown.status).toBe(400);
    expect(unknown.json.code).toBe('validation_failed');
  });

  it('templates download as CSV and xlsx; exports read back as imports that add nothing', async () => {
    const t = await call('GET', '/api/v1/imports/meters/template');
    expect(t.status).toBe(200);
    expect(t.type).toContain('text/csv');
    expect(t.text.split('\n')[0]).toBe(
      'serial,kind,protocol,mode,account_number,sts_iin,sts_drn,sts_sgc,sts_ti,sts_krn,sts_kt,sts_ea,sts_base_date,sts_ken,role,district',
    );
    const x = await fetch(`${server.url}/api/v1/imports/customers/template?format=xlsx`, {
      headers: { authorization: `Bearer ${tokens.operator}` },
    });
    expect(x.headers.get('content-type')).toContain(XLSX_MEDIA_TYPE);
    expect(
      Buffer.from(await x.arrayBuffer())
        .subarray(0, 2)
        .toString(),
    ).toBe('PK');

    for (const kind of ['customers', 'accounts', 'meters'] as const) {
      const exported = await call('GET', `/api/v1/exports/${kind}`, { as: 'service' });
      expect(exported.status).toBe(200);
      expect(exported.headers.get('content-disposition')).toContain(`rasid-${kind}.csv`);
      const back = await upload(kind, exported.text, '?dryRun=true');
      expect(back.json.errors).toEqual([]);
      expect(back.json.added).toBe(0);
      expect(back.json.skipped.length).toBe(back.json.rows);
      expect(back.json.rows).toBeGreaterThan(0);
    }
    const meters = await call('GET', '/api/v1/exports/meters');
    expect(meters.text).toContain('imp-M-0001,electricity,mqtt,token,imp-0001,600727');
  });

  it('the ledger of a period as CSV, in minor units and as the currency writes it, with local time', async () => {
    const db = server.core.store.db;
    await db
      .insertInto('account_ledger')
      .values({
        utility_id: seed.utilityId,
        account_id: seed.accountId,
        kind: 'payment',
        amount_minor: minorUnits(12_345n),
        ref: 'import-test',
      })
      .execute();
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const ledger = await call('GET', `/api/v1/exports/ledger?from=${from}&to=${to}`);
    expect(ledger.status).toBe(200);
    const lines = ledger.text.trim().split('\n');
    expect(lines[0]).toBe(
      'id,created_at_utc,created_at_local (Asia/Amman),account_number,kind,amount_minor,amount (JOD),ref,vend_id',
    );
    expect(lines.some((l) => l.includes(',imp-0001,payment,12345,12.345,import-test,'))).toBe(true);
    // Dates are days in the utility's zone (Amman): today's row is in today's export.
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Amman' }).format(new Date());
    const tomorrow = new Date(Date.parse(`${today}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const byDay = await call('GET', `/api/v1/exports/ledger?from=${today}&to=${tomorrow}`);
    expect(byDay.text).toContain(',imp-0001,payment,12345,12.345,import-test,');
    const empty = await call('GET', '/api/v1/exports/ledger?from=2001-01-01&to=2001-02-01');
    expect(empty.text.trim().split('\n')).toHaveLength(1);
    const noPeriod = await call('GET', '/api/v1/exports/ledger');
    expect(noPeriod.status).toBe(400);
    expect(noPeriod.json.code).toBe('validation_failed');
  });

  it('MQTT credentials for many meters: shown once, stored as the broker’s keyed HMAC, audited per meter', async () => {
    const csv = [
      'serial,kind,protocol,mode',
      'FLT-0001,electricity,mqtt,central',
      'FLT-0002,water,mqtt,central',
    ].join('\n');
    expect((await upload('meters', csv)).json.added).toBe(2);
    const issued = await call('POST', '/api/v1/meters/mqtt-credentials', { body: { serialPrefix: 'FLT-' } });
    expect(issued.status).toBe(201);
    expect(issued.headers.get('cache-control')).toBe('no-store');
    expect(issued.json.utility).toBe('imp');
    expect(issued.json.meters.map((m: { serial: string }) => m.serial)).toEqual(['FLT-0001', 'FLT-0002']);
    const first = issued.json.meters[0];
    expect(first).toMatchObject({
      username: 'imp.FLT-0001',
      clientId: 'FLT-0001',
      kind: 'electricity',
      mode: 'central',
    });
    const row = await server.core.store.db
      .selectFrom('meters')
      .select(['mqtt_username', 'mqtt_password_hash'])
      .where('serial', '=', 'FLT-0001')
      .executeTakeFirstOrThrow();
    expect(row.mqtt_username).toBe('imp.FLT-0001');
    expect(row.mqtt_password_hash).toMatch(/^hmac-sha256\$/);
    expect(row.mqtt_password_hash).not.toContain(first.password);
    // The broker's check: the keyed HMAC under the server's meter key takes the password shown once.
    const meterKey = new MeterSecretKey(server.core.keys.meterSecretKey());
    expect(meterKey.verify(first.password, row.mqtt_password_hash ?? '')).toBe(true);
    expect(meterKey.verify(`${first.password}x`, row.mqtt_password_hash ?? '')).toBe(false);
    // Issued once: asking again issues nothing new unless rotating.
    const again = await call('POST', '/api/v1/meters/mqtt-credentials', { body: { serialPrefix: 'FLT-' } });
    expect(again.json.meters).toEqual([]);
    const audit = await call('GET', '/api/v1/audit?action=meter.mqtt_credentials_issued');
    expect(JSON.stringify(audit.json)).toContain('imp.FLT-0002');
    const tech = await call('POST', '/api/v1/meters/mqtt-credentials', { as: 'technician', body: {} });
    expect(tech.status).toBe(403);
  });

  it('the routes are in the OpenAPI document', async () => {
    const doc = (await call('GET', '/openapi.json', { as: null })).json;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/imports/{kind}',
        '/api/v1/imports/{kind}/template',
        '/api/v1/exports/{kind}',
        '/api/v1/meters/mqtt-credentials',
      ]),
    );
  });
});
