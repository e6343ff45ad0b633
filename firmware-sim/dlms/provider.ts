/**
 * The seam between the DLMS server (sessions, security, block transfer) and the objects a simulated
 * meter holds. The server asks a `CosemObjectProvider` for attribute values and method results; it never
 * knows what a register or a relay is. `objects.ts` is the in-memory prepaid-meter implementation.
 */
import {
  DATA_ACCESS_RESULT,
  type DataAccessResultName,
  type DlmsData,
  type ObisCode,
  type SelectiveAccess,
} from '../../protocols/dlms/index.ts';

export type Awaitable<T> = T | Promise<T>;

/** A refused access: the Data-Access-Result code (IEC 62056-5-3, e.g. 3 read-write-denied). */
export interface DataAccessError {
  readonly error: number;
}

/** One COSEM object the logical device holds; the server builds the association's object_list from these. */
export interface CosemObjectDescription {
  readonly classId: number;
  readonly logicalName: ObisCode;
  /** Attributes a read-write association may SET (attribute 1 never is). */
  readonly writable?: readonly number[];
  /** Selective access selectors per attribute (e.g. profile buffer: `{ 2: [1, 2] }`). */
  readonly selectors?: Readonly<Record<number, readonly number[]>>;
}

/**
 * What the server asks of the meter. The server has already checked that the object exists with that
 * class, that the association may do this, and answers attribute 1 (logical_name) itself.
 */
export interface CosemObjectProvider {
  objects(): readonly CosemObjectDescription[];
  /** Attribute value, or a data-access-result. `selector` is the GET's selective access, if any. */
  get(
    classId: number,
    obis: ObisCode,
    attribute: number,
    selector?: SelectiveAccess,
  ): Awaitable<DlmsData | DataAccessError>;
  /** undefined on success, or a data-access-result. */
  set(
    classId: number,
    obis: ObisCode,
    attribute: number,
    value: DlmsData,
    selector?: SelectiveAccess,
  ): Awaitable<DataAccessError | undefined>;
  /** Return parameters (or undefined when the method returns none), or an action-result. */
  action(
    classId: number,
    obis: ObisCode,
    method: number,
    param: DlmsData | undefined,
  ): Awaitable<DlmsData | DataAccessError | undefined>;
}

/** `{ error: code }` for a named Data-Access-Result. */
export function accessError(name: DataAccessResultName): DataAccessError {
  return { error: DATA_ACCESS_RESULT[name] };
}

export function isAccessError(v: DlmsData | DataAccessError | undefined): v is DataAccessError {
  return v !== undefined && 'error' in v && !('type' in v);
}
