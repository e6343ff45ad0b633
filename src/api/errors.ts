import { type ErrorCode, RasidError } from '../errors.ts';

export type { ErrorCode };

/**
 * Rasid's coded error catalogue (docs/style.md practice 12): the HTTP status and title of each code of
 * `src/errors.ts`. Every HTTP error is answered as
 * application/problem+json (RFC 9457) whose `code` and `type` come from this table, so clients can rely on
 * them across versions. Add codes; never change the meaning of one.
 */
export const ERROR_CATALOGUE: Readonly<
  Record<ErrorCode, { readonly status: number; readonly title: string }>
> = Object.freeze({
  validation_failed: { status: 400, title: 'The request is not valid' },
  bad_json: { status: 400, title: 'The request body is not valid JSON' },
  unauthenticated: { status: 401, title: 'Sign in or present an API key' },
  forbidden: { status: 403, title: 'Your role may not do this' },
  not_found: { status: 404, title: 'Not found' },
  route_not_found: { status: 404, title: 'No such route' },
  conflict: { status: 409, title: 'Conflicts with the current state' },
  idempotency_key_reused: {
    status: 409,
    title: 'This idempotency key was used for a different request',
  },
  idempotency_key_required: { status: 400, title: 'An Idempotency-Key header is required' },
  insufficient_float: { status: 402, title: "The vendor's float and credit limit do not cover this sale" },
  amount_too_small: { status: 422, title: 'The amount is below the minimum purchase' },
  tariff_invalid: { status: 422, title: 'This tariff could not be priced or sold as written' },
  meter_not_vendable: { status: 422, title: 'This meter cannot be sold credit now' },
  token_not_reversible: { status: 422, title: 'This token can no longer be reversed' },
  transfer_not_allowed: { status: 422, title: 'This account transfer is not allowed' },
  subsidy_not_allowed: { status: 422, title: 'This account cannot be subsidy-eligible' },
  token_already_used: { status: 409, title: 'The meter has accepted this token; it cannot be reversed' },
  meter_state_invalid: { status: 409, title: 'The meter cannot move to this state from its current one' },
  utility_exists: { status: 409, title: 'A utility with this code exists already' },
  setup_closed: { status: 409, title: 'This install is set up already' },
  payment_signature_invalid: { status: 400, title: 'The payment event signature is not valid' },
  payment_provider_unknown: { status: 404, title: 'No such payment provider is configured' },
  payment_provider_failed: { status: 502, title: 'The payment provider did not answer as expected' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  import_file_invalid: { status: 422, title: 'The file cannot be read as an import table' },
  rate_limited: { status: 429, title: 'Too many requests; slow down' },
  unavailable: { status: 503, title: 'A service Rasid needs is unavailable' },
  internal: { status: 500, title: 'Internal error' },
});

/** Routes throw the modules' error under its HTTP-side name; the error handler maps its code to a status. */
export { RasidError as AppError };

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: ErrorCode;
  readonly detail?: string;
  readonly instance?: string;
  readonly [key: string]: unknown;
}

/** Builds the problem+json body for a catalogue code. */
export function problem(
  code: ErrorCode,
  detail?: string,
  extra?: Readonly<Record<string, unknown>>,
  instance?: string,
): Problem {
  const entry = ERROR_CATALOGUE[code];
  return {
    ...extra,
    type: `urn:rasid:problem:${code.replaceAll('_', '-')}`,
    title: entry.title,
    status: entry.status,
    code,
    ...(detail !== undefined ? { detail } : {}),
    ...(instance !== undefined ? { instance } : {}),
  };
}
