/**
 * Interoperability: the gateway reads an independent Modbus implementation, a pymodbus 3.0 TCP server
 * (Debian's python3-pymodbus and python3-serial-asyncio) serving Rasid's map, and writes to it.
 * The Python is Debian's (/usr/bin/python3) unless RASID_PYTHON names another.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import ModbusSerial from 'modbus-serial';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/index.ts';
import { decodeRegisters } from '../../protocols/modbus/index.ts';
import { decodeMessage } from '../../protocols/mqtt/index.ts';
import {
  command,
  gatewayConfig,
  modbusGateway,
  startBroker,
  type TestBroker,
  Watcher,
} from '../gateway/support.ts';

const PYTHON = process.env.RASID_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../gateway/fixtures/pymodbus_meter.py', import.meta.url));

let python: ChildProcessWithoutNullStreams;
let port: number;
let broker: TestBroker;
let watcher: Watcher;
let gateway: Gateway;

beforeAll(async () => {
  python = spawn(PYTHON, [SCRIPT, '0']);
  let stderr = '';
  python.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  port = await new Promise<number>((resolve, reject) => {
    python.once('error', reject);
    python.once('exit', (code) => reject(new Error(`pymodbus server exited with ${code}: ${stderr}`)));
    createInterface({ input: python.stdout }).once('line', (line) => resolve(Number(line)));
  });
  broker = await startBroker();
  watcher = await Watcher.start(broker.url);
  gateway = modbusGateway(gatewayConfig(broker.url, [{ id: 'PY-1', port, pollIntervalS: 0.05 }]));
  await gateway.start();
});

afterAll(async () => {
  await gateway?.stop();
  await watcher?.close();
  await broker?.close();
  python?.kill();
});

describe('gateway against a pymodbus server', () => {
  it('reads the reading block and publishes the documented reading', async () => {
    await watcher.until(() => watcher.on('PY-1', 'up/reading').length >= 1);
    const reading = watcher.on('PY-1', 'up/reading')[0];
    expect(reading).toBeDefined();
    const decoded = decodeMessage(reading?.topic ?? '', Buffer.from(JSON.stringify(reading?.json)));
    expect(decoded.ok).toBe(true);
    expect(reading?.json).toEqual({
      v: 1,
      seq: 77,
      ts: 1_795_420_800_000,
      energyWh: 123_456_789,
      powerW: 1500,
      voltageDv: 2301,
      currentMa: 6520,
      creditMinor: -1250,
      relay: 'connected',
      flags: ['low_credit', 'emergency_credit'],
    });
  });

  it('writes the clock registers on time_sync', async () => {
    const cmd = command({ kind: 'time_sync', payload: { time: '2026-11-23T08:00:00Z' } });
    await watcher.send('PY-1', cmd);
    await watcher.until(() => watcher.on('PY-1', 'up/ack').some((a) => a.json.id === cmd.id));
    expect(watcher.on('PY-1', 'up/ack').find((a) => a.json.id === cmd.id)?.json).toMatchObject({
      status: 'ok',
    });

    const client = new ModbusSerial.default();
    await client.connectTCP('127.0.0.1', { port });
    client.setTimeout(5000);
    try {
      const words = (await client.readHoldingRegisters(212, 2)).data;
      expect(decodeRegisters('clock_set', words)).toBe(1_795_420_800);
    } finally {
      await new Promise<void>((resolve) => client.close(() => resolve()));
    }
  });
});
