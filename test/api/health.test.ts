import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/server.ts';

describe('HTTP server', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(loadConfig({ PORT: '0', LOG_LEVEL: 'silent', NODE_ENV: 'test' }));
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers /healthz over real HTTP', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; version: string };
    expect(body.status).toBe('ok');
    expect(body.version).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
