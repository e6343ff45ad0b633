/**
 * Who is calling: people with sessions (bearer tokens), kiosks with API keys, and protocol gateways with
 * API keys of their own (`rgw_…`, in `request.gateway`; a route opens to them by listing 'gateway'). Every
 * route under /api/ must declare `config.access`: 'public' or the roles allowed (admin may do everything).
 * A route that forgets to declare it is refused for everyone, so a new route is closed until someone opens
 * it on purpose.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import { newSecret, secretDigest } from '../security/secrets.ts';
import type {
  CustomerId,
  Database,
  GatewayId,
  KioskId,
  Role,
  UserId,
  UtilityId,
  VendorId,
} from '../store/schema.ts';
import { AppError } from './errors.ts';
import { scopeHook } from './scope.ts';

export type Principal =
  | {
      readonly kind: 'user';
      readonly userId: UserId;
      readonly username: string;
      readonly utilityId: UtilityId;
      readonly role: Role;
      readonly vendorId: VendorId | null;
      readonly customerId: CustomerId | null;
    }
  | {
      readonly kind: 'kiosk';
      readonly kioskId: KioskId;
      readonly vendorId: VendorId;
      readonly utilityId: UtilityId;
      readonly role: 'vendor';
    };

/** A protocol gateway signed in with its API key: it may call only the routes that list 'gateway'. */
export interface GatewayPrincipal {
  readonly kind: 'gateway';
  readonly gatewayId: GatewayId;
  readonly utilityId: UtilityId;
}

export type Access = 'public' | readonly (Role | 'gateway')[];

/** Prefix of a gateway's API key: it tells which table holds the key. */
export const GATEWAY_KEY_PREFIX = 'rgw_';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route; required on every /api/ route. */
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | null;
    gateway: GatewayPrincipal | null;
  }
}

// Digests and new secrets are the security module's; routes and older callers import them from here too.
export { newSecret, secretDigest };

/** The audit `actor` string of a principal. */
export function actorOf(p: Principal | null): string {
  if (!p) return 'anonymous';
  return p.kind === 'user' ? `user:${p.userId}` : `kiosk:${p.kioskId}`;
}

/** The principal of a request that passed its access check (throws if the route was public). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('unauthenticated');
  return request.principal;
}

export interface AuthOptions {
  readonly db: Kysely<Database>;
  readonly now?: () => Date;
}

const authPlugin: FastifyPluginAsync<AuthOptions> = async (fastify, opts) => {
  const now = opts.now ?? (() => new Date());
  fastify.decorateRequest('principal', null);
  fastify.decorateRequest('gateway', null);
  // After who is calling is known: an id the caller may not see answers 404 on every route (scope.ts).
  fastify.addHook('preValidation', scopeHook(opts.db));

  fastify.addHook('onRequest', async (request) => {
    const url = request.url;
    if (!url.startsWith('/api/')) return;
    const access = request.routeOptions.config.access;
    const auth = request.headers.authorization;
    const apiKey = request.headers['x-api-key'];
    if (typeof auth === 'string' && auth.startsWith('Bearer ')) {
      const row = await opts.db
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .select([
          'users.id as userId',
          'users.username',
          'users.utility_id as utilityId',
          'users.role',
          'users.vendor_id as vendorId',
          'users.customer_id as customerId',
          'sessions.expires_at as expiresAt',
          'sessions.revoked_at as revokedAt',
          'users.disabled_at as disabledAt',
        ])
        .where('sessions.token_hash', '=', secretDigest(auth.slice(7).trim()))
        .executeTakeFirst();
      if (row && !row.revokedAt && !row.disabledAt && row.expiresAt > now()) {
        request.principal = {
          kind: 'user',
          userId: row.userId,
          username: row.username,
          utilityId: row.utilityId,
          role: row.role,
          vendorId: row.vendorId,
          customerId: row.customerId,
        };
      } else if (access !== 'public') {
        throw new AppError('unauthenticated', 'the session is unknown, expired or revoked');
      }
    } else if (typeof apiKey === 'string' && apiKey.startsWith(GATEWAY_KEY_PREFIX)) {
      const gateway = await opts.db
        .selectFrom('gateways')
        .select(['id', 'utility_id', 'active'])
        .where('api_key_hash', '=', secretDigest(apiKey))
        .executeTakeFirst();
      if (gateway?.active) {
        request.gateway = { kind: 'gateway', gatewayId: gateway.id, utilityId: gateway.utility_id };
        if (access === 'public' || access?.includes('gateway')) return;
        throw new AppError(
          'forbidden',
          `a gateway may not call ${request.method} ${request.routeOptions.url}`,
        );
      }
      if (access !== 'public') throw new AppError('unauthenticated', 'the API key is unknown or disabled');
    } else if (typeof apiKey === 'string' && apiKey.length > 0) {
      const kiosk = await opts.db
        .selectFrom('kiosks')
        .innerJoin('vendors', 'vendors.id', 'kiosks.vendor_id')
        .select([
          'kiosks.id',
          'kiosks.vendor_id',
          'kiosks.utility_id',
          'kiosks.active',
          'vendors.active as vendorActive',
        ])
        .where('kiosks.api_key_hash', '=', secretDigest(apiKey))
        .executeTakeFirst();
      if (kiosk?.active && kiosk.vendorActive) {
        request.principal = {
          kind: 'kiosk',
          kioskId: kiosk.id,
          vendorId: kiosk.vendor_id,
          utilityId: kiosk.utility_id,
          role: 'vendor',
        };
      } else if (access !== 'public') {
        throw new AppError('unauthenticated', 'the API key is unknown or disabled');
      }
    }
    if (access === 'public') return;
    if (access === undefined) throw new AppError('forbidden', 'this route declares no access rule');
    if (!request.principal) throw new AppError('unauthenticated');
    const role = request.principal.role;
    if (role !== 'admin' && !(access as readonly string[]).includes(role)) {
      throw new AppError(
        'forbidden',
        `role ${role} may not call ${request.method} ${request.routeOptions.url}`,
      );
    }
  });
};

export const auth = fp(authPlugin, { name: 'rasid-auth' });
