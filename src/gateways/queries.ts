/**
 * The reads of protocol gateways (docs/gateway.md, "Meters from Rasid"): a utility's gateways with the
 * number of meters each serves, a gateway's assignments as operators see them (whether secrets are sealed,
 * never the secrets), and the meter list a gateway fetches for itself, secrets opened by the key store.
 */
import type { Selectable } from 'kysely';
import { RasidError } from '../errors.ts';
import type { KeyStore } from '../store/keystore.ts';
import type { Queryable } from '../store/ledger.ts';
import type { GatewayId, GatewaysTable, MeterId, UtilityId } from '../store/schema.ts';

export type GatewayRow = Selectable<GatewaysTable>;

export type Settings = Record<string, unknown>;

/** A gateway as operators see it: never its API key (only its hash is kept anyway). */
export interface GatewayView {
  readonly id: GatewayId;
  readonly code: string;
  readonly name: string;
  readonly active: boolean;
  readonly brokerUrl: string | null;
  readonly pollIntervalS: number;
  /** Meters assigned to it. */
  readonly meters: number;
  readonly createdAt: Date;
}

/** A meter's assignment as operators see it: the settings, and whether secrets are sealed. */
export interface AssignmentView {
  readonly meterId: string;
  readonly serial: string;
  readonly protocol: string;
  readonly gatewayId: string;
  readonly settings: Settings;
  readonly security: { mechanism: string; secretsStored: boolean };
  readonly updatedAt: Date;
}

/** The key-store context of a meter's sealed secrets: a box opens on its own row only. */
export const sealContext = (meterId: string) => `gateway_meters:${meterId}`;

/** The security mechanism a meter's settings name; `none` when they name none. */
export function mechanismOf(settings: Settings): string {
  const security = settings.security as { mechanism?: unknown } | undefined;
  return typeof security?.mechanism === 'string' ? security.mechanism : 'none';
}

/** An assignment row as operators see it: whether secrets are sealed, never the secrets. */
export function assignmentView(a: {
  meter_id: string;
  serial: string;
  protocol: string;
  gateway_id: string;
  settings: Settings;
  secret_box: unknown;
  updated_at: Date;
}): AssignmentView {
  return {
    meterId: a.meter_id,
    serial: a.serial,
    protocol: a.protocol,
    gatewayId: a.gateway_id,
    settings: a.settings,
    security: { mechanism: mechanismOf(a.settings), secretsStored: a.secret_box !== null },
    updatedAt: a.updated_at,
  };
}

/** One of the utility's gateways; `not_found` when the utility has no gateway of that id. */
export async function gatewayOf(db: Queryable, utilityId: UtilityId, id: string): Promise<GatewayRow> {
  const row = await db
    .selectFrom('gateways')
    .selectAll()
    .where('id', '=', id as GatewayId)
    .where('utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!row) throw new RasidError('not_found', `gateway ${id} is unknown`);
  return row;
}

/** A gateway row as operators see it, with the number of meters assigned to it. */
export async function gatewayView(db: Queryable, row: GatewayRow): Promise<GatewayView> {
  const count = await db
    .selectFrom('gateway_meters')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('gateway_id', '=', row.id)
    .executeTakeFirstOrThrow();
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    active: row.active,
    brokerUrl: row.broker_url,
    pollIntervalS: row.poll_interval_s,
    meters: Number(count.n),
    createdAt: row.created_at,
  };
}

/** The utility's gateways by their broker id. */
export async function listGateways(db: Queryable, utilityId: UtilityId): Promise<GatewayView[]> {
  const rows = await db
    .selectFrom('gateways')
    .selectAll()
    .where('utility_id', '=', utilityId)
    .orderBy('code')
    .execute();
  return Promise.all(rows.map((row) => gatewayView(db, row)));
}

/** One of the utility's gateways and the meters it serves by serial; `not_found` when unknown. */
export async function gatewayWithAssignments(
  db: Queryable,
  utilityId: UtilityId,
  id: string,
): Promise<GatewayView & { assignments: AssignmentView[] }> {
  const row = await gatewayOf(db, utilityId, id);
  const rows = await db
    .selectFrom('gateway_meters as g')
    .innerJoin('meters as m', 'm.id', 'g.meter_id')
    .select([
      'g.meter_id',
      'g.gateway_id',
      'g.settings',
      'g.secret_box',
      'g.updated_at',
      'm.serial',
      'm.protocol',
    ])
    .where('g.gateway_id', '=', row.id)
    .orderBy('m.serial')
    .execute();
  return { ...(await gatewayView(db, row)), assignments: rows.map(assignmentView) };
}

/** What a gateway fetches for itself: its settings and its meters as configuration entries. */
export interface GatewayConfig {
  readonly gatewayId: string;
  readonly utility: string;
  readonly brokerUrl: string | null;
  readonly polling: { intervalS: number };
  readonly meters: Settings[];
}

/**
 * A gateway's own meter list (decommissioned meters left out), by serial, each entry exactly a meter of the
 * gateway configuration file with its sealed secrets opened into `security`.
 */
export async function gatewayConfig(
  db: Queryable,
  keys: KeyStore,
  gatewayId: GatewayId,
): Promise<GatewayConfig> {
  const gateway = await db
    .selectFrom('gateways as g')
    .innerJoin('utilities as u', 'u.id', 'g.utility_id')
    .select(['g.id', 'g.code', 'g.broker_url', 'g.poll_interval_s', 'u.code as utility'])
    .where('g.id', '=', gatewayId)
    .executeTakeFirstOrThrow();
  const rows = await db
    .selectFrom('gateway_meters as a')
    .innerJoin('meters as m', 'm.id', 'a.meter_id')
    .select(['m.id', 'm.serial', 'm.kind', 'm.protocol', 'a.settings', 'a.secret_box'])
    .where('a.gateway_id', '=', gateway.id)
    .where('m.status', '<>', 'decommissioned')
    .orderBy('m.serial')
    .execute();
  const meters = rows.map((row) => {
    const settings = { ...row.settings };
    if (row.secret_box) {
      const secrets = JSON.parse(keys.open(sealContext(row.id), row.secret_box).reveal().toString('utf8'));
      settings.security = { ...(settings.security as Settings), ...secrets };
    }
    return { id: row.serial, kind: row.kind, protocol: row.protocol, ...settings };
  });
  return {
    gatewayId: gateway.code,
    utility: gateway.utility,
    brokerUrl: gateway.broker_url,
    polling: { intervalS: gateway.poll_interval_s },
    meters,
  };
}

/** One of the utility's meters as an assignment needs it; `not_found` when the utility has no such meter. */
export async function meterToAssign(db: Queryable, utilityId: UtilityId, meterId: MeterId) {
  const meter = await db
    .selectFrom('meters')
    .select(['id', 'serial', 'kind', 'protocol', 'status'])
    .where('id', '=', meterId)
    .where('utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!meter) throw new RasidError('not_found', `meter ${meterId} is unknown`);
  return meter;
}
