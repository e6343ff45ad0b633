/**
 * Killing Rasid with SIGKILL in the middle of a burst of vends loses no paid vend and doubles no token
 * (issue 3). A real server process on the machine's PostgreSQL takes 240 kiosk sales from 24 concurrent
 * tills; it is killed after the first acknowledgements; a new process starts and the tills retry every sale
 * with its Idempotency-Key, as a kiosk does after a network error.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from '../support/db.ts';
import { type SeededWorld, seedWorld, startRasid } from '../support/process.ts';

const SALES = 240;
const TILLS = 24;

describe('SIGKILL during a burst of vends', () => {
  let world: SeededWorld;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rasid-kill-'));
    world = await seedWorld({ postgresUrl: TEST_DATABASE_URL, dataDir: dir, meters: 20 });
  }, 120_000);

  afterAll(async () => {
    await world?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged vend and issues exactly one token per sale after the retries', async () => {
    const sale = (i: number) => ({
      key: `kill-test-${String(i).padStart(4, '0')}`,
      body: JSON.stringify({ meter: world.meters[i % world.meters.length], amountMinor: 1000 + (i % 7) }),
    });
    const send = (base: string, i: number) =>
      fetch(`${base}/api/v1/vends`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-api-key': world.kioskKey,
          'idempotency-key': sale(i).key,
        },
        body: sale(i).body,
      }).then(
        async (res) => ({
          i,
          status: res.status,
          body: (await res.json()) as { token?: string; vendId?: string },
        }),
        () => ({ i, status: 0, body: {} as { token?: string; vendId?: string } }),
      );

    const first = await startRasid(world.env);
    const acked = new Map<number, { token?: string; vendId?: string }>();
    let next = 0;
    let killed = false;
    const till = async () => {
      while (next < SALES && !killed) {
        const r = await send(first.url, next++);
        if (r.status === 201 || r.status === 200) acked.set(r.i, r.body);
        if (acked.size >= 40 && !killed) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: TILLS }, till));
    await first.stop('SIGKILL');
    expect(killed).toBe(true);
    expect(acked.size).toBeGreaterThanOrEqual(40);
    expect(acked.size).toBeLessThan(SALES);

    const second = await startRasid(world.env);
    try {
      const retried: { i: number; status: number; body: { token?: string; vendId?: string } }[] = [];
      for (let start = 0; start < SALES; start += TILLS) {
        const batch = Array.from({ length: Math.min(TILLS, SALES - start) }, (_, k) =>
          send(second.url, start + k),
        );
        retried.push(...(await Promise.all(batch)));
      }
      expect(retried.filter((r) => r.status !== 200 && r.status !== 201)).toEqual([]);
      // Every sale acknowledged before the kill comes back with the same vend and token.
      for (const [i, body] of acked) {
        const again = retried.find((r) => r.i === i)!;
        expect(again.status).toBe(200);
        expect(again.body.vendId).toBe(body.vendId);
        expect(again.body.token).toBe(body.token);
      }
    } finally {
      await second.stop();
    }

    const client = new pg.Client({ connectionString: world.env.DATABASE_URL });
    await client.connect();
    try {
      const vends = await client.query<{ n: string; keys: string }>(
        'select count(*) as n, count(distinct idempotency_key) as keys from vends',
      );
      expect(vends.rows[0]).toEqual({ n: String(SALES), keys: String(SALES) });
      const tokens = await client.query<{ n: string; distinct_tokens: string; pairs: string }>(
        `select count(*) as n, count(distinct token) as distinct_tokens,
                count(distinct (meter_id, tid)) as pairs from tokens where kind = 'credit'`,
      );
      expect(tokens.rows[0]).toEqual({
        n: String(SALES),
        distinct_tokens: String(SALES),
        pairs: String(SALES),
      });
      const payments = await client.query<{ n: string }>(
        "select count(*) as n from account_ledger where kind = 'payment'",
      );
      expect(payments.rows[0]?.n).toBe(String(SALES));
      const sold = await client.query<{ n: string }>(
        "select count(*) as n from vendor_ledger where kind = 'vend'",
      );
      expect(sold.rows[0]?.n).toBe(String(SALES));
    } finally {
      await client.end();
    }
  }, 300_000);
});
