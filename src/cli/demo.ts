/**
 * `rasid demo`: Rasid with every role (embedded PGlite and broker) plus a simulated fleet of prepaid meters
 * connected to it, on a demo utility seeded on first run. One command for a newcomer to see every screen
 * working; the credentials it prints are the demo's own and well known.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { UsageError } from './errors.ts';

interface DemoFlags {
  port: string;
  host: string;
  mqttPort: string;
  meters: string;
  interval: string;
  dataDir: string;
}

function int(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name}: expected ${min} to ${max}`);
  return n;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'start Rasid with a seeded demo utility and a simulated fleet of meters connected to it (not for production)',
    )
    .option('--port <port>', 'HTTP port', '8080')
    .option('--host <host>', 'HTTP and MQTT interface', '127.0.0.1')
    .option('--mqtt-port <port>', 'embedded MQTT broker port (0 picks a free one)', '0')
    .option('--meters <n>', 'simulated meters (created on the first run)', '20')
    .option('--interval <seconds>', 'seconds between two readings of one meter', '60')
    .option('--data-dir <dir>', 'where the demo keeps its database and meter state', join('.data', 'demo'))
    .action(async (flags: DemoFlags) => {
      const meters = int(flags.meters, 'meters', 1, 5000);
      const intervalS = int(flags.interval, 'interval', 5, 86_400);
      const config = loadConfig({
        ...process.env,
        PORT: String(int(flags.port, 'port', 0, 65_535)),
        HOST: flags.host,
        MQTT_HOST: flags.host,
        MQTT_PORT: String(int(flags.mqttPort, 'mqtt-port', 0, 65_535)),
        DATA_DIR: flags.dataDir,
        BALANCE_INTERVAL_SECONDS: process.env.BALANCE_INTERVAL_SECONDS ?? '30',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      });
      const { startServer } = await import('../server.ts');
      const seed = await import('../demo/seed.ts');
      const { SimFleet } = await import('../../firmware-sim/fleet/index.ts');
      const { ScaledClock } = await import('../../firmware-sim/model/index.ts');

      // The demo seeds its own utility right after the start: no first-run setup code to show.
      const server = await startServer(config, { setupOutput: { write: () => true } });
      const seeded = await seed.seedDemo(server.core.store.db, server.core.keys, { meters });
      const brokerUrl = server.metersOnline.brokerUrl;
      if (brokerUrl === null) throw new Error('the demo needs the embedded broker');
      const fleet = new SimFleet({
        meters: seeded.meters,
        protocol: 'mqtt',
        kind: 'electricity',
        mode: 'token',
        clock: new ScaledClock({ speed: 1 }),
        seed: 2026,
        intervalS,
        serialPrefix: seed.DEMO_SERIAL_PREFIX,
        drnBase: seed.DEMO_DRN_BASE,
        supplyGroupCode: String(seed.DEMO_SGC),
        initialCredit: 50_000,
        initialRegisters: await seed.demoRegisters(server.core.store.db, seeded.utilityId),
        broker: {
          url: brokerUrl,
          utility: seed.DEMO_UTILITY,
          usernamePrefix: '',
          password: seed.DEMO_METER_PASSWORD,
        },
        stateDir: join(flags.dataDir, 'meters'),
      });
      await fleet.start();

      const out = process.stdout;
      out.write(
        [
          '',
          `Rasid demo ${seeded.created ? '(seeded now)' : '(seeded earlier)'}: ${server.url}`,
          `  web app        ${server.url}/`,
          `  API reference  ${server.url}/docs`,
          `  MQTT broker    ${brokerUrl}   (${seeded.meters} simulated meters, ${seed.DEMO_SERIAL_PREFIX}000001…)`,
          `  utility        ${seed.DEMO_UTILITY} (OMR)`,
          `  staff          ${[...seed.DEMO_STAFF_ROLES, 'vendor'].join(', ')} — password ${seed.DEMO_STAFF_PASSWORD}`,
          `  kiosk API key  ${seed.DEMO_KIOSK_KEY}`,
          `  SMS sent       ${join(flags.dataDir, 'sms-inbox.jsonl')}   (sign-in codes; masked in the log)`,
          `  Ctrl-C stops the demo; its data stays in ${flags.dataDir}`,
          '',
        ].join('\n'),
      );
      const status = setInterval(() => out.write(`${fleet.summary()}\n`), 30_000);
      status.unref();

      await new Promise<void>((resolve) => {
        const stop = (): void => {
          clearInterval(status);
          void fleet
            .stop()
            .then(() => server.close())
            .then(resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
