/**
 * xDLMS services with logical-name referencing (IEC 62056-5-3 §7.3 / Green Book §9.3 and the xDLMS ASN.1):
 * GET (normal, next, with-list), SET normal, ACTION normal, ExceptionResponse, and the ciphered wrappers.
 * One encode/decode pair covers every APDU, ACSE ones included, so client and server share it.
 */
import {
  type Aare,
  type Aarq,
  ACSE_TAG,
  decodeAare,
  decodeAarq,
  decodeRlre,
  decodeRlrq,
  encodeAare,
  encodeAarq,
  encodeRlre,
  encodeRlrq,
  type ReleaseApdu,
} from './acse.ts';
import { type DlmsData, readData, readLength, writeData, writeLength } from './axdr.ts';
import { Cursor, DlmsDecodeError, DlmsEncodeError } from './cursor.ts';
import { type ObisCode, obisFromBytes, obisToBytes } from './obis.ts';

/** xDLMS APDU tags (Green Book xDLMS ASN.1 `XDLMS-APDU ::= CHOICE`). */
export const APDU_TAG = Object.freeze({
  initiateRequest: 0x01,
  initiateResponse: 0x08,
  confirmedServiceError: 0x0e,
  dataNotification: 0x0f,
  gloInitiateRequest: 0x21,
  gloInitiateResponse: 0x28,
  gloConfirmedServiceError: 0x2e,
  aarq: ACSE_TAG.AARQ,
  aare: ACSE_TAG.AARE,
  rlrq: ACSE_TAG.RLRQ,
  rlre: ACSE_TAG.RLRE,
  getRequest: 0xc0,
  setRequest: 0xc1,
  eventNotificationRequest: 0xc2,
  actionRequest: 0xc3,
  getResponse: 0xc4,
  setResponse: 0xc5,
  actionResponse: 0xc7,
  gloGetRequest: 0xc8,
  gloSetRequest: 0xc9,
  gloEventNotificationRequest: 0xca,
  gloActionRequest: 0xcb,
  gloGetResponse: 0xcc,
  gloSetResponse: 0xcd,
  gloActionResponse: 0xcf,
  exceptionResponse: 0xd8,
  generalGloCiphering: 0xdb,
} as const);

/** Service-specific glo-ciphering tags (Green Book §9.3.x): the tag of each ciphered form. */
export const GLO_TAG_FOR: Readonly<Record<number, number>> = Object.freeze({
  [APDU_TAG.initiateRequest]: APDU_TAG.gloInitiateRequest,
  [APDU_TAG.initiateResponse]: APDU_TAG.gloInitiateResponse,
  [APDU_TAG.confirmedServiceError]: APDU_TAG.gloConfirmedServiceError,
  [APDU_TAG.getRequest]: APDU_TAG.gloGetRequest,
  [APDU_TAG.setRequest]: APDU_TAG.gloSetRequest,
  [APDU_TAG.eventNotificationRequest]: APDU_TAG.gloEventNotificationRequest,
  [APDU_TAG.actionRequest]: APDU_TAG.gloActionRequest,
  [APDU_TAG.getResponse]: APDU_TAG.gloGetResponse,
  [APDU_TAG.setResponse]: APDU_TAG.gloSetResponse,
  [APDU_TAG.actionResponse]: APDU_TAG.gloActionResponse,
});

/** Request/response CHOICE values inside GET, SET and ACTION. */
export const GET_CHOICE = Object.freeze({ normal: 1, next: 2, withList: 3 } as const);
export const SET_CHOICE = Object.freeze({ normal: 1 } as const);
export const ACTION_CHOICE = Object.freeze({ normal: 1 } as const);

/** Data-Access-Result (IEC 62056-5-3 §7.3.x, Green Book). Also used as Action-Result with the same codes. */
export const DATA_ACCESS_RESULT = Object.freeze({
  success: 0,
  'hardware-fault': 1,
  'temporary-failure': 2,
  'read-write-denied': 3,
  'object-undefined': 4,
  'object-class-inconsistent': 9,
  'object-unavailable': 11,
  'type-unmatched': 12,
  'scope-of-access-violated': 13,
  'data-block-unavailable': 14,
  'long-get-aborted': 15,
  'no-long-get-in-progress': 16,
  'long-set-aborted': 17,
  'no-long-set-in-progress': 18,
  'data-block-number-invalid': 19,
  'other-reason': 250,
} as const);
export type DataAccessResultName = keyof typeof DATA_ACCESS_RESULT;

