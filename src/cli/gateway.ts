/**
 * `rasid gateway`: runs Rasid's protocol gateway, which reads Modbus TCP and DLMS/COSEM meters and speaks
 * for them on the broker (docs/gateway.md). Its meters come from a configuration file (`--config`) or
 * from Rasid (`--rasid-url` with the gateway's API key), fetched at start and again every `--refresh`
 * seconds. Runs until SIGINT or SIGTERM, then tells the broker its meters and itself are offline and exits.
 */
import type { Command } from 'commander';
import { pino } from 'pino';
import {
  driverFactory,
  fetchMeterList,
  Gateway,
  type GatewayConfig,
  GatewayConfigError,
  GatewayMetrics,
  type LocalSettings,
  loadConfigFile,
  MeterListError,
  MeterListRefresher,
  type RemoteSource,
  remoteConfig,
  serveMetrics,
} from '../../gateway/index.ts';
import { UsageError } from './errors.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

interface GatewayFlags {
  readonly config?: string;
  readonly rasidUrl?: string;
  readonly gatewayKey?: string;
  readonly broker?: string;
  readonly brokerUsername?: string;
  readonly brokerPassword?: string;
  readonly refresh: string;
  readonly metricsHost: string;
  readonly metricsPort?: string;
  readonly logLevel: string;
}

export function registerGatewayCommand(program: Command): void {
  program
    .command('gateway')
    .description('bridge Modbus TCP and DLMS/COSEM meters to Rasid over MQTT (see docs/gateway.md)')
    .option('--config <file>', 'JSON configuration: broker, gateway id, utility and meters')
    .option('--rasid-url <url>', "instead of --config: fetch this gateway's meters from Rasid at <url>")
    .option('--gateway-key <key>', "with --rasid-url: the gateway's API key (or RASID_GATEWAY_KEY)")
    .option('--broker <url>', 'with --rasid-url: broker URL, when Rasid gives none or another one')
    .option('--broker-username <name>', 'with --rasid-url: broker username (default: the gateway id)')
    .option(
      '--broker-password <secret>',
      "with --rasid-url: broker password (or RASID_GATEWAY_BROKER_PASSWORD; default: the gateway key, which Rasid's broker accepts)",
    )
    .option('--refresh <s>', 'with --rasid-url: seconds between two fetches of the meter list', '300')
    .option('--metrics-host <ip>', 'with --rasid-url: address of GET /metrics', '127.0.0.1')
    .option('--metrics-port <n>', 'with --rasid-url: serve GET /metrics on this port (0 picks one)')
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, 'info')
    .action(async (opts: GatewayFlags) => {
      if (!(LOG_LEVELS as readonly string[]).includes(opts.logLevel)) {
        throw new UsageError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got '${opts.logLevel}'`);
      }
      const logger = pino({ level: opts.logLevel }, pino.destination(2));
      const { config, refresher } = await configure(opts, logger);
      const metrics = new GatewayMetrics();
      const gateway = new Gateway({ config, createDriver: driverFactory(), logger, metrics });
      const list = refresher?.(gateway);
      const endpoint =
        config.metrics === undefined
          ? undefined
          : await serveMetrics(metrics, config.metrics.host, config.metrics.port);
      logger.info(
        {
          gateway: config.gatewayId,
          meters: config.meters.length,
          metricsPort: endpoint?.port,
          source: opts.rasidUrl === undefined ? 'file' : 'rasid',
        },
        'gateway starting',
      );
      const stopped = new Promise<void>((resolve) => {
        const stop = (): void => {
          logger.info({ gateway: config.gatewayId }, 'gateway stopping');
          void (list?.stop() ?? Promise.resolve())
            .then(() => gateway.stop())
            .then(
              () => new Promise<void>((done) => (endpoint ? endpoint.server.close(() => done()) : done())),
            )
            .then(resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await Promise.race([
        gateway.start().then(() => {
          logger.info({ gateway: config.gatewayId }, 'gateway connected to the broker');
          list?.start();
        }),
        stopped,
      ]);
      await stopped;
    });
}

/** The first configuration, and for a gateway whose meters come from Rasid, what keeps them current. */
async function configure(
  opts: GatewayFlags,
  logger: pino.Logger,
): Promise<{ config: GatewayConfig; refresher?: (gateway: Gateway) => MeterListRefresher }> {
  if (opts.config !== undefined && opts.rasidUrl !== undefined) {
    throw new UsageError('--config and --rasid-url: give one of them, not both');
  }
  if (opts.config !== undefined) {
    for (const flag of ['gatewayKey', 'broker', 'brokerUsername', 'brokerPassword', 'metricsPort'] as const) {
      if (opts[flag] !== undefined) {
        throw new UsageError(
          `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: only with --rasid-url`,
        );
      }
    }
    try {
      return { config: await loadConfigFile(opts.config, process.env) };
    } catch (err) {
      if (err instanceof GatewayConfigError) throw new UsageError(`--config: ${err.message}`);
      throw err; // a ZodError names the field; the CLI prints it as a usage error
    }
  }
  if (opts.rasidUrl === undefined)
    throw new UsageError('--config or --rasid-url: give where the meters come from');
  let url: URL;
  try {
    url = new URL(opts.rasidUrl);
  } catch {
    throw new UsageError(`--rasid-url: '${opts.rasidUrl}' is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--rasid-url: expected http:// or https://, got '${opts.rasidUrl}'`);
  }
  const apiKey = opts.gatewayKey ?? process.env.RASID_GATEWAY_KEY;
  if (apiKey === undefined || apiKey === '') {
    throw new UsageError('--gateway-key: required with --rasid-url (or set RASID_GATEWAY_KEY)');
  }
  const refreshS = Number(opts.refresh);
  if (!Number.isFinite(refreshS) || refreshS < 1 || refreshS > 86_400) {
    throw new UsageError(`--refresh: expected seconds from 1 to 86400, got '${opts.refresh}'`);
  }
  const metricsPort = opts.metricsPort === undefined ? undefined : Number(opts.metricsPort);
  if (
    metricsPort !== undefined &&
    (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)
  ) {
    throw new UsageError(`--metrics-port: expected a port number, got '${opts.metricsPort}'`);
  }
  // Rasid's embedded broker knows a gateway by its code and API key: the key is the default password.
  const password = opts.brokerPassword ?? process.env.RASID_GATEWAY_BROKER_PASSWORD ?? apiKey;
  const local: LocalSettings = {
    ...(opts.broker !== undefined ? { brokerUrl: opts.broker } : {}),
    ...(opts.brokerUsername !== undefined ? { brokerUsername: opts.brokerUsername } : {}),
    ...(password !== undefined && password !== '' ? { brokerPassword: password } : {}),
    ...(metricsPort !== undefined ? { metrics: { host: opts.metricsHost, port: metricsPort } } : {}),
  };
  const source: RemoteSource = { rasidUrl: url.href, apiKey };
  let first: ReturnType<typeof remoteConfig>;
  try {
    first = remoteConfig(await fetchMeterList(source), local);
  } catch (err) {
    if (err instanceof MeterListError && err.refused) throw new UsageError(`--gateway-key: ${err.message}`);
    if (err instanceof GatewayConfigError) throw new UsageError(err.message);
    throw err;
  }
  for (const s of first.skipped) logger.warn({ meter: s.id, reason: s.reason }, 'meter from Rasid left out');
  return {
    config: first.config,
    refresher: (gateway) =>
      new MeterListRefresher({
        source,
        local,
        intervalMs: refreshS * 1000,
        logger,
        onList: async ({ config }) => {
          await gateway.setMeters(config.meters);
        },
      }),
  };
}
