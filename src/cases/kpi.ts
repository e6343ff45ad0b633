/**
 * The contact centre's KPIs for a period [from, to), in total, by channel, category or department, and as
 * a series of days, weeks or months in the utility's time zone (docs/customer-service.md, "Contact centre"):
 * - cases received (opened in the period), resolved and closed in it;
 * - time to first response over the cases received, and time to resolve over the cases resolved: mean,
 *   median and 90th percentile (continuous percentiles, as PostgreSQL's `percentile_cont`);
 * - the share of cases resolved within their SLA, the reopenings in the period, the satisfaction surveys
 *   answered in it (count and mean score 1..5);
 * - calls and chats received, answered and abandoned, the answer rate (answered / received) and the mean
 *   wait: in total, by channel (calls count as phone, chats as live chat) and in the series; a call has no
 *   category or department.
 * A case counts where its event falls: received by its opening, resolved by its resolution.
 */
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database, UtilityId } from '../store/schema.ts';

export const KPI_DIMENSIONS = ['channel', 'category', 'department'] as const;
export type KpiDimension = (typeof KPI_DIMENSIONS)[number];
export const KPI_BUCKETS = ['day', 'week', 'month'] as const;
export type KpiBucket = (typeof KPI_BUCKETS)[number];

export interface Durations {
  readonly count: number;
  readonly meanSeconds: number | null;
  readonly medianSeconds: number | null;
  readonly p90Seconds: number | null;
}

export interface KpiRow {
  /** The channel, category or department code, or the bucket's first day; '' for the total or "none". */
  readonly key: string;
  readonly received: number;
  readonly resolved: number;
  readonly closed: number;
  readonly resolvedWithinSla: number;
  /** resolvedWithinSla / resolved; null when nothing was resolved. */
  readonly withinSlaShare: number | null;
  readonly reopened: number;
  readonly firstResponse: Durations;
  readonly resolution: Durations;
  readonly satisfaction: { readonly count: number; readonly mean: number | null };
  /** Null where calls have no such dimension (category, department). */
  readonly calls: {
    readonly received: number;
    readonly answered: number;
    readonly abandoned: number;
    readonly answerRate: number | null;
    readonly meanWaitSeconds: number | null;
  } | null;
}

export interface KpiReport {
  readonly from: Date;
  readonly to: Date;
  readonly total: KpiRow;
  readonly dimension: KpiDimension | null;
  readonly groups: readonly KpiRow[];
  readonly bucket: KpiBucket;
  readonly series: readonly KpiRow[];
}

type Key = (ts: string) => string;

const NO_DURATIONS: Durations = Object.freeze({
  count: 0,
  meanSeconds: null,
  medianSeconds: null,
  p90Seconds: null,
});

function durationsSql(expr: string, filter: string): RawBuilder<unknown>[] {
  return [
    sql.raw(`count(*) filter (where ${filter})::int`).as('d_count'),
    sql.raw(`avg(${expr}) filter (where ${filter})`).as('d_mean'),
    sql.raw(`percentile_cont(0.5) within group (order by ${expr}) filter (where ${filter})`).as('d_median'),
    sql.raw(`percentile_cont(0.9) within group (order by ${expr}) filter (where ${filter})`).as('d_p90'),
  ] as never;
}

function round(n: unknown): number | null {
  return n === null || n === undefined ? null : Math.round(Number(n));
}

export class ContactCentreKpi {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async report(
    utilityId: UtilityId,
    from: Date,
    to: Date,
    dimension: KpiDimension | null,
    bucket: KpiBucket,
  ): Promise<KpiReport> {
    const u = await this.#db
      .selectFrom('utilities')
      .select('timezone')
      .where('id', '=', utilityId)
      .executeTakeFirstOrThrow();
    const tz = u.timezone.replace(/'/g, '');
    const total = await this.#rows(
      utilityId,
      from,
      to,
      () => `''`,
      () => `''`,
    );
    const groups =
      dimension === null
        ? []
        : await this.#rows(
            utilityId,
            from,
            to,
            () =>
              dimension === 'channel'
                ? 'c.channel'
                : dimension === 'category'
                  ? 'c.category'
                  : `coalesce(d.code, '')`,
            dimension === 'channel' ? () => `case when r.kind = 'call' then 'phone' else 'chat' end` : null,
          );
    const day = (ts: string) => `to_char(date_trunc('${bucket}', ${ts} at time zone '${tz}'), 'YYYY-MM-DD')`;
    const series = await this.#rows(utilityId, from, to, day, day);
    // Every bucket of the period, the quiet ones too, so a chart shows the days nothing happened.
    const buckets = await sql<{ k: string }>`
      select to_char(d, 'YYYY-MM-DD') as k
      from generate_series(
        date_trunc(${bucket}, ${from}::timestamptz at time zone ${tz}),
        (${to}::timestamptz at time zone ${tz}) - interval '1 microsecond',
        ${`1 ${bucket}`}::interval
      ) as d`.execute(this.#db);
    for (const { k } of buckets.rows) {
      if (!series.some((r) => r.key === k)) series.push(emptyRow(k, true));
    }
    return {
      from,
      to,
      total: total[0] ?? emptyRow('', true),
      dimension,
      groups: groups.sort((a, b) => a.key.localeCompare(b.key)),
      bucket,
      series: series.sort((a, b) => a.key.localeCompare(b.key)),
    };
  }

