/**
 * An empty profile buffer sent as repeated datablocks that each hold an empty array (the Gurux server
 * example does this): read as one empty array, and nothing looser. The exact APDUs first, then the same
 * answer from the simulator's DLMS face over a real socket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DlmsClient, joinedData } from '../../gateway/dlms/client.ts';
import { decodeApdu, GetBlockAssembler, OBIS } from '../../protocols/dlms/index.ts';
import { clientOptions, type MeterFixture, PASSWORD, PROFILE_START, startMeter } from './support.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** GET-Response-With-Datablock, invoke-id-and-priority C1, raw-data `01 00` (an empty array). */
const EMPTY_BLOCK_1 = hex('c4 02 c1 00 00000001 00 02 0100');
const EMPTY_BLOCK_2 = hex('c4 02 c1 01 00000002 00 02 0100');

/** Joins the datablocks as the client does: the assembler's raw data and each block's own part. */
function join(...apdus: Buffer[]) {
  const assembler = new GetBlockAssembler();
  const parts: Buffer[] = [];
  for (const bytes of apdus) {
    const apdu = decodeApdu(bytes);
    if (apdu.type !== 'get-response-with-datablock' || !('raw' in apdu.result))
      throw new Error('not a datablock');
    parts.push(apdu.result.raw);
    const step = assembler.push(apdu);
    if (step.done) {
      if ('error' in step) throw new Error('access error');
      return joinedData(step.raw, parts);
    }
  }
  throw new Error('no last block');
}

describe('an empty array in repeated datablocks', () => {
  it('two blocks of `01 00` (the exact bytes) read as one empty array', () => {
    expect(join(EMPTY_BLOCK_1, EMPTY_BLOCK_2)).toEqual({ type: 'array', value: [] });
  });

  it('three such blocks too', () => {
    expect(
      join(
        hex('c4 02 c1 00 00000001 00 02 0100'),
        hex('c4 02 c1 00 00000002 00 02 0100'),
        hex('c4 02 c1 01 00000003 00 02 0100'),
      ),
    ).toEqual({ type: 'array', value: [] });
  });

  it('but the same four bytes in one block are refused', () => {
    expect(() => join(hex('c4 02 c1 01 00000001 00 04 01000100'))).toThrow();
  });

  it('and an empty array followed by a block of anything else is refused', () => {
    expect(() => join(EMPTY_BLOCK_1, hex('c4 02 c1 01 00000002 00 02 1100'))).toThrow();
    expect(() => join(EMPTY_BLOCK_1, hex('c4 02 c1 01 00000002 00 03 010100'))).toThrow();
  });

  it('a value split over blocks as usual still joins', () => {
    expect(join(hex('c4 02 c1 00 00000001 00 02 0102'), hex('c4 02 c1 01 00000002 00 04 11051106'))).toEqual({
      type: 'array',
      value: [
        { type: 'unsigned', value: 5 },
        { type: 'unsigned', value: 6 },
      ],
    });
  });
});

describe('the simulator answers an empty profile range in empty-array blocks', () => {
  let meter: MeterFixture | undefined;
  afterEach(async () => {
    await meter?.close();
  });

  it('DlmsClient.get and readProfile take it as no rows', async () => {
    meter = await startMeter({ rows: 4, emptyArrayBlocks: 2, transport: 'wrapper' });
    const client = await DlmsClient.open(
      clientOptions('wrapper', meter.port, { authentication: { mechanism: 'lls', password: PASSWORD } }),
    );
    try {
      const before = new Date(PROFILE_START.getTime() - 86_400_000);
      const p = await client.readProfile(OBIS.loadProfile1, before, new Date(before.getTime() + 3_600_000));
      expect(p.rows).toEqual([]);
      expect(client.stats.blocksReceived).toBe(2);
      expect(meter.server.stats.blocksSent).toBe(2);
    } finally {
      await client.release();
    }
  });
});
