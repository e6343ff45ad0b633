/**
 * Meters, written: registering a meter, assigning it to an account, uploading a vending key (and linking the
 * meters that waited for it), issuing a meter's MQTT credentials, and commands to a meter. Each change is
 * one transaction with its audit row.
 */
import type { Kysely } from 'kysely';
import { meterTopicRoot } from '../../protocols/mqtt/index.ts';
import { encodeToken } from '../../protocols/sts/index.ts';
import { writeAudit } from '../accounts/audit.ts';
import { type CommandDispatcher, CommandError, type CommandKind } from '../commands/dispatcher.ts';
import { RasidError } from '../errors.ts';
import { newMeterCredential } from '../import/credentials.ts';
import { findDistrict } from '../losses/districts.ts';
import { hashSecret, type MeterSecretKey } from '../security/secrets.ts';
import type { KeyStore } from '../store/keystore.ts';
import type { Queryable } from '../store/ledger.ts';
import type {
  AccountId,
  CommandId,
  Database,
  Meter,
  MeterId,
  MeterKind,
  MeterMode,
  UtilityId,
  VendingKeyId,
} from '../store/schema.ts';
import type { MeterProtocol } from './protocols.ts';
import {
  type CommandRow,
  commandRow,
  METER_COLUMNS,
  onlineMeterOf,
  type VendingKeyRow,
  vendCreditToken,
  vendingKeyOf,
} from './queries.ts';
import { type StsParameters, stsColumns, vendingKeyIndex } from './registration.ts';

/** An account of the utility that is not closed; refused otherwise. */
async function openAccount(db: Queryable, utilityId: UtilityId, id: string): Promise<AccountId> {
  const account = await db
    .selectFrom('accounts')
    .select(['id', 'status'])
    .where('id', '=', id as AccountId)
    .where('utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!account) throw new RasidError('not_found', `accountId: account ${id} is unknown`);
  if (account.status === 'closed') throw new RasidError('conflict', `accountId: account ${id} is closed`);
  return account.id;
}

export interface MeterRegistration {
  readonly utilityId: UtilityId;
  readonly actor: string;
  readonly serial: string;
  readonly kind: MeterKind;
  readonly protocol: MeterProtocol;
  readonly mode: MeterMode;
  readonly sts?: StsParameters | undefined;
  readonly accountId?: string | undefined;
  readonly role: 'customer' | 'bulk';
  readonly districtId?: string | undefined;
}

/**
 * Registers a meter, audited as `meter.register`; an STS meter takes its vending key by supply group and
 * revision when the utility holds it. A serial registered already fails on the unique index.
 */
export function registerMeter(db: Kysely<Database>, req: MeterRegistration): Promise<Meter> {
  const { sts } = req;
  return db.transaction().execute(async (trx) => {
    const accountId = req.accountId ? await openAccount(trx, req.utilityId, req.accountId) : null;
    const keyOf = sts ? await vendingKeyIndex(trx, req.utilityId, sts) : null;
    const district = req.districtId ? await findDistrict(trx, req.utilityId, req.districtId) : null;
    if (district && district.kind !== req.kind) {
      throw new RasidError('conflict', `districtId: a ${req.kind} meter in a ${district.kind} district`);
    }
    const m = await trx
      .insertInto('meters')
      .values({
        utility_id: req.utilityId,
        serial: req.serial,
        kind: req.kind,
        protocol: req.protocol,
        mode: req.mode,
        account_id: accountId,
        ...stsColumns(sts),
        vending_key_id: keyOf ? keyOf(sts) : null,
        mqtt_username: null,
        mqtt_password_hash: null,
        last_seen_at: null,
        role: req.role,
        district_id: district ? district.id : null,
      })
      .returning(METER_COLUMNS)
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      utilityId: req.utilityId,
      actor: req.actor,
      action: 'meter.register',
      subject: `meter:${m.id}`,
      details: {
        serial: m.serial,
        kind: m.kind,
        protocol: m.protocol,
        mode: m.mode,
        accountId,
        role: m.role,
        districtId: m.district_id,
        ...(sts ? { sgc: sts.sgc, krn: sts.krn, drn: sts.drn } : {}),
      },
    });
    return m;
  });
}

