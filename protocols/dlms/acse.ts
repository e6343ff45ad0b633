/**
 * ACSE association APDUs (AARQ, AARE, RLRQ, RLRE) in BER (IEC 62056-5-3 §8 / Green Book §9.4 "COSEM APDUs",
 * ISO/IEC 8650-1), and the xDLMS InitiateRequest / InitiateResponse they carry (IEC 62056-5-3 §7.3.4).
 */
import { Cursor, DlmsDecodeError, DlmsEncodeError } from './cursor.ts';

/** ACSE APDU tags (application class, constructed). */
export const ACSE_TAG = Object.freeze({ AARQ: 0x60, AARE: 0x61, RLRQ: 0x62, RLRE: 0x63 } as const);

/** AARQ/AARE field tags used by DLMS (Green Book Table "Coding of the AARQ/AARE"). */
export const ACSE_FIELD = Object.freeze({
  protocolVersion: 0x80,
  applicationContextName: 0xa1,
  /** AARQ: called-AP-title; AARE: result. */
  calledApTitleOrResult: 0xa2,
  /** AARE: result-source-diagnostic. */
  resultSourceDiagnostic: 0xa3,
  /** AARE: responding-AP-title. */
  respondingApTitle: 0xa4,
  /** AARQ: calling-AP-title. */
  callingApTitle: 0xa6,
  senderAcseRequirements: 0x8a,
  mechanismName: 0x8b,
  callingAuthenticationValue: 0xac,
  responderAcseRequirements: 0x88,
  respondingMechanismName: 0x89,
  respondingAuthenticationValue: 0xaa,
  implementationInformation: 0xbd,
  userInformation: 0xbe,
} as const);

/** Green Book §9.4.2.2.2: application context names 2.16.756.5.8.1.x (joint-iso-ccitt country(16) ch(756) ...). */
export const APPLICATION_CONTEXT = Object.freeze({
  'ln-no-ciphering': 1,
  'sn-no-ciphering': 2,
  'ln-ciphering': 3,
  'sn-ciphering': 4,
} as const);
export type ApplicationContext = keyof typeof APPLICATION_CONTEXT;

/** Green Book §9.4.2.2.3: authentication mechanism names 2.16.756.5.8.2.m. */
export const MECHANISM = Object.freeze({
  none: 0,
  lls: 1,
  'hls-secret': 2,
  'hls-md5': 3,
  'hls-sha1': 4,
  'hls-gmac': 5,
  'hls-sha256': 6,
  'hls-ecdsa': 7,
} as const);
export type Mechanism = keyof typeof MECHANISM;

/** BER-encoded OID prefix 2.16.756.5.8 (60 85 74 05 08). */
const DLMS_OID_PREFIX = [0x60, 0x85, 0x74, 0x05, 0x08];
/** OID arc: 1 = application context, 2 = authentication mechanism. */
const OID_ARC_CONTEXT = 1;
const OID_ARC_MECHANISM = 2;

/** AARE result (Green Book: Association-result). */
export const ASSOCIATION_RESULT = Object.freeze({
  accepted: 0,
  'rejected-permanent': 1,
  'rejected-transient': 2,
} as const);

/** acse-service-user diagnostics. */
export const ACSE_SERVICE_USER = Object.freeze({
  null: 0,
  'no-reason-given': 1,
  'application-context-name-not-supported': 2,
  'calling-AP-title-not-recognized': 3,
  'calling-AE-qualifier-not-recognized': 4,
  'authentication-mechanism-name-not-recognised': 11,
  'authentication-mechanism-name-required': 12,
  'authentication-failure': 13,
  'authentication-required': 14,
} as const);

/** sender/responder-acse-requirements: bit-string, bit 0 = authentication (`07 80`). */
const ACSE_REQUIREMENTS_AUTHENTICATION = Buffer.from([0x07, 0x80]);

// ---- BER TLV coding ----

function writeBerLength(c: Cursor, n: number): void {
  if (n < 0x80) c.writeUInt8(n);
  else if (n <= 0xff) c.writeUInt8(0x81).writeUInt8(n);
  else c.writeUInt8(0x82).writeUInt16(n);
}

function readBerLength(c: Cursor): number {
  const first = c.readUInt8();
  if (first < 0x80) return first;
  const size = first & 0x7f;
  if (size === 0 || size > 2) throw new DlmsDecodeError('unsupported BER length', c.position - 1);
  return size === 1 ? c.readUInt8() : c.readUInt16();
}

