/**
 * Published OpenPAYGO Token vectors.
 *
 * `REFERENCE_VECTORS` is test/test_tokens.jsonl of EnAccess/OpenPAYGO-python (MIT licence, © EnAccess),
 * produced by its utils/generate_test_tokens.py and checked by its test_encoder.py / test_decoder.py:
 * two devices, every token type, values 1, 2, 5 and 995, standard and extended, with and without the
 * restricted digit set. Rewritten as a table (one row per type and value, the four tokens in the order
 * standard, extended, restricted standard, restricted extended); every token is copied as published.
 *
 * `ISSUE_VECTORS` are tokens the same library printed in its issues #21 and #24 (EnAccess/OpenPAYGO-python),
 * at counts the jsonl file does not cover.
 */
import type { TokenType } from '../../../protocols/openpaygo/index.ts';

export interface ReferenceDevice {
  readonly serialNumber: string;
  readonly key: string;
  readonly startingCode: number;
  readonly count: number;
}

export interface ReferenceRow {
  readonly type: TokenType;
  /** `value_raw`: null for DISABLE_PAYG and COUNTER_SYNC. */
  readonly value: number | null;
  readonly newCount: number;
  /** Tokens: [standard, extended, restricted standard, restricted extended]. */
  readonly tokens: readonly [string, string, string, string];
}

export interface ReferenceVector {
  readonly device: ReferenceDevice;
  readonly type: TokenType;
  readonly value: number | null;
  readonly extended: boolean;
  readonly restrictedDigitSet: boolean;
  readonly newCount: number;
  readonly token: string;
}

const DEVICE_1: ReferenceDevice = {
  serialNumber: 'TEST220000001',
  key: 'bc41ec9530f6dac86b1a29ab82edc5fb',
  startingCode: 516959010,
  count: 1,
};

const DEVICE_2: ReferenceDevice = {
  serialNumber: 'TEST240000002',
  key: 'dac86b1a29ab82edc5fbbc41ec9530f6',
  startingCode: 432435255,
  count: 10,
};

const DEVICE_1_ROWS: readonly ReferenceRow[] = [
  {
    type: 'add-time',
    value: 1,
    newCount: 2,
    tokens: ['588224011', '247264959011', '314114432231134', '14323213131442331314'],
  },
  {
    type: 'add-time',
    value: 2,
    newCount: 2,
    tokens: ['639704012', '088026959012', '323131212344141', '12212443421141413321'],
  },
  {
    type: 'add-time',
    value: 5,
    newCount: 2,
    tokens: ['177073015', '507849959015', '133314243342424', '24231443142423232324'],
  },
  {
    type: 'add-time',
    value: 995,
    newCount: 2,
    tokens: ['944829005', '202207960005', '431221144132142', '13441221313132344122'],
  },
  {
    type: 'set-time',
    value: 1,
    newCount: 3,
    tokens: ['380589011', '660362959011', '223334422144214', '32324111341412313314'],
  },
  {
    type: 'set-time',
    value: 2,
    newCount: 3,
    tokens: ['618165012', '250408959012', '321423124141221', '14332142313224411321'],
  },
  {
    type: 'set-time',
    value: 5,
    newCount: 3,
    tokens: ['691966015', '925720959015', '332144332111444', '42243132212142311324'],
  },
  {
    type: 'set-time',
    value: 995,
    newCount: 3,
    tokens: ['586420005', '765385960005', '313442111441322', '34131421314343332122'],
  },
  {
    type: 'disable-payg',
    value: null,
    newCount: 3,
    tokens: ['190942008', '696672960008', '134231231341431', '33131421441234431131'],
  },
  {
    type: 'counter-sync',
    value: null,
    newCount: 3,
    tokens: ['160440009', '673729960009', '132321112434132', '32414242234422312132'],
  },
];

const DEVICE_2_ROWS: readonly ReferenceRow[] = [
  {
    type: 'add-time',
    value: 1,
    newCount: 12,
    tokens: ['579194256', '190546435256', '313312241423211', '13412242241442413431'],
  },
  {
    type: 'add-time',
    value: 2,
    newCount: 12,
    tokens: ['134447257', '504100435257', '131111431113232', '24222243343314221432'],
  },
  {
    type: 'add-time',
    value: 5,
    newCount: 12,
    tokens: ['589568260', '406910435260', '314132112321121', '22433442411124443441'],
  },
  {
    type: 'add-time',
    value: 995,
    newCount: 12,
    tokens: ['379163250', '750811436250', '223323232132413', '33434144423222214233'],
  },
  {
    type: 'set-time',
    value: 1,
    newCount: 11,
    tokens: ['241554256', '507297435256', '143232242142211', '24231242213131432431'],
  },
  {
    type: 'set-time',
    value: 2,
    newCount: 11,
    tokens: ['628716257', '358184435257', '322243224134312', '22142322242134431432'],
  },
  {
    type: 'set-time',
    value: 5,
    newCount: 11,
    tokens: ['519034260', '683979435260', '243434442223221', '32442111223243414441'],
  },
  {
    type: 'set-time',
    value: 995,
    newCount: 11,
    tokens: ['664193250', '131362436250', '324322341314313', '12433222414434213233'],
  },
  {
    type: 'disable-payg',
    value: null,
    newCount: 11,
    tokens: ['418174253', '523765436253', '231434142221342', '24324413423321442242'],
  },
  {
    type: 'counter-sync',
    value: null,
    newCount: 11,
    tokens: ['648453254', '059963436254', '323332332413123', '11424423123223414243'],
  },
];

const LAYOUTS = [
  { extended: false, restrictedDigitSet: false },
  { extended: true, restrictedDigitSet: false },
  { extended: false, restrictedDigitSet: true },
  { extended: true, restrictedDigitSet: true },
] as const;

function expand(device: ReferenceDevice, rows: readonly ReferenceRow[]): ReferenceVector[] {
  return rows.flatMap((row) =>
    LAYOUTS.map((layout, i) => ({
      device,
      type: row.type,
      value: row.value,
      newCount: row.newCount,
      token: row.tokens[i] ?? '',
      ...layout,
    })),
  );
}

/** The 80 lines of test_tokens.jsonl. */
export const REFERENCE_VECTORS: readonly ReferenceVector[] = [
  ...expand(DEVICE_1, DEVICE_1_ROWS),
  ...expand(DEVICE_2, DEVICE_2_ROWS),
];

/** Tokens printed by the reference in its issues, for device 1 at other counts. */
export const ISSUE_VECTORS: readonly ReferenceVector[] = [
  // Issue #21: generate_token(count=2, value=1, ADD_TIME, extended) -> new_count 4, '584694959011'.
  {
    device: { ...DEVICE_1, count: 2 },
    type: 'add-time',
    value: 1,
    extended: true,
    restrictedDigitSet: false,
    newCount: 4,
    token: '584694959011',
  },
  // Issue #24: generate_token(count=4, DISABLE_PAYG, extended) -> new_count 5, '223770960008'.
  {
    device: { ...DEVICE_1, count: 4 },
    type: 'disable-payg',
    value: null,
    extended: true,
    restrictedDigitSet: false,
    newCount: 5,
    token: '223770960008',
  },
];
