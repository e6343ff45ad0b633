/**
 * A {@link MeterDriver} for meters that speak Modbus TCP (or RTU on a serial port) with a register
 * profile over Rasid's map (docs/modbus-map.md). modbus-serial carries the frames; `protocols/modbus`
 * encodes and decodes every value.
 *
 * - A reading is one request per contiguous run of the profile's registers (Rasid's map: one FC 04 of the
 *   22-register reading block).
 * - Disconnect and reconnect write the relay coil (FC 05), then read the measured relay state back.
 * - A token is one FC 16 write of 11 holding registers from 200, then FC 03 reads of register 211 until
 *   the result is no longer `processing`.
 * - Time sync is one FC 16 write of clock_set (212..213).
 */
import ModbusSerial from 'modbus-serial';
import {
  decodeBlock,
  decodeRegisters,
  encodeRegisters,
  encodeTokenWrite,
  ModbusMapError,
  REGISTERS,
  type RegisterDef,
  type RegisterName,
  type RegisterTable,
  TOKEN_WRITE_BLOCK,
} from '../../protocols/modbus/index.ts';
import {
  PAYLOAD_VERSION,
  type Reading,
  type ReadingFlag,
  type RelayState,
  TOKEN_REJECTIONS,
  type TokenRejection,
} from '../../protocols/mqtt/index.ts';
import type { ModbusMeterConfig } from '../config.ts';
import type { CreditAmounts, MeterDriver, SequenceSource, TokenOutcome } from '../driver.ts';
import { DriverError } from '../errors.ts';
import type { CreditField, ModbusProfile } from '../profiles.ts';

/** modbus-serial is CommonJS: its client class is the module itself, also exported as `default`. */
const ModbusClient = ModbusSerial.default;
type ModbusClientInstance = InstanceType<typeof ModbusClient>;

/** Most registers one FC 03/04 request may read (Modbus Application Protocol V1.1b3 §6.3, §6.4). */
const MAX_READ_REGISTERS = 125;
/** Modbus exception 03, illegal data value: the meter refused a value. */
const ILLEGAL_DATA_VALUE = 0x03;
/** Pause between two reads of token_result while the meter says `processing`. */
const TOKEN_POLL_MS = 50;

/** One read request: a contiguous run of registers of one table. */
export interface ReadRun {
  readonly table: Extract<RegisterTable, 'input' | 'holding'>;
  readonly address: number;
  readonly count: number;
}

/** The fewest requests that read every register the profile names (adjacent registers share one). */
export function planReads(names: readonly RegisterName[]): ReadRun[] {
  const defs = [...new Set(names)]
    .map((name) => REGISTERS[name] as RegisterDef)
    .sort((a, b) => (a.table === b.table ? a.address - b.address : a.table < b.table ? -1 : 1));
  const runs: { table: 'input' | 'holding'; address: number; count: number }[] = [];
  for (const def of defs) {
    if (def.table !== 'input' && def.table !== 'holding') continue;
    const last = runs.at(-1);
    const end = def.address + def.count;
    if (
      last !== undefined &&
      last.table === def.table &&
      def.address <= last.address + last.count &&
      end - last.address <= MAX_READ_REGISTERS
    ) {
      last.count = Math.max(last.count, end - last.address);
    } else {
      runs.push({ table: def.table, address: def.address, count: def.count });
    }
  }
  return runs;
}

const CREDIT_FIELD_OF_UNIT: Readonly<Record<string, CreditField | undefined>> = Object.freeze({
  none: undefined,
  currency_minor: 'creditMinor',
  wh: 'creditWh',
  litre: 'creditL',
});

const REJECTIONS: ReadonlySet<string> = new Set(TOKEN_REJECTIONS);

export interface ModbusDriverOptions {
  readonly meter: ModbusMeterConfig;
  /** Numbers readings when the profile has no reading counter. */
  readonly sequence: SequenceSource;
  readonly now?: () => number;
}

export class ModbusDriver implements MeterDriver {
  readonly meterId: string;
  readonly protocol = 'modbus' as const;
  private readonly meter: ModbusMeterConfig;
  private readonly profile: ModbusProfile;
  private readonly sequence: SequenceSource;
  private readonly now: () => number;
  private readonly runs: readonly ReadRun[];
  private client: ModbusClientInstance | null = null;

  constructor(options: ModbusDriverOptions) {
    this.meter = options.meter;
    this.meterId = options.meter.id;
    this.profile = options.meter.profile;
    this.sequence = options.sequence;
    this.now = options.now ?? Date.now;
    this.runs = planReads(Object.values(this.profile.fields));
  }

  get connected(): boolean {
    return this.client?.isOpen === true;
  }

  private get peer(): string {
    const c = this.meter.connection;
    return c.type === 'tcp' ? `${c.host}:${c.port}` : c.path;
  }