function tlv(tag: number, content: Uint8Array): Buffer {
  const c = Cursor.writer(content.length + 4);
  c.writeUInt8(tag);
  writeBerLength(c, content.length);
  c.writeBytes(content);
  return c.getWritten();
}

function readTlvs(body: Uint8Array): { tag: number; value: Buffer }[] {
  const c = Cursor.reader(body);
  const out: { tag: number; value: Buffer }[] = [];
  while (c.isMore()) {
    const tag = c.readUInt8();
    out.push({ tag, value: c.readBytes(readBerLength(c)) });
  }
  return out;
}

function oid(arc: number, id: number): Buffer {
  return Buffer.from([...DLMS_OID_PREFIX, arc, id]);
}

function parseOid(bytes: Buffer, arc: number, what: string): number {
  if (bytes.length !== 7 || !bytes.subarray(0, 5).equals(Buffer.from(DLMS_OID_PREFIX)) || bytes[5] !== arc) {
    throw new DlmsDecodeError(`unknown ${what} OID ${bytes.toString('hex')}`);
  }
  return bytes[6]!;
}

function nameOf<T extends Record<string, number>>(table: T, v: number, what: string): keyof T {
  const hit = Object.entries(table).find(([, n]) => n === v);
  if (!hit) throw new DlmsDecodeError(`unknown ${what} ${v}`);
  return hit[0] as keyof T;
}

/** `A1 03 02 01 v` style: a context-tagged INTEGER. */
function berInteger(tag: number, v: number): Buffer {
  return tlv(tag, Buffer.from([0x02, 0x01, v]));
}

function readBerInteger(b: Buffer): number {
  if (b.length !== 3 || b[0] !== 0x02 || b[1] !== 0x01)
    throw new DlmsDecodeError(`bad BER INTEGER ${b.toString('hex')}`);
  return b[2]!;
}

/** `A6 0A 04 08 <title>`: AP-title as OCTET STRING inside the context tag. */
function apTitle(tag: number, title: Uint8Array): Buffer {
  return tlv(tag, tlv(0x04, title));
}

function readApTitle(b: Buffer): Buffer {
  const [inner] = readTlvs(b);
  if (inner?.tag !== 0x04) throw new DlmsDecodeError('AP-title must be an OCTET STRING');
  return inner.value;
}

/** `AC len 80 len value`: authentication value, charstring choice [0]. */
function authValue(tag: number, value: Uint8Array): Buffer {
  return tlv(tag, tlv(0x80, value));
}

function readAuthValue(b: Buffer): Buffer {
  const [inner] = readTlvs(b);
  if (inner?.tag !== 0x80) throw new DlmsDecodeError('authentication value must be charstring [0]');
  return inner.value;
}

// ---- AARQ ----

export interface Aarq {
  applicationContext: ApplicationContext;
  /** Client system title (8 bytes); required with ciphering. */
  callingApTitle?: Buffer | undefined;
  /** Authentication mechanism; absent or 'none' = lowest level security. */
  mechanism?: Mechanism | undefined;
  /** LLS password or HLS client-to-server challenge. */
  callingAuthenticationValue?: Buffer | undefined;
  /** xDLMS APDU in user-information: InitiateRequest (plain) or glo-initiateRequest (ciphered). */
  userInformation?: Buffer | undefined;
}

export function encodeAarq(a: Aarq): Buffer {
  const parts: Buffer[] = [
    tlv(
      ACSE_FIELD.applicationContextName,
      tlv(0x06, oid(OID_ARC_CONTEXT, APPLICATION_CONTEXT[a.applicationContext])),
    ),
  ];
  if (a.callingApTitle) parts.push(apTitle(ACSE_FIELD.callingApTitle, a.callingApTitle));
  if (a.mechanism !== undefined && a.mechanism !== 'none') {
    parts.push(tlv(ACSE_FIELD.senderAcseRequirements, ACSE_REQUIREMENTS_AUTHENTICATION));
    parts.push(tlv(ACSE_FIELD.mechanismName, oid(OID_ARC_MECHANISM, MECHANISM[a.mechanism])));
    if (a.callingAuthenticationValue) {
      parts.push(authValue(ACSE_FIELD.callingAuthenticationValue, a.callingAuthenticationValue));
    }
  }
  if (a.userInformation) parts.push(tlv(ACSE_FIELD.userInformation, tlv(0x04, a.userInformation)));
  return tlv(ACSE_TAG.AARQ, Buffer.concat(parts));
}

