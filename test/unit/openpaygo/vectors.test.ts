import { describe, expect, it } from 'vitest';
import { decodeToken, generateToken } from '../../../protocols/openpaygo/index.ts';
import { ISSUE_VECTORS, REFERENCE_VECTORS, type ReferenceVector } from './reference-vectors.ts';

function label(v: ReferenceVector): string {
  const layout = `${v.extended ? 'extended' : 'standard'}${v.restrictedDigitSet ? ', restricted' : ''}`;
  return `${v.device.serialNumber} count ${v.device.count}: ${v.type} ${v.value ?? '-'} (${layout}) -> ${v.token}`;
}

const ALL = [...REFERENCE_VECTORS, ...ISSUE_VECTORS].map((v) => [label(v), v] as const);

describe('OpenPAYGO-python vectors (test/test_tokens.jsonl and issues #21, #24)', () => {
  it('holds the 80 published lines', () => {
    expect(REFERENCE_VECTORS).toHaveLength(80);
    expect(new Set(REFERENCE_VECTORS.map((v) => v.token)).size).toBe(80);
  });

  it.each(ALL)('%s', (_name, v) => {
    // Server side: test_encoder.py's generate_token call.
    const generated = generateToken({
      key: v.device.key,
      startingCode: v.device.startingCode,
      count: v.device.count,
      type: v.type,
      value: v.value ?? undefined,
      extended: v.extended,
      restrictedDigitSet: v.restrictedDigitSet,
    });
    expect({ token: generated.token, newCount: generated.newCount }).toEqual({
      token: v.token,
      newCount: v.newCount,
    });

    // Device side: test_decoder.py's decode_token call, with the device at the server's old count.
    const decoded = decodeToken({
      token: v.token,
      key: v.device.key,
      startingCode: v.device.startingCode,
      lastCount: v.device.count,
      restrictedDigitSet: v.restrictedDigitSet,
    });
    expect(decoded).toMatchObject({
      status: 'valid',
      type: v.type,
      value: v.value,
      count: v.newCount,
      format: v.extended ? 'extended' : 'standard',
    });
  });
});
