/**
 * The reads of notifications for customer service and the utility's systems: a customer's channels and
 * opt-out, a customer's messages with their delivery state, the utility's webhook endpoints and each one's
 * delivery log (docs/notifications.md).
 */
import { RasidError } from '../errors.ts';
import type { Queryable } from '../store/ledger.ts';
import type {
  CustomerChannel,
  CustomerId,
  Language,
  OutboxChannel,
  OutboxState,
  UtilityId,
} from '../store/schema.ts';

export interface Page {
  readonly limit: number;
  readonly offset: number;
}

/** A customer's notification settings and language. */
export interface CustomerNotifySettings {
  id: CustomerId;
  notify_channels: CustomerChannel[];
  notify_opt_out: boolean;
  preferred_language: Language;
}

/** A customer's channels (in order), opt-out and language, or `not_found`. */
export async function customerNotifySettings(
  db: Queryable,
  utilityId: UtilityId,
  id: string,
): Promise<CustomerNotifySettings> {
  const row = await db
    .selectFrom('customers')
    .select(['id', 'notify_channels', 'notify_opt_out', 'preferred_language'])
    .where('id', '=', id as CustomerId)
    .where('utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!row) throw new RasidError('not_found', `customer ${id} is unknown`);
  return row;
}

/** A message of the outbox with its delivery state. */
export interface DeliveryRow {
  id: bigint;
  channel: OutboxChannel;
  recipient: string;
  template: string;
  language: Language;
  state: OutboxState;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  sent_at: Date | null;
  delivered_at: Date | null;
}

const deliveryColumns = [
  'id',
  'channel',
  'recipient',
  'template',
  'language',
  'state',
  'attempts',
  'last_error',
  'created_at',
  'sent_at',
  'delivered_at',
] as const;

/** A customer's messages, newest first (not what the utility's systems heard); an unknown customer `not_found`. */
export async function customerDeliveries(
  db: Queryable,
  utilityId: UtilityId,
  customerId: string,
  page: Page,
): Promise<DeliveryRow[]> {
  await customerNotifySettings(db, utilityId, customerId);
  return (
    db
      .selectFrom('notifications_outbox')
      .select(deliveryColumns)
      .where('utility_id', '=', utilityId)
      .where('customer_id', '=', customerId as CustomerId)
      // The messages the customer gets; what the utility's systems heard is in each endpoint's log.
      .where('channel', '!=', 'webhook')
      .orderBy('id', 'desc')
      .limit(page.limit)
      .offset(page.offset)
      .execute()
  );
}

/** A webhook endpoint of the utility (its secret stays sealed). */
export interface EndpointRow {
  id: string;
  url: string;
  events: string[];
  active: boolean;
  created_at: Date;
}

export const endpointColumns = ['id', 'url', 'events', 'active', 'created_at'] as const;

/** The utility's webhook endpoints, oldest first. */
export async function listWebhookEndpoints(db: Queryable, utilityId: UtilityId): Promise<EndpointRow[]> {
  return db
    .selectFrom('webhook_endpoints')
    .select(endpointColumns)
    .where('utility_id', '=', utilityId)
    .orderBy('created_at')
    .execute();
}

/** An endpoint's delivery log, newest first; an unknown endpoint `not_found`. */
export async function endpointDeliveries(
  db: Queryable,
  utilityId: UtilityId,
  endpointId: string,
  page: Page,
): Promise<DeliveryRow[]> {
  const endpoint = await db
    .selectFrom('webhook_endpoints')
    .select('url')
    .where('id', '=', endpointId)
    .where('utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!endpoint) throw new RasidError('not_found', `webhook endpoint ${endpointId} is unknown`);
  return db
    .selectFrom('notifications_outbox')
    .select(deliveryColumns)
    .where('utility_id', '=', utilityId)
    .where('channel', '=', 'webhook')
    .where('recipient', '=', endpoint.url)
    .orderBy('id', 'desc')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
}
