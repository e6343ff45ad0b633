/**
 * Protocol gateways' writes, one transaction per use case with its audit row: creating a gateway (the caller
 * makes its API key and gives its SHA-256, the only thing kept), disabling one or giving it a new key, and
 * assigning a DLMS or Modbus meter to a gateway (one gateway per meter: assigning it to another moves it)
 * or taking it off. A meter's secrets (LLS password, HLS keys) are sealed by the key store.
 */

import type { Kysely } from 'kysely';
import { MeterSchema } from '../../gateway/config.ts';
import type { CreditField } from '../../gateway/profiles.ts';
import { type Actor, isUniqueViolation } from '../accounts/accounts.ts';
import { writeAudit } from '../accounts/audit.ts';
import { RasidError } from '../errors.ts';
import type { KeyStore } from '../store/keystore.ts';
import type { Database, MeterId, UtilityId } from '../store/schema.ts';
import {
  type AssignmentView,
  assignmentView,
  type GatewayRow,
  type GatewayView,
  gatewayOf,
  gatewayView,
  mechanismOf,
  meterToAssign,
  type Settings,
  sealContext,
} from './queries.ts';

export interface NewGateway {
  /** The gateway's id on the broker. */
  readonly code: string;
  readonly name: string;
  readonly brokerUrl?: string | undefined;
  readonly pollIntervalS: number;
  /** SHA-256 of the API key the caller made (the key itself is never kept). */
  readonly apiKeyHash: string;
}

/** Creates a gateway, audited as `gateway.create`; a code the utility has already is `conflict`. */
export async function createGateway(
  db: Kysely<Database>,
  utilityId: UtilityId,
  req: NewGateway,
  by: Actor,
): Promise<GatewayView> {
  let row: GatewayRow;
  try {
    row = await db.transaction().execute(async (trx) => {
      const created = await trx
        .insertInto('gateways')
        .values({
          utility_id: utilityId,
          code: req.code,
          name: req.name,
          api_key_hash: req.apiKeyHash,
          broker_url: req.brokerUrl ?? null,
          poll_interval_s: req.pollIntervalS,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await writeAudit(trx, {
        utilityId,
        actor: by.actor,
        action: 'gateway.create',
        subject: `gateway:${created.id}`,
        details: { gatewayId: created.code, name: created.name },
      });
      return created;
    });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    throw new RasidError('conflict', `gatewayId: gateway ${req.code} already exists`);
  }
  return gatewayView(db, row);
}

/** Updates one of the utility's gateways and audits it under `action`. */
async function change(
  db: Kysely<Database>,
  utilityId: UtilityId,
  id: string,
  set: { active: boolean; api_key_hash?: string },
  action: 'gateway.disable' | 'gateway.rotate_key',
  by: Actor,
): Promise<GatewayView> {
  const before = await gatewayOf(db, utilityId, id);
  const updated = await db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('gateways')
      .set(set)
      .where('id', '=', before.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      utilityId,
      actor: by.actor,
      action,
      subject: `gateway:${before.id}`,
      details: { gatewayId: before.code },
    });
    return row;
  });
  return gatewayView(db, updated);
}

/** Disables one of the utility's gateways (its API key is refused from then on), audited as `gateway.disable`. */
export function disableGateway(
  db: Kysely<Database>,
  utilityId: UtilityId,
  id: string,
  by: Actor,
): Promise<GatewayView> {
  return change(db, utilityId, id, { active: false }, 'gateway.disable', by);
}

/** Gives a gateway a new API key (by its hash) and enables it, audited as `gateway.rotate_key`. */
export function rotateGatewayKey(
  db: Kysely<Database>,
  utilityId: UtilityId,
  id: string,
  apiKeyHash: string,
  by: Actor,
): Promise<GatewayView> {
  return change(db, utilityId, id, { api_key_hash: apiKeyHash, active: true }, 'gateway.rotate_key', by);
}

/** A meter's security as operators give it: the secrets are sealed, never answered. */
export type SecurityInput =
  | { mechanism: 'none' }
  | { mechanism: 'lls'; password: string }
  | { mechanism: 'hls-gmac'; authenticationKey: string; encryptionKey: string; systemTitle: string };

/** A meter's connection settings on a gateway, as operators give them (formats checked by the caller). */
export interface AssignmentInput {
  connection: Record<string, unknown>;
  unitId?: number | undefined;
  transport?: Record<string, unknown> | undefined;
  security?: SecurityInput | undefined;
  creditField?: CreditField | undefined;
  profile?: string | Record<string, unknown> | undefined;
  pollIntervalS?: number | undefined;
  timeoutMs?: number | undefined;
}

