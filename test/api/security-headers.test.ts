/**
 * Every answer carries the security headers (helmet): a content security policy, no sniffing, no framing,
 * no referrer, HSTS; the web app keeps its own policy (its import map's hash), which the browser suites run
 * under. Rasid sets no cookie: sessions are bearer tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('security headers', () => {
  let test: TestServer;
  beforeAll(async () => {
    test = await startTestServer('headers');
  }, 120_000);
  afterAll(async () => {
    await test?.close();
  });

  it('are on the API, the web app, the OpenAPI document and errors, and no cookie is set', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/v1/web/utilities', undefined],
      ['GET', '/openapi.json', undefined],
      ['GET', '/', undefined],
      ['GET', '/api/v1/nowhere', undefined],
      ['POST', '/api/v1/sessions', { utility: 'jo', username: 'nobody', password: 'x' }],
    ] as const) {
      const res = await request(test.server.url, method, path, body ? { body } : {});
      const h = res.headers;
      expect(h.get('content-security-policy'), path).toMatch(/default-src 'self'/);
      expect(h.get('content-security-policy'), path).toMatch(/frame-ancestors 'none'/);
      expect(h.get('content-security-policy'), path).toMatch(/object-src 'none'/);
      expect(h.get('x-content-type-options'), path).toBe('nosniff');
      expect(h.get('x-frame-options'), path).toBe('DENY');
      expect(h.get('referrer-policy'), path).toBe('no-referrer');
      expect(h.get('strict-transport-security'), path).toMatch(/max-age=\d+/);
      expect(h.get('cross-origin-opener-policy'), path).toBe('same-origin');
      expect(h.get('set-cookie'), path).toBeNull();
    }
    // The page's policy admits its import map by hash, nothing inline beside it.
    const page = await request(test.server.url, 'GET', '/');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
  });
});
