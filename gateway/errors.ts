/**
 * The gateway's error catalogue: one stable code per way a meter operation can fail, the acknowledgement
 * code each one becomes on `up/ack`, the metrics label it gives a failed poll, and whether the request
 * may have reached the meter (docs/commands.md "Failures"):
 *
 * - `no`: nothing reached the meter (no connection, no association). Never final: the command is
 *   acknowledged `unreachable` and Rasid sends it again when the meter is back.
 * - `maybe`: the request went out and no usable answer came. An idempotent command is done again; for the
 *   others the outcome is `unknown`.
 * - `yes`: the meter answered; the outcome is what it said.
 */
import type { AckErrorCode } from '../protocols/mqtt/index.ts';

export const DRIVER_ERRORS = Object.freeze({
  /** The connection or association could not be set up: nothing was sent to the meter. */
  unreachable: { ack: 'unreachable', reached: 'no', message: 'connection to {peer} failed: {reason}' },
  /** The meter did not answer within the operation's timeout. */
  timeout: { ack: 'unknown', reached: 'maybe', message: '{what} got no answer within {timeoutMs} ms' },
  /** The connection broke during an operation. */
  connection: { ack: 'unknown', reached: 'maybe', message: 'connection to {peer} failed: {reason}' },
  /** The meter (or its profile) has no way to do this. */
  not_supported: { ack: 'not_supported', reached: 'yes', message: '{what} is not supported by this meter' },
  /** The meter refused the request (a Modbus exception, a DLMS access result). */
  refused: { ack: 'refused', reached: 'yes', message: 'the meter refused {what}: {reason}' },
  /** The relay did not reach the commanded position. */
  relay_fault: { ack: 'relay_fault', reached: 'yes', message: 'the relay stayed {relay}' },
  /** A value that the meter or the map cannot take. */
  bad_payload: { ack: 'bad_payload', reached: 'yes', message: '{reason}' },
  /** The meter answered something the codec could not read. */
  protocol: { ack: 'unknown', reached: 'maybe', message: 'unreadable answer to {what}: {reason}' },
  /** The driver was closed while the operation waited. */
  closed: { ack: 'unknown', reached: 'maybe', message: 'the meter driver is closed' },
} as const satisfies Readonly<
  Record<string, { ack: AckErrorCode; reached: 'no' | 'maybe' | 'yes'; message: string }>
>);

export type DriverErrorCode = keyof typeof DRIVER_ERRORS;

/** Every failure of a {@link MeterDriver} operation. `code` drives the acknowledgement and the metrics. */
export class DriverError extends Error {
  override readonly name = 'DriverError';
  constructor(
    readonly code: DriverErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** The acknowledgement error code this failure is reported with. */
  get ackCode(): AckErrorCode {
    return DRIVER_ERRORS[this.code].ack;
  }

  /** Whether the request may have reached the meter: `no`, `maybe` or `yes` (see the catalogue). */
  get reached(): 'no' | 'maybe' | 'yes' {
    return DRIVER_ERRORS[this.code].reached;
  }

  /** True when the connection should be dropped and opened again (with backoff) before the next try. */
  get breaksConnection(): boolean {
    return (
      this.code === 'timeout' ||
      this.code === 'connection' ||
      this.code === 'protocol' ||
      this.code === 'unreachable'
    );
  }
}

/** Any thrown value as a {@link DriverError}; unknown errors count as connection failures. */
export function asDriverError(err: unknown): DriverError {
  if (err instanceof DriverError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DriverError('connection', message);
}

/** A configuration that cannot run; the message names the field. */
export class GatewayConfigError extends Error {
  override readonly name = 'GatewayConfigError';
}

/**
 * Resolves with `promise`, or rejects with a `timeout` {@link DriverError} after `timeoutMs`, or with a
 * `closed` one as soon as `signal` aborts. The timer never keeps the process alive.
 */
export function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
  signal?: AbortSignal,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DriverError('timeout', `${what} got no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref();
    if (signal !== undefined) {
      onAbort = () => reject(new DriverError('closed', `${what} was abandoned: the meter driver is closed`));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  return Promise.race([promise, expiry]).finally(() => {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  });
}
