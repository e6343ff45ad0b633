/**
 * A started Rasid (in this process) on a fresh database of the machine's PostgreSQL, with a seeded utility
 * and its people signed in, for suites that must see what PostgreSQL itself refuses.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/server.ts';
import { TEST_DATABASE_URL } from './db.ts';
import { logCapture } from './server.ts';

export interface PgServer {
  readonly server: RunningServer;
  readonly logs: string[];
  close(): Promise<void>;
}

export async function startPgServer(name: string, env: Record<string, string> = {}): Promise<PgServer> {
  const database = `rasid_${name}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`create database "${database}"`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${database}`;
  const dir = await mkdtemp(join(tmpdir(), `rasid-${name}-`));
  const { logs, sink } = logCapture();
  let server: RunningServer;
  try {
    server = await startServer(
      loadConfig({
        PORT: '0',
        MQTT_PORT: '0',
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        DATA_DIR: dir,
        DATABASE_URL: url.toString(),
        DB_POOL_SIZE: '4',
        PUBLIC_RATE_LIMIT: '100000',
        ...env,
      }),
      { logDestination: sink },
    );
  } catch (err) {
    await admin.query(`drop database if exists "${database}" with (force)`);
    await admin.end();
    throw err;
  }
  return {
    server,
    logs,
    async close() {
      await server.close();
      await admin.query(`drop database if exists "${database}" with (force)`);
      await admin.end();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
