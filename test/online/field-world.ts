/**
 * The started Rasid of the field-link suites: `onlineWorld` on PGlite, or on a fresh PostgreSQL database
 * when the suite runs in vitest.services.config.ts (RASID_TEST_DIALECT=postgres), with the balance engine's
 * timer out of the way (the suites run it themselves); and a gateway signed in with its own key, serving the
 * seeded meter as Rasid's API assigned it.
 */

import { driverFactory, fetchMeterList, Gateway, loadConfig } from '../../gateway/index.ts';
import { minorUnits } from '../../src/money.ts';
import type { MeterId } from '../../src/store/schema.ts';
import { PG_ADMIN_URL, postgresHarness } from '../ingest/harness.ts';
import { SUITE_DIALECT } from '../support/db.ts';
import { type Json, type OnlineWorld, onlineWorld } from './world.ts';

export interface FieldWorld {
  readonly w: OnlineWorld;
  readonly meterId: MeterId;
  status(): Promise<Json>;
  command(id: string): Promise<Json>;
  /** The audit actions of a command, oldest first. */
  audit(id: string): Promise<string[]>;
  /** Queues a relay command through the operator API; its id. */
  queue(kind: 'disconnect' | 'reconnect'): Promise<string>;
  close(): Promise<void>;
}

export async function fieldWorld(name: string): Promise<FieldWorld> {
  const env: Record<string, string> = { BALANCE_INTERVAL_SECONDS: '86400' };
  const pg = SUITE_DIALECT === 'postgres' ? await postgresHarness() : undefined;
  if (pg !== undefined) {
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${pg.database}`;
    env.DATABASE_URL = url.toString();
  }
  const w = await onlineWorld(name, env);
  const meterId = w.seed.meterId as MeterId;
  // Credit for a long while: the suites turn the meter to central mode, and an account without credit would
  // have the balance engine queue its own disconnect beside the commands under test, outside the friendly
  // hours of the utility's clock only (so a suite would pass or fail by the time of day).
  await w.server.core.store.db
    .insertInto('account_ledger')
    .values({
      utility_id: w.seed.utilityId,
      account_id: w.seed.accountId,
      kind: 'adjustment',
      amount_minor: minorUnits(1_000_000_000),
      ref: 'field-link suites: credit',
    })
    .execute();
  return {
    w,
    meterId,
    status: async () => (await w.call('GET', `/api/v1/meters/${meterId}/status`)).json,
    command: async (id) => (await w.call('GET', `/api/v1/commands/${id}`)).json,
    audit: async (id) =>
      (
        await w.server.core.store.db
          .selectFrom('audit_log')
          .select('action')
          .where('subject', '=', `command:${id}`)
          .orderBy('id')
          .execute()
      ).map((r) => r.action),
    async queue(kind) {
      const queued = await w.call('POST', `/api/v1/meters/${meterId}/commands`, {
        kind,
        payload: { reason: 'operator' },
      });
      if (queued.status !== 201) throw new Error(`queueing ${kind}: ${queued.status}`);
      return queued.json.id as string;
    },
    async close() {
      await w.close();
      await pg?.close();
    },
  };
}

/**
 * Registers a gateway through the API, assigns it the seeded meter with `assignment`, and starts it with
 * the meter list Rasid gives it and the test's `polling` timing.
 */
export async function startFieldGateway(
  f: FieldWorld,
  assignment: Record<string, unknown>,
  polling: Record<string, number>,
): Promise<Gateway> {
  const { w } = f;
  const created = await w.call('POST', '/api/v1/gateways', { gatewayId: 'gw-field', name: 'Feeder 9' });
  if (created.status !== 201) throw new Error(`gateway: ${created.status}`);
  const assigned = await w.call('PUT', `/api/v1/gateways/${created.json.id}/meters/${f.meterId}`, assignment);
  if (assigned.status !== 200)
    throw new Error(`assignment: ${assigned.status} ${JSON.stringify(assigned.json)}`);
  const apiKey: string = created.json.apiKey;
  const list = await fetchMeterList({ rasidUrl: w.server.url, apiKey });
  const config = loadConfig({
    gatewayId: list.gatewayId,
    utility: list.utility,
    broker: {
      url: w.server.metersOnline.brokerUrl!,
      username: list.gatewayId,
      password: apiKey,
      reconnectMs: 200,
    },
    polling,
    meters: list.meters,
  });
  const gateway = new Gateway({ config, createDriver: driverFactory() });
  await gateway.start();
  return gateway;
}