/** ExceptionResponse state-error (Green Book). */
export const STATE_ERROR = Object.freeze({ 'service-not-allowed': 1, 'service-unknown': 2 } as const);
/** ExceptionResponse service-error; 6 carries the expected invocation counter. */
export const SERVICE_ERROR = Object.freeze({
  'operation-not-possible': 1,
  'service-not-supported': 2,
  'other-reason': 3,
  'pdu-too-long': 4,
  'deciphering-error': 5,
  'invocation-counter-error': 6,
} as const);

// ---- invoke-id-and-priority ----

/** Invoke-Id-And-Priority bits 0–3: invoke id. */
export const IIP_INVOKE_ID_MASK = 0x0f;
/** Bit 6: service class, 1 = confirmed. */
export const IIP_CONFIRMED_BIT = 0x40;
/** Bit 7: priority, 1 = high. */
export const IIP_HIGH_PRIORITY_BIT = 0x80;

/** Builds the Invoke-Id-And-Priority byte; the captured peers send confirmed + high (0xC0 | id). */
export function invokeIdAndPriority(
  invokeId: number,
  opts: { confirmed?: boolean; highPriority?: boolean } = {},
): number {
  if (invokeId < 0 || invokeId > IIP_INVOKE_ID_MASK) throw new DlmsEncodeError(`invoke id ${invokeId} > 15`);
  return (
    invokeId |
    (opts.confirmed === false ? 0 : IIP_CONFIRMED_BIT) |
    (opts.highPriority === false ? 0 : IIP_HIGH_PRIORITY_BIT)
  );
}

export function invokeIdOf(iip: number): number {
  return iip & IIP_INVOKE_ID_MASK;
}

// ---- descriptors ----

/** Cosem-Attribute-Descriptor: class-id(2) instance-id(6) attribute-id(int8). */
export interface AttributeDescriptor {
  classId: number;
  instance: ObisCode;
  attributeId: number;
}

/** Cosem-Method-Descriptor: class-id(2) instance-id(6) method-id(int8). */
export interface MethodDescriptor {
  classId: number;
  instance: ObisCode;
  methodId: number;
}

/** Selective-Access-Descriptor: access-selector unsigned, access-parameters Data. */
export interface SelectiveAccess {
  selector: number;
  parameters: DlmsData;
}

function writeDescriptor(c: Cursor, classId: number, instance: ObisCode, id: number): void {
  c.writeUInt16(classId).writeBytes(obisToBytes(instance)).writeInt8(id);
}

function readAttribute(c: Cursor): AttributeDescriptor {
  return { classId: c.readUInt16(), instance: obisFromBytes(c.readBytes(6)), attributeId: c.readInt8() };
}

function readMethod(c: Cursor): MethodDescriptor {
  return { classId: c.readUInt16(), instance: obisFromBytes(c.readBytes(6)), methodId: c.readInt8() };
}

function writeAccess(c: Cursor, access: SelectiveAccess | undefined): void {
  if (!access) {
    c.writeUInt8(0);
    return;
  }
  c.writeUInt8(1).writeUInt8(access.selector);
  writeData(c, access.parameters);
}

function readAccess(c: Cursor): SelectiveAccess | undefined {
  if (c.readUInt8() === 0) return undefined;
  return { selector: c.readUInt8(), parameters: readData(c) };
}

// ---- results ----

/** Get-Data-Result ::= CHOICE { data [0] Data, data-access-result [1] Data-Access-Result }. */
export type GetDataResult = { data: DlmsData } | { error: number };

function writeGetDataResult(c: Cursor, r: GetDataResult): void {
  if ('data' in r) {
    c.writeUInt8(0);
    writeData(c, r.data);
  } else c.writeUInt8(1).writeUInt8(r.error);
}

