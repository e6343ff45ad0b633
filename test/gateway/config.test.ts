/** The gateway's configuration, its built-in profiles, its scheduling pieces and its CLI entry. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import {
  backoffDelay,
  ClockSequence,
  GatewayConfigError,
  jittered,
  loadConfig,
  loadConfigFile,
  planReads,
  RecentCommands,
  Semaphore,
} from '../../gateway/index.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { registerGatewayCommand } from '../../src/cli/gateway.ts';

const base = {
  gatewayId: 'gw-1',
  utility: 'dewa',
  broker: { url: 'mqtt://127.0.0.1:1883', username: 'gw-1', password: { env: 'GW_PASSWORD' } },
  meters: [
    { id: 'SN-1', protocol: 'modbus', connection: { type: 'tcp', host: '10.0.0.5', port: 502 } },
    {
      id: 'SN-2',
      protocol: 'dlms',
      kind: 'electricity',
      pollIntervalS: 60,
      connection: { type: 'tcp', host: '10.0.0.6', port: 4059 },
      transport: { framing: 'hdlc', serverLogical: 1, serverPhysical: 17 },
      security: {
        mechanism: 'hls-gmac',
        authenticationKey: { env: 'GW_AK' },
        encryptionKey: '000102030405060708090a0b0c0d0e0f',
        systemTitle: '4753573030303031',
      },
    },
  ],
};
const env = { GW_PASSWORD: 'pw', GW_AK: 'd0d1d2d3d4d5d6d7d8d9dadbdcdddedf' };

describe('loadConfig', () => {
  it('fills defaults, resolves secrets and expands the built-in profiles', () => {
    const config = loadConfig(base, env);
    expect(config.broker).toMatchObject({ password: 'pw', keepaliveS: 120, persistentSession: true });
    expect(config.polling).toMatchObject({ intervalS: 900, concurrency: 16, jitter: 0.1 });
    const [modbus, dlms] = config.meters;
    expect(modbus).toMatchObject({ unitId: 1, pollIntervalS: 900, timeoutMs: 10_000 });
    expect(modbus?.profile).toMatchObject({ protocol: 'modbus', relayCoil: 'relay_control', tokens: true });
    expect(dlms?.pollIntervalS).toBe(60);
    expect(dlms?.profile).toMatchObject({
      protocol: 'dlms',
      fields: {
        energyWh: { obis: '1.0.1.8.0.255', classId: 3 },
        creditWh: { obis: '0.0.19.10.0.255', classId: 112 },
        relay: { obis: '0.0.96.3.10.255', classId: 70 },
      },
      disconnectControl: '0.0.96.3.10.255',
      tokenGateway: '0.0.19.40.0.255',
      clock: '0.0.1.0.0.255',
      loadProfile: {
        obis: '1.0.99.1.0.255',
        columns: { energyWh: { obis: '1.0.1.8.0.255', classId: 3, attribute: 2 } },
      },
    });
    expect(config.polling.linkCheckS).toBe(60);
    expect(
      dlms?.protocol === 'dlms' && dlms.security.mechanism === 'hls-gmac' && dlms.security.authenticationKey,
    ).toEqual(Buffer.from(env.GW_AK, 'hex'));
    expect(Object.isFrozen(config.meters[0])).toBe(true);
  });

  it.each([
    ['a missing environment secret', base, {}, GatewayConfigError, /GW_PASSWORD is not set/],
    [
      'a meter listed twice',
      { ...base, meters: [base.meters[0], base.meters[0]] },
      env,
      ZodError,
      /SN-1 is listed twice/,
    ],
    [
      'a write-only register as a reading field',
      {
        ...base,
        meters: [{ ...base.meters[0], profile: { protocol: 'modbus', fields: { energyWh: 'token' } } }],
      },
      env,
      ZodError,
      /token is write-only/,
    ],
    [
      'a bad OBIS code in a DLMS profile',
      {
        ...base,
        meters: [
          { ...base.meters[1], profile: { protocol: 'dlms', fields: { energyWh: { obis: '1.0.1.8' } } } },
        ],
      },
      env,
      ZodError,
      /not an OBIS code/,
    ],
    [
      'a load profile with no column',
      {
        ...base,
        meters: [
          {
            ...base.meters[1],
            profile: {
              protocol: 'dlms',
              fields: { energyWh: { obis: '1.0.1.8.0.255' } },
              loadProfile: { obis: '1.0.99.1.0.255', columns: {} },
            },
          },
        ],
      },
      env,
      ZodError,
      /map at least one column/,
    ],
    ['an unsafe utility code', { ...base, utility: 'Dewa/#' }, env, ZodError, /utility code/],
  ] as const)('refuses %s, naming it', (_name, source, environment, type, message) => {
    expect(() => loadConfig(source, environment)).toThrow(type);
    expect(() => loadConfig(source, environment)).toThrow(message);
  });

  it('reads a JSON file and refuses one that is not JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rasid-gw-'));
    try {
      await writeFile(join(dir, 'ok.json'), JSON.stringify(base));
      await writeFile(join(dir, 'bad.json'), '{ gatewayId: ');
      expect((await loadConfigFile(join(dir, 'ok.json'), env)).gatewayId).toBe('gw-1');
      await expect(loadConfigFile(join(dir, 'bad.json'), env)).rejects.toThrow(/is not JSON/);
      await expect(loadConfigFile(join(dir, 'none.json'), env)).rejects.toThrow(/cannot read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('scheduling pieces', () => {
  it('a semaphore lets at most its limit in, in arrival order', async () => {
    const sem = new Semaphore(2);
    const order: number[] = [];
    const a = await sem.acquire();
    const b = await sem.acquire();
    const c = sem.acquire().then((release) => {
      order.push(3);
      return release;
    });
    const d = sem.acquire().then((release) => {
      order.push(4);
      return release;
    });
    expect(sem.inUse).toBe(2);
    expect(sem.queued).toBe(2);
    a();
    a(); // a second release of the same slot changes nothing
    (await c)();
    b();
    (await d)();
    expect(order).toEqual([3, 4]);
    expect(sem.inUse).toBe(0);
  });

  it('backoff doubles up to its cap; jitter stays within its band', () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(n, 100, 1000))).toEqual([100, 200, 400, 800, 1000]);
    expect(jittered(1000, 0.1, () => 0)).toBe(900);
    expect(jittered(1000, 0.1, () => 1)).toBe(1100);
  });

  it('gateway sequence numbers only go up, also within one second', () => {
    const seq = new ClockSequence(() => 1_795_420_800_123);
    expect([seq.next(), seq.next(), seq.next()]).toEqual([1_795_420_800, 1_795_420_801, 1_795_420_802]);
  });

  it('plans one request per contiguous run of registers', () => {
    expect(planReads(['energy', 'clock', 'credit', 'serial', 'low_credit_threshold'])).toEqual([
      { table: 'holding', address: 214, count: 2 },
      { table: 'input', address: 0, count: 4 },
      { table: 'input', address: 13, count: 2 },
      { table: 'input', address: 20, count: 2 },
      { table: 'input', address: 100, count: 8 },
    ]);
  });

  it('recent command ids are kept until they expire or the memory is full', () => {
    const recent = new RecentCommands(16);
    recent.begin('SN-1', 'a', 2000, 1000);
    expect(recent.get('SN-1', 'a')).toEqual({ ack: undefined, expiresAtMs: 2000 });
    expect(recent.get('SN-2', 'a')).toBeUndefined();
    recent.finish('SN-1', 'a', { v: 1, id: 'a', ts: 1, status: 'ok' });
    recent.begin('SN-1', 'b', 5000, 3000); // 'a' has expired by now
    expect(recent.get('SN-1', 'a')).toBeUndefined();
    expect(recent.size).toBe(1);
  });
});

describe('rasid gateway (CLI)', () => {
  function program(): { program: Command; out: () => string } {
    let out = '';
    const p = new Command('rasid').exitOverride().configureOutput({
      writeOut: (s) => {
        out += s;
      },
      writeErr: () => {},
    });
    registerGatewayCommand(p);
    for (const sub of p.commands)
      sub.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: () => {} });
    return { program: p, out: () => out };
  }

  it('explains itself with --help', async () => {
    const { program: p, out } = program();
    await expect(p.parseAsync(['gateway', '--help'], { from: 'user' })).rejects.toMatchObject({
      exitCode: 0,
    });
    expect(out()).toMatch(/--config <file>/);
    expect(out()).toMatch(/--log-level <level>/);
  });

  it('refuses a missing configuration file and a bad log level as usage errors', async () => {
    await expect(
      program().program.parseAsync(['gateway', '--config', '/nonexistent.json'], { from: 'user' }),
    ).rejects.toThrow(UsageError);
    await expect(
      program().program.parseAsync(['gateway', '--config', 'x.json', '--log-level', 'loud'], {
        from: 'user',
      }),
    ).rejects.toThrow(/--log-level/);
  });
});
