import Fastify, { type FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { app } from '../../src/api/app.ts';
import { AppError } from '../../src/api/errors.ts';

describe('HTTP application plugin', () => {
  let fastify: FastifyInstance;
  let base: string;
  let ready = true;

  beforeAll(async () => {
    fastify = Fastify({ logger: false });
    await fastify.register(app, {
      version: '9.9.9',
      metrics: new Registry(),
      readiness: { database: async () => ready },
      routes: [
        async (f) => {
          f.withTypeProvider<ZodTypeProvider>().post(
            '/api/v1/echo',
            {
              schema: {
                body: z.object({
                  meter: z.string().regex(/^\d{11,13}$/),
                  amountMinor: z.number().int().positive(),
                }),
                response: { 200: z.object({ meter: z.string() }) },
              },
            },
            async (req) => {
              if (req.body.meter === '00000000000')
                throw new AppError('not_found', 'meter 00000000000 is unknown');
              return { meter: req.body.meter };
            },
          );
          f.get('/api/v1/limited', { config: { rateLimit: { max: 2, timeWindow: 60_000 } } }, async () => ({
            ok: true,
          }));
        },
      ],
    });
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const addr = fastify.server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterAll(() => fastify.close());

  const post = (body: string) =>
    fetch(`${base}/api/v1/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('answers a schema violation with problem+json naming the field', async () => {
    const res = await post(JSON.stringify({ meter: 'abc', amountMinor: 5 }));
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const body = (await res.json()) as { code: string; detail: string; type: string };
    expect(body.code).toBe('validation_failed');
    expect(body.detail).toContain('body.meter');
    expect(body.type).toMatch(/validation-failed$/);
  });

  it('answers broken JSON with bad_json', async () => {
    const res = await post('{"meter":');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('bad_json');
  });

  it('maps a thrown AppError to its catalogue status and code', async () => {
    const res = await post(JSON.stringify({ meter: '00000000000', amountMinor: 5 }));
    expect(res.status).toBe(404);
    const body = (await res.json()) as { code: string; detail: string };
    expect(body).toMatchObject({ code: 'not_found', detail: 'meter 00000000000 is unknown' });
  });

  it('rate-limits a public route with a problem answer', async () => {
    const first = await fetch(`${base}/api/v1/limited`);
    const second = await fetch(`${base}/api/v1/limited`);
    const third = await fetch(`${base}/api/v1/limited`);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(third.status).toBe(429);
    expect(third.headers.get('content-type')).toContain('application/problem+json');
    expect(((await third.json()) as { code: string }).code).toBe('rate_limited');
  });

  it('answers an unknown route with route_not_found', async () => {
    const res = await fetch(`${base}/api/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('route_not_found');
  });

  it('publishes the OpenAPI document and the browsable reference', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/api/v1/echo');
    const html = await fetch(`${base}/docs/`);
    expect(html.status).toBe(200);
    expect(await html.text()).toContain('swagger');
  });

  it('reports readiness from its checks', async () => {
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    ready = false;
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ checks: { database: 'failing' } });
    ready = true;
  });
});
