import { describe, expect, it } from 'vitest';
import {
  cipherApdu,
  conformance,
  DlmsDecodeError,
  decipherApdu,
  decodeApdu,
  decodeInitiateRequest,
  decryptPayload,
  dt,
  encodeAarq,
  encodeApdu,
  encodeInitiateRequest,
  encodeInitiateResponse,
  encryptPayload,
  fromHex,
  hlsGmac,
  InvocationCounterGuard,
  isCipheredApdu,
  obis,
  RASID_SERVER_CONFORMANCE,
  toHex,
  VAA_NAME_LN,
  verifyHlsGmac,
} from '../../../protocols/dlms/index.ts';

// Green Book security examples (security suite 0).
const keys = {
  blockCipherKey: fromHex('000102030405060708090a0b0c0d0e0f'),
  authenticationKey: fromHex('d0d1d2d3d4d5d6d7d8d9dadbdcdddedf'),
};
const serverTitle = fromHex('4d4d4d0000bc614e');
const clientTitle = fromHex('4d4d4d0000000001');

describe('AES-GCM ciphering: Green Book vectors', () => {
  it('glo-initiateRequest (SC 0x30, IC 0x01234567)', () => {
    const plain = fromHex('01011000112233445566778899aabbccddeeff0000065f1f0400007e1f04b0');
    const expected =
      '213030012345678013' +
      '02ff8a7874133d414ced25b42534d28db0047720606b175bd52211be6841db204d39ee6fdb8e356855';
    const p = { ...keys, securityControl: 0x30, invocationCounter: 0x01234567, systemTitle: serverTitle };
    expect(toHex(cipherApdu(plain, p, 'service-specific'))).toBe(expected);
    const back = decipherApdu(fromHex(expected), keys, serverTitle);
    expect(back.plaintext).toEqual(plain);
    expect(back.invocationCounter).toBe(0x01234567);
    const ir = decodeInitiateRequest(back.plaintext);
    expect(ir.dedicatedKey).toEqual(fromHex('00112233445566778899aabbccddeeff'));
    expect(ir.clientMaxReceivePduSize).toBe(0x04b0);
  });

  it('glo-get-request (Table "Example: glo-get-request xDLMS APDU")', () => {
    const ciphered = fromHex(
      'c81e300123456741' + '1312ff935a475668' + '27c467bc7d825c3b' + 'e4a77c3fcc056b6b',
    );
    const back = decipherApdu(ciphered, keys, serverTitle);
    expect(back.securityControl).toBe(0x30);
    expect(decodeApdu(back.plaintext)).toEqual({
      type: 'get-request-normal',
      iip: 0x00,
      descriptor: { classId: 8, instance: obis('0.0.1.0.0.255'), attributeId: 2 },
    });
    const again = cipherApdu(
      back.plaintext,
      { ...keys, securityControl: 0x30, invocationCounter: 0x01234567, systemTitle: serverTitle },
      'service-specific',
    );
    expect(again).toEqual(ciphered);
  });

  it('HLS-GMAC pass 3 and 4 (Green Book Table 43)', () => {
    const ctos = Buffer.from('K56iVagY');
    const stoc = Buffer.from('P6wRJ21F');
    const fStoC = hlsGmac(stoc, { ...keys, systemTitle: clientTitle, invocationCounter: 1 });
    expect(toHex(fStoC)).toBe('10000000011a52fe7dd3e72748973c1e28');
    const fCtoS = hlsGmac(ctos, { ...keys, systemTitle: serverTitle, invocationCounter: 0x01234567 });
    expect(toHex(fCtoS)).toBe('1001234567fe1466afb3dbcd4f9389e2b7');
    // Each side verifies the other's answer with the peer's system title.
    expect(verifyHlsGmac(fStoC, stoc, keys, clientTitle)).toBe(1);
    expect(verifyHlsGmac(fCtoS, ctos, keys, serverTitle)).toBe(0x01234567);
    const forged = Buffer.from(fCtoS);
    forged[forged.length - 1]! ^= 1;
    expect(verifyHlsGmac(forged, ctos, keys, serverTitle)).toBeNull();
    expect(verifyHlsGmac(fCtoS, ctos, keys, clientTitle)).toBeNull();
  });
});

