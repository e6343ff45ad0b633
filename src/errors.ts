/**
 * The errors Rasid's modules refuse a request with. A module throws `RasidError` with a stable code and a
 * detail sentence that names the field or state at fault; it knows nothing of HTTP. The API maps each code to
 * its problem+json status and title (`src/api/errors.ts`), the CLI prints the detail. Add codes; never change
 * the meaning of one.
 */
export const ERROR_CODES = [
  'validation_failed',
  'bad_json',
  'unauthenticated',
  'forbidden',
  'not_found',
  'route_not_found',
  'conflict',
  'idempotency_key_reused',
  'idempotency_key_required',
  'insufficient_float',
  'amount_too_small',
  'tariff_invalid',
  'meter_not_vendable',
  'token_not_reversible',
  'transfer_not_allowed',
  'subsidy_not_allowed',
  'token_already_used',
  'meter_state_invalid',
  'utility_exists',
  'setup_closed',
  'payment_signature_invalid',
  'payment_provider_unknown',
  'payment_provider_failed',
  'payload_too_large',
  'import_file_invalid',
  'rate_limited',
  'unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** A refusal with a catalogue code; `extra` carries fields a client may act on (e.g. the conflicting id). */
export class RasidError extends Error {
  override readonly name = 'RasidError';
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly extra?: Readonly<Record<string, unknown>>,
  ) {
    super(detail ?? code.replaceAll('_', ' '));
  }
}
