/**
 * An empty install brought up only through Rasid's own interfaces: `bin/rasid init` (the real binary) in a
 * new data folder for each utility, then Rasid started on that folder (PGlite; the broker embedded on a
 * free port), and staff signed in over HTTP. For suites that must not lean on a seed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { encodeReading, meterTopic } from '../../protocols/mqtt/index.ts';
import type { RunningServer } from '../../src/server.ts';
import { type Json, waitFor } from '../online/world.ts';
import { request } from './api.ts';
import { runCli } from './cli.ts';
import { startOnDataDir } from './server.ts';

export interface InitUtility {
  readonly code: string;
  readonly currency?: string;
  readonly timezone?: string;
  readonly admin?: string;
  readonly password?: string;
  readonly extra?: readonly string[];
}

export const ADMIN_PASSWORD = 'first-admin-password';

/** Runs `rasid init` for one utility on `dataDir`; throws with its stderr when it fails. */
export async function initUtility(dataDir: string, u: InitUtility): Promise<string> {
  const res = await runCli(
    [
      'init',
      '--utility',
      u.code,
      '--name',
      `${u.code} utility`,
      '--currency',
      u.currency ?? 'OMR',
      '--timezone',
      u.timezone ?? 'Asia/Muscat',
      '--admin',
      u.admin ?? 'admin',
      ...(u.extra ?? []),
    ],
    { env: { DATA_DIR: dataDir, RASID_ADMIN_PASSWORD: u.password ?? ADMIN_PASSWORD }, timeoutMs: 90_000 },
  );
  if (res.code !== 0) throw new Error(`rasid init ${u.code}: ${res.code} ${res.stderr}`);
  return res.stdout;
}

/** One flat residential tariff (20 minor units per kWh), the body of `POST /api/v1/tariffs`. */
export const RESIDENTIAL_TARIFF = {
  code: 'RES',
  name: 'Residential',
  kind: 'electricity',
  effectiveFrom: '2020-01-01',
  blocks: [{ upToUnits: null, priceMinorPerUnit: 20 }],
} as const;

/** The vending key the token-meter suites load, the body of `POST /api/v1/vending-keys`. */
export const VENDING_KEY = { sgc: 123456, krn: 1, key: 'abababababababab' } as const;

/** The STS parameters of a token meter under VENDING_KEY, for `POST /api/v1/meters`. */
export function stsUnderVendingKey(drn: string) {
  return { iin: '600727', drn, sgc: 123456, ti: 1, krn: 1, kt: 2, ea: 7, baseDate: '2014-01-01' };
}

/** A central meter sends readings as it would: over MQTT with its own credentials, at QoS 1. */
export async function publishReadings(
  utility: string,
  serial: string,
  creds: Json,
  readings: readonly { seq: number; ts: string; energyWh: number }[],
): Promise<void> {
  const client = await mqtt.connectAsync(creds.brokerUrl, {
    clientId: creds.clientId,
    username: creds.username,
    password: creds.password,
    reconnectPeriod: 0,
  });
  try {
    for (const r of readings) {
      await client.publishAsync(meterTopic(utility, serial, 'up/reading'), encodeReading({ v: 1, ...r }), {
        qos: 1,
      });
    }
  } finally {
    await client.endAsync();
  }
}

export interface Answer {
  readonly status: number;
  readonly json: Json;
}

export interface FreshInstall {
  readonly dataDir: string;
  readonly server: RunningServer;
  readonly url: string;
  readonly logs: string[];
  /** One HTTP call; `token` is a bearer token or null. */
  call(token: string | null, method: string, path: string, body?: unknown): Promise<Answer>;
  /** Signs in staff over HTTP and returns the bearer token. */
  signIn(utility: string, username: string, password?: string): Promise<string>;
  /** Waits until the install has stored `count` readings of the meter. */
  readingsStored(meterId: string, count: number): Promise<void>;
  close(): Promise<void>;
}

export async function freshInstall(
  name: string,
  utilities: readonly InitUtility[],
  env: Record<string, string> = {},
): Promise<FreshInstall> {
  const dataDir = await mkdtemp(join(tmpdir(), `rasid-${name}-`));
  for (const u of utilities) await initUtility(dataDir, u);
  const { server, logs } = await startOnDataDir(name, dataDir, {
    LOG_LEVEL: 'info',
    BALANCE_INTERVAL_SECONDS: '3600',
    ...env,
  });
  const call: FreshInstall['call'] = async (token, method, path, body) => {
    const { status, json } = await request(server.url, method, path, { token, body });
    return { status, json };
  };
  return {
    dataDir,
    server,
    url: server.url,
    logs,
    call,
    async signIn(utility, username, password = ADMIN_PASSWORD) {
      const r = await call(null, 'POST', '/api/v1/sessions', { utility, username, password });
      if (r.status !== 201)
        throw new Error(`sign-in ${utility}/${username}: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json.token as string;
    },
    async readingsStored(meterId, count) {
      const db = server.core.store.db;
      await waitFor(
        async () =>
          (
            await db
              .selectFrom('readings')
              .select('ts')
              .where('meter_id', '=', meterId as never)
              .execute()
          ).length === count,
      );
    },
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
