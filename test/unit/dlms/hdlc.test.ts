import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  Cursor,
  clientAddress,
  crc16x25,
  DEFAULT_HDLC_PARAMETERS,
  DlmsDecodeError,
  decodeControl,
  decodeHdlcFrame,
  decodeHdlcParameters,
  decodeWrapper,
  encodeControl,
  encodeHdlcFrame,
  encodeHdlcParameters,
  encodeWrapper,
  fromHex,
  type HdlcAddress,
  type HdlcControl,
  type HdlcFrame,
  HdlcFramer,
  HdlcReassembler,
  HdlcSequence,
  LLC_REQUEST,
  LLC_RESPONSE,
  negotiateHdlcParameters,
  readAddress,
  segmentApdu,
  serverAddress,
  stripLlc,
  toHex,
  type WrapperFrame,
  WrapperFramer,
  writeAddress,
} from '../../../protocols/dlms/index.ts';

interface Exchange {
  step: string;
  request: string;
  response: string;
  request_apdu?: string;
  response_apdu?: string;
}
interface Session {
  id: string;
  transport: string;
  exchanges: Exchange[];
}
const captures = JSON.parse(
  readFileSync(new URL('./fixtures/dlms-captures.json', import.meta.url), 'utf8'),
) as {
  sessions: Session[];
};

describe('CRC-16/X.25', () => {
  it('has check value 0x906E for "123456789"', () => {
    expect(crc16x25(Buffer.from('123456789'))).toBe(0x906e);
  });
});

describe('HDLC addresses', () => {
  const table: { value: HdlcAddress; bytes: string }[] = [
    { value: clientAddress(16), bytes: '21' },
    { value: clientAddress(17), bytes: '23' },
    { value: clientAddress(1), bytes: '03' },
    { value: serverAddress(1), bytes: '03' },
    { value: serverAddress(1, 17), bytes: '0223' },
    // Four-byte addresses: each 14-bit value is split into two 7-bit halves.
    { value: serverAddress(1, 0x3fff, 4), bytes: '0002feff' },
    { value: serverAddress(0x81, 0x1234), bytes: '02024869' },
  ];
  for (const { value, bytes } of table) {
    it(`${JSON.stringify(value)} <-> ${bytes}`, () => {
      const w = Cursor.writer();
      writeAddress(w, value);
      expect(toHex(w.getWritten())).toBe(bytes);
      expect(readAddress(Cursor.reader(fromHex(bytes)))).toEqual(value);
    });
  }
  it('rejects a 3-byte address and one that does not fit', () => {
    expect(() => readAddress(Cursor.reader(fromHex('020203')))).toThrow(DlmsDecodeError);
    expect(() => writeAddress(Cursor.writer(), clientAddress(200))).toThrow();
  });
});

describe('HDLC control field', () => {
  const table: { value: HdlcControl; byte: number }[] = [
    { value: { kind: 'SNRM', pf: true }, byte: 0x93 },
    { value: { kind: 'UA', pf: true }, byte: 0x73 },
    { value: { kind: 'DISC', pf: true }, byte: 0x53 },
    { value: { kind: 'DM', pf: true }, byte: 0x1f },
    { value: { kind: 'FRMR', pf: true }, byte: 0x97 },
    { value: { kind: 'UI', pf: false }, byte: 0x03 },
    { value: { kind: 'RR', nr: 2, pf: true }, byte: 0x51 },
    { value: { kind: 'RNR', nr: 7, pf: false }, byte: 0xe5 },
    // Captured I-frames: client 0x10, 0x32, 0x54; server 0x30, 0x52.
    { value: { kind: 'I', ns: 0, nr: 0, pf: true }, byte: 0x10 },
    { value: { kind: 'I', ns: 1, nr: 1, pf: true }, byte: 0x32 },
    { value: { kind: 'I', ns: 2, nr: 2, pf: true }, byte: 0x54 },
    { value: { kind: 'I', ns: 0, nr: 1, pf: true }, byte: 0x30 },
    { value: { kind: 'I', ns: 1, nr: 2, pf: true }, byte: 0x52 },
  ];
  for (const { value, byte } of table) {
    it(`${value.kind} <-> 0x${byte.toString(16)}`, () => {
      expect(encodeControl(value)).toBe(byte);
      expect(decodeControl(byte)).toEqual(value);
    });
  }
});

