/**
 * Changes to who hears what, one transaction each with its audit row: a customer's channels and opt-out, and
 * the utility's webhook endpoints (a new one's signing secret is returned once and kept sealed at rest).
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { writeAudit } from '../accounts/audit.ts';
import { RasidError } from '../errors.ts';
import type { KeyStore } from '../store/keystore.ts';
import type { CustomerChannel, Database, UtilityId } from '../store/schema.ts';
import { customerNotifySettings, type EndpointRow, endpointColumns } from './queries.ts';
import { webhookSecretContext } from './registry.ts';

export interface NotifyPreferences {
  /** The channels the customer accepts, in order. */
  readonly channels: CustomerChannel[];
  /** No unsolicited messages (alerts, case news); requested ones still go. */
  readonly optOut: boolean;
}

/**
 * Sets a customer's channels, their order and opt-out, audited as `customer.notification_preferences` with
 * the settings before and after. An unknown customer is `not_found`.
 */
export async function setNotifyPreferences(
  db: Kysely<Database>,
  utilityId: UtilityId,
  customerId: string,
  prefs: NotifyPreferences,
  actor: string,
): Promise<void> {
  const before = await customerNotifySettings(db, utilityId, customerId);
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('customers')
      .set({ notify_channels: prefs.channels, notify_opt_out: prefs.optOut })
      .where('id', '=', before.id)
      .execute();
    await writeAudit(trx, {
      utilityId,
      actor,
      action: 'customer.notification_preferences',
      subject: `customer:${before.id}`,
      details: {
        from: { channels: before.notify_channels, optOut: before.notify_opt_out },
        to: { channels: prefs.channels, optOut: prefs.optOut },
      },
    });
  });
}

/**
 * Adds a webhook endpoint with the events it wants, audited as `webhook_endpoint.create`; its secret is made
 * here, sealed for the endpoint's row, and returned this once. An address already held is `conflict`.
 */
export async function createWebhookEndpoint(
  db: Kysely<Database>,
  keys: Pick<KeyStore, 'seal'>,
  utilityId: UtilityId,
  req: { readonly url: string; readonly events: readonly string[] },
  actor: string,
): Promise<EndpointRow & { secret: string }> {
  const secret = `whsec_${randomBytes(24).toString('base64url')}`;
  const row = await db.transaction().execute(async (trx) => {
    const exists = await trx
      .selectFrom('webhook_endpoints')
      .select('id')
      .where('utility_id', '=', utilityId)
      .where('url', '=', req.url)
      .executeTakeFirst();
    if (exists) throw new RasidError('conflict', 'url: an endpoint with this address exists');
    const id = crypto.randomUUID();
    const inserted = await trx
      .insertInto('webhook_endpoints')
      .values({
        id,
        utility_id: utilityId,
        url: req.url,
        events: [...new Set(req.events)],
        secret_box: keys.seal(webhookSecretContext(id), Buffer.from(secret, 'utf8')),
      })
      .returning(endpointColumns)
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      utilityId,
      actor,
      action: 'webhook_endpoint.create',
      subject: `webhook_endpoint:${id}`,
      details: { url: inserted.url, events: inserted.events },
    });
    return inserted;
  });
  return { ...row, secret };
}

/** Changes an endpoint's events or switches it off or on, audited as `webhook_endpoint.update`. */
export async function updateWebhookEndpoint(
  db: Kysely<Database>,
  utilityId: UtilityId,
  id: string,
  req: { readonly events?: readonly string[] | undefined; readonly active?: boolean | undefined },
  actor: string,
): Promise<EndpointRow> {
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('webhook_endpoints')
      .set({
        ...(req.events ? { events: [...new Set(req.events)] } : {}),
        ...(req.active === undefined ? {} : { active: req.active }),
      })
      .where('id', '=', id)
      .where('utility_id', '=', utilityId)
      .returning(endpointColumns)
      .executeTakeFirst();
    if (!updated) throw new RasidError('not_found', `webhook endpoint ${id} is unknown`);
    await writeAudit(trx, {
      utilityId,
      actor,
      action: 'webhook_endpoint.update',
      subject: `webhook_endpoint:${updated.id}`,
      details: { events: updated.events, active: updated.active },
    });
    return updated;
  });
}
