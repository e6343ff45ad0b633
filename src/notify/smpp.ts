/**
 * SMS over SMPP 3.4 (the interface every operator's SMS centre offers), with the `smpp` package:
 *
 * - one transceiver bind (`bind_transceiver`): submits go out and delivery receipts come back on it;
 * - GSM 03.38 text as the SMSC's default alphabet, anything else (Arabic) as UCS-2 (`data_coding` 8);
 *   a long text is split into parts carrying a concatenation UDH (8-bit reference, part count, part
 *   number), 153 GSM characters or 67 UCS-2 code units a part;
 * - `enquire_link` every `enquireLinkMs`; no answer in time drops the link;
 * - a dropped link or a failed bind is retried with exponential backoff (`reconnect`), and a message whose
 *   parts were not all acknowledged waits for the new bind and submits only the parts the SMSC has not
 *   acknowledged: a part is accepted only with its `submit_sm_resp`, so none is lost and none sent twice;
 * - `ESME_RTHROTTLED` and `ESME_RMSGQFUL` pause every submit on the bind for `throttleMs` (doubling while
 *   the SMSC keeps refusing), then resubmit the refused part;
 * - `deliver_sm` receipts (esm_class 0x04) become `onReceipt(messageId, 'delivered' | 'failed')`; a long
 *   message is delivered when every part is, failed when any part fails.
 *
 * The message text never reaches the log (a sign-in code or a token may be in it).
 */
import smpp, { type PDU, type Session } from 'smpp';
import type { Log } from '../log.ts';
import { DeliveryError, type SmsProvider } from './channels.ts';

export type SmppLogger = Pick<Log, 'info' | 'warn'>;

export type ReceiptState = 'delivered' | 'failed';

export interface SmppOptions {
  /** `smpp://host:port` (or `ssmpp://` for TLS). */
  readonly url: string;
  readonly systemId: string;
  readonly password: string;
  readonly systemType?: string;
  /** The sender: a short code, a number, or an alphanumeric sender id the operator registered. */
  readonly sourceAddr: string;
  /** Milliseconds between enquire_link PDUs (default 30 s). */
  readonly enquireLinkMs?: number;
  /** How long a PDU's answer may take before the link is dropped (default 10 s). */
  readonly responseTimeoutMs?: number;
  /** How long a message may wait for a bound link before the outbox retries it later (default 30 s). */
  readonly submitTimeoutMs?: number;
  /** Backoff of reconnects: first wait, longest wait (default 500 ms, 30 s). */
  readonly reconnect?: { readonly initialMs: number; readonly maxMs: number };
  /** First pause after a throttling error (default 1 s). */
  readonly throttleMs?: number;
  readonly onReceipt?: (messageId: string, state: ReceiptState, detail: string) => void;
  readonly logger?: SmppLogger;
}

/** The parts of one SMS, each to go in one submit_sm. */
export interface SmsPart {
  readonly dataCoding: 0 | 8;
  /** The UDH (empty for a single-part message). */
  readonly udh: Buffer;
  /** The encoded text of this part. */
  readonly body: Buffer;
}

const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§' +
  '¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_SET = new Set(GSM_BASIC);

/** Whether the text fits the GSM 03.38 basic alphabet (one septet a character). */
export function isGsmText(text: string): boolean {
  for (const c of text) if (!GSM_SET.has(c)) return false;
  return true;
}

/**
 * Splits a text into SMS parts: GSM up to 160 characters in one part, else 153 a part; UCS-2 up to 70
 * code units, else 67 a part, never between the two halves of a surrogate pair. `reference` is the
 * concatenation reference shared by the parts (0–255).
 */
export function splitSms(text: string, reference: number): SmsPart[] {
  const gsm = isGsmText(text);
  const single = gsm ? 160 : 70;
  const each = gsm ? 153 : 67;
  const encode = (s: string): Buffer => (gsm ? smpp.encodings.ASCII.encode(s) : ucs2(s));
  if (text.length <= single) return [{ dataCoding: gsm ? 0 : 8, udh: Buffer.alloc(0), body: encode(text) }];
  const chunks: string[] = [];
  let at = 0;
  while (at < text.length) {
    let end = Math.min(text.length, at + each);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    chunks.push(text.slice(at, end));
    at = end;
  }
  if (chunks.length > 255) throw new DeliveryError(`sms of ${chunks.length} parts is too long`, true);
  return chunks.map((chunk, i) => ({
    dataCoding: gsm ? 0 : 8,
    udh: Buffer.from([0x05, 0x00, 0x03, reference & 0xff, chunks.length, i + 1]),
    body: encode(chunk),
  }));
}