const client = clientAddress(16);
const server = serverAddress(1);

describe('HDLC frames: captured vectors', () => {
  const hdlc = captures.sessions.find((s) => s.id === 'hdlc-none')!;
  for (const ex of hdlc.exchanges) {
    it(`${ex.step}: request and response decode and re-encode byte for byte`, () => {
      for (const [hex, llc, from, to] of [
        [ex.request, LLC_REQUEST, client, server],
        [ex.response, LLC_RESPONSE, server, client],
      ] as const) {
        const frame = decodeHdlcFrame(fromHex(hex));
        expect(frame.source).toEqual(from);
        expect(frame.destination).toEqual(to);
        expect(toHex(encodeHdlcFrame(frame))).toBe(hex);
        if (frame.control.kind === 'I') {
          const apdu = stripLlc(frame.info, llc);
          const expected = hex === ex.request ? ex.request_apdu : ex.response_apdu;
          if (expected !== undefined) expect(toHex(apdu)).toBe(expected);
        }
      }
    });
  }

  it('reads the captured UA parameters (128/128 bytes, window 1)', () => {
    const ua = decodeHdlcFrame(fromHex(hdlc.exchanges[0]!.response));
    expect(ua.control).toEqual({ kind: 'UA', pf: true });
    const p = decodeHdlcParameters(ua.info);
    expect(p).toEqual({ maxInfoTx: 128, maxInfoRx: 128, windowTx: 1, windowRx: 1 });
    expect(toHex(encodeHdlcParameters(p))).toBe('818012050180060180070400000001080400000001');
  });
});

describe('HDLC frames: round trip', () => {
  const table: { name: string; value: HdlcFrame; bytes: string }[] = [
    {
      name: 'SNRM without information (captured)',
      value: {
        segmented: false,
        destination: server,
        source: client,
        control: { kind: 'SNRM', pf: true },
        info: Buffer.alloc(0),
      },
      bytes: '7ea0070321930f017e',
    },
    {
      name: 'DISC (captured)',
      value: {
        segmented: false,
        destination: server,
        source: client,
        control: { kind: 'DISC', pf: true },
        info: Buffer.alloc(0),
      },
      bytes: '7ea00703215303c77e',
    },
  ];
  for (const { name, value, bytes } of table) {
    it(name, () => {
      expect(toHex(encodeHdlcFrame(value))).toBe(bytes);
      expect(decodeHdlcFrame(fromHex(bytes))).toEqual(value);
    });
  }

  it('round-trips segmented, 2- and 4-byte-addressed frames with a 0x7E inside', () => {
    const frames: HdlcFrame[] = [
      {
        segmented: true,
        destination: serverAddress(1, 0x11),
        source: client,
        control: { kind: 'I', ns: 3, nr: 5, pf: false },
        info: fromHex('e6e6007e7e7e00'),
      },
      {
        segmented: false,
        destination: client,
        source: serverAddress(0x100, 0x2abc, 4),
        control: { kind: 'RR', nr: 4, pf: true },
        info: Buffer.alloc(0),
      },
    ];
    for (const f of frames) expect(decodeHdlcFrame(encodeHdlcFrame(f))).toEqual(f);
  });

  it('rejects bad FCS, bad HCS and a wrong length', () => {
    const good = fromHex('7ea0190321326fd8e6e600c001c000080000010000ff0200f14f7e');
    const badFcs = Buffer.from(good);
    badFcs[badFcs.length - 2]! ^= 1;
    expect(() => decodeHdlcFrame(badFcs)).toThrow(/FCS/);
    const badHcs = Buffer.from(good);
    badHcs[6]! ^= 1;
    // Fix the FCS so that only the HCS is wrong.
    badHcs.writeUInt16LE(crc16x25(badHcs, 1, badHcs.length - 3), badHcs.length - 3);
    expect(() => decodeHdlcFrame(badHcs)).toThrow(/HCS/);
    expect(() => decodeHdlcFrame(good.subarray(0, good.length - 1))).toThrow(/length/);
  });
});

