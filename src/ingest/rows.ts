/**
 * The rows the ingest writes, built from decoded contract messages. One table says which reading field
 * goes to which column, so the SQL writers and the docs read from the same place.
 */
import {
  type ContractMessage,
  flagsToBits,
  type MeterEvent,
  type Reading,
  type Status,
  timestampMs,
} from '../../protocols/mqtt/index.ts';

/** The store's keys of a meter (uuid `meters.id` and its `utility_id`), from its topic's utility and id. */
export interface MeterRef {
  readonly meterId: string;
  readonly utilityId: string;
}

/** One reading as stored: `meterId` is the store's meter id (uuid), times in ms. */
export interface ReadingRow {
  readonly meterId: string;
  readonly tsMs: number;
  readonly seq: number;
  readonly energyWh: number | null;
  readonly volumeL: number | null;
  readonly powerW: number | null;
  readonly voltageDv: number | null;
  readonly currentMa: number | null;
  readonly creditMinor: number | null;
  readonly creditWh: number | null;
  /** true = relay (or valve) closed, supply connected. */
  readonly relay: boolean | null;
  /** READING_FLAG_BITS mask (0 when the meter sent no flags). */
  readonly flags: number;
}

/** Reading row field → `readings` column and its PostgreSQL type, in column order. */
export const READING_COLUMNS = Object.freeze([
  { field: 'meterId', column: 'meter_id', type: 'uuid' },
  { field: 'tsMs', column: 'ts', type: 'timestamptz' },
  { field: 'seq', column: 'seq', type: 'bigint' },
  { field: 'energyWh', column: 'energy_wh', type: 'bigint' },
  { field: 'volumeL', column: 'volume_l', type: 'bigint' },
  { field: 'powerW', column: 'power_w', type: 'integer' },
  { field: 'voltageDv', column: 'voltage_dv', type: 'integer' },
  { field: 'currentMa', column: 'current_ma', type: 'integer' },
  { field: 'creditMinor', column: 'credit_minor', type: 'bigint' },
  { field: 'creditWh', column: 'credit_wh', type: 'bigint' },
  { field: 'relay', column: 'relay', type: 'boolean' },
  { field: 'flags', column: 'flags', type: 'integer' },
] as const satisfies ReadonlyArray<{ field: keyof ReadingRow; column: string; type: string }>);

/**
 * A reading as a row. `creditL` (water credit in litres) has no column in the store's `readings` table yet
 * and is not stored.
 */
export function toReadingRow(meter: MeterRef, r: Reading): ReadingRow {
  return {
    meterId: meter.meterId,
    tsMs: timestampMs(r.ts),
    seq: r.seq,
    energyWh: r.energyWh ?? null,
    volumeL: r.volumeL ?? null,
    powerW: r.powerW ?? null,
    voltageDv: r.voltageDv ?? null,
    currentMa: r.currentMa ?? null,
    creditMinor: r.creditMinor ?? null,
    creditWh: r.creditWh ?? null,
    relay: r.relay === undefined ? null : r.relay === 'connected',
    flags: r.flags === undefined ? 0 : flagsToBits(r.flags),
  };
}

/** One meter event as stored (tamper, token accepted, relay changed...). */
export interface EventRow {
  readonly utilityId: string;
  readonly meterId: string;
  readonly tsMs: number;
  readonly seq: number;
  readonly kind: MeterEvent['kind'];
  /** The event's details as JSON text (`{}` when none). */
  readonly details: string;
}

export function toEventRow(meter: MeterRef, e: MeterEvent): EventRow {
  return {
    utilityId: meter.utilityId,
    meterId: meter.meterId,
    tsMs: timestampMs(e.ts),
    seq: e.seq,
    kind: e.kind,
    details: JSON.stringify(e.details ?? {}),
  };
}

/** An online/offline transition from `up/status` (retained) or the last will. */
export interface StatusRow {
  readonly meterId: string;
  readonly online: boolean;
  /** When the meter says it changed state. */
  readonly tsMs: number;
  /** When Rasid received it: the meter's last-seen time. */
  readonly seenAtMs: number;
  readonly reason: string | null;
  readonly firmware: string | null;
}

export function toStatusRow(meter: MeterRef, s: Status, seenAtMs: number): StatusRow {
  return {
    meterId: meter.meterId,
    online: s.state === 'online',
    tsMs: timestampMs(s.ts),
    seenAtMs,
    reason: s.reason ?? null,
    firmware: s.firmware ?? null,
  };
}

export type { ContractMessage };
