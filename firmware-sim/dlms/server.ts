/**
 * The DLMS/COSEM face of a simulated meter: a TCP server, one association per connection, speaking
 * either HDLC (IEC 62056-46, raw frames over TCP) or the TCP wrapper (IEC 62056-47). It owns the session
 * (link set-up, association, security, block transfer) and serves objects from a `CosemObjectProvider`.
 *
 * - Transport: 'hdlc', 'wrapper', or 'auto' (per connection, from the first byte: 0x7E HDLC, 0x00 wrapper).
 * - Associations by client SAP / wPort, each with its authentication (none, LLS password, HLS-GMAC with
 *   glo-ciphering) and its rights ('read' or 'read-write').
 * - The server itself answers the current association (0.0.40.0.0.255, class 15: object_list, HLS pass 3/4)
 *   and, when an HLS association exists, the invocation counter object (0.0.43.1.0.255).
 * - Robust: corrupt frames are dropped and counted by the framers, frames for another address are ignored,
 *   a vanished client only closes its own session, and nothing throws out of a socket handler.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import {
  type Aarq,
  ACSE_SERVICE_USER,
  type Apdu,
  type ApplicationContext,
  ATTRIBUTE_ACCESS,
  type AttributeDescriptor,
  CONFORMANCE,
  cipherApdu,
  DATA_ACCESS_RESULT,
  type DataAccessResultName,
  DEFAULT_HDLC_PARAMETERS,
  DLMS_VERSION,
  type DlmsData,
  decipherApdu,
  decodeApdu,
  decodeHdlcParameters,
  decodeInitiateRequest,
  dt,
  encodeApdu,
  encodeConfirmedServiceError,
  encodeData,
  encodeHdlcFrame,
  encodeHdlcParameters,
  encodeInitiateResponse,
  encodeWrapper,
  type GetDataResult,
  getResponses,
  type HdlcAddress,
  type HdlcControl,
  type HdlcFrame,
  HdlcFramer,
  type HdlcParameters,
  HdlcReassembler,
  HdlcSequence,
  hlsGmac,
  INITIATE_ERROR,
  INTERFACE_CLASSES,
  InvocationCounterGuard,
  LLC_REQUEST,
  LLC_RESPONSE,
  MECHANISM,
  METHOD_ACCESS,
  type Mechanism,
  negotiateHdlcParameters,
  OBIS,
  type ObisCode,
  type ObjectListEntry,
  obisToBytes,
  objectListToData,
  RASID_SERVER_CONFORMANCE,
  SC_AUTHENTICATION,
  SC_ENCRYPTION,
  SERVICE_ERROR,
  type SecurityKeys,
  type SelectiveAccess,
  STATE_ERROR,
  SYSTEM_TITLE_LENGTH,
  segmentApdu,
  stripLlc,
  VAA_NAME_LN,
  verifyHlsGmac,
  WPORT,
  type WrapperFrame,
  WrapperFramer,
} from '../../protocols/dlms/index.ts';
import {
  accessError,
  type CosemObjectDescription,
  type CosemObjectProvider,
  type DataAccessError,
  isAccessError,
} from './provider.ts';

// ---- configuration ----

export type ServerAuthentication =
  | { readonly mechanism: 'none' }
  | { readonly mechanism: 'lls'; readonly password: Buffer | string }
  /** HLS-GMAC (mechanism 5) with security suite 0: every xDLMS APDU is glo-ciphered (SC 0x30). */
  | { readonly mechanism: 'hls-gmac'; readonly keys: SecurityKeys };

/** One association the logical device accepts, chosen by the client's SAP (HDLC) or wPort (wrapper). */
export interface AssociationConfig {
  readonly clientSap: number;
  readonly authentication: ServerAuthentication;
  /** 'read': GET only; 'read-write': GET, SET on writable attributes, and ACTION. */
  readonly access: 'read' | 'read-write';
}

/** dlms.md §2.1: public client 16 (no security), 17 (LLS password), 1 (management, HLS-GMAC). */
export function standardAssociations(secrets: {
  password: Buffer | string;
  keys: SecurityKeys;
}): AssociationConfig[] {
  return [
    { clientSap: WPORT.publicClient, authentication: { mechanism: 'none' }, access: 'read' },
    {
      clientSap: WPORT.llsClient,
      authentication: { mechanism: 'lls', password: secrets.password },
      access: 'read-write',
    },
    {
      clientSap: WPORT.managementClient,
      authentication: { mechanism: 'hls-gmac', keys: secrets.keys },
      access: 'read-write',
    },
  ];
}

export type ServerTransport = 'hdlc' | 'wrapper' | 'auto';

export interface DlmsServerOptions {
  readonly provider: CosemObjectProvider;
  /** Default 'auto'. */
  readonly transport?: ServerTransport;
  /** Logical device: HDLC upper server address and wrapper wPort. Default 1 (management LD). */
  readonly logicalDevice?: number;
  /** HDLC lower (physical) server address; when set, frames must carry it. Unset: any or none. */
  readonly physicalDevice?: number;
  /** Default: a single public association (SAP 16, no security, read only). */
  readonly associations?: readonly AssociationConfig[];
  /** Server system title (8 bytes) for HLS-GMAC and ciphering. */
  readonly systemTitle?: Buffer;
  /** First invocation counter the server uses for ciphered APDUs. Default 0. */
  readonly invocationCounter?: number;
  /** Largest APDU the server accepts and sends (server max receive PDU size). Default 1024. */
  readonly maxPduSize?: number;
  /** The server's own HDLC limits, negotiated down in UA. Default 128 bytes, window 1. */
  readonly hdlc?: Partial<HdlcParameters>;
  /** A connection with no traffic for this long is closed. Default 120 000 ms. */
  readonly idleTimeoutMs?: number;
  /** Challenge source (StoC); default crypto.randomBytes. */
  readonly random?: (size: number) => Buffer;
  /**
   * Answer a GET whose value is an empty array as this many datablocks that each hold an empty array
   * (`01 00`), as the Gurux server example does for an empty profile buffer. Default 0: one normal answer.
   */
  readonly emptyArrayBlocks?: number;
}

