/**
 * The client's data-link side over one TCP socket: carry whole APDUs to and from the meter, either in
 * TCP wrapper frames (IEC 62056-47) or in HDLC I-frames (IEC 62056-46, SNRM/UA, segmentation with RR,
 * DISC). Every wait has a deadline and every waiter is rejected when the socket closes, so no promise
 * outlives the connection.
 */
import {
  DEFAULT_HDLC_PARAMETERS,
  decodeHdlcParameters,
  encodeHdlcFrame,
  encodeHdlcParameters,
  encodeWrapper,
  type HdlcAddress,
  type HdlcControl,
  type HdlcFrame,
  HdlcFramer,
  type HdlcParameters,
  HdlcReassembler,
  HdlcSequence,
  LLC_REQUEST,
  LLC_RESPONSE,
  segmentApdu,
  stripLlc,
  WrapperFramer,
} from '../../protocols/dlms/index.ts';
import { DlmsConnectionError, DlmsProtocolError, DlmsTimeoutError } from './errors.ts';

/** When a wait gives up: absolute time (ms since epoch), and what to name in the timeout error. */
export interface Deadline {
  readonly at: number;
  readonly what: string;
  readonly timeoutMs: number;
}

export function deadline(what: string, timeoutMs: number): Deadline {
  return { at: Date.now() + timeoutMs, what, timeoutMs };
}

export interface LinkStats {
  /** Corrupt frames dropped by the framer. */
  framesDropped: number;
  /** Frames for another address, or stale ones. */
  framesIgnored: number;
}

/**
 * A queue with one waiter: `push` hands an item to the waiter (or keeps it), `next` waits until a
 * deadline, `fail` rejects the waiter and every later `next`.
 */
export class Inbox<T> {
  private items: T[] = [];
  private waiter: { resolve: (v: T) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private failure: Error | undefined;

  constructor(private readonly capacity = 64) {}

  push(item: T): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      clearTimeout(w.timer);
      w.resolve(item);
      return;
    }
    this.items.push(item);
    if (this.items.length > this.capacity) this.items.shift();
  }

  fail(error: Error): void {
    this.failure ??= error;
    const w = this.waiter;
    this.waiter = undefined;
    if (w) {
      clearTimeout(w.timer);
      w.reject(error);
    }
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  clear(): void {
    this.items = [];
  }

  next(d: Deadline): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new DlmsProtocolError('two concurrent reads on one link'));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.waiter = undefined;
          reject(new DlmsTimeoutError(d.what, d.timeoutMs));
        },
        Math.max(0, d.at - Date.now()),
      );
      this.waiter = { resolve, reject, timer };
    });
  }
}

/** What the session layer needs from a transport. */
export interface DlmsLink {
  readonly stats: LinkStats;
  /** Feeds bytes read from the socket. Never throws. */
  onData(chunk: Buffer): void;
  /** The socket closed or failed: reject whatever waits. */
  fail(error: Error): void;
  /** Sets the link up (HDLC: SNRM → UA). */
  open(d: Deadline): Promise<void>;
  send(apdu: Buffer, d: Deadline): Promise<void>;
  /** The next whole APDU from the server. */
  receive(d: Deadline): Promise<Buffer>;
  /** Takes the link down (HDLC: DISC → UA or DM). */
  close(d: Deadline): Promise<void>;
}

export type WriteFn = (bytes: Buffer) => void;

/** IEC 62056-47: one wrapper frame per APDU; the server answers with the wPorts swapped. */
export class WrapperLink implements DlmsLink {
  readonly stats: LinkStats = { framesDropped: 0, framesIgnored: 0 };
  private readonly framer = new WrapperFramer({ onDrop: () => (this.stats.framesDropped += 1) });
  private readonly inbox = new Inbox<Buffer>();

  constructor(
    private readonly write: WriteFn,
    private readonly clientWPort: number,
    private readonly serverWPort: number,
  ) {}

  onData(chunk: Buffer): void {
    for (const f of this.framer.push(chunk)) {
      if (f.destination !== this.clientWPort || f.source !== this.serverWPort) {
        this.stats.framesIgnored += 1;
        continue;
      }
      this.inbox.push(f.apdu);
    }
  }

  fail(error: Error): void {
    this.inbox.fail(error);
  }

  async open(): Promise<void> {
    this.inbox.clear();
  }

  async send(apdu: Buffer): Promise<void> {
    if (this.inbox.failed) throw this.inbox.failed;
    this.write(encodeWrapper({ source: this.clientWPort, destination: this.serverWPort, apdu }));
  }

