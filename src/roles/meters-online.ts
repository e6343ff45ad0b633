/**
 * The meters-online roles of one Rasid process (docs/design.md "Broker", "Balance engine"), built over an
 * opened {@link Core}:
 *
 * - **broker** — the embedded aedes broker on MQTT_PORT (and TLS / WebSocket when configured), meters'
 *   credentials from the store, the ingest as its publish interceptor (PUBACK after the commit).
 * - **workers** — the command dispatcher (over an MQTT client of Rasid's own service identity), the balance
 *   engine on a timer, the notification outbox. With MQTT_URL the broker is external: the workers and the
 *   ingest connect to it and share the load through shared subscriptions, and the ingest acknowledges each
 *   message to the broker only after its row is committed (docs/deploy.md).
 *
 * Each timer runs one pass at a time and logs a failed pass; nothing here throws into the event loop.
 */

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry, Summary } from 'prom-client';
import { ingestFilters } from '../../protocols/mqtt/index.ts';
import { BalanceEngine, type RunReport } from '../balance/engine.ts';
import {
  ChainedCredentialStore,
  createBroker,
  MemoryCredentialStore,
  type RasidBroker,
  StoreCredentialStore,
  StoreGatewayCredentialStore,
} from '../broker/index.ts';
import { CommandDispatcher } from '../commands/dispatcher.ts';
import { attachCommandMqtt } from '../commands/mqtt.ts';
import { MqttCommandTransport } from '../commands/transport.ts';
import type { Config } from '../config.ts';
import { sweepDeceased } from '../deceased/service.ts';
import {
  createIngest,
  type Ingest,
  kyselyExecutor,
  PgReadingWriter,
  SqlEventWriter,
  SqlReadingWriter,
  SqlStatusWriter,
  storeMeterResolver,
} from '../ingest/index.ts';
import { checkAllLosses } from '../losses/districts.ts';
import { OutboxWorker } from '../notify/outbox.ts';
import { openChannels } from '../notify/registry.ts';
import type { SmppSmsProvider } from '../notify/smpp.ts';
import { hashSecret, MeterSecretKey } from '../security/secrets.ts';
import { atPriority } from '../store/gate.ts';
import type { MeterId } from '../store/schema.ts';
import { runOverdueTimescaleJobs } from '../store/timescale-jobs.ts';
import { SettingsCache, thresholdsOf } from '../utilities/settings.ts';
import type { Core } from './core.ts';

export interface MetersOnline {
  /** The embedded broker, or null with an external one (MQTT_URL) or without the broker role. */
  readonly broker: RasidBroker | null;
  /** What meters are told to connect to (commissioning answers), or null when no broker is known. */
  readonly brokerUrl: string | null;
  readonly ingest: Ingest | null;
  readonly dispatcher: CommandDispatcher | null;
  readonly engine: BalanceEngine | null;
  /** The SMPP link when SMS go over SMPP (SMS_PROVIDER=smpp) on this node's workers, else null. */
  readonly smpp: SmppSmsProvider | null;
  /**
   * One reconciliation sweep of the balance engine now (also run by the timer), over the given meters only
   * when named, with the utilities' current settings.
   */
  runBalance(filter?: { meterIds?: readonly MeterId[] }): Promise<RunReport | null>;
  close(): Promise<void>;
}

/** Runs `pass` every `ms`, one at a time, never throwing; `stop` waits for a pass in progress. */
function every(ms: number, pass: () => Promise<unknown>, onError: (err: unknown) => void) {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running !== undefined) return;
    // Passes nobody waits for: behind the meters and the people at the embedded store's gate.
    running = atPriority('background', pass)
      .catch(onError)
      .finally(() => {
        running = undefined;
      });
  }, ms);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

function connect(url: string, options: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 1000, connectTimeout: 10_000, ...options });
    const fail = (err: Error) => {
      client.end(true);
      reject(err);
    };
    client.once('error', fail);
    client.once('connect', () => {
      client.off('error', fail);
      resolve(client);
    });
  });
}

