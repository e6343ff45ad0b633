/**
 * WhatsApp through the WhatsApp Business Cloud API. A business may open a conversation only with an
 * approved template, so each Rasid message is sent as the template `<prefix><name>` (rasid_low_credit …)
 * in the customer's language (`ar` or `en`), its body parameters being the message's payload fields in
 * the order docs/notifications.md lists them:
 *
 *   POST {apiBase}/{phone-number-id}/messages   Authorization: Bearer <access token>
 *   { messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'template',
 *     template: { name, language: { code }, components: [{ type: 'body', parameters: [{ type: 'text', text }] }] },
 *     biz_opaque_callback_data: <outbox id> }
 *   → 200 { messaging_product, contacts: [{ input, wa_id }], messages: [{ id: 'wamid.…' }] }
 *   → 4xx/5xx { error: { message, type, code, error_subcode, fbtrace_id } }
 *
 * Status webhooks (`entry[].changes[].value.statuses[]`: sent, delivered, read, failed) are signed with the
 * app secret in `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`; Meta first checks the
 * address with a GET carrying `hub.mode=subscribe`, `hub.verify_token` and `hub.challenge`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { type Accepted, type Channel, type Delivery, DeliveryError } from './channels.ts';
import { groupTokenDigits, TEMPLATE_SCHEMAS, type TemplateName } from './templates.ts';

export interface WhatsAppOptions {
  readonly phoneNumberId: string;
  readonly accessToken: string;
  /** e.g. https://graph.facebook.com/v23.0 */
  readonly apiBase: string;
  readonly templatePrefix: string;
  readonly timeoutMs?: number;
}

/** Error codes after which the same request may succeed later (rate limits, temporary failures). */
const TRANSIENT_CODES = new Set([1, 2, 4, 17, 341, 80007, 130429, 131000, 131016, 131056, 133004]);

/**
 * The template's body parameters: the payload's fields in schema order, as text. An approved template has a
 * fixed number of parameters, so optional extras (a receipt link, a sale id) are not among them.
 */
export function templateParameters(template: TemplateName, payload: Record<string, unknown>): string[] {
  const shape: Record<string, z.ZodType> = TEMPLATE_SCHEMAS[template].shape;
  const fields = Object.keys(shape).filter((field) => !(shape[field] instanceof z.ZodOptional));
  return fields.map((field) => {
    const value = payload[field];
    if (value === null || value === undefined) return '-';
    if (field === 'token' && typeof value === 'string') return groupTokenDigits(value);
    return String(value);
  });
}

export class WhatsAppChannel implements Channel {
  readonly #o: WhatsAppOptions;

  constructor(options: WhatsAppOptions) {
    this.#o = options;
  }

  async deliver(d: Delivery): Promise<Accepted> {
    if (!/^\+[1-9]\d{6,14}$/.test(d.recipient)) {
      throw new DeliveryError(`whatsapp recipient is not E.164: ${d.recipient}`, true);
    }
    const body = {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: d.recipient.slice(1),
      type: 'template',
      template: {
        name: `${this.#o.templatePrefix}${d.template}`,
        language: { code: d.language },
        components: [
          {
            type: 'body',
            parameters: templateParameters(d.template as TemplateName, d.payload).map((text) => ({
              type: 'text',
              text,
            })),
          },
        ],
      },
      biz_opaque_callback_data: d.id,
    };
    let response: Response;
    try {
      response = await fetch(`${this.#o.apiBase.replace(/\/$/, '')}/${this.#o.phoneNumberId}/messages`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.#o.accessToken}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 15_000),
      });
    } catch (error) {
      throw new DeliveryError(`whatsapp request failed: ${(error as Error).message}`);
    }
    const answer = (await response.json().catch(() => null)) as {
      messages?: { id?: string }[];
      error?: { code?: number; message?: string };
    } | null;
    if (response.ok) {
      const id = answer?.messages?.[0]?.id;
      if (typeof id !== 'string') throw new DeliveryError('whatsapp answered without a message id');
      return { providerRef: id };
    }
    const code = answer?.error?.code;
    const transient =
      response.status >= 500 || response.status === 429 || (code !== undefined && TRANSIENT_CODES.has(code));
    throw new DeliveryError(
      `whatsapp answered ${response.status}${code === undefined ? '' : ` (code ${code})`}: ${answer?.error?.message ?? ''}`.trim(),
      !transient,
    );
  }
}

/** Verifies `X-Hub-Signature-256` against the raw body, in constant time. */
export function verifyMetaSignature(appSecret: string, header: string | undefined, rawBody: string): boolean {
  if (header === undefined || !/^sha256=[0-9a-f]{64}$/.test(header)) return false;
  const expected = createHmac('sha256', appSecret).update(rawBody, 'utf8').digest();
  return timingSafeEqual(Buffer.from(header.slice(7), 'hex'), expected);
}

export interface WhatsAppStatus {
  readonly id: string;
  readonly status: string;
  readonly detail: string;
  readonly at: Date;
}

/** The message statuses in a webhook body (entry → changes → value → statuses). */
export function statusesOf(body: unknown): WhatsAppStatus[] {
  const out: WhatsAppStatus[] = [];
  const entries = (body as { entry?: unknown })?.entry;
  if (!Array.isArray(entries)) return out;
  for (const entry of entries) {
    for (const change of (entry as { changes?: unknown[] })?.changes ?? []) {
      const statuses = (change as { value?: { statuses?: unknown[] } })?.value?.statuses ?? [];
      for (const s of statuses) {
        const st = s as {
          id?: unknown;
          status?: unknown;
          timestamp?: unknown;
          errors?: { code?: number; title?: string }[];
        };
        if (typeof st.id !== 'string' || typeof st.status !== 'string') continue;
        const seconds = Number(st.timestamp);
        const error = st.errors?.[0];
        out.push({
          id: st.id,
          status: st.status,
          detail: error === undefined ? st.status : `${error.code ?? ''} ${error.title ?? ''}`.trim(),
          at: Number.isFinite(seconds) && seconds > 0 ? new Date(seconds * 1000) : new Date(),
        });
      }
    }
  }
  return out;
}
