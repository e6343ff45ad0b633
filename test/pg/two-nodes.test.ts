/**
 * Two Rasid worker nodes and one API node, each its own `bin/rasid start` process, on the machine's Mosquitto
 * (MQTT 5 shared subscriptions, a share group of this test's own) and a PostgreSQL database of its own, with
 * simulated meters (mqtt.js clients) publishing readings and answering commands:
 * - the readings spread across both worker nodes;
 * - one worker is killed with SIGKILL mid-stream: every reading Mosquitto acknowledged to a meter is stored
 *   exactly once (rows = acknowledged), commands keep being delivered and acknowledged through the other node,
 *   and the balance engines of both nodes never charge a reading twice;
 * - the killed node returns with the same client id, takes the readings the broker kept for its sessions, and
 *   takes its share of new ones.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAck, encodeReading, encodeStatus, meterTopic } from '../../protocols/mqtt/index.ts';
import { CommandDispatcher } from '../../src/commands/dispatcher.ts';
import { createDatabase, type Store } from '../../src/store/db.ts';
import { minorUnits } from '../../src/store/schema.ts';
import { TEST_DATABASE_URL } from '../support/db.ts';
import { type RasidProcess, type SeededWorld, seedWorld, startRasid } from '../support/process.ts';

const MQTT_URL = process.env.RASID_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const METERS = 12;
const UTILITY = 'jo';

describe('two worker nodes and an API node on Mosquitto and PostgreSQL', () => {
  const tag = `n2${randomBytes(3).toString('hex')}`;
  const group = `rasid-${tag}`;
  let dir: string;
  let world: SeededWorld;
  let store: Store;
  let db: pg.Pool;
  let serials: string[] = [];
  const meterIds = new Map<string, string>();
  const nodes: RasidProcess[] = [];
  const meters: MqttClient[] = [];
  /** Readings Mosquitto acknowledged to the meters: serial:seq. */
  const acked = new Set<string>();
  const base = Date.now() - 24 * 3600_000;

  const workerEnv = (name: string) => ({
    ...world.env,
    ROLES: 'workers',
    MQTT_URL,
    MQTT_SHARE_GROUP: group,
    MQTT_CLIENT_ID: `${group}-${name}`,
    MQTT_SESSION_EXPIRY_SECONDS: '600',
    MQTT_INGEST_CLIENTS: '2',
    BALANCE_INTERVAL_SECONDS: '1',
    DISPATCH_INTERVAL_SECONDS: '1',
    DB_POOL_SIZE: '6',
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rasid-two-nodes-'));
    world = await seedWorld({ postgresUrl: TEST_DATABASE_URL, dataDir: dir, meters: METERS });
    db = new pg.Pool({ connectionString: world.env.DATABASE_URL, max: 3 });
    // The database is dropped with (force) at the end: a connection still closing then gets a FATAL.
    db.on('error', () => {});
    // Serials of this test's own, so no other test's messages on the machine's broker land on these meters;
    // central metering with credit on the account, so the balance engines charge every reading.
    const { rows } = await db.query<{ id: string; serial: string }>(
      `update meters set serial = $1 || '-' || serial, mode = 'central' returning id, serial`,
      [tag],
    );
    for (const r of rows) meterIds.set(r.serial, r.id);
    serials = rows.map((r) => r.serial).sort();
    await db.query(
      `insert into account_ledger (utility_id, account_id, kind, amount_minor, ref)
       select utility_id, id, 'payment', $1, 'two-node credit' from accounts`,
      [String(minorUnits(50_000_000n))],
    );
    store = await createDatabase({ databaseUrl: world.env.DATABASE_URL, dataDir: ':memory:', poolSize: 2 });

    nodes.push(await startRasid(workerEnv('w1')));
    nodes.push(await startRasid(workerEnv('w2')));
    nodes.push(await startRasid({ ...world.env, ROLES: 'api' }));

    for (const serial of serials) {
      const client = await mqtt.connectAsync(MQTT_URL, { clientId: `${tag}-${serial}`, reconnectPeriod: 0 });
      const cmdTopic = meterTopic(UTILITY, serial, 'down/cmd');
      // The meter acts on each command and acknowledges it with the same id.
      client.on('message', (topic, payload) => {
        if (topic !== cmdTopic) return;
        const command = JSON.parse(String(payload)) as { id: string };
        client.publish(
          meterTopic(UTILITY, serial, 'up/ack'),
          encodeAck({ v: 1, id: command.id, ts: new Date().toISOString(), status: 'ok' }),
          { qos: 1 },
        );
      });
      await client.subscribeAsync(cmdTopic, { qos: 1 });
      await client.publishAsync(
        meterTopic(UTILITY, serial, 'up/status'),
        encodeStatus({ v: 1, state: 'online', ts: new Date().toISOString() }),
        { qos: 1 },
      );
      meters.push(client);
    }
  }, 240_000);

  afterAll(async () => {
    for (const client of meters) await client.endAsync().catch(() => {});
    for (const node of nodes) await node.stop('SIGKILL');
    await store?.close();
    await db?.end();
    await world?.drop();
    await rm(dir, { recursive: true, force: true });
    // The workers' persistent sessions: end them on the broker rather than leave them queueing.
    for (const name of ['w1', 'w2']) {
      for (let i = 0; i < 2; i++) {
        const c = await mqtt
          .connectAsync(MQTT_URL, {
            clientId: `${group}-${name}-ingest-${i}`,
            protocolVersion: 5,
            clean: true,
            properties: { sessionExpiryInterval: 0 },
            reconnectPeriod: 0,
          })
          .catch(() => null);
        await c?.endAsync();
      }
    }
  }, 120_000);

  /** Publishes readings seq [from, to) of every meter, each meter in order; resolves when all are acked. */
  function publish(from: number, to: number, onAck?: () => void): Promise<void> {
    return Promise.all(
      serials.map(async (serial, m) => {
        for (let seq = from; seq < to; seq++) {
          await meters[m]!.publishAsync(
            meterTopic(UTILITY, serial, 'up/reading'),
            encodeReading({
              v: 1,
              seq,
              ts: new Date(base + seq * 60_000).toISOString(),
              energyWh: 1000 + seq * 10,
            }),
            { qos: 1 },
          );
          acked.add(`${serial}:${seq}`);
          onAck?.();
        }
      }),
    ).then(() => undefined);
  }

  async function stored(): Promise<number> {
    const { rows } = await db.query<{ n: number }>(
      'select count(*)::int as n from readings where meter_id = any($1::uuid[])',
      [[...meterIds.values()]],
    );
    return rows[0]!.n;
  }

  async function readingsTaken(node: RasidProcess): Promise<number> {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('rasid_ingest_readings_total '));
    return line ? Number(line.split(' ')[1]) : 0;
  }

  const dispatcher = () =>
    new CommandDispatcher({
      db: store.db,
      // This process only queues, as an operator's request does; the worker nodes send.
      transport: { publish: () => Promise.reject(new Error('the worker nodes send commands')) },
    });

  async function commandRound(): Promise<string[]> {
    const { rows } = await db.query<{ utility_id: string }>('select id as utility_id from utilities limit 1');
    const queue = dispatcher();
    const ids: string[] = [];
    for (const serial of serials.slice(0, 4)) {
      ids.push(
        await queue.enqueue({
          utilityId: rows[0]!.utility_id as never,
          meterId: meterIds.get(serial)! as never,
          kind: 'read_now',
          payload: {},
          createdBy: 'user:test',
        }),
      );
    }
    await expect
      .poll(
        async () =>
          (
            await db.query<{ state: string }>('select state from commands where id = any($1::uuid[])', [ids])
          ).rows.map((r) => r.state),
        { timeout: 60_000, interval: 250 },
      )
      .toEqual(ids.map(() => 'acknowledged'));
    return ids;
  }

  it('spreads, survives a SIGKILL without loss or doubles, keeps commands flowing and charges once', async () => {
    const [w1, w2, api] = nodes as [RasidProcess, RasidProcess, RasidProcess];
    // The API node answers on its own (it runs no ingest).
    expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
    expect(await readingsTaken(api)).toBe(0);

    // Phase 1: both workers up. The meters' readings spread across them.
    await publish(0, 30);
    await expect.poll(stored, { timeout: 60_000, interval: 200 }).toBe(acked.size);
    expect(await readingsTaken(w1)).toBeGreaterThan(0);
    expect(await readingsTaken(w2)).toBeGreaterThan(0);
    await commandRound();

    // Phase 2: w1 is killed while the meters publish.
    let sincePhase = 0;
    let killed: Promise<void> | undefined;
    const streaming = publish(30, 70, () => {
      sincePhase++;
      if (sincePhase === 100) killed = w1.stop('SIGKILL');
    });
    await streaming;
    await killed;
    expect(w1.child.signalCode).toBe('SIGKILL');
    const w2Before = await readingsTaken(w2);
    // Commands keep flowing through the node still up.
    await commandRound();
    // w2 goes on storing what comes to it.
    await publish(70, 80);
    await expect.poll(() => readingsTaken(w2), { timeout: 60_000 }).toBeGreaterThan(w2Before);

    // Phase 3: w1 returns with the same client id and takes what the broker kept for its sessions.
    const w1Again = await startRasid(workerEnv('w1'));
    nodes.push(w1Again);
    await expect.poll(stored, { timeout: 90_000, interval: 250 }).toBe(acked.size);
    // Then it takes its share of new readings.
    const w1Start = await readingsTaken(w1Again);
    await publish(80, 100);
    await expect.poll(stored, { timeout: 60_000, interval: 200 }).toBe(acked.size);
    expect(await readingsTaken(w1Again)).toBeGreaterThan(w1Start);

    // Nothing lost, nothing doubled: every meter has exactly its 100 readings, each with its own value.
    const { rows: perMeter } = await db.query<{ serial: string; n: number; values: string }>(
      `select m.serial, count(*)::int as n, string_agg(r.energy_wh::text, ',' order by r.ts) as values
         from readings r join meters m on m.id = r.meter_id
        where m.id = any($1::uuid[]) group by m.serial order by m.serial`,
      [[...meterIds.values()]],
    );
    const expected = Array.from({ length: 100 }, (_, seq) => String(1000 + seq * 10)).join(',');
    expect(perMeter).toEqual(serials.map((serial) => ({ serial, n: 100, values: expected })));
    expect(acked.size).toBe(METERS * 100);

    // The balance engines (both nodes, then the returned one) charged every meter up to its last reading, once:
    // the units charged add up to the register's advance, and each charge is one ledger row.
    const lastTs = new Date(base + 99 * 60_000).toISOString();
    await expect
      .poll(
        async () =>
          (
            await db.query<{ n: number }>(
              `select count(distinct subject)::int as n from audit_log
                where action = 'balance.consumption' and details->>'ts' = $1`,
              [lastTs],
            )
          ).rows[0]!.n,
        { timeout: 90_000, interval: 500 },
      )
      .toBe(METERS);
    // Each charge starts where the previous one of its meter ended (no reading charged twice) and the units
    // add up to the register's advance since the first charge's baseline (at most the 990 Wh published).
    const { rows: charges } = await db.query<{
      subject: string;
      units: string;
      advance: string;
      last: string;
      rows: number;
      chained: boolean;
    }>(
      `with a as (
         select subject, id, (details->>'units')::bigint as units, (details->>'register')::bigint as register,
                details->>'from' as "from", lag(details->>'ts') over (partition by subject order by id) as prev,
                first_value((details->>'register')::bigint - (details->>'units')::bigint)
                  over (partition by subject order by id) as baseline,
                last_value((details->>'register')::bigint)
                  over (partition by subject order by id rows between unbounded preceding and unbounded following) as last
           from audit_log where action = 'balance.consumption')
       select subject, sum(units)::text as units, (max(last) - min(baseline))::text as advance,
              max(last)::text as last, count(*)::int as rows,
              bool_and(("from" is null and prev is null) or "from" = prev) as chained
         from a group by subject order by subject`,
    );
    expect(charges).toHaveLength(METERS);
    for (const c of charges) {
      expect(c.chained).toBe(true);
      expect(c.last).toBe(String(1000 + 99 * 10));
      expect(c.units).toBe(c.advance);
      expect(Number(c.units)).toBeLessThanOrEqual(99 * 10);
      expect(Number(c.units)).toBeGreaterThan(0);
    }
    const { rows: ledger } = await db.query<{ refs: number; distinct_refs: number; charged: string }>(
      `select count(*)::int as refs, count(distinct ref)::int as distinct_refs, (-sum(amount_minor))::text as charged
         from account_ledger where kind = 'consumption'`,
    );
    const { rows: audited } = await db.query<{ charged: string }>(
      `select sum((details->>'amountMinor')::bigint)::text as charged
         from audit_log where action = 'balance.consumption'`,
    );
    expect(ledger[0]!.refs).toBe(ledger[0]!.distinct_refs);
    expect(BigInt(ledger[0]!.charged)).toBeGreaterThan(0n);
    expect(ledger[0]!.charged).toBe(audited[0]!.charged);
  }, 300_000);
});