/** A gauge of a table's rows by `state`, counted when Prometheus scrapes. */
function stateGauge(
  registry: Registry,
  core: Core,
  table: 'commands' | 'notifications_outbox',
  name: string,
  help: string,
): void {
  new Gauge({
    name,
    help,
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const rows = await core.store.db
        .selectFrom(table)
        .select(['state', (eb) => eb.fn.countAll<string>().as('n')])
        .groupBy('state')
        .execute();
      this.reset();
      for (const row of rows) this.set({ state: row.state }, Number(row.n));
    },
  });
}

/** The SMPP link for Prometheus: bound or not, and its counts since start, read when scraped. */
function smppMetrics(registry: Registry, smpp: SmppSmsProvider): void {
  new Gauge({
    name: 'rasid_smpp_bound',
    help: 'Whether the SMPP link to the SMSC is bound (1) or not (0)',
    registers: [registry],
    collect() {
      this.set(smpp.bound ? 1 : 0);
    },
  });
  new Gauge({
    name: 'rasid_smpp_events',
    help: 'SMPP link events since start: binds, parts submitted, throttling answers, delivery receipts',
    labelNames: ['event'],
    registers: [registry],
    collect() {
      for (const [event, n] of Object.entries(smpp.stats)) this.set({ event }, n);
    },
  });
}

class WorkerMetrics {
  readonly decisions: Counter<'decision'>;
  readonly charged: Counter;
  readonly runs: Counter<'result'>;
  readonly evaluations: Counter;
  readonly latency: Summary<'kind'>;

  constructor(registry: Registry, core: Core) {
    this.decisions = new Counter({
      name: 'rasid_balance_decisions_total',
      help: 'Balance-engine decisions written, by kind (low-credit alerts, disconnects, reconnects, deferrals)',
      labelNames: ['decision'],
      registers: [registry],
    });
    this.charged = new Counter({
      name: 'rasid_balance_charged_minor_total',
      help: 'Consumption charged to accounts by the balance engine, in minor units (all currencies summed)',
      registers: [registry],
    });
    this.runs = new Counter({
      name: 'rasid_balance_runs_total',
      help: 'Balance-engine passes by result',
      labelNames: ['result'],
      registers: [registry],
    });
    this.evaluations = new Counter({
      name: 'rasid_balance_evaluations_total',
      help: 'Meters evaluated by the balance engine (a meter is evaluated when one of its inputs changed)',
      registers: [registry],
    });
    this.latency = new Summary({
      name: 'rasid_balance_decision_latency_seconds',
      help: 'From the commit of the change that triggered an evaluation to the relay command it queued',
      labelNames: ['kind'],
      percentiles: [0.5, 0.9, 0.99],
      registers: [registry],
    });
    stateGauge(
      registry,
      core,
      'commands',
      'rasid_commands',
      'Meter commands by state (queued, sent, acknowledged, failed, expired, unknown)',
    );
    stateGauge(
      registry,
      core,
      'notifications_outbox',
      'rasid_notifications',
      'Notifications in the outbox by state',
    );
  }

  record(report: RunReport): void {
    this.runs.inc({ result: 'ok' });
    this.evaluations.inc(report.meters.length);
    if (report.chargedMinor > 0n) this.charged.inc(Number(report.chargedMinor));
    for (const meter of report.meters) {
      if (!meter.ok) this.runs.inc({ result: 'meter_failed' });
      for (const d of meter.decisions) this.decisions.inc({ decision: d.kind });
    }
  }
}

export interface MetersOnlineOptions {
  readonly core: Core;
  readonly config: Config;
  readonly log: Logger;
  readonly registry: Registry;
  readonly now?: () => Date;
}

