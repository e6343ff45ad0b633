/**
 * A contact centre from nothing, on either database: `rasid init` (the real binary) on an empty data folder
 * (PGlite) or an empty PostgreSQL database, then Rasid started on it with a clock the suite moves, and the
 * staff signed in over HTTP. Used by test/support/suites/contact-centre.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/server.ts';
import { type Answer, request } from './api.ts';
import { runCli } from './cli.ts';
import { TEST_DATABASE_URL, type TestDialect } from './db.ts';
import { logCapture, testBrokerEnv } from './server.ts';

export const ADMIN_PASSWORD = 'first-admin-password';

export interface CentreWorld {
  readonly url: string;
  readonly server: RunningServer;
  readonly utility: string;
  /** Every log line Rasid wrote. */
  readonly logs: string[];
  /** Moves the server's clock to this instant. */
  at(iso: string | Date): void;
  now(): Date;
  call(token: string | null, method: string, path: string, body?: unknown): Promise<Answer>;
  /** A raw request (a CSV body, a bearer secret). */
  raw(
    method: string,
    path: string,
    opts: { token?: string; body?: string; type?: string; headers?: Record<string, string> },
  ): Promise<Answer>;
  signIn(username: string, password?: string): Promise<string>;
  close(): Promise<void>;
}

async function admin<T>(work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

export async function centreWorld(
  name: string,
  dialect: TestDialect,
  start: string,
  utility = 'muscat',
): Promise<CentreWorld> {
  const dataDir = await mkdtemp(join(tmpdir(), `rasid-${name}-`));
  const env: Record<string, string> = { DATA_DIR: dataDir };
  let database: string | null = null;
  if (dialect === 'postgres') {
    database = `rasid_centre_${randomBytes(6).toString('hex')}`;
    await admin((c) => c.query(`create database ${database}`));
    const u = new URL(TEST_DATABASE_URL);
    u.pathname = `/${database}`;
    env.DATABASE_URL = u.toString();
  }
  const init = await runCli(
    [
      'init',
      '--utility',
      utility,
      '--name',
      `${utility} utility`,
      '--currency',
      'OMR',
      '--timezone',
      'Asia/Muscat',
      '--admin',
      'admin',
    ],
    { env: { ...env, RASID_ADMIN_PASSWORD: ADMIN_PASSWORD }, timeoutMs: 240_000 },
  );
  if (init.code !== 0) throw new Error(`rasid init: ${init.code} ${init.stderr}`);
  let clock = new Date(start);
  const { logs, sink } = logCapture();
  const server = await startServer(
    loadConfig({
      PORT: '0',
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      BALANCE_INTERVAL_SECONDS: '86400',
      ...testBrokerEnv(name),
      ...env,
    }),
    { logDestination: sink, setupOutput: sink, now: () => clock },
  );
  const world: CentreWorld = {
    url: server.url,
    server,
    utility,
    logs,
    at(iso) {
      clock = new Date(iso);
    },
    now: () => clock,
    call: (token, method, path, body) => request(server.url, method, path, { token, body }),
    async raw(method, path, o) {
      return request(server.url, method, path, {
        token: o.token ?? null,
        headers: { ...(o.type ? { 'content-type': o.type } : {}), ...o.headers },
        ...(o.body !== undefined ? { rawBody: o.body } : {}),
      });
    },
    async signIn(username, password = ADMIN_PASSWORD) {
      const r = await world.call(null, 'POST', '/api/v1/sessions', { utility, username, password });
      if (r.status !== 201) throw new Error(`sign-in ${username}: ${r.status} ${r.text}`);
      return r.json.token as string;
    },
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
      if (database !== null) await admin((c) => c.query(`drop database if exists ${database} with (force)`));
    },
  };
  return world;
}
