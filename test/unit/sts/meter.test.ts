import { describe, expect, it } from 'vitest';
import {
  type AcceptResult,
  type DecoderKey,
  encodeKeyChange,
  encodeToken,
  type MeterConfig,
  type MeterOptions,
  type RegisterTokenRequest,
  STS_REJECTION,
  StsKey,
  StsMeter,
  type StsRejectionCode,
} from '../../../protocols/sts/index.ts';

const KEY = StsKey.fromHex('e653341f9d5bf36f');
const NEW_KEY = StsKey.fromHex('060b8643c59a27f1');
const CONFIG: MeterConfig = { key: KEY, keyType: 2, keyRevision: 1, tariffIndex: 1, keyExpiry: 255 };

const credit = (tid: number, value = 10, key: DecoderKey = KEY): string =>
  encodeToken({ type: 'electricity-credit', rnd: tid & 15, tid, value }, { key }).token;
const reg = (type: RegisterTokenRequest['type'], tid: number, value: number, key: DecoderKey = KEY): string =>
  encodeToken({ type, rnd: 3, tid, value }, { key }).token;
const keyChange = (rollover: boolean, keyType: 0 | 1 | 2 | 3 = 2, from: DecoderKey = KEY, keyExpiry = 255) =>
  encodeKeyChange(
    { newKey: NEW_KEY, keyExpiry, keyRevision: 2, keyType, tariffIndex: 7, rollover },
    from,
  ).map((t) => t.token);

