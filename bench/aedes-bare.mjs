// Bare aedes, no hooks, no authentication, no persistence: the fleet benchmark's same-run baseline.
// Usage: node bench/aedes-bare.mjs <port>; prints "ready" when it listens.
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2] ?? 0);
const aedes = await Aedes.createBroker();
const server = createServer((socket) => aedes.handle(socket));
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.once('SIGTERM', () => {
  server.close();
  aedes.close(() => process.exit(0));
});
