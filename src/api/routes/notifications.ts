/**
 * Notifications over HTTP (docs/notifications.md):
 *
 * - customer service: a customer's messages and their delivery state (queued, sent, delivered, failed),
 *   and the customer's channels, order and opt-out (each change audited);
 * - the utility's webhook endpoints: several, each with the events it wants and its own signing secret
 *   (shown once, sealed at rest), with the delivery log of each;
 * - providers' delivery reports: WhatsApp status webhooks (the GET handshake, then POSTs signed with
 *   X-Hub-Signature-256) and the HTTP SMS provider's reports at an address holding a secret token.
 *
 * The reads are the notify module's (src/notify/queries.ts), the changes its service (src/notify/service.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import { WEBHOOK_EVENTS } from '../../notify/audience.ts';
import { readHttpReceipt } from '../../notify/http-sms.ts';
import {
  customerDeliveries,
  customerNotifySettings,
  type DeliveryRow,
  type EndpointRow,
  endpointDeliveries,
  listWebhookEndpoints,
} from '../../notify/queries.ts';
import { recordReceipt } from '../../notify/receipts.ts';
import { createWebhookEndpoint, setNotifyPreferences, updateWebhookEndpoint } from '../../notify/service.ts';
import { statusesOf, verifyMetaSignature } from '../../notify/whatsapp.ts';
import type { KeyStore } from '../../store/keystore.ts';
import type { Database, OutboxState } from '../../store/schema.ts';
import { principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { actorFor, Paging } from './admin-shared.ts';

export interface NotificationRoutesOptions {
  readonly db: Kysely<Database>;
  readonly keys: KeyStore;
  readonly config: Pick<Config, 'whatsapp' | 'sms'>;
}

/** The outbox state as customer service reads it. */
const STATE_NAMES: Readonly<Record<OutboxState, 'queued' | 'sent' | 'delivered' | 'failed'>> = Object.freeze({
  pending: 'queued',
  sent: 'sent',
  delivered: 'delivered',
  failed: 'failed',
});

const CustomerChannel = z.enum(['sms', 'whatsapp', 'email']);
const Preferences = z.object({
  channels: z.array(CustomerChannel).max(3).describe('the channels the customer accepts, in order'),
  optOut: z.boolean().describe('no unsolicited messages (alerts, case news); requested ones still go'),
});

const Delivery = z.object({
  id: z.string(),
  channel: z.enum(['sms', 'whatsapp', 'email', 'webhook']),
  recipient: z.string(),
  template: z.string(),
  language: z.enum(['ar', 'en']),
  state: z.enum(['queued', 'sent', 'delivered', 'failed']),
  attempts: z.number(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
});

const Endpoint = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  active: z.boolean(),
  createdAt: z.string(),
});

function deliveryOut(r: DeliveryRow): z.infer<typeof Delivery> {
  return {
    id: String(r.id),
    channel: r.channel,
    recipient: r.recipient,
    template: r.template,
    language: r.language,
    state: STATE_NAMES[r.state],
    attempts: r.attempts,
    lastError: r.last_error,
    createdAt: r.created_at.toISOString(),
    sentAt: r.sent_at?.toISOString() ?? null,
    deliveredAt: r.delivered_at?.toISOString() ?? null,
  };
}

function endpointOut(r: EndpointRow): z.infer<typeof Endpoint> {
  return {
    id: r.id,
    url: r.url,
    events: r.events,
    active: r.active,
    createdAt: r.created_at.toISOString(),
  };
}

