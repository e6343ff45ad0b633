/** A started Rasid (embedded PGlite in a temporary DATA_DIR) whose log lines are captured, for HTTP suites. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/server.ts';

export interface TestServer {
  readonly server: RunningServer;
  /** Every log line written so far. */
  readonly logs: string[];
  close(): Promise<void>;
}

/**
 * The broker the suites run against: Rasid's embedded one on a free port, or with `RASID_TEST_MQTT_URL` an
 * external one (the machine's Mosquitto in CI). An external broker is shared with other suites running at
 * the same time, so each server gets its own shared-subscription groups, client ids and short sessions.
 */
export function testBrokerEnv(name: string): Record<string, string> {
  const external = process.env.RASID_TEST_MQTT_URL;
  if (!external) return { MQTT_PORT: '0' };
  const unique = `t${process.pid}-${name}-${Math.random().toString(36).slice(2, 8)}`;
  return {
    MQTT_URL: external,
    MQTT_SHARE_GROUP: unique,
    MQTT_CLIENT_ID: unique,
    MQTT_SESSION_EXPIRY_SECONDS: '60',
    MQTT_INGEST_CLIENTS: '4',
  };
}

/** A log destination that keeps every line Rasid writes, for suites that look at the logs. */
export function logCapture(): { logs: string[]; sink: Writable } {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  return { logs, sink };
}

/**
 * Starts Rasid on `dataDir` as the suites run it: HTTP on port 0, the suites' broker, `env` last; every log
 * line (setup output included) kept in `logs`.
 */
export async function startOnDataDir(
  name: string,
  dataDir: string,
  env: Record<string, string>,
): Promise<{ server: RunningServer; logs: string[] }> {
  const { logs, sink } = logCapture();
  const server = await startServer(
    loadConfig({ PORT: '0', NODE_ENV: 'test', DATA_DIR: dataDir, ...testBrokerEnv(name), ...env }),
    { logDestination: sink, setupOutput: sink },
  );
  return { server, logs };
}

export async function startTestServer(name: string, env: Record<string, string> = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), `rasid-${name}-`));
  const { server, logs } = await startOnDataDir(name, dir, { LOG_LEVEL: 'debug', ...env });
  return {
    server,
    logs,
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
