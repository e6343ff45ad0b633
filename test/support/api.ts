/**
 * HTTP for the API suites against a started Rasid (test/support/server.ts): the people of a seeded utility
 * created as users and signed in, a caller that sends JSON as one of them and reads the answer, and the
 * second customer and water meter several suites add to the seed.
 */
import type { Kysely } from 'kysely';
import { expect } from 'vitest';
import { hashSecret } from '../../src/security/secrets.ts';
import type { RunningServer } from '../../src/server.ts';
import type {
  AccountId,
  CustomerId,
  Database,
  Language,
  MeterId,
  MeterStatus,
  PremiseId,
  Role,
  UserId,
  UtilityId,
} from '../../src/store/schema.ts';
import type { Json } from '../online/world.ts';
import type { Seed } from './db.ts';

export type { Json };

/** The password of every user these helpers create. */
export const PASSWORD = 'correct horse';

export interface Answer {
  readonly status: number;
  /** The content-type header, '' when there is none. */
  readonly type: string;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed when it is JSON (problem+json too), else null. */
  readonly json: Json;
}

export interface RequestOptions {
  /** Sent as a bearer token; none when null or absent. */
  readonly token?: string | null;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Sent as it is (a CSV file), with the content type given in `headers`. */
  readonly rawBody?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** One request to the server at `baseUrl`, its whole answer read. */
export async function request(
  baseUrl: string,
  method: string,
  path: string,
  opts: RequestOptions = {},
): Promise<Answer> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...opts.headers,
    },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    ...(opts.rawBody !== undefined ? { body: opts.rawBody } : {}),
  });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return {
    status: res.status,
    type,
    headers: res.headers,
    text,
    json: type.includes('json') && text ? JSON.parse(text) : null,
  };
}

/** A user to create and sign in. */
export interface Person {
  readonly role: Role;
  /** Default: the person's key. */
  readonly username?: string;
  readonly displayName?: string;
  /** The customer record a customer's sign-in is linked to. */
  readonly customerId?: CustomerId | null;
}

export interface SignedIn {
  readonly id: UserId;
  readonly token: string;
}

/**
 * Creates each person as a user of the utility (password {@link PASSWORD}), in the order given, and signs
 * them in: each key's user id and session token.
 */
export async function signIn<K extends string>(
  server: RunningServer,
  utilityId: UtilityId,
  people: Readonly<Record<K, Person>>,
): Promise<Record<K, SignedIn>> {
  const db = server.core.store.db;
  const utility = await db
    .selectFrom('utilities')
    .select('code')
    .where('id', '=', utilityId)
    .executeTakeFirstOrThrow();
  const passwordHash = await hashSecret(PASSWORD);
  const out = {} as Record<K, SignedIn>;
  for (const [key, person] of Object.entries(people) as [K, Person][]) {
    const username = person.username ?? key;
    const user = await db
      .insertInto('users')
      .values({
        utility_id: utilityId,
        username,
        password_hash: passwordHash,
        role: person.role,
        customer_id: person.customerId ?? null,
        ...(person.displayName !== undefined ? { display_name: person.displayName } : {}),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const login = await request(server.url, 'POST', '/api/v1/sessions', {
      body: { utility: utility.code, username, password: PASSWORD },
    });
    expect(login.status).toBe(201);
    out[key] = { id: user.id, token: login.json.token };
  }
  return out;
}

export interface CallOptions<K extends string> {
  /** Who signs the request: one of the signed-in people, or nobody (null). */
  readonly as?: K | null;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export type Call<K extends string> = (method: string, path: string, opts?: CallOptions<K>) => Promise<Answer>;

/** Requests to `server` signed as one of `people`: `as`, else `defaultAs`. */
export function caller<K extends string>(
  server: RunningServer,
  people: Readonly<Record<K, SignedIn>>,
  defaultAs: NoInfer<K>,
): Call<K> {
  return (method, path, opts = {}) => {
    const as = opts.as === undefined ? defaultAs : opts.as;
    return request(server.url, method, path, {
      token: as === null ? null : people[as].token,
      body: opts.body,
      ...(opts.headers ? { headers: opts.headers } : {}),
    });
  };
}

/**
 * A second customer of a seeded utility, Sami Nasser, holding account jo-0002 at the seed's premise (or
 * `premiseId`): whose meters and cases the seed's customer must not see.
 */
export async function secondCustomer(
  db: Kysely<Database>,
  seed: Seed,
  opts: { email?: string; preferredLanguage?: Language; premiseId?: PremiseId } = {},
): Promise<{ customerId: CustomerId; accountId: AccountId }> {
  const customer = await db
    .insertInto('customers')
    .values({
      utility_id: seed.utilityId,
      name: 'Sami Nasser',
      ...(opts.preferredLanguage !== undefined ? { preferred_language: opts.preferredLanguage } : {}),
      ...(opts.email !== undefined ? { email: opts.email } : {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const account = await db
    .insertInto('accounts')
    .values({
      utility_id: seed.utilityId,
      number: 'jo-0002',
      customer_id: customer.id,
      premise_id: opts.premiseId ?? seed.premiseId,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { customerId: customer.id, accountId: account.id };
}

/** A central-mode Modbus water meter, jo-W-0002, on `accountId` (status: the table's default unless given). */
export async function waterMeter(
  db: Kysely<Database>,
  seed: Seed,
  accountId: AccountId,
  status?: MeterStatus,
): Promise<MeterId> {
  const meter = await db
    .insertInto('meters')
    .values({
      utility_id: seed.utilityId,
      serial: 'jo-W-0002',
      kind: 'water',
      protocol: 'modbus',
      mode: 'central',
      account_id: accountId,
      ...(status !== undefined ? { status } : {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return meter.id;
}
