/**
 * `npm run bench -- backfill [--rounds N] [--days D] [--gap-hours H]`: how long the gateway takes to read
 * back a gap from a meter's load profile (docs/commands.md row 8), over a real socket to the simulator's
 * DLMS face (IEC 62056-47 wrapper, LLS, 1024-byte PDUs, datablocks as needed).
 *
 * Workload: a load profile of D days of 15-minute rows (clock, energy, power); a gap of H hours ending at
 * the newest row. Figures, run interleaved (A B A B …, `rounds` times) and compared by their medians:
 *   A  the gateway's way: DlmsDriver.readIntervals — selective access by time range (range_descriptor on
 *      the clock column), rows turned into contract readings
 *   B  baseline: the whole buffer read without selective access (what a client that cannot ask for a
 *      range must do), then the gap's rows picked out
 * Both open one association first; the figure is the read only.
 */
import {
  createMeterState,
  DlmsServer,
  MeterObjects,
  standardAssociations,
} from '../firmware-sim/dlms/index.ts';
import { DlmsClientSession } from '../gateway/drivers/cosem-session.ts';
import { DlmsDriver } from '../gateway/drivers/dlms.ts';
import { loadConfig } from '../gateway/index.ts';
import { asList, OBIS } from '../protocols/dlms/index.ts';
import { median, optionReader } from './args.ts';

const PASSWORD = 'bench-lls-1';

const option = optionReader('backfill');

export async function run(args: readonly string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(
      'usage: npm run bench -- backfill [--rounds N] [--days D] [--gap-hours H]\n' +
        '  reads a gap back from a simulated DLMS meter\u2019s load profile by time range, beside reading the\n' +
        '  whole profile buffer (defaults: 7 rounds, 30 days of 15-minute rows, a 6-hour gap)\n',
    );
    return;
  }
  const rounds = option(args, '--rounds', 7);
  const days = option(args, '--days', 30);
  const gapHours = option(args, '--gap-hours', 6);
  const periodMs = 900_000;
  const rowsTotal = Math.round((days * 86_400_000) / periodMs);
  const newest = Math.floor(Date.now() / periodMs) * periodMs;
  const state = createMeterState({ energyWh: 1_000_000, capturePeriodS: 900 });
  for (let i = rowsTotal - 1; i >= 0; i--) {
    state.profile.push({
      at: new Date(newest - i * periodMs),
      energyWh: 1_000_000 + (rowsTotal - i) * 250,
      powerW: 1000,
    });
  }
  const server = new DlmsServer({
    provider: new MeterObjects({ state, profileCapacity: rowsTotal }),
    transport: 'wrapper',
    associations: standardAssociations({
      password: PASSWORD,
      keys: { blockCipherKey: Buffer.alloc(16, 1), authenticationKey: Buffer.alloc(16, 2) },
    }),
  });
  await server.listen(0, '127.0.0.1');
  const config = loadConfig({
    gatewayId: 'bench',
    utility: 'bench',
    broker: { url: 'mqtt://127.0.0.1:1' },
    polling: { timeoutMs: 60_000 },
    meters: [
      {
        id: 'BENCH-1',
        protocol: 'dlms',
        connection: { type: 'tcp', host: '127.0.0.1', port: server.port },
        transport: { framing: 'wrapper' },
        security: { mechanism: 'lls', password: PASSWORD },
      },
    ],
  });
  const meter = config.meters[0]!;
  if (meter.protocol !== 'dlms') throw new Error('bench backfill: expected a DLMS meter');
  const session = new DlmsClientSession(meter);
  const driver = new DlmsDriver({ meter, session, sequence: { next: () => 0 } });
  await driver.connect();
  const from = new Date(newest - gapHours * 3_600_000);
  const to = new Date(newest + 1);
  const expected = state.profile.filter((r) => r.at > from && r.at < to).length;

  const a: number[] = [];
  const b: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      let t = performance.now();
      const readings = await driver.readIntervals(from, to);
      a.push(performance.now() - t);
      if (readings.length !== expected)
        throw new Error(`range read gave ${readings.length} of ${expected} rows`);
      t = performance.now();
      const all = asList(await session.get(7, OBIS.loadProfile1, 2));
      const picked = all.slice(-expected);
      b.push(performance.now() - t);
      if (all.length !== rowsTotal || picked.length !== expected)
        throw new Error('whole-buffer read is short');
    }
  } finally {
    await driver.close();
    await server.close();
  }
  const ma = median(a);
  const mb = median(b);
  process.stdout.write(
    [
      `workload: load profile of ${days} days × 96 rows = ${rowsTotal} rows (clock, energy, power); ` +
        `gap ${gapHours} h = ${expected} rows; wrapper, LLS, 1024-byte PDUs; ${rounds} rounds interleaved`,
      `A  range read (selective access) → readings   median ${ma.toFixed(1)} ms`,
      `B  baseline: whole buffer, then pick the gap   median ${mb.toFixed(1)} ms`,
      `A/B ${(ma / mb).toFixed(3)} (${(mb / ma).toFixed(1)}× faster); datablocks sent by the meter: ${server.stats.blocksSent}`,
      '',
    ].join('\n'),
  );
}
