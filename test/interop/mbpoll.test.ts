/**
 * Debian's mbpoll (package `mbpoll`, which brings `libmodbus5`) against the simulator's Modbus TCP face: an
 * independent Modbus client. Needs the tool installed, so it runs with the services suites
 * (vitest.services.config.ts), which .ci/run installs for.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusMeterServer } from '../../firmware-sim/modbus/index.ts';
import { ManualClock, SimMeter } from '../../firmware-sim/model/index.ts';
import { encodeTokenWrite } from '../../protocols/modbus/index.ts';
import { encodeToken, tidFromDate } from '../../protocols/sts/index.ts';
import { meterConfig, STS, T0 } from '../sim/support.ts';

const run = promisify(execFile);

let meter: SimMeter;
let server: ModbusMeterServer;

beforeAll(async () => {
  meter = new SimMeter(meterConfig({ serial: 'SIM-MBPOLL', initialCredit: 20_000 }), {
    clock: new ManualClock(T0),
  });
  server = new ModbusMeterServer({ meter, port: 0 });
  await server.start();
});

afterAll(async () => {
  await server.close();
});

function creditToken(tenths: number): string {
  return encodeToken(
    { type: 'electricity-credit', rnd: 2, tid: tidFromDate(T0, 2014) + 1, value: tenths },
    { key: STS.params.decoderKey },
  ).token;
}

describe('Modbus face with mbpoll', () => {
  const mbpoll = (args: string[], values: string[] = []) =>
    run('mbpoll', ['-m', 'tcp', '-a', '1', '-0', '-p', String(server.port), ...args, '127.0.0.1', ...values]);

  it('reads the reading block', async () => {
    const { stdout } = await mbpoll(['-1', '-t', '3', '-r', '0', '-c', '22']);
    expect(stdout).toMatch(/\[15\]:\s+2\b/); // credit_unit = 2 (Wh)
    expect(stdout).toMatch(/\[16\]:\s+1\b/); // relay_state = connected
  });

  it('enters a token with one FC 16 write and reads the result', async () => {
    const before = meter.credit;
    const words = encodeTokenWrite(creditToken(30)).map(String);
    await mbpoll(['-1', '-t', '4', '-r', '200'], words);
    const { stdout } = await mbpoll(['-1', '-t', '4', '-r', '211', '-c', '1']);
    expect(stdout).toMatch(/\[211\]:\s+2\b/);
    expect(meter.credit).toBe(before + 3000);
  });

  it('switches the relay with coil 0', async () => {
    await mbpoll(['-1', '-t', '0', '-r', '0'], ['0']);
    expect(meter.relay).toBe('disconnected');
    await mbpoll(['-1', '-t', '0', '-r', '0'], ['1']);
    expect(meter.relay).toBe('connected');
  });
});