describe('HDLC parameters', () => {
  it('uses defaults when the information field is empty', () => {
    expect(decodeHdlcParameters(Buffer.alloc(0))).toEqual(DEFAULT_HDLC_PARAMETERS);
  });
  it('round-trips two-byte lengths and negotiates the minimum', () => {
    const proposal = { maxInfoTx: 1024, maxInfoRx: 512, windowTx: 7, windowRx: 1 };
    const bytes = encodeHdlcParameters(proposal);
    expect(toHex(bytes)).toBe('818014' + '05020400' + '06020200' + '070400000007' + '080400000001');
    expect(decodeHdlcParameters(bytes)).toEqual(proposal);
    expect(
      negotiateHdlcParameters(proposal, { maxInfoTx: 256, maxInfoRx: 256, windowTx: 1, windowRx: 1 }),
    ).toEqual({
      maxInfoTx: 256,
      maxInfoRx: 256,
      windowTx: 1,
      windowRx: 1,
    });
  });
});

describe('HDLC segmentation and reassembly', () => {
  it('splits an APDU with the LLC only in the first segment and reassembles it', () => {
    const apdu = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
    const parts = segmentApdu(apdu, 128, LLC_RESPONSE);
    expect(parts.map((p) => [p.info.length, p.segmented])).toEqual([
      [128, true],
      [128, true],
      [47, false],
    ]);
    const seq = new HdlcSequence();
    const framed = parts.map((p) =>
      encodeHdlcFrame({
        segmented: p.segmented,
        destination: client,
        source: server,
        control: seq.nextI(),
        info: p.info,
      }),
    );
    // The receiver: framer, sequence check, reassembly.
    const framer = new HdlcFramer();
    const rx = new HdlcSequence();
    const re = new HdlcReassembler();
    let whole: Buffer | null = null;
    for (const f of framer.push(Buffer.concat(framed))) {
      expect(rx.acceptI(f.control)).toBe(true);
      whole = re.push(f);
      if (whole === null) expect(re.pending).toBe(true);
    }
    expect(whole).not.toBeNull();
    expect(stripLlc(whole!, LLC_RESPONSE)).toEqual(apdu);
    expect(rx.vr).toBe(3);
    expect(rx.rr()).toEqual({ kind: 'RR', nr: 3, pf: true });
  });

  it('refuses an out-of-sequence I-frame', () => {
    const rx = new HdlcSequence();
    expect(rx.acceptI({ kind: 'I', ns: 1, nr: 0, pf: true })).toBe(false);
    expect(rx.acceptI({ kind: 'I', ns: 0, nr: 0, pf: true })).toBe(true);
  });
});

