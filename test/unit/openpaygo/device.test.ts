import { describe, expect, it } from 'vitest';
import {
  type DecodedToken,
  generateToken,
  OpenPaygoDevice,
  type TokenType,
} from '../../../protocols/openpaygo/index.ts';

// The key and starting code of the reference's test/simple_scenario_test.py (EnAccess/OpenPAYGO-python).
const KEY = 'a29ab82edc5fbbc41ec9530f6dac86b1';
const STARTING_CODE = 123456789;

/** A token the server issues: at its running count, or at `atCount` to jump ahead. */
interface Issue {
  readonly name: string;
  readonly type: TokenType;
  readonly value?: number;
  readonly atCount?: number;
}

/** One keypad entry and what the device must answer, plus its state afterwards when given. */
interface Entry {
  readonly enter: string;
  readonly status: DecodedToken['status'];
  readonly type?: TokenType;
  readonly value?: number | null;
  readonly count?: number;
  readonly lastCount?: number;
  readonly usedCounts?: readonly number[];
}

interface Scenario {
  readonly name: string;
  readonly given: {
    readonly issue: readonly Issue[];
    readonly extended?: boolean;
    readonly restrictedDigitSet?: boolean;
    readonly valueDivider?: number;
    readonly device?: { readonly lastCount: number; readonly usedCounts?: readonly number[] };
  };
  readonly when: readonly Entry[];
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
const addTimes = (n: number): Issue[] =>
  range(1, n).map((i) => ({ name: `a${i}`, type: 'add-time' as const, value: 1 }));

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'a fresh ADD_TIME token is accepted once',
    given: { issue: [{ name: 'a1', type: 'add-time', value: 1 }] },
    when: [
      { enter: 'a1', status: 'valid', type: 'add-time', value: 1, count: 2, lastCount: 2, usedCounts: [2] },
      { enter: 'a1', status: 'already-used', lastCount: 2, usedCounts: [2] },
    ],
  },
  {
    name: 'a wrong code is invalid and changes nothing',
    given: { issue: [{ name: 'a1', type: 'add-time', value: 1 }] },
    when: [
      { enter: '987654321', status: 'invalid', lastCount: 1, usedCounts: [] },
      { enter: '12345678', status: 'invalid', lastCount: 1, usedCounts: [] },
      { enter: 'a1', status: 'valid', count: 2 },
    ],
  },
  {
    // The reference's decoder starts its search at count 0, where the chain holds the starting code itself:
    // typing the starting code is an ADD_TIME of 0 days, accepted once (simple_scenario_test.py's "invalid"
    // first entry, 123456789, is exactly this and leaves the device inactive).
    name: 'the starting code itself is an ADD_TIME of 0 at count 0, once',
    given: { issue: [] },
    when: [
      {
        enter: '123456789',
        status: 'valid',
        type: 'add-time',
        value: 0,
        count: 0,
        lastCount: 1,
        usedCounts: [0],
      },
      { enter: '123456789', status: 'already-used', lastCount: 1, usedCounts: [0] },
    ],
  },
  {
    name: 'the latest of several tokens moves the count; the skipped ones still work once',
    given: { issue: addTimes(6) },
    when: [
      { enter: 'a6', status: 'valid', count: 12, lastCount: 12, usedCounts: [12] },
      { enter: 'a1', status: 'valid', value: 1, count: 2, lastCount: 12, usedCounts: [2, 12] },
      { enter: 'a3', status: 'valid', count: 6, lastCount: 12, usedCounts: [2, 6, 12] },
      { enter: 'a1', status: 'already-used' },
      { enter: 'a6', status: 'already-used', usedCounts: [2, 6, 12] },
    ],
  },
  {
    // simple_scenario_test.py: nine 1-day tokens, the 9th entered first; the 1st is too old, 5 to 2 work.
    name: 'an ADD_TIME token 16 or more counts back is refused',
    given: { issue: addTimes(9) },
    when: [
      { enter: 'a9', status: 'valid', count: 18, lastCount: 18 },
      { enter: 'a1', status: 'already-used', lastCount: 18 },
      { enter: 'a5', status: 'valid', count: 10 },
      { enter: 'a4', status: 'valid', count: 8 },
      { enter: 'a3', status: 'valid', count: 6 },
      { enter: 'a2', status: 'valid', count: 4, lastCount: 18, usedCounts: [4, 6, 8, 10, 18] },
    ],
  },
  {
    // simple_scenario_test.py: an add-time older than a set-time cannot be used.
    name: 'SET_TIME marks the window used, down to negative counts',
    given: {
      issue: [
        { name: 'a1', type: 'add-time', value: 1 },
        { name: 's0', type: 'set-time', value: 0 },
      ],
    },
    when: [
      { enter: 's0', status: 'valid', type: 'set-time', value: 0, count: 3, usedCounts: range(-13, 3) },
      { enter: 'a1', status: 'already-used', lastCount: 3, usedCounts: range(-13, 3) },
    ],
  },
  {
    // simple_scenario_test.py: an older set-time cannot be used.
    name: 'an older SET_TIME token is refused',
    given: {
      issue: [
        { name: 's1', type: 'set-time', value: 1 },
        { name: 'a1', type: 'add-time', value: 1 },
      ],
    },
    when: [
      { enter: 'a1', status: 'valid', count: 4, lastCount: 4, usedCounts: [4] },
      { enter: 's1', status: 'already-used', lastCount: 4 },
    ],
  },
  {
    name: 'DISABLE_PAYG is accepted once and marks the window used',
    given: {
      issue: [
        { name: 'a1', type: 'add-time', value: 1 },
        { name: 'a2', type: 'add-time', value: 1 },
        { name: 'off', type: 'disable-payg' },
      ],
    },
    when: [
      { enter: 'a1', status: 'valid', count: 2 },
      {
        enter: 'off',
        status: 'valid',
        type: 'disable-payg',
        value: null,
        count: 5,
        usedCounts: range(-11, 5),
      },
      { enter: 'a2', status: 'already-used' },
      { enter: 'off', status: 'already-used', lastCount: 5 },
    ],
  },
  {
    name: 'COUNTER_SYNC up to 64 counts back is accepted and moves the count back',
    given: {
      issue: [{ name: 'sync', type: 'counter-sync', atCount: 20 }],
      device: { lastCount: 40, usedCounts: [38, 40] },
    },
    when: [
      {
        enter: 'sync',
        status: 'valid',
        type: 'counter-sync',
        value: null,
        count: 21,
        lastCount: 21,
        usedCounts: range(24, 40),
      },
    ],
  },
  {
    name: 'COUNTER_SYNC more than 64 counts back is refused',
    given: {
      issue: [{ name: 'sync', type: 'counter-sync', atCount: 4 }],
      device: { lastCount: 80 },
    },
    when: [{ enter: 'sync', status: 'already-used', lastCount: 80 }],
  },
  {
    // Tokens at counts 64 and 101 sit exactly at the edge of the search from count 1; 66 and 103 are past it.
    name: 'the device searches 64 counts ahead, 100 for a counter sync',
    given: {
      issue: [
        { name: 'a-near', type: 'add-time', value: 3, atCount: 62 },
        { name: 'a-far', type: 'add-time', value: 3, atCount: 64 },
        { name: 'sync-far', type: 'counter-sync', atCount: 100 },
        { name: 'sync-too-far', type: 'counter-sync', atCount: 102 },
      ],
      device: { lastCount: 1 },
    },
    when: [
      { enter: 'a-far', status: 'invalid', lastCount: 1 },
      { enter: 'sync-too-far', status: 'invalid', lastCount: 1 },
      { enter: 'a-near', status: 'valid', count: 64, lastCount: 64 },
      { enter: 'sync-far', status: 'valid', count: 101, lastCount: 101 },
      { enter: 'a-far', status: 'already-used' },
      { enter: 'a-near', status: 'already-used' },
    ],
  },
  {
    name: 'used counts given to the device are honoured, negative ones included',
    given: {
      issue: addTimes(2),
      device: { lastCount: 4, usedCounts: [-1, 4] },
    },
    when: [
      { enter: 'a2', status: 'already-used', lastCount: 4, usedCounts: [-1, 4] },
      { enter: 'a1', status: 'valid', count: 2, lastCount: 4, usedCounts: [-1, 2, 4] },
      { enter: 'a1', status: 'already-used' },
    ],
  },
  {
    name: 'extended tokens follow the same rules',
    given: {
      extended: true,
      issue: [
        ...addTimes(3),
        { name: 'off', type: 'disable-payg' },
        { name: 'a-late', type: 'add-time', value: 250000 },
      ],
    },
    when: [
      { enter: 'a3', status: 'valid', count: 6, usedCounts: [6] },
      { enter: 'a1', status: 'valid', count: 2, usedCounts: [2, 6] },
      { enter: 'a1', status: 'already-used' },
      { enter: 'off', status: 'valid', type: 'disable-payg', count: 7, usedCounts: range(-9, 7) },
      { enter: 'a2', status: 'already-used' },
      { enter: 'a-late', status: 'valid', value: 250000, count: 8, usedCounts: range(-8, 8) },
      { enter: '123456789012', status: 'invalid', lastCount: 8 },
    ],
  },
  {
    name: 'a restricted-digit keypad: wrong keys are invalid entries',
    given: { restrictedDigitSet: true, issue: addTimes(2) },
    when: [
      { enter: 'a2', status: 'valid', count: 4 },
      { enter: '123412341234125', status: 'invalid' },
      { enter: '1234123412341234123412', status: 'invalid' },
      { enter: 'a1', status: 'valid', count: 2, usedCounts: [2, 4] },
    ],
  },
  {
    name: 'a value divider of 10 carries tenths of a day',
    given: {
      valueDivider: 10,
      issue: [
        { name: 'half', type: 'add-time', value: 0.5 },
        { name: 'long', type: 'set-time', value: 99.5 },
      ],
    },
    when: [
      { enter: 'half', status: 'valid', value: 0.5 },
      { enter: 'long', status: 'valid', value: 99.5 },
    ],
  },
];

