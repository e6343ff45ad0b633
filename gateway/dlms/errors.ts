/**
 * The DLMS session layer's error catalogue: one stable code per failure, with the message template the
 * errors below fill in. Every error the client rejects with is a `DlmsSessionError` carrying one of these
 * codes, so the gateway can map it to a command acknowledgement without parsing messages.
 */
import { DATA_ACCESS_RESULT } from '../../protocols/dlms/index.ts';

export const DLMS_SESSION_ERRORS = Object.freeze({
  DLMS_TIMEOUT: 'no answer to {what} within {timeoutMs} ms',
  DLMS_CONNECTION: 'connection to {peer} failed: {reason}',
  DLMS_ASSOCIATION: 'association refused: {reason}',
  DLMS_ACCESS: '{what} answered {result} ({code})',
  DLMS_PROTOCOL: 'protocol error: {reason}',
} as const);
export type DlmsSessionErrorCode = keyof typeof DLMS_SESSION_ERRORS;

/** Base class of every error the DLMS client rejects with. */
export class DlmsSessionError extends Error {
  constructor(
    readonly code: DlmsSessionErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A request (or the link set-up) got no answer in time. The connection is still open. */
export class DlmsTimeoutError extends DlmsSessionError {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super('DLMS_TIMEOUT', `no answer to ${what} within ${timeoutMs} ms`);
  }
}

/** The TCP connection could not be opened, or closed (or was refused by DM) while work was pending. */
export class DlmsConnectionError extends DlmsSessionError {
  constructor(
    readonly peer: string,
    readonly reason: string,
  ) {
    super('DLMS_CONNECTION', `connection to ${peer} failed: ${reason}`);
  }
}

/**
 * The server refused the association: AARE result/diagnostic (e.g. wrong LLS password gives
 * rejected-permanent with acse-service-user 13 authentication-failure), or HLS pass 3/4 failed.
 */
export class DlmsAssociationError extends DlmsSessionError {
  constructor(
    readonly reason: string,
    readonly result?: string,
    readonly diagnostic?: number,
  ) {
    super('DLMS_ASSOCIATION', `association refused: ${reason}`);
  }
}

const RESULT_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(DATA_ACCESS_RESULT).map(([name, code]) => [code, name]),
);

/** Name of a Data-Access-Result / Action-Result code ("object-undefined"), or "result-<n>". */
export function dataAccessResultName(code: number): string {
  return RESULT_NAMES.get(code) ?? `result-${code}`;
}

/** GET/SET/ACTION answered with a data-access-result (or action-result) other than success. */
export class DlmsAccessError extends DlmsSessionError {
  readonly resultName: string;
  constructor(
    readonly what: string,
    readonly dataAccessResult: number,
  ) {
    const resultName = dataAccessResultName(dataAccessResult);
    super('DLMS_ACCESS', `${what} answered ${resultName} (${dataAccessResult})`);
    this.resultName = resultName;
  }
}

/** An answer that breaks the protocol: undecodable, unexpected, or an ExceptionResponse. */
export class DlmsProtocolError extends DlmsSessionError {
  constructor(
    readonly reason: string,
    readonly exception?: { stateError: number; serviceError: number },
  ) {
    super('DLMS_PROTOCOL', `protocol error: ${reason}`);
  }
}
