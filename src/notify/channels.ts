/**
 * Delivery channels of the notifications outbox (STYLE.md practice 8: a small port, real adapters and a
 * test one side by side): SMS through an {@link SmsProvider}, e-mail over SMTP with nodemailer, and
 * webhooks to utility systems signed with HMAC-SHA256.
 *
 * A channel resolves when the message is accepted, and rejects with {@link DeliveryError}; `permanent`
 * says that retrying cannot help (the outbox then marks the row failed at once).
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { UtilityId } from '../store/schema.ts';
import type { RenderedMessage } from './templates.ts';
import { signWebhook } from './webhook-signature.ts';

export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(
    message: string,
    readonly permanent = false,
  ) {
    super(message);
  }
}

/** One message to deliver, already rendered, with the outbox row's identity. */
export interface Delivery {
  /** The outbox row id: receivers use it to drop a repeated delivery. */
  readonly id: string;
  readonly utilityId: UtilityId;
  readonly recipient: string;
  readonly template: string;
  readonly language: 'ar' | 'en';
  readonly payload: Record<string, unknown>;
  readonly message: RenderedMessage;
}

export interface Channel {
  deliver(delivery: Delivery): Promise<void>;
}

// ---- SMS ----

/** An SMS gateway. `to` is E.164 (+9627…); the text may be Arabic (the provider picks UCS-2). */
export interface SmsProvider {
  send(to: string, text: string): Promise<void>;
}

export interface InfoLogger {
  info(fields: Record<string, unknown>, message: string): void;
}

/** The default provider: writes each SMS to the log (development, demos, a site without a gateway yet). */
export class LogSmsProvider implements SmsProvider {
  readonly #logger: InfoLogger;
  constructor(options: { logger: InfoLogger }) {
    this.#logger = options.logger;
  }
  async send(to: string, text: string): Promise<void> {
    this.#logger.info({ to, text }, 'sms');
  }
}

/** Keeps every SMS in memory, in order (tests). */
export class MemorySmsProvider implements SmsProvider {
  readonly sent: { to: string; text: string }[] = [];
  async send(to: string, text: string): Promise<void> {
    this.sent.push({ to, text });
  }
}

const E164 = /^\+[1-9]\d{6,14}$/;

export class SmsChannel implements Channel {
  readonly #provider: SmsProvider;
  constructor(options: { provider: SmsProvider }) {
    this.#provider = options.provider;
  }
  async deliver(d: Delivery): Promise<void> {
    if (!E164.test(d.recipient)) throw new DeliveryError(`sms recipient is not E.164: ${d.recipient}`, true);
    await this.#provider.send(d.recipient, d.message.text);
  }
}

// ---- e-mail ----

export interface SmtpOptions {
  readonly host: string;
  readonly port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  readonly secure?: boolean;
  readonly user?: string;
  readonly password?: string;
  /** The From address, e.g. `"Rasid" <no-reply@utility.example>`. */
  readonly from: string;
  /** Never upgrade with STARTTLS (a local relay or a test sink). */
  readonly ignoreTls?: boolean;
}

export class EmailChannel implements Channel {
  readonly #transport: Transporter;
  readonly #from: string;

  constructor(options: SmtpOptions) {
    this.#from = options.from;
    this.#transport = nodemailer.createTransport({
      host: options.host,
      port: options.port,
      secure: options.secure ?? false,
      ignoreTLS: options.ignoreTls ?? false,
      ...(options.user === undefined ? {} : { auth: { user: options.user, pass: options.password ?? '' } }),
    });
  }

  async deliver(d: Delivery): Promise<void> {
    try {
      await this.#transport.sendMail({
        from: this.#from,
        to: d.recipient,
        subject: d.message.subject,
        text: d.message.text,
        headers: { 'Content-Language': d.language, 'X-Rasid-Notification': d.id },
      });
    } catch (error) {
      const code = (error as { responseCode?: number }).responseCode;
      // 5xx from the server: the address or the message is refused; 4xx and network errors are transient.
      throw new DeliveryError((error as Error).message, code !== undefined && code >= 500);
    }
  }

  close(): void {
    this.#transport.close();
  }
}

// ---- webhooks ----

/** The secret a utility shares with Rasid for webhooks to `url`; null: none configured (delivery fails). */
export type WebhookSecrets = (utilityId: UtilityId, url: string) => string | null;

export interface WebhookOptions {
  readonly secrets: WebhookSecrets;
  /** Unix seconds for the signature (tests pin it). */
  readonly now?: () => Date;
  /** Abort a request after this many ms (default 10 s). */
  readonly timeoutMs?: number;
}

/** The JSON body of a webhook. */
export interface WebhookBody {
  readonly id: string;
  readonly event: string;
  readonly language: 'ar' | 'en';
  readonly payload: Record<string, unknown>;
  readonly text: string;
}

/**
 * POSTs a JSON body with `Rasid-Signature: t=…,v1=…`, `Rasid-Event` and `Rasid-Delivery` (the outbox id,
 * for the receiver's deduplication). A 2xx is success; 408, 429 and 5xx are retried; other statuses fail.
 */
export class WebhookChannel implements Channel {
  readonly #secrets: WebhookSecrets;
  readonly #now: () => Date;
  readonly #timeoutMs: number;

  constructor(options: WebhookOptions) {
    this.#secrets = options.secrets;
    this.#now = options.now ?? (() => new Date());
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  async deliver(d: Delivery): Promise<void> {
    const secret = this.#secrets(d.utilityId, d.recipient);
    if (secret === null) throw new DeliveryError(`no webhook secret for ${d.recipient}`, true);
    const body: WebhookBody = {
      id: d.id,
      event: d.template,
      language: d.language,
      payload: d.payload,
      text: d.message.text,
    };
    const raw = JSON.stringify(body);
    const timestampS = Math.floor(this.#now().getTime() / 1000);
    let response: Response;
    try {
      response = await fetch(d.recipient, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'rasid-signature': signWebhook(secret, timestampS, raw),
          'rasid-event': d.template,
          'rasid-delivery': d.id,
        },
        body: raw,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw new DeliveryError(`webhook request failed: ${(error as Error).message}`);
    }
    await response.body?.cancel();
    if (response.ok) return;
    const retry = response.status === 408 || response.status === 429 || response.status >= 500;
    throw new DeliveryError(`webhook answered ${response.status}`, !retry);
  }
}