/** Splits a meter's security into what the settings keep and what is sealed. */
function splitSecurity(security: SecurityInput | undefined): {
  kept: Settings | undefined;
  secrets: Record<string, string> | null;
} {
  if (security === undefined) return { kept: undefined, secrets: null };
  if (security.mechanism === 'none') return { kept: security, secrets: null };
  if (security.mechanism === 'lls')
    return { kept: { mechanism: 'lls' }, secrets: { password: security.password } };
  return {
    kept: { mechanism: 'hls-gmac', systemTitle: security.systemTitle },
    secrets: { authenticationKey: security.authenticationKey, encryptionKey: security.encryptionKey },
  };
}

/**
 * Assigns one of the utility's DLMS or Modbus meters to one of its gateways with its connection settings,
 * moving it from another gateway if it had one, audited as `gateway.assign_meter`. An MQTT meter needs no
 * gateway (`conflict`); a Modbus meter has no security or transport, and the entry the gateway will get must
 * load as a meter of its configuration (`validation_failed`). The secrets are sealed on the meter's row.
 */
export async function assignMeter(
  db: Kysely<Database>,
  keys: KeyStore,
  utilityId: UtilityId,
  gatewayId: string,
  meterId: MeterId,
  input: AssignmentInput,
  by: Actor,
): Promise<AssignmentView> {
  const gateway = await gatewayOf(db, utilityId, gatewayId);
  const meter = await meterToAssign(db, utilityId, meterId);
  if (meter.protocol === 'mqtt') {
    throw new RasidError('conflict', `meter ${meter.serial} speaks MQTT itself: it needs no gateway`);
  }
  const { security, ...rest } = input;
  if (meter.protocol === 'modbus' && (security !== undefined || rest.transport !== undefined)) {
    throw new RasidError('validation_failed', 'security, transport: a Modbus meter has neither');
  }
  const split = splitSecurity(security);
  const settings: Settings = { ...rest, ...(split.kept ? { security: split.kept } : {}) };
  // What the gateway will get must load as a meter of its configuration: check it here, with the
  // secrets in (their format was checked by the body schema already).
  const entry = {
    id: meter.serial,
    kind: meter.kind,
    protocol: meter.protocol,
    ...rest,
    ...(security ? { security } : {}),
  };
  const checked = MeterSchema.safeParse(entry);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new RasidError('validation_failed', `${where}${issue?.message ?? 'not a gateway meter'}`);
  }
  const box = split.secrets
    ? keys.seal(sealContext(meter.id), Buffer.from(JSON.stringify(split.secrets)))
    : null;
  const row = await db.transaction().execute(async (trx) => {
    const previous = await trx
      .selectFrom('gateway_meters')
      .select('gateway_id')
      .where('meter_id', '=', meter.id)
      .executeTakeFirst();
    const saved = await trx
      .insertInto('gateway_meters')
      .values({
        meter_id: meter.id,
        gateway_id: gateway.id,
        utility_id: utilityId,
        settings,
        secret_box: box,
      })
      .onConflict((oc) =>
        oc
          .column('meter_id')
          .doUpdateSet({ gateway_id: gateway.id, settings, secret_box: box, updated_at: new Date() }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      utilityId,
      actor: by.actor,
      action: 'gateway.assign_meter',
      subject: `meter:${meter.id}`,
      details: {
        gatewayId: gateway.code,
        serial: meter.serial,
        mechanism: split.kept ? mechanismOf({ security: split.kept }) : 'none',
        movedFrom: previous && previous.gateway_id !== gateway.id ? previous.gateway_id : null,
      },
    });
    return saved;
  });
  return assignmentView({ ...row, serial: meter.serial, protocol: meter.protocol });
}

/**
 * Takes a meter off one of the utility's gateways (its sealed secrets go with the assignment), audited as
 * `gateway.unassign_meter`; `not_found` when the gateway does not serve it.
 */
export async function unassignMeter(
  db: Kysely<Database>,
  utilityId: UtilityId,
  gatewayId: string,
  meterId: MeterId,
  by: Actor,
): Promise<void> {
  const gateway = await gatewayOf(db, utilityId, gatewayId);
  const deleted = await db.transaction().execute(async (trx) => {
    const gone = await trx
      .deleteFrom('gateway_meters')
      .where('meter_id', '=', meterId)
      .where('gateway_id', '=', gateway.id)
      .executeTakeFirst();
    if (gone.numDeletedRows === 0n) return false;
    await writeAudit(trx, {
      utilityId,
      actor: by.actor,
      action: 'gateway.unassign_meter',
      subject: `meter:${meterId}`,
      details: { gatewayId: gateway.code },
    });
    return true;
  });
  if (!deleted) {
    throw new RasidError('not_found', `meter ${meterId} is not served by gateway ${gateway.code}`);
  }
}
