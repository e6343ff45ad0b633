/**
 * The {@link CosemSession} port over Rasid's DLMS client (`gateway/dlms/`): one association per session,
 * opened with the meter's transport, addresses and security, and the client's errors turned into driver
 * errors.
 *
 * HLS-GMAC: invocation counters must strictly increase (a meter remembers the last one it accepted).
 * Before each HLS association the session reads the counter the meter expects from the invocation
 * counter object (0.0.43.1.0.255, attribute 2) through the public client (SAP 16, no security), as
 * Green Book practice and dlms.md §2.7 ask, and goes on from there. When the meter has no public client
 * the session goes on from the counter it used last in this process.
 */

import { asNumber, type DlmsData, OBIS, type ObisCode, WPORT } from '../../protocols/dlms/index.ts';
import type { DlmsMeterConfig } from '../config.ts';
import {
  type ClientAuthentication,
  DlmsAccessError,
  DlmsAssociationError,
  DlmsClient,
  type DlmsClientOptions,
  DlmsConnectionError,
  DlmsTimeoutError,
} from '../dlms/index.ts';
import { DriverError } from '../errors.ts';
import type { CosemSession, CosemSessionFactory, ProfileRows } from './dlms.ts';

function driverError(err: unknown): DriverError {
  if (err instanceof DriverError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof DlmsTimeoutError) return new DriverError('timeout', message);
  if (err instanceof DlmsConnectionError || err instanceof DlmsAssociationError) {
    return new DriverError('connection', message);
  }
  if (err instanceof DlmsAccessError) return new DriverError('refused', message);
  return new DriverError('protocol', message);
}

async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw driverError(err);
  }
}

export class DlmsClientSession implements CosemSession {
  private client: DlmsClient | null = null;
  private invocationCounter = 0;

  constructor(private readonly meter: DlmsMeterConfig) {}

  get isOpen(): boolean {
    return this.client?.isAssociated === true;
  }

  private options(): DlmsClientOptions {
    const { connection, transport, security } = this.meter;
    const authentication: ClientAuthentication =
      security.mechanism === 'hls-gmac'
        ? {
            mechanism: 'hls-gmac',
            keys: { blockCipherKey: security.encryptionKey, authenticationKey: security.authenticationKey },
            systemTitle: security.systemTitle,
            invocationCounter: this.invocationCounter,
          }
        : security;
    const addresses =
      transport.framing === 'wrapper'
        ? { clientSap: transport.clientWPort, logicalDevice: transport.serverWPort }
        : {
            clientSap: transport.clientAddress,
            logicalDevice: transport.serverLogical,
            physicalDevice: transport.serverPhysical,
          };
    return {
      host: connection.host,
      port: connection.port,
      transport: transport.framing,
      authentication,
      timeoutMs: this.meter.timeoutMs,
      ...Object.fromEntries(Object.entries(addresses).filter(([, v]) => v !== undefined)),
    };
  }

  async open(): Promise<void> {
    await this.close();
    if (this.meter.security.mechanism === 'hls-gmac') await this.readInvocationCounter();
    this.client = await mapped(() => DlmsClient.open(this.options()));
  }

  private async readInvocationCounter(): Promise<void> {
    const options = this.options();
    let publicClient: DlmsClient | undefined;
    try {
      publicClient = await DlmsClient.open({
        ...options,
        authentication: { mechanism: 'none' },
        clientSap: WPORT.publicClient,
      });
      const expected = asNumber(await publicClient.get(1, OBIS.invocationCounter, 2));
      this.invocationCounter = Math.max(this.invocationCounter, expected);
    } catch {
      // No public client (or no counter object): go on from the counter used last.
    } finally {
      await publicClient?.release();
    }
  }

  get(classId: number, obis: ObisCode, attribute: number): Promise<DlmsData> {
    return mapped(() => this.require().get(classId, obis, attribute));
  }

  set(classId: number, obis: ObisCode, attribute: number, value: DlmsData): Promise<void> {
    return mapped(() => this.require().set(classId, obis, attribute, value));
  }

  async action(
    classId: number,
    obis: ObisCode,
    method: number,
    parameter: DlmsData,
  ): Promise<DlmsData | null> {
    return (await mapped(() => this.require().action(classId, obis, method, parameter))) ?? null;
  }

  readProfile(obis: ObisCode, from: Date, to: Date): Promise<ProfileRows> {
    return mapped(() => this.require().readProfile(obis, from, to));
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client === null) return;
    this.invocationCounter = Math.max(this.invocationCounter, client.invocationCounter);
    await client.release();
  }

  private require(): DlmsClient {
    if (this.client === null) throw new DriverError('unreachable', 'no DLMS association is open');
    return this.client;
  }
}

/** Opens sessions with Rasid's DLMS client. */
export const dlmsClientSessions: CosemSessionFactory = (meter) => new DlmsClientSession(meter);
