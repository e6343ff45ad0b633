/**
 * HDLC frames for DLMS (IEC 62056-46, "three-layer connection-oriented HDLC based profile").
 *
 *   7E | format(2) | dest addr | src addr | control | [HCS(2) | information] | FCS(2) | 7E
 *
 * DLMS HDLC is length-delimited with no byte stuffing: a frame is parsed by its length field, never by
 * scanning for flags.
 */

import { crc16x25 } from './crc.ts';
import { Cursor, DlmsDecodeError, DlmsEncodeError } from './cursor.ts';

/** IEC 62056-46 §6.4.1: opening and closing flag. */
export const HDLC_FLAG = 0x7e;

/** IEC 62056-46 §6.4.2: frame format type 3 in the high nibble of the format field. */
export const FORMAT_TYPE_MASK = 0xf000;
/** IEC 62056-46 §6.4.2: frame format type 3 = 0xA. */
export const FORMAT_TYPE_3 = 0xa000;
/** IEC 62056-46 §6.4.2: segmentation bit S (more segments follow). */
export const FORMAT_SEGMENTATION_BIT = 0x0800;
/** IEC 62056-46 §6.4.2: frame length sub-field, 11 bits, bytes between the flags. */
export const FORMAT_LENGTH_MASK = 0x07ff;
/** Largest frame length the 11-bit field can express. */
export const MAX_FRAME_LENGTH = FORMAT_LENGTH_MASK;

/** IEC 62056-46 §6.4.3: address byte extension bit; 1 marks the last address byte. */
export const ADDRESS_LAST_BIT = 0x01;

/** IEC 62056-46 §6.4.3.3: the control field poll/final bit. */
export const CONTROL_PF_BIT = 0x10;
/** N(R) receive sequence number: bits 7..5. */
export const CONTROL_NR_SHIFT = 5;
/** N(S) send sequence number: bits 3..1 of an I-frame. */
export const CONTROL_NS_SHIFT = 1;
/** Sequence numbers are modulo 8. */
export const SEQ_MASK = 0x07;

/** Control field base values with P/F = 0 (IEC 62056-46 §6.4.3.3 Table 3). */
export const CONTROL = Object.freeze({
  /** Supervisory RR: N(R)<<5 | P/F | 0x01. */
  RR: 0x01,
  /** Supervisory RNR: N(R)<<5 | P/F | 0x05. */
  RNR: 0x05,
  SNRM: 0x83,
  DISC: 0x43,
  UA: 0x63,
  DM: 0x0f,
  FRMR: 0x87,
  UI: 0x03,
} as const);

/** LLC header, IEC 62056-46 §8 (destination LSAP, source LSAP, quality). */
export const LLC_REQUEST: readonly number[] = Object.freeze([0xe6, 0xe6, 0x00]);
export const LLC_RESPONSE: readonly number[] = Object.freeze([0xe6, 0xe7, 0x00]);

// ---- addresses ----

/**
 * An HDLC address. `size` 1: `upper` is the whole address (a client SAP, or a server logical device).
 * `size` 2: 7-bit upper (logical device) and lower (physical device). `size` 4: 14-bit upper and lower.
 */
export interface HdlcAddress {
  readonly upper: number;
  readonly lower?: number | undefined;
  readonly size: 1 | 2 | 4;
}

/** Client address: one byte `(SAP << 1) | 1` (16 → 0x21). */
export function clientAddress(sap: number): HdlcAddress {
  return { upper: sap, size: 1 };
}

/** Server address: logical device (upper) and optional physical device (lower). */
export function serverAddress(logical: number, physical?: number, size?: 1 | 2 | 4): HdlcAddress {
  if (physical === undefined) return { upper: logical, size: size ?? 1 };
  return { upper: logical, lower: physical, size: size ?? (logical < 0x80 && physical < 0x80 ? 2 : 4) };
}