function readGetDataResult(c: Cursor): GetDataResult {
  const choice = c.readUInt8();
  if (choice === 0) return { data: readData(c) };
  if (choice === 1) return { error: c.readUInt8() };
  throw new DlmsDecodeError(`bad Get-Data-Result choice ${choice}`, c.position - 1);
}

// ---- the APDU union ----

export type Apdu =
  | ({ type: 'aarq' } & Aarq)
  | ({ type: 'aare' } & Aare)
  | ({ type: 'rlrq' } & ReleaseApdu)
  | ({ type: 'rlre' } & ReleaseApdu)
  | {
      type: 'get-request-normal';
      iip: number;
      descriptor: AttributeDescriptor;
      access?: SelectiveAccess | undefined;
    }
  | { type: 'get-request-next'; iip: number; blockNumber: number }
  | {
      type: 'get-request-with-list';
      iip: number;
      items: { descriptor: AttributeDescriptor; access?: SelectiveAccess | undefined }[];
    }
  | { type: 'get-response-normal'; iip: number; result: GetDataResult }
  | {
      type: 'get-response-with-datablock';
      iip: number;
      lastBlock: boolean;
      blockNumber: number;
      /** raw-data [0] (a slice of the encoded Data) or data-access-result [1]. */
      result: { raw: Buffer } | { error: number };
    }
  | { type: 'get-response-with-list'; iip: number; results: GetDataResult[] }
  | {
      type: 'set-request-normal';
      iip: number;
      descriptor: AttributeDescriptor;
      access?: SelectiveAccess | undefined;
      value: DlmsData;
    }
  | { type: 'set-response-normal'; iip: number; result: number }
  | {
      type: 'action-request-normal';
      iip: number;
      descriptor: MethodDescriptor;
      parameter?: DlmsData | undefined;
    }
  | {
      type: 'action-response-normal';
      iip: number;
      result: number;
      returnParameters?: GetDataResult | undefined;
    }
  | {
      type: 'exception-response';
      stateError: number;
      serviceError: number;
      invocationCounter?: number | undefined;
    }
  /** Service-specific glo-ciphering: `tag len SC IC ciphertext[tag]` (content = SC‖IC‖ciphertext‖tag). */
  | { type: 'glo-ciphered'; tag: number; content: Buffer }
  /** general-glo-ciphering `DB`: system-title and ciphered content (SC‖IC‖ciphertext‖tag). */
  | { type: 'general-glo-ciphering'; systemTitle: Buffer; content: Buffer };

const GLO_TAGS: ReadonlySet<number> = new Set(Object.values(GLO_TAG_FOR));

