/**
 * The Rasid API from the browser: JSON in and out, problem+json errors as ApiError, and the caller's
 * credentials — a person's bearer session or a kiosk's API key — kept in sessionStorage for this tab only.
 */

const AUTH_KEY = 'rasid.auth';

export class ApiError extends Error {
  constructor(status, problem, network = false) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.network = network;
  }
}

/** { kind: 'bearer', token } | { kind: 'key', key } | null */
export function getAuth() {
  try {
    return JSON.parse(sessionStorage.getItem(AUTH_KEY) ?? 'null');
  } catch {
    return null;
  }
}

export function setAuth(auth) {
  if (auth) sessionStorage.setItem(AUTH_KEY, JSON.stringify(auth));
  else sessionStorage.removeItem(AUTH_KEY);
}

function authHeaders() {
  const auth = getAuth();
  if (auth?.kind === 'bearer') return { authorization: `Bearer ${auth.token}` };
  if (auth?.kind === 'key') return { 'x-api-key': auth.key };
  return {};
}

/**
 * Calls the API; `as` is 'json' (default), 'text' or 'blob'; `file` (a File or Blob) is sent as the body
 * itself, with its own type. Throws ApiError.
 */
export async function api(method, path, { body, file, headers, as = 'json' } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: {
        accept: as === 'json' ? 'application/json' : '*/*',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(file !== undefined ? { 'content-type': file.type || 'application/octet-stream' } : {}),
        ...authHeaders(),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(file !== undefined ? { body: file } : {}),
    });
  } catch {
    throw new ApiError(0, null, true);
  }
  if (!res.ok) {
    let problem = null;
    try {
      problem = await res.json();
    } catch {
      // not JSON
    }
    throw new ApiError(res.status, problem);
  }
  if (res.status === 204) return null;
  if (as === 'text') return res.text();
  if (as === 'blob') return res.blob();
  return res.json();
}

/** A fresh idempotency key (works outside secure contexts too, unlike crypto.randomUUID). */
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
