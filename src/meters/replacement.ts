/**
 * Meter replacement: the old meter's final reading is stored, the new meter takes over its account and
 * is activated, the old one is decommissioned naming its successor, and both moves are in the audit log
 * (`meter.replace` on each meter, besides their `meter.state` rows), all in one transaction.
 *
 * Credit is carried: a central meter's credit is its account's ledger, which stays with the account; a
 * token meter holds its credit itself, so the remainder it held (the technician's reading of it, else the
 * credit the meter last reported) goes onto the new meter as a credit token that is not a sale.
 * A central meter's last consumption up to the final reading is charged first (`settle`, the balance
 * engine's run for the old meter) when the process runs the engine.
 */
import type { Kysely } from 'kysely';
import { writeAudit } from '../accounts/audit.ts';
import { RasidError } from '../errors.ts';
import type { AccountId, Database, MeterId, UserId, UtilityId } from '../store/schema.ts';
import type { ManagementTokens } from '../vending/management.ts';
import { MeterStateError, moveMeterIn } from './lifecycle.ts';

export interface ReplacementRequest {
  readonly utilityId: UtilityId;
  readonly oldMeterId: MeterId;
  readonly newMeterId: MeterId;
  /** The old meter's cumulative register at removal (Wh or litres). */
  readonly finalRegister: bigint;
  /** Token meters: the credit the old meter still shows (Wh or litres); default: its last report. */
  readonly creditUnits?: bigint | undefined;
  readonly reason: string;
  readonly actor: string;
  readonly userId?: UserId | null;
  readonly at?: Date;
}

export interface ReplacementResult {
  readonly oldMeterId: MeterId;
  readonly newMeterId: MeterId;
  readonly accountId: AccountId;
  readonly mode: 'token' | 'central';
  /** Token mode: the credit carried onto the new meter (Wh or litres) and its token; else null. */
  readonly creditToken: { token: string; tid: number; units: string } | null;
}

const MAY_BE_REPLACED = new Set(['installed', 'active', 'suspended', 'faulty']);

export async function replaceMeter(
  db: Kysely<Database>,
  management: ManagementTokens,
  req: ReplacementRequest,
  settle?: (meterId: MeterId) => Promise<void>,
): Promise<ReplacementResult> {
  const at = req.at ?? new Date();
  const pair = await db
    .selectFrom('meters')
    .select(['id', 'serial', 'kind', 'mode', 'status', 'account_id'])
    .where('utility_id', '=', req.utilityId)
    .where('id', 'in', [req.oldMeterId, req.newMeterId])
    .execute();
  const old = pair.find((m) => m.id === req.oldMeterId);
  const next = pair.find((m) => m.id === req.newMeterId);
  if (!old) throw new RasidError('not_found', `meter ${req.oldMeterId} is unknown`);
  if (!next) throw new RasidError('not_found', `newMeterId: meter ${req.newMeterId} is unknown`);
  if (old.id === next.id)
    throw new RasidError('validation_failed', 'newMeterId: a meter cannot replace itself');
  if (!MAY_BE_REPLACED.has(old.status) || old.account_id === null) {
    throw new RasidError(
      'conflict',
      `meter ${old.serial} is ${old.status}${old.account_id ? '' : ' without an account'}: nothing to replace`,
    );
  }
  if (next.status !== 'registered' && next.status !== 'installed') {
    throw new RasidError(
      'conflict',
      `newMeterId: meter ${next.serial} is ${next.status}; the new meter must be registered or installed`,
    );
  }
  if (next.account_id !== null && next.account_id !== old.account_id) {
    throw new RasidError('conflict', `newMeterId: meter ${next.serial} belongs to another account`);
  }
  if (next.kind !== old.kind) {
    throw new RasidError(
      'validation_failed',
      `newMeterId: meter ${next.serial} is ${next.kind}, not ${old.kind}`,
    );
  }
  let carried = 0n;
  if (old.mode === 'token') {
    if (req.creditUnits !== undefined) carried = req.creditUnits;
    else {
      const last = await db
        .selectFrom('readings')
        .select('credit_wh')
        .where('meter_id', '=', old.id)
        .where('credit_wh', 'is not', null)
        .orderBy('ts', 'desc')
        .limit(1)
        .executeTakeFirst();
      carried = last?.credit_wh ?? 0n;
    }
  }
  const prepared =
    old.mode === 'token' && next.mode === 'token' && carried > 0n
      ? await management.prepareCredit(req.utilityId, next.id)
      : null;
  const register = old.kind === 'electricity' ? 'energy_wh' : 'volume_l';
  // The final reading first, so that a central meter's last consumption can be charged before it goes.
  await db
    .insertInto('readings')
    .values({
      meter_id: old.id,
      ts: at,
      seq: null,
      energy_wh: register === 'energy_wh' ? req.finalRegister : null,
      volume_l: register === 'volume_l' ? req.finalRegister : null,
      power_w: null,
      voltage_dv: null,
      current_ma: null,
      credit_minor: null,
      credit_wh: req.creditUnits ?? null,
      relay: null,
    })
    .execute();
  if (old.mode === 'central' && settle) await settle(old.id);

  const accountId = old.account_id;
  try {
    return await db.transaction().execute(async (trx) => {
      const reason = `replaced by ${next.serial}: ${req.reason}`;
      await trx.updateTable('meters').set({ account_id: accountId }).where('id', '=', next.id).execute();
      if (next.status === 'registered') {
        await moveMeterIn(trx, {
          ...req,
          meterId: next.id,
          to: 'installed',
          reason: `replaces ${old.serial}`,
          at,
        });
      }
      await moveMeterIn(trx, {
        ...req,
        meterId: next.id,
        to: 'active',
        reason: `replaces ${old.serial}: ${req.reason}`,
        at,
      });
      await moveMeterIn(trx, { ...req, meterId: old.id, to: 'decommissioned', reason, at });
      await trx
        .updateTable('meters')
        .set({ account_id: null, replaced_by: next.id })
        .where('id', '=', old.id)
        .execute();
      const credit = prepared
        ? await management.creditIn(trx, prepared, {
            utilityId: req.utilityId,
            meterId: next.id,
            units: carried,
            reason: `credit carried from ${old.serial}`,
            userId: req.userId ?? null,
          })
        : null;
      const details = {
        oldMeter: old.serial,
        newMeter: next.serial,
        accountId,
        mode: old.mode,
        finalRegister: req.finalRegister.toString(),
        creditCarried: old.mode === 'token' ? (credit?.units ?? 0n).toString() : 'account ledger',
        creditTokenTid: credit?.tid ?? null,
        reason: req.reason,
      };
      for (const id of [old.id, next.id]) {
        await writeAudit(trx, {
          utilityId: req.utilityId,
          actor: req.actor,
          action: 'meter.replace',
          subject: `meter:${id}`,
          details,
        });
      }
      return {
        oldMeterId: old.id,
        newMeterId: next.id,
        accountId,
        mode: old.mode,
        creditToken: credit ? { token: credit.token, tid: credit.tid, units: credit.units.toString() } : null,
      };
    });
  } catch (err) {
    if (err instanceof MeterStateError) throw new RasidError('conflict', err.message);
    throw err;
  }
}