export interface DlmsServerStats {
  /** Connections open now. */
  connections: number;
  /** Connections accepted since start. */
  accepted: number;
  /** Corrupt frames (or runs of noise) dropped by the framers. */
  framesDropped: number;
  /** Well-formed frames not for us: another address, out of sequence, link not set up. */
  framesIgnored: number;
  /** Whole APDUs that did not decode, decipher or pass the invocation counter check. */
  badApdus: number;
  /** APDUs handled. */
  requests: number;
  associations: number;
  associationsRefused: number;
  /** GET datablocks sent (block transfer). */
  blocksSent: number;
  /** Provider failures and socket errors. */
  errors: number;
}

export interface DlmsServerEvents {
  association: [{ clientSap: number; mechanism: Mechanism }];
  'association-refused': [{ clientSap: number; reason: string }];
  'frame-dropped': [{ reason: string }];
  'connection-closed': [{ remote: string }];
  /** A provider threw or a socket failed; the session carries on (or closes) without throwing. */
  'session-error': [{ error: unknown }];
}

/** Bytes ciphering adds around an APDU: tag, length (≤3), SC, IC(4), GCM tag(12), general-glo title (9). */
const CIPHER_OVERHEAD = 1 + 3 + 1 + 4 + 12 + 9;
/** Smallest client max receive PDU size the server works with. */
const MIN_PDU_SIZE = 64;
/** GET-Response-With-Datablock overhead besides the raw data (as in the codec's split). */
const DATABLOCK_OVERHEAD = 12;
/** An empty array in A-XDR. */
const EMPTY_ARRAY = Buffer.from([0x01, 0x00]);
const DEFAULT_SYSTEM_TITLE = Buffer.from('RSD00001', 'latin1');

// ---- the server ----

export class DlmsServer extends EventEmitter<DlmsServerEvents> {
  readonly stats: DlmsServerStats = {
    connections: 0,
    accepted: 0,
    framesDropped: 0,
    framesIgnored: 0,
    badApdus: 0,
    requests: 0,
    associations: 0,
    associationsRefused: 0,
    blocksSent: 0,
    errors: 0,
  };
  readonly provider: CosemObjectProvider;
  readonly transport: ServerTransport;
  readonly logicalDevice: number;
  readonly physicalDevice: number | undefined;
  readonly associations: readonly AssociationConfig[];
  readonly systemTitle: Buffer;
  readonly maxPduSize: number;
  readonly hdlcParameters: HdlcParameters;
  readonly idleTimeoutMs: number;
  readonly random: (size: number) => Buffer;
  readonly emptyArrayBlocks: number;
  private invocationCounter: number;
  /** Last invocation counter accepted from each HLS client, across connections (Green Book §9.2.7.2.4.3). */
  private readonly clientCounters = new Map<number, InvocationCounterGuard>();
  private readonly sessions = new Set<Session>();
  private server: Server | undefined;

  constructor(opts: DlmsServerOptions) {
    super();
    this.provider = opts.provider;
    this.transport = opts.transport ?? 'auto';
    this.logicalDevice = opts.logicalDevice ?? WPORT.management;
    this.physicalDevice = opts.physicalDevice;
    this.associations = opts.associations ?? [
      { clientSap: WPORT.publicClient, authentication: { mechanism: 'none' }, access: 'read' },
    ];
    this.systemTitle = opts.systemTitle ?? DEFAULT_SYSTEM_TITLE;
    if (this.systemTitle.length !== SYSTEM_TITLE_LENGTH) {
      throw new RangeError(`systemTitle must be ${SYSTEM_TITLE_LENGTH} bytes`);
    }
    this.invocationCounter = opts.invocationCounter ?? 0;
    this.maxPduSize = opts.maxPduSize ?? 1024;
    this.hdlcParameters = { ...DEFAULT_HDLC_PARAMETERS, ...opts.hdlc };
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 120_000;
    this.random = opts.random ?? randomBytes;
    this.emptyArrayBlocks = opts.emptyArrayBlocks ?? 0;
  }

  /** Starts listening; port 0 picks a free port. */
  listen(port = 0, host = '127.0.0.1'): Promise<AddressInfo> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', (error) => this.report(error));
        resolve(server.address() as AddressInfo);
      });
    });
  }

  /** The bound port (after `listen`). */
  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  /** Stops accepting and closes every open session. */
  async close(): Promise<void> {
    for (const s of this.sessions) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The next value for the invocation counter object: one above the last one accepted from `clientSap`. */
  expectedInvocationCounter(clientSap: number): number {
    return this.counterGuard(clientSap).lastAccepted + 1;
  }

  /** @internal */
  counterGuard(clientSap: number): InvocationCounterGuard {
    let g = this.clientCounters.get(clientSap);
    if (!g) {
      g = new InvocationCounterGuard();
      this.clientCounters.set(clientSap, g);
    }
    return g;
  }

  /** @internal The server's invocation counter for its next ciphered APDU. */
  nextInvocationCounter(): number {
    const ic = this.invocationCounter;
    this.invocationCounter = (this.invocationCounter + 1) >>> 0;
    return ic;
  }

  /** @internal */
  report(error: unknown): void {
    this.stats.errors += 1;
    this.emit('session-error', { error });
  }

  private accept(socket: Socket): void {
    const session = new Session(this, socket);
    this.sessions.add(session);
    this.stats.accepted += 1;
    this.stats.connections += 1;
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    socket.setTimeout(this.idleTimeoutMs, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => session.onData(chunk));
    // A client that resets its connection is normal; count it and let 'close' clean up.
    socket.on('error', () => {});
    socket.on('close', () => {
      session.dispose();
      this.sessions.delete(session);
      this.stats.connections -= 1;
      this.emit('connection-closed', { remote });
    });
  }
}

