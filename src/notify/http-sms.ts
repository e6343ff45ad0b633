/**
 * SMS through an aggregator's HTTP API, configured rather than coded (docs/notifications.md): the URL and
 * method, an Authorization header, a body template with `{{to}}`, `{{text}}`, `{{from}}` and `{{id}}`
 * (the outbox id, for the provider's client reference) escaped for the content type, and the dotted path
 * of the message id in the JSON answer. A 2xx is accepted; 408, 429 and 5xx are retried; other statuses
 * fail. Delivery reports, when the provider sends them, are read with {@link readHttpReceipt}.
 */
import { DeliveryError, type SmsProvider } from './channels.ts';

export interface HttpSmsOptions {
  readonly url: string;
  readonly method: 'POST' | 'GET';
  readonly authorization?: string | undefined;
  readonly contentType: 'application/json' | 'application/x-www-form-urlencoded';
  readonly body: string;
  readonly from: string;
  readonly idPath?: string | undefined;
  readonly timeoutMs?: number;
}

/** The value at a dotted path (`messages.0.id`) of a parsed JSON document. */
export function atPath(value: unknown, path: string): unknown {
  let at: unknown = value;
  for (const key of path.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

function fill(template: string, values: Record<string, string>, encode: (s: string) => string): string {
  return template.replace(/\{\{(\w+)\}\}/g, (whole, name: string) =>
    Object.hasOwn(values, name) ? encode(values[name]!) : whole,
  );
}

/** A JSON string's inside: the value as JSON.stringify writes it, without the quotes. */
const jsonInside = (s: string) => JSON.stringify(s).slice(1, -1);

export class HttpSmsProvider implements SmsProvider {
  readonly #o: HttpSmsOptions;

  constructor(options: HttpSmsOptions) {
    this.#o = options;
  }

  async send(to: string, text: string, ref = ''): Promise<string | undefined> {
    const values = { to, to_digits: to.replace(/^\+/, ''), text, from: this.#o.from, id: ref };
    const url = fill(this.#o.url, values, encodeURIComponent);
    const body =
      this.#o.method === 'GET'
        ? undefined
        : fill(
            this.#o.body,
            values,
            this.#o.contentType === 'application/json' ? jsonInside : encodeURIComponent,
          );
    let response: Response;
    try {
      response = await fetch(url, {
        method: this.#o.method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': `${this.#o.contentType}; charset=utf-8` }),
          ...(this.#o.authorization ? { authorization: this.#o.authorization } : {}),
          accept: 'application/json',
        },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 15_000),
      });
    } catch (error) {
      throw new DeliveryError(`sms provider request failed: ${(error as Error).message}`);
    }
    const raw = await response.text();
    if (!response.ok) {
      const retry = response.status === 408 || response.status === 429 || response.status >= 500;
      throw new DeliveryError(`sms provider answered ${response.status}`, !retry);
    }
    if (this.#o.idPath === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new DeliveryError('sms provider answered without JSON; the message id cannot be read', true);
    }
    const id = atPath(parsed, this.#o.idPath);
    if (typeof id !== 'string' && typeof id !== 'number') {
      throw new DeliveryError(`sms provider's answer has no message id at ${this.#o.idPath}`, true);
    }
    return String(id);
  }
}

export interface HttpReceiptOptions {
  readonly idPath: string;
  readonly statusPath: string;
  readonly delivered: readonly string[];
  readonly failed: readonly string[];
}

/** A delivery report's message id and final state, or null when the report is not final or not readable. */
export function readHttpReceipt(
  body: unknown,
  o: HttpReceiptOptions,
): { id: string; state: 'delivered' | 'failed'; status: string } | null {
  const id = atPath(body, o.idPath);
  const status = atPath(body, o.statusPath);
  if ((typeof id !== 'string' && typeof id !== 'number') || typeof status !== 'string') return null;
  const word = status.toLowerCase();
  if (o.delivered.includes(word)) return { id: String(id), state: 'delivered', status };
  if (o.failed.includes(word)) return { id: String(id), state: 'failed', status };
  return null;
}
