/**
 * TCP/UDP wrapper (IEC 62056-47 §5, Green Book "TCP-UDP/IP based communication profiles"):
 * version(2)=0x0001 | source wPort(2) | destination wPort(2) | length(2) | APDU. No checksum, no segmentation.
 */
import { Cursor, DlmsDecodeError, DlmsEncodeError } from './cursor.ts';

/** IEC 62056-47 §5.2: wrapper protocol version. */
export const WRAPPER_VERSION = 0x0001;
/** Header: version, source wPort, destination wPort, length. */
export const WRAPPER_HEADER_LENGTH = 8;
/** IANA port for DLMS/COSEM over TCP. */
export const DLMS_TCP_PORT = 4059;

/** Well-known wPorts (client SAPs and the management logical device). */
export const WPORT = Object.freeze({
  /** Management logical device (server). */
  management: 1,
  /** Public client, no security. */
  publicClient: 16,
  /** Client with low-level security (password). */
  llsClient: 17,
  /** Management client (HLS in the captured server). */
  managementClient: 1,
} as const);

export interface WrapperFrame {
  source: number;
  destination: number;
  apdu: Buffer;
}

export function encodeWrapper(f: WrapperFrame): Buffer {
  if (f.apdu.length > 0xffff)
    throw new DlmsEncodeError(`APDU of ${f.apdu.length} bytes exceeds the wrapper limit`);
  const c = Cursor.writer(WRAPPER_HEADER_LENGTH + f.apdu.length);
  c.writeUInt16(WRAPPER_VERSION).writeUInt16(f.source).writeUInt16(f.destination).writeUInt16(f.apdu.length);
  c.writeBytes(f.apdu);
  return c.getWritten();
}

export function decodeWrapper(bytes: Uint8Array): WrapperFrame {
  const c = Cursor.reader(bytes);
  const version = c.readUInt16();
  if (version !== WRAPPER_VERSION) throw new DlmsDecodeError(`wrapper version 0x${version.toString(16)}`, 0);
  const source = c.readUInt16();
  const destination = c.readUInt16();
  const length = c.readUInt16();
  if (c.remaining() !== length) {
    throw new DlmsDecodeError(`wrapper length ${length} but ${c.remaining()} APDU bytes`, 6);
  }
  return { source, destination, apdu: c.readRest() };
}
