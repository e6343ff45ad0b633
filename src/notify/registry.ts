/**
 * The notification channels, in one list: to add a channel, add its entry here (and its name to the
 * outbox's channel check). Each entry says what address it sends to and how it is opened from the
 * configuration; SMS has its own small list of providers (log, SMPP, HTTP). Which channel a message takes
 * is not decided here but in audience.ts.
 */
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import type { Log } from '../log.ts';
import { ReceiptEmailChannel } from '../receipts/email.ts';
import type { KeyStore } from '../store/keystore.ts';
import type { Database, OutboxChannel, UtilityId } from '../store/schema.ts';
import {
  type Channel,
  EmailChannel,
  LogSmsProvider,
  SmsChannel,
  type SmsProvider,
  WebhookChannel,
} from './channels.ts';
import { HttpSmsProvider } from './http-sms.ts';
import { type Receipt, recordReceipt } from './receipts.ts';
import { SmppSmsProvider } from './smpp.ts';
import { WhatsAppChannel } from './whatsapp.ts';

export interface ChannelLogger extends Pick<Log, 'info' | 'warn'> {
  child(bindings: Record<string, unknown>): ChannelLogger;
}

export interface ChannelContext {
  readonly config: Config;
  readonly db: Kysely<Database>;
  readonly keys: KeyStore;
  readonly logger: ChannelLogger;
}

export interface OpenedChannel {
  readonly channel: Channel;
  /** The SMPP provider when SMS go over SMPP (its link state for /metrics and tests). */
  readonly smpp?: SmppSmsProvider;
  close?(): Promise<void>;
}

export interface ChannelDefinition {
  readonly name: OutboxChannel;
  /** What the recipient of a row is. */
  readonly address: 'phone' | 'email' | 'url';
  /** Opens the channel from the configuration; null when it is not configured on this node. */
  open(ctx: ChannelContext): Promise<OpenedChannel | null>;
}

/** Keeps a provider's delivery receipt; a receipt that cannot be written is logged, never thrown. */
export function receiptSink(ctx: ChannelContext): (receipt: Receipt) => void {
  return (receipt) => {
    recordReceipt(ctx.db, receipt).catch((err: unknown) =>
      ctx.logger.warn(
        { err: (err as Error).message, channel: receipt.channel },
        'delivery receipt not recorded',
      ),
    );
  };
}

export type SmsProviderName = Config['sms']['provider'];

/** SMS providers, by the name SMS_PROVIDER gives. */
export const SMS_PROVIDERS: {
  readonly [N in SmsProviderName]: (
    ctx: ChannelContext,
  ) => Promise<{ provider: SmsProvider; smpp?: SmppSmsProvider; close?(): Promise<void> }>;
} = {
  log: async (ctx) => {
    if (ctx.config.nodeEnv === 'production') {
      ctx.logger.warn(
        { channel: 'sms' },
        'SMS_PROVIDER=log in production: no SMS reaches a phone (set smpp or http)',
      );
    }
    return {
      provider: new LogSmsProvider({
        logger: ctx.logger.child({ channel: 'sms' }),
        // Outside production a developer reads whole messages (codes too) from this file, never the log.
        ...(ctx.config.nodeEnv === 'production'
          ? {}
          : { inbox: join(ctx.config.dataDir, 'sms-inbox.jsonl') }),
      }),
    };
  },
  http: async (ctx) => ({ provider: new HttpSmsProvider(ctx.config.sms.http) }),
  smpp: async (ctx) => {
    const o = ctx.config.sms.smpp;
    const sink = receiptSink(ctx);
    const smpp = new SmppSmsProvider({
      url: o.url,
      systemId: o.systemId,
      password: o.password,
      ...(o.systemType === undefined ? {} : { systemType: o.systemType }),
      sourceAddr: o.sourceAddr,
      enquireLinkMs: o.enquireLinkMs,
      logger: ctx.logger.child({ channel: 'sms', provider: 'smpp' }),
      onReceipt: (id, state, detail) =>
        sink({ channel: 'sms', providerRef: id, state, detail, at: new Date() }),
    });
    // Bind in the background: an SMSC that is down must not hold up Rasid's start (messages wait for it).
    void smpp.start();
    return { provider: smpp, smpp, close: () => smpp.close() };
  },
};

