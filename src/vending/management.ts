/**
 * The other token services: management tokens (clear tamper, clear credit, maximum power, and engineering
 * tokens of any class 2 register with a reason) and the key-change pair that rotates a meter to a new key
 * revision. Each is one transaction with its token rows and an audit row; keys are derived before it starts.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { RegisterTokenType } from '../../protocols/sts/index.ts';
import { RasidError } from '../errors.ts';
import type { KeyStore } from '../store/keystore.ts';
import type { Database, MeterId, TokenKind, UserId, UtilityId } from '../store/schema.ts';
import { creditableTenths, isTokenRefusal, type StsMeterParams, stsParamsOf, TokenEngine } from './tokens.ts';

type Trx = Transaction<Database>;

/** Class 2 register tokens by Rasid's name, with the STS type each issues. */
export const MANAGEMENT_TOKENS: Readonly<Record<string, { type: RegisterTokenType; kind: TokenKind }>> =
  Object.freeze({
    clear_tamper: { type: 'clear-tamper', kind: 'clear_tamper' },
    clear_credit: { type: 'clear-credit', kind: 'clear_credit' },
    max_power: { type: 'max-power-limit', kind: 'max_power' },
    tariff_rate: { type: 'tariff-rate', kind: 'engineering' },
    phase_unbalance: { type: 'max-phase-unbalance', kind: 'engineering' },
    water_factor: { type: 'water-factor', kind: 'engineering' },
  });

export type ManagementTokenName = keyof typeof MANAGEMENT_TOKENS;

export interface ManagementRequest {
  readonly utilityId: UtilityId;
  readonly meterId: MeterId;
  readonly token: string;
  /** The register value: watts for max power, register number or 0xFFFF for clear credit, 0 for clear tamper. */
  readonly value: number;
  /** Why: required for engineering tokens, recorded for all. */
  readonly reason: string;
  readonly engineering: boolean;
  readonly actor: string;
  readonly userId?: string | null;
}

export interface KeyChangeRequest {
  readonly utilityId: UtilityId;
  readonly meterId: MeterId;
  readonly newKrn: number;
  readonly newSgc?: number;
  readonly newTi?: number;
  readonly newKt?: 0 | 1 | 2 | 3;
  readonly newKen?: number;
  /** Move the meter to base date 2014 and ask it to clear its TID memory (IEC 62055-41 rollover). */
  readonly rollover: boolean;
  readonly reason: string;
  readonly actor: string;
}

function notVendable(err: unknown): never {
  if (isTokenRefusal(err)) {
    throw new RasidError('meter_not_vendable', err.message);
  }
  throw err;
}

export class ManagementTokens {
  constructor(
    private readonly opts: { db: Kysely<Database>; tokens: TokenEngine; keys: KeyStore; now?: () => Date },
  ) {}

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  private async meterParams(utilityId: UtilityId, meterId: MeterId): Promise<StsMeterParams> {
    const meter = await this.opts.db
      .selectFrom('meters')
      .selectAll()
      .where('id', '=', meterId)
      .where('utility_id', '=', utilityId)
      .executeTakeFirst();
    if (!meter) throw new RasidError('not_found', `meter ${meterId} is unknown`);
    try {
      return stsParamsOf(meter);
    } catch (err) {
      return notVendable(err);
    }
  }

  /**
   * Takes the meter's next TID, makes the token with it and writes its token row in `trx`. A TID out of
   * the base date's range (base 1993 ran out in 2024) or a key the meter cannot take is the meter's state,
   * not a fault: not vendable.
   */
  private async issueRow(
    trx: Trx,
    params: StsMeterParams,
    make: (tid: number) => { token: string },
    row: {
      utilityId: UtilityId;
      meterId: MeterId;
      kind: TokenKind;
      reason: string;
      userId?: string | null | undefined;
    },
  ): Promise<{ token: string; tid: number }> {
    const at = this.now();
    const last = await ManagementTokens.lastTid(trx, row.meterId);
    let tid: number;
    let issued: { token: string };
    try {
      tid = TokenEngine.nextTid(params, at, last);
      issued = make(tid);
    } catch (err) {
      return notVendable(err);
    }
    await trx
      .insertInto('tokens')
      .values({
        utility_id: row.utilityId,
        meter_id: row.meterId,
        tid,
        kind: row.kind,
        token: issued.token,
        issued_by: (row.userId ?? null) as UserId | null,
        reason: row.reason,
        issued_at: at,
      })
      .execute();
    return { token: issued.token, tid };
  }

  private static async lastTid(trx: Trx, meterId: MeterId): Promise<number | null> {
    const row = await trx
      .selectFrom('tokens')
      .select(sql<number | null>`max(tid)`.as('tid'))
      .where('meter_id', '=', meterId)
      .executeTakeFirstOrThrow();
    return row.tid === null ? null : Number(row.tid);
  }