function userInfo(b: Buffer): Buffer {
  const [inner] = readTlvs(b);
  if (inner?.tag !== 0x04) throw new DlmsDecodeError('user-information must be an OCTET STRING');
  return inner.value;
}

function outer(bytes: Uint8Array, tag: number, what: string): Buffer {
  const c = Cursor.reader(bytes);
  if (c.readUInt8() !== tag) throw new DlmsDecodeError(`not an ${what}`, 0);
  const len = readBerLength(c);
  if (len !== c.remaining()) throw new DlmsDecodeError(`${what} length ${len} but ${c.remaining()} bytes`);
  return c.readRest();
}

export function decodeAarq(bytes: Uint8Array): Aarq {
  const a: Aarq = { applicationContext: 'ln-no-ciphering' };
  for (const { tag, value } of readTlvs(outer(bytes, ACSE_TAG.AARQ, 'AARQ'))) {
    switch (tag) {
      case ACSE_FIELD.applicationContextName: {
        const [inner] = readTlvs(value);
        if (inner?.tag !== 0x06) throw new DlmsDecodeError('application-context-name must be an OID');
        a.applicationContext = nameOf(
          APPLICATION_CONTEXT,
          parseOid(inner.value, OID_ARC_CONTEXT, 'context'),
          'context',
        );
        break;
      }
      case ACSE_FIELD.callingApTitle:
        a.callingApTitle = readApTitle(value);
        break;
      case ACSE_FIELD.mechanismName:
        a.mechanism = nameOf(MECHANISM, parseOid(value, OID_ARC_MECHANISM, 'mechanism'), 'mechanism');
        break;
      case ACSE_FIELD.callingAuthenticationValue:
        a.callingAuthenticationValue = readAuthValue(value);
        break;
      case ACSE_FIELD.userInformation:
        a.userInformation = userInfo(value);
        break;
      default:
        // protocol-version, sender-acse-requirements, called-* and implementation-information carry
        // nothing DLMS needs; they are accepted and ignored.
        break;
    }
  }
  return a;
}

// ---- AARE ----

export interface Aare {
  applicationContext: ApplicationContext;
  result: keyof typeof ASSOCIATION_RESULT;
  /** Result source diagnostic: acse-service-user (usual) or acse-service-provider, with its code. */
  diagnostic: { source: 'user' | 'provider'; code: number };
  /** Server system title (HLS, ciphering). */
  respondingApTitle?: Buffer | undefined;
  mechanism?: Mechanism | undefined;
  /** HLS server-to-client challenge. */
  respondingAuthenticationValue?: Buffer | undefined;
  /** InitiateResponse, glo-initiateResponse or ConfirmedServiceError. */
  userInformation?: Buffer | undefined;
}

/** Result-source-diagnostic choice tags: acse-service-user [1], acse-service-provider [2]. */
const DIAGNOSTIC_USER = 0xa1;
const DIAGNOSTIC_PROVIDER = 0xa2;

export function encodeAare(a: Aare): Buffer {
  const parts: Buffer[] = [
    tlv(
      ACSE_FIELD.applicationContextName,
      tlv(0x06, oid(OID_ARC_CONTEXT, APPLICATION_CONTEXT[a.applicationContext])),
    ),
    berInteger(ACSE_FIELD.calledApTitleOrResult, ASSOCIATION_RESULT[a.result]),
    tlv(
      ACSE_FIELD.resultSourceDiagnostic,
      berInteger(a.diagnostic.source === 'user' ? DIAGNOSTIC_USER : DIAGNOSTIC_PROVIDER, a.diagnostic.code),
    ),
  ];
  if (a.respondingApTitle) parts.push(apTitle(ACSE_FIELD.respondingApTitle, a.respondingApTitle));
  if (a.mechanism !== undefined && a.mechanism !== 'none') {
    parts.push(tlv(ACSE_FIELD.responderAcseRequirements, ACSE_REQUIREMENTS_AUTHENTICATION));
    parts.push(tlv(ACSE_FIELD.respondingMechanismName, oid(OID_ARC_MECHANISM, MECHANISM[a.mechanism])));
    if (a.respondingAuthenticationValue) {
      parts.push(authValue(ACSE_FIELD.respondingAuthenticationValue, a.respondingAuthenticationValue));
    }
  }
  if (a.userInformation) parts.push(tlv(ACSE_FIELD.userInformation, tlv(0x04, a.userInformation)));
  return tlv(ACSE_TAG.AARE, Buffer.concat(parts));
}

