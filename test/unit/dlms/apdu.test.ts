import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type Apdu,
  CONFORMANCE,
  conformance,
  conformanceNames,
  DATA_ACCESS_RESULT,
  DlmsDecodeError,
  decodeApdu,
  decodeConfirmedServiceError,
  decodeData,
  decodeDataSequence,
  decodeInitiateRequest,
  decodeInitiateResponse,
  decodeWrapper,
  dt,
  encodeApdu,
  encodeConfirmedServiceError,
  encodeData,
  encodeInitiateRequest,
  encodeInitiateResponse,
  entryDescriptorToData,
  fromHex,
  GetBlockAssembler,
  getResponses,
  invokeIdAndPriority,
  invokeIdOf,
  obis,
  toHex,
} from '../../../protocols/dlms/index.ts';

interface Exchange {
  step: string;
  request: string;
  response: string;
  request_apdu?: string;
  response_apdu?: string;
}
const captures = JSON.parse(
  readFileSync(new URL('./fixtures/dlms-captures.json', import.meta.url), 'utf8'),
) as {
  sessions: { id: string; transport: string; exchanges: Exchange[] }[];
};

const clock = { classId: 8, instance: obis('0.0.1.0.0.255'), attributeId: 2 };

describe('APDUs: every captured APDU decodes and re-encodes byte for byte', () => {
  for (const s of captures.sessions.filter((x) => x.transport === 'tcp-wrapper')) {
    for (const ex of s.exchanges) {
      it(`${s.id} ${ex.step}`, () => {
        for (const hex of [ex.request, ex.response]) {
          const apdu = decodeWrapper(fromHex(hex)).apdu;
          expect(toHex(encodeApdu(decodeApdu(apdu)))).toBe(toHex(apdu));
        }
      });
    }
  }
});

describe('APDUs: captured meanings', () => {
  it('AARQ/AARE without authentication (wrapper-none)', () => {
    const aarq = decodeApdu(
      fromHex('6029a109060760857405080101a60a0408757469ac8628d4f9be10040e01000000065f1f040020525fffff'),
    );
    expect(aarq).toMatchObject({ type: 'aarq', applicationContext: 'ln-no-ciphering' });
    if (aarq.type !== 'aarq') throw new Error('type');
    expect(toHex(aarq.callingApTitle!)).toBe('757469ac8628d4f9');
    expect(aarq.mechanism).toBeUndefined();
    const ir = decodeInitiateRequest(aarq.userInformation!);
    expect(ir).toEqual({ dlmsVersion: 6, conformance: 0x20525f, clientMaxReceivePduSize: 0xffff });
    expect(conformanceNames(ir.conformance)).toContain('block-transfer-with-get-or-read');

    const aare = decodeApdu(
      fromHex('6129a109060760857405080101a203020100a305a103020100be10040e0800065f1f040000001802000007'),
    );
    expect(aare).toMatchObject({ type: 'aare', result: 'accepted', diagnostic: { source: 'user', code: 0 } });
    if (aare.type !== 'aare') throw new Error('type');
    expect(decodeInitiateResponse(aare.userInformation!)).toEqual({
      dlmsVersion: 6,
      conformance: conformance('get', 'set'),
      serverMaxReceivePduSize: 0x200,
      vaaName: 7,
    });
  });

  it('AARQ with LLS password "Gurux" (wrapper-lls)', () => {
    const hex =
      '603fa109060760857405080101a60a0408757469fe818ba3728a0207808b0760857405080201ac0780054775727578be10040e01000000065f1f040020525fffff';
    const a = decodeApdu(fromHex(hex));
    expect(a).toMatchObject({ type: 'aarq', mechanism: 'lls' });
    if (a.type !== 'aarq') throw new Error('type');
    expect(a.callingAuthenticationValue!.toString()).toBe('Gurux');
  });

  it('GET, ACTION, exception and release', () => {
    expect(decodeApdu(fromHex('c001c000080000010000ff0200'))).toEqual({
      type: 'get-request-normal',
      iip: 0xc0,
      descriptor: clock,
    });
    expect(decodeApdu(fromHex('c401c000090c07ea0b1701070e2400000000'))).toEqual({
      type: 'get-response-normal',
      iip: 0xc0,
      result: { data: dt.octets(fromHex('07ea0b1701070e2400000000')) },
    });
    expect(decodeApdu(fromHex('c301c80046000060030aff01010f00'))).toEqual({
      type: 'action-request-normal',
      iip: 0xc8,
      descriptor: { classId: 70, instance: obis('0.0.96.3.10.255'), methodId: 1 },
      parameter: dt.i8(0),
    });
    expect(decodeApdu(fromHex('c701c30300'))).toEqual({
      type: 'action-response-normal',
      iip: 0xc3,
      result: DATA_ACCESS_RESULT['read-write-denied'],
    });
    expect(decodeApdu(fromHex('d80102'))).toEqual({
      type: 'exception-response',
      stateError: 1,
      serviceError: 2,
    });
    expect(decodeApdu(fromHex('6203800100'))).toEqual({ type: 'rlrq', reason: 0 });
    expect(decodeApdu(fromHex('6303800100'))).toEqual({ type: 'rlre', reason: 0 });
  });

  it('block transfer of the captured profile buffer (2 blocks) reassembles to [[], []]', () => {
    const asm = new GetBlockAssembler();
    const first = asm.push(decodeApdu(fromHex('c402c5000000000100020100')));
    expect(first).toEqual({ done: false, next: { type: 'get-request-next', iip: 0xc5, blockNumber: 1 } });
    if (first.done) throw new Error('done');
    expect(toHex(encodeApdu(first.next))).toBe('c002c500000001'); // the captured Get-Request-Next
    const last = asm.push(decodeApdu(fromHex('c402c5010000000200020100')));
    if (!last.done || !('raw' in last)) throw new Error('not done');
    expect(decodeDataSequence(last.raw)).toEqual([dt.array([]), dt.array([])]);
  });
});