describe('ciphering round trips', () => {
  const get = fromHex('c001c100030100010800ff0200');
  for (const sc of [0x30, 0x10, 0x20, 0x00]) {
    it(`general-glo-ciphering with SC 0x${sc.toString(16)}`, () => {
      const p = { ...keys, securityControl: sc, invocationCounter: 42, systemTitle: clientTitle };
      const bytes = cipherApdu(get, p, 'general-glo');
      expect(bytes[0]).toBe(0xdb);
      expect(toHex(bytes.subarray(1, 10))).toBe(`08${toHex(clientTitle)}`);
      expect(isCipheredApdu(bytes)).toBe(true);
      const back = decipherApdu(bytes, keys);
      expect(back).toEqual({
        securityControl: sc,
        invocationCounter: 42,
        plaintext: get,
        systemTitle: clientTitle,
      });
      if (sc & 0x20) expect(bytes.includes(get)).toBe(false);
      else expect(bytes.includes(get)).toBe(true);
    });
  }

  it('rejects a tampered tag, a wrong key and an APDU without a glo- form', () => {
    const content = encryptPayload(fromHex('c001c1'), {
      ...keys,
      securityControl: 0x30,
      invocationCounter: 7,
      systemTitle: clientTitle,
    });
    const bad = Buffer.from(content);
    bad[bad.length - 1]! ^= 0x80;
    expect(() => decryptPayload(bad, keys, clientTitle)).toThrow(DlmsDecodeError);
    expect(() =>
      decryptPayload(content, { ...keys, authenticationKey: Buffer.alloc(16) }, clientTitle),
    ).toThrow(/does not verify/);
    expect(() =>
      cipherApdu(
        encodeAarq({ applicationContext: 'ln-ciphering' }),
        { ...keys, securityControl: 0x30, invocationCounter: 1, systemTitle: clientTitle },
        'service-specific',
      ),
    ).toThrow(/no glo- form/);
    expect(() => decipherApdu(encodeApdu({ type: 'glo-ciphered', tag: 0xcc, content }), keys)).toThrow(
      /system title/,
    );
  });
});

describe('InvocationCounterGuard', () => {
  it('accepts only strictly increasing counters', () => {
    const g = new InvocationCounterGuard();
    expect(g.accept(0)).toBe(true);
    expect(g.accept(5)).toBe(true);
    expect(g.accept(5)).toBe(false);
    expect(g.accept(4)).toBe(false);
    expect(g.accept(6)).toBe(true);
    expect(g.lastAccepted).toBe(6);
  });
});