export function decodeAare(bytes: Uint8Array): Aare {
  const a: Aare = {
    applicationContext: 'ln-no-ciphering',
    result: 'accepted',
    diagnostic: { source: 'user', code: 0 },
  };
  let sawResult = false;
  for (const { tag, value } of readTlvs(outer(bytes, ACSE_TAG.AARE, 'AARE'))) {
    switch (tag) {
      case ACSE_FIELD.applicationContextName: {
        const [inner] = readTlvs(value);
        if (inner?.tag !== 0x06) throw new DlmsDecodeError('application-context-name must be an OID');
        a.applicationContext = nameOf(
          APPLICATION_CONTEXT,
          parseOid(inner.value, OID_ARC_CONTEXT, 'context'),
          'context',
        );
        break;
      }
      case ACSE_FIELD.calledApTitleOrResult:
        a.result = nameOf(ASSOCIATION_RESULT, readBerInteger(value), 'association result');
        sawResult = true;
        break;
      case ACSE_FIELD.resultSourceDiagnostic: {
        const [inner] = readTlvs(value);
        if (inner?.tag !== DIAGNOSTIC_USER && inner?.tag !== DIAGNOSTIC_PROVIDER) {
          throw new DlmsDecodeError('bad result-source-diagnostic');
        }
        a.diagnostic = {
          source: inner.tag === DIAGNOSTIC_USER ? 'user' : 'provider',
          code: readBerInteger(inner.value),
        };
        break;
      }
      case ACSE_FIELD.respondingApTitle:
        a.respondingApTitle = readApTitle(value);
        break;
      case ACSE_FIELD.respondingMechanismName:
        a.mechanism = nameOf(MECHANISM, parseOid(value, OID_ARC_MECHANISM, 'mechanism'), 'mechanism');
        break;
      case ACSE_FIELD.respondingAuthenticationValue:
        a.respondingAuthenticationValue = readAuthValue(value);
        break;
      case ACSE_FIELD.userInformation:
        a.userInformation = userInfo(value);
        break;
      default:
        break;
    }
  }
  if (!sawResult) throw new DlmsDecodeError('AARE without result');
  return a;
}

// ---- RLRQ / RLRE (Green Book §9.4: release-request-reason [0] IMPLICIT) ----

export const RELEASE_REQUEST_REASON = Object.freeze({ normal: 0, urgent: 1, 'user-defined': 30 } as const);
export const RELEASE_RESPONSE_REASON = Object.freeze({
  normal: 0,
  'not-finished': 1,
  'user-defined': 30,
} as const);

export interface ReleaseApdu {
  reason?: number | undefined;
  /** Ciphered InitiateRequest/Response when the association used ciphering. */
  userInformation?: Buffer | undefined;
}

function encodeRelease(tag: number, r: ReleaseApdu): Buffer {
  const parts: Buffer[] = [];
  if (r.reason !== undefined) parts.push(tlv(0x80, Buffer.from([r.reason])));
  if (r.userInformation) parts.push(tlv(ACSE_FIELD.userInformation, tlv(0x04, r.userInformation)));
  return tlv(tag, Buffer.concat(parts));
}

function decodeRelease(bytes: Uint8Array, tag: number, what: string): ReleaseApdu {
  const r: ReleaseApdu = {};
  for (const f of readTlvs(outer(bytes, tag, what))) {
    if (f.tag === 0x80) r.reason = f.value[0];
    else if (f.tag === ACSE_FIELD.userInformation) r.userInformation = userInfo(f.value);
  }
  return r;
}

/** RLRQ `62 03 80 01 00` for a normal release. */
export const encodeRlrq = (r: ReleaseApdu): Buffer => encodeRelease(ACSE_TAG.RLRQ, r);
export const decodeRlrq = (b: Uint8Array): ReleaseApdu => decodeRelease(b, ACSE_TAG.RLRQ, 'RLRQ');
/** RLRE `63 03 80 01 00` for a normal release. */
export const encodeRlre = (r: ReleaseApdu): Buffer => encodeRelease(ACSE_TAG.RLRE, r);
export const decodeRlre = (b: Uint8Array): ReleaseApdu => decodeRelease(b, ACSE_TAG.RLRE, 'RLRE');