describe('APDUs: round-trip table', () => {
  const table: { name: string; value: Apdu; bytes: string }[] = [
    {
      name: 'get-request-normal with entry selective access',
      value: {
        type: 'get-request-normal',
        iip: 0xc1,
        descriptor: { classId: 7, instance: obis('1.0.99.1.0.255'), attributeId: 2 },
        access: {
          selector: 2,
          parameters: entryDescriptorToData({
            fromEntry: 1,
            toEntry: 10,
            fromSelectedValue: 1,
            toSelectedValue: 0,
          }),
        },
      },
      bytes: 'c001c100070100630100ff0201020204060000000106000000' + '0a120001120000',
    },
    {
      name: 'get-request-next',
      value: { type: 'get-request-next', iip: 0xc2, blockNumber: 258 },
      bytes: 'c002c200000102',
    },
    {
      name: 'get-request-with-list',
      value: {
        type: 'get-request-with-list',
        iip: 0xc3,
        items: [
          { descriptor: clock },
          { descriptor: { classId: 3, instance: obis('1.0.1.8.0.255'), attributeId: 3 } },
        ],
      },
      bytes: 'c003c302' + '00080000010000ff0200' + '00030100010800ff0300',
    },
    {
      name: 'get-response-normal with data-access-result',
      value: {
        type: 'get-response-normal',
        iip: 0xc1,
        result: { error: DATA_ACCESS_RESULT['object-undefined'] },
      },
      bytes: 'c401c10104',
    },
    {
      name: 'get-response-with-list',
      value: { type: 'get-response-with-list', iip: 0xc3, results: [{ data: dt.u16(17) }, { error: 3 }] },
      bytes: 'c403c3020012001101' + '03',
    },
    {
      name: 'get-response-with-datablock error',
      value: {
        type: 'get-response-with-datablock',
        iip: 0xc1,
        lastBlock: true,
        blockNumber: 2,
        result: { error: 14 },
      },
      bytes: 'c402c101000000020' + '10e',
    },
    {
      name: 'set-request-normal (clock time as octet-string)',
      value: {
        type: 'set-request-normal',
        iip: 0xc1,
        descriptor: clock,
        value: dt.octets(fromHex('07ea0b1701070e2400000000')),
      },
      bytes: 'c101c1000800000100' + '00ff0200090c07ea0b1701070e2400000000',
    },
    {
      name: 'set-response-normal',
      value: { type: 'set-response-normal', iip: 0xc1, result: 0 },
      bytes: 'c501c100',
    },
    {
      name: 'action-request-normal without parameter',
      value: {
        type: 'action-request-normal',
        iip: 0xc1,
        descriptor: { classId: 7, instance: obis('1.0.99.1.0.255'), methodId: 2 },
      },
      bytes: 'c301c100070100630100ff0200',
    },
    {
      name: 'action-response-normal with return data',
      value: {
        type: 'action-response-normal',
        iip: 0xc1,
        result: 0,
        returnParameters: { data: dt.octets('abc') },
      },
      bytes: 'c701c1000100' + '0903616263',
    },
    {
      name: 'action-response success (dlms.md C7 01 xx 00 00)',
      value: { type: 'action-response-normal', iip: 0xc1, result: 0 },
      bytes: 'c701c10000',
    },
    {
      name: 'exception-response invocation-counter-error',
      value: { type: 'exception-response', stateError: 1, serviceError: 6, invocationCounter: 0x10 },
      bytes: 'd8010600000010',
    },
    { name: 'rlrq with reason', value: { type: 'rlrq', reason: 0 }, bytes: '6203800100' },
    {
      name: 'AARE for HLS-GMAC: authentication required (pass 3 follows), server title and challenge',
      value: {
        type: 'aare',
        applicationContext: 'ln-ciphering',
        result: 'accepted',
        diagnostic: { source: 'user', code: 14 },
        respondingApTitle: fromHex('4142434445464748'),
        mechanism: 'hls-gmac',
        respondingAuthenticationValue: fromHex('503677524a323146'),
        userInformation: fromHex('0800065f1f040000001802000007'),
      },
      bytes:
        '614ea109060760857405080103a203020100a305a10302010ea40a04084142434445464748' +
        '880207808907608574050802' +
        '05aa0a8008503677524a323146be10040e0800065f1f040000001802000007',
    },
  ];
  for (const { name, value, bytes } of table) {
    it(name, () => {
      expect(toHex(encodeApdu(value))).toBe(bytes);
      expect(decodeApdu(fromHex(bytes))).toEqual(value);
    });
  }

  it('rejects unknown tags and trailing bytes', () => {
    expect(() => decodeApdu(fromHex('ee00'))).toThrow(DlmsDecodeError);
    expect(() => decodeApdu(fromHex('c501c10000'))).toThrow(/trailing/);
  });
});