  async connect(): Promise<void> {
    await this.close();
    const client = new ModbusClient();
    // A socket error is also reported to the pending request; the listener keeps it from being thrown.
    client.on('error', () => {});
    const c = this.meter.connection;
    try {
      if (c.type === 'tcp') {
        await client.connectTCP(c.host, { port: c.port });
      } else {
        // modbus-serial loads the optional, native `serialport` in a try; without it there is no RTU port.
        if (typeof (ModbusSerial as unknown as Record<string, unknown>).RTUBufferedPort !== 'function') {
          throw new DriverError('not_supported', 'Modbus RTU needs the optional serialport package');
        }
        await client.connectRTUBuffered(c.path, {
          baudRate: c.baudRate,
          parity: c.parity,
          dataBits: c.dataBits,
          stopBits: c.stopBits,
        });
      }
    } catch (err) {
      client.close(() => {});
      if (err instanceof DriverError) throw err;
      throw new DriverError('unreachable', `connection to ${this.peer} failed: ${(err as Error).message}`);
    }
    client.setID(this.meter.unitId);
    client.setTimeout(this.meter.timeoutMs);
    this.client = client;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client === null) return;
    await new Promise<void>((resolve) => {
      try {
        client.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  private open(): ModbusClientInstance {
    if (this.client === null || !this.client.isOpen) {
      throw new DriverError('unreachable', `connection to ${this.peer} is not open`);
    }
    return this.client;
  }

  /** Runs one request and turns modbus-serial's failures into driver errors. */
  private async request<T>(what: string, fn: (client: ModbusClientInstance) => Promise<T>): Promise<T> {
    const client = this.open();
    try {
      return await fn(client);
    } catch (err) {
      throw this.failure(what, err);
    }
  }

  private failure(what: string, err: unknown): DriverError {
    if (err instanceof DriverError) return err;
    if (err instanceof ModbusMapError)
      return new DriverError('protocol', `unreadable answer to ${what}: ${err.message}`);
    const e = err as { name?: string; message?: string; modbusCode?: number };
    if (typeof e.modbusCode === 'number') {
      const reason = `Modbus exception ${e.modbusCode}`;
      return e.modbusCode === ILLEGAL_DATA_VALUE
        ? new DriverError('bad_payload', `the meter refused ${what}: ${reason}`)
        : new DriverError('refused', `the meter refused ${what}: ${reason}`);
    }
    if (e.name === 'TransactionTimedOutError') {
      return new DriverError('timeout', `${what} got no answer within ${this.meter.timeoutMs} ms`);
    }
    // modbus-serial refuses a request on a closed port before writing anything.
    if (e.message === 'Port Not Open') {
      return new DriverError('unreachable', `${what}: connection to ${this.peer} is not open`);
    }
    return new DriverError('connection', `${what} on ${this.peer} failed: ${e.message ?? String(err)}`);
  }

  private async readRun(run: ReadRun): Promise<Record<string, unknown>> {
    const what = `read of ${run.count} ${run.table} registers from ${run.address}`;
    const words = await this.request(what, async (client) =>
      run.table === 'input'
        ? (await client.readInputRegisters(run.address, run.count)).data
        : (await client.readHoldingRegisters(run.address, run.count)).data,
    );
    try {
      return decodeBlock(run.table, run.address, words) as Record<string, unknown>;
    } catch (err) {
      throw this.failure(what, err);
    }
  }

  private async readRegister<N extends RegisterName>(name: N): Promise<unknown> {
    const values = await this.readRun(planReads([name])[0] as ReadRun);
    return values[name];
  }

  /** Link check: one register of the profile (the energy or volume register). */
  async ping(): Promise<void> {
    const name = this.profile.fields.energyWh ?? this.profile.fields.volumeL;
    if (name !== undefined) await this.readRegister(name);
  }

  async readReading(): Promise<Reading> {
    const values: Record<string, unknown> = {};
    for (const run of this.runs) Object.assign(values, await this.readRun(run));
    const fields = this.profile.fields;
    const get = (field: keyof typeof fields): unknown =>
      fields[field] === undefined ? undefined : values[fields[field] as string];
    const count = (field: keyof typeof fields): number | undefined => {
      const v = get(field);
      if (v === undefined) return undefined;
      if (typeof v === 'bigint') {
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
          throw new DriverError('protocol', `${fields[field]} holds ${v}, beyond what a reading carries`);
        }
        return Number(v);
      }
      if (typeof v !== 'number') throw new DriverError('protocol', `${fields[field]} is not a number`);
      return v;
    };

    const flags = (get('flags') as ReadingFlag[] | undefined) ?? undefined;
    const meterSeq = count('seq');
    const clock = count('clock');
    const clockValid = clock !== undefined && !(flags ?? []).includes('clock_invalid');
    const reading: Reading = {
      v: PAYLOAD_VERSION,
      seq: meterSeq ?? this.sequence.next(),
      ts: clockValid ? clock * 1000 : this.now(),
    };
    const energy = count('energyWh');
    if (energy !== undefined) reading.energyWh = energy;
    const volume = count('volumeL');
    if (volume !== undefined) reading.volumeL = volume;
    const power = count('powerW');
    if (power !== undefined) reading.powerW = power;
    const voltage = count('voltageDv');
    if (voltage !== undefined) reading.voltageDv = voltage;
    const current = count('currentMa');
    if (current !== undefined) reading.currentMa = current;
    const credit = count('credit');
    if (credit !== undefined) {
      const unit = get('creditUnit');
      const field = this.profile.fixedCreditField ?? CREDIT_FIELD_OF_UNIT[String(unit)];
      if (field !== undefined) reading[field] = credit;
    }
    const relay = get('relay');
    if (relay === 'connected' || relay === 'disconnected') reading.relay = relay;
    if (flags !== undefined) reading.flags = flags;
    return reading;
  }

  private relayCoil(what: string): number {
    const coil = this.profile.relayCoil;
    if (coil === undefined) throw new DriverError('not_supported', `${what} is not supported by this meter`);
    return REGISTERS[coil].address;
  }

  private async switchRelay(target: RelayState): Promise<RelayState> {
    const what = target === 'connected' ? 'reconnect' : 'disconnect';
    const address = this.relayCoil(what);
    await this.request(`${what} (coil ${address})`, (client) =>
      client.writeCoil(address, target === 'connected'),
    );
    const register = this.profile.fields.relay;
    if (register === undefined) return target;
    const measured = await this.readRegister(register);
    if (measured === target) return target;
    if (target === 'connected') {
      throw new DriverError('refused', 'the meter kept the relay open (no credit, or a local cause)');
    }
    throw new DriverError('relay_fault', `the relay stayed ${String(measured)}`);
  }

  disconnect(): Promise<RelayState> {
    return this.switchRelay('disconnected');
  }

  reconnect(): Promise<RelayState> {
    return this.switchRelay('connected');
  }

  async enterToken(token: string): Promise<TokenOutcome> {
    if (!this.profile.tokens)
      throw new DriverError('not_supported', 'token entry is not supported by this meter');
    let words: number[];
    try {
      words = encodeTokenWrite(token);
    } catch (err) {
      throw new DriverError('bad_payload', (err as Error).message);
    }
    await this.request('the token write', (client) =>
      client.writeRegisters(TOKEN_WRITE_BLOCK.address, words),
    );
    const at = REGISTERS.token_result.address;
    for (;;) {
      const raw = await this.request(
        'the token result read',
        async (client) => (await client.readHoldingRegisters(at, 1)).data,
      );
      let result: string;
      try {
        result = decodeRegisters('token_result', raw);
      } catch (err) {
        throw this.failure('the token result read', err);
      }
      if (result === 'accepted') return { accepted: true, result: { tokenResult: 'accepted' } };
      if (REJECTIONS.has(result)) {
        return {
          accepted: false,
          rejection: result as TokenRejection,
          message: `the meter answered ${result}`,
        };
      }
      if (result !== 'processing') {
        throw new DriverError('protocol', `token_result reads ${result} after the token was submitted`);
      }
      await new Promise((resolve) => setTimeout(resolve, TOKEN_POLL_MS));
    }
  }

  async syncTime(at: Date): Promise<void> {
    if (!this.profile.clockSet)
      throw new DriverError('not_supported', 'time sync is not supported by this meter');
    let words: number[];
    try {
      words = encodeRegisters('clock_set', Math.floor(at.getTime() / 1000));
    } catch (err) {
      throw new DriverError('bad_payload', (err as Error).message);
    }
    await this.request('the clock write', (client) =>
      client.writeRegisters(REGISTERS.clock_set.address, words),
    );
  }

  async setEmergencyCredit(enabled: boolean): Promise<void> {
    // Rasid's map can take emergency credit (coil 1) but has no way to hand it back.
    if (!enabled || this.profile.relayCoil !== 'relay_control') {
      throw new DriverError('not_supported', 'only taking emergency credit is supported by this meter');
    }
    const address = REGISTERS.emergency_credit.address;
    await this.request('the emergency credit coil write', (client) => client.writeCoil(address, true));
  }

  async setLowCreditThreshold(threshold: CreditAmounts): Promise<void> {
    if (this.profile.fields.creditUnit !== 'credit_unit') {
      throw new DriverError('not_supported', 'the low-credit threshold is not supported by this meter');
    }
    const unit = await this.readRegister('credit_unit');
    const value =
      unit === 'currency_minor'
        ? threshold.minor
        : unit === 'wh'
          ? threshold.wh
          : unit === 'litre'
            ? threshold.litre
            : undefined;
    if (value === undefined) {
      throw new DriverError('bad_payload', `the meter keeps credit in ${String(unit)}; give that threshold`);
    }
    let words: number[];
    try {
      words = encodeRegisters('low_credit_threshold', value);
    } catch (err) {
      throw new DriverError('bad_payload', (err as Error).message);
    }
    const address = REGISTERS.low_credit_threshold.address;
    await this.request('the threshold write', (client) => client.writeRegisters(address, words));
  }
}