// ---- xDLMS InitiateRequest / InitiateResponse (IEC 62056-5-3 §7.3.4, A-XDR) ----

/** xDLMS tags of the initiate APDUs. */
export const INITIATE_TAG = Object.freeze({
  request: 0x01,
  response: 0x08,
  confirmedServiceError: 0x0e,
} as const);

/** DLMS version number carried in InitiateRequest/Response. */
export const DLMS_VERSION = 6;
/** VAA name of an LN association (InitiateResponse). */
export const VAA_NAME_LN = 0x0007;
/** VAA name of an SN association. */
export const VAA_NAME_SN = 0xfa00;

/** Conformance block tag: [APPLICATION 31] IMPLICIT BIT STRING (SIZE(24)) = `5F 1F 04 00`. */
const CONFORMANCE_TAG = [0x5f, 0x1f];
const CONFORMANCE_LENGTH = 4;

/** Conformance bits (IEC 62056-5-3 §7.3.4 Table): bit n has value 1 << (23 − n). */
export const CONFORMANCE = Object.freeze({
  'reserved-zero': 1 << 23,
  'general-protection': 1 << 22,
  'general-block-transfer': 1 << 21,
  read: 1 << 20,
  write: 1 << 19,
  'unconfirmed-write': 1 << 18,
  'delta-value-encoding': 1 << 17,
  'reserved-seven': 1 << 16,
  'attribute0-supported-with-set': 1 << 15,
  'priority-mgmt-supported': 1 << 14,
  'attribute0-supported-with-get': 1 << 13,
  'block-transfer-with-get-or-read': 1 << 12,
  'block-transfer-with-set-or-write': 1 << 11,
  'block-transfer-with-action': 1 << 10,
  'multiple-references': 1 << 9,
  'information-report': 1 << 8,
  'data-notification': 1 << 7,
  access: 1 << 6,
  'parameterized-access': 1 << 5,
  get: 1 << 4,
  set: 1 << 3,
  'selective-access': 1 << 2,
  'event-notification': 1 << 1,
  action: 1 << 0,
} as const);
export type ConformanceName = keyof typeof CONFORMANCE;

export function conformance(...names: ConformanceName[]): number {
  return names.reduce((acc, n) => acc | CONFORMANCE[n], 0);
}

export function conformanceNames(bits: number): ConformanceName[] {
  return (Object.keys(CONFORMANCE) as ConformanceName[]).filter((n) => (bits & CONFORMANCE[n]) !== 0);
}

/** What a Rasid LN server offers: GET/SET/ACTION, selective access, block transfer with GET, with-list. */
export const RASID_SERVER_CONFORMANCE = conformance(
  'get',
  'set',
  'action',
  'selective-access',
  'block-transfer-with-get-or-read',
  'multiple-references',
  'priority-mgmt-supported',
  'attribute0-supported-with-get',
);

function writeConformance(c: Cursor, bits: number): void {
  if (bits < 0 || bits > 0xffffff)
    throw new DlmsEncodeError(`conformance 0x${bits.toString(16)} exceeds 24 bits`);
  c.writeBytes(Buffer.from(CONFORMANCE_TAG)).writeUInt8(CONFORMANCE_LENGTH).writeUInt8(0);
  c.writeUInt8(bits >> 16).writeUInt16(bits & 0xffff);
}

function readConformance(c: Cursor): number {
  const at = c.position;
  if (c.readUInt8() !== CONFORMANCE_TAG[0] || c.readUInt8() !== CONFORMANCE_TAG[1] || c.readUInt8() !== 4) {
    throw new DlmsDecodeError('bad conformance block', at);
  }
  c.readUInt8(); // unused bits
  return (c.readUInt8() << 16) | c.readUInt16();
}

export interface InitiateRequest {
  dedicatedKey?: Buffer | undefined;
  /** DEFAULT TRUE; false only for unconfirmed services. */
  responseAllowed?: boolean | undefined;
  proposedQualityOfService?: number | undefined;
  dlmsVersion: number;
  conformance: number;
  clientMaxReceivePduSize: number;
}

