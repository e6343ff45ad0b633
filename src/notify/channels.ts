/**
 * Delivery channels of the notifications outbox (docs/style.md practice 8: a small port, real adapters and a
 * test one side by side): SMS through an {@link SmsProvider}, e-mail over SMTP with nodemailer, and
 * webhooks to utility systems signed with HMAC-SHA256.
 *
 * A channel resolves when the message is accepted, and rejects with {@link DeliveryError}; `permanent`
 * says that retrying cannot help (the outbox then marks the row failed at once).
 */
import { appendFile } from 'node:fs/promises';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import type { Log } from '../log.ts';
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

/** What a provider tells of an accepted message: its id there, to match the delivery receipt later. */
export interface Accepted {
  readonly providerRef?: string;
}

export interface Channel {
  // biome-ignore lint/suspicious/noConfusingVoidType: a channel without provider ids resolves with nothing.
  deliver(delivery: Delivery): Promise<void | Accepted>;
}

// ---- SMS ----

/**
 * An SMS gateway. `to` is E.164 (+9627…); the text may be Arabic (the provider picks UCS-2). Resolves with
 * the provider's message id when it gives one (the delivery receipt names it); `ref` is the outbox id.
 */
export interface SmsProvider {
  // biome-ignore lint/suspicious/noConfusingVoidType: a provider without message ids resolves with nothing.
  send(to: string, text: string, ref?: string): Promise<void | string>;
}

export type InfoLogger = Pick<Log, 'info'>;

/** Runs of six or more digits (Latin or Arabic-Indic): one-time codes and tokens, masked in the log. */
const SECRET_DIGITS = /[0-9\u0660-\u0669\u06f0-\u06f9]{6,}/g;

/** The text with every run of six or more digits replaced by as many `•`. */
export function maskDigits(text: string): string {
  return text.replace(SECRET_DIGITS, (m) => '•'.repeat(m.length));
}

/**
 * The default provider (development, demos, a site without a gateway yet): writes each SMS to the log with
 * its codes masked, and, when given an `inbox` file (development only), the whole message as a JSON line to
 * that file, readable by its owner only: the developer's phone.
 */
export class LogSmsProvider implements SmsProvider {
  readonly #logger: InfoLogger;
  readonly #inbox: string | undefined;
  constructor(options: { logger: InfoLogger; inbox?: string }) {
    this.#logger = options.logger;
    this.#inbox = options.inbox;
  }
  async send(to: string, text: string): Promise<void> {
    if (this.#inbox !== undefined) {
      await appendFile(this.#inbox, `${JSON.stringify({ at: new Date().toISOString(), to, text })}\n`, {
        mode: 0o600,
      });
    }
    this.#logger.info({ to, text: maskDigits(text), ...(this.#inbox ? { inbox: this.#inbox } : {}) }, 'sms');
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
  async deliver(d: Delivery): Promise<Accepted> {
    if (!E164.test(d.recipient)) throw new DeliveryError(`sms recipient is not E.164: ${d.recipient}`, true);
    const ref = await this.#provider.send(d.recipient, d.message.text, d.id);
    return typeof ref === 'string' ? { providerRef: ref } : {};
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

/** The nodemailer transport for these SMTP settings (every e-mail Rasid sends goes through one). */
export function smtpTransport(options: SmtpOptions): Transporter {
  return nodemailer.createTransport({
    host: options.host,
    port: options.port,
    secure: options.secure ?? false,
    ignoreTLS: options.ignoreTls ?? false,
    ...(options.user === undefined ? {} : { auth: { user: options.user, pass: options.password ?? '' } }),
  });
}

/** Sends a delivery as one e-mail (with optional attachments), mapping SMTP refusals to a DeliveryError. */
export async function sendDeliveryMail(
  transport: Transporter,
  from: string,
  d: Delivery,
  attachments?: SendMailOptions['attachments'],
): Promise<void> {
  try {
    await transport.sendMail({
      from,
      to: d.recipient,
      subject: d.message.subject,
      text: d.message.text,
      headers: { 'Content-Language': d.language, 'X-Rasid-Notification': d.id },
      ...(attachments === undefined ? {} : { attachments }),
    });
  } catch (error) {
    const code = (error as { responseCode?: number }).responseCode;
    // 5xx from the server: the address or the message is refused; 4xx and network errors are transient.
    throw new DeliveryError((error as Error).message, code !== undefined && code >= 500);
  }
}

export class EmailChannel implements Channel {
  readonly #transport: Transporter;
  readonly #from: string;

  constructor(options: SmtpOptions) {
    this.#from = options.from;
    this.#transport = smtpTransport(options);
  }

  async deliver(d: Delivery): Promise<void> {
    await sendDeliveryMail(this.#transport, this.#from, d);
  }

  close(): void {
    this.#transport.close();
  }
}

// ---- webhooks ----

/** The secret a utility shares with Rasid for webhooks to `url`; null: none configured (delivery fails). */
export type WebhookSecrets = (utilityId: UtilityId, url: string) => string | null | Promise<string | null>;

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
    const secret = await this.#secrets(d.utilityId, d.recipient);
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