export function writeAddress(c: Cursor, a: HdlcAddress): void {
  const lim = a.size === 4 ? 0x3fff : 0x7f;
  const lower = a.lower ?? 0;
  if (a.upper < 0 || a.upper > lim || lower < 0 || lower > lim || (a.size === 1 && a.lower !== undefined)) {
    throw new DlmsEncodeError(`HDLC address ${a.upper}/${a.lower} does not fit ${a.size} byte(s)`);
  }
  // IEC 62056-46 §6.4.3: 7 address bits per byte, shifted left; LSB = 1 on the last byte.
  if (a.size === 1) {
    c.writeUInt8((a.upper << 1) | ADDRESS_LAST_BIT);
  } else if (a.size === 2) {
    c.writeUInt8(a.upper << 1).writeUInt8((lower << 1) | ADDRESS_LAST_BIT);
  } else {
    c.writeUInt8((a.upper >> 7) << 1)
      .writeUInt8((a.upper & 0x7f) << 1)
      .writeUInt8((lower >> 7) << 1)
      .writeUInt8(((lower & 0x7f) << 1) | ADDRESS_LAST_BIT);
  }
}

export function readAddress(c: Cursor): HdlcAddress {
  const at = c.position;
  const parts: number[] = [];
  for (;;) {
    const b = c.readUInt8();
    parts.push(b >> 1);
    if (b & ADDRESS_LAST_BIT) break;
    if (parts.length >= 4) throw new DlmsDecodeError('HDLC address longer than 4 bytes', at);
  }
  const [p0 = 0, p1 = 0, p2 = 0, p3 = 0] = parts;
  if (parts.length === 1) return { upper: p0, size: 1 };
  if (parts.length === 2) return { upper: p0, lower: p1, size: 2 };
  if (parts.length === 4) return { upper: (p0 << 7) | p1, lower: (p2 << 7) | p3, size: 4 };
  throw new DlmsDecodeError('HDLC address of 3 bytes', at);
}

// ---- control field ----

export type HdlcControl =
  | { kind: 'I'; ns: number; nr: number; pf: boolean }
  | { kind: 'RR' | 'RNR'; nr: number; pf: boolean }
  | { kind: 'SNRM' | 'DISC' | 'UA' | 'DM' | 'FRMR' | 'UI'; pf: boolean };

const UNNUMBERED: ReadonlyMap<number, 'SNRM' | 'DISC' | 'UA' | 'DM' | 'FRMR' | 'UI'> = new Map([
  [CONTROL.SNRM, 'SNRM'],
  [CONTROL.DISC, 'DISC'],
  [CONTROL.UA, 'UA'],
  [CONTROL.DM, 'DM'],
  [CONTROL.FRMR, 'FRMR'],
  [CONTROL.UI, 'UI'],
]);

export function encodeControl(ctl: HdlcControl): number {
  const pf = ctl.pf ? CONTROL_PF_BIT : 0;
  switch (ctl.kind) {
    case 'I':
      // IEC 62056-46 §6.4.3.3: I-frame N(R)<<5 | P<<4 | N(S)<<1, LSB 0.
      return ((ctl.nr & SEQ_MASK) << CONTROL_NR_SHIFT) | pf | ((ctl.ns & SEQ_MASK) << CONTROL_NS_SHIFT);
    case 'RR':
    case 'RNR':
      return ((ctl.nr & SEQ_MASK) << CONTROL_NR_SHIFT) | pf | CONTROL[ctl.kind];
    default:
      return CONTROL[ctl.kind] | pf;
  }
}

export function decodeControl(b: number): HdlcControl {
  const pf = (b & CONTROL_PF_BIT) !== 0;
  if ((b & 0x01) === 0) {
    return { kind: 'I', ns: (b >> CONTROL_NS_SHIFT) & SEQ_MASK, nr: (b >> CONTROL_NR_SHIFT) & SEQ_MASK, pf };
  }
  if ((b & 0x0f) === CONTROL.RR) return { kind: 'RR', nr: (b >> CONTROL_NR_SHIFT) & SEQ_MASK, pf };
  if ((b & 0x0f) === CONTROL.RNR) return { kind: 'RNR', nr: (b >> CONTROL_NR_SHIFT) & SEQ_MASK, pf };
  const kind = UNNUMBERED.get(b & ~CONTROL_PF_BIT & 0xff);
  if (kind === undefined) throw new DlmsDecodeError(`unknown HDLC control 0x${b.toString(16)}`);
  return { kind, pf };
}

