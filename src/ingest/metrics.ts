/** Prometheus metrics of the ingest (prom-client), registered on the registry the host passes. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type IngestKind = 'reading' | 'event' | 'status';

export class IngestMetrics {
  /** Readings committed (rate() of it is readings per second). */
  readonly readings: Counter;
  /** Rows committed, by kind. */
  readonly committed: Counter<'kind'>;
  /** Rows a batch carried that were already stored (repeated or retried messages). */
  readonly duplicates: Counter<'kind'>;
  readonly refused: Counter<'reason'>;
  readonly batchRows: Histogram<'kind'>;
  readonly commitSeconds: Histogram<'kind'>;
  readonly writeErrors: Counter<'kind'>;
  /** From the PUBLISH reaching the hook to its release (the PUBACK goes out right after). */
  readonly pubackSeconds: Histogram<'kind'>;
  readonly pending: Gauge<'kind'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.readings = new Counter({
      name: 'rasid_ingest_readings_total',
      help: 'Readings committed to the store',
      registers,
    });
    this.committed = new Counter({
      name: 'rasid_ingest_rows_total',
      help: 'Rows committed to the store by kind (reading, event, status)',
      labelNames: ['kind'],
      registers,
    });
    this.duplicates = new Counter({
      name: 'rasid_ingest_duplicates_total',
      help: 'Rows already stored (a repeated or retried message), skipped',
      labelNames: ['kind'],
      registers,
    });
    this.refused = new Counter({
      name: 'rasid_ingest_refused_total',
      help: 'Messages refused by reason (bad_topic, too_large, bad_json, bad_schema, unknown_meter)',
      labelNames: ['reason'],
      registers,
    });
    this.batchRows = new Histogram({
      name: 'rasid_ingest_batch_rows',
      help: 'Rows per committed batch',
      labelNames: ['kind'],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
      registers,
    });
    this.commitSeconds = new Histogram({
      name: 'rasid_ingest_commit_seconds',
      help: 'Time to write and commit one batch',
      labelNames: ['kind'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers,
    });
    this.writeErrors = new Counter({
      name: 'rasid_ingest_write_errors_total',
      help: 'Failed batch writes (each is retried; nothing is acknowledged meanwhile)',
      labelNames: ['kind'],
      registers,
    });
    this.pubackSeconds = new Histogram({
      name: 'rasid_ingest_puback_seconds',
      help: 'Time from a PUBLISH reaching the ingest to the release of its PUBACK',
      labelNames: ['kind'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.pending = new Gauge({
      name: 'rasid_ingest_pending',
      help: 'Messages waiting for their batch to commit',
      labelNames: ['kind'],
      registers,
    });
  }
}
