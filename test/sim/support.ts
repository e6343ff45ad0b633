/** Shared pieces of the simulator tests: a meter with a manual clock, token vending, and validators. */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import {
  ManualClock,
  SimMeter,
  type SimMeterConfig,
  type SimMeterState,
  stsParametersFor,
  type TokenOutcome,
} from '../../firmware-sim/model/index.ts';
import type { Command, MeterEvent } from '../../protocols/mqtt/index.ts';
import {
  type DecoderKey,
  encodeKeyChange,
  encodeToken,
  type RegisterTokenType,
  StsKey,
  tidFromDate,
} from '../../protocols/sts/index.ts';

/** 2026-01-15T00:00:00Z: a winter night. */
export const T0 = Date.UTC(2026, 0, 15);
export const HOUR = 3_600_000;

export const STS = stsParametersFor({ drn: '00000000001' });

export function meterConfig(overrides: Partial<SimMeterConfig> = {}): SimMeterConfig {
  return { serial: 'SIM-1', kind: 'electricity', seed: 42, sts: STS.params, ...overrides };
}

/** A meter under test with everything it emitted. */
export class MeterCtx {
  readonly events: MeterEvent[] = [];
  readonly outcomes: TokenOutcome[] = [];
  meter: SimMeter;
  key: DecoderKey = STS.params.decoderKey;
  private tidMinute = 0;

  constructor(
    readonly clock: ManualClock,
    readonly config: SimMeterConfig,
    state?: SimMeterState | null,
  ) {
    this.meter = this.build(state);
  }

  build(state?: SimMeterState | null): SimMeter {
    const meter = new SimMeter(this.config, { clock: this.clock, state: state ?? null });
    meter.on('event', (e) => this.events.push(e));
    meter.on('token', (o) => this.outcomes.push(o));
    this.meter = meter;
    return meter;
  }

  /** A fresh TID each call (minutes after the clock's time, so never reused). */
  nextTid(): number {
    this.tidMinute += 1;
    return tidFromDate(this.clock.now(), 2014) + this.tidMinute;
  }

  /** A token of `type` with `value` (tenths for credit) under the current key. */
  token(type: RegisterTokenType, value: number, tid = this.nextTid()): string {
    return encodeToken({ type, rnd: 3, tid, value }, { key: this.key }).token;
  }

  enter(token: string): TokenOutcome {
    return this.meter.enterToken(token, 'keypad');
  }

  /** Two key change tokens to `newKey`, under the current key; afterwards tokens use the new key. */
  keyChange(newKeyHex: string): [string, string] {
    const newKey = StsKey.fromHex(newKeyHex);
    const [a, b] = encodeKeyChange(
      { newKey, keyExpiry: 255, keyRevision: 2, keyType: 2, tariffIndex: 1, rollover: false },
      this.key,
    );
    this.key = newKey;
    return [a.token, b.token];
  }

  kinds(): string[] {
    return this.events.map((e) => e.kind);
  }
}

export function newCtx(overrides: Partial<SimMeterConfig> = {}, start = T0): MeterCtx {
  return new MeterCtx(new ManualClock(start), meterConfig(overrides));
}

type CommandBody = Pick<Command, 'kind' | 'payload'>;

/** A contract command valid for a day from the meter's clock. */
export function command(body: CommandBody, id: string = randomUUID(), nowMs = T0): Command {
  return {
    v: 1,
    id,
    issuedAt: new Date(nowMs).toISOString(),
    expiresAt: new Date(nowMs + 24 * HOUR).toISOString(),
    ...body,
  } as Command;
}

/** Reusable checks of a meter's state, for scenario tables. */
export const check = {
  credit: (n: number) => (c: MeterCtx) => expect(c.meter.credit, 'credit').toBe(n),
  creditBelow: (n: number) => (c: MeterCtx) => expect(c.meter.credit, 'credit').toBeLessThan(n),
  relay: (state: 'connected' | 'disconnected') => (c: MeterCtx) => expect(c.meter.relay, 'relay').toBe(state),
  causes:
    (...causes: string[]) =>
    (c: MeterCtx) =>
      expect([...c.meter.disconnectCauses].sort(), 'disconnect causes').toEqual([...causes].sort()),
  outcome: (i: number, accepted: boolean, rejection?: string) => (c: MeterCtx) => {
    const o = c.outcomes.at(i);
    expect(o?.accepted, `token ${i} accepted`).toBe(accepted);
    expect(o?.rejection, `token ${i} rejection`).toBe(rejection);
  },
  eventKinds:
    (...kinds: string[]) =>
    (c: MeterCtx) =>
      expect(c.kinds(), 'event kinds').toEqual(kinds),
  hasEvent: (kind: string, details?: Record<string, unknown>) => (c: MeterCtx) => {
    const found = c.events.filter((e) => e.kind === kind);
    expect(found.length, `${kind} events`).toBeGreaterThan(0);
    if (details) expect(found.at(-1)?.details).toMatchObject(details);
  },
  flags:
    (...flags: string[]) =>
    (c: MeterCtx) =>
      expect(c.meter.flags(), 'flags').toEqual(flags),
};
