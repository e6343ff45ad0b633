/**
 * DLMS/COSEM security suite 0 (Green Book §9.2.7: AES-GCM-128, GMAC for HLS mechanism 5).
 * IV = system title (8) ‖ invocation counter (4); AAD = SC ‖ AK (‖ plaintext for authentication only);
 * the authentication tag is 12 bytes.
 */
import { createCipheriv, createDecipheriv, timingSafeEqual } from 'node:crypto';
import { Cursor, DlmsDecodeError, DlmsEncodeError } from './cursor.ts';
import { APDU_TAG, decodeApdu, encodeApdu, GLO_TAG_FOR } from './xdlms.ts';

/** Security control byte bits 0–3: security suite id. */
export const SC_SUITE_MASK = 0x0f;
/** Bit 4: authentication. */
export const SC_AUTHENTICATION = 0x10;
/** Bit 5: encryption. */
export const SC_ENCRYPTION = 0x20;
/** Bit 6: key set, 1 = broadcast key. */
export const SC_BROADCAST_KEY = 0x40;
/** Bit 7: compression. */
export const SC_COMPRESSION = 0x80;
/** Green Book §9.2.7.2.4: the tag is truncated to 12 bytes. */
export const GCM_TAG_LENGTH = 12;
export const SYSTEM_TITLE_LENGTH = 8;
const KEY_LENGTH = 16;

export interface SecurityKeys {
  /** Global unicast encryption key EK (16 bytes). */
  blockCipherKey: Uint8Array;
  /** Authentication key AK (16 bytes). */
  authenticationKey: Uint8Array;
}

export interface CipherParams extends SecurityKeys {
  /** SC: 0x30 authenticated and encrypted, 0x10 authentication only, 0x20 encryption only. */
  securityControl: number;
  invocationCounter: number;
  /** The sender's system title (8 bytes). */
  systemTitle: Uint8Array;
}

function iv(systemTitle: Uint8Array, ic: number): Buffer {
  if (systemTitle.length !== SYSTEM_TITLE_LENGTH) {
    throw new DlmsEncodeError(`system title must be ${SYSTEM_TITLE_LENGTH} bytes, got ${systemTitle.length}`);
  }
  const c = Cursor.writer(12);
  c.writeBytes(systemTitle).writeUInt32(ic);
  return c.getWritten();
}

function checkKeys(k: SecurityKeys): void {
  if (k.blockCipherKey.length !== KEY_LENGTH || k.authenticationKey.length !== KEY_LENGTH) {
    throw new DlmsEncodeError('EK and AK must be 16 bytes (security suite 0)');
  }
}

/** GCM over `plaintext` with the given AAD; returns ciphertext and 12-byte tag. */
function gcm(
  key: Uint8Array,
  nonce: Buffer,
  aad: Buffer,
  plaintext: Uint8Array,
): { ct: Buffer; tag: Buffer } {
  const cipher = createCipheriv('aes-128-gcm', key, nonce, { authTagLength: GCM_TAG_LENGTH });
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ct, tag: cipher.getAuthTag() };
}

/**
 * Protects `plaintext` (Green Book §9.2.7.2.4): returns the ciphered content `SC ‖ IC ‖ payload`, where
 * payload is ciphertext‖tag (SC 0x30), plaintext‖tag (0x10) or ciphertext (0x20).
 */
export function encryptPayload(plaintext: Uint8Array, p: CipherParams): Buffer {
  checkKeys(p);
  if ((p.securityControl & SC_SUITE_MASK) !== 0)
    throw new DlmsEncodeError('only security suite 0 is supported');
  const auth = (p.securityControl & SC_AUTHENTICATION) !== 0;
  const enc = (p.securityControl & SC_ENCRYPTION) !== 0;
  const header = Cursor.writer(5).writeUInt8(p.securityControl).writeUInt32(p.invocationCounter).getWritten();
  const nonce = iv(p.systemTitle, p.invocationCounter);
  const sc = Buffer.from([p.securityControl]);
  if (auth && enc) {
    const { ct, tag } = gcm(p.blockCipherKey, nonce, Buffer.concat([sc, p.authenticationKey]), plaintext);
    return Buffer.concat([header, ct, tag]);
  }
  if (auth) {
    const { tag } = gcm(
      p.blockCipherKey,
      nonce,
      Buffer.concat([sc, p.authenticationKey, plaintext]),
      Buffer.alloc(0),
    );
    return Buffer.concat([header, plaintext, tag]);
  }
  if (enc) {
    const { ct } = gcm(p.blockCipherKey, nonce, Buffer.alloc(0), plaintext);
    return Buffer.concat([header, ct]);
  }
  return Buffer.concat([header, plaintext]);
}

export interface Deciphered {
  securityControl: number;
  invocationCounter: number;
  plaintext: Buffer;
}