export function encodeApdu(a: Apdu): Buffer {
  switch (a.type) {
    case 'aarq':
      return encodeAarq(a);
    case 'aare':
      return encodeAare(a);
    case 'rlrq':
      return encodeRlrq(a);
    case 'rlre':
      return encodeRlre(a);
    default:
      break;
  }
  const c = Cursor.writer();
  switch (a.type) {
    case 'get-request-normal':
      // IEC 62056-5-3 §7.3.8: Get-Request-Normal `C0 01 iip desc access`.
      c.writeUInt8(APDU_TAG.getRequest).writeUInt8(GET_CHOICE.normal).writeUInt8(a.iip);
      writeDescriptor(c, a.descriptor.classId, a.descriptor.instance, a.descriptor.attributeId);
      writeAccess(c, a.access);
      break;
    case 'get-request-next':
      c.writeUInt8(APDU_TAG.getRequest)
        .writeUInt8(GET_CHOICE.next)
        .writeUInt8(a.iip)
        .writeUInt32(a.blockNumber);
      break;
    case 'get-request-with-list':
      c.writeUInt8(APDU_TAG.getRequest).writeUInt8(GET_CHOICE.withList).writeUInt8(a.iip);
      writeLength(c, a.items.length);
      for (const it of a.items) {
        writeDescriptor(c, it.descriptor.classId, it.descriptor.instance, it.descriptor.attributeId);
        writeAccess(c, it.access);
      }
      break;
    case 'get-response-normal':
      c.writeUInt8(APDU_TAG.getResponse).writeUInt8(GET_CHOICE.normal).writeUInt8(a.iip);
      writeGetDataResult(c, a.result);
      break;
    case 'get-response-with-datablock':
      // DataBlock-G: last-block BOOLEAN, block-number Unsigned32, result CHOICE { raw-data [0], dar [1] }.
      c.writeUInt8(APDU_TAG.getResponse).writeUInt8(GET_CHOICE.next).writeUInt8(a.iip);
      c.writeUInt8(a.lastBlock ? 1 : 0).writeUInt32(a.blockNumber);
      if ('raw' in a.result) {
        c.writeUInt8(0);
        writeLength(c, a.result.raw.length);
        c.writeBytes(a.result.raw);
      } else c.writeUInt8(1).writeUInt8(a.result.error);
      break;
    case 'get-response-with-list':
      c.writeUInt8(APDU_TAG.getResponse).writeUInt8(GET_CHOICE.withList).writeUInt8(a.iip);
      writeLength(c, a.results.length);
      for (const r of a.results) writeGetDataResult(c, r);
      break;
    case 'set-request-normal':
      c.writeUInt8(APDU_TAG.setRequest).writeUInt8(SET_CHOICE.normal).writeUInt8(a.iip);
      writeDescriptor(c, a.descriptor.classId, a.descriptor.instance, a.descriptor.attributeId);
      writeAccess(c, a.access);
      writeData(c, a.value);
      break;
    case 'set-response-normal':
      c.writeUInt8(APDU_TAG.setResponse).writeUInt8(SET_CHOICE.normal).writeUInt8(a.iip).writeUInt8(a.result);
      break;
    case 'action-request-normal':
      // IEC 62056-5-3 §7.3.10: `C3 01 iip method-desc [01 Data | 00]`.
      c.writeUInt8(APDU_TAG.actionRequest).writeUInt8(ACTION_CHOICE.normal).writeUInt8(a.iip);
      writeDescriptor(c, a.descriptor.classId, a.descriptor.instance, a.descriptor.methodId);
      if (a.parameter) {
        c.writeUInt8(1);
        writeData(c, a.parameter);
      } else c.writeUInt8(0);
      break;
    case 'action-response-normal':
      // Action-Response-With-Optional-Data: result enum, return-parameters Get-Data-Result OPTIONAL.
      c.writeUInt8(APDU_TAG.actionResponse)
        .writeUInt8(ACTION_CHOICE.normal)
        .writeUInt8(a.iip)
        .writeUInt8(a.result);
      if (a.returnParameters) {
        c.writeUInt8(1);
        writeGetDataResult(c, a.returnParameters);
      } else c.writeUInt8(0);
      break;
    case 'exception-response':
      c.writeUInt8(APDU_TAG.exceptionResponse).writeUInt8(a.stateError).writeUInt8(a.serviceError);
      if (a.serviceError === SERVICE_ERROR['invocation-counter-error'])
        c.writeUInt32(a.invocationCounter ?? 0);
      break;
    case 'glo-ciphered':
      if (!GLO_TAGS.has(a.tag))
        throw new DlmsEncodeError(`0x${a.tag.toString(16)} is not a glo-ciphering tag`);
      c.writeUInt8(a.tag);
      writeLength(c, a.content.length);
      c.writeBytes(a.content);
      break;
    case 'general-glo-ciphering':
      c.writeUInt8(APDU_TAG.generalGloCiphering);
      writeLength(c, a.systemTitle.length);
      c.writeBytes(a.systemTitle);
      writeLength(c, a.content.length);
      c.writeBytes(a.content);
      break;
  }
  return c.getWritten();
}

export function decodeApdu(bytes: Uint8Array): Apdu {
  const c = Cursor.reader(bytes);
  const tag = c.peekUInt8();
  switch (tag) {
    case APDU_TAG.aarq:
      return { type: 'aarq', ...decodeAarq(bytes) };
    case APDU_TAG.aare:
      return { type: 'aare', ...decodeAare(bytes) };
    case APDU_TAG.rlrq:
      return { type: 'rlrq', ...decodeRlrq(bytes) };
    case APDU_TAG.rlre:
      return { type: 'rlre', ...decodeRlre(bytes) };
    default:
      break;
  }
  c.readUInt8();
  const apdu = decodeBody(c, tag);
  if (c.isMore())
    throw new DlmsDecodeError(`${c.remaining()} trailing byte(s) after ${apdu.type}`, c.position);
  return apdu;
}

