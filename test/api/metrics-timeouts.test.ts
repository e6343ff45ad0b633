/**
 * /metrics is not open to anyone: without METRICS_TOKEN it answers clients on this machine only, with one
 * it wants the bearer token, and with METRICS_PORT it lives on its own listener. A client that opens an
 * HTTP connection and never finishes its request is answered and closed after the headers timeout.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from '../support/api.ts';
import { freePort } from '../support/process.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const started: TestServer[] = [];
afterEach(async () => {
  for (const t of started.splice(0)) await t.close();
});
async function start(env: Record<string, string>) {
  const t = await startTestServer('metrics', env);
  started.push(t);
  return t.server;
}

describe('/metrics', () => {
  it('answers a client from elsewhere (through a trusted proxy) only with the token', async () => {
    const server = await start({ TRUSTED_PROXIES: '127.0.0.1, ::1' });
    const remote = { 'x-forwarded-for': '203.0.113.7' };
    expect((await request(server.url, 'GET', '/metrics', { headers: remote })).status).toBe(401);
    expect((await request(server.url, 'GET', '/metrics')).status).toBe(200);
  }, 120_000);

  it('with METRICS_TOKEN wants the bearer token from everyone', async () => {
    const server = await start({ METRICS_TOKEN: 'scrape-secret-0123456789' });
    expect((await request(server.url, 'GET', '/metrics')).status).toBe(401);
    expect((await request(server.url, 'GET', '/metrics', { token: 'wrong-secret-0123456789' })).status).toBe(
      401,
    );
    const ok = await request(server.url, 'GET', '/metrics', { token: 'scrape-secret-0123456789' });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('rasid_http_requests_total');
  }, 120_000);

  it('with METRICS_PORT is served on its own listener and not on the API port', async () => {
    const port = await freePort();
    const server = await start({ METRICS_PORT: String(port) });
    expect((await request(server.url, 'GET', '/metrics')).status).toBe(404);
    expect(server.metricsUrl).toBe(`http://127.0.0.1:${port}/metrics`);
    const res = await fetch(server.metricsUrl);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('rasid_broker_connects_total');
  }, 120_000);
});

describe('half-open HTTP connections', () => {
  it('are answered 408 and closed when the headers never finish', async () => {
    const server = await start({ HTTP_HEADERS_TIMEOUT_SECONDS: '0.5' });
    // Node's defaults would hold the client 60 s, checked every 30 s.
    expect(server.fastify.server.headersTimeout).toBe(500);
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8').on('data', (d: string) => {
      answer += d;
    });
    socket.on('error', () => {});
    socket.write('GET /healthz HTTP/1.1\r\nHost: rasid\r\nX-Slow: ');
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  }, 120_000);
});
