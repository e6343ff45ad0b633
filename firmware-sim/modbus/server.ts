/**
 * The Modbus TCP face of a simulated meter: modbus-serial's `ServerTCP` serving Rasid's register map
 * (docs/modbus-map.md, protocols/modbus). Values are encoded by the map's codec; this file only decides
 * when the reading block is refreshed and what a write does to the model.
 *
 * - Input registers: the reading block (0..21) is refreshed from the model (`takeReading`, so `sequence`
 *   goes up) by every request that touches it; the identity block (100..117) is fixed.
 * - Holding registers: token digits (200..209) and submit (210) → the STS acceptance model → token_result
 *   (211); clock_set (212..213, both in one request); low_credit_threshold (214..215).
 * - Coils: relay_control (0), emergency_credit (1), alarm_reset (2). Discrete inputs: the status bits.
 * - An address outside the map is answered with exception 02; a bad value with exception 03.
 */
import { createServer } from 'node:net';
import ModbusRTU from 'modbus-serial';
import {
  decodeRegisters,
  encodeIdentityBlock,
  encodeReadingBlock,
  encodeRegisters,
  MODBUS_MAP_VERSION,
  ModbusMapError,
  READING_BLOCK,
  REGISTERS,
  type RegisterDef,
  type RegisterName,
  type RegisterTable,
  STATUS_BITS,
  TOKEN_RESULT_CODES,
  type TokenResult,
} from '../../protocols/modbus/index.ts';
import type { SimMeter, TokenOutcome } from '../model/index.ts';

/** Modbus exception codes used here. */
const ILLEGAL_ADDRESS = 0x02;
const ILLEGAL_VALUE = 0x03;

