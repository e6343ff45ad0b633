/**
 * An MQTT meter (the simulator's MQTT face, persistent session, its own credentials from Rasid's API) whose
 * link dies silently: a disconnect published into the half-dead connection, before the broker or Rasid
 * noticed, is done once when the meter comes back and resumes its session (docs/commands.md row 9). A
 * started Rasid with its embedded broker; PGlite here, PostgreSQL in vitest.services.config.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, SimMeter, stsParametersFor } from '../../firmware-sim/model/index.ts';
import { MqttMeterFace } from '../../firmware-sim/mqtt/index.ts';
import type { MeterId } from '../../src/store/schema.ts';
import { type FieldWorld, fieldWorld } from './field-world.ts';
import { LinkProxy } from './link-proxy.ts';
import { type OnlineWorld, waitFor } from './world.ts';

describe('an MQTT meter whose link dies silently loses no command', () => {
  let f: FieldWorld;
  let w: OnlineWorld;
  let proxy: LinkProxy;
  let face: MqttMeterFace;
  let meter: SimMeter;
  let meterId: MeterId;
  /** Relay changes the meter made, with the command that made each. */
  const changes: { relay: string; commandId?: string }[] = [];

  beforeAll(async () => {
    f = await fieldWorld('field-link-mqtt');
    w = f.w;
    meterId = f.meterId;
    const creds = await w.credentials();
    proxy = await LinkProxy.start(Number(new URL(creds.brokerUrl).port));
    meter = new SimMeter(
      {
        serial: w.serial,
        kind: 'electricity',
        seed: 3,
        sts: stsParametersFor({ drn: '00000000001' }).params,
        initialCredit: 20_000,
      },
      { clock: new ManualClock(Date.now()) },
    );
    meter.on('relay', (change: { relay: string; commandId?: string }) => changes.push(change));
    face = new MqttMeterFace({
      meter,
      brokerUrl: `mqtt://127.0.0.1:${proxy.port}`,
      utility: 'jo',
      clientId: creds.clientId,
      username: creds.username,
      password: creds.password,
      keepalive: 2,
      reconnectPeriodMs: 200,
    });
    await face.start();
  }, 120_000);

  afterAll(async () => {
    await face?.stop(false);
    await proxy?.close();
    await f?.close();
  });

  const status = () => f.status();
  const commandOf = (id: string) => f.command(id);

  it('a disconnect published into the half-dead connection is done once when the meter resumes its session (docs/commands.md row 9)', async () => {
    await waitFor(async () => (await status()).online === true, 30_000);
    expect(meter.relay).toBe('connected');
    proxy.die();
    const queued = await w.call('POST', `/api/v1/meters/${meterId}/commands`, {
      kind: 'disconnect',
      payload: { reason: 'operator' },
    });
    expect(queued.status).toBe(201);
    const id: string = queued.json.id;
    // Rasid still believed the meter online: the broker took the command (PUBACK), the meter never saw it.
    await waitFor(async () => (await commandOf(id)).state === 'sent', 30_000);
    // The broker notices the silence (keep-alive), publishes the meter's will, and Rasid marks it offline.
    await waitFor(async () => (await status()).online === false, 30_000);
    expect(meter.relay).toBe('connected');

    await proxy.revive();
    await waitFor(async () => (await commandOf(id)).state === 'acknowledged', 30_000);
    expect(meter.relay).toBe('disconnected');
    expect(changes.filter((c) => c.commandId === id).map((c) => c.relay)).toEqual(['disconnected']);
    const acknowledged = await w.server.core.store.db
      .selectFrom('audit_log')
      .select('action')
      .where('subject', '=', `command:${id}`)
      .where('action', '=', 'command.acknowledged')
      .execute();
    expect(acknowledged).toHaveLength(1);
  });
});
