/**
 * Who hears what, on which channel: the one place that decides it (docs/notifications.md, "Who hears
 * what"). Every part of Rasid that has something to tell — the balance engine, sign-in, the token SMS at
 * checkout, cases, account transfers — calls {@link notify} with the event; this module turns it into
 * outbox rows:
 *
 * - the customer the event is about, on the channels they accept in their order (`customers.
 *   notify_channels`), in their language (`preferred_language`): every accepted channel with an address for
 *   supply messages (`reach: 'all'`), the first one otherwise; an opted-out customer (`notify_opt_out`)
 *   gets no unsolicited message, while a message they asked for (a sign-in code) still goes;
 * - the address a person gave for a message they asked for (`to`: the sign-in contact, the phone typed
 *   at checkout);
 * - the utility's webhook endpoints subscribed to the event (`webhook_endpoints.events`), and the one
 *   configured endpoint of NOTIFY_WEBHOOK_URL for balance events.
 *
 * Each row is written in the caller's transaction with `dedupKey:<channel>` (webhook endpoints add their
 * id), so the same event never queues the same message twice.
 */
import type { Queryable } from '../store/ledger.ts';
import type { CustomerChannel, CustomerId, Language, OutboxChannel, UtilityId } from '../store/schema.ts';
import { enqueueNotification } from './outbox.ts';
import type { TemplateName, TemplatePayload } from './templates.ts';

export interface AudienceRule {
  /** The customer hears it: unsolicited (opt-out applies), requested (always), or not at all. */
  readonly customer: 'unsolicited' | 'requested' | null;
  /** Every channel the customer accepts and has an address for, or only the first in their order. */
  readonly reach: 'all' | 'first';
  /** Utility systems may subscribe to it by webhook (never for secrets: codes and tokens). */
  readonly webhook: boolean;
}

/** The rules, one line a message. */
export const AUDIENCE: { readonly [T in TemplateName]: AudienceRule } = Object.freeze({
  low_credit: { customer: 'unsolicited', reach: 'all', webhook: true },
  disconnect: { customer: 'unsolicited', reach: 'all', webhook: true },
  reconnect: { customer: 'unsolicited', reach: 'all', webhook: true },
  account_transfer: { customer: 'unsolicited', reach: 'first', webhook: true },
  deceased_outreach: { customer: null, reach: 'first', webhook: false },
  subsidy_ended: { customer: 'unsolicited', reach: 'first', webhook: true },
  case_opened: { customer: 'unsolicited', reach: 'first', webhook: true },
  case_updated: { customer: 'unsolicited', reach: 'first', webhook: true },
  case_survey: { customer: 'unsolicited', reach: 'first', webhook: false },
  vend_receipt: { customer: 'requested', reach: 'first', webhook: false },
  token_delivery: { customer: 'requested', reach: 'first', webhook: false },
  sign_in_code: { customer: 'requested', reach: 'first', webhook: false },
});

/** Events a webhook endpoint can subscribe to. */
export const WEBHOOK_EVENTS = Object.freeze(
  (Object.keys(AUDIENCE) as TemplateName[]).filter((t) => AUDIENCE[t].webhook),
);

/** Balance events: the ones the single NOTIFY_WEBHOOK_URL endpoint hears. */
const CONFIGURED_WEBHOOK_EVENTS: ReadonlySet<TemplateName> = new Set([
  'low_credit',
  'disconnect',
  'reconnect',
]);

/** The default channels and order of a customer who chose none. */
export const DEFAULT_CUSTOMER_CHANNELS: readonly CustomerChannel[] = Object.freeze(['sms', 'email']);

