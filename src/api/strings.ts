/**
 * One rule for every string of every route (path, query, JSON body, CSV text): no NUL byte, no lone
 * surrogate. PostgreSQL cannot store either. Checked before anything looks the request's ids up, so a bad
 * string is always a 400 naming its field.
 */
import type { FastifyRequest } from 'fastify';
import { AppError } from './errors.ts';

/** A NUL byte, or a UTF-16 surrogate without its pair. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the NUL byte is exactly what this refuses.
const BAD_STRING = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The dotted path of the first string (or object key) in `value` holding a bad character, else null. */
export function badStringAt(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === 'string') return BAD_STRING.test(value) ? path : null;
  if (value === null || typeof value !== 'object' || depth > 32) return null;
  if (Buffer.isBuffer(value)) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const at = badStringAt(value[i], `${path}.${i}`, depth + 1);
      if (at !== null) return at;
    }
    return null;
  }
  for (const [key, item] of Object.entries(value)) {
    if (BAD_STRING.test(key)) return `${path}.${JSON.stringify(key).slice(1, -1)}`;
    const at = badStringAt(item, `${path}.${key}`, depth + 1);
    if (at !== null) return at;
  }
  return null;
}

/** Throws `validation_failed` naming the first params, query or body string with a bad character. */
export function refuseBadStrings(request: FastifyRequest): void {
  for (const [context, value] of [
    ['params', request.params],
    ['querystring', request.query],
    ['body', request.body],
  ] as const) {
    const at = badStringAt(value, context);
    if (at !== null) {
      throw new AppError('validation_failed', `${at}: must not contain a NUL byte or a lone surrogate`, {
        issues: [{ field: at, message: 'must not contain a NUL byte or a lone surrogate' }],
      });
    }
  }
}
