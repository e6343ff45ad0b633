/**
 * The operators' live alerts: low credit, disconnect, reconnect and tamper from the meters' events and the
 * balance engine's decisions, offline and online from the meters' presence, and districts' losses
 * (docs/losses.md). One poller per process serves every open alert stream.
 */
import { type Kysely, sql } from 'kysely';
import type { Database, MeterId, UtilityId } from '../store/schema.ts';
import { TAMPER_KINDS } from './queries.ts';

export type AlertKind = 'low_credit' | 'disconnect' | 'reconnect' | 'tamper' | 'offline' | 'online' | 'loss';

export interface Alert {
  /** `event:<id>`, `decision:<id>` or `status:<meter>:<n>`. */
  readonly id: string;
  readonly kind: AlertKind;
  readonly at: string;
  readonly meterId: string;
  readonly serial: string;
  readonly area: string | null;
  /**
   * Where it comes from: the meter's own event, the balance engine's decision, its presence, or a district's
   * loss (docs/losses.md; meterId and serial are then the district's bulk meter, area the district's name).
   */
  readonly source: 'meter' | 'balance' | 'status' | 'losses';
  readonly detail: Record<string, unknown>;
}

type AlertListener = (alert: Alert) => void;

export interface AlertFeedOptions {
  readonly db: Kysely<Database>;
  readonly pollMs: number;
  readonly now?: () => Date;
  readonly onError?: (err: unknown) => void;
}

/**
 * One poller for every open alert stream of this process: it reads meter events and balance decisions
 * newer than its cursors, and the meters that went offline or came back since the previous read, for the
 * utilities someone is watching, and hands each alert to that utility's listeners. It runs only while
 * someone listens. `pollOnce()` is public so tests can drive it.
 */
export class AlertFeed {
  readonly #db: Kysely<Database>;
  readonly #pollMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #listeners = new Map<UtilityId, Set<AlertListener>>();
  /** Per utility: the meters offline at the previous read. */
  readonly #offline = new Map<UtilityId, Set<string>>();
  #eventCursor: bigint | null = null;
  #auditCursor: bigint | null = null;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #statusSeq = 0;

  constructor(options: AlertFeedOptions) {
    this.#db = options.db;
    this.#pollMs = options.pollMs;
    this.#onError = options.onError ?? (() => {});
  }