function ucs2(text: string): Buffer {
  return Buffer.from(text, 'utf16le').swap16();
}

/** stat:… of a text receipt ("id:… sub:… dlvrd:… submit date:… done date:… stat:DELIVRD err:000"). */
const FINAL_STATES: Readonly<Record<string, ReceiptState>> = Object.freeze({
  DELIVRD: 'delivered',
  UNDELIV: 'failed',
  EXPIRED: 'failed',
  DELETED: 'failed',
  REJECTD: 'failed',
});
/** message_state TLV values (SMPP 3.4 §5.2.28): 2 delivered; 3 expired, 4 deleted, 5 undeliverable, 8 rejected. */
const TLV_STATES: Readonly<Record<number, string>> = Object.freeze({
  2: 'DELIVRD',
  3: 'EXPIRED',
  4: 'DELETED',
  5: 'UNDELIV',
  8: 'REJECTD',
});

/** The receipted message id and final state of a deliver_sm receipt, or null when it is not final. */
export function parseReceipt(pdu: PDU): { id: string; stat: string; state: ReceiptState } | null {
  const text = pdu.short_message?.message;
  const fromText = typeof text === 'string' ? text : Buffer.isBuffer(text) ? text.toString('latin1') : '';
  const id =
    typeof pdu.receipted_message_id === 'string' && pdu.receipted_message_id !== ''
      ? pdu.receipted_message_id
      : /(?:^|\s)id:(\S+)/i.exec(fromText)?.[1];
  const stat =
    typeof pdu.message_state === 'number' && TLV_STATES[pdu.message_state] !== undefined
      ? TLV_STATES[pdu.message_state]!
      : /(?:^|\s)stat:(\w+)/i.exec(fromText)?.[1]?.toUpperCase();
  if (id === undefined || stat === undefined) return null;
  const state = FINAL_STATES[stat];
  return state === undefined ? null : { id, stat, state };
}

interface Pending {
  resolve(id: string): void;
  reject(error: Error): void;
}

/** The link, not the message, is at fault (dropped, unbound, throttled): submit again on this bind or the next. */
class LinkError extends DeliveryError {}

/** A long message's parts, to turn the parts' receipts into one receipt for the first part's id. */
interface PartGroup {
  first: string;
  readonly total: number;
  delivered: number;
  done: boolean;
}

export class SmppSmsProvider implements SmsProvider {
  readonly #o: Required<Omit<SmppOptions, 'onReceipt' | 'logger' | 'systemType'>> & SmppOptions;
  #session: Session | null = null;
  #bound = false;
  #closed = false;
  #attempt = 0;
  #reference = Math.floor(Math.random() * 256);
  #reconnectTimer: NodeJS.Timeout | undefined;
  #enquireTimer: NodeJS.Timeout | undefined;
  #throttledUntil = 0;
  #throttleStep = 0;
  #waiters: (() => void)[] = [];
  /** Submits sent on the current bind and not yet answered, by sequence number. */
  readonly #inFlight = new Map<number, { pending: Pending; timer: NodeJS.Timeout }>();
  readonly #groups = new Map<string, PartGroup>();
  /** Counters for /metrics and tests: binds made, submits answered, throttling errors met. */
  readonly stats = { binds: 0, submitted: 0, throttled: 0, receipts: 0 };