describe('InitiateRequest/Response and conformance', () => {
  it('round-trips the plain InitiateRequest of dlms.md', () => {
    const bytes = '01000000065f1f040000001eff' + 'ff';
    const value = { dlmsVersion: 6, conformance: 0x1e, clientMaxReceivePduSize: 0xffff };
    expect(toHex(encodeInitiateRequest(value))).toBe(bytes);
    expect(decodeInitiateRequest(fromHex(bytes))).toEqual(value);
  });
  it('round-trips a dedicated key, response-allowed false and QoS', () => {
    const value = {
      dedicatedKey: fromHex('00112233445566778899aabbccddeeff'),
      responseAllowed: false,
      proposedQualityOfService: 1,
      dlmsVersion: 6,
      conformance: conformance('get'),
      clientMaxReceivePduSize: 0x400,
    };
    const bytes = '010110' + '00112233445566778899aabbccddeeff' + '0100' + '0101' + '065f1f04000000100400';
    expect(toHex(encodeInitiateRequest(value))).toBe(bytes);
    expect(decodeInitiateRequest(fromHex(bytes))).toEqual(value);
  });
  it('InitiateResponse of dlms.md', () => {
    const value = { dlmsVersion: 6, conformance: 0x00101d, serverMaxReceivePduSize: 0x200, vaaName: 7 };
    expect(toHex(encodeInitiateResponse(value))).toBe('0800065f1f040000101d02000007');
    expect(decodeInitiateResponse(fromHex('0800065f1f040000101d02000007'))).toEqual(value);
  });
  it('conformance bit n has value 1 << (23 − n) (dlms.md values)', () => {
    expect(CONFORMANCE.action).toBe(0x000001);
    expect(CONFORMANCE['selective-access']).toBe(0x04);
    expect(CONFORMANCE.get).toBe(0x10);
    expect(CONFORMANCE['multiple-references']).toBe(0x0200);
    expect(CONFORMANCE['block-transfer-with-get-or-read']).toBe(0x1000);
    expect(CONFORMANCE['general-block-transfer']).toBe(0x200000);
    expect(CONFORMANCE['general-protection']).toBe(0x400000);
  });
  it('ConfirmedServiceError initiate dlms-version-too-low', () => {
    const e = { service: 1, errorType: 6, value: 1 };
    expect(toHex(encodeConfirmedServiceError(e))).toBe('0e010601');
    expect(decodeConfirmedServiceError(fromHex('0e010601'))).toEqual(e);
  });
});

describe('invoke-id-and-priority', () => {
  it('is C0 | id for confirmed high priority', () => {
    expect(invokeIdAndPriority(0)).toBe(0xc0);
    expect(invokeIdAndPriority(5, { highPriority: false })).toBe(0x45);
    expect(invokeIdOf(0xc8)).toBe(8);
    expect(() => invokeIdAndPriority(16)).toThrow();
  });
});

describe('GET block transfer split and reassembly', () => {
  const objectList = dt.array(
    Array.from({ length: 40 }, (_, i) =>
      dt.struct(dt.u16(3), dt.u8(0), dt.octets(Buffer.from([1, 0, 1, 8, i, 255]))),
    ),
  );
  const encoded = encodeData(objectList);

  it('answers normally when the data fits', () => {
    const [only, ...rest] = getResponses(0xc1, encodeData(dt.u16(17)), 512);
    expect(rest).toEqual([]);
    expect(toHex(encodeApdu(only!))).toBe('c401c100120011');
  });

  it('splits into blocks within the PDU size and reassembles them', () => {
    const blocks = getResponses(0xc1, encoded, 128);
    expect(blocks.length).toBeGreaterThan(3);
    for (const b of blocks) expect(encodeApdu(b).length).toBeLessThanOrEqual(128);
    const asm = new GetBlockAssembler();
    let result: Buffer | undefined;
    blocks.forEach((b, i) => {
      const step = asm.push(decodeApdu(encodeApdu(b)));
      if (step.done) {
        expect(i).toBe(blocks.length - 1);
        if ('raw' in step) result = step.raw;
      } else {
        expect(step.next).toEqual({ type: 'get-request-next', iip: 0xc1, blockNumber: i + 1 });
      }
    });
    expect(decodeData(result!)).toEqual(objectList);
  });

  it('refuses blocks out of order', () => {
    const blocks = getResponses(0xc1, encoded, 128);
    const asm = new GetBlockAssembler();
    expect(() => asm.push(blocks[1]!)).toThrow(/out of order/);
  });
});