  async issue(req: ManagementRequest): Promise<{ token: string; tid: number; kind: TokenKind }> {
    const spec = MANAGEMENT_TOKENS[req.token];
    if (!spec) throw new RasidError('validation_failed', `token: unknown management token '${req.token}'`);
    if (req.engineering && req.reason.trim().length < 3) {
      throw new RasidError('validation_failed', 'reason: an engineering token needs a reason');
    }
    const params = await this.meterParams(req.utilityId, req.meterId);
    const key = await this.opts.tokens.decoderKey(params).catch(notVendable);
    const kind: TokenKind = req.engineering ? 'engineering' : spec.kind;
    return this.opts.db.transaction().execute(async (trx) => {
      await trx.selectFrom('meters').select('id').where('id', '=', req.meterId).forNoKeyUpdate().execute();
      const issued = await this.issueRow(
        trx,
        params,
        (tid) => this.opts.tokens.managementWith(params, key, spec.type, tid, req.value),
        { ...req, kind },
      );
      const tid = issued.tid;
      await trx
        .insertInto('audit_log')
        .values({
          utility_id: req.utilityId,
          actor: req.actor,
          action: `token.${kind}`,
          subject: `meter:${req.meterId}`,
          details: { token: req.token, value: req.value, tid, reason: req.reason },
        })
        .execute();
      return { token: issued.token, tid, kind };
    });
  }

  /**
   * What {@link creditIn} needs of a meter, read before the transaction (the decoder key may need the key
   * store, which must not be called inside another transaction on a one-session store).
   */
  async prepareCredit(utilityId: UtilityId, meterId: MeterId) {
    const params = await this.meterParams(utilityId, meterId);
    const key = await this.opts.tokens.decoderKey(params).catch(notVendable);
    return { params, key };
  }

  /**
   * A credit token for `units` (Wh or litres, rounded down to what an STS token carries) that is not a
   * sale: the credit a replaced token meter still held, moved to its successor. Written in `trx` with its
   * token row (kind credit, no vend) and the caller's reason; null when nothing is left to carry.
   */
  async creditIn(
    trx: Trx,
    prepared: Awaited<ReturnType<ManagementTokens['prepareCredit']>>,
    req: { utilityId: UtilityId; meterId: MeterId; units: bigint; reason: string; userId?: string | null },
  ): Promise<{ token: string; tid: number; units: bigint } | null> {
    const tenths = creditableTenths(req.units / 100n);
    if (tenths <= 0n) return null;
    const issued = await this.issueRow(
      trx,
      prepared.params,
      (tid) => this.opts.tokens.credit(prepared.params, prepared.key, tid, tenths),
      { ...req, kind: 'credit' },
    );
    return { token: issued.token, tid: issued.tid, units: tenths * 100n };
  }

  /**
   * The key-change pair (both under the current key) moving the meter to a new key revision (and optionally
   * a new SGC, tariff index, key type, expiry, and the 2014 base date with rollover). The meter row takes the
   * new parameters in the same transaction, so the next vend is under the new key.
   */
  async keyChange(req: KeyChangeRequest): Promise<{ tokens: [string, string]; newKrn: number }> {
    const current = await this.meterParams(req.utilityId, req.meterId);
    const sgc = req.newSgc ?? current.sgc;
    const vendingKey = await this.opts.keys.find(req.utilityId, sgc, req.newKrn);
    if (!vendingKey) {
      throw new RasidError(
        'conflict',
        `no vending key for supply group ${sgc} revision ${req.newKrn} in the key store`,
      );
    }
    const next: StsMeterParams = {
      ...current,
      sgc,
      krn: req.newKrn,
      ti: req.newTi ?? current.ti,
      kt: req.newKt ?? current.kt,
      ken: req.newKen ?? current.ken,
      vendingKeyId: vendingKey.id,
      baseDate: req.rollover ? 2014 : current.baseDate,
    };
    let pair: [string, string];
    try {
      pair = await this.opts.tokens.keyChange(current, next, req.rollover);
    } catch (err) {
      return notVendable(err);
    }
    return this.opts.db.transaction().execute(async (trx) => {
      await trx.selectFrom('meters').select('id').where('id', '=', req.meterId).forNoKeyUpdate().execute();
      const at = this.now();
      const last = await ManagementTokens.lastTid(trx, req.meterId);
      // Key change tokens carry no TID of their own; the pair is filed under one for ordering.
      const tid = last === null ? 0 : last;
      for (const token of pair) {
        await trx
          .insertInto('tokens')
          .values({
            utility_id: req.utilityId,
            meter_id: req.meterId,
            tid,
            kind: 'key_change',
            token,
            reason: req.reason,
            issued_at: at,
          })
          .execute();
      }
      await trx
        .updateTable('meters')
        .set({
          sts_sgc: next.sgc,
          sts_krn: next.krn,
          sts_ti: next.ti,
          sts_kt: next.kt,
          sts_ken: next.ken,
          vending_key_id: next.vendingKeyId,
          ...(req.rollover ? { sts_base_date: '2014-01-01' } : {}),
        })
        .where('id', '=', req.meterId)
        .execute();
      await trx
        .insertInto('audit_log')
        .values({
          utility_id: req.utilityId,
          actor: req.actor,
          action: 'key.change',
          subject: `meter:${req.meterId}`,
          details: {
            fromKrn: current.krn,
            toKrn: next.krn,
            fromSgc: current.sgc,
            toSgc: next.sgc,
            rollover: req.rollover,
            reason: req.reason,
          },
        })
        .execute();
      return { tokens: pair, newKrn: next.krn };
    });
  }
}