export interface NotifyEvent<T extends TemplateName> {
  readonly utilityId: UtilityId;
  readonly template: T;
  readonly payload: TemplatePayload<T>;
  /** The event's key; each row adds its channel (and endpoint). */
  readonly dedupKey: string;
  readonly notBefore?: Date;
  /** The customer the event is about: their channels, order, language and opt-out decide. */
  readonly customerId?: CustomerId | null;
  /** A requested message to the address given with the request, in the language given with it. */
  readonly to?: { readonly channel: OutboxChannel; readonly recipient: string; readonly language: Language };
  /** This message is switched off for this customer by its own setting (the low-credit alert switch). */
  readonly customerMuted?: boolean;
  /** NOTIFY_WEBHOOK_URL: the configured endpoint, for balance events. */
  readonly configuredWebhook?: string | null;
}

export interface Target {
  readonly channel: OutboxChannel;
  readonly recipient: string;
  readonly language: Language;
  readonly key: string;
  readonly customerId: CustomerId | null;
}

/** The targets of an event, without writing them (the decision alone, for tests and the API). */
export async function audienceOf<T extends TemplateName>(
  db: Queryable,
  event: Omit<NotifyEvent<T>, 'payload'>,
): Promise<Target[]> {
  const rule = AUDIENCE[event.template];
  const targets: Target[] = [];
  const customerId = event.customerId ?? null;
  const customer =
    customerId === null
      ? undefined
      : await db
          .selectFrom('customers')
          .select(['phone', 'email', 'preferred_language', 'notify_channels', 'notify_opt_out'])
          .where('id', '=', customerId)
          .where('utility_id', '=', event.utilityId)
          .executeTakeFirst();

  if (event.to !== undefined) {
    targets.push({
      channel: event.to.channel,
      recipient: event.to.recipient,
      language: event.to.language,
      key: `${event.dedupKey}:${event.to.channel}`,
      customerId,
    });
  } else if (customer !== undefined && rule.customer !== null && !event.customerMuted) {
    const optedOut = rule.customer === 'unsolicited' && customer.notify_opt_out;
    if (!optedOut) {
      const order =
        customer.notify_channels.length > 0 ? customer.notify_channels : DEFAULT_CUSTOMER_CHANNELS;
      for (const channel of order) {
        const recipient = channel === 'email' ? customer.email : customer.phone;
        if (!recipient) continue;
        targets.push({
          channel,
          recipient,
          language: customer.preferred_language,
          key: `${event.dedupKey}:${channel}`,
          customerId,
        });
        if (rule.reach === 'first') break;
      }
    }
  }

  if (rule.webhook) {
    const language = customer?.preferred_language ?? event.to?.language ?? 'ar';
    if (event.configuredWebhook && CONFIGURED_WEBHOOK_EVENTS.has(event.template)) {
      targets.push({
        channel: 'webhook',
        recipient: event.configuredWebhook,
        language,
        key: `${event.dedupKey}:webhook`,
        customerId,
      });
    }
    const endpoints = await db
      .selectFrom('webhook_endpoints')
      .select(['id', 'url', 'events'])
      .where('utility_id', '=', event.utilityId)
      .where('active', '=', true)
      .orderBy('created_at')
      .execute();
    for (const endpoint of endpoints) {
      if (!endpoint.events.includes(event.template)) continue;
      if (endpoint.url === event.configuredWebhook) continue;
      targets.push({
        channel: 'webhook',
        recipient: endpoint.url,
        language,
        key: `${event.dedupKey}:webhook:${endpoint.id}`,
        customerId,
      });
    }
  }
  return targets;
}

/** Writes the event's outbox rows (in the caller's transaction); returns the ids of the rows written. */
export async function notify<T extends TemplateName>(
  db: Queryable,
  event: NotifyEvent<T>,
): Promise<string[]> {
  const ids: string[] = [];
  for (const target of await audienceOf(db, event)) {
    const id = await enqueueNotification(db, {
      utilityId: event.utilityId,
      channel: target.channel,
      recipient: target.recipient,
      template: event.template,
      language: target.language,
      payload: event.payload,
      dedupKey: target.key,
      customerId: target.customerId,
      ...(event.notBefore === undefined ? {} : { notBefore: event.notBefore }),
    });
    if (id !== null) ids.push(id);
  }
  return ids;
}
