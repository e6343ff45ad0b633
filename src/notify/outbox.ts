/**
 * The notifications outbox: a message is a row in `notifications_outbox`, written in the same transaction
 * as the event that causes it (a balance decision, a vend), and delivered afterwards by the
 * {@link OutboxWorker} with retries and exponential backoff.
 *
 *   pending ──delivered──> sent
 *      │ └──transient error──> pending (next_attempt_at = now + backoff, attempts + 1)
 *      └──permanent error, or attempts exhausted──> failed (last_error says why)
 *
 * `dedup_key` makes enqueueing idempotent: a second row with the same key is not written.
 */

import type { Kysely } from 'kysely';
import type { Log } from '../log.ts';
import { dueBefore } from '../store/due.ts';
import type { Queryable } from '../store/ledger.ts';
import type { CustomerId, Database, Language, OutboxChannel, UtilityId } from '../store/schema.ts';
import { type Channel, DeliveryError } from './channels.ts';
import { applyReceipts } from './receipts.ts';
import {
  parsePayload,
  type RenderOptions,
  renderTemplate,
  type TemplateName,
  type TemplatePayload,
  withoutSecrets,
} from './templates.ts';

/** The update that drops a payload's secret fields (a message's secret part never outlives its delivery). */
function secretsGone(template: string, payload: Record<string, unknown>) {
  const scrubbed = withoutSecrets(template, payload);
  return scrubbed ? { payload: scrubbed } : {};
}

export interface NotificationRequest<T extends TemplateName = TemplateName> {
  readonly utilityId: UtilityId;
  readonly channel: OutboxChannel;
  /** E.164 phone number, e-mail address or webhook URL. */
  readonly recipient: string;
  readonly template: T;
  readonly language: Language;
  readonly payload: TemplatePayload<T>;
  readonly dedupKey?: string;
  /** Not before this instant (default: now). */
  readonly notBefore?: Date;
  /** The customer the message is about: customer service sees its state on the customer's page. */
  readonly customerId?: CustomerId | null;
}

/**
 * Writes one outbox row (pass a transaction to write it with the event that causes it). Returns its id, or
 * null when a row with the same `dedupKey` exists. Throws `TemplateError` for a payload its template
 * refuses, so a bad message fails where it is made, not in the worker.
 */
export async function enqueueNotification<T extends TemplateName>(
  db: Queryable,
  request: NotificationRequest<T>,
): Promise<string | null> {
  const payload = parsePayload(request.template, request.payload);
  const row = await db
    .insertInto('notifications_outbox')
    .values({
      utility_id: request.utilityId,
      channel: request.channel,
      recipient: request.recipient,
      template: request.template,
      language: request.language,
      payload: payload as Record<string, unknown>,
      dedup_key: request.dedupKey ?? null,
      ...(request.notBefore === undefined ? {} : { next_attempt_at: request.notBefore }),
      ...(request.customerId ? { customer_id: request.customerId } : {}),
    })
    .onConflict((oc) => oc.column('dedup_key').doNothing())
    .returning('id')
    .executeTakeFirst();
  // int8 identity: both dialects return a bigint whatever the schema type says; ids leave as strings.
  return row === undefined ? null : String(row.id);
}

export interface OutboxBackoff {
  /** First retry after this many ms (default 60 s), doubling each attempt. */
  readonly initialMs: number;
  /** Longest wait between attempts (default 1 h). */
  readonly maxMs: number;
  /** Attempts before a row is failed (default 8). */
  readonly maxAttempts: number;
}

export const DEFAULT_OUTBOX_BACKOFF: OutboxBackoff = Object.freeze({
  initialMs: 60_000,
  maxMs: 3_600_000,
  maxAttempts: 8,
});

export type OutboxLogger = Pick<Log, 'info' | 'warn'>;

export interface OutboxWorkerOptions {
  readonly db: Kysely<Database>;
  /** The channels this node delivers; rows of a missing channel wait for a node that has it. */
  readonly channels: Partial<Record<OutboxChannel, Channel>>;
  readonly now?: () => Date;
  readonly backoff?: OutboxBackoff;
  /** Most rows per {@link OutboxWorker.runOnce} (default 100). */
  readonly batchSize?: number;
  readonly render?: RenderOptions;
  readonly logger?: OutboxLogger;
  /**
   * Channels whose receivers drop a repeat (webhooks: the Rasid-Delivery id), so a delivery a crash
   * interrupted may be made again. Elsewhere (SMS, WhatsApp, e-mail) the outcome of an interrupted delivery
   * is unknown and a person would get it twice: the row is failed instead, visibly (default: webhook).
   */
  readonly repeatSafe?: ReadonlySet<OutboxChannel>;
}

export interface OutboxReport {
  readonly sent: number;
  readonly retried: number;
  readonly failed: number;
}

export class OutboxWorker {
  readonly #db: Kysely<Database>;
  readonly #channels: Partial<Record<OutboxChannel, Channel>>;
  readonly #now: () => Date;
  readonly #backoff: OutboxBackoff;
  readonly #batchSize: number;
  readonly #render: RenderOptions;
  readonly #logger: OutboxLogger | undefined;
  readonly #repeatSafe: ReadonlySet<OutboxChannel>;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<OutboxReport> | undefined;
  /** Each utility's time zone (set when the utility is made): a message's dates are the ones read there. */
  readonly #zones = new Map<UtilityId, string>();

