/**
 * The gateway's DLMS/COSEM client over TCP (HDLC or the IEC 62056-47 wrapper): associate with no
 * security, LLS or HLS-GMAC (with glo-ciphering), then GET (block transfer, with-list), SET and ACTION.
 * One request at a time per association; each has a timeout; a closed socket rejects whatever waits.
 *
 *   const c = await DlmsClient.open({ host, port, transport: 'wrapper', authentication: { mechanism: 'lls', password } });
 *   const energy = await c.readRegister(OBIS.activeEnergyImport);   // { value: 12340, unit: 30, ... }
 *   await c.disconnect();
 *   await c.release();
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import {
  type Apdu,
  type ApplicationContext,
  applyScaler,
  asBoolean,
  asList,
  asNumber,
  asOctets,
  type CaptureObject,
  CONFORMANCE,
  type ConformanceName,
  type CosemDateTime,
  captureObjectsFromData,
  cipherApdu,
  clientAddress,
  conformance,
  cosemToDate,
  type DateConversionOptions,
  DEFAULT_HDLC_PARAMETERS,
  type DeviationSign,
  DLMS_VERSION,
  type DlmsData,
  dateToCosem,
  decipherApdu,
  decodeApdu,
  decodeCosemDateTime,
  decodeData,
  decodeInitiateResponse,
  dt,
  encodeApdu,
  encodeCosemDateTime,
  encodeInitiateRequest,
  expandProfileTimestamps,
  GetBlockAssembler,
  type GetDataResult,
  type HdlcParameters,
  hlsGmac,
  INITIATE_TAG,
  InvocationCounterGuard,
  invokeIdAndPriority,
  invokeIdOf,
  isCipheredApdu,
  OBIS,
  type ObisCode,
  type ObjectListEntry,
  obis,
  objectListFromData,
  rangeDescriptorToData,
  SC_AUTHENTICATION,
  SC_ENCRYPTION,
  SELECTOR_RANGE,
  type SecurityKeys,
  type SelectiveAccess,
  scalerUnitFromData,
  serverAddress,
  TOKEN_STATUS_CODE,
  tokenStatusFromData,
  verifyHlsGmac,
  WPORT,
} from '../../protocols/dlms/index.ts';
import {
  DlmsAccessError,
  DlmsAssociationError,
  DlmsConnectionError,
  DlmsProtocolError,
  DlmsSessionError,
} from './errors.ts';
import { type Deadline, type DlmsLink, deadline, HdlcLink, WrapperLink } from './link.ts';

// ---- options ----

export type ClientAuthentication =
  | { readonly mechanism: 'none' }
  | { readonly mechanism: 'lls'; readonly password: Buffer | string }
  | {
      readonly mechanism: 'hls-gmac';
      readonly keys: SecurityKeys;
      /** The client's system title, 8 bytes. */
      readonly systemTitle: Buffer;
      /**
       * First invocation counter to use; it must be above the last one the meter saw (read it from
       * 0.0.43.1.0.255 with the public client). Read `client.invocationCounter` to persist it.
       */
      readonly invocationCounter?: number;
    };

export interface DlmsClientOptions {
  readonly host: string;
  readonly port: number;
  readonly transport: 'hdlc' | 'wrapper';
  /** Default: no security. */
  readonly authentication?: ClientAuthentication;
  /** Client SAP / wPort. Default by mechanism: 16 none, 17 LLS, 1 HLS-GMAC (dlms.md §2.1). */
  readonly clientSap?: number;
  /** Server logical device (HDLC upper address, wrapper wPort). Default 1. */
  readonly logicalDevice?: number;
  /** HDLC lower (physical) server address; gives a 2- or 4-byte server address. */
  readonly physicalDevice?: number;
  /** Per request (and for connect and association). Default 5000 ms. */
  readonly timeoutMs?: number;
  /** Client max receive PDU size proposed in the InitiateRequest. Default 1024. */
  readonly maxPduSize?: number;
  /** HDLC parameters proposed in SNRM (from the client's side). Default 128 bytes, window 1. */
  readonly hdlc?: Partial<HdlcParameters>;
  /** Services proposed. Default GET, SET, ACTION, selective access, block transfer with GET, with-list. */
  readonly conformance?: number;
  /** The meter's local offset and deviation sign, for clock and profile date-times. */
  readonly utcOffsetMinutes?: number;
  readonly deviationSign?: DeviationSign;
  /** Challenge source (CtoS); default crypto.randomBytes. */
  readonly random?: (size: number) => Buffer;
}