describe('HdlcFramer (stream)', () => {
  const a = fromHex('7ea0190321326fd8e6e600c001c000080000010000ff0200f14f7e');
  const b = fromHex('7ea01e210352484ae6e700c401c000090c07ea0b1701070e2400000000211f7e');
  const snrm = fromHex('7ea0070321930f017e');

  it('emits two frames from one chunk', () => {
    const f = new HdlcFramer();
    const out = f.push(Buffer.concat([a, b]));
    expect(out.map((x) => x.control)).toEqual([decodeHdlcFrame(a).control, decodeHdlcFrame(b).control]);
    expect(f.stats).toEqual({ frames: 2, dropped: 0, skippedBytes: 0 });
  });

  it('accepts frames sharing one flag', () => {
    const f = new HdlcFramer();
    const out = f.push(Buffer.concat([a, b.subarray(1)]));
    expect(out).toHaveLength(2);
  });

  it('joins one frame split across two chunks (split inside the header and inside the body)', () => {
    for (const cut of [1, 2, 5, 9, 20, a.length - 1]) {
      const f = new HdlcFramer();
      expect(f.push(a.subarray(0, cut))).toEqual([]);
      expect(f.buffered).toBe(cut);
      expect(f.push(a.subarray(cut))).toEqual([decodeHdlcFrame(a)]);
    }
  });

  it('drops a frame with a bad FCS without throwing, counts it and carries on', () => {
    const bad = Buffer.from(a);
    bad[bad.length - 3]! ^= 0xff;
    const reasons: string[] = [];
    const f = new HdlcFramer({ onDrop: (r) => reasons.push(r) });
    const out = f.push(Buffer.concat([bad, snrm, b]));
    expect(out.map((x) => x.control.kind)).toEqual(['SNRM', 'I']);
    expect(f.stats.dropped).toBe(1);
    expect(reasons).toEqual([expect.stringMatching(/^HDLC FCS mismatch/)]);
  });

  it('drops a bad HCS before waiting for a bogus length, and skips line noise', () => {
    const bad = Buffer.from(a);
    bad[2] = 0xff; // length 0x0FF → would wait for 257 bytes if trusted
    const f = new HdlcFramer();
    const out = f.push(Buffer.concat([fromHex('00117e7e'), bad, snrm]));
    expect(out.map((x) => x.control.kind)).toEqual(['SNRM']);
    expect(f.stats.dropped).toBe(1);
    expect(f.buffered).toBe(1); // the closing flag is kept: it may open the next frame
  });
});

describe('TCP wrapper (IEC 62056-47)', () => {
  const wrapperSessions = captures.sessions.filter((s) => s.transport === 'tcp-wrapper');
  for (const s of wrapperSessions) {
    for (const ex of s.exchanges) {
      it(`${s.id} ${ex.step}: decodes and re-encodes byte for byte`, () => {
        const req = decodeWrapper(fromHex(ex.request));
        const res = decodeWrapper(fromHex(ex.response));
        expect(res.source).toBe(req.destination);
        expect(res.destination).toBe(req.source);
        if (ex.request_apdu !== undefined) expect(toHex(req.apdu)).toBe(ex.request_apdu);
        expect(toHex(encodeWrapper(req))).toBe(ex.request);
        expect(toHex(encodeWrapper(res))).toBe(ex.response);
      });
    }
  }

  const table: { value: WrapperFrame; bytes: string }[] = [
    {
      value: { source: 16, destination: 1, apdu: fromHex('c001c000080000010000ff0200') },
      bytes: '000100100001000dc001c000080000010000ff0200',
    },
    {
      value: { source: 1, destination: 17, apdu: fromHex('6303800100') },
      bytes: '00010001001100056303800100',
    },
  ];
  for (const { value, bytes } of table) {
    it(`round trip ${bytes.slice(0, 16)}`, () => {
      expect(toHex(encodeWrapper(value))).toBe(bytes);
      expect(decodeWrapper(fromHex(bytes))).toEqual(value);
    });
  }

  it('framer: two in one chunk, one split in two, corrupt header dropped and counted', () => {
    const one = fromHex(table[0]!.bytes);
    const two = fromHex(table[1]!.bytes);
    const f = new WrapperFramer({ maxApduLength: 2048 });
    expect(f.push(Buffer.concat([one, two]))).toHaveLength(2);
    expect(f.push(one.subarray(0, 5))).toEqual([]);
    expect(f.push(one.subarray(5))).toEqual([decodeWrapper(one)]);
    const junk = fromHex('0002ffff1234');
    const bigLength = fromHex('0001001000027000'); // length 0x7000 > maxApduLength
    expect(f.push(Buffer.concat([junk, bigLength, two]))).toEqual([decodeWrapper(two)]);
    expect(f.stats.dropped).toBe(2);
    expect(f.stats.frames).toBe(4);
  });
});