function decodeBody(c: Cursor, tag: number): Apdu {
  if (GLO_TAGS.has(tag)) return { type: 'glo-ciphered', tag, content: c.readBytes(readLength(c)) };
  switch (tag) {
    case APDU_TAG.generalGloCiphering: {
      const systemTitle = c.readBytes(readLength(c));
      return { type: 'general-glo-ciphering', systemTitle, content: c.readBytes(readLength(c)) };
    }
    case APDU_TAG.exceptionResponse: {
      const stateError = c.readUInt8();
      const serviceError = c.readUInt8();
      if (serviceError === SERVICE_ERROR['invocation-counter-error'] && c.remaining() >= 4) {
        return { type: 'exception-response', stateError, serviceError, invocationCounter: c.readUInt32() };
      }
      return { type: 'exception-response', stateError, serviceError };
    }
    case APDU_TAG.getRequest: {
      const choice = c.readUInt8();
      const iip = c.readUInt8();
      if (choice === GET_CHOICE.normal) {
        const descriptor = readAttribute(c);
        const access = readAccess(c);
        return access
          ? { type: 'get-request-normal', iip, descriptor, access }
          : { type: 'get-request-normal', iip, descriptor };
      }
      if (choice === GET_CHOICE.next) return { type: 'get-request-next', iip, blockNumber: c.readUInt32() };
      if (choice === GET_CHOICE.withList) {
        const n = readLength(c);
        const items: { descriptor: AttributeDescriptor; access?: SelectiveAccess }[] = [];
        for (let i = 0; i < n; i++) {
          const descriptor = readAttribute(c);
          const access = readAccess(c);
          items.push(access ? { descriptor, access } : { descriptor });
        }
        return { type: 'get-request-with-list', iip, items };
      }
      throw new DlmsDecodeError(`unsupported Get-Request choice ${choice}`, 1);
    }
    case APDU_TAG.getResponse: {
      const choice = c.readUInt8();
      const iip = c.readUInt8();
      if (choice === GET_CHOICE.normal)
        return { type: 'get-response-normal', iip, result: readGetDataResult(c) };
      if (choice === GET_CHOICE.next) {
        const lastBlock = c.readUInt8() !== 0;
        const blockNumber = c.readUInt32();
        const rc = c.readUInt8();
        const result = rc === 0 ? { raw: c.readBytes(readLength(c)) } : { error: c.readUInt8() };
        return { type: 'get-response-with-datablock', iip, lastBlock, blockNumber, result };
      }
      if (choice === GET_CHOICE.withList) {
        const n = readLength(c);
        const results: GetDataResult[] = [];
        for (let i = 0; i < n; i++) results.push(readGetDataResult(c));
        return { type: 'get-response-with-list', iip, results };
      }
      throw new DlmsDecodeError(`unsupported Get-Response choice ${choice}`, 1);
    }
    case APDU_TAG.setRequest: {
      const choice = c.readUInt8();
      if (choice !== SET_CHOICE.normal)
        throw new DlmsDecodeError(`unsupported Set-Request choice ${choice}`, 1);
      const iip = c.readUInt8();
      const descriptor = readAttribute(c);
      const access = readAccess(c);
      const value = readData(c);
      return access
        ? { type: 'set-request-normal', iip, descriptor, access, value }
        : { type: 'set-request-normal', iip, descriptor, value };
    }
    case APDU_TAG.setResponse: {
      const choice = c.readUInt8();
      if (choice !== SET_CHOICE.normal)
        throw new DlmsDecodeError(`unsupported Set-Response choice ${choice}`, 1);
      return { type: 'set-response-normal', iip: c.readUInt8(), result: c.readUInt8() };
    }
    case APDU_TAG.actionRequest: {
      const choice = c.readUInt8();
      if (choice !== ACTION_CHOICE.normal)
        throw new DlmsDecodeError(`unsupported Action-Request choice ${choice}`, 1);
      const iip = c.readUInt8();
      const descriptor = readMethod(c);
      if (c.readUInt8() === 0) return { type: 'action-request-normal', iip, descriptor };
      return { type: 'action-request-normal', iip, descriptor, parameter: readData(c) };
    }
    case APDU_TAG.actionResponse: {
      const choice = c.readUInt8();
      if (choice !== ACTION_CHOICE.normal)
        throw new DlmsDecodeError(`unsupported Action-Response choice ${choice}`, 1);
      const iip = c.readUInt8();
      const result = c.readUInt8();
      if (!c.isMore() || c.readUInt8() === 0) return { type: 'action-response-normal', iip, result };
      return { type: 'action-response-normal', iip, result, returnParameters: readGetDataResult(c) };
    }
    default:
      throw new DlmsDecodeError(`unsupported APDU tag 0x${tag.toString(16)}`, 0);
  }
}

