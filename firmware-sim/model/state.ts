/**
 * What a simulated meter keeps in non-volatile memory, as one zod schema (the type is `z.infer` of it),
 * and a file store that writes one JSON file per meter atomically (temp file + rename), so a restart keeps
 * the credit, the TID memory, the sequence counters and the recent command ids.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AckSchema } from '../../protocols/mqtt/index.ts';

/** Version of the state file layout. */
export const STATE_VERSION = 1;

const CREDIT_TYPES = [
  'electricity-credit',
  'water-credit',
  'gas-credit',
  'time-credit',
  'electricity-currency-credit',
  'water-currency-credit',
  'gas-currency-credit',
  'time-currency-credit',
] as const;

/** `StsMeter.snapshot()` of protocols/sts, as stored. */
export const StsSnapshotSchema = z.object({
  decoderKey: z.string().regex(/^[0-9a-f]{16}$/i),
  keyType: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]),
  keyRevision: z.number().int().min(0).max(15),
  tariffIndex: z.number().int().min(0).max(255),
  keyExpiry: z.number().int().min(0).max(255),
  algorithm: z.enum(['EA07', 'EA09']),
  baseDate: z.union([z.literal(1993), z.literal(2014), z.literal(2035)]),
  tidMemory: z.array(z.number().int().nonnegative()),
  pendingKeySections: z.array(z.union([z.literal(1), z.literal(2)])),
  credit: z.partialRecord(z.enum(CREDIT_TYPES), z.number().int().nonnegative()),
  maxPowerLimitW: z.number().int().nonnegative().nullable(),
  maxPhaseUnbalanceW: z.number().int().nonnegative().nullable(),
  tariffRate: z.number().int().nonnegative().nullable(),
  waterFactor: z.number().int().nonnegative().nullable(),
  tamper: z.boolean(),
});

export const DISCONNECT_CAUSES = ['credit', 'remote', 'tamper', 'max-power'] as const;
export const DisconnectCauseSchema = z.enum(DISCONNECT_CAUSES);
/** Why the relay (or valve) is open; it is closed when there is no cause. */
export type DisconnectCause = z.infer<typeof DisconnectCauseSchema>;

export const SimMeterStateSchema = z.object({
  version: z.literal(STATE_VERSION),
  serial: z.string().min(1),
  kind: z.enum(['electricity', 'water']),
  sts: StsSnapshotSchema,
  /** Cumulative registers, unrounded. */
  energyWh: z.number().nonnegative(),
  volumeL: z.number().nonnegative(),
  /** Credit in the meter's credit unit, unrounded; negative while emergency credit is used. */
  credit: z.number(),
  /** What the STS credit register holds (tenths), kept in step with `credit`. */
  stsTenths: z.number().int().nonnegative(),
  emergency: z.object({
    allowance: z.number().nonnegative(),
    available: z.boolean(),
    inUse: z.boolean(),
  }),
  lowCreditThreshold: z.number(),
  lowCreditArmed: z.boolean(),
  causes: z.array(DisconnectCauseSchema),
  alarms: z.object({ tamper: z.boolean(), coverOpen: z.boolean(), magnetic: z.boolean() }),
  readingSeq: z.number().int().nonnegative(),
  eventSeq: z.number().int().nonnegative(),
  clockOffsetMs: z.number().int(),
  /** Recent command ids with their acknowledgement, oldest first. */
  commands: z.array(z.object({ id: z.string(), expiresAtMs: z.number(), ack: AckSchema })),
});
export type SimMeterState = z.infer<typeof SimMeterStateSchema>;

/** Where meter states live: a port with a file implementation and an in-memory one side by side. */
export interface MeterStateStore {
  load(serial: string): Promise<SimMeterState | null>;
  save(state: SimMeterState): Promise<void>;
}

/** Raised when a stored state cannot be read back. */
export class StateFileError extends Error {
  override readonly name = 'StateFileError';
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** One `<serial>.json` per meter in `dir`, written atomically. */
export class FileStateStore implements MeterStateStore {
  private seq = 0;

  constructor(readonly dir: string) {}

  pathOf(serial: string): string {
    if (!SAFE_NAME.test(serial))
      throw new StateFileError(`serial ${JSON.stringify(serial)} is not a safe file name`);
    return join(this.dir, `${serial}.json`);
  }

  async load(serial: string): Promise<SimMeterState | null> {
    const path = this.pathOf(serial);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new StateFileError(`${path}: not JSON (${(err as Error).message})`);
    }
    const parsed = SimMeterStateSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new StateFileError(`${path}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`);
    }
    if (parsed.data.serial !== serial) {
      throw new StateFileError(`${path}: holds meter ${parsed.data.serial}, not ${serial}`);
    }
    return parsed.data;
  }

  async save(state: SimMeterState): Promise<void> {
    const path = this.pathOf(state.serial);
    await mkdir(this.dir, { recursive: true });
    const tmp = `${path}.${process.pid}.${this.seq++}.tmp`;
    await writeFile(tmp, `${JSON.stringify(state)}\n`, 'utf8');
    await rename(tmp, path);
  }
}

/** States kept in a map (tests, throw-away fleets). */
export class MemoryStateStore implements MeterStateStore {
  private readonly states = new Map<string, string>();

  async load(serial: string): Promise<SimMeterState | null> {
    const text = this.states.get(serial);
    return text === undefined ? null : SimMeterStateSchema.parse(JSON.parse(text));
  }

  async save(state: SimMeterState): Promise<void> {
    this.states.set(state.serial, JSON.stringify(state));
  }
}

/**
 * Saves a meter's state whenever it says it changed, one write at a time: changes that arrive while a
 * write is running are folded into one more write. `flush()` waits until the latest state is on disk.
 */
export class StateSaver {
  private running: Promise<void> | null = null;
  private pending = false;
  private lastError: unknown = null;

  constructor(
    private readonly store: MeterStateStore,
    private readonly snapshot: () => SimMeterState,
    private readonly onError?: (err: unknown) => void,
  ) {}

  /** Asks for a save; cheap to call often. */
  request(): void {
    if (this.running) {
      this.pending = true;
      return;
    }
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.pending = false;
        try {
          await this.store.save(this.snapshot());
        } catch (err) {
          this.lastError = err;
          this.onError?.(err);
        }
      } while (this.pending);
    } finally {
      this.running = null;
    }
  }

  /** Resolves once the state requested so far is saved; rethrows the last save error, if any. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    if (this.lastError !== null) {
      const err = this.lastError;
      this.lastError = null;
      throw err;
    }
  }
}