  /** One row per key: `caseKey` keys a case-side fact by its timestamp; `callKey` a call (null: no calls). */
  async #rows(
    utilityId: UtilityId,
    from: Date,
    to: Date,
    caseKey: Key,
    callKey: Key | null,
  ): Promise<KpiRow[]> {
    const rows = new Map<string, Mutable>();
    const at = (key: string): Mutable => {
      let r = rows.get(key);
      if (!r) {
        r = emptyRow(key, callKey !== null);
        rows.set(key, r);
      }
      return r;
    };
    const db = this.#db;
    const inPeriod = (col: string) => sql<boolean>`${sql.raw(col)} >= ${from} and ${sql.raw(col)} < ${to}`;
    const base = (k: string) =>
      db
        .selectFrom('cases as c')
        .leftJoin('departments as d', 'd.id', 'c.department_id')
        .select(sql.raw<string>(k).as('k'))
        .where('c.utility_id', '=', utilityId)
        .groupBy(sql.raw('1')); // the key: the first column (a constant key cannot be named)

    const received = await base(caseKey('c.created_at'))
      .select(sql<number>`count(*)::int`.as('n'))
      .select(
        durationsSql(
          'extract(epoch from (c.first_response_at - c.created_at))::double precision',
          'c.first_response_at is not null',
        ) as never,
      )
      .where(inPeriod('c.created_at'))
      .execute();
    for (const r of received as unknown as ({ k: string; n: number } & DurRow)[]) {
      const m = at(r.k);
      m.received = r.n;
      m.firstResponse = durations(r);
    }

    const done = 'coalesce(c.resolved_at, c.closed_at)';
    const resolved = await base(caseKey(done))
      .select(sql<number>`count(*)::int`.as('n'))
      .select(sql<number>`count(*) filter (where ${sql.raw(done)} <= c.sla_due_at)::int`.as('within'))
      .select(durationsSql(`extract(epoch from (${done} - c.created_at))::double precision`, 'true') as never)
      .where(inPeriod(done))
      .execute();
    for (const r of resolved as unknown as ({ k: string; n: number; within: number } & DurRow)[]) {
      const m = at(r.k);
      m.resolved = r.n;
      m.resolvedWithinSla = r.within;
      m.withinSlaShare = r.n === 0 ? null : r.within / r.n;
      m.resolution = durations(r);
    }

    const closed = await base(caseKey('c.closed_at'))
      .select(sql<number>`count(*)::int`.as('n'))
      .where(inPeriod('c.closed_at'))
      .execute();
    for (const r of closed) at(r.k).closed = r.n;

    const reopenKey = caseKey('e.created_at');
    const reopened = await db
      .selectFrom('case_events as e')
      .innerJoin('cases as c', 'c.id', 'e.case_id')
      .leftJoin('departments as d', 'd.id', 'c.department_id')
      .select(sql.raw<string>(reopenKey).as('k'))
      .select(sql<number>`count(*)::int`.as('n'))
      .where('e.utility_id', '=', utilityId)
      .where('e.kind', '=', 'status')
      .where('e.from_status', 'in', ['resolved', 'closed'])
      .where('e.to_status', '=', 'in_progress')
      .where(inPeriod('e.created_at'))
      .groupBy(sql.raw('1'))
      .execute();
    for (const r of reopened) at(r.k).reopened = r.n;

    const surveyKey = caseKey('s.answered_at');
    const surveys = await db
      .selectFrom('case_surveys as s')
      .innerJoin('cases as c', 'c.id', 's.case_id')
      .leftJoin('departments as d', 'd.id', 'c.department_id')
      .select(sql.raw<string>(surveyKey).as('k'))
      .select(sql<number>`count(*)::int`.as('n'))
      .select(sql<number | null>`avg(s.score)::double precision`.as('mean'))
      .where('s.utility_id', '=', utilityId)
      .where(inPeriod('s.answered_at'))
      .groupBy(sql.raw('1'))
      .execute();
    for (const r of surveys) {
      at(r.k).satisfaction = { count: r.n, mean: r.mean === null ? null : Number(r.mean) };
    }

    if (callKey !== null) {
      const k = callKey('r.received_at');
      const calls = await db
        .selectFrom('call_records as r')
        .select(sql.raw<string>(k).as('k'))
        .select(sql<number>`count(*)::int`.as('n'))
        .select(sql<number>`count(*) filter (where r.outcome = 'answered')::int`.as('answered'))
        .select(sql<number | null>`avg(r.wait_seconds)::double precision`.as('wait'))
        .where('r.utility_id', '=', utilityId)
        .where(inPeriod('r.received_at'))
        .groupBy(sql.raw('1'))
        .execute();
      for (const r of calls) {
        at(r.k).calls = {
          received: r.n,
          answered: r.answered,
          abandoned: r.n - r.answered,
          answerRate: r.n === 0 ? null : r.answered / r.n,
          meanWaitSeconds: round(r.wait),
        };
      }
    }
    return [...rows.values()];
  }
}

