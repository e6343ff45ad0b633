/**
 * When the link to a meter fails, nothing is lost (docs/commands.md). A started Rasid (PGlite here; on
 * PostgreSQL in vitest.services.config.ts) with its embedded broker, a gateway signed in with its own key and
 * its meter from Rasid's API, and the simulator's DLMS face (wrapper, LLS) behind a proxy that cuts the link
 * at the worst moments:
 * - a disconnect issued after the meter died and before anything noticed is delivered once when it returns;
 * - the answer to a relay ACTION is lost: the gateway does it again, the relay ends as commanded and the
 *   command is acknowledged once;
 * - a six-hour gap in a central-mode meter's readings is read back from its load profile after it returns,
 *   charged once, and the day's consumption report equals the meter's own register difference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMeterState,
  DlmsServer,
  MeterObjects,
  type MeterState,
  standardAssociations,
} from '../../firmware-sim/dlms/index.ts';
import type { Gateway } from '../../gateway/index.ts';
import { CONTROL_STATE } from '../../protocols/dlms/index.ts';
import type { MeterId } from '../../src/store/schema.ts';
import { type FieldWorld, fieldWorld, startFieldGateway } from './field-world.ts';
import { LinkProxy } from './link-proxy.ts';
import { type Json, type OnlineWorld, waitFor } from './world.ts';

const PASSWORD = 'Rasid-LLS-1';
const HOUR = 3_600_000;
const PERIOD_S = 900;

describe('a meter whose link fails loses nothing', () => {
  let f: FieldWorld;
  let w: OnlineWorld;
  let server: DlmsServer;
  let proxy: LinkProxy;
  let gateway: Gateway;
  let state: MeterState;
  /** Disconnect-control ACTIONs that reached the meter, by method. */
  const relayActions: number[] = [];
  let meterId: MeterId;

  beforeAll(async () => {
    f = await fieldWorld('field-link');
    w = f.w;
    meterId = f.meterId;
    // The meter keeps time eight hours behind the host, so that its gap and return are in the past.
    const start = Date.now() - 8 * HOUR;
    state = createMeterState({
      serial: w.serial,
      energyWh: 1_000_000,
      powerW: 1200,
      creditMinor: 5000,
      clockOffsetMs: start - Date.now(),
      capturePeriodS: PERIOD_S,
    });
    const objects = new MeterObjects({ state });
    const action = objects.action.bind(objects);
    objects.action = async (classId, obis, method, param) => {
      if (classId === 70) relayActions.push(method);
      return action(classId, obis, method, param);
    };
    server = new DlmsServer({
      provider: objects,
      transport: 'wrapper',
      associations: standardAssociations({
        password: PASSWORD,
        keys: { blockCipherKey: Buffer.alloc(16, 1), authenticationKey: Buffer.alloc(16, 2) },
      }),
    });
    await server.listen(0, '127.0.0.1');
    proxy = await LinkProxy.start(server.port);
    await w.server.core.store.db
      .updateTable('meters')
      .set({ protocol: 'dlms', mode: 'central' })
      .where('id', '=', meterId)
      .execute();
    gateway = await startFieldGateway(
      f,
      {
        connection: { type: 'tcp', host: '127.0.0.1', port: proxy.port },
        transport: { framing: 'wrapper' },
        security: { mechanism: 'lls', password: PASSWORD },
      },
      { intervalS: PERIOD_S, timeoutMs: 1500, linkCheckS: 1, backoffInitialMs: 200, backoffMaxMs: 1000 },
    );
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await proxy?.close();
    await server?.close();
    await f?.close();
  });

  const status = () => f.status();
  const commandOf = (id: string) => f.command(id);
  const audit = (id: string) => f.audit(id);
  const queue = (kind: 'disconnect' | 'reconnect') => f.queue(kind);

  it('the meter comes online with its first reading', async () => {
    await waitFor(async () => (await status()).online === true, 30_000);
    await waitFor(async () => (await status()).lastReading != null, 30_000);
  });

  it('a disconnect issued after the meter died, before anything noticed, is delivered once when it returns (docs/commands.md row 1)', async () => {
    expect((await status()).online).toBe(true);
    proxy.die();
    const id = await queue('disconnect');
    // Sent to a meter Rasid still believed online; the gateway finds nothing reaches it.
    await waitFor(async () => (await audit(id)).includes('command.deferred'), 30_000);
    expect((await commandOf(id)).state).toBe('queued');
    await waitFor(async () => (await status()).online === false, 30_000);
    expect(relayActions).toEqual([]);
    expect(state.relay.controlState).toBe(CONTROL_STATE.connected);

    await proxy.revive();
    await waitFor(async () => (await commandOf(id)).state === 'acknowledged', 30_000);
    expect(state.relay.controlState).toBe(CONTROL_STATE.disconnected);
    expect(relayActions).toEqual([1]);
    expect((await audit(id)).filter((a) => a === 'command.acknowledged')).toHaveLength(1);
    expect((await status()).online).toBe(true);
  });

  it('the lost answer to a relay ACTION: done again, the relay as commanded, one acknowledged command (docs/commands.md row 3)', async () => {
    relayActions.length = 0;
    // The ACTION-Request APDU (0xC3) after the 8-byte wrapper header.
    proxy.loseReplyTo((request) => request.length > 8 && request[8] === 0xc3);
    const id = await queue('reconnect');
    await waitFor(async () => (await commandOf(id)).state === 'acknowledged', 30_000);
    expect(proxy.lostReplies).toBe(1);
    // The first ACTION reached the meter and its answer was lost; the second found the relay closed.
    expect(relayActions).toEqual([2, 2]);
    expect(state.relay.controlState).toBe(CONTROL_STATE.connected);
    const command = await commandOf(id);
    expect(command.result).toMatchObject({ status: 'ok', result: { relay: 'connected' } });
    expect((await audit(id)).filter((a) => a === 'command.acknowledged')).toHaveLength(1);
  });

  it('a six-hour gap is read back from the load profile, charged once, and the day report equals the register difference (docs/commands.md row 8)', async () => {
    const db = w.server.core.store.db;
    const engine = w.server.metersOnline.engine!;
    const readings = async () =>
      db
        .selectFrom('readings')
        .select(['ts', 'energy_wh'])
        .where('meter_id', '=', meterId)
        .orderBy('ts')
        .execute();
    await engine.run({ meterIds: [meterId] });
    const before = await readings();
    const first = before.at(-1)!;
    const meterNow = () => Date.now() + state.clockOffsetMs;

    proxy.die();
    await waitFor(async () => (await status()).online === false, 30_000);
    // Six hours pass on the meter while its link is down: it records its load profile every 15 minutes.
    const from = first.ts.getTime();
    const periodMs = PERIOD_S * 1000;
    let at = Math.ceil((from + 1) / periodMs) * periodMs;
    const end = from + 6 * HOUR;
    let energy = Number(first.energy_wh);
    while (at <= end) {
      energy += 300;
      state.profile.push({ at: new Date(at), energyWh: energy, powerW: 1200 });
      at += periodMs;
    }
    state.energyWh = energy + 100;
    state.clockOffsetMs += end + 60_000 - meterNow();
    const missed = state.profile.filter((r) => r.at.getTime() > from).length;
    expect(missed).toBe(24);

    await proxy.revive();
    await waitFor(async () => (await readings()).length >= before.length + missed + 1, 30_000);
    const after = await readings();
    const filled = after.filter((r) => r.ts.getTime() > from && r.ts.getTime() <= end);
    expect(filled.map((r) => r.ts.toISOString())).toEqual(
      state.profile.filter((r) => r.at.getTime() > from).map((r) => r.at.toISOString()),
    );
    expect(filled.map((r) => Number(r.energy_wh))).toEqual(
      state.profile.filter((r) => r.at.getTime() > from).map((r) => r.energyWh),
    );

    // Charged once, in time order: every unit between the two register values, no gap reported.
    await engine.run({ meterIds: [meterId] });
    expect((await engine.run({ meterIds: [meterId] })).chargedMinor).toBe(0n);
    const charges = await db
      .selectFrom('audit_log')
      .select(['details'])
      .where('action', '=', 'balance.consumption')
      .where('subject', 'like', `%${meterId}%`)
      .orderBy('id')
      .execute();
    const details = charges.map((c) => c.details as Json);
    const last = after.at(-1)!;
    const firstEver = after[0]!;
    expect(details.reduce((sum, d) => sum + BigInt(d.units), 0n)).toBe(
      BigInt(last.energy_wh!) - BigInt(firstEver.energy_wh!),
    );
    expect(details.flatMap((d) => d.events ?? []).filter((e: Json) => e.kind === 'gap')).toEqual([]);

    // The day's report: the meter's own register difference over its readings of that day.
    const day = new Date(end).toISOString().slice(0, 10);
    const next = new Date(Date.parse(day) + 24 * HOUR).toISOString().slice(0, 10);
    const report = await w.call('GET', `/api/v1/reports/consumption?from=${day}&to=${next}`);
    expect(report.status).toBe(200);
    const ofDay = after.filter((r) => r.ts.toISOString().slice(0, 10) === day);
    const previous = after.filter((r) => r.ts.toISOString().slice(0, 10) < day).at(-1) ?? ofDay[0]!;
    expect(report.json.days).toEqual([
      expect.objectContaining({
        day,
        energyWh: String(BigInt(ofDay.at(-1)!.energy_wh!) - BigInt(previous.energy_wh!)),
      }),
    ]);

    // The same range read back again: the ingest takes every row for a duplicate, nothing changes.
    const duplicates = async () => {
      const text = await (await fetch(`${w.server.url}/metrics`)).text();
      return Number(/rasid_ingest_duplicates_total\{kind="reading"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const seen = await duplicates();
    expect(await gateway.workers.get(w.serial)!.readBack(new Date(from), new Date(end + 1))).toBe(missed);
    await waitFor(async () => (await duplicates()) >= seen + missed, 30_000);
    expect(await readings()).toEqual(after);
    expect((await engine.run({ meterIds: [meterId] })).chargedMinor).toBe(0n);
  });
});