// ---- one connection ----

interface AssociationState {
  config: AssociationConfig;
  status: 'pending-hls' | 'associated';
  applicationContext: ApplicationContext;
  conformance: number;
  clientMaxPdu: number;
  ciphered: boolean;
  clientSystemTitle?: Buffer;
  /** HLS: client-to-server and server-to-client challenges. */
  ctos?: Buffer;
  stoc?: Buffer;
}

/** A GET answered in blocks: the datablock APDUs and the number of the last one sent. */
interface BlockTransfer {
  blocks: Apdu[];
  lastSent: number;
}

class Session {
  private transport: 'hdlc' | 'wrapper' | undefined;
  private readonly hdlcFramer: HdlcFramer;
  private readonly wrapperFramer: WrapperFramer;
  // HDLC link state (IEC 62056-46 §6.4.4).
  private linkUp = false;
  private readonly seq = new HdlcSequence();
  private readonly reassembler = new HdlcReassembler();
  private params: HdlcParameters = { ...DEFAULT_HDLC_PARAMETERS };
  private ownAddress: HdlcAddress = { upper: 1, size: 1 };
  private peerAddress: HdlcAddress = { upper: 16, size: 1 };
  private pendingSegments: { info: Buffer; segmented: boolean }[] = [];
  private lastFrame: Buffer | undefined;
  // Application layer.
  private clientSap = 0;
  private assoc: AssociationState | undefined;
  private blockTransfer: BlockTransfer | undefined;
  private cipherForm: 'service-specific' | 'general-glo' = 'service-specific';
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly server: DlmsServer,
    private readonly socket: Socket,
  ) {
    const onDrop = (reason: string) => {
      server.stats.framesDropped += 1;
      server.emit('frame-dropped', { reason });
    };
    this.hdlcFramer = new HdlcFramer({ onDrop });
    this.wrapperFramer = new WrapperFramer({ onDrop, maxApduLength: server.maxPduSize });
    if (server.transport !== 'auto') this.transport = server.transport;
  }

  destroy(): void {
    this.socket.destroy();
  }

  dispose(): void {
    this.closed = true;
    this.assoc = undefined;
    this.blockTransfer = undefined;
    this.pendingSegments = [];
    this.reassembler.reset();
  }

  onData(chunk: Buffer): void {
    try {
      let data = chunk;
      if (this.transport === undefined) {
        // 'auto': the first significant byte tells HDLC (flag 0x7E) from the wrapper (version 0x0001).
        const at = data.findIndex((b) => b === 0x7e || b === 0x00);
        if (at < 0) {
          this.server.stats.framesDropped += 1;
          return;
        }
        this.transport = data[at] === 0x7e ? 'hdlc' : 'wrapper';
        data = data.subarray(at);
      }
      if (this.transport === 'hdlc') {
        for (const f of this.hdlcFramer.push(data)) this.onHdlcFrame(f);
      } else {
        for (const f of this.wrapperFramer.push(data)) this.onWrapperFrame(f);
      }
    } catch (error) {
      this.server.report(error);
    }
  }

  // ---- wrapper (IEC 62056-47) ----

  private onWrapperFrame(f: WrapperFrame): void {
    if (f.destination !== this.server.logicalDevice) {
      this.server.stats.framesIgnored += 1;
      return;
    }
    this.enqueue(f.apdu, f.source);
  }

  // ---- HDLC (IEC 62056-46) ----

  private addressedToUs(a: HdlcAddress): boolean {
    if (a.upper !== this.server.logicalDevice) return false;
    return this.server.physicalDevice === undefined || a.lower === this.server.physicalDevice;
  }

  private onHdlcFrame(f: HdlcFrame): void {
    if (!this.addressedToUs(f.destination)) {
      this.server.stats.framesIgnored += 1;
      return;
    }
    const ctl = f.control;
    switch (ctl.kind) {
      case 'SNRM': {
        // IEC 62056-46 §6.4.4.4.3.2: UA carries the negotiated parameters; the link (and any association) restarts.
        let proposed = { ...DEFAULT_HDLC_PARAMETERS };
        try {
          proposed = decodeHdlcParameters(f.info);
        } catch {
          this.server.stats.badApdus += 1;
        }
        this.params = negotiateHdlcParameters(proposed, this.server.hdlcParameters);
        this.ownAddress = f.destination;
        this.peerAddress = f.source;
        this.seq.reset();
        this.reassembler.reset();
        this.pendingSegments = [];
        this.releaseAssociation();
        this.linkUp = true;
        this.sendFrame({ kind: 'UA', pf: true }, encodeHdlcParameters(this.params));
        return;
      }
      case 'DISC': {
        const wasUp = this.linkUp;
        this.linkUp = false;
        this.releaseAssociation();
        this.peerAddress = f.source;
        this.sendFrame({ kind: wasUp ? 'UA' : 'DM', pf: true }, Buffer.alloc(0));
        return;
      }
      case 'I': {
        if (!this.linkUp) {
          this.server.stats.framesIgnored += 1;
          this.peerAddress = f.source;
          this.sendFrame({ kind: 'DM', pf: true }, Buffer.alloc(0));
          return;
        }
        if (!this.seq.acceptI(ctl)) {
          // Out of sequence (a repeat): ignore it and tell the client what we expect.
          this.server.stats.framesIgnored += 1;
          this.sendFrame(this.seq.rr(), Buffer.alloc(0));
          return;
        }
        this.pendingSegments = [];
        const whole = this.reassembler.push(f);
        if (whole === null) {
          // IEC 62056-46 §6.4.4.3: ask for the next segment.
          this.sendFrame(this.seq.rr(), Buffer.alloc(0));
          return;
        }
        let apdu: Buffer;
        try {
          apdu = stripLlc(whole, LLC_REQUEST);
        } catch {
          this.server.stats.badApdus += 1;
          return;
        }
        this.enqueue(apdu, f.source.upper);
        return;
      }
      case 'RR': {
        if (!this.linkUp) {
          this.server.stats.framesIgnored += 1;
          return;
        }
        const next = this.pendingSegments.shift();
        if (next && ctl.nr === this.seq.vs) {
          this.sendFrame(this.seq.nextI(true), next.info, next.segmented);
        } else if (next && this.lastFrame) {
          // The client did not get the last segment: send it again, same N(S).
          this.pendingSegments.unshift(next);
          this.write(this.lastFrame);
        } else {
          this.sendFrame(this.seq.rr(), Buffer.alloc(0));
        }
        return;
      }
      default:
        // RNR, UI, UA, DM, FRMR from a client: nothing to do.
        this.server.stats.framesIgnored += 1;
        return;
    }
  }

  private sendFrame(control: HdlcControl, info: Buffer, segmented = false): void {
    const frame = encodeHdlcFrame({
      segmented,
      destination: this.peerAddress,
      source: this.ownAddress,
      control,
      info,
    });
    if (control.kind === 'I') this.lastFrame = frame;
    this.write(frame);
  }

  private write(bytes: Buffer): void {
    if (this.closed || this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(bytes);
  }

  private sendApdu(apdu: Buffer): void {
    if (this.closed) return;
    if (this.transport === 'hdlc') {
      // IEC 62056-46 §8: LLC header in the first segment; the rest go one per client RR.
      const [first, ...rest] = segmentApdu(apdu, this.params.maxInfoTx, LLC_RESPONSE);
      if (!first) return;
      this.pendingSegments = rest;
      this.sendFrame(this.seq.nextI(true), first.info, first.segmented);
    } else {
      this.write(encodeWrapper({ source: this.server.logicalDevice, destination: this.clientSap, apdu }));
    }
  }

  // ---- application layer ----

  private enqueue(apdu: Buffer, clientSap: number): void {
    this.queue = this.queue
      .then(() => this.handleApdu(apdu, clientSap))
      .catch((error: unknown) => this.server.report(error));
  }

  private releaseAssociation(): void {
    this.assoc = undefined;
    this.blockTransfer = undefined;
  }

  private exception(stateError: keyof typeof STATE_ERROR, serviceError: keyof typeof SERVICE_ERROR): Buffer {
    return encodeApdu({
      type: 'exception-response',
      stateError: STATE_ERROR[stateError],
      serviceError: SERVICE_ERROR[serviceError],
    });
  }

  private async handleApdu(bytes: Buffer, clientSap: number): Promise<void> {
    if (this.closed) return;
    this.server.stats.requests += 1;
    this.clientSap = clientSap;
    let apdu: Apdu;
    try {
      apdu = decodeApdu(bytes);
    } catch {
      this.server.stats.badApdus += 1;
      this.sendApdu(this.exception('service-unknown', 'other-reason'));
      return;
    }
    switch (apdu.type) {
      case 'aarq':
        this.sendApdu(this.associate(apdu, clientSap));
        return;
      case 'rlrq':
        // Green Book §9.4: RLRQ releases the association; answer RLRE normal. A ciphered RLRQ's
        // InitiateRequest still moves the client's invocation counter on.
        this.noteReleaseCounter(apdu.userInformation);
        this.releaseAssociation();
        this.sendApdu(encodeApdu({ type: 'rlre', reason: 0 }));
        return;
      default:
        break;
    }
    const assoc = this.assoc;
    if (!assoc || assoc.config.clientSap !== clientSap) {
      this.sendApdu(this.exception('service-not-allowed', 'operation-not-possible'));
      return;
    }
    if (apdu.type === 'glo-ciphered' || apdu.type === 'general-glo-ciphering') {
      await this.handleCiphered(assoc, bytes, apdu.type);
      return;
    }
    if (assoc.ciphered) {
      // A ciphered context takes only glo-ciphered APDUs.
      this.sendApdu(this.exception('service-not-allowed', 'operation-not-possible'));
      return;
    }
    const answer = await this.serve(assoc, apdu);
    this.sendApdu(encodeApdu(answer));
  }

  private noteReleaseCounter(userInformation: Buffer | undefined): void {
    const assoc = this.assoc;
    const auth = assoc?.config.authentication;
    if (!assoc?.ciphered || auth?.mechanism !== 'hls-gmac' || !userInformation || !assoc.clientSystemTitle) {
      return;
    }
    try {
      const d = decipherApdu(userInformation, auth.keys, assoc.clientSystemTitle);
      this.server.counterGuard(assoc.config.clientSap).accept(d.invocationCounter);
    } catch {
      this.server.stats.badApdus += 1;
    }
  }

  private async handleCiphered(
    assoc: AssociationState,
    bytes: Buffer,
    form: 'glo-ciphered' | 'general-glo-ciphering',
  ): Promise<void> {
    const auth = assoc.config.authentication;
    if (!assoc.ciphered || auth.mechanism !== 'hls-gmac' || !assoc.clientSystemTitle) {
      this.sendApdu(this.exception('service-not-allowed', 'operation-not-possible'));
      return;
    }
    let plain: Buffer;
    try {
      const d = decipherApdu(bytes, auth.keys, assoc.clientSystemTitle);
      // Security policy of this simulator: requests must be authenticated and encrypted (SC 0x30).
      const wanted = SC_AUTHENTICATION | SC_ENCRYPTION;
      if ((d.securityControl & wanted) !== wanted) throw new Error('security policy needs SC 0x30');
      const guard = this.server.counterGuard(assoc.config.clientSap);
      if (!guard.accept(d.invocationCounter)) {
        this.server.stats.badApdus += 1;
        // Green Book: invocation-counter-error carries the lowest counter the server will accept.
        this.sendApdu(
          encodeApdu({
            type: 'exception-response',
            stateError: STATE_ERROR['service-not-allowed'],
            serviceError: SERVICE_ERROR['invocation-counter-error'],
            invocationCounter: guard.lastAccepted + 1,
          }),
        );
        return;
      }
      plain = d.plaintext;
    } catch {
      this.server.stats.badApdus += 1;
      this.sendApdu(this.exception('service-not-allowed', 'deciphering-error'));
      return;
    }
    let inner: Apdu;
    try {
      inner = decodeApdu(plain);
    } catch {
      this.server.stats.badApdus += 1;
      this.sendApdu(this.exception('service-unknown', 'other-reason'));
      return;
    }
    this.cipherForm = form === 'general-glo-ciphering' ? 'general-glo' : 'service-specific';
    const answer = await this.serve(assoc, inner);
    this.sendApdu(this.cipher(auth.keys, encodeApdu(answer)));
  }

  private cipher(keys: SecurityKeys, plain: Buffer): Buffer {
    return cipherApdu(
      plain,
      {
        ...keys,
        securityControl: SC_AUTHENTICATION | SC_ENCRYPTION,
        invocationCounter: this.server.nextInvocationCounter(),
        systemTitle: this.server.systemTitle,
      },
      this.cipherForm,
    );
  }

  // ---- ACSE (IEC 62056-5-3 §8, Green Book §9.4) ----

  private refuse(clientSap: number, reason: string, diagnostic: number, userInformation?: Buffer): Buffer {
    this.server.stats.associationsRefused += 1;
    this.server.emit('association-refused', { clientSap, reason });
    this.releaseAssociation();
    return encodeApdu({
      type: 'aare',
      applicationContext: 'ln-no-ciphering',
      result: 'rejected-permanent',
      diagnostic: { source: 'user', code: diagnostic },
      userInformation,
    });
  }

  private associate(aarq: Aarq, clientSap: number): Buffer {
    const config = this.server.associations.find((a) => a.clientSap === clientSap);
    const D = ACSE_SERVICE_USER;
    if (!config) return this.refuse(clientSap, 'unknown client SAP', D['no-reason-given']);
    const auth = config.authentication;
    const mechanism = aarq.mechanism ?? 'none';
    if (mechanism !== auth.mechanism) {
      return this.refuse(
        clientSap,
        `mechanism ${mechanism}, expected ${auth.mechanism}`,
        mechanism === 'none'
          ? D['authentication-mechanism-name-required']
          : D['authentication-mechanism-name-not-recognised'],
      );
    }
    const ciphered = aarq.applicationContext === 'ln-ciphering';
    if (
      (aarq.applicationContext !== 'ln-no-ciphering' && !ciphered) ||
      ciphered !== (auth.mechanism === 'hls-gmac')
    ) {
      return this.refuse(
        clientSap,
        `application context ${aarq.applicationContext}`,
        D['application-context-name-not-supported'],
      );
    }
    if (auth.mechanism === 'lls') {
      const expected = Buffer.from(auth.password);
      const given = aarq.callingAuthenticationValue ?? Buffer.alloc(0);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return this.refuse(clientSap, 'wrong LLS password', D['authentication-failure']);
      }
    }
    if (!aarq.userInformation) return this.refuse(clientSap, 'no InitiateRequest', D['no-reason-given']);
    let initiateBytes = aarq.userInformation;
    let clientSystemTitle: Buffer | undefined;
    let ctos: Buffer | undefined;
    if (auth.mechanism === 'hls-gmac') {
      clientSystemTitle = aarq.callingApTitle;
      ctos = aarq.callingAuthenticationValue;
      if (clientSystemTitle?.length !== SYSTEM_TITLE_LENGTH) {
        return this.refuse(clientSap, 'no client system title', D['calling-AP-title-not-recognized']);
      }
      // Green Book §9.2.7.4: challenges are 8 to 64 bytes.
      if (!ctos || ctos.length < 8 || ctos.length > 64) {
        return this.refuse(clientSap, 'bad CtoS challenge', D['authentication-failure']);
      }
      try {
        const d = decipherApdu(aarq.userInformation, auth.keys, clientSystemTitle);
        if (!this.server.counterGuard(clientSap).accept(d.invocationCounter)) {
          return this.refuse(clientSap, 'invocation counter replayed', D['authentication-failure']);
        }
        initiateBytes = d.plaintext;
      } catch {
        return this.refuse(clientSap, 'glo-initiateRequest does not decipher', D['authentication-failure']);
      }
    }
    let initiate: ReturnType<typeof decodeInitiateRequest>;
    try {
      initiate = decodeInitiateRequest(initiateBytes);
    } catch {
      return this.refuse(clientSap, 'bad InitiateRequest', D['no-reason-given']);
    }
    const initiateError = (value: number, why: string) =>
      this.refuse(
        clientSap,
        why,
        D['no-reason-given'],
        // ConfirmedServiceError: initiateError (1), service-error initiate (6).
        encodeConfirmedServiceError({ service: 1, errorType: 6, value }),
      );
    if (initiate.dlmsVersion < DLMS_VERSION) {
      return initiateError(INITIATE_ERROR['dlms-version-too-low'], 'DLMS version too low');
    }
    const conformance = initiate.conformance & RASID_SERVER_CONFORMANCE;
    if ((conformance & CONFORMANCE.get) === 0) {
      return initiateError(INITIATE_ERROR['incompatible-conformance'], 'no common conformance');
    }
    // A-XDR: 0 would mean "no limit" is not standard; treat sizes below the minimum as too short.
    const clientMaxPdu = initiate.clientMaxReceivePduSize === 0 ? 0xffff : initiate.clientMaxReceivePduSize;
    if (clientMaxPdu < MIN_PDU_SIZE) {
      return initiateError(INITIATE_ERROR['pdu-size-too-short'], 'client max PDU size too short');
    }
    const hls = auth.mechanism === 'hls-gmac';
    this.assoc = {
      config,
      status: hls ? 'pending-hls' : 'associated',
      applicationContext: aarq.applicationContext,
      conformance,
      clientMaxPdu,
      ciphered,
      clientSystemTitle,
      ctos,
      stoc: hls ? this.server.random(16) : undefined,
    };
    this.blockTransfer = undefined;
    const response = encodeInitiateResponse({
      dlmsVersion: DLMS_VERSION,
      conformance,
      serverMaxReceivePduSize: this.server.maxPduSize,
      vaaName: VAA_NAME_LN,
    });
    if (!hls) {
      this.server.stats.associations += 1;
      this.server.emit('association', { clientSap, mechanism: auth.mechanism });
    }
    return encodeApdu({
      type: 'aare',
      applicationContext: aarq.applicationContext,
      result: 'accepted',
      // HLS: accepted with "authentication required"; passes 3 and 4 follow as ACTION on the association.
      diagnostic: { source: 'user', code: hls ? D['authentication-required'] : D.null },
      respondingApTitle: hls ? this.server.systemTitle : undefined,
      mechanism: auth.mechanism === 'none' ? undefined : auth.mechanism,
      respondingAuthenticationValue: this.assoc.stoc,
      userInformation: hls ? this.cipherInitiate(auth.keys, response) : response,
    });
  }

  private cipherInitiate(keys: SecurityKeys, response: Buffer): Buffer {
    this.cipherForm = 'service-specific';
    return this.cipher(keys, response);
  }

  // ---- xDLMS services (IEC 62056-5-3 §7.3) ----

  private allowed(assoc: AssociationState, service: keyof typeof CONFORMANCE): boolean {
    return (assoc.conformance & CONFORMANCE[service]) !== 0;
  }

  private async serve(assoc: AssociationState, apdu: Apdu): Promise<Apdu> {
    const notNegotiated: Apdu = {
      type: 'exception-response',
      stateError: STATE_ERROR['service-not-allowed'],
      serviceError: SERVICE_ERROR['service-not-supported'],
    };
    switch (apdu.type) {
      case 'get-request-normal': {
        if (!this.allowed(assoc, 'get')) return notNegotiated;
        if (apdu.access && !this.allowed(assoc, 'selective-access')) return notNegotiated;
        const result = await this.readAttribute(assoc, apdu.descriptor, apdu.access);
        if ('error' in result) return { type: 'get-response-normal', iip: apdu.iip, result };
        return this.answerGet(assoc, apdu.iip, encodeData(result.data));
      }
      case 'get-request-next':
        return this.nextBlock(apdu.iip, apdu.blockNumber);
      case 'get-request-with-list': {
        if (!this.allowed(assoc, 'get') || !this.allowed(assoc, 'multiple-references')) return notNegotiated;
        const results: GetDataResult[] = [];
        for (const it of apdu.items) results.push(await this.readAttribute(assoc, it.descriptor, it.access));
        const whole = encodeApdu({ type: 'get-response-with-list', iip: apdu.iip, results });
        if (whole.length <= this.pduLimit(assoc)) return decodeApdu(whole);
        // Block transfer of a with-list answer: the raw data is the SEQUENCE OF Get-Data-Result
        // (the with-list body after tag, choice and invoke-id).
        return this.startBlocks(apdu.iip, whole.subarray(3), this.pduLimit(assoc));
      }
      case 'set-request-normal': {
        if (!this.allowed(assoc, 'set')) return notNegotiated;
        const result = await this.writeAttribute(assoc, apdu.descriptor, apdu.value, apdu.access);
        return { type: 'set-response-normal', iip: apdu.iip, result };
      }
      case 'action-request-normal': {
        if (!this.allowed(assoc, 'action')) return notNegotiated;
        return this.act(assoc, apdu);
      }
      default:
        return {
          type: 'exception-response',
          stateError: STATE_ERROR['service-unknown'],
          serviceError: SERVICE_ERROR['service-not-supported'],
        };
    }
  }

  /** Largest APDU the client takes, less what ciphering will add. */
  private pduLimit(assoc: AssociationState): number {
    const limit = Math.min(assoc.clientMaxPdu, 0xffff);
    return assoc.ciphered ? limit - CIPHER_OVERHEAD : limit;
  }

  private answerGet(assoc: AssociationState, iip: number, data: Buffer): Apdu {
    const repeat = this.server.emptyArrayBlocks;
    if (repeat > 1 && data.equals(EMPTY_ARRAY)) {
      const blocks: Apdu[] = Array.from({ length: repeat }, (_, i) => ({
        type: 'get-response-with-datablock',
        iip,
        lastBlock: i === repeat - 1,
        blockNumber: i + 1,
        result: { raw: Buffer.from(EMPTY_ARRAY) },
      }));
      this.blockTransfer = { blocks, lastSent: 1 };
      this.server.stats.blocksSent += 1;
      return blocks[0]!;
    }
    const responses = getResponses(iip, data, this.pduLimit(assoc));
    const [first] = responses;
    if (responses.length === 1 && first) return first;
    this.blockTransfer = { blocks: responses, lastSent: 1 };
    this.server.stats.blocksSent += 1;
    return responses[0]!;
  }

  private startBlocks(iip: number, raw: Buffer, limit: number): Apdu {
    const room = limit - DATABLOCK_OVERHEAD;
    const blocks: Apdu[] = [];
    for (let i = 0, n = 1; i < raw.length; i += room, n++) {
      blocks.push({
        type: 'get-response-with-datablock',
        iip,
        lastBlock: i + room >= raw.length,
        blockNumber: n,
        result: { raw: raw.subarray(i, i + room) },
      });
    }
    this.blockTransfer = { blocks, lastSent: 1 };
    this.server.stats.blocksSent += 1;
    return blocks[0]!;
  }

  /** IEC 62056-5-3 §7.3.8: GET-Request-Next with block n asks for block n + 1. */
  private nextBlock(iip: number, blockNumber: number): Apdu {
    const t = this.blockTransfer;
    const fail = (name: DataAccessResultName): Apdu => ({
      type: 'get-response-with-datablock',
      iip,
      lastBlock: true,
      blockNumber,
      result: { error: DATA_ACCESS_RESULT[name] },
    });
    if (!t) return fail('no-long-get-in-progress');
    if (blockNumber !== t.lastSent) {
      this.blockTransfer = undefined;
      return fail('data-block-number-invalid');
    }
    const next = t.blocks[blockNumber];
    if (!next) {
      this.blockTransfer = undefined;
      return fail('no-long-get-in-progress');
    }
    t.lastSent = blockNumber + 1;
    this.server.stats.blocksSent += 1;
    if (t.lastSent >= t.blocks.length) this.blockTransfer = undefined;
    return { ...next, iip } as Apdu;
  }

  // ---- object access ----

  private describe(obis: ObisCode): CosemObjectDescription | undefined {
    return this.server.provider.objects().find((o) => o.logicalName === obis);
  }

  /** Checks existence, class and attribute range; the server answers attribute 1 itself. */
  private locate(
    classId: number,
    obis: ObisCode,
  ): { object: CosemObjectDescription } | { error: DataAccessError } {
    const object = this.describe(obis);
    if (!object) return { error: accessError('object-undefined') };
    if (object.classId !== classId) return { error: accessError('object-class-inconsistent') };
    return { object };
  }

  private hasHls(): AssociationConfig | undefined {
    return this.server.associations.find((a) => a.authentication.mechanism === 'hls-gmac');
  }

  private async readAttribute(
    assoc: AssociationState,
    d: AttributeDescriptor,
    access: SelectiveAccess | undefined,
  ): Promise<GetDataResult> {
    if (assoc.status !== 'associated') return accessError('read-write-denied');
    if (d.instance === OBIS.currentAssociation && d.classId === 15) return this.readAssociation(assoc, d);
    const hls = this.hasHls();
    if (d.instance === OBIS.invocationCounter && hls && !this.describe(d.instance)) {
      if (d.classId !== 1) return accessError('object-class-inconsistent');
      if (d.attributeId === 1) return { data: dt.octets(obisToBytes(d.instance)) };
      if (d.attributeId !== 2) return accessError('object-undefined');
      return { data: dt.u32(this.server.expectedInvocationCounter(hls.clientSap)) };
    }
    const found = this.locate(d.classId, d.instance);
    if ('error' in found) return found.error;
    if (d.attributeId === 1) return { data: dt.octets(obisToBytes(d.instance)) };
    if (!this.attributeExists(d.classId, d.attributeId)) return accessError('object-undefined');
    try {
      const v = await this.server.provider.get(d.classId, d.instance, d.attributeId, access);
      return isAccessError(v) ? v : { data: v };
    } catch (error) {
      this.server.report(error);
      return accessError('hardware-fault');
    }
  }

  private attributeExists(classId: number, attribute: number): boolean {
    const cls = INTERFACE_CLASSES[classId];
    if (!cls) return attribute >= 1;
    return cls.attributes.some((a) => a.index === attribute);
  }

  private async writeAttribute(
    assoc: AssociationState,
    d: AttributeDescriptor,
    value: DlmsData,
    access: SelectiveAccess | undefined,
  ): Promise<number> {
    if (assoc.status !== 'associated' || assoc.config.access !== 'read-write') {
      return DATA_ACCESS_RESULT['read-write-denied'];
    }
    if (d.instance === OBIS.currentAssociation) return DATA_ACCESS_RESULT['read-write-denied'];
    const found = this.locate(d.classId, d.instance);
    if ('error' in found) return found.error.error;
    if (!this.attributeExists(d.classId, d.attributeId)) return DATA_ACCESS_RESULT['object-undefined'];
    if (!found.object.writable?.includes(d.attributeId)) return DATA_ACCESS_RESULT['read-write-denied'];
    try {
      const r = await this.server.provider.set(d.classId, d.instance, d.attributeId, value, access);
      return r ? r.error : DATA_ACCESS_RESULT.success;
    } catch (error) {
      this.server.report(error);
      return DATA_ACCESS_RESULT['hardware-fault'];
    }
  }

  private async act(
    assoc: AssociationState,
    apdu: Extract<Apdu, { type: 'action-request-normal' }>,
  ): Promise<Apdu> {
    const d = apdu.descriptor;
    const answer = (result: number, data?: DlmsData): Apdu => ({
      type: 'action-response-normal',
      iip: apdu.iip,
      result,
      returnParameters: data ? { data } : undefined,
    });
    if (d.instance === OBIS.currentAssociation && d.classId === 15 && d.methodId === 1) {
      return this.replyToHls(assoc, apdu.parameter, answer);
    }
    if (assoc.status !== 'associated' || assoc.config.access !== 'read-write') {
      return answer(DATA_ACCESS_RESULT['read-write-denied']);
    }
    const found = this.locate(d.classId, d.instance);
    if ('error' in found) return answer(found.error.error);
    const cls = INTERFACE_CLASSES[d.classId];
    if (cls && !cls.methods.some((m) => m.index === d.methodId)) {
      return answer(DATA_ACCESS_RESULT['object-undefined']);
    }
    try {
      const r = await this.server.provider.action(d.classId, d.instance, d.methodId, apdu.parameter);
      if (isAccessError(r)) return answer(r.error);
      return answer(DATA_ACCESS_RESULT.success, r);
    } catch (error) {
      this.server.report(error);
      return answer(DATA_ACCESS_RESULT['hardware-fault']);
    }
  }

  /** Green Book §9.2.7.4 HLS pass 3 (check f(StoC)) and pass 4 (answer f(CtoS)). */
  private replyToHls(
    assoc: AssociationState,
    param: DlmsData | undefined,
    answer: (result: number, data?: DlmsData) => Apdu,
  ): Apdu {
    const auth = assoc.config.authentication;
    if (assoc.status !== 'pending-hls' || auth.mechanism !== 'hls-gmac' || !assoc.stoc || !assoc.ctos) {
      return answer(DATA_ACCESS_RESULT['read-write-denied']);
    }
    const ok =
      param?.type === 'octet-string' && assoc.clientSystemTitle
        ? verifyHlsGmac(param.value, assoc.stoc, auth.keys, assoc.clientSystemTitle)
        : null;
    if (ok === null) {
      this.server.stats.associationsRefused += 1;
      this.server.emit('association-refused', {
        clientSap: assoc.config.clientSap,
        reason: 'HLS f(StoC) does not verify',
      });
      const refused = answer(DATA_ACCESS_RESULT['other-reason']);
      // Pass 3 failed: the association stays closed to everything.
      assoc.status = 'pending-hls';
      assoc.stoc = undefined;
      return refused;
    }
    assoc.status = 'associated';
    this.server.stats.associations += 1;
    this.server.emit('association', { clientSap: assoc.config.clientSap, mechanism: 'hls-gmac' });
    const fCtoS = hlsGmac(assoc.ctos, {
      ...auth.keys,
      systemTitle: this.server.systemTitle,
      invocationCounter: this.server.nextInvocationCounter(),
    });
    return answer(DATA_ACCESS_RESULT.success, dt.octets(fCtoS));
  }

  /** Association LN (class 15 v1) attributes the server answers from its own state. */
  private readAssociation(assoc: AssociationState, d: AttributeDescriptor): GetDataResult {
    switch (d.attributeId) {
      case 1:
        return { data: dt.octets(obisToBytes(OBIS.currentAssociation)) };
      case 2:
        return { data: objectListToData(this.objectList(assoc)) };
      case 3:
        // associated_partners_id {integer client SAP, long-unsigned server SAP}.
        return { data: dt.struct(dt.i8(assoc.config.clientSap), dt.u16(this.server.logicalDevice)) };
      case 4:
        return { data: dt.octets(contextOid(1, contextId(assoc.applicationContext))) };
      case 6:
        return { data: dt.octets(contextOid(2, MECHANISM[assoc.config.authentication.mechanism])) };
      case 8:
        // association_status: 0 non-associated, 1 association-pending, 2 associated.
        return { data: dt.enum(assoc.status === 'associated' ? 2 : 1) };
      default:
        return this.attributeExists(15, d.attributeId)
          ? accessError('object-unavailable')
          : accessError('object-undefined');
    }
  }

  /** object_list (Blue Book §4.4.3): the provider's objects, the association, and the counter object. */
  private objectList(assoc: AssociationState): ObjectListEntry[] {
    const rw = assoc.config.access === 'read-write';
    const entries: ObjectListEntry[] = [];
    const entry = (o: CosemObjectDescription): ObjectListEntry => {
      const cls = INTERFACE_CLASSES[o.classId];
      const attrIds = cls ? cls.attributes.map((a) => a.index) : [1, 2];
      return {
        classId: o.classId,
        version: cls?.version ?? 0,
        logicalName: o.logicalName,
        attributes: attrIds.map((id) => ({
          id,
          access: rw && o.writable?.includes(id) ? ATTRIBUTE_ACCESS['read-write'] : ATTRIBUTE_ACCESS.read,
          selectors: o.selectors?.[id] ? [...(o.selectors[id] ?? [])] : undefined,
        })),
        methods: (cls?.methods ?? []).map((m) => ({
          id: m.index,
          access: rw ? METHOD_ACCESS.access : METHOD_ACCESS.none,
        })),
      };
    };
    entries.push({
      ...entry({ classId: 15, logicalName: OBIS.currentAssociation }),
      methods: [{ id: 1, access: METHOD_ACCESS.access }],
    });
    if (this.hasHls() && !this.describe(OBIS.invocationCounter)) {
      entries.push(entry({ classId: 1, logicalName: OBIS.invocationCounter }));
    }
    for (const o of this.server.provider.objects()) entries.push(entry(o));
    return entries;
  }
}

function contextId(c: ApplicationContext): number {
  return { 'ln-no-ciphering': 1, 'sn-no-ciphering': 2, 'ln-ciphering': 3, 'sn-ciphering': 4 }[c];
}

/** BER OID 2.16.756.5.8.<arc>.<id> (`60 85 74 05 08 arc id`), as application_context_name / mechanism_name. */
function contextOid(arc: number, id: number): Buffer {
  return Buffer.from([0x60, 0x85, 0x74, 0x05, 0x08, arc, id]);
}
