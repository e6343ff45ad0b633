/**
 * A NUL byte or a lone surrogate in any string of any route is refused at the edge with 400 and the field
 * named, never passed on to PostgreSQL (which cannot store either and would answer 500). Every operation of
 * /openapi.json is called as an admin with every string of its path, query and JSON body spoiled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, signIn } from '../support/api.ts';
import { seedBasics } from '../support/db.ts';
import { type PgServer, startPgServer } from '../support/pg-server.ts';

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
  $ref?: string;
};
interface Operation {
  parameters?: { in: string; name: string; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}
type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
};

/** A value of `schema` whose every string is `bad`. */
function spoil(schema: Schema | undefined, bad: string, doc: Doc, depth = 0): unknown {
  if (!schema || depth > 8) return bad;
  if (schema.$ref)
    return spoil(doc.components?.schemas?.[schema.$ref.split('/').pop()!], bad, doc, depth + 1);
  const alternatives = schema.anyOf ?? schema.oneOf ?? schema.allOf;
  if (alternatives) {
    const pick = alternatives.find((s) => s.type !== 'null') ?? alternatives[0];
    return spoil(pick, bad, doc, depth + 1);
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (schema.enum) return bad;
  switch (type) {
    case 'object':
      // A free-form object (a provider's callback) gets one field of its own to carry the bad string.
      if (schema.properties === undefined) return { value: bad };
      return Object.fromEntries(
        Object.entries(schema.properties).map(([k, s]) => [k, spoil(s, bad, doc, depth + 1)]),
      );
    case 'array':
      return [spoil(schema.items, bad, doc, depth + 1)];
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return true;
    default:
      return bad;
  }
}

describe('bad strings at the edge, on PostgreSQL', () => {
  let rasid: PgServer;
  let token: string;
  let doc: Doc;

  beforeAll(async () => {
    rasid = await startPgServer('badstr');
    const seed = await seedBasics(rasid.server.core.store.db, 'jo');
    token = (await signIn(rasid.server, seed.utilityId, { noor: { role: 'admin' } })).noor.token;
    doc = (await request(rasid.server.url, 'GET', '/openapi.json')).json as Doc;
  }, 120_000);

  afterAll(async () => {
    await rasid?.close();
  });

  for (const [label, bad] of [
    ['a NUL byte', 'x\u0000y'],
    ['a lone surrogate', 'x\ud800y'],
  ] as const) {
    it(`${label} in any string of any route answers 400 validation_failed naming the field`, async () => {
      const outcomes: string[] = [];
      let tried = 0;
      for (const [template, methods] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(methods)) {
          const params = op.parameters ?? [];
          const jsonBody = op.requestBody?.content?.['application/json']?.schema;
          const query = params.filter((p) => p.in === 'query');
          const pathParams = params.filter((p) => p.in === 'path');
          // A lone surrogate cannot be percent-encoded as UTF-8: it travels in JSON bodies only.
          const inUrl = label === 'a NUL byte';
          if (!jsonBody && !(inUrl && (query.length > 0 || pathParams.length > 0))) continue;
          let path = template.replace(/\{(\w+)\}/g, () =>
            inUrl ? encodeURIComponent(bad) : '00000000-0000-4000-8000-000000000000',
          );
          if (inUrl && query.length > 0) {
            path += `?${query.map((p) => `${p.name}=${encodeURIComponent(bad)}`).join('&')}`;
          }
          const answer = await request(rasid.server.url, method.toUpperCase(), path, {
            token,
            ...(jsonBody ? { body: spoil(jsonBody, bad, doc) } : {}),
            headers: { 'idempotency-key': 'bad-strings-0001' },
          });
          tried++;
          const detail = String(answer.json?.detail ?? '');
          const named = /^(body|querystring|params)(\.[^:\s]+)?: /.test(detail);
          const ok = answer.status === 400 && answer.json?.code === 'validation_failed' && named;
          if (!ok)
            outcomes.push(
              `${method.toUpperCase()} ${template}: ${answer.status} ${answer.text.slice(0, 160)}`,
            );
        }
      }
      expect(tried).toBeGreaterThan(label === 'a NUL byte' ? 40 : 25);
      expect(outcomes).toEqual([]);
      expect(rasid.logs.join('').includes('"level":50')).toBe(false);
    }, 120_000);
  }
});
