/**
 * The durable ingest: plugged into the broker's `authorizePublish` as its {@link PublishInterceptor}.
 *
 * For `up/reading`, `up/event` and `up/status` (and the last will, which is a status) it validates the
 * message against the MQTT contract, parks the hook's callback in a {@link Batcher} and releases it only
 * after the batch holding the row is committed; aedes sends the PUBACK when the callback returns, so a
 * PUBACK means "stored". An invalid message is refused: counted by reason, logged with the meter id,
 * acknowledged (so the meter does not resend it forever) and not forwarded. Nothing here throws into
 * aedes, and one meter's bad messages never wait on or delay another's.
 */
import type { PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { DECODE_FAILURE_REASONS, decodeMessage, parseTopic } from '../../protocols/mqtt/index.ts';
import type { PublishInterceptor, PublishVerdict } from '../broker/broker.ts';
import type { Principal } from '../broker/credentials.ts';
import { Batcher } from './batcher.ts';
import { type IngestKind, IngestMetrics } from './metrics.ts';
import {
  type EventRow,
  type MeterRef,
  type ReadingRow,
  type StatusRow,
  toEventRow,
  toReadingRow,
  toStatusRow,
} from './rows.ts';
import {
  type BatchWriter,
  type EventWriter,
  MemoryEventWriter,
  MemoryStatusWriter,
  type ReadingWriter,
  type StatusWriter,
} from './writer.ts';

/** Every reason a message can be refused for; the `reason` label of `rasid_ingest_refused_total`. */
export const INGEST_REFUSAL_REASONS = [...DECODE_FAILURE_REASONS, 'unknown_meter'] as const;
export type IngestRefusalReason = (typeof INGEST_REFUSAL_REASONS)[number];

/**
 * Maps a meter as named in its topic (utility code, meter id = serial) to the store's keys, or null for a
 * meter the store does not know. {@link storeMeterResolver} answers it from the `meters` table.
 */
export type ResolveMeter = (utility: string, meterId: string) => MeterRef | null | Promise<MeterRef | null>;

export interface BatchOptions {
  /** Most rows per batch (default 2000). */
  maxRows?: number;
  /** Longest a row waits for others to join its batch, ms (default 5). */
  maxDelayMs?: number;
  /** First retry delay after a failed write, ms (default 25), doubling up to `retryMaxMs` (default 2000). */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

export interface IngestOptions {
  readings: ReadingWriter;
  /** Meter events; kept in memory when omitted (until the store's `meter_events` writer is wired). */
  events?: EventWriter;
  /** Online flag and last-seen time; kept in memory when omitted. */
  status?: StatusWriter;
  resolveMeter: ResolveMeter;
  batch?: BatchOptions;
  registry?: Registry;
  logger?: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** Wall clock, ms since the epoch (last-seen times). */
  now?: () => number;
  /** Told, after each commit, which meters' readings it held (the balance engine evaluates them). */
  onReadingsCommitted?: (meterIds: Set<string>) => void;
}

export interface Ingest extends PublishInterceptor {
  readonly metrics: IngestMetrics;
  readonly registry: Registry;
  /** Messages parked, waiting for their batch to commit. */
  readonly pending: number;
  /** Commits everything queued now (retrying while the database is down). */
  drain(): Promise<void>;
  /** Stops accepting; queued messages are released unacknowledged (their meters resend them). */
  close(): void;
}

type Done = (error: Error | null, verdict: PublishVerdict) => void;

export function createIngest(opts: IngestOptions): Ingest {
  const registry = opts.registry ?? new Registry();
  const metrics = new IngestMetrics(registry);
  const logger = opts.logger;
  const now = opts.now ?? Date.now;
  const resolveMeter = opts.resolveMeter;

  function batcherFor<Row>(kind: IngestKind, writer: BatchWriter<Row>): Batcher<Row> {
    return new Batcher<Row>({
      ...opts.batch,
      maxItems: opts.batch?.maxRows ?? 2000,
      async write(rows) {
        const result = await writer.write(rows);
        metrics.committed.inc({ kind }, rows.length);
        if (kind === 'reading') {
          metrics.readings.inc(rows.length);
          if (opts.onReadingsCommitted !== undefined) {
            opts.onReadingsCommitted(new Set((rows as unknown as ReadingRow[]).map((r) => r.meterId)));
          }
        }
        const skipped = rows.length - result.inserted;
        if (skipped > 0) metrics.duplicates.inc({ kind }, skipped);
      },
      onCommit(size, seconds) {
        metrics.batchRows.observe({ kind }, size);
        metrics.commitSeconds.observe({ kind }, seconds);
      },
      onError(err, attempt, size) {
        metrics.writeErrors.inc({ kind });
        logger?.error(
          { kind, attempt, size, err },
          'ingest batch write failed; retrying, acknowledgements held',
        );
      },
    });
  }

  const readings = batcherFor<ReadingRow>('reading', opts.readings);
  const events = batcherFor<EventRow>('event', opts.events ?? new MemoryEventWriter());
  const statuses = batcherFor<StatusRow>('status', opts.status ?? new MemoryStatusWriter());

  function refuse(
    reason: IngestRefusalReason,
    topic: string,
    meterId: string | null,
    detail: string,
    done: Done,
  ) {
    metrics.refused.inc({ reason });
    logger?.warn({ meterId, topic, reason, detail }, 'mqtt message refused');
    done(null, 'drop');
  }

  function park<Row>(kind: IngestKind, batcher: Batcher<Row>, row: Row, done: Done): void {
    const started = performance.now();
    metrics.pending.inc({ kind });
    batcher.add(row, (err) => {
      metrics.pending.dec({ kind });
      if (err === null) metrics.pubackSeconds.observe({ kind }, (performance.now() - started) / 1000);
      done(err, 'forward');
    });
  }

  function accept(payload: Buffer, topic: string, meterId: string, key: MeterRef, done: Done) {
    const decoded = decodeMessage(topic, payload);
    if (!decoded.ok) {
      refuse(decoded.reason, topic, meterId, decoded.detail, done);
      return;
    }
    switch (decoded.channel) {
      case 'up/reading':
        park('reading', readings, toReadingRow(key, decoded.message), done);
        return;
      case 'up/event':
        park('event', events, toEventRow(key, decoded.message), done);
        return;
      case 'up/status':
        park('status', statuses, toStatusRow(key, decoded.message, now()), done);
        return;
      default:
        // up/ack and down/cmd belong to the command dispatcher, which subscribes to them.
        done(null, 'forward');
    }
  }

  return {
    metrics,
    registry,
    get pending() {
      return readings.pending + events.pending + statuses.pending;
    },

    intercept(_principal: Principal | null, packet: PublishPacket, done: Done): void {
      const topic = packet.topic;
      const parsed = parseTopic(topic);
      if (parsed === null || parsed.channel === 'up/ack' || parsed.channel === 'down/cmd') {
        // Not a meter's durable channel (a gateway's status, a command, an ack): nothing to store here.
        done(null, 'forward');
        return;
      }
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      const { utility, meterId } = parsed;

      let resolved: MeterRef | null | Promise<MeterRef | null>;
      try {
        resolved = resolveMeter(utility, meterId);
      } catch (err) {
        resolved = Promise.reject(err);
      }
      if (resolved === null) {
        refuse('unknown_meter', topic, meterId, 'meter not in the store', done);
      } else if (!(resolved instanceof Promise)) {
        accept(payload, topic, meterId, resolved, done);
      } else {
        resolved.then(
          (key) => {
            if (key === null) refuse('unknown_meter', topic, meterId, 'meter not in the store', done);
            else accept(payload, topic, meterId, key, done);
          },
          (err: unknown) => {
            // The store could not answer: no PUBACK; the connection closes and the meter resends later.
            logger?.error({ meterId, err }, 'ingest could not resolve meter');
            done(err instanceof Error ? err : new Error(String(err)), 'forward');
          },
        );
      }
    },

    async drain() {
      await Promise.all([readings.drain(), events.drain(), statuses.drain()]);
    },

    close() {
      readings.close();
      events.close();
      statuses.close();
    },
  };
}
