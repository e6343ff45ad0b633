import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStateStore, ManualClock, SimMeter } from '../../firmware-sim/model/index.ts';
import { encodeToken } from '../../protocols/sts/index.ts';
import { check, command, HOUR, type MeterCtx, meterConfig, newCtx, T0 } from './support.ts';

interface Scenario {
  readonly name: string;
  readonly given?: Parameters<typeof newCtx>[0];
  readonly when: (c: MeterCtx) => void | Promise<void>;
  readonly assert: readonly ((c: MeterCtx) => void)[];
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const scenarios: Scenario[] = [
  {
    name: 'a credit token is accepted and adds its units to the register',
    when: (c) => {
      c.enter(c.token('electricity-credit', 123)); // 12.3 kWh
    },
    assert: [
      check.outcome(0, true),
      check.credit(12_300),
      check.relay('connected'),
      check.hasEvent('token_accepted', { creditWh: 12_300 }),
    ],
  },
  {
    name: 'the same token entered twice is refused as used (IEC 62055-41 TID memory)',
    when: (c) => {
      const t = c.token('electricity-credit', 100);
      c.enter(t);
      c.enter(t);
    },
    assert: [
      check.outcome(0, true),
      check.outcome(1, false, 'used'),
      check.credit(10_000),
      check.hasEvent('token_rejected', { code: 'used' }),
    ],
  },
  {
    name: 'a mistyped token is refused by authentication and adds nothing',
    when: (c) => {
      const t = c.token('electricity-credit', 100);
      c.enter(`${t.slice(0, 19)}${(Number(t[19]) + 1) % 10}`);
    },
    assert: [check.outcome(0, false, 'authentication'), check.credit(0), check.relay('disconnected')],
  },
  {
    name: 'a water credit token on an electricity meter is refused (function)',
    when: (c) => {
      c.enter(c.token('water-credit', 100));
    },
    assert: [check.outcome(0, false, 'function'), check.credit(0)],
  },
  {
    name: 'consumption runs the credit down and the relay opens at zero in token mode',
    given: { initialCredit: 500, lowCreditThreshold: 300 },
    when: (c) => {
      c.clock.advance(24 * HOUR);
      c.meter.advance();
    },
    assert: [
      check.credit(0),
      check.relay('disconnected'),
      check.causes('credit'),
      check.hasEvent('low_credit'),
      check.hasEvent('relay_changed', { relay: 'disconnected', cause: 'credit_exhausted' }),
      (c) => expect(c.meter.registers().energyWh).toBe(500),
    ],
  },
  {
    name: 'a top-up after the credit ran out closes the relay again',
    given: { initialCredit: 200 },
    when: (c) => {
      c.clock.advance(12 * HOUR);
      c.enter(c.token('electricity-credit', 50));
    },
    assert: [
      check.credit(5000),
      check.relay('connected'),
      check.hasEvent('relay_changed', { relay: 'connected', cause: 'credit_restored' }),
    ],
  },
  {
    name: 'in central mode the credit goes below zero and only a command opens the relay',
    given: { initialCredit: 200, mode: 'central' },
    when: (c) => {
      c.clock.advance(12 * HOUR);
      c.meter.advance();
    },
    assert: [check.creditBelow(0), check.relay('connected')],
  },
  {
    name: 'emergency credit lets the credit go below zero once, until the next top-up',
    given: { initialCredit: 100, emergencyCredit: 1000 },
    when: (c) => {
      c.clock.advance(HOUR);
      c.meter.advance();
      expect(c.meter.relay).toBe('disconnected');
      expect(c.meter.takeEmergencyCredit()).toBe(true);
      expect(c.meter.takeEmergencyCredit()).toBe(false);
      c.clock.advance(24 * HOUR);
      c.meter.advance();
    },
    assert: [check.credit(-1000), check.relay('disconnected'), check.flags('low_credit', 'emergency_credit')],
  },
  {
    name: 'a key change, then a credit token under the new key; the old key no longer works',
    when: (c) => {
      const oldKeyToken = c.token('electricity-credit', 10);
      const [k1, k2] = c.keyChange('0123456789abcdef');
      c.enter(k1);
      c.enter(k2);
      c.enter(c.token('electricity-credit', 20));
      c.enter(oldKeyToken);
    },
    assert: [
      check.outcome(0, true),
      check.outcome(1, true),
      check.outcome(2, true),
      check.outcome(3, false, 'authentication'),
      check.credit(2000),
      (c) => expect(c.meter.stsSnapshot()).toMatchObject({ decoderKey: '0123456789abcdef', keyRevision: 2 }),
    ],
  },
  {
    name: 'a tamper alarm opens the relay; a clear-tamper token closes it',
    given: { initialCredit: 10_000 },
    when: (c) => {
      c.meter.raiseAlarm('magnetic');
      expect(c.meter.relay).toBe('disconnected');
      expect(c.meter.flags()).toEqual(['tamper', 'magnetic']);
      c.enter(c.token('clear-tamper', 0));
    },
    assert: [
      check.relay('connected'),
      check.flags(),
      check.hasEvent('magnetic'),
      check.hasEvent('relay_changed', { relay: 'connected', cause: 'tamper' }),
      (c) => expect(c.meter.stsSnapshot().tamper).toBe(false),
    ],
  },
  {
    name: 'a maximum power token trips the relay on overload',
    given: { initialCredit: 100_000 },
    when: (c) => {
      c.enter(c.token('max-power-limit', 1));
      c.clock.advance(10 * 60_000);
      c.meter.advance();
    },
    assert: [
      check.causes('max-power'),
      check.hasEvent('relay_changed', { relay: 'disconnected', cause: 'overload' }),
    ],
  },
  {
    name: 'a clear-credit token empties the register and opens the relay',
    when: (c) => {
      c.enter(c.token('electricity-credit', 100));
      c.enter(c.token('clear-credit', 0));
    },
    assert: [check.credit(0), check.relay('disconnected'), check.causes('credit')],
  },
  {
    name: 'a test token is accepted without a TID',
    given: { initialCredit: 1000 },
    when: (c) => {
      c.enter(encodeToken({ type: 'test-display-1', control: 1n, manufacturer: 7 }).token);
    },
    assert: [check.outcome(0, true), (c) => expect(c.outcomes[0]?.effect?.kind).toBe('test')],
  },
  {
    name: 'a command id is executed once; a repeat gets the same acknowledgement',
    given: { initialCredit: 10_000 },
    when: (c) => {
      const cmd = command({ kind: 'disconnect', payload: { reason: 'operator' } });
      const first = c.meter.execute(cmd);
      c.clock.advance(60_000);
      const second = c.meter.execute(cmd);
      expect(second).toEqual(first);
      expect(first).toMatchObject({ status: 'ok', result: { relay: 'disconnected' } });
    },
    assert: [
      check.eventKinds('relay_changed'),
      check.causes('remote'),
      (c) => expect(c.events.filter((e) => e.kind === 'relay_changed')).toHaveLength(1),
    ],
  },
  {
    name: 'a token command is applied once even when delivered twice',
    when: (c) => {
      const cmd = command({ kind: 'token', payload: { token: c.token('electricity-credit', 70) } });
      const a = c.meter.execute(cmd);
      const b = c.meter.execute(cmd);
      expect(b).toBe(a);
      expect(a).toMatchObject({ status: 'ok', result: { creditWh: 7000 } });
    },
    assert: [check.credit(7000), (c) => expect(c.outcomes).toHaveLength(1)],
  },
  {
    name: 'a rejected token command is acknowledged with token_rejected and the STS code',
    when: (c) => {
      const token = c.token('electricity-credit', 70);
      c.enter(token);
      const ack = c.meter.execute(command({ kind: 'token', payload: { token } }));
      expect(ack).toMatchObject({ status: 'error', error: { code: 'token_rejected', rejection: 'used' } });
    },
    assert: [check.credit(7000)],
  },
  {
    name: 'an expired command is not executed',
    given: { initialCredit: 1_000_000 },
    when: (c) => {
      c.clock.advance(48 * HOUR);
      const ack = c.meter.execute(command({ kind: 'disconnect', payload: { reason: 'operator' } }));
      expect(ack).toMatchObject({ status: 'error', error: { code: 'expired' } });
    },
    assert: [check.relay('connected')],
  },
  {
    name: 'a reconnect without credit in token mode is refused',
    when: (c) => {
      const ack = c.meter.execute(command({ kind: 'reconnect', payload: { reason: 'operator' } }));
      expect(ack).toMatchObject({ status: 'error', error: { code: 'refused' } });
    },
    assert: [check.relay('disconnected'), check.causes('credit')],
  },
];

describe('simulated meter scenarios', () => {
  it.each(scenarios)('$name', async (s) => {
    const c = newCtx(s.given);
    await s.when(c);
    for (const validate of s.assert) validate(c);
  });
});

describe('simulated meter: state and determinism', () => {
  it('keeps credit, TID memory, sequence numbers and command ids across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rasid-sim-'));
    dirs.push(dir);
    const store = new FileStateStore(dir);
    const c = newCtx({ initialCredit: 0 });
    const used = c.token('electricity-credit', 250);
    c.enter(used);
    const cmd = command({ kind: 'disconnect', payload: { reason: 'test' } });
    const ack = c.meter.execute(cmd);
    c.meter.takeReading();
    c.meter.takeReading();
    await store.save(c.meter.toState());
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const state = await store.load('SIM-1');
    expect(state).not.toBeNull();
    const restarted = c.build(state);
    expect(restarted.credit).toBe(25_000);
    expect(restarted.enterToken(used, 'keypad')).toMatchObject({ accepted: false, rejection: 'used' });
    expect(restarted.execute(cmd)).toEqual(ack);
    expect(restarted.relay).toBe('disconnected');
    expect(restarted.takeReading().seq).toBe(2);
  });

  it('refuses a state file of another meter', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rasid-sim-'));
    dirs.push(dir);
    const store = new FileStateStore(dir);
    const c = newCtx();
    await store.save(c.meter.toState());
    const other = new FileStateStore(dir);
    await expect(
      other
        .load('SIM-1')
        .then((s) => new SimMeter(meterConfig({ serial: 'SIM-2' }), { clock: c.clock, state: s })),
    ).rejects.toThrow(/does not fit/);
  });

  it('gives the same registers for the same seed however time is stepped', () => {
    const clockA = new ManualClock(T0);
    const a = new SimMeter(meterConfig({ initialCredit: 1e9 }), { clock: clockA });
    const clockB = new ManualClock(T0);
    const b = new SimMeter(meterConfig({ initialCredit: 1e9 }), { clock: clockB });
    clockA.advance(48 * HOUR);
    for (let i = 0; i < 48 * 7; i++) {
      clockB.advance(HOUR / 7);
      b.advance();
    }
    expect(a.registers().energyWh).toBeGreaterThan(0);
    expect(Math.abs(a.registers().energyWh - b.registers().energyWh)).toBeLessThanOrEqual(1);
    const other = new SimMeter(meterConfig({ seed: 43, initialCredit: 1e9 }), { clock: clockA });
    expect(other.registers().energyWh).not.toBe(a.registers().energyWh);
  });

  it('draws more energy in the evening than at night (daily shape)', () => {
    const clock = new ManualClock(T0 + 2 * HOUR);
    const m = new SimMeter(meterConfig({ initialCredit: 1e9 }), { clock });
    clock.advance(2 * HOUR); // 02:00-04:00
    const night = m.registers().energyWh;
    clock.set(T0 + 18 * HOUR);
    const before = m.registers().energyWh;
    clock.advance(2 * HOUR); // 18:00-20:00
    const evening = m.registers().energyWh - before;
    expect(evening).toBeGreaterThan(night * 2);
  });

  it('takes readings with increasing seq in the contract shape', () => {
    const c = newCtx({ initialCredit: 10_000, kind: 'water', sts: meterConfig().sts });
    c.enter(c.token('water-credit', 10));
    c.clock.advance(HOUR);
    const r1 = c.meter.takeReading();
    const r2 = c.meter.takeReading();
    expect(r1).toMatchObject({ v: 1, seq: 0, relay: 'connected', creditL: expect.any(Number) });
    expect(r1.volumeL).toBeGreaterThan(0);
    expect(r2.seq).toBe(1);
  });
});
