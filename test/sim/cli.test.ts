import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stsParametersFor } from '../../firmware-sim/model/index.ts';
import { loadConfig } from '../../gateway/index.ts';
import { encodeToken, tidFromDate } from '../../protocols/sts/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HARNESS = ['bin/run-ts.mjs', 'test/sim/sim-cli.ts', 'sim'];

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stdout: () => string;
  stderr: () => string;
}

function sim(args: readonly string[], input?: string): Run {
  const child = spawn(process.execPath, [...HARNESS, ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  if (input !== undefined) child.stdin?.end(input);
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('rasid sim', () => {
  it.each(['', 'meter', 'fleet'])('sim %s --help', async (sub) => {
    const res = await sim([...(sub ? [sub] : []), '--help']).done;
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Usage: rasid sim/);
  });

  it.each([
    [['meter', '--serial', 'SN-1', '--kind', 'gas'], '--kind'],
    [['meter', '--serial', 'SN 1'], '--serial'],
    [['fleet', '--meters', 'many'], '--meters'],
    [['fleet', '--meters', '3', '--protocol', 'zigbee'], '--protocol'],
    [['fleet', '--meters', '3', '--speed', '0'], '--speed'],
    [['fleet', '--meters', '3', '--protocol', 'dlms', '--dlms-security', 'hls'], '--dlms-security'],
    [['fleet', '--meters', '3', '--protocol', 'dlms', '--dlms-framing', 'serial'], '--dlms-framing'],
    [['fleet', '--meters', '3', '--protocol', 'dlms', '--dlms-ek', 'abc'], '--dlms-ek'],
    [['fleet', '--meters', '3', '--gateway-config', 'gw.json'], '--gateway-config'],
    [['fleet', '--meters', '3', '--protocol', 'modbus', '--base-port', '65535'], '--base-port'],
  ])('refuses %j with one line and exit code 2', async (args, flag) => {
    const res = await sim(args).done;
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain(flag);
  });

  it('sim meter: the keypad accepts a token, refuses it the second time, and the state survives a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rasid-sim-cli-'));
    dirs.push(dir);
    const { params } = stsParametersFor({ drn: '00000000042' });
    const token = encodeToken(
      { type: 'electricity-credit', rnd: 5, tid: tidFromDate(Date.now(), 2014), value: 250 },
      { key: params.decoderKey },
    ).token;
    const args = [
      'meter',
      '--serial',
      'SN-42',
      '--drn',
      '00000000042',
      '--protocol',
      'modbus',
      '--port',
      '0',
    ];
    const first = await sim([...args, '--state-dir', dir], `${token}\n${token}\nstatus\n`).done;
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('accepted: credit +25 kWh');
    expect(first.stdout).toMatch(/rejected \(used\): TID \d+ was already used/);
    expect(first.stdout).toContain('relay connected');
    const state = JSON.parse(await readFile(join(dir, 'SN-42.json'), 'utf8'));
    expect(state.sts.tidMemory).toHaveLength(1);

    const second = await sim([...args, '--state-dir', dir], `${token}\n`).done;
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('rejected (used)');
    expect(second.stdout).toMatch(/credit 2[45]\.\d{3} kWh/);
  });

  it.each([
    ['dlms', ['--dlms-framing', 'hdlc', '--dlms-security', 'lls']],
    ['modbus', []],
  ])(
    'sim fleet --protocol %s --gateway-config writes a configuration the gateway accepts',
    async (protocol, extra) => {
      const dir = await mkdtemp(join(tmpdir(), 'rasid-sim-gw-'));
      dirs.push(dir);
      const file = join(dir, 'gateway.json');
      const run = sim([
        'fleet',
        '--meters',
        '3',
        '--protocol',
        protocol,
        ...extra,
        '--base-port',
        '0',
        '--gateway-config',
        file,
        '--gateway-id',
        'gw-test',
        '--speed',
        '60',
        '--interval',
        '600',
      ]);
      while (!run.stderr().includes('gateway configuration')) {
        await new Promise((r) => setTimeout(r, 50));
        if (run.child.exitCode !== null) break;
      }
      const config = loadConfig(JSON.parse(await readFile(file, 'utf8')));
      run.child.kill('SIGINT');
      const res = await run.done;
      expect(res.code).toBe(0);
      expect(res.stderr).toContain(`gateway configuration for 3 meters written to ${file}`);
      expect(config.gatewayId).toBe('gw-test');
      expect(config.polling.intervalS).toBe(10);
      expect(config.meters.map((m) => [m.id, m.protocol])).toEqual([
        ['SIM-000001', protocol],
        ['SIM-000002', protocol],
        ['SIM-000003', protocol],
      ]);
      const ports = config.meters.map((m) => (m.connection.type === 'tcp' ? m.connection.port : 0));
      expect(new Set(ports).size).toBe(3);
      if (protocol === 'dlms') {
        expect(config.meters[0]).toMatchObject({
          transport: { framing: 'hdlc' },
          security: { mechanism: 'lls', password: '12345678' },
        });
      }
    },
  );

  describe('sim fleet against a broker', () => {
    let broker: Aedes;
    let server: Server;
    let url: string;
    const readingsFrom = new Set<string>();
    const users = new Set<string>();

    beforeAll(async () => {
      broker = await Aedes.createBroker({
        authenticate(_client, username, password, done) {
          if (username) users.add(username);
          done(null, password?.toString() === 'fleet-pw');
        },
      });
      broker.on('publish', (packet) => {
        const m = /meters\/([^/]+)\/up\/reading$/.exec(packet.topic);
        if (m?.[1]) readingsFrom.add(m[1]);
      });
      server = createServer(broker.handle);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('runs 50 meters that all log in and send readings, with a summary line on stderr', async () => {
      const run = sim([
        'fleet',
        '--meters',
        '50',
        '--protocol',
        'mqtt',
        '--broker',
        url,
        '--username-prefix',
        'u-',
        '--password',
        'fleet-pw',
        '--interval',
        '60',
        '--speed',
        '120',
      ]);
      while (readingsFrom.size < 50) await new Promise((r) => setTimeout(r, 100));
      run.child.kill('SIGINT');
      const res = await run.done;
      expect(res.code).toBe(0);
      expect(users.size).toBe(50);
      expect(users.has('u-SIM-000001')).toBe(true);
      const last = res.stderr.trim().split('\n').at(-1) ?? '';
      expect(last).toMatch(
        /^meters 50 \| connected 0 \| readings \d+ \| acked \d+ \| commands 0 \| acks 0 \| errors 0/,
      );
    });
  });
});
