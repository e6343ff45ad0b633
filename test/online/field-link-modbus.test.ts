/**
 * A Modbus meter behind the gateway (the simulator's Modbus face over real Modbus/TCP) whose link fails at
 * the worst moments, through a started Rasid (PGlite here, PostgreSQL in vitest.services.config.ts):
 * - a disconnect issued after the meter died, before anything noticed, is done once when it returns;
 * - the answer to the relay coil write is lost: done again, relay as commanded, one acknowledged command.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusMeterServer } from '../../firmware-sim/modbus/index.ts';
import { ManualClock, SimMeter, stsParametersFor } from '../../firmware-sim/model/index.ts';
import type { Gateway } from '../../gateway/index.ts';
import { type FieldWorld, fieldWorld, startFieldGateway } from './field-world.ts';
import { LinkProxy } from './link-proxy.ts';
import { waitFor } from './world.ts';

/** Modbus function 05, write single coil, after the 7-byte MBAP header. */
const WRITE_COIL = 0x05;

describe('a Modbus meter whose link fails loses no command', () => {
  let f: FieldWorld;
  let meter: SimMeter;
  let server: ModbusMeterServer;
  let proxy: LinkProxy;
  let gateway: Gateway;
  /** Coil writes that reached the meter. */
  let coilWrites = 0;

  beforeAll(async () => {
    f = await fieldWorld('field-link-modbus');
    meter = new SimMeter(
      {
        serial: f.w.serial,
        kind: 'electricity',
        seed: 5,
        sts: stsParametersFor({ drn: '00000000001' }).params,
        initialCredit: 20_000,
      },
      { clock: new ManualClock(Date.now()) },
    );
    server = new ModbusMeterServer({ meter, port: 0 });
    await server.start();
    proxy = await LinkProxy.start(server.port, (request) => {
      if (request.length > 7 && request[7] === WRITE_COIL) coilWrites++;
    });
    await f.w.server.core.store.db
      .updateTable('meters')
      .set({ protocol: 'modbus' })
      .where('id', '=', f.meterId)
      .execute();
    gateway = await startFieldGateway(
      f,
      { connection: { type: 'tcp', host: '127.0.0.1', port: proxy.port } },
      { intervalS: 900, timeoutMs: 1000, linkCheckS: 1, backoffInitialMs: 200, backoffMaxMs: 1000 },
    );
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await proxy?.close();
    await server?.close();
    await f?.close();
  });

  it('a disconnect issued after the meter died, before anything noticed, is done once when it returns (docs/commands.md row 7)', async () => {
    await waitFor(async () => (await f.status()).online === true, 30_000);
    proxy.die();
    const id = await f.queue('disconnect');
    await waitFor(async () => (await f.audit(id)).includes('command.deferred'), 30_000);
    expect((await f.command(id)).state).toBe('queued');
    await waitFor(async () => (await f.status()).online === false, 30_000);
    expect(meter.relay).toBe('connected');
    expect(coilWrites).toBe(0);

    await proxy.revive();
    await waitFor(async () => (await f.command(id)).state === 'acknowledged', 30_000);
    expect(meter.relay).toBe('disconnected');
    expect(coilWrites).toBe(1);
    expect((await f.audit(id)).filter((a) => a === 'command.acknowledged')).toHaveLength(1);
  });

  it('the lost answer to the relay coil write: done again, relay as commanded, one acknowledged command (docs/commands.md row 3)', async () => {
    coilWrites = 0;
    proxy.loseReplyTo((request) => request.length > 7 && request[7] === WRITE_COIL);
    const id = await f.queue('reconnect');
    await waitFor(async () => (await f.command(id)).state === 'acknowledged', 30_000);
    expect(proxy.lostReplies).toBe(1);
    expect(coilWrites).toBe(2);
    expect(meter.relay).toBe('connected');
    expect((await f.command(id)).result).toMatchObject({ status: 'ok', result: { relay: 'connected' } });
    expect((await f.audit(id)).filter((a) => a === 'command.acknowledged')).toHaveLength(1);
  });
});