// ---- GET block transfer (IEC 62056-5-3 §7.3.8, "GET service with block transfer") ----

/** Bytes of a Get-Response-With-Datablock APDU besides the raw data: tag, choice, iip, last, number, choice, length(≤3). */
const DATABLOCK_OVERHEAD = 3 + 1 + 4 + 1 + 3;
/** Bytes of a Get-Response-Normal besides the Data: tag, choice, iip, result choice. */
const NORMAL_OVERHEAD = 4;

/**
 * Server side: the GET answer for encoded `data`, as one Get-Response-Normal when it fits in the client's
 * max receive PDU size, or else as numbered datablocks (block 1 first). Send block 1 now, then block n+1
 * for each Get-Request-Next carrying n.
 */
export function getResponses(iip: number, data: Buffer, maxPduSize: number): Apdu[] {
  if (data.length + NORMAL_OVERHEAD <= maxPduSize) {
    return [{ type: 'get-response-normal', iip, result: { data: decodeRawData(data) } }];
  }
  const room = maxPduSize - DATABLOCK_OVERHEAD;
  if (room < 1) throw new DlmsEncodeError(`max PDU size ${maxPduSize} leaves no room for a datablock`);
  const out: Apdu[] = [];
  for (let i = 0, n = 1; i < data.length; i += room, n++) {
    out.push({
      type: 'get-response-with-datablock',
      iip,
      lastBlock: i + room >= data.length,
      blockNumber: n,
      result: { raw: data.subarray(i, i + room) },
    });
  }
  return out;
}

function decodeRawData(data: Buffer): DlmsData {
  const c = Cursor.reader(data);
  const d = readData(c);
  if (c.isMore()) throw new DlmsEncodeError('getResponses expects exactly one encoded Data');
  return d;
}

/** Concatenated Data values (some servers send several back to back in one block transfer). */
export function decodeDataSequence(bytes: Uint8Array): DlmsData[] {
  const c = Cursor.reader(bytes);
  const out: DlmsData[] = [];
  while (c.isMore()) out.push(readData(c));
  return out;
}

export type BlockStep =
  | { done: false; next: Apdu }
  | { done: true; raw: Buffer }
  | { done: true; error: number; blockNumber: number };

/**
 * Client side: feed each Get-Response-With-Datablock; it answers with the Get-Request-Next to send, or the
 * joined raw bytes (decode them with `decodeData` or `decodeDataSequence`). Block numbers must run 1, 2, 3…
 */
export class GetBlockAssembler {
  private parts: Buffer[] = [];
  private expected = 1;

  push(apdu: Apdu): BlockStep {
    if (apdu.type !== 'get-response-with-datablock')
      throw new DlmsDecodeError(`expected a datablock, got ${apdu.type}`);
    if ('error' in apdu.result)
      return { done: true, error: apdu.result.error, blockNumber: apdu.blockNumber };
    if (apdu.blockNumber !== this.expected) {
      throw new DlmsDecodeError(`datablock ${apdu.blockNumber} out of order, expected ${this.expected}`);
    }
    this.parts.push(apdu.result.raw);
    if (apdu.lastBlock) {
      const raw = Buffer.concat(this.parts);
      this.parts = [];
      this.expected = 1;
      return { done: true, raw };
    }
    this.expected += 1;
    return { done: false, next: { type: 'get-request-next', iip: apdu.iip, blockNumber: apdu.blockNumber } };
  }
}
