/**
 * One meter's worker: it owns the meter's driver, runs one operation at a time on it, polls it on
 * schedule and reports whether it answers.
 *
 * - Every driver call runs under the meter's timeout; a timeout or a broken connection closes the driver
 *   so that the next operation connects afresh.
 * - Polls take a slot of the gateway-wide semaphore, so at most K meters are read at once. A meter that
 *   never answers holds its slot for one timeout at most, and only its own operations queue behind it.
 * - After a failed poll the next attempt waits an exponential backoff (with jitter); after a good one,
 *   the poll interval (with jitter).
 * - Commands do not take a semaphore slot: they only wait for the meter's own current operation.
 * - Between polls a link check every `linkCheckS` (a cheap read, or a reconnection when the meter is
 *   offline) keeps the published online status within that time of the truth; a meter found back is
 *   polled at once.
 * - Backfill: when a reading comes more than one and a half reading intervals after the last one, the
 *   missed intervals are read from the meter's load profile (when its driver keeps one) and published,
 *   oldest first and before the new reading, each with its own timestamp. A backfill that fails is tried
 *   again with the next reading.
 */
import type { Reading } from '../protocols/mqtt/index.ts';
import type { Log } from '../src/log.ts';
import type { MeterConfig } from './config.ts';
import type { MeterDriver } from './driver.ts';
import { asDriverError, DriverError, withTimeout } from './errors.ts';
import type { GatewayMetrics } from './metrics.ts';
import { backoffDelay, jittered, type Semaphore } from './schedule.ts';

/** The structured logger the gateway writes to (pino's Logger fits). */
export type GatewayLogger = Pick<Log, 'debug' | 'info' | 'warn' | 'error'>;

/** The first polls of a starting gateway are spread over this many milliseconds. */
const FIRST_POLL_SPREAD_MS = 1000;

export const silentLogger: GatewayLogger = Object.freeze({
  info() {},
  warn() {},
  error() {},
  debug() {},
});

export interface PollingPolicy {
  readonly jitter: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** Seconds between link checks between polls (default 60). */
  readonly linkCheckS?: number;
}

export interface MeterWorkerOptions {
  readonly meter: MeterConfig;
  readonly driver: MeterDriver;
  readonly semaphore: Semaphore;
  readonly policy: PollingPolicy;
  /** Called with each reading a poll (or `readNow`) took. */
  readonly onReading: (meterId: string, reading: Reading) => void;
  /** Called when the meter starts or stops answering. */
  readonly onStatus: (meterId: string, online: boolean) => void;
  readonly metrics?: GatewayMetrics;
  readonly logger?: GatewayLogger;
  readonly random?: () => number;
  readonly now?: () => number;
}

export class MeterWorker {
  readonly meterId: string;
  readonly driver: MeterDriver;
  private readonly options: MeterWorkerOptions;
  private readonly logger: GatewayLogger;
  private readonly random: () => number;
  private readonly now: () => number;
  /** The end of the meter's operation queue. */
  private tail: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private failures = 0;
  private online: boolean | null = null;
  private polling: Promise<void> | null = null;
  /** Aborted by `stop`: operations still waiting on the meter give up at once. */
  private abort = new AbortController();
  private linkTimer: NodeJS.Timeout | null = null;
  private checking = false;
  /** When the meter last answered or was last tried, ms. */
  private lastContactMs = 0;
  /** Timestamp of the last reading published, ms; the start of a gap still to backfill. */
  private lastReadingMs: number | null = null;

  constructor(options: MeterWorkerOptions) {
    this.options = options;
    this.meterId = options.meter.id;
    this.driver = options.driver;
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** Whether the meter answered its last operation (null before the first). */
  get isOnline(): boolean | null {
    return this.online;
  }

  /**
   * Starts polling. The first poll comes within the first second (or interval, when shorter), at a random
   * moment so that a gateway starting with many meters spreads its first reads; the semaphore does the rest.
   */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.abort = new AbortController();
    const intervalMs = this.options.meter.pollIntervalS * 1000;
    this.schedule(Math.round(this.random() * Math.min(intervalMs, FIRST_POLL_SPREAD_MS)));
    const checkMs = (this.options.policy.linkCheckS ?? 60) * 1000;
    this.linkTimer = setInterval(() => void this.checkLink(checkMs), checkMs);
    this.linkTimer.unref();
  }

  /**
   * A link check, unless the meter was in contact within the last `checkMs` or a poll is due anyway: a
   * cheap read when the meter is online, a reconnection when it is not. A meter found back is polled now.
   */
  private async checkLink(checkMs: number): Promise<void> {
    if (this.stopped || this.polling !== null) return;
    if (this.now() - this.lastContactMs < checkMs * 0.9) return;
    if (this.checking) return;
    this.checking = true;
    try {
      // A meter found back is polled at once (setOnline); a failure has marked it offline.
      await this.run('link check', (driver) => driver.ping());
    } catch {
      // The link is down: the status says so already.
    } finally {
      this.checking = false;
    }
  }

