// The data concentrators of the fleet benchmark's gateway mode, in their own process: G mqtt.js
// connections, each logged in as one gateway (its code and API key) and publishing, for each meter it
// serves, one QoS 1 reading every interval, spread evenly over the interval as a concentrator polling its
// meters in turn does. Reads its settings as JSON from argv[2]; prints `ready` when every gateway is
// connected, then one JSON line per second (published, acked, errors, PUBACK p50/p99 since the last
// `reset` on stdin) on stdout, and a last one on SIGTERM once what was published is acknowledged.
import { createInterface } from 'node:readline';
import mqtt from 'mqtt';

/**
 * @type {{ url: string, utility: string, gateways: { code: string, key: string, first: number, count: number }[],
 *   prefix: string, digits: number, intervalS: number, baseWh: number, stepWh: number }}
 */
const o = JSON.parse(process.argv[2]);
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
const serialOf = (i) => `${o.prefix}${String(i).padStart(o.digits, '0')}`;

let published = 0;
let acked = 0;
let errors = 0;
let lat = [];
const clients = await Promise.all(
  o.gateways.map((g) =>
    mqtt.connectAsync(o.url, {
      username: g.code,
      password: g.key,
      clientId: g.code,
      protocolVersion: 4,
      reconnectPeriod: 1000,
      keepalive: 60,
    }),
  ),
);
for (const c of clients) c.on('error', () => errors++);
process.stdout.write('ready\n');

const started = Date.now();
const intervalMs = o.intervalS * 1000;
// Each gateway polls its meters in turn: meter j of a gateway with n meters is due at j/n of the interval.
const sent = o.gateways.map(() => 0);
function publishDue() {
  const elapsed = Date.now() - started;
  for (const [gi, g] of o.gateways.entries()) {
    const client = clients[gi];
    const due = Math.floor((elapsed / intervalMs) * g.count);
    for (; sent[gi] < due; sent[gi]++) {
      const round = Math.floor(sent[gi] / g.count);
      const serial = serialOf(g.first + (sent[gi] % g.count));
      const payload = Buffer.from(
        JSON.stringify({
          v: 1,
          seq: round + 1,
          ts: Date.now(),
          energyWh: o.baseWh + (round + 1) * o.stepWh,
          powerW: 1200,
          voltageDv: 2301,
          currentMa: 5210,
          creditWh: 50_000,
        }),
      );
      const t0 = performance.now();
      published++;
      client.publish(`rasid/v1/${o.utility}/meters/${serial}/up/reading`, payload, { qos: 1 }, (err) => {
        if (err) errors++;
        else {
          acked++;
          lat.push(performance.now() - t0);
        }
      });
    }
  }
}
const timer = setInterval(publishDue, 20);

function print() {
  const sorted = Float64Array.from(lat).sort();
  process.stdout.write(
    `${JSON.stringify({ published, acked, errors, samples: sorted.length, p50: pct(sorted, 0.5), p99: pct(sorted, 0.99) })}\n`,
  );
}
const report = setInterval(print, 1000);

// `reset` on stdin starts the latency window again (the measured seconds after a warm-up).
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'reset') lat = [];
});

// SIGTERM: publish no more, wait (at most 10 s) for the PUBACKs of what was published, print the last line.
process.on('SIGTERM', async () => {
  clearInterval(timer);
  clearInterval(report);
  const until = Date.now() + 10_000;
  while (acked + errors < published && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  print();
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
  process.exit(0);
});