/** The server side: issues the scenario's tokens in order, as the reference's server simulator does. */
function issueTokens(given: Scenario['given']): Map<string, string> {
  const tokens = new Map<string, string>();
  let count = 1;
  for (const issue of given.issue) {
    const generated = generateToken({
      key: KEY,
      startingCode: STARTING_CODE,
      count: issue.atCount ?? count,
      type: issue.type,
      value: issue.value,
      valueDivider: given.valueDivider,
      extended: given.extended,
      restrictedDigitSet: given.restrictedDigitSet,
    });
    count = generated.newCount;
    tokens.set(issue.name, generated.token);
  }
  return tokens;
}

describe('OpenPaygoDevice', () => {
  it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', (_name, scenario) => {
    const tokens = issueTokens(scenario.given);
    const device = new OpenPaygoDevice({
      key: KEY,
      startingCode: STARTING_CODE,
      lastCount: scenario.given.device?.lastCount,
      usedCounts: scenario.given.device?.usedCounts,
      restrictedDigitSet: scenario.given.restrictedDigitSet,
      valueDivider: scenario.given.valueDivider,
    });
    scenario.when.forEach((entry, step) => {
      const typed = tokens.get(entry.enter) ?? entry.enter;
      const result = device.enterToken(typed);
      const where = `step ${step + 1}: ${entry.enter}`;
      expect(result.status, where).toBe(entry.status);
      if (result.status === 'valid') {
        if (entry.type !== undefined) expect(result.type, where).toBe(entry.type);
        if (entry.value !== undefined) expect(result.value, where).toBe(entry.value);
        if (entry.count !== undefined) expect(result.count, where).toBe(entry.count);
      } else {
        expect(result, where).toEqual({ status: entry.status });
      }
      if (entry.lastCount !== undefined) expect(device.lastCount, where).toBe(entry.lastCount);
      if (entry.usedCounts !== undefined) expect(device.usedCounts, where).toEqual(entry.usedCounts);
    });
  });

  it('starts at count 1 with no used counts, as the reference simulators do', () => {
    const device = new OpenPaygoDevice({ key: KEY, startingCode: STARTING_CODE });
    expect(device.state()).toEqual({ lastCount: 1, usedCounts: [] });
  });
});