  /** Stops polling, abandons the operation in progress and closes the driver. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.linkTimer) clearInterval(this.linkTimer);
    this.linkTimer = null;
    this.abort.abort();
    await this.polling;
    await this.exclusive(() => this.driver.close()).catch(() => {});
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.polling = this.poll().finally(() => {
        this.polling = null;
      });
    }, delayMs);
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    const release = await this.options.semaphore.acquire();
    const started = this.now();
    let outcome: 'ok' | DriverError;
    try {
      await this.takeReading();
      outcome = 'ok';
    } catch (err) {
      outcome = asDriverError(err);
    } finally {
      release();
    }
    const seconds = (this.now() - started) / 1000;
    const metrics = this.options.metrics;
    const { jitter, backoffInitialMs, backoffMaxMs } = this.options.policy;
    if (outcome === 'ok') {
      this.failures = 0;
      metrics?.pollSuccess.inc({ meter: this.meterId });
      metrics?.pollDuration.observe({ meter: this.meterId, outcome: 'ok' }, seconds);
      this.schedule(jittered(this.options.meter.pollIntervalS * 1000, jitter, this.random));
    } else {
      this.failures++;
      metrics?.pollFailure.inc({ meter: this.meterId, reason: outcome.code });
      metrics?.pollDuration.observe({ meter: this.meterId, outcome: 'error' }, seconds);
      const waitMs = jittered(
        backoffDelay(this.failures, backoffInitialMs, backoffMaxMs),
        jitter,
        this.random,
      );
      this.logger.warn(
        {
          meter: this.meterId,
          code: outcome.code,
          failures: this.failures,
          retryInMs: waitMs,
          err: outcome.message,
        },
        'meter poll failed',
      );
      this.schedule(waitMs);
    }
  }

  /** Takes a reading now, outside the schedule (a `read_now` command); publishes it as a poll would. */
  readNow(): Promise<Reading> {
    return this.takeReading();
  }

  /** Reads the meter, publishes what its load profile holds for a gap since the last reading, then the reading. */
  private async takeReading(): Promise<Reading> {
    const reading = await this.run('read', (driver) => driver.readReading());
    const ts = typeof reading.ts === 'number' ? reading.ts : Date.parse(reading.ts);
    const last = this.lastReadingMs;
    const intervalMs = this.options.meter.pollIntervalS * 1000;
    let backfilled = true;
    if (last !== null && ts - last > intervalMs * 1.5 && this.driver.readIntervals !== undefined) {
      backfilled = await this.backfill(new Date(last), new Date(ts));
    }
    this.options.onReading(this.meterId, reading);
    if (backfilled || last === null) this.lastReadingMs = Math.max(ts, last ?? ts);
    return reading;
  }

  /**
   * Reads the load profile's rows strictly between `from` and `to` and publishes them as readings, oldest
   * first; resolves with how many. Rasid keeps one reading per meter and timestamp, so reading a range
   * again is harmless. Rejects with the driver's failure.
   */
  async readBack(from: Date, to: Date): Promise<number> {
    const missed = await this.run(
      'load profile',
      async (driver) => (await driver.readIntervals?.(from, to)) ?? [],
    );
    for (const reading of missed) this.options.onReading(this.meterId, reading);
    this.options.metrics?.backfilled.inc({ meter: this.meterId }, missed.length);
    this.logger.info(
      { meter: this.meterId, from: from.toISOString(), to: to.toISOString(), readings: missed.length },
      'intervals read back from the load profile',
    );
    return missed.length;
  }

  /** {@link readBack} for a gap; false when it could not be read (tried again with the next reading). */
  private async backfill(from: Date, to: Date): Promise<boolean> {
    try {
      await this.readBack(from, to);
      return true;
    } catch (err) {
      const error = asDriverError(err);
      this.logger.warn(
        { meter: this.meterId, code: error.code, err: error.message, from: from.toISOString() },
        'load profile backfill failed; tried again with the next reading',
      );
      return false;
    }
  }

  /**
   * Runs `fn` on the driver after the meter's current operation, connecting first when needed, under the
   * meter's timeout. A failure that broke the connection closes the driver and marks the meter offline.
   */
  run<T>(what: string, fn: (driver: MeterDriver) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      // Nothing was sent yet: a command refused here is not done and waits for the meter (docs/commands.md).
      if (this.stopped) throw new DriverError('unreachable', 'the gateway is stopping');
      const timeoutMs = this.options.meter.timeoutMs;
      const signal = this.abort.signal;
      try {
        if (!this.driver.connected) {
          try {
            await withTimeout(this.driver.connect(), timeoutMs, `connect to meter ${this.meterId}`, signal);
          } catch (err) {
            // No connection or no association: the operation itself never went out.
            const error = asDriverError(err);
            throw error.reached === 'yes' ? error : new DriverError('unreachable', error.message);
          }
        }
        const result = await withTimeout(
          fn(this.driver),
          timeoutMs,
          `${what} on meter ${this.meterId}`,
          signal,
        );
        this.lastContactMs = this.now();
        this.setOnline(true);
        return result;
      } catch (err) {
        const error = asDriverError(err);
        this.lastContactMs = this.now();
        if (error.breaksConnection) {
          this.setOnline(false);
          await this.driver.close().catch(() => {});
        } else if (error.code === 'refused' || error.code === 'bad_payload' || error.code === 'relay_fault') {
          // The meter answered (with a refusal): it is there.
          this.setOnline(true);
        }
        throw error;
      }
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => {});
    return result;
  }

  private setOnline(online: boolean): void {
    this.options.metrics?.meterUp.set({ meter: this.meterId }, online ? 1 : 0);
    if (this.online === online) return;
    const back = online && this.online === false;
    this.online = online;
    if (back && this.polling === null && this.timer !== null && !this.stopped) {
      // Back after an outage: read it now (and backfill the gap) rather than at the next scheduled poll.
      clearTimeout(this.timer);
      this.timer = null;
      this.schedule(0);
    }
    this.logger.info({ meter: this.meterId, online }, online ? 'meter answers' : 'meter does not answer');
    this.options.onStatus(this.meterId, online);
  }
}
