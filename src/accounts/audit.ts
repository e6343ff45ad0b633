/**
 * The audit log: one append-only row per change an operator, service agent or kiosk makes (the table's
 * trigger refuses UPDATE and DELETE). Writers pass the open transaction of the change, so the row and the
 * change commit together. Details are plain JSON: amounts as strings, never key material.
 */
import { sql } from 'kysely';
import type { Queryable } from '../store/ledger.ts';
import type { UtilityId } from '../store/schema.ts';

export interface AuditEntry {
  readonly utilityId: UtilityId;
  /** `user:<id>`, `kiosk:<id>`, `system:<role>`. */
  readonly actor: string;
  /** Dotted verb, e.g. `account.transfer`, `meter.register`. */
  readonly action: string;
  /** `<kind>:<id>`, e.g. `account:<uuid>`. */
  readonly subject: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Writes one audit row (inside the caller's transaction). */
export async function writeAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      utility_id: entry.utilityId,
      actor: entry.actor,
      action: entry.action,
      subject: entry.subject,
      details: { ...entry.details },
    })
    .execute();
}

export interface AuditFilter {
  readonly utilityId: UtilityId;
  /** Exact subject, e.g. `account:<uuid>`. */
  readonly subject?: string | undefined;
  /** Exact action, or a prefix when it ends with `.*` (e.g. `account.*`). */
  readonly action?: string | undefined;
  readonly actor?: string | undefined;
  /** Rows created at or after this instant. */
  readonly from?: Date | undefined;
  /** Rows created before this instant. */
  readonly to?: Date | undefined;
  /** Keyset pagination: rows with an id below this one (the `next` of the previous page). */
  readonly before?: bigint | undefined;
  readonly limit: number;
}

export interface AuditRow {
  readonly id: string;
  readonly at: Date;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly details: Record<string, unknown>;
}

export interface AuditPage {
  readonly entries: readonly AuditRow[];
  /** Pass as `before` to get the next (older) page; null on the last page. */
  readonly next: string | null;
}

/** Escapes `%`, `_` and `\` for a LIKE pattern. */
export function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** A page of a utility's audit log, newest first. */
export async function listAudit(db: Queryable, filter: AuditFilter): Promise<AuditPage> {
  let q = db
    .selectFrom('audit_log')
    .select(['id', 'created_at', 'actor', 'action', 'subject', 'details'])
    .where('utility_id', '=', filter.utilityId);
  if (filter.subject) q = q.where('subject', '=', filter.subject);
  if (filter.actor) q = q.where('actor', '=', filter.actor);
  if (filter.action?.endsWith('.*')) {
    q = q.where('action', 'like', `${likeEscape(filter.action.slice(0, -1))}%`);
  } else if (filter.action) {
    q = q.where('action', '=', filter.action);
  }
  if (filter.from) q = q.where('created_at', '>=', filter.from);
  if (filter.to) q = q.where('created_at', '<', filter.to);
  if (filter.before !== undefined) q = q.where(sql<boolean>`id < ${filter.before.toString()}::bigint`);
  const rows = await q
    .orderBy('id', 'desc')
    .limit(filter.limit + 1)
    .execute();
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    entries: page.map((r) => ({
      id: String(r.id),
      at: r.created_at,
      actor: r.actor,
      action: r.action,
      subject: r.subject,
      details: r.details,
    })),
    next: rows.length > filter.limit && last ? String(last.id) : null,
  };
}