const DEFAULT_CONFORMANCE = conformance(
  'get',
  'set',
  'action',
  'selective-access',
  'block-transfer-with-get-or-read',
  'multiple-references',
);

const DEFAULT_SAP: Readonly<Record<ClientAuthentication['mechanism'], number>> = Object.freeze({
  none: WPORT.publicClient,
  lls: WPORT.llsClient,
  'hls-gmac': WPORT.managementClient,
});

/** Association LN method 1: reply_to_HLS_authentication. */
const HLS_REPLY_METHOD = 1;
const ASSOCIATION_LN_CLASS = 15;

export interface AttributeRef {
  readonly classId: number;
  readonly obis: ObisCode | string;
  readonly attribute: number;
  readonly selector?: SelectiveAccess;
}

export interface RegisterReading {
  /** value × 10^scaler. */
  value: number;
  raw: DlmsData;
  scaler: number;
  unit: number;
}

export interface RelayState {
  outputState: boolean;
  controlState: number;
}

export interface TokenResult {
  accepted: boolean;
  /** Token gateway status code and its name (TOKEN_STATUS_CODE). */
  statusCode: number;
  status: string;
  /** The meter's own result code carried in token_status data_value. */
  code: number;
}

export interface ProfileReading {
  columns: CaptureObject[];
  rows: DlmsData[][];
  /** One per row when the profile has a clock column (compressed timestamps expanded). */
  timestamps: Date[];
}

export interface DlmsClientStats {
  requests: number;
  /** GET datablocks received. */
  blocksReceived: number;
  framesDropped: number;
  framesIgnored: number;
}

const STATUS_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(TOKEN_STATUS_CODE).map(([k, v]) => [v, k]),
);

/** An empty array in A-XDR: tag 0x01, length 0. */
const EMPTY_ARRAY = Buffer.from([0x01, 0x00]);

/**
 * The data of a GET answered in datablocks, from the joined raw data and the blocks' own parts. One
 * exception to "the joined raw data is one Data": some servers (the Gurux example's empty profile buffer)
 * send an empty array as two or more blocks that each hold exactly `01 00`; that is read as one empty
 * array. Anything else that does not decode as one Data is refused.
 */
export function joinedData(raw: Buffer, parts: readonly Buffer[]): DlmsData {
  if (parts.length >= 2 && parts.every((p) => p.equals(EMPTY_ARRAY))) return { type: 'array', value: [] };
  return decodeData(raw);
}

// ---- the client ----

export class DlmsClient {
  readonly options: DlmsClientOptions;
  private readonly timeoutMs: number;
  private readonly authentication: ClientAuthentication;
  private readonly clientSap: number;
  private readonly logicalDevice: number;
  private readonly dateOpts: DateConversionOptions;
  private socket: Socket | undefined;
  private link: DlmsLink | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private invokeId = 0;
  private associated = false;
  private ciphered = false;
  private negotiated = 0;
  private serverMaxPdu = 0xffff;
  private serverSystemTitle: Buffer | undefined;
  private serverCounter = new InvocationCounterGuard();
  private ic: number;
  private readonly peer: string;
  /** Set once the socket has closed: every later call fails with it. */
  private closedWith: DlmsConnectionError | undefined;
  readonly stats: DlmsClientStats = { requests: 0, blocksReceived: 0, framesDropped: 0, framesIgnored: 0 };

  constructor(options: DlmsClientOptions) {
    this.options = options;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.authentication = options.authentication ?? { mechanism: 'none' };
    this.clientSap = options.clientSap ?? DEFAULT_SAP[this.authentication.mechanism];
    this.logicalDevice = options.logicalDevice ?? WPORT.management;
    this.dateOpts = { utcOffsetMinutes: options.utcOffsetMinutes ?? 0, deviationSign: options.deviationSign };
    this.ic = this.authentication.mechanism === 'hls-gmac' ? (this.authentication.invocationCounter ?? 0) : 0;
    this.peer = `${options.host}:${options.port}`;
  }

