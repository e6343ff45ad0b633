import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifySecret } from '../../src/security/secrets.ts';
import { createDatabase } from '../../src/store/db.ts';
import { RASID_BIN, runCli } from '../support/cli.ts';

const dirs: string[] = [];
async function emptyDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rasid-init-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const MUSCAT = [
  'init',
  '--utility',
  'muscat',
  '--name',
  'Muscat Power',
  '--name-ar',
  'كهرباء مسقط',
  '--currency',
  'omr',
  '--timezone',
  'Asia/Muscat',
  '--country',
  'om',
  '--tax-rate',
  '5',
  '--weekend',
  'fri,sat',
  '--admin',
  'admin',
];

/** What the store holds after the CLI has exited (PGlite: one process at a time). */
async function snapshot(dataDir: string) {
  const store = await createDatabase({ dataDir });
  try {
    const utilities = await store.db.selectFrom('utilities').selectAll().orderBy('code').execute();
    const users = await store.db.selectFrom('users').selectAll().orderBy('created_at').execute();
    const audit = await store.db.selectFrom('audit_log').select(['action', 'actor', 'details']).execute();
    return { utilities, users, audit };
  } finally {
    await store.close();
  }
}

describe('rasid init', () => {
  it('answers --help naming every option and where the password comes from', async () => {
    const res = await runCli(['init', '--help']);
    expect(res.code).toBe(0);
    for (const flag of [
      '--utility',
      '--name-ar',
      '--currency',
      '--timezone',
      '--tax-rate',
      '--weekend',
      '--admin',
    ]) {
      expect(res.stdout).toContain(flag);
    }
    expect(res.stdout).toContain('RASID_ADMIN_PASSWORD');
  });

  it('creates a utility and its admin on an empty data folder, migrating first; a second init with the same code exits 1 and changes nothing', async () => {
    const dataDir = await emptyDataDir();
    const env = { DATA_DIR: dataDir, RASID_ADMIN_PASSWORD: 'muscat-admin-pass' };
    const first = await runCli(MUSCAT, { env, timeoutMs: 60_000 });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('utility muscat created (OMR, 3 decimals)');
    expect(first.stdout).toContain(
      'sign in at http://127.0.0.1:8080/#/signin with utility muscat, username admin',
    );
    expect(first.stdout).not.toContain('muscat-admin-pass');

    const made = await snapshot(dataDir);
    expect(made.utilities).toHaveLength(1);
    expect(made.utilities[0]).toMatchObject({
      code: 'muscat',
      name: 'Muscat Power',
      name_ar: 'كهرباء مسقط',
      currency: 'OMR',
      currency_exponent: 3,
      country: 'OM',
      tax_rate_bp: 500,
      timezone: 'Asia/Muscat',
      weekend_days: [5, 6],
    });
    expect(made.users).toHaveLength(1);
    expect(made.users[0]).toMatchObject({ username: 'admin', role: 'admin', platform_admin: true });
    expect(await verifySecret('muscat-admin-pass', made.users[0]?.password_hash ?? '')).toBe(true);
    expect(made.audit.map((a) => a.action)).toEqual(['utility.create']);

    // Again, with another password on standard input: refused, nothing changed.
    const again = await runCli(MUSCAT, {
      env: { DATA_DIR: dataDir, RASID_ADMIN_PASSWORD: '' },
      input: 'another-password\n',
      timeoutMs: 60_000,
    });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('utility muscat exists already; nothing changed');
    expect(await snapshot(dataDir)).toEqual(made);
  }, 120_000);

  it('reads the password from standard input when it is not a terminal; a second utility has its own admin and no platform rights', async () => {
    const dataDir = await emptyDataDir();
    const env = { DATA_DIR: dataDir, RASID_ADMIN_PASSWORD: '' };
    expect((await runCli(MUSCAT, { env, input: 'first-admin-pass\n', timeoutMs: 60_000 })).code).toBe(0);
    const amman = await runCli(
      [
        'init',
        '--utility',
        'amman',
        '--name',
        'Amman Water',
        '--currency',
        'JOD',
        '--timezone',
        'Asia/Amman',
        '--admin',
        'admin',
      ],
      { env, input: 'second-admin-pass\n', timeoutMs: 60_000 },
    );
    expect(amman.code).toBe(0);
    expect(amman.stdout).toContain('utility amman created (JOD, 3 decimals)');
    const { utilities, users } = await snapshot(dataDir);
    expect(utilities.map((u) => [u.code, u.currency_exponent, u.weekend_days])).toEqual([
      ['amman', 3, [5, 6]],
      ['muscat', 3, [5, 6]],
    ]);
    const byUtility = new Map(utilities.map((u) => [u.id, u.code]));
    expect(users.map((u) => [byUtility.get(u.utility_id), u.username, u.platform_admin])).toEqual([
      ['muscat', 'admin', true],
      ['amman', 'admin', false],
    ]);
    expect(await verifySecret('second-admin-pass', users[1]?.password_hash ?? '')).toBe(true);
  }, 120_000);

  it('asks for the password twice on a terminal, without echoing it (util-linux script gives the terminal)', async () => {
    const dataDir = await emptyDataDir();
    const password = 'typed-on-a-terminal';
    const child = spawn(
      'script',
      [
        '-qec',
        `${RASID_BIN} init --utility ttyco --name T --currency OMR --timezone Asia/Muscat --admin admin`,
        '/dev/null',
      ],
      {
        env: { ...process.env, DATA_DIR: dataDir, RASID_ADMIN_PASSWORD: '' },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let answered = 0;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      // Each prompt is answered when it shows, as a person would.
      const prompts = (out.match(/Password for the admin: |The same password again: /g) ?? []).length;
      while (answered < prompts) {
        child.stdin.write(`${password}\r`);
        answered += 1;
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdin.end();
    expect(code).toBe(0);
    expect(answered).toBe(2);
    expect(out).toContain('utility ttyco created');
    expect(out).not.toContain(password);
    const { users } = await snapshot(dataDir);
    expect(await verifySecret(password, users[0]?.password_hash ?? '')).toBe(true);
  }, 120_000);

  it('takes the exponent from the currency: 2 for SAR, 0 for JPY; refuses a code that is no currency with exit 2', async () => {
    const dataDir = await emptyDataDir();
    const env = { DATA_DIR: dataDir, RASID_ADMIN_PASSWORD: 'riyadh-admin-pass' };
    const base = ['--timezone', 'Asia/Riyadh', '--admin', 'admin', '--name', 'X'];
    expect(
      (
        await runCli(['init', '--utility', 'riyadh', '--currency', 'SAR', ...base], {
          env,
          timeoutMs: 60_000,
        })
      ).stdout,
    ).toContain('(SAR, 2 decimals)');
    expect(
      (await runCli(['init', '--utility', 'tokyo', '--currency', 'JPY', ...base], { env, timeoutMs: 60_000 }))
        .stdout,
    ).toContain('(JPY, 0 decimals)');
    const bad = await runCli(['init', '--utility', 'x1', '--currency', 'XYZ', ...base], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--currency');
    const short = await runCli(['init', '--utility', 'x2', '--currency', 'SAR', ...base], {
      env: { ...env, RASID_ADMIN_PASSWORD: 'short' },
    });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('admin password: at least 10 characters');
    expect((await snapshot(dataDir)).utilities.map((u) => u.code)).toEqual(['riyadh', 'tokyo']);
  }, 120_000);
});