  /** Starts listening for a utility: resolves once the current state is known (later changes are alerts). */
  async subscribe(utilityId: UtilityId, listener: AlertListener): Promise<() => void> {
    if (this.#eventCursor === null || this.#auditCursor === null) {
      const events = await this.#topId('meter_events');
      const audit = await this.#topId('audit_log');
      this.#eventCursor ??= events;
      this.#auditCursor ??= audit;
    }
    if (!this.#offline.has(utilityId)) this.#offline.set(utilityId, await this.#offlineMeters(utilityId));
    let set = this.#listeners.get(utilityId);
    if (!set) {
      set = new Set();
      this.#listeners.set(utilityId, set);
    }
    set.add(listener);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => {
        if (this.#running) return;
        this.#running = this.pollOnce()
          .then(() => undefined, this.#onError)
          .finally(() => {
            this.#running = undefined;
          });
      }, this.#pollMs);
      this.#timer.unref();
    }
    return () => {
      set.delete(listener);
      if (set.size === 0) {
        this.#listeners.delete(utilityId);
        this.#offline.delete(utilityId);
      }
      if (this.#listeners.size === 0) this.#stopTimer();
    };
  }

  /** Reads what is new and delivers it; returns the alerts delivered. */
  async pollOnce(): Promise<Alert[]> {
    const utilities = [...this.#listeners.keys()];
    if (utilities.length === 0 || this.#eventCursor === null || this.#auditCursor === null) return [];
    const alerts: { utilityId: UtilityId; alert: Alert }[] = [];

    const events = await this.#db
      .selectFrom('meter_events as e')
      .innerJoin('meters as m', 'm.id', 'e.meter_id')
      .leftJoin('accounts as a', 'a.id', 'm.account_id')
      .leftJoin('premises as p', 'p.id', 'a.premise_id')
      .select(['e.id', 'e.utility_id', 'e.meter_id', 'e.ts', 'e.kind', 'e.details', 'm.serial', 'p.area'])
      .where('e.id', '>', this.#eventCursor as never)
      .where('e.utility_id', 'in', utilities)
      .where('e.kind', 'in', [...TAMPER_KINDS, 'low_credit', 'relay_changed'])
      .orderBy('e.id')
      .limit(500)
      .execute();
    for (const e of events) {
      this.#eventCursor = e.id > this.#eventCursor ? e.id : this.#eventCursor;
      let kind: AlertKind | null = null;
      if ((TAMPER_KINDS as readonly string[]).includes(e.kind)) kind = 'tamper';
      else if (e.kind === 'low_credit') kind = 'low_credit';
      else if (e.kind === 'relay_changed')
        kind = e.details.relay === 'disconnected' ? 'disconnect' : 'reconnect';
      if (kind === null) continue;
      alerts.push({
        utilityId: e.utility_id,
        alert: {
          id: `event:${e.id}`,
          kind,
          at: e.ts.toISOString(),
          meterId: e.meter_id,
          serial: e.serial,
          area: e.area,
          source: 'meter',
          detail: { event: e.kind, ...e.details },
        },
      });
    }

    // Read the top first: rows written while this read runs wait for the next one.
    const topId = await this.#topId('audit_log');
    const decisions = await this.#db
      .selectFrom('audit_log as l')
      .select(['l.id', 'l.utility_id', 'l.subject', 'l.action', 'l.details', 'l.created_at'])
      .where('l.id', '>', this.#auditCursor as never)
      .where('l.id', '<=', topId as never)
      .where('l.utility_id', 'in', utilities)
      .where('l.action', 'in', [
        'balance.alert_low_credit',
        'balance.disconnect',
        'balance.reconnect',
        'losses.alert',
      ])
      .orderBy('l.id')
      .limit(500)
      .execute();
    const lossRows = decisions.filter((d) => d.action === 'losses.alert');
    const bulk =
      lossRows.length === 0
        ? []
        : await this.#db
            .selectFrom('meters')
            .select(['id', 'serial', 'district_id'])
            .where('role', '=', 'bulk')
            .where('district_id', 'in', lossRows.map((d) => d.subject.replace(/^district:/, '')) as never[])
            .orderBy('serial')
            .execute();
    for (const d of lossRows) {
      const districtId = d.subject.replace(/^district:/, '');
      const meter = bulk.find((m) => m.district_id === districtId);
      alerts.push({
        utilityId: d.utility_id,
        alert: {
          id: `decision:${d.id}`,
          kind: 'loss',
          at: d.created_at.toISOString(),
          meterId: meter?.id ?? '',
          serial: meter?.serial ?? '',
          area: typeof d.details.name === 'string' ? d.details.name : null,
          source: 'losses',
          detail: { districtId, ...d.details },
        },
      });
    }
    const meterDecisions = decisions.filter((d) => d.action !== 'losses.alert');
    const meterIds = [...new Set(meterDecisions.map((d) => d.subject.replace(/^meter:/, '')))];
    const meters =
      meterIds.length === 0
        ? []
        : await this.#db
            .selectFrom('meters as m')
            .leftJoin('accounts as a', 'a.id', 'm.account_id')
            .leftJoin('premises as p', 'p.id', 'a.premise_id')
            .select(['m.id', 'm.serial', 'p.area'])
            .where('m.id', 'in', meterIds as MeterId[])
            .execute();
    for (const d of meterDecisions) {
      const meter = meters.find((m) => `meter:${m.id}` === d.subject);
      if (!meter) continue;
      const kind: AlertKind =
        d.action === 'balance.alert_low_credit'
          ? 'low_credit'
          : d.action === 'balance.disconnect'
            ? 'disconnect'
            : 'reconnect';
      alerts.push({
        utilityId: d.utility_id,
        alert: {
          id: `decision:${d.id}`,
          kind,
          at: d.created_at.toISOString(),
          meterId: meter.id,
          serial: meter.serial,
          area: meter.area,
          source: 'balance',
          detail: {
            reason: d.details.reason ?? null,
            creditMinor: d.details.creditMinor ?? null,
            daysLeft: d.details.daysLeft ?? null,
          },
        },
      });
    }
    const last = decisions.at(-1);
    this.#auditCursor =
      decisions.length === 500 && last ? last.id : topId > this.#auditCursor ? topId : this.#auditCursor;

    const at = new Date().toISOString();
    for (const utilityId of utilities) {
      const before = this.#offline.get(utilityId);
      if (!before) continue;
      const now = await this.#offlineMeters(utilityId);
      const changed = [
        ...[...now].filter((id) => !before.has(id)).map((id) => ({ id, kind: 'offline' as const })),
        ...[...before].filter((id) => !now.has(id)).map((id) => ({ id, kind: 'online' as const })),
      ];
      this.#offline.set(utilityId, now);
      if (changed.length === 0) continue;
      const rows = await this.#db
        .selectFrom('meters as m')
        .leftJoin('accounts as a', 'a.id', 'm.account_id')
        .leftJoin('premises as p', 'p.id', 'a.premise_id')
        .select(['m.id', 'm.serial', 'm.last_seen_at', 'p.area'])
        .where('m.id', 'in', changed.map((c) => c.id) as MeterId[])
        .execute();
      for (const c of changed) {
        const m = rows.find((r) => r.id === c.id);
        if (!m) continue;
        alerts.push({
          utilityId,
          alert: {
            id: `status:${m.id}:${++this.#statusSeq}`,
            kind: c.kind,
            at,
            meterId: m.id,
            serial: m.serial,
            area: m.area,
            source: 'status',
            detail: { lastSeenAt: m.last_seen_at ? m.last_seen_at.toISOString() : null },
          },
        });
      }
    }

    for (const { utilityId, alert } of alerts) {
      for (const listener of this.#listeners.get(utilityId) ?? []) listener(alert);
    }
    return alerts.map((a) => a.alert);
  }

  /** The newest id of the table, 0 when it is empty. */
  async #topId(table: 'meter_events' | 'audit_log'): Promise<bigint> {
    const top = await this.#db
      .selectFrom(table)
      .select(sql<string | null>`max(id)::text`.as('id'))
      .executeTakeFirstOrThrow();
    return BigInt(top.id ?? '0');
  }

  async #offlineMeters(utilityId: UtilityId): Promise<Set<string>> {
    const rows = await this.#db
      .selectFrom('meters')
      .select('id')
      .where('utility_id', '=', utilityId)
      .where('online', '=', false)
      .where('status', '=', 'active')
      .execute();
    return new Set(rows.map((r) => r.id));
  }

  #stopTimer(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async stop(): Promise<void> {
    this.#listeners.clear();
    this.#offline.clear();
    this.#stopTimer();
    await this.#running;
  }
}