/** Reverses `encryptPayload`; throws DlmsDecodeError when the tag does not verify. */
export function decryptPayload(
  content: Uint8Array,
  keys: SecurityKeys,
  senderSystemTitle: Uint8Array,
): Deciphered {
  checkKeys(keys);
  const c = Cursor.reader(content);
  const securityControl = c.readUInt8();
  const invocationCounter = c.readUInt32();
  const payload = c.readRest();
  const auth = (securityControl & SC_AUTHENTICATION) !== 0;
  const enc = (securityControl & SC_ENCRYPTION) !== 0;
  const nonce = iv(senderSystemTitle, invocationCounter);
  const sc = Buffer.from([securityControl]);
  if (auth) {
    if (payload.length < GCM_TAG_LENGTH) throw new DlmsDecodeError('ciphered content shorter than the tag');
    const body = payload.subarray(0, payload.length - GCM_TAG_LENGTH);
    const tag = payload.subarray(payload.length - GCM_TAG_LENGTH);
    const aad = enc
      ? Buffer.concat([sc, keys.authenticationKey])
      : Buffer.concat([sc, keys.authenticationKey, body]);
    const decipher = createDecipheriv('aes-128-gcm', keys.blockCipherKey, nonce, {
      authTagLength: GCM_TAG_LENGTH,
    });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    try {
      const out = Buffer.concat([decipher.update(enc ? body : Buffer.alloc(0)), decipher.final()]);
      return { securityControl, invocationCounter, plaintext: enc ? out : Buffer.from(body) };
    } catch {
      throw new DlmsDecodeError('authentication tag does not verify');
    }
  }
  if (enc) {
    const { ct } = gcm(keys.blockCipherKey, nonce, Buffer.alloc(0), payload);
    return { securityControl, invocationCounter, plaintext: ct };
  }
  return { securityControl, invocationCounter, plaintext: payload };
}

/**
 * Ciphers a plain xDLMS APDU. 'service-specific' uses the glo- tag of the APDU (C0 → C8, 01 → 21 ...);
 * 'general-glo' wraps it in general-glo-ciphering `DB` with the sender's system title.
 */
export function cipherApdu(
  plain: Uint8Array,
  p: CipherParams,
  form: 'service-specific' | 'general-glo',
): Buffer {
  const content = encryptPayload(plain, p);
  if (form === 'general-glo') {
    return encodeApdu({ type: 'general-glo-ciphering', systemTitle: Buffer.from(p.systemTitle), content });
  }
  const tag = GLO_TAG_FOR[plain[0] ?? -1];
  if (tag === undefined) throw new DlmsEncodeError(`APDU 0x${plain[0]?.toString(16)} has no glo- form`);
  return encodeApdu({ type: 'glo-ciphered', tag, content });
}

/**
 * Deciphers a glo- or general-glo-ciphering APDU. The service-specific form carries no system title, so
 * the peer's (from the AARQ calling-AP-title or the AARE responding-AP-title) must be given.
 */
export function decipherApdu(
  bytes: Uint8Array,
  keys: SecurityKeys,
  peerSystemTitle?: Uint8Array,
): Deciphered & { systemTitle: Buffer } {
  const apdu = decodeApdu(bytes);
  if (apdu.type === 'general-glo-ciphering') {
    return { ...decryptPayload(apdu.content, keys, apdu.systemTitle), systemTitle: apdu.systemTitle };
  }
  if (apdu.type === 'glo-ciphered') {
    if (!peerSystemTitle) throw new DlmsDecodeError('service-specific ciphering needs the peer system title');
    return {
      ...decryptPayload(apdu.content, keys, peerSystemTitle),
      systemTitle: Buffer.from(peerSystemTitle),
    };
  }
  throw new DlmsDecodeError(`${apdu.type} is not a ciphered APDU`);
}

/** True for glo-ciphered and general-glo-ciphering APDU tags. */
export function isCipheredApdu(bytes: Uint8Array): boolean {
  const t = bytes[0];
  return t === APDU_TAG.generalGloCiphering || (t !== undefined && Object.values(GLO_TAG_FOR).includes(t));
}

// ---- HLS mechanism 5 (GMAC), Green Book §9.2.7.4 Table 43 ----

/**
 * f(challenge) = SC ‖ IC ‖ GMAC(SC ‖ AK ‖ challenge), IV = own system title ‖ IC. The client sends
 * f(StoC) in reply_to_HLS_authentication; the server answers f(CtoS). SC is 0x10 (authentication only).
 */
export function hlsGmac(
  challenge: Uint8Array,
  p: Omit<CipherParams, 'securityControl'> & { securityControl?: number },
): Buffer {
  checkKeys(p);
  const sc = p.securityControl ?? SC_AUTHENTICATION;
  const nonce = iv(p.systemTitle, p.invocationCounter);
  const { tag } = gcm(
    p.blockCipherKey,
    nonce,
    Buffer.concat([Buffer.from([sc]), p.authenticationKey, challenge]),
    Buffer.alloc(0),
  );
  return Cursor.writer(17).writeUInt8(sc).writeUInt32(p.invocationCounter).writeBytes(tag).getWritten();
}

/**
 * Checks a peer's f(challenge): `response` = SC ‖ IC ‖ tag computed with the peer's system title over
 * the challenge this side sent. Returns the peer's invocation counter when valid, null otherwise.
 */
export function verifyHlsGmac(
  response: Uint8Array,
  challenge: Uint8Array,
  keys: SecurityKeys,
  peerSystemTitle: Uint8Array,
): number | null {
  if (response.length !== 5 + GCM_TAG_LENGTH) return null;
  const c = Cursor.reader(response);
  const securityControl = c.readUInt8();
  const invocationCounter = c.readUInt32();
  const expected = hlsGmac(challenge, {
    ...keys,
    systemTitle: peerSystemTitle,
    invocationCounter,
    securityControl,
  });
  return timingSafeEqual(expected, Buffer.from(response)) ? invocationCounter : null;
}

/**
 * Replay protection (Green Book §9.2.7.2.4.3): the invocation counter of a received APDU must be strictly
 * greater than the last one accepted from that peer.
 */
export class InvocationCounterGuard {
  constructor(private last = -1) {}

  /** Accepts `ic` if it is new; false for a replay or a counter that went back. */
  accept(ic: number): boolean {
    if (ic <= this.last) return false;
    this.last = ic;
    return true;
  }

  get lastAccepted(): number {
    return this.last;
  }
}