  constructor(options: OutboxWorkerOptions) {
    this.#db = options.db;
    this.#channels = options.channels;
    this.#now = options.now ?? (() => new Date());
    this.#backoff = options.backoff ?? DEFAULT_OUTBOX_BACKOFF;
    this.#batchSize = options.batchSize ?? 100;
    this.#render = options.render ?? {};
    this.#logger = options.logger;
    this.#repeatSafe = options.repeatSafe ?? new Set(['webhook']);
  }

  async #zone(utilityId: UtilityId): Promise<string> {
    let zone = this.#zones.get(utilityId);
    if (zone === undefined) {
      const u = await this.#db
        .selectFrom('utilities')
        .select('timezone')
        .where('id', '=', utilityId)
        .executeTakeFirst();
      zone = u?.timezone ?? 'UTC';
      this.#zones.set(utilityId, zone);
    }
    return zone;
  }

  /** Delivers every due row once; returns what happened. Never throws for a delivery failure. */
  async runOnce(): Promise<OutboxReport> {
    const now = this.#now();
    const channels = Object.keys(this.#channels) as OutboxChannel[];
    if (channels.length === 0) return { sent: 0, retried: 0, failed: 0 };
    const due = await this.#db
      .selectFrom('notifications_outbox')
      .selectAll()
      .where('state', '=', 'pending')
      .where('next_attempt_at', '<', dueBefore(now))
      .where('channel', 'in', channels)
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(this.#batchSize)
      .execute();

    let sent = 0;
    let retried = 0;
    let failed = 0;
    for (const row of due) {
      const attempts = row.attempts + 1;
      const retryAt = new Date(
        now.getTime() +
          Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** Math.min(attempts - 1, 30)),
      );
      if (row.claimed_at !== null && !this.#repeatSafe.has(row.channel)) {
        // A delivery interrupted by a crash: it may have reached the person; never send it a second time.
        if (await this.#interrupted(row.id, row.attempts)) failed++;
        continue;
      }
      // Claim: a second worker that read the same row finds `attempts` moved and skips it.
      const claimed = await this.#db
        .updateTable('notifications_outbox')
        .set({ attempts, next_attempt_at: retryAt, claimed_at: now })
        .where('id', '=', row.id)
        .where('attempts', '=', row.attempts)
        .where('state', '=', 'pending')
        .returning('id')
        .executeTakeFirst();
      if (claimed === undefined) continue;
      try {
        const channel = this.#channels[row.channel]!;
        const message = renderTemplate(row.template, row.language, row.payload, {
          ...this.#render,
          timeZone: await this.#zone(row.utility_id),
        });
        const accepted = await channel.deliver({
          id: String(row.id),
          utilityId: row.utility_id,
          recipient: row.recipient,
          template: row.template,
          language: row.language,
          payload: row.payload,
          message,
        });
        const providerRef = accepted?.providerRef ?? null;
        await this.#db
          .updateTable('notifications_outbox')
          .set({
            state: 'sent',
            sent_at: now,
            last_error: null,
            provider_ref: providerRef,
            claimed_at: null,
            ...secretsGone(row.template, row.payload),
          })
          .where('id', '=', row.id)
          .execute();
        // A delivery receipt that came before the provider's id was written (receipts.ts).
        if (providerRef !== null) await applyReceipts(this.#db, row.channel, providerRef);
        sent++;
      } catch (error) {
        const permanent = !(error instanceof DeliveryError) || error.permanent;
        const give_up = permanent || attempts >= this.#backoff.maxAttempts;
        const message = (error as Error).message.slice(0, 500);
        await this.#db
          .updateTable('notifications_outbox')
          .set(
            give_up
              ? {
                  state: 'failed',
                  last_error: message,
                  claimed_at: null,
                  ...secretsGone(row.template, row.payload),
                }
              : { last_error: message, claimed_at: null },
          )
          .where('id', '=', row.id)
          .execute();
        this.#logger?.warn(
          { outboxId: row.id, channel: row.channel, attempts, failed: give_up, err: message },
          'notification not delivered',
        );
        if (give_up) failed++;
        else retried++;
      }
    }
    return { sent, retried, failed };
  }

  async #interrupted(id: bigint, attempts: number): Promise<boolean> {
    const row = await this.#db
      .updateTable('notifications_outbox')
      .set({
        state: 'failed',
        claimed_at: null,
        last_error: 'interrupted: the worker stopped during delivery; not sent again (it may have arrived)',
      })
      .where('id', '=', id)
      .where('attempts', '=', attempts)
      .where('state', '=', 'pending')
      .returning('id')
      .executeTakeFirst();
    if (row !== undefined) this.#logger?.warn({ outboxId: id }, 'notification delivery was interrupted');
    return row !== undefined;
  }

  /** Runs {@link runOnce} every `intervalMs` until {@link stop}; one run at a time. */
  start(intervalMs: number): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      if (this.#running !== undefined) return;
      this.#running = this.runOnce()
        .catch((error: unknown) => {
          this.#logger?.warn({ err: (error as Error).message }, 'outbox run failed');
          return { sent: 0, retried: 0, failed: 0 };
        })
        .finally(() => {
          this.#running = undefined;
        });
    }, intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for the run in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