// ---- frame ----

export interface HdlcFrame {
  /** Segmentation bit: more segments of this information follow. */
  segmented: boolean;
  destination: HdlcAddress;
  source: HdlcAddress;
  control: HdlcControl;
  /** Information field (with the LLC header when it is the first segment of an APDU). */
  info: Buffer;
}

/** Encodes a whole frame, flags included. */
export function encodeHdlcFrame(f: HdlcFrame): Buffer {
  const c = Cursor.writer(16 + f.info.length);
  c.writeUInt8(HDLC_FLAG);
  c.writeUInt16(0); // format, patched below
  writeAddress(c, f.destination);
  writeAddress(c, f.source);
  c.writeUInt8(encodeControl(f.control));
  if (f.info.length > 0) {
    // IEC 62056-46 §6.4.4: HCS only when an information field follows; low byte first.
    const hcsEnd = c.position;
    c.writeUInt16(0);
    c.writeBytes(f.info);
    c.writeUInt16(0);
    c.writeUInt8(HDLC_FLAG);
    const out = c.getWritten();
    const length = out.length - 2;
    if (length > MAX_FRAME_LENGTH) throw new DlmsEncodeError(`HDLC frame of ${length} bytes exceeds 2047`);
    out.writeUInt16BE(FORMAT_TYPE_3 | (f.segmented ? FORMAT_SEGMENTATION_BIT : 0) | length, 1);
    out.writeUInt16LE(crc16x25(out, 1, hcsEnd), hcsEnd);
    out.writeUInt16LE(crc16x25(out, 1, out.length - 3), out.length - 3);
    return out;
  }
  c.writeUInt16(0);
  c.writeUInt8(HDLC_FLAG);
  const out = c.getWritten();
  out.writeUInt16BE(FORMAT_TYPE_3 | (f.segmented ? FORMAT_SEGMENTATION_BIT : 0) | (out.length - 2), 1);
  out.writeUInt16LE(crc16x25(out, 1, out.length - 3), out.length - 3);
  return out;
}

/** Decodes one whole frame (flags included); checks format, length, HCS and FCS. */
export function decodeHdlcFrame(bytes: Uint8Array): HdlcFrame {
  const c = Cursor.reader(bytes);
  if (c.readUInt8() !== HDLC_FLAG) throw new DlmsDecodeError('HDLC frame must start with 0x7E', 0);
  const format = c.readUInt16();
  if ((format & FORMAT_TYPE_MASK) !== FORMAT_TYPE_3) throw new DlmsDecodeError('not an HDLC type 3 frame', 1);
  const length = format & FORMAT_LENGTH_MASK;
  if (length + 2 !== bytes.length) {
    throw new DlmsDecodeError(`HDLC length field ${length} does not match ${bytes.length - 2} bytes`, 1);
  }
  if (bytes[bytes.length - 1] !== HDLC_FLAG) throw new DlmsDecodeError('HDLC frame must end with 0x7E');
  const fcsAt = bytes.length - 3;
  const fcs = bytes[fcsAt]! | (bytes[fcsAt + 1]! << 8);
  if (crc16x25(bytes, 1, fcsAt) !== fcs) throw new DlmsDecodeError('HDLC FCS mismatch', fcsAt);
  const destination = readAddress(c);
  const source = readAddress(c);
  const control = decodeControl(c.readUInt8());
  let info: Buffer = Buffer.alloc(0);
  if (c.position < fcsAt) {
    const hcsAt = c.position;
    if (hcsAt + 2 > fcsAt) throw new DlmsDecodeError('HDLC frame too short for HCS', hcsAt);
    const hcs = bytes[hcsAt]! | (bytes[hcsAt + 1]! << 8);
    if (crc16x25(bytes, 1, hcsAt) !== hcs) throw new DlmsDecodeError('HDLC HCS mismatch', hcsAt);
    info = Buffer.from(bytes.subarray(hcsAt + 2, fcsAt));
  }
  return { segmented: (format & FORMAT_SEGMENTATION_BIT) !== 0, destination, source, control, info };
}

