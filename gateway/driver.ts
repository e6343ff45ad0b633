/**
 * The port between the gateway and one meter: what the scheduler and the command desk ask of a meter,
 * whatever protocol it speaks. `drivers/modbus.ts` and `drivers/dlms.ts` implement it.
 *
 * Drivers do not time out, retry or reconnect on their own: the {@link MeterWorker} wraps every call in a
 * timeout, closes the driver when the connection broke and calls `connect` again after a backoff. A
 * driver only needs to reject with a `DriverError` (see errors.ts) when something goes wrong.
 */
import type { Reading, RelayState, TokenRejection } from '../protocols/mqtt/index.ts';
import type { GatewayProtocol } from '../src/meters/protocols.ts';

/** The protocols the gateway serves (src/meters/protocols.ts). */
export type MeterProtocol = GatewayProtocol;

/** Where the gateway gets `seq` for a meter whose profile has no reading counter. */
export interface SequenceSource {
  next(): number;
}

/** The outcome of a token the meter was given. */
export type TokenOutcome =
  | { readonly accepted: true; readonly result: Readonly<Record<string, string | number | boolean>> }
  | { readonly accepted: false; readonly rejection: TokenRejection; readonly message: string };

/** Emergency credit and low-credit threshold requests, in the meter's own credit unit. */
export interface CreditAmounts {
  readonly minor?: number;
  readonly wh?: number;
  readonly litre?: number;
}

export interface MeterDriver {
  readonly meterId: string;
  readonly protocol: MeterProtocol;
  /** True while a connection (and, for DLMS, an association) is open. */
  readonly connected: boolean;
  /** Opens the connection (and association). Safe to call again after `close`. */
  connect(): Promise<void>;
  /** One reading in the MQTT contract's shape. */
  readReading(): Promise<Reading>;
  /** Opens the relay or closes the valve; resolves with the position measured afterwards. */
  disconnect(): Promise<RelayState>;
  /** Closes the relay or opens the valve; resolves with the position measured afterwards. */
  reconnect(): Promise<RelayState>;
  /** Enters a 20-digit token as if keyed in and waits for the meter's verdict. */
  enterToken(token: string): Promise<TokenOutcome>;
  /** Sets the meter's clock. */
  syncTime(at: Date): Promise<void>;
  /** Takes (or, with `enabled: false`, declines) emergency credit. */
  setEmergencyCredit(enabled: boolean, amount: CreditAmounts): Promise<void>;
  /** Sets the low-credit threshold in the unit the meter keeps credit in. */
  setLowCreditThreshold(threshold: CreditAmounts): Promise<void>;
  /** A cheap request that proves the meter answers (a link check between polls). */
  ping(): Promise<void>;
  /**
   * The readings the meter recorded in its load profile with `from` < ts < `to`, oldest first, each with
   * its own timestamp; absent when the meter (or its profile) keeps none.
   */
  readIntervals?(from: Date, to: Date): Promise<Reading[]>;
  /** Closes the connection; pending calls reject. The driver can `connect` again later. */
  close(): Promise<void>;
}