  receive(d: Deadline): Promise<Buffer> {
    return this.inbox.next(d);
  }

  async close(): Promise<void> {}
}

/** IEC 62056-46 client (primary station) over a byte stream. */
export class HdlcLink implements DlmsLink {
  readonly stats: LinkStats = { framesDropped: 0, framesIgnored: 0 };
  private readonly framer = new HdlcFramer({ onDrop: () => (this.stats.framesDropped += 1) });
  private readonly inbox = new Inbox<HdlcFrame>();
  private readonly seq = new HdlcSequence();
  private readonly reassembler = new HdlcReassembler();
  /** Negotiated in UA: what this side may send and will receive per I-frame. */
  maxInfoTx = DEFAULT_HDLC_PARAMETERS.maxInfoTx;
  maxInfoRx = DEFAULT_HDLC_PARAMETERS.maxInfoRx;

  constructor(
    private readonly write: WriteFn,
    private readonly client: HdlcAddress,
    private readonly server: HdlcAddress,
    private readonly proposal: HdlcParameters,
  ) {}

  onData(chunk: Buffer): void {
    for (const f of this.framer.push(chunk)) {
      const forUs = f.destination.upper === this.client.upper && f.source.upper === this.server.upper;
      if (!forUs) {
        this.stats.framesIgnored += 1;
        continue;
      }
      this.inbox.push(f);
    }
  }

  fail(error: Error): void {
    this.inbox.fail(error);
  }

  private frame(control: HdlcControl, info: Buffer = Buffer.alloc(0), segmented = false): void {
    if (this.inbox.failed) throw this.inbox.failed;
    this.write(encodeHdlcFrame({ segmented, destination: this.server, source: this.client, control, info }));
  }

  async open(d: Deadline): Promise<void> {
    this.inbox.clear();
    this.seq.reset();
    this.reassembler.reset();
    // IEC 62056-46 §6.4.4.4.3.2: SNRM proposes the parameters (seen from the client), UA answers them
    // from the server's side.
    this.frame({ kind: 'SNRM', pf: true }, encodeHdlcParameters(this.proposal));
    for (;;) {
      const f = await this.inbox.next(d);
      if (f.control.kind === 'DM') throw new DlmsConnectionError('HDLC server', 'SNRM refused with DM');
      if (f.control.kind !== 'UA') {
        this.stats.framesIgnored += 1;
        continue;
      }
      let ua: HdlcParameters;
      try {
        ua = decodeHdlcParameters(f.info);
      } catch {
        throw new DlmsProtocolError('UA parameters do not decode');
      }
      this.maxInfoTx = ua.maxInfoRx;
      this.maxInfoRx = ua.maxInfoTx;
      return;
    }
  }

  async send(apdu: Buffer, d: Deadline): Promise<void> {
    const segments = segmentApdu(apdu, this.maxInfoTx, LLC_REQUEST);
    for (const s of segments) {
      this.frame(this.seq.nextI(true), s.info, s.segmented);
      if (!s.segmented) return;
      // The server asks for each next segment with RR.
      for (;;) {
        const f = await this.inbox.next(d);
        if (f.control.kind === 'RR') break;
        if (f.control.kind === 'DM' || f.control.kind === 'DISC') {
          throw new DlmsConnectionError('HDLC server', `link dropped (${f.control.kind})`);
        }
        this.stats.framesIgnored += 1;
      }
    }
  }

  async receive(d: Deadline): Promise<Buffer> {
    for (;;) {
      const f = await this.inbox.next(d);
      const ctl = f.control;
      if (ctl.kind === 'DM' || ctl.kind === 'DISC' || ctl.kind === 'FRMR') {
        throw new DlmsConnectionError('HDLC server', `link dropped (${ctl.kind})`);
      }
      if (ctl.kind !== 'I') continue;
      if (!this.seq.acceptI(ctl)) {
        // A repeat of a frame already taken.
        this.stats.framesIgnored += 1;
        continue;
      }
      const whole = this.reassembler.push(f);
      if (whole === null) {
        this.frame(this.seq.rr());
        continue;
      }
      try {
        return stripLlc(whole, LLC_RESPONSE);
      } catch {
        throw new DlmsProtocolError('I-frame without the LLC response header');
      }
    }
  }

  async close(d: Deadline): Promise<void> {
    this.frame({ kind: 'DISC', pf: true });
    for (;;) {
      const f = await this.inbox.next(d);
      if (f.control.kind === 'UA' || f.control.kind === 'DM') return;
    }
  }
}
