/**
 * `rasid gateway --config <file>`: runs Rasid's protocol gateway, which reads Modbus TCP and DLMS/COSEM
 * meters and speaks for them on the broker (docs/gateway.md). Runs until SIGINT or SIGTERM, then tells
 * the broker its meters and itself are offline and exits.
 */
import type { Command } from 'commander';
import { pino } from 'pino';
import {
  driverFactory,
  Gateway,
  GatewayConfigError,
  GatewayMetrics,
  loadConfigFile,
  serveMetrics,
} from '../../gateway/index.ts';
import { UsageError } from './errors.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function registerGatewayCommand(program: Command): void {
  program
    .command('gateway')
    .description('bridge Modbus TCP and DLMS/COSEM meters to Rasid over MQTT (see docs/gateway.md)')
    .requiredOption('--config <file>', 'JSON configuration: broker, gateway id, utility and meters')
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, 'info')
    .action(async (opts: { config: string; logLevel: string }) => {
      if (!(LOG_LEVELS as readonly string[]).includes(opts.logLevel)) {
        throw new UsageError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got '${opts.logLevel}'`);
      }
      let config: Awaited<ReturnType<typeof loadConfigFile>>;
      try {
        config = await loadConfigFile(opts.config, process.env);
      } catch (err) {
        if (err instanceof GatewayConfigError) throw new UsageError(`--config: ${err.message}`);
        throw err; // a ZodError names the field; the CLI prints it as a usage error
      }
      const logger = pino({ level: opts.logLevel }, pino.destination(2));
      const metrics = new GatewayMetrics();
      const gateway = new Gateway({ config, createDriver: driverFactory(), logger, metrics });
      const endpoint =
        config.metrics === undefined
          ? undefined
          : await serveMetrics(metrics, config.metrics.host, config.metrics.port);
      logger.info(
        { gateway: config.gatewayId, meters: config.meters.length, metricsPort: endpoint?.port },
        'gateway starting',
      );
      const stopped = new Promise<void>((resolve) => {
        const stop = (): void => {
          logger.info({ gateway: config.gatewayId }, 'gateway stopping');
          void gateway
            .stop()
            .then(
              () => new Promise<void>((done) => (endpoint ? endpoint.server.close(() => done()) : done())),
            )
            .then(resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await Promise.race([
        gateway
          .start()
          .then(() => logger.info({ gateway: config.gatewayId }, 'gateway connected to the broker')),
        stopped,
      ]);
      await stopped;
    });
}
