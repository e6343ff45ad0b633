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

export async function startTestServer(name: string): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), `rasid-${name}-`));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const server = await startServer(
    loadConfig({ PORT: '0', MQTT_PORT: '0', LOG_LEVEL: 'debug', NODE_ENV: 'test', DATA_DIR: dir }),
    {
      logDestination: sink,
    },
  );
  return {
    server,
    logs,
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