class ModbusException extends Error {
  constructor(
    readonly modbusErrorCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Which register (and word within it) each address of each table belongs to. */
const ADDRESS_INDEX: Readonly<Record<RegisterTable, ReadonlyMap<number, RegisterName>>> = (() => {
  const index: Record<RegisterTable, Map<number, RegisterName>> = {
    input: new Map(),
    holding: new Map(),
    coil: new Map(),
    discrete: new Map(),
  };
  for (const [name, def] of Object.entries(REGISTERS) as [RegisterName, RegisterDef][]) {
    for (let i = 0; i < def.count; i++) index[def.table].set(def.address + i, name);
  }
  return index;
})();

function registerAt(table: RegisterTable, address: number): RegisterName {
  const name = ADDRESS_INDEX[table].get(address);
  if (name === undefined) throw new ModbusException(ILLEGAL_ADDRESS, `no ${table} register at ${address}`);
  return name;
}

export interface ModbusFaceStats {
  requests: number;
  tokens: number;
  errors: number;
}

export interface ModbusFaceOptions {
  readonly meter: SimMeter;
  readonly host?: string;
  /** TCP port; 0 picks a free one (see `port` after `start`). */
  readonly port?: number;
  /** Unit id answered (default 1); 255 answers every unit id. */
  readonly unitId?: number;
  readonly stats?: ModbusFaceStats;
}

export class ModbusMeterServer {
  readonly meter: SimMeter;
  readonly stats: ModbusFaceStats;
  private readonly options: ModbusFaceOptions;
  private server: ModbusRTU.ServerTCP | null = null;
  private boundPort = 0;
  private input: number[] = [];
  private readonly identity: number[];
  private readonly tokenDigits = new Array<number>(10).fill(0);
  private tokenResult: TokenResult = 'idle';
  private readonly clockWords: (number | undefined)[] = [undefined, undefined];
  private readonly thresholdWords: (number | undefined)[] = [undefined, undefined];
  /** The last token outcome, for hosts that show it. */
  lastOutcome: TokenOutcome | null = null;

  constructor(options: ModbusFaceOptions) {
    this.options = options;
    this.meter = options.meter;
    this.stats = options.stats ?? { requests: 0, tokens: 0, errors: 0 };
    this.identity = encodeIdentityBlock({
      serial: this.meter.serial.slice(0, 16),
      firmware: this.meter.firmware.slice(0, 16),
      meter_kind: this.meter.kind,
      map_version: MODBUS_MAP_VERSION,
    });
  }

  get port(): number {
    return this.boundPort;
  }

  /** Listens; resolves once the port is bound. */
  async start(): Promise<void> {
    const host = this.options.host ?? '127.0.0.1';
    let port = this.options.port ?? 0;
    // modbus-serial treats port 0 as "the default 502": find a free port first when asked for any.
    if (port === 0) port = await freePort(host);
    const server = new ModbusRTU.ServerTCP(this.vector(), { host, port, unitID: this.options.unitId ?? 1 });
    await new Promise<void>((resolve, reject) => {
      server.once('initialized', () => resolve());
      server.once('serverError', (err: Error) => reject(err));
    });
    server.on('socketError', () => {
      this.stats.errors++;
    });
    this.server = server;
    this.boundPort = port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The words of the input table, the reading block refreshed when the request touches it. */
  private inputWord(address: number, refresh: boolean): number {
    registerAt('input', address);
    if (address < READING_BLOCK.address + READING_BLOCK.count) {
      if (refresh || this.input.length === 0) this.refreshReading();
      return this.input[address] ?? 0;
    }
    return this.identity[address - REGISTERS.serial.address] ?? 0;
  }

  private refreshReading(): void {
    const r = this.meter.takeReading();
    const credit = Math.max(-0x8000_0000, Math.min(0x7fff_ffff, this.meter.credit));
    this.input = encodeReadingBlock({
      energy: r.energyWh ?? 0,
      volume: r.volumeL ?? 0,
      power: r.powerW ?? 0,
      voltage: r.voltageDv ?? 0,
      current: r.currentMa ?? 0,
      credit,
      credit_unit: this.meter.creditUnit,
      relay_state: this.meter.relay,
      status: r.flags ?? [],
      sequence: r.seq,
      clock: Math.floor(this.meter.clockMs / 1000),
    });
  }

  private holdingWord(address: number): number {
    const name = registerAt('holding', address);
    if (name === 'token_result') return TOKEN_RESULT_CODES[this.tokenResult];
    if (name === 'low_credit_threshold') {
      const t = Math.max(-0x8000_0000, Math.min(0x7fff_ffff, Math.round(this.meter.lowCreditThreshold)));
      const words = encodeRegisters('low_credit_threshold', t);
      return words[address - REGISTERS.low_credit_threshold.address] ?? 0;
    }
    // Write-only registers read as zero.
    return 0;
  }

  private writeHolding(address: number, values: readonly number[]): void {
    // Check every address first, so a refused request changes nothing.
    for (let i = 0; i < values.length; i++) {
      const name = registerAt('holding', address + i);
      if (REGISTERS[name].access === 'r') {
        throw new ModbusException(ILLEGAL_ADDRESS, `${name} is read-only`);
      }
    }
    let submit = false;
    let clock = false;
    let threshold = false;
    for (let i = 0; i < values.length; i++) {
      const at = address + i;
      const value = values[i] ?? 0;
      const name = registerAt('holding', at);
      if (name === 'token') this.tokenDigits[at - REGISTERS.token.address] = value;
      else if (name === 'token_submit') {
        if (value > 1) throw new ModbusException(ILLEGAL_VALUE, 'token_submit takes 0 or 1');
        submit = value === 1;
      } else if (name === 'clock_set') {
        this.clockWords[at - REGISTERS.clock_set.address] = value;
        clock = true;
      } else if (name === 'low_credit_threshold') {
        this.thresholdWords[at - REGISTERS.low_credit_threshold.address] = value;
        threshold = true;
      }
    }
    if (clock)
      this.applyPair(this.clockWords, (w) => this.meter.setClock(decodeRegisters('clock_set', w) * 1000));
    if (threshold) {
      this.applyPair(this.thresholdWords, (w) =>
        this.meter.setLowCreditThreshold(decodeRegisters('low_credit_threshold', w)),
      );
    }
    if (submit) this.submitToken();
  }

  /** Applies a two-register value once both words have been written. */
  private applyPair(words: (number | undefined)[], apply: (w: number[]) => void): void {
    const [hi, lo] = words;
    if (hi === undefined || lo === undefined) return;
    words[0] = undefined;
    words[1] = undefined;
    apply([hi, lo]);
  }

  private submitToken(): void {
    this.stats.tokens++;
    let digits: string;
    try {
      digits = decodeRegisters('token', this.tokenDigits);
    } catch (err) {
      if (!(err instanceof ModbusMapError)) throw err;
      digits = '';
    }
    this.tokenDigits.fill(0);
    const outcome = this.meter.enterToken(digits, 'modbus');
    this.lastOutcome = outcome;
    this.tokenResult = outcome.accepted ? 'accepted' : (outcome.rejection ?? 'format');
  }

  private coil(address: number): boolean {
    const name = registerAt('coil', address);
    if (name === 'relay_control') return !this.meter.disconnectCauses.includes('remote');
    if (name === 'emergency_credit') return this.meter.emergencyCredit.inUse;
    return false;
  }

  private setCoil(address: number, value: boolean): void {
    const name = registerAt('coil', address);
    if (name === 'relay_control') {
      if (value) this.meter.reconnect();
      else this.meter.disconnect();
    } else if (name === 'emergency_credit') {
      if (value) this.meter.takeEmergencyCredit();
    } else if (name === 'alarm_reset' && value) {
      this.meter.clearAlarms();
    }
  }

  private discrete(address: number): boolean {
    registerAt('discrete', address);
    const flags = this.meter.flags();
    return flags.some((f) => STATUS_BITS[f] === address);
  }

  /** The service vector of modbus-serial: every call counted, every exception a Modbus exception. */
  private vector(): ModbusRTU.IServiceVector {
    const guard =
      <A extends unknown[], R>(fn: (...args: A) => R) =>
      (...args: A): R => {
        this.stats.requests++;
        try {
          return fn(...args);
        } catch (err) {
          this.stats.errors++;
          if (err instanceof ModbusException) throw err;
          if (err instanceof ModbusMapError) throw new ModbusException(ILLEGAL_VALUE, err.message);
          throw err;
        }
      };
    return {
      getInputRegister: guard((addr: number) => this.inputWord(addr, true)),
      getMultipleInputRegisters: guard((addr: number, length: number) => {
        const words: number[] = [];
        for (let i = 0; i < length; i++) words.push(this.inputWord(addr + i, i === 0 || addr + i === 0));
        return words;
      }),
      getHoldingRegister: guard((addr: number) => this.holdingWord(addr)),
      getMultipleHoldingRegisters: guard((addr: number, length: number) =>
        Array.from({ length }, (_, i) => this.holdingWord(addr + i)),
      ),
      setRegister: guard((addr: number, value: number) => this.writeHolding(addr, [value])),
      setRegisterArray: guard((addr: number, values: number[]) => this.writeHolding(addr, values)),
      getCoil: guard((addr: number) => this.coil(addr)),
      setCoil: guard((addr: number, value: boolean) => this.setCoil(addr, value)),
      getDiscreteInput: guard((addr: number) => this.discrete(addr)),
    };
  }
}

/** A TCP port free on `host` right now. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