export const notificationRoutes: FastifyPluginAsync<NotificationRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  app.get(
    '/api/v1/customers/:customerId/notifications',
    {
      config: { access: ['operator', 'service'] },
      schema: {
        tags: ['notifications'],
        summary: "A customer's messages, newest first, with their delivery state",
        params: z.object({ customerId: z.uuid() }),
        querystring: z.object(Paging),
        response: { 200: z.object({ items: z.array(Delivery) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return {
        items: (await customerDeliveries(db, p.utilityId, req.params.customerId, req.query)).map(deliveryOut),
      };
    },
  );

  app.get(
    '/api/v1/customers/:customerId/notification-preferences',
    {
      config: { access: ['operator', 'service'] },
      schema: {
        tags: ['notifications'],
        summary: 'The channels a customer accepts, in order, and their opt-out',
        params: z.object({ customerId: z.uuid() }),
        response: { 200: Preferences.extend({ language: z.enum(['ar', 'en']) }) },
      },
    },
    async (req) => {
      const c = await customerNotifySettings(db, principalOf(req).utilityId, req.params.customerId);
      return { channels: c.notify_channels, optOut: c.notify_opt_out, language: c.preferred_language };
    },
  );

  app.put(
    '/api/v1/customers/:customerId/notification-preferences',
    {
      config: { access: ['operator', 'service'] },
      schema: {
        tags: ['notifications'],
        summary: "Set a customer's channels, their order and opt-out (audited)",
        params: z.object({ customerId: z.uuid() }),
        body: Preferences.refine((b) => new Set(b.channels).size === b.channels.length, {
          message: 'a channel appears twice',
          path: ['channels'],
        }),
        response: { 200: Preferences },
      },
    },
    async (req) => {
      const p = principalOf(req);
      await setNotifyPreferences(db, p.utilityId, req.params.customerId, req.body, actorFor(p).actor);
      return req.body;
    },
  );

  // ---- webhook endpoints ----

  app.post(
    '/api/v1/webhook-endpoints',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['notifications'],
        summary: 'Add a webhook endpoint with the events it wants; the answer holds its secret, shown once',
        body: z.object({
          url: z.url({ protocol: /^https?$/ }).max(2000),
          events: z.array(z.enum(WEBHOOK_EVENTS as [string, ...string[]])).min(1),
        }),
        response: { 201: Endpoint.extend({ secret: z.string() }) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const row = await createWebhookEndpoint(db, opts.keys, p.utilityId, req.body, actorFor(p).actor);
      return reply.status(201).send({ ...endpointOut(row), secret: row.secret });
    },
  );

  app.get(
    '/api/v1/webhook-endpoints',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['notifications'],
        summary: "The utility's webhook endpoints",
        response: { 200: z.object({ items: z.array(Endpoint) }) },
      },
    },
    async (req) => {
      return { items: (await listWebhookEndpoints(db, principalOf(req).utilityId)).map(endpointOut) };
    },
  );

  app.patch(
    '/api/v1/webhook-endpoints/:id',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['notifications'],
        summary: "Change an endpoint's events, or switch it off and on",
        params: z.object({ id: z.uuid() }),
        body: z.object({
          events: z
            .array(z.enum(WEBHOOK_EVENTS as [string, ...string[]]))
            .min(1)
            .optional(),
          active: z.boolean().optional(),
        }),
        response: { 200: Endpoint },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return endpointOut(
        await updateWebhookEndpoint(db, p.utilityId, req.params.id, req.body, actorFor(p).actor),
      );
    },
  );

  app.get(
    '/api/v1/webhook-endpoints/:id/deliveries',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['notifications'],
        summary: "An endpoint's delivery log, newest first: each event, its attempts, state and last error",
        params: z.object({ id: z.uuid() }),
        querystring: z.object(Paging),
        response: { 200: z.object({ items: z.array(Delivery) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return {
        items: (await endpointDeliveries(db, p.utilityId, req.params.id, req.query)).map(deliveryOut),
      };
    },
  );

  // ---- providers' delivery reports ----

  const wa = opts.config.whatsapp;
  app.get(
    '/api/v1/notify/whatsapp/webhook',
    {
      config: { access: 'public' },
      schema: {
        tags: ['notifications'],
        summary: "WhatsApp's webhook verification: echoes hub.challenge when hub.verify_token matches",
        querystring: z.object({
          'hub.mode': z.string().max(32),
          'hub.verify_token': z.string().max(200),
          'hub.challenge': z.string().max(200),
        }),
      },
    },
    async (req, reply) => {
      const token = wa?.verifyToken;
      const given = Buffer.from(req.query['hub.verify_token']);
      const ok =
        token !== undefined &&
        req.query['hub.mode'] === 'subscribe' &&
        given.length === Buffer.byteLength(token) &&
        timingSafeEqual(given, Buffer.from(token));
      if (!ok) throw new AppError('forbidden', 'the verify token does not match');
      return reply.type('text/plain').send(req.query['hub.challenge']);
    },
  );

  // The signed reports need the raw bytes: their own context with a buffer body parser.
  await fastify.register(async (raw) => {
    raw.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: 1_048_576 },
      (_req, body, done) => done(null, body),
    );
    raw.post(
      '/api/v1/notify/whatsapp/webhook',
      {
        config: { access: 'public' },
        schema: {
          tags: ['notifications'],
          summary: 'WhatsApp status webhook (X-Hub-Signature-256 verified)',
        },
      },
      async (req, reply) => {
        if (wa === undefined) throw new AppError('not_found', 'WhatsApp is not configured');
        const body = (req.body as Buffer).toString('utf8');
        const header = req.headers['x-hub-signature-256'];
        if (!verifyMetaSignature(wa.appSecret, typeof header === 'string' ? header : undefined, body)) {
          throw new AppError('unauthenticated', 'X-Hub-Signature-256 does not match the body');
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          throw new AppError('bad_json', 'the webhook body is not JSON');
        }
        for (const s of statusesOf(parsed)) {
          const state =
            s.status === 'delivered' || s.status === 'read'
              ? 'delivered'
              : s.status === 'failed'
                ? 'failed'
                : null;
          if (state === null) continue;
          await recordReceipt(db, {
            channel: 'whatsapp',
            providerRef: s.id,
            state,
            detail: s.detail,
            at: s.at,
          });
        }
        return reply.status(200).send({ received: true });
      },
    );
  });

  const http = opts.config.sms.http;
  app.post(
    '/api/v1/notify/sms/receipts/:token',
    {
      config: { access: 'public' },
      schema: {
        tags: ['notifications'],
        summary: "The HTTP SMS provider's delivery report (the address holds SMS_HTTP_RECEIPT_TOKEN)",
        params: z.object({ token: z.string().min(1).max(200) }),
        body: z.record(z.string(), z.unknown()),
      },
    },
    async (req, reply) => {
      const token = http.receiptToken;
      const given = Buffer.from(req.params.token);
      if (
        token === undefined ||
        given.length !== Buffer.byteLength(token) ||
        !timingSafeEqual(given, Buffer.from(token))
      ) {
        throw new AppError('not_found', 'no such receipt address');
      }
      const receipt = readHttpReceipt(req.body, {
        idPath: http.receiptIdPath,
        statusPath: http.receiptStatusPath,
        delivered: http.delivered,
        failed: http.failed,
      });
      if (receipt !== null) {
        await recordReceipt(db, {
          channel: 'sms',
          providerRef: receipt.id,
          state: receipt.state,
          detail: receipt.status,
          at: new Date(),
        });
      }
      return reply.status(200).send({ received: true });
    },
  );
};
