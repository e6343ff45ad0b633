import ModbusSerial from 'modbus-serial';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusMeterServer } from '../../firmware-sim/modbus/index.ts';
import { ManualClock, SimMeter } from '../../firmware-sim/model/index.ts';
import {
  decodeIdentityBlock,
  decodeReadingBlock,
  encodeRegisters,
  encodeTokenWrite,
  IDENTITY_BLOCK,
  READING_BLOCK,
  TOKEN_RESULT_CODES,
} from '../../protocols/modbus/index.ts';
import { encodeToken, tidFromDate } from '../../protocols/sts/index.ts';
import { HOUR, meterConfig, STS, T0 } from './support.ts';

let clock: ManualClock;
let meter: SimMeter;
let server: ModbusMeterServer;
/** modbus-serial is CommonJS: its client class is the module itself, also exported as `default`. */
const ModbusClient = ModbusSerial.default;
let client: InstanceType<typeof ModbusClient>;

beforeAll(async () => {
  clock = new ManualClock(T0);
  meter = new SimMeter(meterConfig({ serial: 'SIM-MB1', initialCredit: 20_000 }), { clock });
  server = new ModbusMeterServer({ meter, port: 0 });
  await server.start();
  client = new ModbusClient();
  await client.connectTCP('127.0.0.1', { port: server.port });
  client.setID(1);
  client.setTimeout(5000);
});

afterAll(async () => {
  await new Promise<void>((resolve) => client.close(() => resolve()));
  await server.close();
});

let tidStep = 0;
function creditToken(tenths: number): string {
  tidStep += 1;
  return encodeToken(
    { type: 'electricity-credit', rnd: 2, tid: tidFromDate(T0, 2014) + tidStep, value: tenths },
    { key: STS.params.decoderKey },
  ).token;
}

describe('Modbus face with modbus-serial over TCP', () => {
  it('serves the reading block, refreshed with an increasing sequence', async () => {
    clock.advance(2 * HOUR);
    const a = decodeReadingBlock(
      (await client.readInputRegisters(READING_BLOCK.address, READING_BLOCK.count)).data,
    );
    const b = decodeReadingBlock(
      (await client.readInputRegisters(READING_BLOCK.address, READING_BLOCK.count)).data,
    );
    expect(a.energy).toBeGreaterThan(0n);
    expect(a).toMatchObject({
      credit_unit: 'wh',
      relay_state: 'connected',
      volume: 0n,
      clock: (T0 + 2 * HOUR) / 1000,
    });
    // Credit and energy are both rounded down from the same unrounded use.
    expect([19_999, 20_000]).toContain(a.credit + Number(a.energy));
    expect(b.sequence).toBe(a.sequence + 1);
  });

  it('serves the identity block', async () => {
    const id = decodeIdentityBlock(
      (await client.readInputRegisters(IDENTITY_BLOCK.address, IDENTITY_BLOCK.count)).data,
    );
    expect(id).toEqual({
      serial: 'SIM-MB1',
      firmware: 'rasid-sim 1.0',
      meter_kind: 'electricity',
      map_version: 1,
    });
  });

  it('takes a token through the holding registers and reports the result', async () => {
    const before = meter.credit;
    const token = creditToken(50);
    await client.writeRegisters(200, encodeTokenWrite(token));
    expect((await client.readHoldingRegisters(211, 1)).data[0]).toBe(TOKEN_RESULT_CODES.accepted);
    expect(meter.credit).toBe(before + 5000);
    await client.writeRegisters(200, encodeTokenWrite(token));
    expect((await client.readHoldingRegisters(211, 1)).data[0]).toBe(TOKEN_RESULT_CODES.used);
  });

  it('opens and closes the relay through coil 0 and shows it in the status bits', async () => {
    await client.writeCoil(0, false);
    expect(meter.relay).toBe('disconnected');
    expect((await client.readCoils(0, 1)).data[0]).toBe(false);
    let block = decodeReadingBlock((await client.readInputRegisters(0, 22)).data);
    expect(block.relay_state).toBe('disconnected');
    await client.writeCoil(0, true);
    block = decodeReadingBlock((await client.readInputRegisters(0, 22)).data);
    expect(block.relay_state).toBe('connected');
    meter.raiseAlarm('cover_open');
    const bits = (await client.readDiscreteInputs(0, 9)).data.slice(0, 9);
    expect(bits).toEqual([true, false, true, false, false, false, false, false, false]);
    await client.writeCoil(2, true);
    expect(meter.flags()).toEqual(['cover_open']);
    meter.closeCover();
    expect(meter.relay).toBe('connected');
  });

  it('sets the clock and the low-credit threshold with FC 16', async () => {
    await client.writeRegisters(212, encodeRegisters('clock_set', 1_795_420_800));
    expect(meter.clockMs).toBe(1_795_420_800_000);
    await client.writeRegisters(214, encodeRegisters('low_credit_threshold', 123_456));
    expect(meter.lowCreditThreshold).toBe(123_456);
    const words = (await client.readHoldingRegisters(214, 2)).data;
    expect(words).toEqual(encodeRegisters('low_credit_threshold', 123_456));
  });

  it('answers an address outside the map with exception 02 and a read-only write too', async () => {
    await expect(client.readInputRegisters(30, 2)).rejects.toMatchObject({ modbusCode: 2 });
    await expect(client.writeRegister(211, 5)).rejects.toMatchObject({ modbusCode: 2 });
  });
});
