/**
 * The mqtt.js transport and the ack/status wiring over a real socket: an aedes broker on loopback, a meter
 * client subscribed to its own `down/cmd`, the dispatcher on PGlite.
 */
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { expect } from 'vitest';
import {
  type Command,
  CommandSchema,
  encodeAck,
  encodeStatus,
  meterTopic,
} from '../../protocols/mqtt/index.ts';
import { CommandDispatcher } from '../../src/commands/dispatcher.ts';
import { attachCommandMqtt } from '../../src/commands/mqtt.ts';
import { MqttCommandTransport } from '../../src/commands/transport.ts';
import type { MeterId } from '../../src/store/schema.ts';
import { makeWorld } from '../balance/world.ts';
import { dbTestFor, SUITE_DIALECT } from '../support/db.ts';

const dbTest = dbTestFor(SUITE_DIALECT);

dbTest(
  'a command reaches the meter at QoS 1 on down/cmd; its ack and its online status come back',
  async ({ store }) => {
    const w = await makeWorld(store, { online: false });
    const broker = new Aedes();
    await broker.listen();
    const server = createServer((socket) => broker.handle(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const rasid = await mqtt.connectAsync(url, { clientId: 'rasid-commands' });
    const meter = await mqtt.connectAsync(url, { clientId: 'amman-M-0001' });
    try {
      const dispatcher = new CommandDispatcher({
        db: w.db,
        transport: new MqttCommandTransport({ client: rasid }),
      });
      const serial = 'amman-M-0001';
      let ackHandled: (outcome: unknown) => void = () => {};
      const handled = new Promise((resolve) => {
        ackHandled = resolve;
      });
      const detach = await attachCommandMqtt({
        client: rasid,
        dispatcher,
        shared: false,
        onHandled: (event) => {
          if (event.channel === 'up/ack') ackHandled(event.outcome);
        },
        resolveMeter: async (utility, s) =>
          utility === 'amman' && s === serial ? (w.meterId as MeterId) : null,
      });

      const received: { command: Command; qos: number }[] = [];
      const acked = new Promise<void>((resolve) => {
        meter.on('message', (_topic, payload, packet) => {
          const command = CommandSchema.parse(JSON.parse(payload.toString('utf8')));
          received.push({ command, qos: packet.qos });
          meter
            .publishAsync(
              meterTopic('amman', serial, 'up/ack'),
              encodeAck({ v: 1, id: command.id, ts: new Date().toISOString(), status: 'ok' }),
              { qos: 1 },
            )
            .then(() => resolve());
        });
      });
      await meter.subscribeAsync(meterTopic('amman', serial, 'down/cmd'), { qos: 1 });

      const id = await dispatcher.enqueue({
        utilityId: w.utilityId,
        meterId: w.meterId,
        kind: 'disconnect',
        payload: { reason: 'credit_exhausted' },
      });
      // Offline: nothing is sent. The meter says it is online: the dispatcher sends what waited.
      expect((await dispatcher.dispatchDue()).sent).toBe(0);
      await w.db.updateTable('meters').set({ online: true }).where('id', '=', w.meterId).execute();
      await meter.publishAsync(
        meterTopic('amman', serial, 'up/status'),
        encodeStatus({ v: 1, state: 'online', ts: new Date().toISOString() }),
        { qos: 1, retain: true },
      );
      await acked;
      expect(await handled).toEqual({ outcome: 'recorded', commandId: id, state: 'acknowledged' });
      await detach();
      expect(received).toEqual([{ command: expect.objectContaining({ id, kind: 'disconnect' }), qos: 1 }]);
      const row = await w.db.selectFrom('commands').select(['state', 'attempts']).executeTakeFirstOrThrow();
      expect(row).toEqual({ state: 'acknowledged', attempts: 1 });
    } finally {
      await meter.endAsync();
      await rasid.endAsync();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      server.close();
    }
  },
);
