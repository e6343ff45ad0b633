import { readdirSync, readFileSync } from 'node:fs';
import { expect, test } from 'vitest';

// The field agent's offline screen opens only if the service worker kept every module the app imports: a
// module missing from its list breaks the page with no connection (web/app/field-sw.js).
test('the service worker keeps every module of the web app', () => {
  const dir = new URL('../../../web/app/', import.meta.url);
  const sw = readFileSync(new URL('field-sw.js', dir), 'utf8');
  const kept = new Set([...sw.matchAll(/^\s+'([a-z0-9-]+)',$/gm)].map((m) => m[1]));
  const modules = readdirSync(dir)
    .filter((f) => f.endsWith('.js') && f !== 'field-sw.js')
    .map((f) => f.slice(0, -3));
  expect(modules.filter((m) => !kept.has(m))).toEqual([]);
});
