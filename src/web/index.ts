/**
 * The web app, served by Rasid itself with no build step and no CDN: `web/` as static files, the few
 * browser modules it imports (Preact, its hooks, htm) straight from node_modules under /vendor/, and two
 * small routes the app needs before it can call the rest of the API — the utilities a customer may top up
 * with, and who the current session or kiosk key belongs to. See docs/web.md.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { principalOf } from '../api/auth.ts';
import { AppError } from '../api/errors.ts';
import type { Database } from '../store/schema.ts';

export interface WebOptions {
  readonly db: Kysely<Database>;
  /** Folder of the app (default: the repository's `web/`). */
  readonly root?: string;
  /** Requests per minute per client on the public utilities list. */
  readonly publicRateLimit?: number;
}

const DEFAULT_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));

/** Browser modules served under /vendor/: URL name → package entry, resolved through node_modules. */
const VENDOR: Readonly<Record<string, string>> = Object.freeze({
  'preact.mjs': 'preact',
  'preact-hooks.mjs': 'preact/hooks',
  'htm.mjs': 'htm',
});

const Utility = z.object({
  code: z.string(),
  name: z.string(),
  currency: z.string(),
  exponent: z.number(),
  timezone: z.string(),
});

/** Every inline script of a page as a CSP source (the import map is the only one). */
function inlineScriptHashes(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/<script type="importmap">([\s\S]*?)<\/script>/g)) {
    out.push(
      `'sha256-${createHash('sha256')
        .update(m[1] ?? '')
        .digest('base64')}'`,
    );
  }
  return out;
}

export const webRoutes: FastifyPluginAsync<WebOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const root = opts.root ?? DEFAULT_ROOT;
  const index = await readFile(join(root, 'index.html'), 'utf8');
  const csp = [
    "default-src 'self'",
    `script-src 'self' ${inlineScriptHashes(index).join(' ')}`,
    // Printable receipts rendered by the API carry their own <style>.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "frame-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');

  const require = createRequire(import.meta.url);
  const vendor = new Map<string, string>();
  for (const [name, spec] of Object.entries(VENDOR)) {
    // htm's "module" build is the ES module; its package exports point require() at the CommonJS one.
    const resolved = require.resolve(spec);
    const file = spec === 'htm' ? join(dirname(resolved), 'htm.mjs') : resolved;
    vendor.set(name, await readFile(file, 'utf8'));
  }

  const sendIndex = (reply: import('fastify').FastifyReply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(index);

  // The app's pages: the root, and the page Checkout sends the customer back to.
  app.get('/', { schema: { hide: true } }, (_req, reply) => sendIndex(reply));
  app.get('/topup', { schema: { hide: true } }, (_req, reply) => sendIndex(reply));

  // The service worker lives at the root so that it may keep the app's page (/) for offline use (web/app/field-sw.js).
  const serviceWorker = await readFile(join(root, 'app', 'field-sw.js'), 'utf8');
  app.get('/field-sw.js', { schema: { hide: true } }, (_req, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .send(serviceWorker),
  );

  app.get(
    '/vendor/:file',
    { schema: { hide: true, params: z.object({ file: z.string() }) } },
    async (req, reply) => {
      const body = vendor.get(req.params.file);
      if (body === undefined) throw new AppError('route_not_found', `GET /vendor/${req.params.file}`);
      return reply
        .type('text/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=3600')
        .header('x-content-type-options', 'nosniff')
        .send(body);
    },
  );

  await fastify.register(fastifyStatic, {
    root,
    prefix: '/web/',
    decorateReply: false,
    index: false,
    cacheControl: true,
    maxAge: 0,
    setHeaders: (res) => res.header('x-content-type-options', 'nosniff'),
  });

  app.get(
    '/api/v1/web/utilities',
    {
      config: {
        access: 'public',
        rateLimit: { max: opts.publicRateLimit ?? 60, timeWindow: 60_000 },
      },
      schema: {
        tags: ['web'],
        summary: 'The utilities this Rasid serves, for the web app’s top-up and sign-in screens',
        response: { 200: z.object({ utilities: z.array(Utility) }) },
      },
    },
    async () => {
      const rows = await opts.db
        .selectFrom('utilities')
        .select(['code', 'name', 'currency', 'currency_exponent', 'timezone'])
        .orderBy('code')
        .execute();
      return {
        utilities: rows.map((r) => ({
          code: r.code,
          name: r.name,
          currency: r.currency.trim(),
          exponent: r.currency_exponent,
          timezone: r.timezone,
        })),
      };
    },
  );

  app.get(
    '/api/v1/web/whoami',
    {
      config: { access: ['customer', 'vendor', 'operator', 'technician', 'service'] },
      schema: {
        tags: ['web'],
        summary: 'Who this session or kiosk key belongs to: role, vendor and utility',
        security: [{ bearer: [] }, { apiKey: [] }],
        response: {
          200: z.object({
            kind: z.enum(['user', 'kiosk']),
            role: z.string(),
            name: z.string(),
            vendorId: z.string().nullable(),
            vendorName: z.string().nullable(),
            utility: Utility,
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const utility = await opts.db
        .selectFrom('utilities')
        .select(['code', 'name', 'currency', 'currency_exponent', 'timezone'])
        .where('id', '=', p.utilityId)
        .executeTakeFirstOrThrow();
      const vendor = p.vendorId
        ? await opts.db.selectFrom('vendors').select('name').where('id', '=', p.vendorId).executeTakeFirst()
        : undefined;
      let name: string;
      if (p.kind === 'user') name = p.username;
      else {
        const kiosk = await opts.db
          .selectFrom('kiosks')
          .select('name')
          .where('id', '=', p.kioskId)
          .executeTakeFirstOrThrow();
        name = kiosk.name;
      }
      return {
        kind: p.kind,
        role: p.role,
        name,
        vendorId: p.vendorId,
        vendorName: vendor?.name ?? null,
        utility: {
          code: utility.code,
          name: utility.name,
          currency: utility.currency.trim(),
          exponent: utility.currency_exponent,
          timezone: utility.timezone,
        },
      };
    },
  );
};