// ---- SNRM / UA parameter negotiation (IEC 62056-46 §6.4.4.4.3.2, ISO/IEC 13239 §5.5.3.2) ----

/** Format identifier 0x81, group identifier 0x80 (user data parameters). */
export const PARAM_FORMAT_ID = 0x81;
export const PARAM_GROUP_ID = 0x80;
/** Parameter ids: maximum information field length transmit/receive, window size transmit/receive. */
export const PARAM_ID = Object.freeze({
  maxInfoTx: 0x05,
  maxInfoRx: 0x06,
  windowTx: 0x07,
  windowRx: 0x08,
} as const);

export interface HdlcParameters {
  /** Maximum information field length this side transmits (bytes). */
  maxInfoTx: number;
  /** Maximum information field length this side receives (bytes). */
  maxInfoRx: number;
  windowTx: number;
  windowRx: number;
}

/** IEC 62056-46 §6.4.4.4.3.2: defaults when a parameter is absent. */
export const DEFAULT_HDLC_PARAMETERS: Readonly<HdlcParameters> = Object.freeze({
  maxInfoTx: 128,
  maxInfoRx: 128,
  windowTx: 1,
  windowRx: 1,
});

function writeParamValue(c: Cursor, id: number, v: number): void {
  c.writeUInt8(id);
  if (v <= 0xff) c.writeUInt8(1).writeUInt8(v);
  else if (v <= 0xffff) c.writeUInt8(2).writeUInt16(v);
  else c.writeUInt8(4).writeUInt32(v);
}

/**
 * SNRM/UA information field `81 80 len` + TLVs. Window sizes are written in 4 bytes as the
 * captured peers do; lengths in the fewest bytes that hold them.
 */
export function encodeHdlcParameters(p: HdlcParameters): Buffer {
  const body = Cursor.writer();
  writeParamValue(body, PARAM_ID.maxInfoTx, p.maxInfoTx);
  writeParamValue(body, PARAM_ID.maxInfoRx, p.maxInfoRx);
  body.writeUInt8(PARAM_ID.windowTx).writeUInt8(4).writeUInt32(p.windowTx);
  body.writeUInt8(PARAM_ID.windowRx).writeUInt8(4).writeUInt32(p.windowRx);
  const b = body.getWritten();
  return Buffer.concat([Buffer.from([PARAM_FORMAT_ID, PARAM_GROUP_ID, b.length]), b]);
}

export function decodeHdlcParameters(info: Uint8Array): HdlcParameters {
  const p: HdlcParameters = { ...DEFAULT_HDLC_PARAMETERS };
  if (info.length === 0) return p;
  const c = Cursor.reader(info);
  if (c.readUInt8() !== PARAM_FORMAT_ID || c.readUInt8() !== PARAM_GROUP_ID) {
    throw new DlmsDecodeError('HDLC parameters must start with 81 80', 0);
  }
  const len = c.readUInt8();
  const body = Cursor.reader(c.readBytes(len));
  while (body.isMore()) {
    const id = body.readUInt8();
    const n = body.readUInt8();
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + body.readUInt8();
    if (id === PARAM_ID.maxInfoTx) p.maxInfoTx = v;
    else if (id === PARAM_ID.maxInfoRx) p.maxInfoRx = v;
    else if (id === PARAM_ID.windowTx) p.windowTx = v;
    else if (id === PARAM_ID.windowRx) p.windowRx = v;
  }
  return p;
}

/**
 * The parameters a server answers in UA to a client's proposal: each side's transmit limit is the
 * smaller of what one proposes to send and the other can receive.
 */