  constructor(options: SmppOptions) {
    this.#o = {
      enquireLinkMs: 30_000,
      responseTimeoutMs: 10_000,
      submitTimeoutMs: 30_000,
      reconnect: { initialMs: 500, maxMs: 30_000 },
      throttleMs: 1_000,
      ...options,
    };
  }

  /** Connects and binds; resolves once bound (or keeps retrying in the background when it cannot). */
  start(): Promise<void> {
    this.#connect();
    return this.#whenBound(this.#o.submitTimeoutMs).catch(() => {});
  }

  get bound(): boolean {
    return this.#bound;
  }

  async send(to: string, text: string): Promise<string> {
    const parts = splitSms(text, this.#nextReference());
    const deadline = Date.now() + this.#o.submitTimeoutMs;
    // A part's receipt can come in the same read as its submit_sm_resp: each part joins its group as the
    // answer is read, before any receipt naming it.
    const group: PartGroup = { first: '', total: parts.length, delivered: 0, done: false };
    const accepted = (id: string) => {
      if (group.first === '') group.first = id;
      if (parts.length > 1) this.#groups.set(id, group);
    };
    for (const part of parts) await this.#submitPart(to, part, deadline, accepted);
    return group.first;
  }

  /** Unbinds and closes the link; no reconnect afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#enquireTimer);
    const session = this.#session;
    this.#session = null;
    this.#bound = false;
    this.#failInFlight(new DeliveryError('smpp provider closed'));
    for (const wake of this.#waiters.splice(0)) wake();
    if (session === null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => session.destroy(() => resolve()), 1_000);
      session.unbind(() => {
        clearTimeout(timer);
        session.close(() => resolve());
      });
    }).catch(() => {});
  }

  #nextReference(): number {
    this.#reference = (this.#reference + 1) & 0xff;
    return this.#reference;
  }

  /** Submits one part until the SMSC acknowledges it, across reconnects and throttling, until `deadline`. */
  async #submitPart(
    to: string,
    part: SmsPart,
    deadline: number,
    accepted: (id: string) => void,
  ): Promise<string> {
    for (;;) {
      if (this.#closed) throw new DeliveryError('smpp provider closed');
      const wait = deadline - Date.now();
      if (wait <= 0) throw new DeliveryError('smpp: no bound link to the SMSC in time');
      await this.#whenBound(wait);
      const throttle = this.#throttledUntil - Date.now();
      if (throttle > 0) {
        await sleep(Math.min(throttle, Math.max(0, deadline - Date.now())));
        continue;
      }
      const status = await this.#submitOnce(to, part, accepted).catch((error: Error) => error);
      if (typeof status === 'string') {
        this.#throttleStep = 0;
        return status;
      }
      // A link dropped or a throttling answer: wait for the next bind or the pause, then try this part again;
      // anything else goes back to the outbox (retried later with its backoff, or failed when permanent).
      if (!(status instanceof LinkError)) throw status;
    }
  }

  #submitOnce(to: string, part: SmsPart, accepted: (id: string) => void): Promise<string> {
    const session = this.#session;
    if (session === null || !this.#bound) return Promise.reject(new LinkError('smpp: not bound'));
    return new Promise<string>((resolve, reject) => {
      const pdu = new smpp.PDU('submit_sm', {
        source_addr_ton: /^\+?\d+$/.test(this.#o.sourceAddr) ? 1 : 5,
        source_addr_npi: /^\+?\d+$/.test(this.#o.sourceAddr) ? 1 : 0,
        source_addr: this.#o.sourceAddr.replace(/^\+/, ''),
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: to.replace(/^\+/, ''),
        registered_delivery: 1,
        data_coding: part.dataCoding,
        esm_class: part.udh.length > 0 ? 0x40 : 0,
        short_message: part.udh.length > 0 ? { udh: part.udh, message: part.body } : part.body,
      });
      const sent = session.send(pdu, (resp: PDU) => {
        const entry = this.#inFlight.get(pdu.sequence_number);
        if (entry === undefined) return;
        clearTimeout(entry.timer);
        this.#inFlight.delete(pdu.sequence_number);
        const code = resp.command_status;
        if (code === smpp.ESME_ROK) {
          this.stats.submitted++;
          accepted(String(resp.message_id));
          resolve(String(resp.message_id));
        } else if (code === smpp.ESME_RTHROTTLED || code === smpp.ESME_RMSGQFUL) {
          this.stats.throttled++;
          const pause = Math.min(this.#o.throttleMs * 2 ** this.#throttleStep, 60_000);
          this.#throttleStep = Math.min(this.#throttleStep + 1, 6);
          this.#throttledUntil = Math.max(this.#throttledUntil, Date.now() + pause);
          this.#o.logger?.warn({ status: code, pauseMs: pause }, 'smsc throttling');
          reject(new LinkError(`smpp throttled (0x${code.toString(16)})`));
        } else {
          // An address the SMSC refuses cannot succeed later; anything else may.
          const permanent = code === smpp.ESME_RINVDSTADR;
          reject(new DeliveryError(`smpp submit refused: status 0x${code.toString(16)}`, permanent));
        }
      });
      if (!sent) {
        reject(new LinkError('smpp: link not writable'));
        return;
      }
      const timer = setTimeout(() => {
        // No answer: the link is not working; drop it (a new bind follows) and submit the part again there.
        this.#inFlight.delete(pdu.sequence_number);
        reject(new LinkError('smpp: submit_sm unanswered'));
        session.destroy();
      }, this.#o.responseTimeoutMs);
      this.#inFlight.set(pdu.sequence_number, {
        pending: { resolve, reject },
        timer,
      });
    });
  }

  #whenBound(timeoutMs: number): Promise<void> {
    if (this.#bound || this.#closed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        reject(new DeliveryError('smpp: no bound link to the SMSC in time'));
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#waiters.push(wake);
    });
  }

  #connect(): void {
    if (this.#closed) return;
    const u = new URL(this.#o.url);
    const session = smpp.connect({
      host: u.hostname,
      port: u.port ? Number(u.port) : u.protocol === 'ssmpp:' ? 3550 : 2775,
      tls: u.protocol === 'ssmpp:',
    });
    this.#session = session;
    let gone = false;
    const lost = (why: string) => {
      if (gone) return;
      gone = true;
      if (this.#session === session) {
        this.#session = null;
        this.#bound = false;
      }
      clearInterval(this.#enquireTimer);
      this.#failInFlight(new LinkError(`smpp link lost: ${why}`));
      session.destroy();
      this.#scheduleReconnect(why);
    };
    session.on('error', (error: Error) => lost(error.message));
    session.on('close', () => lost('closed'));
    session.on('connect', () => {
      session.bind_transceiver(
        {
          system_id: this.#o.systemId,
          password: this.#o.password,
          system_type: this.#o.systemType ?? '',
          interface_version: 0x34,
        },
        (resp: PDU) => {
          if (resp.command_status !== smpp.ESME_ROK) {
            this.#o.logger?.warn({ status: resp.command_status }, 'smsc refused the bind');
            lost(`bind refused (0x${resp.command_status.toString(16)})`);
            return;
          }
          this.#bound = true;
          this.#attempt = 0;
          this.stats.binds++;
          this.#o.logger?.info({ smsc: `${u.hostname}:${u.port}` }, 'smpp bound as transceiver');
          this.#startEnquireLink(session);
          for (const wake of this.#waiters.splice(0)) wake();
        },
      );
    });
    session.on('enquire_link', (pdu: PDU) => session.send(pdu.response()));
    session.on('unbind', (pdu: PDU) => {
      session.send(pdu.response());
      lost('unbound by the SMSC');
    });
    session.on('deliver_sm', (pdu: PDU) => {
      session.send(pdu.response());
      if ((pdu.esm_class & 0x3c) !== 0x04) return; // not a delivery receipt (a mobile-originated message)
      const receipt = parseReceipt(pdu);
      if (receipt === null) return;
      this.stats.receipts++;
      this.#receipt(receipt.id, receipt.state, receipt.stat);
    });
  }

  #receipt(id: string, state: ReceiptState, stat: string): void {
    const group = this.#groups.get(id);
    if (group === undefined) {
      this.#o.onReceipt?.(id, state, stat);
      return;
    }
    if (group.done) return;
    if (state === 'failed') group.done = true;
    else if (++group.delivered === group.total) group.done = true;
    if (group.done) this.#o.onReceipt?.(group.first, state, stat);
  }

  #startEnquireLink(session: Session): void {
    clearInterval(this.#enquireTimer);
    this.#enquireTimer = setInterval(() => {
      const timer = setTimeout(() => session.destroy(), this.#o.responseTimeoutMs);
      const ok = session.enquire_link(() => clearTimeout(timer));
      if (!ok) clearTimeout(timer);
    }, this.#o.enquireLinkMs);
    this.#enquireTimer.unref();
  }

  #failInFlight(error: DeliveryError): void {
    for (const [seq, entry] of this.#inFlight) {
      clearTimeout(entry.timer);
      entry.pending.reject(error);
      this.#inFlight.delete(seq);
    }
  }

  #scheduleReconnect(why: string): void {
    if (this.#closed) return;
    clearTimeout(this.#reconnectTimer);
    const delay = Math.min(
      this.#o.reconnect.maxMs,
      this.#o.reconnect.initialMs * 2 ** Math.min(this.#attempt, 20),
    );
    this.#attempt++;
    this.#o.logger?.warn({ why, retryInMs: delay, attempt: this.#attempt }, 'smpp link down');
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
    this.#reconnectTimer.unref();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
