/**
 * What a field agent's phone keeps (docs/field.md): the assigned premises, and the visits not yet sent, in
 * IndexedDB so that they survive a reload, a closed tab or a flat battery. Every visit is stored with the id
 * the phone gave it when it was recorded; the server stores a visit once per id, so a visit sent again
 * after a lost answer is harmless. A visit leaves the outbox only when the server has answered for it.
 */
import { api } from './api.js';

const DB_NAME = 'rasid-field';
const DB_VERSION = 1;

let opened = null;

function openDb() {
  if (!opened) {
    opened = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains('outbox')) db.createObjectStore('outbox', { keyPath: 'id' });
        if (!db.objectStoreNames.contains('kept')) db.createObjectStore('kept');
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return opened;
}

/** Runs `work(store)` in a transaction on `name` and resolves with the request's result when it commits. */
async function tx(name, mode, work) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const t = db.transaction(name, mode);
    const req = work(t.objectStore(name));
    t.oncomplete = () => resolve(req?.result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

/** A version 4 uuid from the browser's random source (crypto.randomUUID needs a secure context). */
export function newVisitId() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The assigned premises as last fetched, kept per user: { premises, fetchedAt } or null. */
export function keptPremises(user) {
  return tx('kept', 'readonly', (s) => s.get(`premises:${user}`)).then((v) => v ?? null);
}

/** Fetches the assigned premises and keeps them; offline, the kept list stays. */
export async function refreshPremises(user) {
  const { premises } = await api('GET', '/api/v1/field/my-premises');
  const kept = { premises, fetchedAt: new Date().toISOString() };
  await tx('kept', 'readwrite', (s) => s.put(kept, `premises:${user}`));
  return kept;
}

/** Every visit still on the phone, oldest first: { id, body, savedAt, refused? }. */
export async function outbox() {
  const all = (await tx('outbox', 'readonly', (s) => s.getAll())) ?? [];
  return all.sort((a, b) => a.savedAt.localeCompare(b.savedAt));
}

/** Keeps a recorded visit until the server has it. */
export function saveVisit(body) {
  return tx('outbox', 'readwrite', (s) => s.put({ id: body.id, body, savedAt: new Date().toISOString() }));
}

const listeners = new Set();
/** Calls `listener()` whenever the outbox changes; returns the unsubscribe. */
export function onOutboxChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
function changed() {
  for (const l of listeners) l();
}

let flushing = null;

/**
 * Sends the waiting visits, one at a time, oldest first; only one send runs at once. A visit the server has
 * (201 stored, 200 stored before) leaves the outbox; one it refuses stays, marked with the reason, for the
 * agent to see; a lost connection or a server error stops the round, to be tried again later.
 * Resolves with { sent, waiting }.
 */
export function flush() {
  if (!flushing) {
    flushing = (async () => {
      let sent = 0;
      try {
        for (const item of await outbox()) {
          if (item.refused) continue;
          try {
            await api('POST', '/api/v1/field/visits', { body: item.body });
          } catch (err) {
            if (
              err.network ||
              err.status === 0 ||
              err.status >= 500 ||
              err.status === 401 ||
              err.status === 429
            )
              break;
            await tx('outbox', 'readwrite', (s) =>
              s.put({ ...item, refused: err.problem?.detail ?? err.message ?? `HTTP ${err.status}` }),
            );
            changed();
            continue;
          }
          await tx('outbox', 'readwrite', (s) => s.delete(item.id));
          sent += 1;
          changed();
        }
      } finally {
        flushing = null;
      }
      const waiting = (await outbox()).length;
      return { sent, waiting };
    })();
  }
  return flushing;
}

/** Puts a refused visit back in the queue (once the agent has corrected what made it fail), or drops it. */
export async function retryVisit(id, drop = false) {
  const item = (await outbox()).find((i) => i.id === id);
  if (!item) return;
  if (drop) await tx('outbox', 'readwrite', (s) => s.delete(id));
  else {
    const { refused: _refused, ...rest } = item;
    await tx('outbox', 'readwrite', (s) => s.put(rest));
  }
  changed();
}

/** Sends the outbox whenever the browser says the connection is back. */
let watching = false;
export function watchConnection() {
  if (watching) return;
  watching = true;
  window.addEventListener('online', () => {
    flush().catch(() => {});
  });
}

/** A photo shrunk to at most `maxSide` pixels and `maxBytes`, as JPEG: { type, data (base64), bytes }. */
export async function shrinkPhoto(file, { maxSide = 1280, maxBytes = 480 * 1024 } = {}) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close?.();
  for (const quality of [0.8, 0.65, 0.5, 0.35]) {
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
    if (blob && blob.size <= maxBytes) {
      const buf = new Uint8Array(await blob.arrayBuffer());
      let bin = '';
      for (let i = 0; i < buf.length; i += 0x8000) bin += String.fromCharCode(...buf.subarray(i, i + 0x8000));
      return { type: 'image/jpeg', data: btoa(bin), bytes: blob.size };
    }
  }
  throw new Error('photo too large');
}
