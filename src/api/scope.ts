/**
 * One rule for every route: an id in the path or query that names nothing the caller may see answers
 * 404, exactly as an id that names nothing at all, before the route's own work (and before its body is
 * validated), so no route answers "200, empty" for another utility's meter, another vendor's kiosks or
 * another customer's account.
 *
 * The kind of an id comes from its name: a path parameter is of the kind of the collection segment before
 * it (`/meters/{id}` a meter, `/vendors/{vendorId}` a vendor); a query parameter named `meterId`,
 * `accountId`, `customerId` or `premiseId` is of that kind. What a caller may see:
 * - staff (admin, operator, technician, service) and gateways: everything of their utility;
 * - a vendor (its staff or a kiosk key): its own vendor, kiosks and vends, and the utility's meters;
 * - a customer: their own customer record, accounts and the meters on them, their cases;
 * - the gateway: itself.
 * Routes keep their own finer checks; this rule only makes sure a foreign id is never an empty answer.
 */
import type { FastifyRequest } from 'fastify';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { GatewayPrincipal, Principal } from './auth.ts';
import { AppError } from './errors.ts';
import { refuseBadStrings } from './strings.ts';

export type ScopedKind =
  | 'meter'
  | 'account'
  | 'customer'
  | 'premise'
  | 'vendor'
  | 'kiosk'
  | 'vend'
  | 'case'
  | 'command'
  | 'gateway';

/** Collection segment of a path → the kind of the id parameter after it. */
const SEGMENT_KIND: Readonly<Record<string, ScopedKind>> = Object.freeze({
  meters: 'meter',
  accounts: 'account',
  customers: 'customer',
  premises: 'premise',
  vendors: 'vendor',
  kiosks: 'kiosk',
  vends: 'vend',
  cases: 'case',
  commands: 'command',
  gateways: 'gateway',
});

/** Query parameters that name an entity. */
const QUERY_KIND: Readonly<Record<string, ScopedKind>> = Object.freeze({
  meterId: 'meter',
  accountId: 'account',
  customerId: 'customer',
  premiseId: 'premise',
});

const TABLE: Readonly<Record<ScopedKind, keyof Database>> = Object.freeze({
  meter: 'meters',
  account: 'accounts',
  customer: 'customers',
  premise: 'premises',
  vendor: 'vendors',
  kiosk: 'kiosks',
  vend: 'vends',
  case: 'cases',
  command: 'commands',
  gateway: 'gateways',
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The (kind, name, value) of every id a route's path pattern and query carry. */
export function idsOf(
  routeUrl: string,
  params: Record<string, unknown>,
  query: Record<string, unknown>,
): { kind: ScopedKind; name: string; value: string }[] {
  const out: { kind: ScopedKind; name: string; value: string }[] = [];
  const segments = routeUrl.split('/');
  for (let i = 1; i < segments.length; i++) {
    const m = /^:(\w+)$/.exec(segments[i] ?? '') ?? /^\{(\w+)\}$/.exec(segments[i] ?? '');
    const kind = SEGMENT_KIND[segments[i - 1] ?? ''];
    const name = m?.[1];
    if (!kind || !name) continue;
    const value = params[name];
    if (typeof value === 'string') out.push({ kind, name, value });
  }
  for (const [name, kind] of Object.entries(QUERY_KIND)) {
    const value = query[name];
    if (typeof value === 'string' && value !== '') out.push({ kind, name, value });
  }
  return out;
}

/** Whether `caller` may see the entity `kind` `id` (false for one that does not exist). */
export async function visible(
  db: Kysely<Database>,
  caller: Principal | GatewayPrincipal,
  kind: ScopedKind,
  id: string,
): Promise<boolean> {
  const table = sql.table(TABLE[kind]);
  const conditions = [sql`t.id = ${id}`, sql`t.utility_id = ${caller.utilityId}`];
  if (caller.kind === 'gateway') {
    if (kind === 'gateway') conditions.push(sql`t.id = ${caller.gatewayId}`);
  } else if (caller.role === 'vendor') {
    const vendorId = caller.vendorId;
    if (kind === 'vendor') conditions.push(sql`t.id = ${vendorId}`);
    if (kind === 'kiosk' || kind === 'vend') conditions.push(sql`t.vendor_id = ${vendorId}`);
  } else if (caller.role === 'customer') {
    const customerId = caller.customerId;
    if (kind === 'customer') conditions.push(sql`t.id = ${customerId}`);
    if (kind === 'account' || kind === 'case') conditions.push(sql`t.customer_id = ${customerId}`);
    if (kind === 'meter') {
      conditions.push(
        sql`exists (select 1 from accounts a where a.id = t.account_id and a.customer_id = ${customerId})`,
      );
    }
  }
  const row = await sql<{
    one: number;
  }>`select 1 as one from ${table} t where ${sql.join(conditions, sql` and `)}`.execute(db);
  return row.rows.length > 0;
}

/** The preValidation hook: 404 for the first id the caller may not see. */
export function scopeHook(db: Kysely<Database>) {
  return async (request: FastifyRequest) => {
    if (!request.url.startsWith('/api/')) return;
    // A bad string is the request's form, refused as such before any of its ids is looked up.
    refuseBadStrings(request);
    const caller = request.principal ?? request.gateway;
    // Public routes (no caller) answer for their own ids: checkout sessions, a utility's meter by serial.
    if (!caller) return;
    const routeUrl = request.routeOptions.url;
    if (!routeUrl) return;
    const ids = idsOf(
      routeUrl,
      (request.params ?? {}) as Record<string, unknown>,
      (request.query ?? {}) as Record<string, unknown>,
    );
    for (const { kind, name, value } of ids) {
      // A malformed id is the route's schema's to refuse (400 naming it).
      if (!UUID.test(value)) continue;
      if (!(await visible(db, caller, kind, value)))
        throw new AppError('not_found', `${kind} ${value} is unknown`, { field: name });
    }
  };
}