/**
 * Assigns a meter to an open account, or unassigns it (null), audited as `meter.assign` when the account
 * changes. A decommissioned meter is refused.
 */
export function assignMeter(
  db: Kysely<Database>,
  req: {
    readonly utilityId: UtilityId;
    readonly actor: string;
    readonly meterId: MeterId;
    readonly accountId: string | null;
  },
): Promise<Meter> {
  return db.transaction().execute(async (trx) => {
    const before = await trx
      .selectFrom('meters')
      .select(['id', 'account_id', 'status'])
      .where('id', '=', req.meterId)
      .where('utility_id', '=', req.utilityId)
      .forUpdate()
      .executeTakeFirst();
    if (!before) throw new RasidError('not_found', `meter ${req.meterId} is unknown`);
    if (before.status === 'decommissioned') {
      throw new RasidError('conflict', `meter ${req.meterId} is decommissioned`);
    }
    const accountId = req.accountId ? await openAccount(trx, req.utilityId, req.accountId) : null;
    const after = await trx
      .updateTable('meters')
      .set({ account_id: accountId })
      .where('id', '=', before.id)
      .returning(METER_COLUMNS)
      .executeTakeFirstOrThrow();
    if (before.account_id !== accountId) {
      await writeAudit(trx, {
        utilityId: req.utilityId,
        actor: req.actor,
        action: 'meter.assign',
        subject: `meter:${before.id}`,
        details: { from: before.account_id, to: accountId },
      });
    }
    return after;
  });
}

/**
 * Puts a vending key into the key store (a supply group and revision held already fails on its unique
 * index), then links the utility's meters that were registered before their key arrived, audited as
 * `vending_key.upload` (supply group and revision only, never the key).
 */
export async function uploadVendingKey(
  db: Kysely<Database>,
  keys: KeyStore,
  req: {
    readonly utilityId: UtilityId;
    readonly actor: string;
    readonly sgc: number;
    readonly krn: number;
    readonly key: Buffer;
    readonly label?: string | undefined;
  },
): Promise<{ key: VendingKeyRow; metersLinked: number }> {
  const { sgc, krn } = req;
  const id: VendingKeyId = await keys.put({
    utilityId: req.utilityId,
    sgc,
    krn,
    key: req.key,
    ...(req.label ? { label: req.label } : {}),
  });
  const linked = await db.transaction().execute(async (trx) => {
    const rows = await trx
      .updateTable('meters')
      .set({ vending_key_id: id })
      .where('utility_id', '=', req.utilityId)
      .where('sts_sgc', '=', sgc)
      .where('sts_krn', '=', krn)
      .where('vending_key_id', 'is', null)
      .returning('id')
      .execute();
    await writeAudit(trx, {
      utilityId: req.utilityId,
      actor: req.actor,
      action: 'vending_key.upload',
      subject: `vending_key:${id}`,
      details: { sgc, krn, label: req.label ?? null, metersLinked: rows.length },
    });
    return rows.length;
  });
  return { key: await vendingKeyOf(db, id), metersLinked: linked };
}

/**
 * Issues (or rotates) a meter's MQTT username and password, audited as `meter.mqtt_credentials_issued` or
 * `…_rotated`. The password is answered once and kept only as its hash (HMAC under the meters' secret key,
 * scrypt without one). A decommissioned meter is refused.
 */
export async function issueMqttCredentials(
  db: Kysely<Database>,
  req: {
    readonly utilityId: UtilityId;
    readonly meterId: MeterId;
    readonly actor: string;
    readonly meterSecretKey?: MeterSecretKey | undefined;
  },
): Promise<{ username: string; password: string; clientId: string; topicRoot: string }> {
  const meter = await onlineMeterOf(db, req.utilityId, req.meterId);
  if (meter.status === 'decommissioned') throw new RasidError('conflict', 'the meter is decommissioned');
  const { username, password } = newMeterCredential(meter.code, meter.serial);
  const hash = req.meterSecretKey?.hash(password) ?? (await hashSecret(password));
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('meters')
      .set({ mqtt_username: username, mqtt_password_hash: hash })
      .where('id', '=', meter.id)
      .execute();
    await writeAudit(trx, {
      utilityId: req.utilityId,
      actor: req.actor,
      action:
        meter.mqtt_username === null ? 'meter.mqtt_credentials_issued' : 'meter.mqtt_credentials_rotated',
      subject: `meter:${meter.id}`,
      details: { username },
    });
  });
  return { username, password, clientId: meter.serial, topicRoot: meterTopicRoot(meter.code, meter.serial) };
}

