/**
 * The command dispatcher (docs/design.md "Durability rules"): commands to meters are rows in `commands`
 * with a state machine, and every transition writes an audit row.
 *
 *   queued ──publish──> sent ──ack ok──> acknowledged
 *     │  ^               │ ├──ack error──> failed   (ack error `expired` ──> expired)
 *     │  └─ack unreachable┘ └──ack unknown──> unknown
 *     └──────────────────┴──expires_at passed, or superseded──> expired
 *
 * - An ack `unreachable` is not final (docs/commands.md): nothing reached the meter, or an idempotent
 *   command could not be finished. The command goes back to `queued` and is sent when the meter is back
 *   online ({@link CommandDispatcher.onMeterOnline}) or after its backoff, until it expires.
 * - Every final state (acknowledged, failed, expired, unknown) is told to the `onFinal` subscriber once,
 *   after it is committed: the balance engine learns there that one of its commands did not happen.
 *
 * - Each command has a uuid the meter uses to act on it once; the dispatcher resends the same id with
 *   exponential backoff until it is acknowledged or expires (a resend keeps the state `sent`).
 * - A meter that is offline gets nothing (its attempts are not wasted); {@link CommandDispatcher.onMeterOnline}
 *   sends what waits for it as soon as it is back.
 * - The ack handler is idempotent: the first acknowledgement of an id moves the row, repeats change nothing.
 * - A disconnect supersedes a reconnect still waiting for the same meter, and the other way round, so a
 *   meter that comes back after a top-up does not get the stale disconnect.
 */

import { type Kysely, sql } from 'kysely';
import { type Ack, type Command, CommandSchema } from '../../protocols/mqtt/index.ts';
import type { Log } from '../log.ts';
import { dueBefore } from '../store/due.ts';
import type { Queryable } from '../store/ledger.ts';
import type { CommandId, CommandState, Database, MeterId, UtilityId } from '../store/schema.ts';
import type { CommandTarget, CommandTransport } from './transport.ts';

/** The command kinds of the MQTT contract. */
export type CommandKind = Command['kind'];
export type PayloadOf<K extends CommandKind> = Extract<Command, { kind: K }>['payload'];

/** Logger shape the dispatcher uses: a constant message and structured fields. */
export type DispatcherLogger = Pick<Log, 'info' | 'warn'>;

export interface BackoffOptions {
  /** First retry after this many ms (default 30 s). */
  readonly initialMs: number;
  /** Never wait longer than this between attempts (default 15 min). */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ initialMs: 30_000, maxMs: 900_000 });

/** Delay before attempt `attempts + 1`, given `attempts` made: initial × 2^(attempts − 1), capped. */
export function backoffDelay(attempts: number, backoff: BackoffOptions = DEFAULT_BACKOFF): number {
  const exponent = Math.max(0, attempts - 1);
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(exponent, 30));
}

/** How long a command of each kind stays valid by default, ms. */
export const DEFAULT_TTL_MS: Readonly<Record<CommandKind, number>> = Object.freeze({
  disconnect: 6 * 3_600_000,
  reconnect: 24 * 3_600_000,
  token: 7 * 24 * 3_600_000,
  read_now: 15 * 60_000,
  time_sync: 3_600_000,
  set_emergency_credit: 24 * 3_600_000,
  set_low_credit_threshold: 24 * 3_600_000,
});

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly code: 'invalid_command' | 'unknown_meter',
    message: string,
  ) {
    super(message);
  }
}

export interface EnqueueRequest<K extends CommandKind = CommandKind> {
  readonly utilityId: UtilityId;
  readonly meterId: MeterId;
  readonly kind: K;
  readonly payload: PayloadOf<K>;
  /** Why the command exists: a balance decision's reason, an operator's note. */
  readonly reason?: string;
  /** Who asked: `system:balance`, `user:<id>`. */
  readonly createdBy?: string;
  /** Validity from now, ms (default {@link DEFAULT_TTL_MS} of the kind). */
  readonly ttlMs?: number;
}

