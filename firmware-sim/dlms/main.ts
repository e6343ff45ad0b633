/**
 * Runs one simulated meter's DLMS server on its own, for third-party DLMS clients:
 *
 *   node bin/run-ts.mjs firmware-sim/dlms/main.ts --port 4061 [--host 0.0.0.0] [--transport auto|hdlc|wrapper]
 *     [--password <LLS password>] [--ek <32 hex>] [--ak <32 hex>] [--system-title <16 hex>] [--physical <n>]
 *
 * Defaults are the demo secrets of docs/dlms-session.md. Tokens entered are accepted and printed.
 */
import { parseArgs } from 'node:util';
import { createMeterState, MeterObjects } from './objects.ts';
import { DlmsServer, type ServerTransport, standardAssociations } from './server.ts';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '4061' },
    transport: { type: 'string', default: 'auto' },
    password: { type: 'string', default: '12345678' },
    ek: { type: 'string', default: '000102030405060708090a0b0c0d0e0f' },
    ak: { type: 'string', default: 'd0d1d2d3d4d5d6d7d8d9dadbdcdddedf' },
    'system-title': { type: 'string', default: '5253443030303031' },
    physical: { type: 'string' },
  },
});

const transport = values.transport as ServerTransport;
if (!['auto', 'hdlc', 'wrapper'].includes(transport)) throw new Error(`--transport ${transport}?`);
const state = createMeterState({ energyWh: 12_340, powerW: 850, voltageV: 230.4, creditMinor: 5000 });
const objects = new MeterObjects({
  state,
  onToken: (digits) => {
    process.stdout.write(`token ${digits}\n`);
    return { accepted: true, code: 0 };
  },
});
const server = new DlmsServer({
  provider: objects,
  transport,
  physicalDevice: values.physical === undefined ? undefined : Number(values.physical),
  systemTitle: Buffer.from(values['system-title'], 'hex'),
  associations: standardAssociations({
    password: values.password,
    keys: {
      blockCipherKey: Buffer.from(values.ek, 'hex'),
      authenticationKey: Buffer.from(values.ak, 'hex'),
    },
  }),
});
server.on('association', (a) => process.stdout.write(`association client ${a.clientSap} ${a.mechanism}\n`));
server.on('association-refused', (a) => process.stdout.write(`refused client ${a.clientSap}: ${a.reason}\n`));
const address = await server.listen(Number(values.port), values.host);
process.stdout.write(`DLMS meter ${state.serial} on ${address.address}:${address.port} (${transport})\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
