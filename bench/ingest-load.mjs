// The meters of the ingest benchmark, in their own process (as real meters are): N mqtt.js clients on
// loopback, each keeping one QoS 1 reading outstanding (closed loop). Reads its settings as JSON from
// argv[2], connects, warms up, measures, and prints one JSON line: rate, acks, p50 and p99 publish->PUBACK.
import mqtt from 'mqtt';
import { readingPayload as payload } from './reading-payload.mjs';

const o = JSON.parse(process.argv[2]);
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

const clients = [];
for (let i = 0; i < o.serials.length; i += 200) {
  const part = o.serials.slice(i, i + 200);
  clients.push(
    ...(await Promise.all(
      part.map((s) =>
        mqtt.connectAsync(o.url, {
          username: s,
          password: o.password,
          clientId: s,
          protocolVersion: 4,
          reconnectPeriod: 0,
          keepalive: 120,
        }),
      ),
    )),
  );
}

let measuring = false;
let running = true;
let acks = 0;
let seq = 0;
const lat = [];
const loops = clients.map(async (client, i) => {
  const topic = `rasid/v1/${o.utility}/meters/${o.serials[i]}/up/reading`;
  while (running) {
    const s = seq++;
    const t0 = performance.now();
    await client.publishAsync(topic, payload(s, o.tsBase + s * 1000), { qos: 1 });
    if (measuring) {
      acks++;
      lat.push(performance.now() - t0);
    }
  }
});
await new Promise((r) => setTimeout(r, o.warmup * 1000));
measuring = true;
const start = performance.now();
await new Promise((r) => setTimeout(r, o.seconds * 1000));
measuring = false;
const elapsed = (performance.now() - start) / 1000;
const counted = acks;
running = false;
await Promise.all(loops);
await Promise.all(clients.map((c) => c.endAsync(true)));
const sorted = Float64Array.from(lat).sort();
process.stdout.write(
  `${JSON.stringify({ rate: counted / elapsed, acks: counted, p50: pct(sorted, 0.5), p99: pct(sorted, 0.99) })}\n`,
);