describe('HLS-GMAC association flow (client and server sharing the codec)', () => {
  it('AARQ with glo-initiateRequest → AARE with challenge → reply_to_HLS_authentication → f(CtoS) checked', () => {
    const ctos = Buffer.from('K56iVagY');
    const stoc = Buffer.from('P6wRJ21F');
    let clientIc = 1;
    let serverIc = 0x01234567;
    const client = () => ({
      ...keys,
      securityControl: 0x30,
      invocationCounter: clientIc++,
      systemTitle: clientTitle,
    });
    const server = () => ({
      ...keys,
      securityControl: 0x30,
      invocationCounter: serverIc++,
      systemTitle: serverTitle,
    });

    // Client → AARQ.
    const initiate = encodeInitiateRequest({
      dlmsVersion: 6,
      conformance: conformance('get', 'set', 'action', 'block-transfer-with-get-or-read'),
      clientMaxReceivePduSize: 1024,
    });
    const aarqBytes = encodeApdu({
      type: 'aarq',
      applicationContext: 'ln-ciphering',
      callingApTitle: clientTitle,
      mechanism: 'hls-gmac',
      callingAuthenticationValue: ctos,
      userInformation: cipherApdu(initiate, client(), 'service-specific'),
    });

    // Server decodes it, deciphers the initiate request with the calling-AP-title.
    const aarq = decodeApdu(aarqBytes);
    if (aarq.type !== 'aarq') throw new Error('not an AARQ');
    expect(aarq.mechanism).toBe('hls-gmac');
    const guard = new InvocationCounterGuard();
    const ir = decipherApdu(aarq.userInformation!, keys, aarq.callingApTitle!);
    expect(guard.accept(ir.invocationCounter)).toBe(true);
    const req = decodeInitiateRequest(ir.plaintext);
    const response = encodeInitiateResponse({
      dlmsVersion: 6,
      conformance: req.conformance & RASID_SERVER_CONFORMANCE,
      serverMaxReceivePduSize: 512,
      vaaName: VAA_NAME_LN,
    });
    const aareBytes = encodeApdu({
      type: 'aare',
      applicationContext: 'ln-ciphering',
      result: 'accepted',
      diagnostic: { source: 'user', code: 14 },
      respondingApTitle: serverTitle,
      mechanism: 'hls-gmac',
      respondingAuthenticationValue: stoc,
      userInformation: cipherApdu(response, server(), 'service-specific'),
    });

    // Client reads the AARE and answers the challenge (pass 3).
    const aare = decodeApdu(aareBytes);
    if (aare.type !== 'aare') throw new Error('not an AARE');
    expect(aare.diagnostic.code).toBe(14);
    const fStoC = hlsGmac(aare.respondingAuthenticationValue!, {
      ...keys,
      systemTitle: clientTitle,
      invocationCounter: clientIc++,
    });
    const action = encodeApdu({
      type: 'action-request-normal',
      iip: 0xc1,
      descriptor: { classId: 15, instance: obis('0.0.40.0.0.255'), methodId: 1 },
      parameter: dt.octets(fStoC),
    });
    const actionCiphered = cipherApdu(action, client(), 'general-glo');

    // Server deciphers, checks f(StoC) and replies f(CtoS) (pass 4).
    const got = decipherApdu(actionCiphered, keys);
    expect(guard.accept(got.invocationCounter)).toBe(true);
    const act = decodeApdu(got.plaintext);
    if (act.type !== 'action-request-normal' || act.parameter?.type !== 'octet-string')
      throw new Error('bad action');
    expect(verifyHlsGmac(act.parameter.value, stoc, keys, got.systemTitle)).not.toBeNull();
    const fCtoS = hlsGmac(ctos, { ...keys, systemTitle: serverTitle, invocationCounter: serverIc++ });
    const reply = cipherApdu(
      encodeApdu({
        type: 'action-response-normal',
        iip: 0xc1,
        result: 0,
        returnParameters: { data: dt.octets(fCtoS) },
      }),
      server(),
      'general-glo',
    );

    // Client checks the server's proof.
    const back = decipherApdu(reply, keys);
    const res = decodeApdu(back.plaintext);
    if (res.type !== 'action-response-normal' || !res.returnParameters || !('data' in res.returnParameters)) {
      throw new Error('bad reply');
    }
    const proof = res.returnParameters.data;
    if (proof.type !== 'octet-string') throw new Error('bad proof');
    expect(verifyHlsGmac(proof.value, ctos, keys, serverTitle)).not.toBeNull();

    // A replayed APDU is refused by the guard.
    expect(
      guard.accept(decryptPayload(decodeContent(actionCiphered), keys, clientTitle).invocationCounter),
    ).toBe(false);
  });
});

function decodeContent(bytes: Buffer): Buffer {
  const a = decodeApdu(bytes);
  if (a.type !== 'general-glo-ciphering') throw new Error('not general-glo');
  return a.content;
}
