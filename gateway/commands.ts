/**
 * The command desk: performs the commands Rasid sends on a meter's `down/cmd` and builds their
 * acknowledgements, following docs/mqtt.md "Command ids: do each once, acknowledge each once".
 *
 * - Each command id is done at most once. The desk remembers recent ids with their acknowledgement; a
 *   repeated delivery of a finished command gets the same acknowledgement again (same ts, status, error
 *   and result, so Rasid records it once), and a repeat that arrives while the first is still being done
 *   gets nothing more: the first delivery's acknowledgement answers both.
 * - A command at or after its `expiresAt` is not done; it is acknowledged `error` / `expired`.
 * - Act, then acknowledge with the outcome: `ok` means it was done.
 * - A failure before anything reached the meter is acknowledged `unreachable`: not final, and the id is
 *   forgotten, so that Rasid's next delivery (when the meter is back) is done. After an ambiguous failure
 *   (the request went out, no answer came) an idempotent command is done again at once, up to
 *   {@link AMBIGUOUS_RETRIES} times, then acknowledged `unreachable`; any other command is acknowledged
 *   `unknown` (docs/commands.md).
 */
import {
  type Ack,
  type AckErrorCode,
  type Command,
  isCommandExpired,
  type MeterEvent,
  PAYLOAD_VERSION,
  timestampMs,
} from '../protocols/mqtt/index.ts';
import { asDriverError, type DriverError } from './errors.ts';
import type { GatewayMetrics } from './metrics.ts';
import { type GatewayLogger, type MeterWorker, silentLogger } from './worker.ts';

/** Ids of recent commands with their acknowledgement (undefined while the command is being done). */
export class RecentCommands {
  private readonly entries = new Map<string, { ack: Ack | undefined; expiresAtMs: number }>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  private static key(meterId: string, id: string): string {
    return `${meterId}\u0000${id}`;
  }

  /** The entry of a command already seen, or undefined for a new one. */
  get(meterId: string, id: string): { ack: Ack | undefined } | undefined {
    return this.entries.get(RecentCommands.key(meterId, id));
  }

  /** Remembers a new id; forgets the expired ones, then the oldest ones beyond the capacity. */
  begin(meterId: string, id: string, expiresAtMs: number, nowMs: number): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size < this.capacity && entry.expiresAtMs > nowMs) break;
      if (entry.ack !== undefined) this.entries.delete(key);
    }
    this.entries.set(RecentCommands.key(meterId, id), { ack: undefined, expiresAtMs });
  }

  /** Forgets an id whose command was not done, so that a later delivery of it is done. */
  forget(meterId: string, id: string): void {
    this.entries.delete(RecentCommands.key(meterId, id));
  }

  finish(meterId: string, id: string, ack: Ack): void {
    const entry = this.entries.get(RecentCommands.key(meterId, id));
    if (entry) entry.ack = ack;
  }
}

/** What the desk publishes: an acknowledgement, or an event it reports for the meter. */
export interface CommandOutput {
  ack(meterId: string, ack: Ack): void;
  event(meterId: string, event: Omit<MeterEvent, 'seq'>): void;
}

export interface CommandDeskOptions {
  readonly workers: ReadonlyMap<string, MeterWorker>;
  readonly output: CommandOutput;
  readonly memory: number;
  readonly metrics?: GatewayMetrics;
  readonly logger?: GatewayLogger;
  readonly now?: () => number;
}

/**
 * Commands that leave the meter in the same state when done twice: a relay position, a clock setting, a
 * threshold, a read; and a token, which the meter refuses the second time by its TID (STS).
 * `set_emergency_credit` is not: a second request may take a second grant.
 */
export const IDEMPOTENT_KINDS: ReadonlySet<Command['kind']> = new Set([
  'disconnect',
  'reconnect',
  'token',
  'time_sync',
  'read_now',
  'set_low_credit_threshold',
]);

/** Times an idempotent command is done again at once after an ambiguous failure. */
export const AMBIGUOUS_RETRIES = 2;

function errorAck(id: string, ts: number, code: AckErrorCode, message: string): Ack {
  return { v: PAYLOAD_VERSION, id, ts, status: 'error', error: { code, message: message.slice(0, 256) } };
}

export class CommandDesk {
  private readonly options: CommandDeskOptions;
  private readonly recent: RecentCommands;
  private readonly now: () => number;
  private readonly logger: GatewayLogger;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(options: CommandDeskOptions) {
    this.options = options;
    this.recent = new RecentCommands(options.memory);
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger;
  }

  /** Resolves when every command being done now has been acknowledged. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Takes one command for a meter; resolves once it is acknowledged (or recognised as a repeat). */
  handle(meterId: string, command: Command): Promise<void> {
    const task = this.process(meterId, command);
    this.inFlight.add(task);
    return task.finally(() => this.inFlight.delete(task));
  }

