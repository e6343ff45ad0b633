/**
 * The gateway's Prometheus metrics, on a registry of its own (so that several gateways, or tests, in one
 * process do not share counters). Every series carries the meter id as the `meter` label.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class GatewayMetrics {
  readonly registry = new Registry();
  /** Polls that gave a reading. */
  readonly pollSuccess = new Counter({
    name: 'rasid_gateway_poll_success_total',
    help: 'Polls of a meter that gave a reading',
    labelNames: ['meter'] as const,
    registers: [this.registry],
  });
  /** Polls that failed, by the driver error code (timeout, connection, refused, protocol...). */
  readonly pollFailure = new Counter({
    name: 'rasid_gateway_poll_failure_total',
    help: 'Polls of a meter that failed, by reason',
    labelNames: ['meter', 'reason'] as const,
    registers: [this.registry],
  });
  /** Time from taking a concurrency slot to the end of the poll. */
  readonly pollDuration = new Histogram({
    name: 'rasid_gateway_poll_duration_seconds',
    help: 'Duration of one poll of a meter (connect if needed, then read)',
    labelNames: ['meter', 'outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  /** 1 while the meter answers, 0 after a connection failure or timeout. */
  readonly meterUp = new Gauge({
    name: 'rasid_gateway_meter_up',
    help: '1 while the meter answers, 0 while it does not',
    labelNames: ['meter'] as const,
    registers: [this.registry],
  });
  /** Commands handled, by kind and acknowledgement status (`ok`, an error code, or `duplicate`). */
  readonly commands = new Counter({
    name: 'rasid_gateway_commands_total',
    help: 'Commands received for a meter, by kind and outcome',
    labelNames: ['meter', 'kind', 'outcome'] as const,
    registers: [this.registry],
  });
  /** Readings read back from meters' load profiles after a gap. */
  readonly backfilled = new Counter({
    name: 'rasid_gateway_backfilled_readings_total',
    help: 'Missed intervals read back from a meter load profile and published as readings',
    labelNames: ['meter'] as const,
    registers: [this.registry],
  });
  /** Messages on a command topic that were not a valid command. */
  readonly badCommands = new Counter({
    name: 'rasid_gateway_bad_commands_total',
    help: 'Messages on a command topic that the contract refuses, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
}

/** Serves `GET /metrics` from `metrics` on host:port (0 picks a free port); resolves with the bound port. */
export async function serveMetrics(
  metrics: GatewayMetrics,
  host: string,
  port: number,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