export type AckOutcome =
  /** The first acknowledgement of the command: its row moved to this state. */
  | { readonly outcome: 'recorded'; readonly commandId: CommandId; readonly state: CommandState }
  /** The command had already left `queued`/`sent` (a repeated ack, or one after expiry): nothing changed. */
  | { readonly outcome: 'duplicate'; readonly commandId: CommandId; readonly state: CommandState }
  /** No command with this id (for this meter, when the sender is known). */
  | { readonly outcome: 'unknown'; readonly commandId: string };

/** The final states of a command. */
export type FinalState = Extract<CommandState, 'acknowledged' | 'failed' | 'expired' | 'unknown'>;

/** A command that reached a final state, as the `onFinal` subscriber gets it. */
export interface FinalCommand {
  readonly id: CommandId;
  readonly utilityId: UtilityId;
  readonly meterId: MeterId;
  readonly kind: CommandKind;
  /** Who asked for it (`system:balance`, `user:<id>`…), as queued. */
  readonly createdBy: string | null;
  readonly reason: string | null;
  readonly state: FinalState;
  /** The acknowledgement's error code (`refused`, `relay_fault`, `unknown`…); `expired` or `superseded` otherwise. */
  readonly cause: string | null;
}

export interface DispatchReport {
  readonly sent: number;
  readonly failedToPublish: number;
  readonly expired: number;
}

export interface DispatcherOptions {
  readonly db: Kysely<Database>;
  readonly transport: CommandTransport;
  readonly now?: () => Date;
  readonly backoff?: BackoffOptions;
  /** Send to meters the store marks offline as well (default false: they wait for {@link onMeterOnline}). */
  readonly sendToOffline?: boolean;
  /** Most commands handled per {@link dispatchDue} call (default 200). */
  readonly batchSize?: number;
  readonly logger?: DispatcherLogger;
  /**
   * Told once of each command that reached a final state, after it is committed (the balance engine
   * subscribes to decide again when its own command failed, expired or ended unknown). Its failures are
   * logged, never thrown into the dispatcher.
   */
  readonly onFinal?: (command: FinalCommand) => void | Promise<void>;
}

const ACTOR = 'system:commands';
const PENDING: readonly CommandState[] = ['queued', 'sent'];
/** Relay commands that cancel each other while waiting. */
const OPPOSITE: Partial<Record<CommandKind, CommandKind>> = {
  disconnect: 'reconnect',
  reconnect: 'disconnect',
};

async function audit(
  db: Queryable,
  utilityId: UtilityId,
  commandId: string,
  action: string,
  details: Record<string, unknown>,
  at: Date,
  actor: string = ACTOR,
): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      utility_id: utilityId,
      actor,
      action: `command.${action}`,
      subject: `command:${commandId}`,
      details,
      created_at: at,
    })
    .execute();
}

/** The contract form of a stored command (the id, expiry and payload the meter sees). */
export function toContractCommand(row: {
  id: string;
  kind: string;
  payload: Record<string, unknown>;
  created_at: Date;
  expires_at: Date;
}): Command {
  return CommandSchema.parse({
    v: 1,
    id: row.id,
    issuedAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    kind: row.kind,
    payload: row.payload,
  });
}

export class CommandDispatcher {
  readonly #db: Kysely<Database>;
  readonly #transport: CommandTransport;
  readonly #now: () => Date;
  readonly #backoff: BackoffOptions;
  readonly #sendToOffline: boolean;
  readonly #batchSize: number;
  readonly #logger: DispatcherLogger | undefined;
  readonly #onFinal: NonNullable<DispatcherOptions['onFinal']>[] = [];

  constructor(options: DispatcherOptions) {
    this.#db = options.db;
    this.#transport = options.transport;
    this.#now = options.now ?? (() => new Date());
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#sendToOffline = options.sendToOffline ?? false;
    this.#batchSize = options.batchSize ?? 200;
    this.#logger = options.logger;
    if (options.onFinal) this.#onFinal.push(options.onFinal);
  }

  /**
   * Adds a subscriber of final states (as the `onFinal` option does), for a part built after the
   * dispatcher: the balance engine re-evaluates the meter when a command settles.
   */
  onFinal(subscriber: NonNullable<DispatcherOptions['onFinal']>): void {
    this.#onFinal.push(subscriber);
  }

  /** Tells the subscribers of final states, never failing the caller. */
  async #final(commands: readonly FinalCommand[]): Promise<void> {
    for (const command of commands) {
      for (const subscriber of this.#onFinal) await this.#tell(subscriber, command);
    }
  }