type Mutable = { -readonly [K in keyof KpiRow]: KpiRow[K] };

interface DurRow {
  d_count: number;
  d_mean: unknown;
  d_median: unknown;
  d_p90: unknown;
}

function durations(r: DurRow): Durations {
  return {
    count: Number(r.d_count),
    meanSeconds: round(r.d_mean),
    medianSeconds: round(r.d_median),
    p90Seconds: round(r.d_p90),
  };
}

function emptyRow(key: string, calls: boolean): Mutable {
  return {
    key,
    received: 0,
    resolved: 0,
    closed: 0,
    resolvedWithinSla: 0,
    withinSlaShare: null,
    reopened: 0,
    firstResponse: NO_DURATIONS,
    resolution: NO_DURATIONS,
    satisfaction: { count: 0, mean: null },
    calls: calls ? { received: 0, answered: 0, abandoned: 0, answerRate: null, meanWaitSeconds: null } : null,
  };
}

/** The report as CSV: one line for the total, each group and each bucket of the series. */
export function kpiCsv(report: KpiReport): string {
  const head = [
    'section',
    'key',
    'received',
    'resolved',
    'closed',
    'within_sla_share',
    'reopened',
    'first_response_mean_s',
    'first_response_median_s',
    'first_response_p90_s',
    'resolve_mean_s',
    'resolve_median_s',
    'resolve_p90_s',
    'satisfaction_count',
    'satisfaction_mean',
    'calls_received',
    'calls_answered',
    'calls_abandoned',
    'answer_rate',
    'mean_wait_s',
  ];
  const v = (x: number | null | undefined) => (x === null || x === undefined ? '' : String(x));
  const line = (section: string, r: KpiRow) =>
    [
      section,
      r.key,
      r.received,
      r.resolved,
      r.closed,
      v(r.withinSlaShare === null ? null : Number(r.withinSlaShare.toFixed(4))),
      r.reopened,
      v(r.firstResponse.meanSeconds),
      v(r.firstResponse.medianSeconds),
      v(r.firstResponse.p90Seconds),
      v(r.resolution.meanSeconds),
      v(r.resolution.medianSeconds),
      v(r.resolution.p90Seconds),
      r.satisfaction.count,
      v(r.satisfaction.mean === null ? null : Number(r.satisfaction.mean.toFixed(2))),
      v(r.calls?.received),
      v(r.calls?.answered),
      v(r.calls?.abandoned),
      v(r.calls?.answerRate === null || r.calls === null ? null : Number(r.calls.answerRate.toFixed(4))),
      v(r.calls?.meanWaitSeconds),
    ]
      .map((c) => csvCell(String(c)))
      .join(',');
  return [
    head.join(','),
    line('total', report.total),
    ...report.groups.map((g) => line(report.dimension ?? 'group', g)),
    ...report.series.map((s) => line(report.bucket, s)),
  ].join('\r\n');
}

function csvCell(s: string): string {
  // A cell that a spreadsheet would read as a formula is quoted with a leading apostrophe.
  const safe = /^[=+\-@]/.test(s) && !/^-?\d/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