/** The webhook secret of an endpoint: NOTIFY_WEBHOOK_SECRET for NOTIFY_WEBHOOK_URL, else the endpoint's own. */
export function webhookSecrets(ctx: ChannelContext) {
  const configured = ctx.config.webhook;
  return async (utilityId: UtilityId, url: string): Promise<string | null> => {
    if (configured.url !== undefined && url === configured.url) return configured.secret ?? null;
    const row = await ctx.db
      .selectFrom('webhook_endpoints')
      .select(['id', 'secret_box'])
      .where('utility_id', '=', utilityId)
      .where('url', '=', url)
      .executeTakeFirst();
    if (row === undefined) return null;
    return ctx.keys.open(webhookSecretContext(row.id), row.secret_box).reveal().toString('utf8');
  };
}

/** The sealing context of an endpoint's secret: the box opens on its own row only. */
export function webhookSecretContext(endpointId: string): string {
  return `webhook_endpoints:${endpointId}`;
}

export const CHANNELS: readonly ChannelDefinition[] = Object.freeze([
  {
    name: 'sms',
    address: 'phone',
    async open(ctx) {
      const opened = await SMS_PROVIDERS[ctx.config.sms.provider](ctx);
      return {
        channel: new SmsChannel({ provider: opened.provider }),
        ...(opened.smpp ? { smpp: opened.smpp } : {}),
        ...(opened.close ? { close: opened.close } : {}),
      };
    },
  },
  {
    name: 'whatsapp',
    address: 'phone',
    async open(ctx) {
      const wa = ctx.config.whatsapp;
      return wa === undefined ? null : { channel: new WhatsAppChannel(wa) };
    },
  },
  {
    name: 'email',
    address: 'email',
    async open(ctx) {
      const { url, from } = ctx.config.smtp;
      if (url === undefined) return null;
      const smtp = smtpOptions(url, from);
      const inner = new EmailChannel(smtp);
      // Receipt e-mails carry their PDF; every other e-mail goes through the plain channel.
      const channel = new ReceiptEmailChannel({ db: ctx.db, smtp, inner });
      return { channel, close: async () => channel.close() };
    },
  },
  {
    name: 'webhook',
    address: 'url',
    async open(ctx) {
      return { channel: new WebhookChannel({ secrets: webhookSecrets(ctx) }) };
    },
  },
] satisfies ChannelDefinition[]);

export interface OpenChannels {
  readonly channels: Partial<Record<OutboxChannel, Channel>>;
  readonly smpp: SmppSmsProvider | null;
  close(): Promise<void>;
}

/** Opens every configured channel. */
export async function openChannels(ctx: ChannelContext): Promise<OpenChannels> {
  const channels: Partial<Record<OutboxChannel, Channel>> = {};
  const closers: (() => Promise<void>)[] = [];
  let smpp: SmppSmsProvider | null = null;
  for (const definition of CHANNELS) {
    const opened = await definition.open(ctx);
    if (opened === null) continue;
    channels[definition.name] = opened.channel;
    if (opened.smpp) smpp = opened.smpp;
    if (opened.close) closers.push(opened.close);
  }
  return {
    channels,
    smpp,
    async close() {
      for (const close of closers.reverse()) await close().catch(() => {});
    },
  };
}

/** SMTP settings from `smtp://user:pass@host:port` (or `smtps://` for TLS from the first byte). */
export function smtpOptions(url: string, from: string) {
  const u = new URL(url);
  const secure = u.protocol === 'smtps:';
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    ...(u.username ? { user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } : {}),
    from,
  };
}
