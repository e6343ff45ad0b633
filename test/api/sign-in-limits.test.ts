/**
 * Rate limits count the client's own address: a forged X-Forwarded-For is believed only from a configured
 * proxy (TRUSTED_PROXIES, none by default). Staff password sign-in locks an account for a growing time after
 * repeated wrong passwords, from whatever addresses they come, and the lock is audited.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { hashSecret } from '../../src/security/secrets.ts';
import { type RunningServer, startServer } from '../../src/server.ts';
import { request } from '../support/api.ts';
import { seedBasics } from '../support/db.ts';

const started: { server: RunningServer; dir: string }[] = [];

async function start(env: Record<string, string>, now?: () => Date): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), 'rasid-limits-'));
  const server = await startServer(
    loadConfig({ PORT: '0', MQTT_PORT: '0', LOG_LEVEL: 'silent', NODE_ENV: 'test', DATA_DIR: dir, ...env }),
    { logDestination: new Writable({ write: (_c, _e, done) => done() }), ...(now ? { now } : {}) },
  );
  started.push({ server, dir });
  return server;
}

afterEach(async () => {
  for (const { server, dir } of started.splice(0)) {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

const signIn = (server: RunningServer, password: string, forwardedFor: string) =>
  request(server.url, 'POST', '/api/v1/sessions', {
    body: { utility: 'jo', username: 'noor', password },
    headers: { 'x-forwarded-for': forwardedFor },
  });

async function addAdmin(server: RunningServer) {
  const seed = await seedBasics(server.core.store.db, 'jo');
  const user = await server.core.store.db
    .insertInto('users')
    .values({
      utility_id: seed.utilityId,
      username: 'noor',
      password_hash: await hashSecret('correct horse'),
      role: 'admin',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { seed, userId: user.id };
}

/** Six sign-in code requests, each forwarded for a different client address: the answers' statuses. */
async function codesAskedFromSixAddresses(server: { url: string }): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await request(server.url, 'POST', '/api/v1/sessions/codes', {
      body: { utility: 'jo', contact: '+962790000001' },
      headers: { 'x-forwarded-for': `198.51.100.${i + 1}` },
    });
    statuses.push(res.status);
  }
  return statuses;
}

describe('X-Forwarded-For', () => {
  it('is ignored without TRUSTED_PROXIES: forged addresses share the caller’s rate limit', async () => {
    const server = await start({ PUBLIC_RATE_LIMIT: '3' });
    expect(await codesAskedFromSixAddresses(server)).toEqual([202, 202, 202, 429, 429, 429]);
  }, 120_000);

  it('is believed from a configured proxy: each forwarded client has its own limit', async () => {
    const server = await start({ PUBLIC_RATE_LIMIT: '3', TRUSTED_PROXIES: '127.0.0.1, ::1' });
    expect(await codesAskedFromSixAddresses(server)).toEqual([202, 202, 202, 202, 202, 202]);
  }, 120_000);
});

describe('staff password sign-in', () => {
  it('locks the account after five wrong passwords from any addresses, for longer each time, audited', async () => {
    let clock = new Date('2026-03-01T08:00:00Z');
    // Behind a trusted proxy every try comes from a new address, so only the per-account lock can stop them.
    const server = await start({ TRUSTED_PROXIES: '127.0.0.1, ::1', PUBLIC_RATE_LIMIT: '100' }, () => clock);
    const { seed, userId } = await addAdmin(server);
    for (let i = 0; i < 5; i++)
      expect((await signIn(server, `guess ${i}`, `203.0.113.${i}`)).status).toBe(401);
    // Locked: even the right password is refused, with the same answer as a wrong one.
    const locked = await signIn(server, 'correct horse', '203.0.113.99');
    expect(locked.status).toBe(401);
    expect(locked.json.code).toBe('unauthenticated');

    const audit = await server.core.store.db
      .selectFrom('audit_log')
      .select(['action', 'subject', 'details'])
      .where('utility_id', '=', seed.utilityId)
      .where('action', 'like', 'user.sign_in%')
      .orderBy('id')
      .execute();
    expect(audit.map((a) => a.action)).toContain('user.sign_in_locked');
    const lock = audit.find((a) => a.action === 'user.sign_in_locked')!;
    expect(lock.subject).toBe(`user:${userId}`);
    expect(lock.details).toMatchObject({ failures: 5, lockedSeconds: 30 });

    // After the lock, the right password works and clears the count.
    clock = new Date(clock.getTime() + 31_000);
    expect((await signIn(server, 'correct horse', '203.0.113.100')).status).toBe(201);

    // Five more wrong ones lock it again for 30 s; a sixth while locked is refused without a check, and the
    // next wrong one after the lock doubles it.
    for (let i = 0; i < 5; i++)
      expect((await signIn(server, `again ${i}`, `203.0.114.${i}`)).status).toBe(401);
    clock = new Date(clock.getTime() + 31_000);
    expect((await signIn(server, 'wrong once more', '203.0.115.1')).status).toBe(401);
    const locks = await server.core.store.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'user.sign_in_locked')
      .orderBy('id')
      .execute();
    expect(locks.map((l) => (l.details as { lockedSeconds: number }).lockedSeconds)).toEqual([30, 30, 60]);
    clock = new Date(clock.getTime() + 30_000);
    expect((await signIn(server, 'correct horse', '203.0.115.2')).status).toBe(401);
    clock = new Date(clock.getTime() + 31_000);
    expect((await signIn(server, 'correct horse', '203.0.115.3')).status).toBe(201);
  }, 120_000);
});