export function encodeInitiateRequest(r: InitiateRequest): Buffer {
  const c = Cursor.writer(32);
  c.writeUInt8(INITIATE_TAG.request);
  if (r.dedicatedKey) {
    c.writeUInt8(1).writeUInt8(r.dedicatedKey.length).writeBytes(r.dedicatedKey);
  } else c.writeUInt8(0);
  // A-XDR DEFAULT: 00 = default value (TRUE) used.
  if (r.responseAllowed === false) c.writeUInt8(1).writeUInt8(0);
  else c.writeUInt8(0);
  if (r.proposedQualityOfService !== undefined) c.writeUInt8(1).writeInt8(r.proposedQualityOfService);
  else c.writeUInt8(0);
  c.writeUInt8(r.dlmsVersion);
  writeConformance(c, r.conformance);
  c.writeUInt16(r.clientMaxReceivePduSize);
  return c.getWritten();
}

export function decodeInitiateRequest(bytes: Uint8Array): InitiateRequest {
  const c = Cursor.reader(bytes);
  if (c.readUInt8() !== INITIATE_TAG.request) throw new DlmsDecodeError('not an InitiateRequest', 0);
  const r: InitiateRequest = { dlmsVersion: 0, conformance: 0, clientMaxReceivePduSize: 0 };
  if (c.readUInt8() !== 0) r.dedicatedKey = c.readBytes(c.readUInt8());
  if (c.readUInt8() !== 0) r.responseAllowed = c.readUInt8() !== 0;
  if (c.readUInt8() !== 0) r.proposedQualityOfService = c.readInt8();
  r.dlmsVersion = c.readUInt8();
  r.conformance = readConformance(c);
  r.clientMaxReceivePduSize = c.readUInt16();
  return r;
}

export interface InitiateResponse {
  negotiatedQualityOfService?: number | undefined;
  dlmsVersion: number;
  conformance: number;
  serverMaxReceivePduSize: number;
  vaaName: number;
}

export function encodeInitiateResponse(r: InitiateResponse): Buffer {
  const c = Cursor.writer(16);
  c.writeUInt8(INITIATE_TAG.response);
  if (r.negotiatedQualityOfService !== undefined) c.writeUInt8(1).writeInt8(r.negotiatedQualityOfService);
  else c.writeUInt8(0);
  c.writeUInt8(r.dlmsVersion);
  writeConformance(c, r.conformance);
  c.writeUInt16(r.serverMaxReceivePduSize);
  c.writeUInt16(r.vaaName);
  return c.getWritten();
}

export function decodeInitiateResponse(bytes: Uint8Array): InitiateResponse {
  const c = Cursor.reader(bytes);
  if (c.readUInt8() !== INITIATE_TAG.response) throw new DlmsDecodeError('not an InitiateResponse', 0);
  const r: InitiateResponse = { dlmsVersion: 0, conformance: 0, serverMaxReceivePduSize: 0, vaaName: 0 };
  if (c.readUInt8() !== 0) r.negotiatedQualityOfService = c.readInt8();
  r.dlmsVersion = c.readUInt8();
  r.conformance = readConformance(c);
  r.serverMaxReceivePduSize = c.readUInt16();
  r.vaaName = c.readUInt16();
  return r;
}

/** ConfirmedServiceError (IEC 62056-5-3 §7.3.4): `0E choice service-error-choice value`. */
export interface ConfirmedServiceError {
  /** Which service failed: 1 = initiateError, 2 = getStatus, ... 14 = ... (ConfirmedServiceError CHOICE). */
  service: number;
  /** ServiceError CHOICE: 0 application-reference, 1 hardware-resource, ... 6 initiate, ... */
  errorType: number;
  /** The enumerated value, e.g. initiate: 1 dlms-version-too-low, 2 incompatible-conformance, 3 pdu-size-too-short. */
  value: number;
}

export const INITIATE_ERROR = Object.freeze({
  other: 0,
  'dlms-version-too-low': 1,
  'incompatible-conformance': 2,
  'pdu-size-too-short': 3,
  'refused-by-the-VDE-Handler': 4,
} as const);

export function encodeConfirmedServiceError(e: ConfirmedServiceError): Buffer {
  return Buffer.from([INITIATE_TAG.confirmedServiceError, e.service, e.errorType, e.value]);
}

export function decodeConfirmedServiceError(bytes: Uint8Array): ConfirmedServiceError {
  const c = Cursor.reader(bytes);
  if (c.readUInt8() !== INITIATE_TAG.confirmedServiceError)
    throw new DlmsDecodeError('not a ConfirmedServiceError');
  return { service: c.readUInt8(), errorType: c.readUInt8(), value: c.readUInt8() };
}
