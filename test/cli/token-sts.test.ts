import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';

const METER = [
  '--iin',
  '600727',
  '--drn',
  '00000000000',
  '--sgc',
  '123456',
  '--ti',
  '01',
  '--krn',
  '1',
  '--kt',
  '2',
];
const VK = ['--vending-key', 'abababababababab'];
const CTSA01 = ['--base-date', '1993', '--issued-at', '2004-03-01T13:55:00Z', '--rnd', '5'];

function json(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('rasid token sts', () => {
  it('reproduces the CTSA01 worked example through --json', async () => {
    const res = await runCli([
      'token',
      'sts',
      'credit',
      ...METER,
      ...VK,
      ...CTSA01,
      '--amount',
      '0.1',
      '--json',
    ]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(json(res.stdout)).toMatchObject({
      token: '23716100501183194197',
      decoderKey: 'e653341f9d5bf36f',
      tid: 5871715,
      dataBlock: '05599863000119e6',
      value: 0.1,
      unit: 'kWh',
    });
  });

  it('prints the human form by default, and accepts --pan with the check digit or --decoder-key', async () => {
    const viaPan = await runCli([
      'token',
      'sts',
      'credit',
      '--pan',
      '600727000000000009',
      '--sgc',
      '123456',
      '--ti',
      '01',
      '--krn',
      '1',
      '--kt',
      '2',
      ...VK,
      ...CTSA01,
      '--amount',
      '0.1',
    ]);
    expect(viaPan.stdout).toBe('2371-6100-5011-8319-4197\n');
    const viaKey = await runCli([
      'token',
      'sts',
      'credit',
      '--decoder-key',
      'e653341f9d5bf36f',
      ...CTSA01,
      '--amount',
      '0.1',
    ]);
    expect(viaKey.stdout).toBe('2371-6100-5011-8319-4197\n');
  });

  it('derives the decoder key', async () => {
    const res = await runCli(['token', 'sts', 'decoder-key', ...METER, ...VK]);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('e653341f9d5bf36f\n');
  });

  it('prints both key change tokens in order (CTSA05)', async () => {
    const res = await runCli([
      'token',
      'sts',
      'key-change',
      ...METER,
      ...VK,
      '--new-ti',
      '02',
      '--new-ken',
      '255',
      '--json',
    ]);
    expect(res.code).toBe(0);
    expect(json(res.stdout)).toMatchObject({
      tokens: ['51638423060042734509', '15361891762113502242'],
      decoderKey: 'e653341f9d5bf36f',
    });
  });

  it.each([
    {
      kind: 'max-power',
      flags: ['--watts', '1000'],
      at: '2004-03-28T09:01:00Z',
      token: '50901894209860263092',
    },
    {
      kind: 'clear-credit',
      flags: ['--register', 'all'],
      at: '2004-03-28T09:15:00Z',
      token: '29511990995826640868',
    },
  ])('reproduces the published $kind token', async ({ kind, flags, at, token }) => {
    const res = await runCli([
      'token',
      'sts',
      kind,
      ...METER,
      ...VK,
      '--base-date',
      '1993',
      '--issued-at',
      at,
      '--rnd',
      '5',
      ...flags,
      '--json',
    ]);
    expect(json(res.stdout)).toMatchObject({ token });
  });

  it('makes test tokens without a key (CTSA02)', async () => {
    const one = await runCli(['token', 'sts', 'test', '--json']);
    const two = await runCli(['token', 'sts', 'test', '--subclass', '1', '--control', 'fffffff', '--json']);
    expect(json(one.stdout)).toMatchObject({ token: '56493153725450313471' });
    expect(json(two.stdout)).toMatchObject({ token: '02305843005052951967' });
  });

  it('round-trips every kind through decode (EA07 and EA09, via --batch)', async () => {
    const kinds: [Record<string, unknown>, Record<string, unknown>][] = [
      [
        { kind: 'credit', amount: '1638.5', utility: 'water' },
        { type: 'water-credit', value: 1639.4, unit: 'kL' },
      ],
      [
        { kind: 'max-power', watts: 7500 },
        { type: 'max-power-limit', value: 7500 },
      ],
      [
        { kind: 'clear-credit', register: '2' },
        { type: 'clear-credit', value: 2 },
      ],
      [
        { kind: 'tariff-rate', rate: 321 },
        { type: 'tariff-rate', value: 321 },
      ],
      [{ kind: 'clear-tamper' }, { type: 'clear-tamper' }],
      [
        { kind: 'phase-unbalance', watts: 400 },
        { type: 'max-phase-unbalance', value: 400 },
      ],
      [
        { kind: 'water-factor', factor: 99 },
        { type: 'water-factor', value: 99 },
      ],
    ];
    const meter = {
      iin: '600727',
      drn: '00000000000',
      sgc: '123456',
      ti: '01',
      krn: 1,
      kt: 2,
      vendingKey: 'abababababababab',
    };
    const requests = ['07', '09'].flatMap((ea) =>
      kinds.map(([req]) => ({ ...meter, ...req, ea, issuedAt: '2025-06-01T10:00Z' })),
    );
    const made = (
      await runCli(['token', 'sts', '--batch'], { input: requests.map((r) => JSON.stringify(r)).join('\n') })
    ).stdout
      .trim()
      .split('\n')
      .map(json);
    expect(made).toHaveLength(requests.length);
    const decodes = made.map((m, i) => ({
      kind: 'decode',
      token: m.token,
      decoderKey: m.decoderKey,
      ea: requests[i]!.ea,
    }));
    const back = await runCli(['token', 'sts', '--batch'], {
      input: decodes.map((r) => JSON.stringify(r)).join('\n'),
    });
    expect(back.code).toBe(0);
    back.stdout
      .trim()
      .split('\n')
      .map(json)
      .forEach((d, i) => {
        const m = made[i]!;
        expect(d).toMatchObject({
          ...kinds[i % kinds.length]![1],
          tid: m.tid,
          rnd: m.rnd,
          dataBlock: m.dataBlock,
        });
      });
  });

  it('runs a batch, answering a bad line with an error object and going on', async () => {
    const good = {
      kind: 'credit',
      decoderKey: 'e653341f9d5bf36f',
      baseDate: 1993,
      issuedAt: '2004-03-01T13:55:00Z',
      rnd: 5,
      amount: '0.1',
    };
    const input = [
      JSON.stringify(good),
      'not json',
      JSON.stringify({ kind: 'credit', decoderKey: 'e653341f9d5bf36f' }),
      JSON.stringify({ ...good, rnd: 6 }),
    ].join('\n');
    const res = await runCli(['token', 'sts', '--batch'], { input });
    const lines = res.stdout.trim().split('\n').map(json);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatchObject({ line: 1, token: '23716100501183194197' });
    expect(lines[1]).toMatchObject({ line: 2, error: expect.any(String) });
    expect(lines[2]).toMatchObject({ line: 3, error: expect.stringContaining('amount') });
    expect(lines[3]).toMatchObject({ line: 4, rnd: 6, token: expect.stringMatching(/^[0-9]{20}$/) });
    expect(res.code).toBe(1);
  });

  it.each([
    {
      name: 'a wrong PAN check digit',
      args: [
        'credit',
        '--pan',
        '600727000000000008',
        '--sgc',
        '123456',
        '--ti',
        '01',
        '--krn',
        '1',
        '--kt',
        '2',
        ...VK,
        '--amount',
        '1',
      ],
      message: /check digit/,
    },
    { name: 'a bad amount', args: ['credit', ...METER, ...VK, '--amount', '1,5'], message: /--amount/ },
    { name: 'a missing amount', args: ['credit', ...METER, ...VK], message: /--amount is required/ },
    {
      name: 'a short vending key',
      args: ['credit', ...METER, '--vending-key', 'abab', '--amount', '1'],
      message: /--vending-key/,
    },
    { name: 'no key at all', args: ['credit', '--amount', '1'], message: /--decoder-key/ },
    { name: 'a bad --ea', args: ['credit', ...METER, ...VK, '--amount', '1', '--ea', '11'], message: /--ea/ },
    {
      name: 'an issue time before the base date',
      args: ['credit', ...METER, ...VK, '--amount', '1', '--issued-at', '2010-01-01T00:00Z'],
      message: /before the base date/,
    },
    {
      name: 'a mistyped token',
      args: ['decode', '23716100501183194198', '--decoder-key', 'e653341f9d5bf36f'],
      message: /authentication/,
    },
    { name: 'an unknown kind', args: ['frobnicate'], message: /unknown kind 'frobnicate'/ },
  ])('refuses $name with one line and exit code 2', async ({ args, message }) => {
    const res = await runCli(['token', 'sts', ...args]);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(message);
  });
});
