/**
 * The demo's simulated meters go on from the history the demo seeds: a meter's first reading after the
 * demo starts is past the last register of its seeded month, not 0.0 kWh under a chart of hundreds.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { openMeter } from '../../firmware-sim/fleet/fleet.ts';
import { ManualClock } from '../../firmware-sim/model/index.ts';
import { DEMO_DRN_BASE, DEMO_SGC, demoRegisters, demoSerial, seedDemo } from '../../src/demo/seed.ts';
import { createKeyStore } from '../../src/store/keystore.ts';
import { dbTestFor } from '../support/db.ts';

const test = dbTestFor('postgres');

test('a simulated demo meter starts from the register its seeded history ends at', async ({ store }) => {
  const now = new Date('2026-12-05T01:00:00Z');
  const keys = createKeyStore({ db: store.db, masterKey: randomBytes(32) });
  const seeded = await seedDemo(store.db, keys, { meters: 2, now, historyDays: 3 });
  const registers = await demoRegisters(store.db, seeded.utilityId);
  const serial = demoSerial(1);
  const last = await store.db
    .selectFrom('readings as r')
    .innerJoin('meters as m', 'm.id', 'r.meter_id')
    .select('r.energy_wh')
    .where('m.serial', '=', serial)
    .orderBy('r.ts', 'desc')
    .limit(1)
    .executeTakeFirstOrThrow();
  expect(registers.get(serial)).toBe(Number(last.energy_wh));
  // 1 000 kWh where the history starts, plus three days of use.
  expect(registers.get(serial)).toBeGreaterThan(1_000_000);

  const { meter } = await openMeter(
    {
      serial,
      kind: 'electricity',
      sts: { drn: String(DEMO_DRN_BASE + 1).padStart(11, '0'), supplyGroupCode: String(DEMO_SGC) },
      seed: 1,
      initialRegister: registers.get(serial) ?? 0,
    },
    new ManualClock(now.getTime()),
    null,
  );
  expect(meter.registers().energyWh).toBe(registers.get(serial));
});