  /** Connects, sets the link up and associates; closes the socket again if any step fails. */
  static async open(options: DlmsClientOptions): Promise<DlmsClient> {
    const c = new DlmsClient(options);
    try {
      await c.connect();
      await c.associate();
      return c;
    } catch (err) {
      c.close();
      throw err;
    }
  }

  /** The next invocation counter this client will use (persist it between sessions). */
  get invocationCounter(): number {
    return this.ic;
  }

  /** The conformance block the server agreed to. */
  get conformance(): number {
    return this.negotiated;
  }

  get isAssociated(): boolean {
    return this.associated;
  }

  // ---- connection ----

  /** Opens the TCP connection and the data link (HDLC: SNRM/UA). */
  async connect(): Promise<void> {
    const o = this.options;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: o.host, port: o.port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new DlmsConnectionError(this.peer, `no TCP connection within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(new DlmsConnectionError(this.peer, err.message));
      });
    });
    socket.setNoDelay(true);
    const write = (b: Buffer) => {
      if (!socket.destroyed) socket.write(b);
    };
    const link: DlmsLink =
      o.transport === 'hdlc'
        ? new HdlcLink(
            write,
            clientAddress(this.clientSap),
            serverAddress(this.logicalDevice, o.physicalDevice),
            { ...DEFAULT_HDLC_PARAMETERS, ...o.hdlc },
          )
        : new WrapperLink(write, this.clientSap, this.logicalDevice);
    this.socket = socket;
    this.link = link;
    socket.on('data', (chunk: Buffer) => {
      try {
        link.onData(chunk);
      } catch {
        // The framers never throw; a bug here must not take the process down.
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.associated = false;
      this.closedWith ??= new DlmsConnectionError(this.peer, 'connection closed');
      link.fail(this.closedWith);
    });
    await this.locked(() => link.open(deadline('link set-up', this.timeoutMs)));
  }

  /** Closes the socket now; whatever waits is rejected with DlmsConnectionError. */
  close(): void {
    this.associated = false;
    this.closedWith ??= new DlmsConnectionError(this.peer, 'closed by client');
    this.link?.fail(this.closedWith);
    this.socket?.destroy();
  }

  /** RLRQ/RLRE, then (HDLC) DISC/UA, then closes the socket. Errors on the way are ignored. */
  async release(): Promise<void> {
    const link = this.link;
    try {
      if (link && this.associated) {
        await this.locked(async () => {
          const d = deadline('release', this.timeoutMs);
          const rlrq = encodeApdu({ type: 'rlrq', reason: 0, userInformation: this.releaseInfo() });
          await link.send(rlrq, d);
          const raw = await link.receive(d);
          if (decodeApdu(raw).type !== 'rlre') throw new DlmsProtocolError('no RLRE');
        });
      }
      this.associated = false;
      if (link && this.options.transport === 'hdlc') {
        await this.locked(() => link.close(deadline('disconnect', this.timeoutMs)));
      }
    } catch {
      // Releasing is best effort: the socket closes below either way.
    } finally {
      this.close();
    }
  }

  private releaseInfo(): Buffer | undefined {
    // Green Book §9.4: with ciphering the RLRQ carries a ciphered InitiateRequest.
    return this.ciphered ? this.cipher(this.initiateRequest()) : undefined;
  }

  // ---- association (ACSE, Green Book §9.4; HLS Green Book §9.2.7.4) ----

  private initiateRequest(): Buffer {
    return encodeInitiateRequest({
      dlmsVersion: DLMS_VERSION,
      conformance: this.options.conformance ?? DEFAULT_CONFORMANCE,
      clientMaxReceivePduSize: this.options.maxPduSize ?? 1024,
    });
  }

  /** Sends the AARQ and, for HLS-GMAC, passes 3 and 4. Rejects with DlmsAssociationError when refused. */
  async associate(): Promise<void> {
    const link = this.requireLink();
    const auth = this.authentication;
    const hls = auth.mechanism === 'hls-gmac';
    const context: ApplicationContext = hls ? 'ln-ciphering' : 'ln-no-ciphering';
    const ctos = hls ? (this.options.random ?? randomBytes)(16) : undefined;
    this.serverCounter = new InvocationCounterGuard();
    this.ciphered = hls;
    const aarq = encodeApdu({
      type: 'aarq',
      applicationContext: context,
      callingApTitle: hls ? auth.systemTitle : undefined,
      mechanism: auth.mechanism,
      callingAuthenticationValue:
        auth.mechanism === 'lls' ? Buffer.from(auth.password) : hls ? ctos : undefined,
      userInformation: hls ? this.cipher(this.initiateRequest()) : this.initiateRequest(),
    });
    const aare = await this.locked(async () => {
      const d = deadline('AARQ', this.timeoutMs);
      await link.send(aarq, d);
      const apdu = this.decode(await link.receive(d));
      if (apdu.type !== 'aare') throw new DlmsProtocolError(`expected AARE, got ${apdu.type}`);
      return apdu;
    });
    if (aare.result !== 'accepted') {
      this.ciphered = false;
      throw new DlmsAssociationError(
        `${aare.result}, diagnostic ${aare.diagnostic.source} ${aare.diagnostic.code}`,
        aare.result,
        aare.diagnostic.code,
      );
    }
    let initiate = aare.userInformation;
    if (!initiate) throw new DlmsAssociationError('AARE without InitiateResponse');
    if (hls) {
      this.serverSystemTitle = aare.respondingApTitle;
      if (this.serverSystemTitle?.length !== 8 || !aare.respondingAuthenticationValue) {
        throw new DlmsAssociationError('AARE without server system title or StoC challenge');
      }
      try {
        initiate = this.decipher(initiate);
      } catch (err) {
        throw new DlmsAssociationError(`glo-initiateResponse: ${(err as Error).message}`);
      }
    }
    if (initiate[0] === INITIATE_TAG.confirmedServiceError) {
      throw new DlmsAssociationError(`ConfirmedServiceError ${initiate.subarray(1).toString('hex')}`);
    }
    const response = decodeInitiateResponse(initiate);
    this.negotiated = response.conformance;
    this.serverMaxPdu = response.serverMaxReceivePduSize || 0xffff;
    if (hls && auth.mechanism === 'hls-gmac' && ctos && aare.respondingAuthenticationValue) {
      this.associated = true; // lets the pass-3 ACTION through
      try {
        await this.hlsPasses(auth, ctos, aare.respondingAuthenticationValue);
      } catch (err) {
        this.associated = false;
        if (err instanceof DlmsAssociationError) throw err;
        throw new DlmsAssociationError(`HLS pass 3: ${(err as Error).message}`);
      }
    }
    this.associated = true;
  }

  private async hlsPasses(
    auth: Extract<ClientAuthentication, { mechanism: 'hls-gmac' }>,
    ctos: Buffer,
    stoc: Buffer,
  ): Promise<void> {
    // Pass 3: f(StoC) = SC ‖ IC ‖ GMAC(SC ‖ AK ‖ StoC), with an invocation counter of its own.
    const fStoC = hlsGmac(stoc, {
      ...auth.keys,
      systemTitle: auth.systemTitle,
      invocationCounter: this.ic++,
    });
    const reply = await this.action(
      ASSOCIATION_LN_CLASS,
      OBIS.currentAssociation,
      HLS_REPLY_METHOD,
      dt.octets(fStoC),
    );
    // Pass 4: the server's f(CtoS), computed with its own system title.
    const ok =
      reply?.type === 'octet-string' && this.serverSystemTitle
        ? verifyHlsGmac(reply.value, ctos, auth.keys, this.serverSystemTitle)
        : null;
    if (ok === null) throw new DlmsAssociationError('server failed HLS pass 4 (f(CtoS) does not verify)');
  }

  // ---- ciphering (security suite 0) ----

  private cipher(plain: Buffer): Buffer {
    const auth = this.authentication;
    if (auth.mechanism !== 'hls-gmac') return plain;
    return cipherApdu(
      plain,
      {
        ...auth.keys,
        securityControl: SC_AUTHENTICATION | SC_ENCRYPTION,
        invocationCounter: this.ic++,
        systemTitle: auth.systemTitle,
      },
      'service-specific',
    );
  }

  private decipher(bytes: Buffer): Buffer {
    const auth = this.authentication;
    if (auth.mechanism !== 'hls-gmac') throw new DlmsProtocolError('ciphered APDU without ciphering keys');
    const d = decipherApdu(bytes, auth.keys, this.serverSystemTitle);
    if (!this.serverCounter.accept(d.invocationCounter)) {
      throw new DlmsProtocolError(`server invocation counter ${d.invocationCounter} replayed`);
    }
    return d.plaintext;
  }

  /** Decodes (and deciphers) one APDU from the server; ExceptionResponse becomes DlmsProtocolError. */
  private decode(raw: Buffer): Apdu {
    let apdu: Apdu;
    try {
      apdu = decodeApdu(isCipheredApdu(raw) ? this.decipher(raw) : raw);
    } catch (err) {
      if (err instanceof DlmsSessionError) throw err;
      throw new DlmsProtocolError(`answer does not decode: ${(err as Error).message}`);
    }
    if (apdu.type === 'exception-response') {
      throw new DlmsProtocolError(
        `exception-response state-error ${apdu.stateError} service-error ${apdu.serviceError}`,
        { stateError: apdu.stateError, serviceError: apdu.serviceError },
      );
    }
    return apdu;
  }

  // ---- requests ----

  private requireLink(): DlmsLink {
    if (this.closedWith) throw this.closedWith;
    if (!this.link) throw new DlmsConnectionError(this.peer, 'not connected');
    return this.link;
  }

  /** Runs `fn` after every earlier request (one request at a time per association). */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private nextIip(): number {
    this.invokeId = (this.invokeId + 1) & 0x0f;
    return invokeIdAndPriority(this.invokeId);
  }

  /** One request and its answer (unlocked; callers hold the lock). Stale answers are skipped by invoke id. */
  private async exchange(request: Apdu, d: Deadline): Promise<Apdu> {
    const link = this.requireLink();
    if (!this.associated) throw new DlmsProtocolError(`${d.what} before association`);
    this.stats.requests += 1;
    const plain = encodeApdu(request);
    if (plain.length > this.serverMaxPdu) {
      throw new DlmsProtocolError(
        `${d.what}: request of ${plain.length} bytes exceeds the server's PDU size`,
      );
    }
    await link.send(this.ciphered ? this.cipher(plain) : plain, d);
    const want = 'iip' in request ? invokeIdOf(request.iip) : undefined;
    for (;;) {
      const answer = this.decode(await link.receive(d));
      if (want !== undefined && 'iip' in answer && invokeIdOf(answer.iip) !== want) continue;
      this.syncStats();
      return answer;
    }
  }

  private syncStats(): void {
    if (!this.link) return;
    this.stats.framesDropped = this.link.stats.framesDropped;
    this.stats.framesIgnored = this.link.stats.framesIgnored;
  }

  private has(name: ConformanceName): boolean {
    return (this.negotiated & CONFORMANCE[name]) !== 0;
  }

  /** GET normal (attribute value), following block transfer to the end. */
  get(
    classId: number,
    obisCode: ObisCode | string,
    attribute: number,
    selector?: SelectiveAccess,
  ): Promise<DlmsData> {
    const instance = obis(obisCode);
    const what = `GET ${classId}/${instance}/${attribute}`;
    return this.locked(async () => {
      const d = deadline(what, this.timeoutMs);
      const answer = await this.exchange(
        {
          type: 'get-request-normal',
          iip: this.nextIip(),
          descriptor: { classId, instance, attributeId: attribute },
          access: selector,
        },
        d,
      );
      if (answer.type === 'get-response-normal') {
        if ('error' in answer.result) throw new DlmsAccessError(what, answer.result.error);
        return answer.result.data;
      }
      const parts: Buffer[] = [];
      const raw = await this.followBlocks(answer, what, d, parts);
      try {
        return joinedData(raw, parts);
      } catch (err) {
        throw new DlmsProtocolError(`${what}: joined datablocks do not decode: ${(err as Error).message}`);
      }
    });
  }

  /** IEC 62056-5-3 §7.3.8: ask for block n + 1 after block n until the last one; returns the joined raw data. */
  private async followBlocks(first: Apdu, what: string, d: Deadline, parts: Buffer[] = []): Promise<Buffer> {
    const assembler = new GetBlockAssembler();
    let answer = first;
    for (;;) {
      if (answer.type !== 'get-response-with-datablock') {
        throw new DlmsProtocolError(`${what}: expected a datablock, got ${answer.type}`);
      }
      this.stats.blocksReceived += 1;
      if ('raw' in answer.result) parts.push(answer.result.raw);
      let step: ReturnType<GetBlockAssembler['push']>;
      try {
        step = assembler.push(answer);
      } catch (err) {
        throw new DlmsProtocolError(`${what}: ${(err as Error).message}`);
      }
      if (step.done) {
        if ('error' in step) throw new DlmsAccessError(what, step.error);
        return step.raw;
      }
      answer = await this.exchange(step.next, d);
    }
  }

  /**
   * GET-with-list: one result per item, in order ({ data } or { error }); never throws for one item.
   * Falls back to one GET per item when the server did not agree to multiple-references.
   */
  getWithList(items: readonly AttributeRef[]): Promise<GetDataResult[]> {
    if (!this.has('multiple-references')) return this.getEach(items);
    const what = `GET-with-list of ${items.length}`;
    return this.locked(async () => {
      const d = deadline(what, this.timeoutMs);
      const iip = this.nextIip();
      const answer = await this.exchange(
        {
          type: 'get-request-with-list',
          iip,
          items: items.map((it) => ({
            descriptor: { classId: it.classId, instance: obis(it.obis), attributeId: it.attribute },
            access: it.selector,
          })),
        },
        d,
      );
      if (answer.type === 'get-response-with-list') return answer.results;
      // With block transfer the raw data is the with-list body: rebuild the APDU to decode it.
      const raw = await this.followBlocks(answer, what, d);
      const rebuilt = decodeApdu(Buffer.concat([Buffer.from([0xc4, 0x03, iip]), raw]));
      if (rebuilt.type !== 'get-response-with-list') throw new DlmsProtocolError(`${what}: bad datablocks`);
      return rebuilt.results;
    });
  }

  private async getEach(items: readonly AttributeRef[]): Promise<GetDataResult[]> {
    const out: GetDataResult[] = [];
    for (const it of items) {
      try {
        out.push({ data: await this.get(it.classId, it.obis, it.attribute, it.selector) });
      } catch (err) {
        if (!(err instanceof DlmsAccessError)) throw err;
        out.push({ error: err.dataAccessResult });
      }
    }
    return out;
  }

  /** SET normal; rejects with DlmsAccessError when the meter refuses. */
  set(classId: number, obisCode: ObisCode | string, attribute: number, value: DlmsData): Promise<void> {
    const instance = obis(obisCode);
    const what = `SET ${classId}/${instance}/${attribute}`;
    return this.locked(async () => {
      const answer = await this.exchange(
        {
          type: 'set-request-normal',
          iip: this.nextIip(),
          descriptor: { classId, instance, attributeId: attribute },
          value,
        },
        deadline(what, this.timeoutMs),
      );
      if (answer.type !== 'set-response-normal') throw new DlmsProtocolError(`${what}: got ${answer.type}`);
      if (answer.result !== 0) throw new DlmsAccessError(what, answer.result);
    });
  }

  /** ACTION normal; returns the return parameters (if any); rejects with DlmsAccessError on a failed result. */
  action(
    classId: number,
    obisCode: ObisCode | string,
    method: number,
    parameter?: DlmsData,
  ): Promise<DlmsData | undefined> {
    const instance = obis(obisCode);
    const what = `ACTION ${classId}/${instance}/${method}`;
    return this.locked(async () => {
      const answer = await this.exchange(
        {
          type: 'action-request-normal',
          iip: this.nextIip(),
          descriptor: { classId, instance, methodId: method },
          parameter,
        },
        deadline(what, this.timeoutMs),
      );
      if (answer.type !== 'action-response-normal') {
        throw new DlmsProtocolError(`${what}: got ${answer.type}`);
      }
      if (answer.result !== 0) throw new DlmsAccessError(what, answer.result);
      const r = answer.returnParameters;
      if (r && 'error' in r) throw new DlmsAccessError(what, r.error);
      return r?.data;
    });
  }

  // ---- conveniences ----

  /** Register (class 3) value with its scaler_unit applied. */
  async readRegister(obisCode: ObisCode | string): Promise<RegisterReading> {
    const su = scalerUnitFromData(await this.get(3, obisCode, 3));
    const raw = await this.get(3, obisCode, 2);
    return { value: applyScaler(asNumber(raw), su.scaler), raw, scaler: su.scaler, unit: su.unit };
  }

  /** Clock attribute 2 (octet-string(12), or a date-time). */
  async readClock(): Promise<{ time: Date; raw: CosemDateTime }> {
    const v = await this.get(8, OBIS.clock, 2);
    const raw = v.type === 'date-time' ? v.value : decodeCosemDateTime(asOctets(v));
    return { time: cosemToDate(raw, this.dateOpts), raw };
  }

  /** Time synchronisation: SET clock attribute 2. */
  setClock(time: Date): Promise<void> {
    return this.set(8, OBIS.clock, 2, dt.octets(encodeCosemDateTime(dateToCosem(time, this.dateOpts))));
  }

  async readRelay(obisCode: ObisCode | string = OBIS.disconnectControl): Promise<RelayState> {
    const outputState = asBoolean(await this.get(70, obisCode, 2));
    const controlState = asNumber(await this.get(70, obisCode, 3));
    return { outputState, controlState };
  }

  /** Disconnect control method 1 remote_disconnect(0), then the new state. */
  async disconnect(obisCode: ObisCode | string = OBIS.disconnectControl): Promise<RelayState> {
    await this.action(70, obisCode, 1, dt.i8(0));
    return this.readRelay(obisCode);
  }

  /** Disconnect control method 2 remote_reconnect(0), then the new state (connected or ready_for_reconnection). */
  async reconnect(obisCode: ObisCode | string = OBIS.disconnectControl): Promise<RelayState> {
    await this.action(70, obisCode, 2, dt.i8(0));
    return this.readRelay(obisCode);
  }

  /** Token gateway method 1 enter(octet-string digits), then token_status (attribute 6). */
  async enterToken(digits: string, obisCode: ObisCode | string = OBIS.tokenGateway): Promise<TokenResult> {
    await this.action(115, obisCode, 1, dt.octets(Buffer.from(digits, 'latin1')));
    const status = tokenStatusFromData(await this.get(115, obisCode, 6));
    return {
      accepted: status.statusCode === TOKEN_STATUS_CODE['execution-ok'],
      statusCode: status.statusCode,
      status: STATUS_NAMES.get(status.statusCode) ?? `status-${status.statusCode}`,
      code: status.dataValue === '' ? 0 : Number.parseInt(status.dataValue, 2),
    };
  }

  /** The association's object_list (0.0.40.0.0.255 attribute 2). */
  async readObjectList(): Promise<ObjectListEntry[]> {
    return objectListFromData(await this.get(ASSOCIATION_LN_CLASS, OBIS.currentAssociation, 2));
  }

  /**
   * Profile generic rows between two times (range_descriptor on the clock column, selector 1), with
   * compressed timestamps expanded.
   */
  async readProfile(obisCode: ObisCode | string, from: Date, to: Date): Promise<ProfileReading> {
    const columns = captureObjectsFromData(await this.get(7, obisCode, 3));
    const period = asNumber(await this.get(7, obisCode, 4));
    const clockColumn = columns.findIndex((c) => c.classId === 8 && c.attributeIndex === 2);
    const restricting = columns[clockColumn];
    const selector: SelectiveAccess | undefined = restricting
      ? {
          selector: SELECTOR_RANGE,
          parameters: rangeDescriptorToData({
            restrictingObject: restricting,
            from: dateToCosem(from, this.dateOpts),
            to: dateToCosem(to, this.dateOpts),
            selectedValues: [],
          }),
        }
      : undefined;
    const rows = asList(await this.get(7, obisCode, 2, selector)).map((r) => asList(r));
    const timestamps =
      clockColumn >= 0 ? expandProfileTimestamps(rows, clockColumn, period, this.dateOpts) : [];
    return { columns, rows, timestamps };
  }
}