  async #tell(subscriber: NonNullable<DispatcherOptions['onFinal']>, command: FinalCommand): Promise<void> {
    try {
      await subscriber(command);
    } catch (error) {
      this.#logger?.warn(
        { commandId: command.id, err: (error as Error).message },
        'final-state subscriber failed',
      );
    }
  }

  /**
   * Queues a command. Pass a transaction as `db` to queue it together with the decision that caused it; it
   * is sent by the next {@link dispatchDue} after that transaction commits. Throws {@link CommandError} when
   * the payload breaks the MQTT contract.
   */
  async enqueue<K extends CommandKind>(
    request: EnqueueRequest<K>,
    db: Queryable = this.#db,
  ): Promise<CommandId> {
    const now = this.#now();
    const expiresAt = new Date(now.getTime() + (request.ttlMs ?? DEFAULT_TTL_MS[request.kind]));
    const check = CommandSchema.safeParse({
      v: 1,
      id: '00000000-0000-4000-8000-000000000000',
      issuedAt: now.toISOString(),
      expiresAt: expiresAt.toISOString(),
      kind: request.kind,
      payload: request.payload,
    });
    if (!check.success) {
      throw new CommandError(
        'invalid_command',
        `${request.kind}: ${check.error.issues[0]?.message ?? 'invalid'}`,
      );
    }
    const opposite = OPPOSITE[request.kind];
    const row = await db
      .insertInto('commands')
      .values({
        utility_id: request.utilityId,
        meter_id: request.meterId,
        kind: request.kind,
        payload: request.payload as Record<string, unknown>,
        next_attempt_at: now,
        expires_at: expiresAt,
        reason: request.reason ?? null,
        created_by: request.createdBy ?? null,
        created_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await audit(
      db,
      request.utilityId,
      row.id,
      'queued',
      { meterId: request.meterId, kind: request.kind, reason: request.reason ?? null },
      now,
      // Who asked for it: an operator (`user:<id>`) or a Rasid role (`system:balance`).
      request.createdBy ?? ACTOR,
    );
    if (opposite !== undefined) {
      // Superseded by the caller's own newer decision: not told to `onFinal` (nothing to decide again).
      const superseded = await db
        .updateTable('commands')
        .set({ state: 'expired', result: { supersededBy: row.id } })
        .where('meter_id', '=', request.meterId)
        .where('kind', '=', opposite)
        .where('state', 'in', PENDING)
        .returning(['id'])
        .execute();
      for (const s of superseded) {
        await audit(
          db,
          request.utilityId,
          s.id,
          'expired',
          { meterId: request.meterId, supersededBy: row.id },
          now,
        );
      }
    }
    return row.id;
  }

  /**
   * Queues a vend's token for remote delivery (kind `token`). Idempotent per meter and token: a second call
   * returns the command already queued.
   */
  async pushToken(
    request: { utilityId: UtilityId; meterId: MeterId; token: string; vendId?: string; createdBy?: string },
    db: Queryable = this.#db,
  ): Promise<CommandId> {
    const existing = await db
      .selectFrom('commands')
      .select('id')
      .where('meter_id', '=', request.meterId)
      .where('kind', '=', 'token')
      .where(sql<string>`payload->>'token'`, '=', request.token)
      .executeTakeFirst();
    if (existing !== undefined) return existing.id;
    return this.enqueue(
      {
        utilityId: request.utilityId,
        meterId: request.meterId,
        kind: 'token',
        payload: { token: request.token },
        reason: request.vendId === undefined ? 'token_delivery' : `vend:${request.vendId}`,
        createdBy: request.createdBy ?? 'system:vending',
      },
      db,
    );
  }

  /** Expires every waiting command whose `expires_at` has passed; returns how many. */
  async expireDue(): Promise<number> {
    const now = this.#now();
    const rows = await this.#db
      .updateTable('commands')
      .set({ state: 'expired' })
      .where('state', 'in', PENDING)
      .where('expires_at', '<=', now)
      .returning(['id', 'utility_id', 'meter_id', 'attempts', 'kind', 'created_by', 'reason'])
      .execute();
    for (const r of rows) {
      await audit(
        this.#db,
        r.utility_id,
        r.id,
        'expired',
        { meterId: r.meter_id, attempts: r.attempts },
        now,
      );
    }
    await this.#final(
      rows.map((r) => ({
        id: r.id,
        utilityId: r.utility_id,
        meterId: r.meter_id,
        kind: r.kind as CommandKind,
        createdBy: r.created_by,
        reason: r.reason,
        state: 'expired',
        cause: 'expired',
      })),
    );
    return rows.length;
  }

  /**
   * Sends every command whose next attempt is due (to online meters, unless `sendToOffline`), after
   * expiring the stale ones. Publish failures are retried later with the same backoff.
   */
  async dispatchDue(options: { meterId?: MeterId; online?: boolean } = {}): Promise<DispatchReport> {
    const expired = await this.expireDue();
    const now = this.#now();
    let query = this.#db
      .selectFrom('commands as c')
      .innerJoin('meters as m', 'm.id', 'c.meter_id')
      .innerJoin('utilities as u', 'u.id', 'c.utility_id')
      .select([
        'c.id',
        'c.utility_id',
        'c.meter_id',
        'c.kind',
        'c.payload',
        'c.state',
        'c.attempts',
        'c.created_at',
        'c.expires_at',
        'm.serial',
        'u.code as utility_code',
      ])
      .where('c.state', 'in', PENDING)
      .where('c.next_attempt_at', '<', dueBefore(now))
      .where('c.expires_at', '>', now)
      .orderBy('c.created_at')
      .orderBy('c.id')
      .limit(this.#batchSize);
    // `online`: the caller has just learnt the meter is back, ahead of the ingest's write of it.
    if (!this.#sendToOffline && options.online !== true) query = query.where('m.online', '=', true);
    if (options.meterId !== undefined) query = query.where('c.meter_id', '=', options.meterId);
    const due = await query.execute();

    let sent = 0;
    let failedToPublish = 0;
    for (const row of due) {
      const attempts = row.attempts + 1;
      // Claim the attempt first: a second dispatcher that read the same row finds next_attempt_at moved.
      const claimed = await this.#db
        .updateTable('commands')
        .set({ attempts, next_attempt_at: new Date(now.getTime() + backoffDelay(attempts, this.#backoff)) })
        .where('id', '=', row.id)
        .where('attempts', '=', row.attempts)
        .where('state', 'in', PENDING)
        .returning('id')
        .executeTakeFirst();
      if (claimed === undefined) continue;
      const target: CommandTarget = {
        meterId: row.meter_id,
        utilityCode: row.utility_code,
        serial: row.serial,
      };
      try {
        await this.#transport.publish(target, toContractCommand(row));
      } catch (error) {
        failedToPublish++;
        this.#logger?.warn(
          { commandId: row.id, meterId: row.meter_id, attempts, err: (error as Error).message },
          'command publish failed',
        );
        continue;
      }
      sent++;
      const moved = await this.#db
        .updateTable('commands')
        .set({ state: 'sent', sent_at: now })
        .where('id', '=', row.id)
        .where('state', '=', 'queued')
        .returning('id')
        .executeTakeFirst();
      await audit(
        this.#db,
        row.utility_id,
        row.id,
        moved === undefined ? 'resent' : 'sent',
        { meterId: row.meter_id, kind: row.kind, attempts },
        now,
      );
    }
    return { sent, failedToPublish, expired };
  }

  /** A meter came back online: everything waiting for it is due now, and is sent now. */
  async onMeterOnline(meterId: MeterId): Promise<DispatchReport> {
    await this.#db
      .updateTable('commands')
      .set({ next_attempt_at: this.#now() })
      .where('meter_id', '=', meterId)
      .where('state', 'in', PENDING)
      .execute();
    return this.dispatchDue({ meterId, online: true });
  }

  /**
   * Records a meter's acknowledgement. Idempotent: only the first ack of an id moves the row (`ok` →
   * acknowledged; error `expired` → expired; `unknown` → unknown; any other error → failed). The error
   * `unreachable` is not final: the row goes back to `queued` for the meter's return (docs/commands.md).
   * With `meterId`, an ack for a command addressed to another meter is treated as unknown.
   */
  async handleAck(ack: Ack, source: { meterId?: MeterId } = {}): Promise<AckOutcome> {
    if (ack.status === 'error' && ack.error.code === 'unreachable') return this.#deferred(ack, source);
    const now = this.#now();
    const state: FinalState =
      ack.status === 'ok'
        ? 'acknowledged'
        : ack.error.code === 'expired'
          ? 'expired'
          : ack.error.code === 'unknown'
            ? 'unknown'
            : 'failed';
    const result: Record<string, unknown> = {
      status: ack.status,
      ts: typeof ack.ts === 'number' ? new Date(ack.ts).toISOString() : ack.ts,
      ...(ack.status === 'error' ? { error: ack.error } : {}),
      ...(ack.result === undefined ? {} : { result: ack.result }),
    };
    let final: FinalCommand | undefined;
    const outcome = await this.#db.transaction().execute(async (trx): Promise<AckOutcome> => {
      let update = trx
        .updateTable('commands')
        .set({ state, acknowledged_at: now, result })
        .where('id', '=', ack.id as CommandId)
        .where('state', 'in', PENDING);
      if (source.meterId !== undefined) update = update.where('meter_id', '=', source.meterId);
      const moved = await update
        .returning(['id', 'utility_id', 'meter_id', 'kind', 'created_by', 'reason'])
        .executeTakeFirst();
      if (moved !== undefined) {
        await audit(
          trx,
          moved.utility_id,
          moved.id,
          state,
          { meterId: moved.meter_id, kind: moved.kind, ack: result },
          now,
        );
        this.#logger?.info({ commandId: moved.id, meterId: moved.meter_id, state }, 'command acknowledged');
        final = {
          id: moved.id,
          utilityId: moved.utility_id,
          meterId: moved.meter_id,
          kind: moved.kind as CommandKind,
          createdBy: moved.created_by,
          reason: moved.reason,
          state,
          cause: ack.status === 'error' ? ack.error.code : null,
        };
        return { outcome: 'recorded', commandId: moved.id, state };
      }
      return this.#lookup(trx, ack, source);
    });
    if (final !== undefined) await this.#final([final]);
    return outcome;
  }

  /** An ack `unreachable`: the command was not done; back to `queued`, due after its backoff. */
  async #deferred(ack: Ack, source: { meterId?: MeterId }): Promise<AckOutcome> {
    const now = this.#now();
    return this.#db.transaction().execute(async (trx): Promise<AckOutcome> => {
      let pending = trx
        .selectFrom('commands')
        .select(['id', 'utility_id', 'meter_id', 'kind', 'attempts'])
        .where('id', '=', ack.id as CommandId)
        .where('state', 'in', PENDING);
      if (source.meterId !== undefined) pending = pending.where('meter_id', '=', source.meterId);
      const row = await pending.executeTakeFirst();
      if (row === undefined) return this.#lookup(trx, ack, source);
      const message = ack.status === 'error' ? (ack.error.message ?? null) : null;
      await trx
        .updateTable('commands')
        .set({
          state: 'queued',
          next_attempt_at: new Date(now.getTime() + backoffDelay(Math.max(1, row.attempts), this.#backoff)),
          result: { status: 'error', error: { code: 'unreachable', message } },
        })
        .where('id', '=', row.id)
        .where('state', 'in', PENDING)
        .execute();
      await audit(
        trx,
        row.utility_id,
        row.id,
        'deferred',
        { meterId: row.meter_id, kind: row.kind, attempts: row.attempts, error: message },
        now,
      );
      this.#logger?.info(
        { commandId: row.id, meterId: row.meter_id },
        'command not delivered; waiting for the meter',
      );
      return { outcome: 'recorded', commandId: row.id, state: 'queued' };
    });
  }

  async #lookup(trx: Queryable, ack: Ack, source: { meterId?: MeterId }): Promise<AckOutcome> {
    let lookup = trx
      .selectFrom('commands')
      .select(['id', 'state'])
      .where('id', '=', ack.id as CommandId);
    if (source.meterId !== undefined) lookup = lookup.where('meter_id', '=', source.meterId);
    const known = await lookup.executeTakeFirst();
    if (known === undefined) return { outcome: 'unknown', commandId: ack.id };
    return { outcome: 'duplicate', commandId: known.id, state: known.state };
  }
}
