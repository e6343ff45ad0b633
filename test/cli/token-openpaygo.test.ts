import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';

// Device TEST220000001 of EnAccess/OpenPAYGO-python's test/test_tokens.jsonl.
const DEVICE = ['--key', 'bc41ec9530f6dac86b1a29ab82edc5fb', '--starting-code', '516959010'];

function parseJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] ?? '') as Record<string, unknown>;
}

describe('rasid token openpaygo', () => {
  it.each([
    [['--type', 'add-time', '--value', '1'], '588224011', 2],
    [['--type', 'set-time', '--value', '995', '--extended'], '765385960005', 3],
    [['--type', 'disable', '--restricted-digits'], '134231231341431', 3],
    [['--type', 'counter-sync', '--extended', '--restricted-digits'], '32414242234422312132', 3],
  ])('generate %j reproduces the reference token', async (flags, token, newCount) => {
    const res = await runCli([
      'token',
      'openpaygo',
      'generate',
      ...DEVICE,
      '--count',
      '1',
      ...flags,
      '--json',
    ]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(parseJson(res.stdout)).toMatchObject({ token, newCount });
  });

  it('decodes a reference token', async () => {
    const res = await runCli([
      'token',
      'openpaygo',
      'decode',
      ...DEVICE,
      '--token',
      '639704012',
      '--last-count',
      '1',
      '--json',
    ]);
    expect(res.code).toBe(0);
    expect(parseJson(res.stdout)).toEqual({
      status: 'valid',
      format: 'standard',
      type: 'add-time',
      value: 2,
      rawValue: 2,
      count: 2,
      lastCount: 2,
      usedCounts: [2],
    });
  });

  it('round-trips generate and decode in the human form, with negative used counts', async () => {
    const gen = await runCli([
      'token',
      'openpaygo',
      'generate',
      ...DEVICE,
      '--count',
      '7',
      '--type',
      'set-time',
      '--value',
      '30',
    ]);
    expect(gen.code).toBe(0);
    const token = /^token\s+([0-9 ]+)$/m.exec(gen.stdout)?.[1];
    expect(token).toMatch(/^\d{3} \d{3} \d{3}$/);
    expect(gen.stdout).toMatch(/^newCount\s+9$/m);

    const dec = await runCli([
      'token',
      'openpaygo',
      'decode',
      ...DEVICE,
      '--token',
      token ?? '',
      '--last-count',
      '7',
      '--used-counts=-8,-1,6',
    ]);
    expect(dec.stderr).toBe('');
    expect(dec.code).toBe(0);
    expect(dec.stdout).toMatch(/^status\s+valid$/m);
    expect(dec.stdout).toMatch(/^type\s+set-time$/m);
    expect(dec.stdout).toMatch(/^value\s+30$/m);
    expect(dec.stdout).toMatch(/^count\s+9$/m);
    expect(dec.stdout).toMatch(/^usedCounts\s+-7,-6,-5,-4,-3,-2,-1,0,1,2,3,4,5,6,7,8,9$/m);
  });

  it('answers a reused token with already-used, no value and exit code 1', async () => {
    const res = await runCli([
      'token',
      'openpaygo',
      'decode',
      ...DEVICE,
      '--token',
      '588224011',
      '--last-count',
      '2',
      '--used-counts',
      '2',
      '--json',
    ]);
    expect(res.code).toBe(1);
    expect(parseJson(res.stdout)).toEqual({ status: 'already-used' });
  });

  it('answers a wrong token with invalid in the human form and exit code 1', async () => {
    const res = await runCli([
      'token',
      'openpaygo',
      'decode',
      ...DEVICE,
      '--token',
      '111111111',
      '--last-count',
      '1',
    ]);
    expect(res.code).toBe(1);
    expect(res.stdout.trim()).toMatch(/^status\s+invalid$/);
    expect(res.stdout).not.toContain('value');
  });

  it.each([
    [
      [
        'generate',
        '--key',
        'abc',
        '--starting-code',
        '1',
        '--count',
        '1',
        '--type',
        'add-time',
        '--value',
        '1',
      ],
      '--key',
    ],
    [['generate', ...DEVICE, '--count', '1', '--type', 'add-time', '--value', '996'], '--value'],
    [['generate', ...DEVICE, '--count', '1', '--type', 'add-time'], '--value'],
    [['generate', ...DEVICE, '--count', '1', '--type', 'disable', '--value', '3'], '--value'],
    [['generate', ...DEVICE, '--count', 'two', '--type', 'add-time', '--value', '1'], '--count'],
    [['generate', ...DEVICE, '--count', '1', '--type', 'top-up', '--value', '1'], '--type'],
    [['generate', ...DEVICE, '--count', '1', '--value', '1'], '--type'],
    [['decode', ...DEVICE, '--token', '58822401x', '--last-count', '1'], '--token'],
    [
      ['decode', ...DEVICE, '--token', '588224011', '--last-count', '1', '--used-counts=1,,2'],
      '--used-counts',
    ],
    [['decode', ...DEVICE, '--token', '588224011'], '--last-count'],
  ])('refuses %j with one line naming %s and exit code 2', async (args, flag) => {
    const res = await runCli(['token', 'openpaygo', ...args]);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(flag);
  });

  it.each(['generate', 'decode'])('%s --help', async (sub) => {
    const res = await runCli(['token', 'openpaygo', sub, '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^Usage: rasid token openpaygo ${sub} `));
    expect(res.stdout).toContain('--json');
  });
});
