/**
 * The meter lifecycle: registered → installed (commissioned) → active ⇄ suspended → decommissioned, each
 * move with a reason, written on the meter row (status, reason, since) and in the audit log as
 * `meter.state` in the same transaction. Only active meters are charged, alerted and disconnected by the
 * balance engine (it selects `status = 'active'`).
 *
 * `faulty` (a meter reported broken) stays a state of its own, left for `active` again or decommissioned.
 */
import type { Kysely, Transaction } from 'kysely';
import { writeAudit } from '../accounts/audit.ts';
import type { Database, MeterId, MeterStatus, UtilityId } from '../store/schema.ts';

export const METER_STATUSES = [
  'registered',
  'installed',
  'active',
  'suspended',
  'faulty',
  'decommissioned',
] as const satisfies readonly MeterStatus[];

/** The states each state may move to. */
export const METER_TRANSITIONS: Readonly<Record<MeterStatus, readonly MeterStatus[]>> = Object.freeze({
  registered: ['installed', 'decommissioned'],
  installed: ['active', 'registered', 'decommissioned'],
  active: ['suspended', 'faulty', 'decommissioned'],
  suspended: ['active', 'decommissioned'],
  faulty: ['active', 'decommissioned'],
  decommissioned: [],
});

export function canMove(from: MeterStatus, to: MeterStatus): boolean {
  return METER_TRANSITIONS[from].includes(to);
}

/** The move is not allowed from the meter's state, or the meter lacks what the state needs. */
export class MeterStateError extends Error {
  override readonly name = 'MeterStateError';
  constructor(
    message: string,
    readonly from: MeterStatus,
    readonly to: MeterStatus,
    /** Why an activation is refused, as a stable code (see {@link ActivationBlocker}). */
    readonly blocker: ActivationBlocker | null = null,
  ) {
    super(message);
  }
}

export interface MoveRequest {
  readonly utilityId: UtilityId;
  readonly meterId: MeterId;
  readonly to: MeterStatus;
  readonly reason: string;
  readonly actor: string;
  readonly at?: Date;
}

export interface MoveResult {
  readonly meterId: MeterId;
  readonly from: MeterStatus;
  readonly to: MeterStatus;
  readonly reason: string;
  readonly at: Date;
}

/** Why a meter cannot be activated: stable codes the screens translate. */
export type ActivationBlocker = 'no_account' | 'account_closed' | 'no_vending_key' | 'unknown_meter';

const BLOCKER_TEXT: Readonly<Record<ActivationBlocker, string>> = {
  unknown_meter: 'the meter is unknown',
  no_account: 'the meter has no account: assign it to one first',
  account_closed: "the meter's account is closed",
  no_vending_key: "the utility holds no vending key for the meter's supply group and key revision",
};

/**
 * Why a meter cannot be activated now, or null when it can: it needs an account that is not closed, and
 * a token meter needs its vending key (else nothing could be sold to it).
 */
export async function activationBlocker(
  db: Kysely<Database> | Transaction<Database>,
  meterId: MeterId,
): Promise<ActivationBlocker | null> {
  const m = await db
    .selectFrom('meters as m')
    .leftJoin('accounts as a', 'a.id', 'm.account_id')
    .select(['m.account_id', 'm.mode', 'm.vending_key_id', 'm.sts_drn', 'a.status as account_status'])
    .where('m.id', '=', meterId)
    .executeTakeFirst();
  if (!m) return 'unknown_meter';
  if (m.account_id === null) return 'no_account';
  if (m.account_status === 'closed') return 'account_closed';
  if (m.mode === 'token' && m.sts_drn !== null && m.vending_key_id === null) return 'no_vending_key';
  return null;
}

/** Moves a meter to `to` inside `trx` (locks the meter row), audited as `meter.state`. */
export async function moveMeterIn(trx: Transaction<Database>, req: MoveRequest): Promise<MoveResult | null> {
  const at = req.at ?? new Date();
  const before = await trx
    .selectFrom('meters')
    .select(['id', 'status', 'serial'])
    .where('id', '=', req.meterId)
    .where('utility_id', '=', req.utilityId)
    .forUpdate()
    .executeTakeFirst();
  if (!before) return null;
  if (before.status === req.to) {
    throw new MeterStateError(`meter ${before.serial} is ${req.to} already`, before.status, req.to);
  }
  if (!canMove(before.status, req.to)) {
    const allowed = METER_TRANSITIONS[before.status];
    throw new MeterStateError(
      `meter ${before.serial} is ${before.status}: it can move to ${allowed.length > 0 ? allowed.join(', ') : 'nothing'}, not ${req.to}`,
      before.status,
      req.to,
    );
  }
  if (req.to === 'active') {
    const blocker = await activationBlocker(trx, req.meterId);
    if (blocker !== null) {
      throw new MeterStateError(
        `meter ${before.serial} cannot be activated: ${BLOCKER_TEXT[blocker]}`,
        before.status,
        req.to,
        blocker,
      );
    }
  }
  await trx
    .updateTable('meters')
    .set({ status: req.to, status_reason: req.reason, status_changed_at: at })
    .where('id', '=', req.meterId)
    .execute();
  await writeAudit(trx, {
    utilityId: req.utilityId,
    actor: req.actor,
    action: 'meter.state',
    subject: `meter:${req.meterId}`,
    details: { serial: before.serial, from: before.status, to: req.to, reason: req.reason },
  });
  return { meterId: req.meterId, from: before.status, to: req.to, reason: req.reason, at };
}

/** {@link moveMeterIn} in its own transaction. Null when the meter is not the utility's. */
export function moveMeter(db: Kysely<Database>, req: MoveRequest): Promise<MoveResult | null> {
  return db.transaction().execute((trx) => moveMeterIn(trx, req));
}