  private async process(meterId: string, command: Command): Promise<void> {
    const metrics = this.options.metrics;
    const seen = this.recent.get(meterId, command.id);
    if (seen !== undefined) {
      metrics?.commands.inc({ meter: meterId, kind: command.kind, outcome: 'duplicate' });
      this.logger.info(
        { meter: meterId, id: command.id, kind: command.kind },
        'repeated command not done again',
      );
      if (seen.ack !== undefined) this.options.output.ack(meterId, seen.ack);
      return;
    }
    const nowMs = this.now();
    this.recent.begin(meterId, command.id, timestampMs(command.expiresAt), nowMs);
    const ack = await this.perform(meterId, command, nowMs);
    if (ack.status === 'error' && ack.error.code === 'unreachable') this.recent.forget(meterId, command.id);
    else this.recent.finish(meterId, command.id, ack);
    metrics?.commands.inc({
      meter: meterId,
      kind: command.kind,
      outcome: ack.status === 'ok' ? 'ok' : ack.error.code,
    });
    this.logger.info(
      { meter: meterId, id: command.id, kind: command.kind, status: ack.status },
      'command acknowledged',
    );
    this.options.output.ack(meterId, ack);
  }

  private async perform(meterId: string, command: Command, receivedMs: number): Promise<Ack> {
    const id = command.id;
    if (isCommandExpired(command, receivedMs)) {
      return errorAck(id, receivedMs, 'expired', 'received at or after expiresAt');
    }
    const worker = this.options.workers.get(meterId);
    if (worker === undefined)
      return errorAck(id, this.now(), 'not_supported', 'this gateway does not serve the meter');
    for (let retries = 0; ; retries++) {
      try {
        return await this.attempt(meterId, worker, command, retries > 0);
      } catch (err) {
        const error = asDriverError(err);
        const failed = this.classify(meterId, command, error, retries);
        if (failed !== 'retry') return failed;
      }
    }
  }

  /** The acknowledgement of a failed attempt, or `retry` for an ambiguous one worth doing again. */
  private classify(meterId: string, command: Command, error: DriverError, retries: number): Ack | 'retry' {
    const id = command.id;
    if (error.reached === 'no') return errorAck(id, this.now(), 'unreachable', error.message);
    if (error.reached === 'yes') return errorAck(id, this.now(), error.ackCode, error.message);
    if (!IDEMPOTENT_KINDS.has(command.kind)) {
      return errorAck(id, this.now(), 'unknown', `outcome unknown: ${error.message}`);
    }
    if (retries < AMBIGUOUS_RETRIES && !isCommandExpired(command, this.now())) {
      this.options.metrics?.commands.inc({ meter: meterId, kind: command.kind, outcome: 'retried' });
      this.logger.warn(
        { meter: meterId, id, kind: command.kind, code: error.code, err: error.message },
        'ambiguous failure of an idempotent command; doing it again',
      );
      return 'retry';
    }
    return errorAck(
      id,
      this.now(),
      'unreachable',
      `${error.message}; to be done again when the meter answers`,
    );
  }

  /** Does the command once; throws the driver's failure. `again` after an ambiguous first attempt. */
  private async attempt(
    meterId: string,
    worker: MeterWorker,
    command: Command,
    again: boolean,
  ): Promise<Ack> {
    const id = command.id;
    const ok = (result?: Record<string, string | number | boolean>): Ack => ({
      v: PAYLOAD_VERSION,
      id,
      ts: this.now(),
      status: 'ok',
      ...(result === undefined ? {} : { result }),
    });
    switch (command.kind) {
      case 'disconnect':
      case 'reconnect': {
        const relay = await worker.run(command.kind, (d) =>
          command.kind === 'disconnect' ? d.disconnect() : d.reconnect(),
        );
        this.options.output.event(meterId, {
          v: PAYLOAD_VERSION,
          ts: this.now(),
          kind: 'relay_changed',
          details: { relay, cause: 'command', commandId: id },
        });
        return ok({ relay });
      }
      case 'token': {
        const token = command.payload.token;
        const outcome = await worker.run('token', (d) => d.enterToken(token));
        if (outcome.accepted) {
          this.options.output.event(meterId, {
            v: PAYLOAD_VERSION,
            ts: this.now(),
            kind: 'token_accepted',
            details: { token, commandId: id },
          });
          return ok({ ...outcome.result });
        }
        if (again && outcome.rejection === 'used') {
          // The first attempt went in before its answer was lost: the meter knows the TID.
          return ok({ repeated: true });
        }
        this.options.output.event(meterId, {
          v: PAYLOAD_VERSION,
          ts: this.now(),
          kind: 'token_rejected',
          details: { code: outcome.rejection, token, commandId: id },
        });
        return {
          v: PAYLOAD_VERSION,
          id,
          ts: this.now(),
          status: 'error',
          error: {
            code: 'token_rejected',
            rejection: outcome.rejection,
            message: outcome.message.slice(0, 256),
          },
        };
      }
      case 'read_now': {
        const reading = await worker.readNow();
        return ok({ seq: reading.seq });
      }
      case 'time_sync': {
        const at = new Date(timestampMs(command.payload.time));
        await worker.run('time sync', (d) => d.syncTime(at));
        return ok({ time: at.toISOString() });
      }
      case 'set_emergency_credit': {
        const p = command.payload;
        await worker.run('emergency credit', (d) =>
          d.setEmergencyCredit(p.enabled, { minor: p.amountMinor, wh: p.amountWh, litre: p.amountL }),
        );
        return ok({ enabled: p.enabled });
      }
      case 'set_low_credit_threshold': {
        const p = command.payload;
        await worker.run('low-credit threshold', (d) =>
          d.setLowCreditThreshold({ minor: p.thresholdMinor, wh: p.thresholdWh, litre: p.thresholdL }),
        );
        return ok();
      }
    }
  }
}
