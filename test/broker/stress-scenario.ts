/**
 * The mqemitter stack overflow of moscajs/aedes issue #193 / mcollina/mqemitter pull #204, as a
 * standalone program (it may crash the process, so the stress test runs it in a child):
 *
 *   node bin/run-ts.mjs test/broker/stress-scenario.ts <bare|guarded> [queued]
 *
 * One subscriber on `burst/#` stops reading its socket; 40 publishers burst QoS 0 messages (one of them 4 KiB
 * ones that fill the subscriber's socket, the others 1-byte ones) until the emitter's queue holds `queued` messages (deliveries to the stalled subscriber wait for a
 * drain that never comes, so the emitter's concurrency slots stay taken); then the subscriber is
 * dropped. Its listener goes, and the queued messages now complete synchronously. Prints one JSON line
 * with what happened and exits 0 if the broker survived and still acknowledges a QoS 1 publish.
 */
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { createGuardedEmitter } from '../../src/broker/emitter.ts';

const mode = process.argv[2] === 'guarded' ? 'guarded' : 'bare';
const target = Number(process.argv[3] ?? 20_000);
const PUBLISHERS = 40;
/** Publisher 0 sends big messages, to fill the stalled subscriber's socket; the others small ones, many per socket read. */
const BIG = Buffer.alloc(4096, 0x61);
const SMALL = Buffer.from('r');
const DEADLINE_MS = 20_000;

let deferrals = 0;
const mq =
  mode === 'guarded' ? createGuardedEmitter({ concurrency: 100, onDefer: () => deferrals++ }) : undefined;
const aedes = await Aedes.createBroker(mq ? { mq } : {});
const server = createServer((socket) => aedes.handle(socket));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
const queue = () => (aedes as unknown as { mq: { length: number } }).mq.length;

function report(outcome: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ mode, outcome, deferrals, ...extra })}\n`);
}

let phase = 'burst';
process.on('uncaughtException', (err) => {
  report('crashed', { phase, error: `${err.name}: ${err.message}` });
  process.exit(3);
});

const connect = (id: string) =>
  mqtt.connectAsync(url, { clientId: id, reconnectPeriod: 0, protocolVersion: 4 });

const subscriber = await connect('stalled-subscriber');
await subscriber.subscribeAsync('burst/#', { qos: 0 });
subscriber.stream.pause(); // stops reading: its deliveries now wait for a socket drain

const publishers: MqttClient[] = await Promise.all(
  Array.from({ length: PUBLISHERS }, (_, i) => connect(`pub-${i}`)),
);
let running = true;
for (const [i, p] of publishers.entries()) {
  const pump = () => {
    if (!running) return;
    const payload = i === 0 ? BIG : SMALL;
    for (let k = 0; k < 50; k++) p.publish(`burst/${i}`, payload, { qos: 0 });
    setImmediate(pump);
  };
  pump();
}

const started = Date.now();
let peak = 0;
while (queue() < target && Date.now() - started < DEADLINE_MS) {
  peak = Math.max(peak, queue());
  await new Promise((r) => setTimeout(r, 20));
}
peak = Math.max(peak, queue());
running = false;
if (peak < target) {
  report('no-backlog', { peak });
  process.exit(4);
}

// The subscriber drops at once, with the backlog queued.
phase = 'after-drop';
subscriber.stream.destroy();
await new Promise((r) => setTimeout(r, 1000));
const deadline = Date.now() + DEADLINE_MS;
while (queue() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

// Still serving: a fresh client's QoS 1 publish is acknowledged.
const probe = await connect('probe');
await probe.publishAsync('probe/ok', 'x', { qos: 1 });
report('survived', { peak, left: queue() });
await Promise.all([...publishers, probe].map((c) => c.endAsync(true)));
await new Promise<void>((resolve) => aedes.close(() => resolve()));
server.close();
process.exit(0);
