/**
 * OBIS codes (IEC 62056-6-1): six value groups A.B.C.D.E.F, each 0..255, carried as a 6-byte
 * octet-string (the logical_name of every COSEM object).
 */
import { DlmsDecodeError, DlmsEncodeError } from './cursor.ts';

declare const obisBrand: unique symbol;
/** An OBIS code in its canonical dotted form "A.B.C.D.E.F". Produced only by `obis()` / `obisFromBytes()`. */
export type ObisCode = string & { readonly [obisBrand]: true };

/** IEC 62056-6-1 §4: the logical name is six value groups. */
export const OBIS_LENGTH = 6;

const OBIS_PATTERN = /^(\d{1,3})[.-](\d{1,3})[.:](\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:[.*](\d{1,3}))?$/;

/**
 * Parses "1.0.1.8.0.255", "1-0:1.8.0.255", "1-0:1.8.0*255" or "1-0:1.8.0" (F defaults to 255)
 * into the canonical dotted form.
 */
export function obis(text: string): ObisCode {
  const m = OBIS_PATTERN.exec(text.trim());
  if (!m) throw new DlmsEncodeError(`not an OBIS code: "${text}"`);
  const groups = m.slice(1, 7).map((g) => (g === undefined ? 255 : Number(g)));
  for (const g of groups) {
    if (g > 255) throw new DlmsEncodeError(`OBIS value group ${g} > 255 in "${text}"`);
  }
  return groups.join('.') as ObisCode;
}

/** The 6 wire bytes of an OBIS code. */
export function obisToBytes(code: ObisCode | string): Buffer {
  return Buffer.from(obis(code).split('.').map(Number));
}

/** An OBIS code from its 6 wire bytes. */
export function obisFromBytes(bytes: Uint8Array): ObisCode {
  if (bytes.length !== OBIS_LENGTH) {
    throw new DlmsDecodeError(`logical name must be ${OBIS_LENGTH} bytes, got ${bytes.length}`);
  }
  return Array.from(bytes).join('.') as ObisCode;
}

/** IEC 62056-6-1 reduced ID notation "A-B:C.D.E*F". */
export function formatObis(code: ObisCode, style: 'dotted' | 'reduced' = 'dotted'): string {
  if (style === 'dotted') return code;
  const [a, b, c, d, e, f] = code.split('.');
  return `${a}-${b}:${c}.${d}.${e}*${f}`;
}

/** The OBIS codes a Rasid prepaid meter uses (dlms.md §2.7). */
export const OBIS = Object.freeze({
  activeEnergyImport: obis('1.0.1.8.0.255'),
  activeEnergyExport: obis('1.0.2.8.0.255'),
  activePowerImport: obis('1.0.1.7.0.255'),
  voltageL1: obis('1.0.32.7.0.255'),
  voltageL2: obis('1.0.52.7.0.255'),
  voltageL3: obis('1.0.72.7.0.255'),
  currentL1: obis('1.0.31.7.0.255'),
  currentL2: obis('1.0.51.7.0.255'),
  currentL3: obis('1.0.71.7.0.255'),
  frequency: obis('1.0.14.7.0.255'),
  clock: obis('0.0.1.0.0.255'),
  currentAssociation: obis('0.0.40.0.0.255'),
  logicalDeviceName: obis('0.0.42.0.0.255'),
  serialNumber: obis('0.0.96.1.0.255'),
  disconnectControl: obis('0.0.96.3.10.255'),
  loadProfile1: obis('1.0.99.1.0.255'),
  loadProfile2: obis('1.0.99.2.0.255'),
  account: obis('0.0.19.0.0.255'),
  tokenCredit: obis('0.0.19.10.0.255'),
  emergencyCredit: obis('0.0.19.10.1.255'),
  charge: obis('0.0.19.20.0.255'),
  tokenGateway: obis('0.0.19.40.0.255'),
  waterVolumeCold: obis('8.0.1.0.0.255'),
  waterFlowRate: obis('8.0.2.0.0.255'),
  waterLoadProfile: obis('8.0.99.1.0.255'),
  invocationCounter: obis('0.0.43.1.0.255'),
  securitySetup: obis('0.0.43.0.0.255'),
});
