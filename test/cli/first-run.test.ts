/**
 * A fresh install's first run through the real `bin/rasid start`: it prints a one-time setup code (only its
 * hash is stored), the first-run API refuses a wrong code, makes the first utility and its admin with the
 * right one, and is closed from then on; a second start of the set-up install prints no code.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createDatabase } from '../../src/store/db.ts';
import { RASID_BIN } from '../support/cli.ts';

const started: ChildProcess[] = [];
afterEach(async () => {
  for (const child of started.splice(0)) {
    if (child.exitCode === null) {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    }
  }
});

/** Starts `bin/rasid start` on `dataDir` and waits for its URL; collects stdout and stderr. */
async function start(dataDir: string) {
  const child = spawn(RASID_BIN, ['start'], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: '0',
      MQTT_PORT: '0',
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out.stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    out.stderr += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start in time: ${out.stderr}`)), 90_000);
    const look = () => {
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"rasid started"/.exec(out.stdout);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', look);
    child.once('exit', (code) => reject(new Error(`rasid start exited ${code}: ${out.stderr}`)));
  });
  return { child, url, out };
}

async function stop(child: ChildProcess): Promise<void> {
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
}

const post = async (url: string, path: string, body: unknown) => {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};

it('npm start on an empty data folder prints a one-time setup code; the first-run API makes the first utility with it, once', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'rasid-first-run-'));
  try {
    const first = await start(dataDir);
    const code = /^ {4}([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})$/m.exec(first.out.stderr)?.[1];
    expect(code).toBeDefined();
    expect(first.out.stderr).toContain(`${first.url}/#/setup`);
    expect(first.out.stdout).not.toContain(code);
    expect(await (await fetch(`${first.url}/api/v1/setup`)).json()).toEqual({ needed: true });

    const input = {
      code: 'muscat',
      name: 'Muscat Power',
      nameAr: 'كهرباء مسقط',
      currency: 'OMR',
      timezone: 'Asia/Muscat',
      admin: 'admin',
      password: 'first-run-password',
    };
    const wrong = await post(first.url, '/api/v1/setup', { ...input, setupCode: 'AAAA-BBBB-CCCC-DDDD' });
    expect([wrong.status, wrong.json.code]).toEqual([409, 'setup_closed']);
    const made = await post(first.url, '/api/v1/setup', { ...input, setupCode: code?.toLowerCase() });
    expect(made.status).toBe(201);
    expect(made.json).toEqual({ code: 'muscat', admin: 'admin', currency: 'OMR', exponent: 3 });
    const again = await post(first.url, '/api/v1/setup', { ...input, code: 'other', setupCode: code });
    expect([again.status, again.json.code]).toEqual([409, 'setup_closed']);
    expect(await (await fetch(`${first.url}/api/v1/setup`)).json()).toEqual({ needed: false });
    const signIn = await post(first.url, '/api/v1/sessions', {
      utility: 'muscat',
      username: 'admin',
      password: 'first-run-password',
    });
    expect(signIn.status).toBe(201);
    await stop(first.child);

    // Only a hash was kept, and it is spent; a second start prints no code.
    const store = await createDatabase({ dataDir });
    const rows = await store.db.selectFrom('setup_codes').selectAll().execute();
    const admin = await store.db.selectFrom('users').select(['username', 'platform_admin']).execute();
    await store.close();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.code_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]?.code_hash).not.toContain(code?.replaceAll('-', '') ?? '-');
    expect(rows[0]?.used_at).not.toBeNull();
    expect(admin).toEqual([{ username: 'admin', platform_admin: true }]);
    const second = await start(dataDir);
    expect(second.out.stderr).not.toContain('setup code');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 240_000);