export function negotiateHdlcParameters(proposed: HdlcParameters, server: HdlcParameters): HdlcParameters {
  // In the UA the fields are seen from the server: its TX is the client's RX.
  return {
    maxInfoTx: Math.min(proposed.maxInfoRx, server.maxInfoTx),
    maxInfoRx: Math.min(proposed.maxInfoTx, server.maxInfoRx),
    windowTx: Math.min(proposed.windowRx, server.windowTx),
    windowRx: Math.min(proposed.windowTx, server.windowRx),
  };
}

// ---- segmentation and reassembly (IEC 62056-46 §6.4.2 S bit, §8 LLC) ----

/**
 * Splits an APDU into I-frame information fields of at most `maxInfo` bytes. The LLC header goes only in
 * the first segment; every segment except the last carries the segmentation bit.
 */
export function segmentApdu(
  apdu: Uint8Array,
  maxInfo: number,
  llc: readonly number[] | null,
): { info: Buffer; segmented: boolean }[] {
  if (maxInfo < 4) throw new DlmsEncodeError(`max information length ${maxInfo} is too small`);
  const whole = Buffer.concat([Buffer.from(llc ?? []), apdu]);
  const out: { info: Buffer; segmented: boolean }[] = [];
  for (let i = 0; i < whole.length; i += maxInfo) {
    out.push({ info: whole.subarray(i, i + maxInfo), segmented: i + maxInfo < whole.length });
  }
  if (out.length === 0) out.push({ info: whole, segmented: false });
  return out;
}

/** Collects segmented I-frame information until a frame without the S bit completes the APDU. */
export class HdlcReassembler {
  private parts: Buffer[] = [];

  /** Adds one I-frame's information; returns the whole information field (LLC included) when complete. */
  push(frame: Pick<HdlcFrame, 'info' | 'segmented'>): Buffer | null {
    this.parts.push(frame.info);
    if (frame.segmented) return null;
    const whole = Buffer.concat(this.parts);
    this.parts = [];
    return whole;
  }

  /** True while a segmented APDU is incomplete (the peer waits for RR). */
  get pending(): boolean {
    return this.parts.length > 0;
  }

  reset(): void {
    this.parts = [];
  }
}

/** Strips the LLC header; throws if it is not the expected one. */
export function stripLlc(info: Uint8Array, expected: readonly number[]): Buffer {
  const b = Buffer.from(info);
  if (b.length < 3 || !b.subarray(0, 3).equals(Buffer.from(expected))) {
    throw new DlmsDecodeError(`missing LLC header ${Buffer.from(expected).toString('hex')}`, 0);
  }
  return b.subarray(3);
}

// ---- sequence numbers ----

/**
 * Send/receive state variables V(S), V(R) of one end of the link (IEC 62056-46 §6.4.3.3). The client and
 * the server each keep one. `nextI()` numbers an outgoing I-frame; `acceptI()` checks an incoming one.
 */
export class HdlcSequence {
  /** V(S): number of the next I-frame to send. */
  vs = 0;
  /** V(R): number of the next I-frame expected. */
  vr = 0;

  reset(): void {
    this.vs = 0;
    this.vr = 0;
  }

  /** Control field for the next outgoing I-frame. */
  nextI(pf = true): HdlcControl {
    const ctl: HdlcControl = { kind: 'I', ns: this.vs, nr: this.vr, pf };
    this.vs = (this.vs + 1) & SEQ_MASK;
    return ctl;
  }

  /** Control field for RR acknowledging what was received. */
  rr(pf = true): HdlcControl {
    return { kind: 'RR', nr: this.vr, pf };
  }

  /** Accepts an incoming I-frame; false when N(S) is out of sequence (the frame must be ignored). */
  acceptI(ctl: HdlcControl): boolean {
    if (ctl.kind !== 'I' || ctl.ns !== this.vr) return false;
    this.vr = (this.vr + 1) & SEQ_MASK;
    return true;
  }
}
