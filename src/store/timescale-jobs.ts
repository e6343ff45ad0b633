import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Rasid's TimescaleDB policies (roll-up refresh, compression, retention) run in TimescaleDB's background
 * scheduler, which Rasid cannot see. When the scheduler does not run them (seen with TimescaleDB 2.28.3 on
 * PostgreSQL 15.20: every background run fails with `cannot drop portal "" while it is being set up`, while
 * `call run_job(…)` from a session succeeds), Rasid's workers run the overdue ones themselves. Correctness
 * never waits for them: the roll-ups are real-time (rows not yet materialised are read from `readings`),
 * so a policy that does not run makes reports slower, not wrong.
 */

/** Procedures of the policies Rasid's migrations create. */
const POLICY_PROCEDURES = ['policy_refresh_continuous_aggregate', 'policy_compression', 'policy_retention'];

export interface TimescaleJob {
  jobId: number;
  procedure: string;
  /** The hypertable or continuous aggregate the policy works on. */
  relation: string;
  lastRunStatus: string | null;
  lastSuccessfulFinish: Date | null;
  scheduleSeconds: number;
  /** Overdue: never finished well, or not within two schedule intervals. */
  overdue: boolean;
}

/** Rasid's policy jobs and whether each is overdue. Empty on a store without TimescaleDB. */
export async function timescaleJobs(db: Kysely<Database>, now: Date = new Date()): Promise<TimescaleJob[]> {
  const installed = await sql<{ installed: boolean }>`
    select exists (select 1 from pg_extension where extname = 'timescaledb') as installed
  `.execute(db);
  if (!installed.rows[0]?.installed) return [];
  const { rows } = await sql<{
    job_id: number;
    proc_name: string;
    relation: string;
    last_run_status: string | null;
    finished_epoch: number | null;
    schedule_seconds: number;
  }>`
    select j.job_id, j.proc_name,
           coalesce(ca.view_name, j.hypertable_name)::text as relation,
           s.last_run_status,
           extract(epoch from s.last_successful_finish)::float8 as finished_epoch,
           extract(epoch from j.schedule_interval)::float8 as schedule_seconds
      from timescaledb_information.jobs j
      left join timescaledb_information.job_stats s on s.job_id = j.job_id
      left join timescaledb_information.continuous_aggregates ca
        on ca.materialization_hypertable_schema = j.hypertable_schema
       and ca.materialization_hypertable_name = j.hypertable_name
     where j.proc_name = any(${POLICY_PROCEDURES})
     order by j.job_id
  `.execute(db);
  return rows.map((row) => {
    // Never finished shows as null or -infinity.
    const finished =
      row.finished_epoch !== null && Number.isFinite(row.finished_epoch)
        ? new Date(row.finished_epoch * 1000)
        : null;
    const due = now.getTime() - 2 * row.schedule_seconds * 1000;
    return {
      jobId: row.job_id,
      procedure: row.proc_name,
      relation: row.relation,
      lastRunStatus: row.last_run_status,
      lastSuccessfulFinish: finished,
      scheduleSeconds: row.schedule_seconds,
      overdue: finished === null || finished.getTime() < due || row.last_run_status === 'Failed',
    };
  });
}

/**
 * Runs each overdue policy job once (`call run_job`), refreshes first so compression sees materialised
 * roll-ups. Returns the jobs run and the ones that failed (with the database's message).
 */
export async function runOverdueTimescaleJobs(
  db: Kysely<Database>,
  now: Date = new Date(),
): Promise<{ ran: TimescaleJob[]; failed: { job: TimescaleJob; error: string }[] }> {
  const jobs = (await timescaleJobs(db, now)).filter((job) => job.overdue);
  const order = (job: TimescaleJob) => POLICY_PROCEDURES.indexOf(job.procedure);
  jobs.sort((a, b) => order(a) - order(b) || a.jobId - b.jobId);
  const ran: TimescaleJob[] = [];
  const failed: { job: TimescaleJob; error: string }[] = [];
  for (const job of jobs) {
    try {
      // A procedure that commits inside must be called outside a transaction block: one plain statement.
      await sql.raw(`call run_job(${Math.trunc(job.jobId)})`).execute(db);
      ran.push(job);
    } catch (error) {
      failed.push({ job, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return { ran, failed };
}