export async function startMetersOnline(opts: MetersOnlineOptions): Promise<MetersOnline> {
  const { core, config, log, registry } = opts;
  const db = core.store.db;
  const roles = config.roles;
  const external = config.mqtt.url;
  const node = config.mqtt.clientId ?? `rasid-${hostname()}`;
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const closer of closers.reverse()) {
      await closer().catch((err: unknown) => log.warn({ err }, 'meters-online shutdown step failed'));
    }
  };

  const resolveMeter = storeMeterResolver(db);
  // The balance engine, once the workers made it, hears of every commit of readings.
  let balance: BalanceEngine | null = null;
  const makeIngest = () =>
    createIngest({
      readings:
        core.store.pool !== undefined
          ? new PgReadingWriter({ pool: core.store.pool, method: 'unnest' })
          : new SqlReadingWriter(kyselyExecutor(db, { priority: 'first' })),
      // The meters first at the embedded store's gate: their commits never wait behind the engine or a sale.
      events: new SqlEventWriter(kyselyExecutor(db, { priority: 'first' })),
      status: new SqlStatusWriter(kyselyExecutor(db, { priority: 'first' })),
      resolveMeter,
      registry,
      logger: log.child({ role: 'ingest' }),
      onReadingsCommitted: (meterIds) => balance?.readingsCommitted(meterIds),
    });

  let broker: RasidBroker | null = null;
  let ingest: Ingest | null = null;
  let brokerUrl: string | null = config.mqtt.publicUrl ?? external ?? null;
  // Rasid's own workers authenticate on the embedded broker with a secret made at start.
  const service = new MemoryCredentialStore();
  const serviceUser = `rasid-service-${randomBytes(6).toString('hex')}`;
  const servicePassword = randomBytes(24).toString('base64url');

  try {
    if (roles.has('broker') && external === undefined) {
      service.set(serviceUser, {
        secretHash: await hashSecret(servicePassword),
        identity: { role: 'service', name: 'rasid-workers' },
      });
      ingest = makeIngest();
      const { tlsPort, tlsCert, tlsKey, wsPort } = config.mqtt;
      let port = config.mqtt.port;
      if (port !== 0 && config.nodeEnv !== 'production' && !(await portFree(config.mqtt.host, port))) {
        // Development on a machine where another broker holds the port: take a free one and say so.
        // In production a taken port stops the start (meters must find the broker where they expect it).
        log.warn(
          { port },
          'MQTT_PORT is in use: the embedded broker takes a free port instead (set MQTT_PORT)',
        );
        port = 0;
      }
      broker = await createBroker({
        credentials: new ChainedCredentialStore(
          service,
          new StoreCredentialStore(db),
          new StoreGatewayCredentialStore(db),
        ),
        tcp: { host: config.mqtt.host, port },
        ...(tlsPort !== undefined && tlsCert && tlsKey
          ? { tls: { host: config.mqtt.host, port: tlsPort, certPath: tlsCert, keyPath: tlsKey } }
          : {}),
        ...(wsPort !== undefined ? { ws: { host: config.mqtt.host, port: wsPort } } : {}),
        interceptor: ingest,
        meterSecretKey: new MeterSecretKey(core.keys.meterSecretKey()),
        registry,
        logger: log.child({ role: 'broker' }),
        id: node,
        limits: config.mqtt.limits,
      });
      const brokerRef = broker;
      closers.push(() => brokerRef.close());
      const tcp = broker.addresses.tcp;
      brokerUrl ??= tcp ? `mqtt://${config.mqtt.host}:${tcp.port}` : null;
      log.info(
        { mqtt: brokerUrl, tls: broker.addresses.tls?.port, ws: broker.addresses.ws?.port },
        'broker ready',
      );
    }

    let dispatcher: CommandDispatcher | null = null;
    let engine: BalanceEngine | null = null;
    let smpp: SmppSmsProvider | null = null;
    let settings: SettingsCache | null = null;
    let metrics: WorkerMetrics | null = null;
    if (roles.has('workers')) {
      // The workers reach the embedded broker where it listens (loopback when it listens everywhere).
      const local = ['0.0.0.0', '::'].includes(config.mqtt.host) ? '127.0.0.1' : config.mqtt.host;
      const workerUrl =
        external ?? (broker?.addresses.tcp ? `mqtt://${local}:${broker.addresses.tcp.port}` : null);
      if (workerUrl === null) {
        throw new Error('the workers role needs the broker role in the same process or MQTT_URL');
      }
      const auth: IClientOptions =
        external !== undefined
          ? {
              ...(config.mqtt.username ? { username: config.mqtt.username } : {}),
              ...(config.mqtt.password ? { password: config.mqtt.password } : {}),
            }
          : { username: serviceUser, password: servicePassword };
      const workerLog = log.child({ role: 'workers' });

      if (external !== undefined) {
        ingest = makeIngest();
        const ingestRef = ingest;
        closers.push(async () => {
          await ingestRef.drain();
          ingestRef.close();
        });
        for (let i = 0; i < config.mqtt.ingestClients; i++) {
          const client = await connectIngestClient(
            ingestRef,
            workerUrl,
            {
              ...auth,
              clientId: `${node}-ingest-${i}`,
              properties: { sessionExpiryInterval: config.mqtt.sessionExpirySeconds },
            },
            `${config.mqtt.shareGroup}-ingest`,
          );
          closers.push(() => client.endAsync());
        }
      }

      const client = await connect(workerUrl, {
        ...auth,
        clientId: `${node}-commands-${randomBytes(4).toString('hex')}`,
        clean: true,
      });
      closers.push(() => client.endAsync());
      dispatcher = new CommandDispatcher({
        db,
        transport: new MqttCommandTransport({ client }),
        logger: workerLog,
        ...(opts.now ? { now: opts.now } : {}),
      });
      const detach = await attachCommandMqtt({
        client,
        dispatcher,
        resolveMeter: async (utility, serial) => {
          const ref = await resolveMeter(utility, serial);
          return ref === null ? null : (ref.meterId as MeterId);
        },
        // aedes has no shared subscriptions; an external cluster shares the acks between Rasid's nodes.
        shared: external !== undefined,
        group: `${config.mqtt.shareGroup}-commands`,
        logger: workerLog,
      });
      closers.push(detach);
      const dispatcherRef = dispatcher;
      closers.push(
        every(
          config.dispatchIntervalMs,
          () => dispatcherRef.dispatchDue(),
          (err) => workerLog.warn({ err }, 'command dispatch pass failed'),
        ),
      );

      const hook = config.webhook;
      // The utilities' thresholds (emergency credit, low credit), re-read before every pass.
      const settingsCache = new SettingsCache(db);
      settings = settingsCache;
      metrics = new WorkerMetrics(registry, core);
      const metricsRef = metrics;
      engine = new BalanceEngine({
        db,
        commands: dispatcher,
        thresholds: (utility) => thresholdsOf(settingsCache.peek(utility.id)),
        ...(hook.url ? { webhookUrl: () => hook.url ?? null } : {}),
        logger: workerLog,
        ...(opts.now ? { now: opts.now } : {}),
        onDecisionLatency: (kind, seconds) => metricsRef.latency.observe({ kind }, seconds),
      });
      const engineRef = engine;
      balance = engine;
      new Gauge({
        name: 'rasid_balance_pending_meters',
        help: 'Meters whose inputs changed and that wait for the balance engine (its backlog)',
        registers: [registry],
        collect() {
          this.set(engineRef.pending);
        },
      });
      dispatcher.onFinal((command) => engineRef.commandSettled(command.meterId));
      // The engine reads thresholds without I/O: load every utility's settings first, then keep them fresh.
      await settingsCache.prime();
      closers.push(
        every(
          5_000,
          () => settingsCache.prime(),
          (err) => workerLog.warn({ err }, 'utility settings refresh failed'),
        ),
      );
      engine.start({
        tickMs: config.balanceTickMs,
        onReport: (report) => metricsRef.record(report),
        onError: (err) => {
          metricsRef.runs.inc({ result: 'failed' });
          workerLog.warn({ err }, 'balance pass failed');
        },
      });
      closers.push(() => engineRef.stop());
      closers.push(
        every(
          config.balanceIntervalMs,
          async () => {
            await settingsCache.prime();
            metricsRef.record(await engineRef.run());
          },
          (err) => {
            metricsRef.runs.inc({ result: 'failed' });
            workerLog.warn({ err }, 'balance sweep failed');
          },
        ),
      );

      // Every configured channel, from the one list in notify/registry.ts.
      const opened = await openChannels({ config, db, keys: core.keys, logger: log });
      closers.push(() => opened.close());
      smpp = opened.smpp;
      if (smpp !== null) smppMetrics(registry, smpp);
      const channels = opened.channels;
      if (core.store.timescale && config.timescaleJobsIntervalMs > 0) {
        // TimescaleDB's scheduler may fail Rasid's policies unseen (docs/store.md): run the overdue ones here.
        closers.push(
          every(
            config.timescaleJobsIntervalMs,
            async () => {
              const { ran, failed } = await runOverdueTimescaleJobs(db);
              if (ran.length > 0)
                workerLog.info({ jobs: ran.map((j) => j.jobId) }, 'ran overdue TimescaleDB jobs');
              for (const f of failed)
                workerLog.warn({ job: f.job.jobId, err: f.error }, 'TimescaleDB job failed');
            },
            (err) => workerLog.warn({ err }, 'TimescaleDB job pass failed'),
          ),
        );
      }
      // Deceased holders' held subsidies: grace ends and stalled outreach, on the clock (src/deceased/).
      const clock = opts.now ?? (() => new Date());
      closers.push(
        every(
          config.deceasedIntervalMs,
          async () => {
            const r = await sweepDeceased(db, clock());
            if (r.ended + r.reminded + r.reconciled > 0) workerLog.info(r, 'deceased holders pass');
          },
          (err) => workerLog.warn({ err }, 'deceased holders pass failed'),
        ),
      );
      if (config.lossCheckIntervalMs > 0) {
        // Yesterday's loss of every district: a complete day over the threshold raises an alert once.
        closers.push(
          every(
            config.lossCheckIntervalMs,
            async () => {
              const alerts = await checkAllLosses(db);
              if (alerts.length > 0) workerLog.info({ alerts }, 'district losses over the threshold');
            },
            (err) => workerLog.warn({ err }, 'loss check failed'),
          ),
        );
      }
      const outbox = new OutboxWorker({ db, channels, logger: workerLog });
      outbox.start(config.outboxIntervalMs);
      closers.push(() => outbox.stop());
    }

    const engineRef = engine;
    const metricsRef = metrics;
    const settingsRef = settings;
    return {
      broker,
      brokerUrl,
      ingest,
      dispatcher,
      engine,
      smpp,
      async runBalance(filter = {}) {
        if (engineRef === null) return null;
        await settingsRef?.prime();
        const report = await engineRef.run(filter);
        metricsRef?.record(report);
        return report;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Whether `host:port` can be listened on now. */
function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

/**
 * One ingest connection to an external broker: MQTT 5 with a persistent session, subscribed to the meters'
 * durable channels through the shared group, and each QoS 1 message acknowledged to the broker only when
 * the ingest has committed it (or refused it for good). An unacknowledged message stays with the broker and
 * comes again after a reconnect, so a crash of this process loses nothing.
 */
async function connectIngestClient(
  ingest: Ingest,
  url: string,
  options: IClientOptions,
  group: string,
): Promise<MqttClient> {
  let self: MqttClient | undefined;
  const client = await connect(url, {
    ...options,
    protocolVersion: 5,
    clean: false,
    customHandleAcks(_topic, _message, packet, done) {
      ingest.intercept(null, packet as never, (error) => {
        if (error === null) {
          done(0);
          return;
        }
        // Not durable (the store could not answer): no PUBACK at all — a negative one would end the
        // message. Dropping the connection makes the broker send it again in the resumed session.
        self?.stream.destroy();
      });
    },
  });
  self = client;
  await client.subscribeAsync([...ingestFilters('+', group)], { qos: 1 });
  return client;
}
