/**
 * `rasid import` and `rasid credentials` as a person runs them: the real executable on a PGlite data folder,
 * the report on stdout (text or --json), the exit codes, --dry-run, --all-or-nothing, templates and --help.
 */
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/store/db.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { runCli } from '../support/cli.ts';

const TIMEOUT = 120_000;

describe('rasid import and rasid credentials', () => {
  let dir: string;
  let env: Record<string, string>;
  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rasid-cli-import-'));
    env = { DATA_DIR: dir, LOG_LEVEL: 'silent', NODE_ENV: 'test' };
    // Two utilities: the command must be told which one.
    const store = await createDatabase({ dataDir: dir });
    await migrateToLatest(store.db);
    for (const code of ['dhofar', 'muscat']) {
      await store.db
        .insertInto('utilities')
        .values({ code, name: code, currency: 'OMR', currency_exponent: 3, timezone: 'Asia/Muscat' })
        .execute();
    }
    await store.close();
    await writeFile(
      file('customers.csv'),
      [
        'national_id,name,name_ar,phone,email,language',
        '3001,Yusuf Al Rawahi,يوسف الرواحي,+96893000001,,ar',
        '3002,Noor Al Hinai,,+96893000002,noor@example.om,en',
        '3003,,,,,ar',
      ].join('\n'),
    );
  }, TIMEOUT);

  it(
    'asks for the utility when the store has several, and names the problem in one line',
    async () => {
      const r = await runCli(['import', 'customers', file('customers.csv')], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('rasid: this store has several utilities: name one with --utility CODE\n');
      const unknown = await runCli(['import', 'tariffs', file('customers.csv')], { env });
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain(
        "expected one of customers, accounts, meters, deaths (or template), got 'tariffs'",
      );
    },
    TIMEOUT,
  );

  it(
    'dry run, real run and re-run: the bad row reported, nothing written dry, nothing added twice',
    async () => {
      const args = ['import', 'customers', file('customers.csv'), '--utility', 'muscat'];
      const dry = await runCli([...args, '--dry-run', '--json'], { env });
      expect(dry.code).toBe(1);
      const dryReport = JSON.parse(dry.stdout);
      expect(dryReport).toMatchObject({ utility: 'muscat', rows: 3, added: 2, written: false, dryRun: true });
      expect(dryReport.errors).toEqual([{ row: 4, column: 'name', reason: 'required' }]);

      const allOrNothing = await runCli([...args, '--all-or-nothing'], { env });
      expect(allOrNothing.code).toBe(1);
      expect(allOrNothing.stdout).toContain('(all or nothing: nothing written)');

      const real = await runCli(args, { env });
      expect(real.code).toBe(1);
      expect(real.stdout).toBe(
        'customers: 3 rows, added 2, skipped 0 already there, 1 problem\nrow 4, name: required\n',
      );
      const again = await runCli([...args, '--json'], { env });
      const report = JSON.parse(again.stdout);
      expect(report.added).toBe(0);
      expect(report.skipped).toEqual([
        { row: 2, key: '3001' },
        { row: 3, key: '3002' },
      ]);
      // The other utility has none of them.
      const other = await runCli(
        ['import', 'customers', file('customers.csv'), '--utility', 'dhofar', '--dry-run', '--json'],
        {
          env,
        },
      );
      expect(JSON.parse(other.stdout).added).toBe(2);
    },
    TIMEOUT,
  );

  it(
    'accounts and meters from files made from the templates; credentials written once to a private file',
    async () => {
      const accounts = await runCli(['import', 'template', 'accounts'], { env });
      expect(accounts.code).toBe(0);
      expect(accounts.stdout.split('\n')[0]).toBe(
        'account_number,national_id,address,area,tariff_code,subsidy_eligible',
      );
      await writeFile(
        file('accounts.csv'),
        `${accounts.stdout.split('\n')[0]}\nM-3001,3001,"Way 1203, House 7",Bawshar,,no\n`,
      );
      const a = await runCli(['import', 'accounts', file('accounts.csv'), '--utility', 'muscat'], { env });
      expect(a.stdout).toContain('added 1,');
      expect(a.code).toBe(0);

      const t = await runCli(['import', 'template', 'meters', '--out', file('meters.xlsx')], { env });
      expect(t.code).toBe(0);
      expect((await readFile(file('meters.xlsx'))).subarray(0, 2).toString()).toBe('PK');
      await writeFile(
        file('meters.csv'),
        [
          'serial,kind,protocol,mode,account_number',
          'MSC-000001,electricity,mqtt,central,M-3001',
          'MSC-000002,electricity,mqtt,central,',
        ].join('\n'),
      );
      const m = await runCli(['import', 'meters', file('meters.csv'), '--utility', 'muscat'], { env });
      expect(m.code).toBe(0);
      expect(m.stdout).toContain('added 2,');

      const c = await runCli(
        ['credentials', '--utility', 'muscat', '--serial-prefix', 'MSC-', '--out', file('fleet.json')],
        { env },
      );
      expect(c.code).toBe(0);
      expect(c.stdout).toBe(`2 meters of muscat issued MQTT credentials, written to ${file('fleet.json')}\n`);
      expect((await stat(file('fleet.json'))).mode & 0o777).toBe(0o600);
      const fleet = JSON.parse(await readFile(file('fleet.json'), 'utf8'));
      expect(fleet.meters.map((x: { username: string }) => x.username)).toEqual([
        'muscat.MSC-000001',
        'muscat.MSC-000002',
      ]);
      expect(c.stdout).not.toContain(fleet.meters[0].password);
      const none = await runCli(
        ['credentials', '--utility', 'muscat', '--serial-prefix', 'MSC-', '--out', file('again.json')],
        { env },
      );
      expect(none.stdout).toContain('0 meters of muscat');
    },
    TIMEOUT,
  );

  it('every command answers --help', async () => {
    const i = await runCli(['import', '--help'], { env });
    expect(i.code).toBe(0);
    expect(i.stdout).toContain('--all-or-nothing');
    expect(i.stdout).toContain('sts_base_date');
    const c = await runCli(['credentials', '--help'], { env });
    expect(c.code).toBe(0);
    expect(c.stdout).toContain('--serial-prefix');
    const f = await runCli(['sim', 'fleet', '--help'], { env });
    expect(f.stdout).toContain('--credentials <file>');
  });
});