/** Sends what is due for the meter now (an online meter gets the command at once) and reads it back. */
async function sendNow(
  db: Queryable,
  dispatcher: CommandDispatcher,
  meterId: MeterId,
  id: CommandId,
): Promise<CommandRow> {
  await dispatcher.dispatchDue({ meterId });
  return commandRow(db, id);
}

/**
 * Queues a command for a utility's meter and sends it now if the meter is online (the dispatcher retries it
 * until it expires). A command the MQTT contract refuses is refused as `validation_failed`.
 */
export async function commandMeter(
  db: Queryable,
  dispatcher: CommandDispatcher,
  req: {
    readonly utilityId: UtilityId;
    readonly meterId: MeterId;
    readonly kind: CommandKind;
    readonly payload: Record<string, unknown>;
    readonly reason?: string | undefined;
    readonly createdBy: string;
  },
): Promise<CommandRow> {
  const meter = await onlineMeterOf(db, req.utilityId, req.meterId);
  let id: CommandId;
  try {
    id = await dispatcher.enqueue({
      utilityId: req.utilityId,
      meterId: meter.id,
      kind: req.kind,
      payload: req.payload as never,
      ...(req.reason ? { reason: req.reason } : {}),
      createdBy: req.createdBy,
    });
  } catch (err) {
    if (err instanceof CommandError) throw new RasidError('validation_failed', err.message);
    throw err;
  }
  return sendNow(db, dispatcher, meter.id, id);
}

/** Delivers a vend's credit token to its meter remotely (one command per token, however often asked). */
export async function pushVendToken(
  db: Queryable,
  dispatcher: CommandDispatcher,
  req: { readonly utilityId: UtilityId; readonly vendId: string; readonly createdBy: string },
): Promise<CommandRow> {
  const token = await vendCreditToken(db, req.utilityId, req.vendId);
  const id = await dispatcher.pushToken({
    utilityId: req.utilityId,
    meterId: token.meter_id,
    token: token.token,
    vendId: req.vendId,
    createdBy: req.createdBy,
  });
  return sendNow(db, dispatcher, token.meter_id, id);
}

/** IEC 62055-41 class 1 subclass 0: a 36-bit control field; every bit set asks for every test and display. */
export const ALL_TESTS_36 = (1n << 36n) - 1n;

/**
 * A meter test / display token for one of the utility's meters (IEC 62055-41 class 1, every test): not
 * encrypted, so the same for every meter, but who asked for which meter is audited as `meter.test_token`.
 * An unknown meter is `not_found`.
 */
export async function issueTestToken(
  db: Queryable,
  utilityId: UtilityId,
  meterId: MeterId,
  actor: string,
): Promise<{ token: string; control: bigint }> {
  const meter = await db
    .selectFrom('meters')
    .select(['id', 'serial'])
    .where('id', '=', meterId)
    .where('utility_id', '=', utilityId)
    .executeTakeFirst();
  if (!meter) throw new RasidError('not_found', `meter ${meterId} is unknown`);
  // IEC 62055-41 class 1 (docs/sts.md §2.9): control ‖ manufacturer code, not encrypted; manufacturer 0.
  const { token } = encodeToken({ type: 'test-display-1', control: ALL_TESTS_36, manufacturer: 0 });
  await writeAudit(db, {
    utilityId,
    actor,
    action: 'meter.test_token',
    subject: `meter:${meter.id}`,
    details: { serial: meter.serial },
  });
  return { token, control: ALL_TESTS_36 };
}