type Expect = 'accepted' | StsRejectionCode;
interface Scenario {
  readonly name: string;
  readonly config?: Partial<MeterConfig>;
  readonly options?: MeterOptions;
  /** Tokens entered before the checked ones, all expected to be accepted. */
  readonly given?: () => string[];
  /** Tokens entered in order, each with the expected outcome. */
  readonly when: () => [string, Expect][];
  readonly assert?: (meter: StsMeter, results: AcceptResult[]) => void;
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

const SCENARIOS: Scenario[] = [
  {
    name: 'credit is added to its register',
    when: () => [
      [credit(100, 16385), 'accepted'],
      [reg('water-credit', 101, 25), 'accepted'],
    ],
    assert: (m, r) => {
      expect(m.snapshot().credit).toEqual({ 'electricity-credit': 16394, 'water-credit': 25 });
      expect(r[0]).toMatchObject({
        accepted: true,
        effect: { kind: 'credit', type: 'electricity-credit', amount: 16394, register: 16394 },
      });
    },
  },
  {
    name: 'a token entered twice is used',
    when: () => [
      [credit(100), 'accepted'],
      [credit(100), STS_REJECTION.used],
    ],
    assert: (m) => expect(m.snapshot().credit).toEqual({ 'electricity-credit': 10 }),
  },
  {
    name: 'tokens out of order are accepted while the memory is not full',
    when: () => [
      [credit(200), 'accepted'],
      [credit(150), 'accepted'],
      [credit(150), STS_REJECTION.used],
    ],
  },
  {
    name: "with oldRule 'always' a TID older than the oldest is old at once",
    options: { oldRule: 'always' },
    when: () => [
      [credit(200), 'accepted'],
      [credit(150), STS_REJECTION.old],
    ],
  },
  {
    name: 'with 50 TIDs remembered, one older than the oldest is old; a newer unseen one is accepted',
    given: () => range(1000, 50).map((t) => credit(t)),
    when: () => [
      [credit(999), STS_REJECTION.old],
      [credit(1049), STS_REJECTION.used],
      [credit(1000), STS_REJECTION.used],
      [credit(1050), 'accepted'],
      // 1000 has now dropped out of the 50 remembered: it is older than the oldest (1001)
      [credit(1000), STS_REJECTION.old],
    ],
    assert: (m) => expect(m.snapshot().tidMemory).toEqual(range(1001, 50)),
  },
  {
    name: 'a token for another meter (other key) fails authentication',
    when: () => [[credit(100, 10, NEW_KEY), STS_REJECTION.authentication]],
  },
  {
    name: 'a mistyped token fails authentication; garbage is a format error',
    when: () => {
      const t = credit(100);
      return [
        [t.slice(0, 19) + String((Number(t[19]) + 1) % 10), STS_REJECTION.authentication],
        [`${t}1`, STS_REJECTION.format],
      ];
    },
  },
  {
    name: 'a default key (DDTK) refuses credit but takes management tokens',
    config: { keyType: 1 },
    when: () => [
      [credit(100), STS_REJECTION.ddtk],
      [reg('max-power-limit', 101, 5000), 'accepted'],
    ],
    assert: (m) => expect(m.snapshot().maxPowerLimitW).toBe(5000),
  },
  {
    name: "key expiry ('top-bits'): KEN 0 refuses credit issued at TID >= 65536",
    config: { keyExpiry: 0 },
    when: () => [
      [credit(65535), 'accepted'],
      [credit(65536), STS_REJECTION.keyExpired],
      [reg('tariff-rate', 70000, 12), 'accepted'],
    ],
  },
  {
    name: "key expiry ('nectar'): TID > KEN * 65535",
    config: { keyExpiry: 1 },
    options: { kenRule: 'nectar' },
    when: () => [
      [credit(65535), 'accepted'],
      [credit(65536), STS_REJECTION.keyExpired],
    ],
  },
  {
    name: 'the credit register refuses to overflow, and the TID stays unused',
    options: { registerLimit: 100 },
    when: () => [
      [credit(100, 60), 'accepted'],
      [credit(101, 50), STS_REJECTION.overflow],
      [credit(102, 40), 'accepted'],
    ],
    assert: (m) => expect(m.snapshot().tidMemory).toEqual([100, 102]),
  },
  {
    name: 'management tokens change the settings',
    when: () => [
      [reg('max-power-limit', 1, 7500), 'accepted'],
      [reg('max-phase-unbalance', 2, 400), 'accepted'],
      [reg('tariff-rate', 3, 321), 'accepted'],
      [reg('water-factor', 4, 99), 'accepted'],
      [reg('clear-tamper', 5, 0), 'accepted'],
    ],
    assert: (m) =>
      expect(m.snapshot()).toMatchObject({
        maxPowerLimitW: 7500,
        maxPhaseUnbalanceW: 400,
        tariffRate: 321,
        waterFactor: 99,
        tamper: false,
      }),
  },
  {
    name: 'clear credit clears one register or all; an unknown register is out of range',
    given: () => [credit(1, 10), reg('water-credit', 2, 20), reg('gas-credit', 3, 30)],
    when: () => [
      [reg('clear-credit', 4, 1), 'accepted'],
      [reg('clear-credit', 5, 9), STS_REJECTION.range],
      [reg('clear-credit', 6, 0xffff), 'accepted'],
    ],
    assert: (m, r) => {
      expect(r[0]).toMatchObject({ effect: { kind: 'clear-credit', registers: ['water-credit'] } });
      expect(m.snapshot().credit).toEqual({});
    },
  },
  {
    name: 'test tokens need no key and no TID',
    when: () => [
      [encodeToken({ type: 'test-display-1', control: 1n, manufacturer: 7 }).token, 'accepted'],
      [encodeToken({ type: 'test-display-1', control: 1n, manufacturer: 7 }).token, 'accepted'],
    ],
  },
  {
    name: 'key change: the key switches only with both sections, in either order',
    when: () => {
      const [first, second] = keyChange(false);
      return [
        [second!, 'accepted'],
        [credit(100, 10, NEW_KEY), STS_REJECTION.authentication],
        [first!, 'accepted'],
        [credit(101, 10, NEW_KEY), 'accepted'],
        [credit(102, 10, KEY), STS_REJECTION.authentication],
      ];
    },
    assert: (m, r) => {
      expect(r[0]).toMatchObject({ effect: { kind: 'key-section', section: 2 } });
      expect(r[2]).toMatchObject({
        effect: {
          kind: 'key-changed',
          keyRevision: 2,
          keyType: 2,
          tariffIndex: 7,
          keyExpiry: 255,
          rollover: false,
        },
      });
      expect(m.snapshot()).toMatchObject({
        decoderKey: NEW_KEY.toHex(),
        keyRevision: 2,
        tariffIndex: 7,
        pendingKeySections: [],
      });
    },
  },
  {
    name: 'key change without rollover keeps the TID memory',
    given: () => [credit(100)],
    when: () => {
      const [first, second] = keyChange(false);
      return [
        [first!, 'accepted'],
        [second!, 'accepted'],
        [credit(100, 10, NEW_KEY), STS_REJECTION.used],
      ];
    },
  },
  {
    name: 'rollover clears the TID memory and moves to the next base date',
    config: { baseDate: 1993 },
    given: () => range(5000, 50).map((t) => credit(t)),
    when: () => {
      const [first, second] = keyChange(true);
      return [
        [first!, 'accepted'],
        [second!, 'accepted'],
        [credit(10, 10, NEW_KEY), 'accepted'],
      ];
    },
    assert: (m) => expect(m.snapshot()).toMatchObject({ tidMemory: [10], baseDate: 2014 }),
  },
  {
    name: 'a key change to key type 0 is refused; to a default key, credit stops',
    when: () => {
      const [badFirst] = keyChange(false, 0);
      const [first, second] = keyChange(false, 1);
      return [
        [badFirst!, STS_REJECTION.keyType],
        [first!, 'accepted'],
        [second!, 'accepted'],
        [credit(100, 10, NEW_KEY), STS_REJECTION.ddtk],
      ];
    },
  },
  {
    name: 'the new key expiry number comes from both sections',
    when: () => {
      const [first, second] = keyChange(false, 2, KEY, 0x12);
      return [
        [first!, 'accepted'],
        [second!, 'accepted'],
        [credit(0x12ffff, 10, NEW_KEY), 'accepted'],
        [credit(0x130000, 10, NEW_KEY), STS_REJECTION.keyExpired],
      ];
    },
  },
];

describe('StsMeter acceptance rules', () => {
  it.each(SCENARIOS)('$name', ({ config, options, given, when, assert }) => {
    const seen: AcceptResult[] = [];
    const meter = new StsMeter({ ...CONFIG, ...config }, { ...options, onResult: (r) => seen.push(r) });
    for (const t of given?.() ?? []) expect(meter.enter(t)).toMatchObject({ accepted: true });
    const results = when().map(([token, expected]) => {
      const r = meter.enter(token);
      expect(r.accepted ? 'accepted' : r.code, `token ${token}`).toBe(expected);
      return r;
    });
    expect(seen.slice(-results.length)).toEqual(results);
    assert?.(meter, results);
  });

  it('survives a snapshot round trip', () => {
    const meter = new StsMeter(CONFIG);
    meter.enter(credit(100, 55));
    meter.enter(reg('max-power-limit', 101, 3000));
    const copy = StsMeter.fromSnapshot(JSON.parse(JSON.stringify(meter.snapshot())));
    expect(copy.snapshot()).toEqual(meter.snapshot());
    expect(copy.enter(credit(100))).toMatchObject({ accepted: false, code: 'used' });
  });

  it('consumes credit without going below zero', () => {
    const meter = new StsMeter(CONFIG);
    meter.enter(credit(1, 30));
    expect(meter.consume('electricity-credit', 20)).toBe(20);
    expect(meter.consume('electricity-credit', 20)).toBe(10);
    expect(meter.snapshot().credit).toEqual({ 'electricity-credit': 0 });
  });
});
