/**
 * The service worker of Rasid's web app, registered by the field agent's screen (web/app/field.js): it keeps
 * the app's own files (the page, its modules, styles and texts) so that the screen opens on a phone with no
 * connection. Pages and files are fetched from the network first and kept; without a network the kept copy
 * answers. API calls are never touched: visits are kept and sent by the page itself (field-store.js).
 */
const CACHE = 'rasid-app-v1';
const FILES = [
  '/',
  '/web/css/app.css',
  '/vendor/preact.mjs',
  '/vendor/preact-hooks.mjs',
  '/vendor/htm.mjs',
  '/web/i18n/ar.js',
  '/web/i18n/en.js',
  '/web/i18n/glossary.js',
  ...[
    'account',
    'admin',
    'api',
    'centre',
    'chart',
    'deceased',
    'field',
    'field-store',
    'html',
    'i18n',
    'import',
    'kiosk',
    'losses',
    'main',
    'messages',
    'money',
    'scroll',
    'staff',
    'technician',
    'topup',
    'ui',
  ].map((m) => `/web/app/${m}.js`),
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => Promise.all(FILES.map((f) => cache.add(f).catch(() => undefined))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  const page = req.mode === 'navigate';
  if (!page && !url.pathname.startsWith('/web/') && !url.pathname.startsWith('/vendor/')) return;
  event.respondWith(
    fetch(req)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          caches.open(CACHE).then((cache) => cache.put(page ? '/' : req, copy));
        }
        return res;
      })
      .catch(() => caches.match(page ? '/' : req).then((hit) => hit ?? Response.error())),
  );
});
