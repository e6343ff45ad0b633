/**
 * The operator's fleet API through real HTTP against a started Rasid (embedded PGlite): the overview by
 * area, the meter list with filters, search and paging, a meter's page, and the live alerts stream (SSE)
 * opened with a bearer token, a session cookie or a single-use ticket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server.ts';
import { type MeterId, minorUnits } from '../../src/store/schema.ts';
import { type Call, caller, type Json, type SignedIn, secondCustomer, signIn } from '../support/api.ts';
import type { Seed } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { seedVending } from '../support/vending-fixture.ts';

/** An open SSE stream: its events as they arrive. */
interface Stream {
  readonly events: { event: string; id: string | null; data: Json }[];
  /** Resolves when `n` events of this name have arrived. */
  waitFor(event: string, n: number): Promise<void>;
  close(): void;
}

async function openStream(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; stream: Stream | null; body?: Json }> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  if (res.status !== 200 || !res.body) return { status: res.status, stream: null, body: await res.json() };
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const events: Stream['events'] = [];
  const waiters: { event: string; n: number; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (events.filter((e) => e.event === w.event).length >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(
            block
              .split('\n')
              .filter((l) => !l.startsWith(':') && l.includes(':'))
              .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
          );
          if (fields.event)
            events.push({
              event: fields.event,
              id: fields.id ?? null,
              data: JSON.parse(fields.data ?? 'null'),
            });
          end = buffer.indexOf('\n\n');
        }
        check();
      }
    } catch {
      // aborted
    }
  })();
  return {
    status: 200,
    stream: {
      events,
      waitFor: (event, n) =>
        new Promise<void>((resolve) => {
          waiters.push({ event, n, resolve });
          check();
        }),
      close: () => abort.abort(),
    },
  };
}

describe('operator fleet API over HTTP', () => {
  let server: RunningServer;
  let test: TestServer;
  let seed: Seed;
  let people: Record<'operator' | 'service' | 'customer', SignedIn>;
  let call: Call<'operator' | 'service' | 'customer'>;
  const meters = {} as Record<'m1' | 'm2' | 'm3' | 'm4', MeterId>;

  beforeAll(async () => {
    test = await startTestServer('operator-api');
    server = test.server;
    const db = server.core.store.db;
    seed = await seedVending(db, server.core.keys, 'jo');
    meters.m1 = seed.meterId;
    await db.updateTable('meters').set({ online: true }).where('id', '=', seed.meterId).execute();
    const zarqa = await db
      .insertInto('premises')
      .values({ utility_id: seed.utilityId, address: '4 Factory Rd', area: 'Zarqa' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const sami = await secondCustomer(db, seed, { premiseId: zarqa.id });
    const meter = (serial: string, extra: Record<string, unknown>) =>
      db
        .insertInto('meters')
        .values({
          utility_id: seed.utilityId,
          serial,
          kind: 'electricity',
          protocol: 'mqtt',
          mode: 'central',
          status: 'active',
          account_id: null,
          ...extra,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
    meters.m2 = (await meter('jo-M-0002', { account_id: sami.accountId, online: false })).id;
    meters.m3 = (await meter('jo-M-0003', { account_id: sami.accountId, online: true })).id;
    meters.m4 = (await meter('jo-M-0004', {})).id;
    await meter('jo-M-0005', { status: 'decommissioned' });

    await db
      .insertInto('readings')
      .values([
        {
          meter_id: meters.m1,
          ts: new Date('2026-01-10T10:00:00Z'),
          energy_wh: 5000n,
          relay: true,
          credit_minor: minorUnits(4500n),
        },
        { meter_id: meters.m2, ts: new Date('2026-01-10T10:00:00Z'), energy_wh: 9000n, relay: false },
      ])
      .execute();
    // These tests read the balance engine's state as the routes show it, not the engine: the engine is
    // stopped, and its state of m2 says the low-credit alert fired.
    await server.metersOnline?.engine?.stop();
    await db
      .insertInto('balance_state')
      .values({ meter_id: meters.m2, utility_id: seed.utilityId, low_credit: true })
      .onConflict((oc) => oc.column('meter_id').doUpdateSet({ low_credit: true }))
      .execute();
    await db
      .insertInto('meter_events')
      .values({
        utility_id: seed.utilityId,
        meter_id: meters.m3,
        ts: new Date('2026-01-10T09:00:00Z'),
        kind: 'tamper',
        details: {},
      })
      .execute();
    await db
      .insertInto('account_ledger')
      .values({
        utility_id: seed.utilityId,
        account_id: sami.accountId,
        kind: 'payment',
        amount_minor: minorUnits(2500n),
        ref: 'cash',
      })
      .execute();
    await db
      .insertInto('commands')
      .values({
        utility_id: seed.utilityId,
        meter_id: meters.m2,
        kind: 'disconnect',
        payload: { reason: 'credit_exhausted' },
        expires_at: new Date('2026-01-11T00:00:00Z'),
        reason: 'balance.disconnect:credit_exhausted:1',
      })
      .execute();

    people = await signIn(server, seed.utilityId, {
      operator: { role: 'operator' },
      service: { role: 'service' },
      customer: { role: 'customer', customerId: seed.customerId },
    });
    call = caller(server, people, 'operator');
  }, 120_000);

  afterAll(async () => {
    await test?.close();
  });

  it('overview: online, offline, low credit, disconnected and tamper, overall and by area', async () => {
    const res = await call('GET', '/api/v1/fleet/overview');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      total: 4,
      online: 2,
      offline: 2,
      lowCredit: 1,
      disconnected: 1,
      tamper: 1,
      byArea: [
        { area: 'Jabal Amman', total: 1, online: 1, offline: 0, lowCredit: 0, disconnected: 0, tamper: 0 },
        { area: 'Zarqa', total: 2, online: 1, offline: 1, lowCredit: 1, disconnected: 1, tamper: 1 },
        { area: null, total: 1, online: 0, offline: 1, lowCredit: 0, disconnected: 0, tamper: 0 },
      ],
    });
    expect((await call('GET', '/api/v1/fleet/overview', { as: 'customer' })).status).toBe(403);
  });

  it.each([
    { query: '', serials: ['jo-M-0001', 'jo-M-0002', 'jo-M-0003', 'jo-M-0004'] },
    { query: 'q=nasser', serials: ['jo-M-0002', 'jo-M-0003'] },
    { query: 'q=jo-M-0003', serials: ['jo-M-0003'] },
    { query: 'q=jo-0001', serials: ['jo-M-0001'] },
    { query: 'area=Zarqa&online=false', serials: ['jo-M-0002'] },
    { query: 'lowCredit=true', serials: ['jo-M-0002'] },
    { query: 'disconnected=true', serials: ['jo-M-0002'] },
    { query: 'tamper=true', serials: ['jo-M-0003'] },
    { query: 'status=decommissioned', serials: ['jo-M-0005'] },
  ])('meter list: $query', async ({ query, serials }) => {
    const res = await call('GET', `/api/v1/fleet/meters?${query}`, { as: 'service' });
    expect(res.status).toBe(200);
    expect(res.json.meters.map((m: { serial: string }) => m.serial)).toEqual(serials);
    expect(res.json.total).toBe(serials.length);
  });

  it('meter list pages with a total', async () => {
    const page = await call('GET', '/api/v1/fleet/meters?limit=3&offset=3');
    expect(page.json.total).toBe(4);
    expect(page.json.meters.map((m: { serial: string }) => m.serial)).toEqual(['jo-M-0004']);
    const past = await call('GET', '/api/v1/fleet/meters?limit=3&offset=30');
    expect(past.json).toEqual({ total: 4, meters: [] });
    const first = (await call('GET', '/api/v1/fleet/meters?q=jo-M-0001')).json.meters[0];
    expect(first).toMatchObject({
      customer: { id: seed.customerId, name: 'Huda Haddad' },
      premise: { address: '12 Rainbow St', area: 'Jabal Amman' },
      lastReading: { ts: '2026-01-10T10:00:00.000Z', register: '5000', relay: true, creditMinor: '4500' },
    });
  });

  it("a meter's page: state, credit, events, commands, tokens, ledger", async () => {
    const res = await call('GET', `/api/v1/fleet/meters/${meters.m2}`);
    expect(res.status).toBe(200);
    expect(res.json.meter).toMatchObject({
      serial: 'jo-M-0002',
      lowCredit: true,
      disconnected: true,
      online: false,
    });
    expect(res.json.credit).toEqual({ minor: '2500', amount: '2.500', currency: 'JOD' });
    expect(res.json.commands).toEqual([
      expect.objectContaining({
        kind: 'disconnect',
        state: 'queued',
        reason: 'balance.disconnect:credit_exhausted:1',
      }),
    ]);
    expect(res.json.ledger).toEqual([
      expect.objectContaining({ kind: 'payment', amountMinor: '2500', amount: '2.500' }),
    ]);
    const m3 = await call('GET', `/api/v1/fleet/meters/${meters.m3}`);
    expect(m3.json.events).toEqual([
      expect.objectContaining({ kind: 'tamper', ts: '2026-01-10T09:00:00.000Z' }),
    ]);
    expect((await call('GET', '/api/v1/fleet/meters/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it("a meter's consumption for staff: the customer's shape, per day and month; 404 outside the utility", async () => {
    const db = server.core.store.db;
    await db
      .insertInto('readings')
      .values([
        { meter_id: meters.m4, ts: new Date('2026-01-04T20:00:00Z'), energy_wh: 800n },
        { meter_id: meters.m4, ts: new Date('2026-01-05T23:00:00Z'), energy_wh: 3000n },
        { meter_id: meters.m4, ts: new Date('2026-01-06T12:00:00Z'), energy_wh: 4500n },
      ])
      .execute();
    const day = await call(
      'GET',
      `/api/v1/fleet/meters/${meters.m4}/consumption?bucket=day&from=2026-01-05&to=2026-01-20`,
      { as: 'service' },
    );
    expect(day.status).toBe(200);
    expect(day.json).toEqual({
      meterId: meters.m4,
      unit: 'Wh',
      bucket: 'day',
      from: '2026-01-05T00:00:00.000Z',
      to: '2026-01-20T00:00:00.000Z',
      total: '3700',
      series: [
        { start: '2026-01-05T00:00:00.000Z', end: '2026-01-06T00:00:00.000Z', units: '2200', readings: 1 },
        { start: '2026-01-06T00:00:00.000Z', end: '2026-01-07T00:00:00.000Z', units: '1500', readings: 1 },
      ],
    });
    const month = await call(
      'GET',
      `/api/v1/fleet/meters/${meters.m4}/consumption?bucket=month&from=2026-01-10&to=2026-02-01`,
    );
    expect(month.json.series.map((p: Json) => [p.start, p.units])).toEqual([
      ['2026-01-01T00:00:00.000Z', '3700'],
    ]);
    const unknown = await call(
      'GET',
      '/api/v1/fleet/meters/00000000-0000-4000-8000-000000000000/consumption',
    );
    expect(unknown.status).toBe(404);
    const bad = await call('GET', `/api/v1/fleet/meters/${meters.m4}/consumption?bucket=year`);
    expect(bad.json.code).toBe('validation_failed');
    const mine = await call('GET', `/api/v1/fleet/meters/${meters.m4}/consumption`, { as: 'customer' });
    expect(mine.status).toBe(403);
  });

  it("a token meter that keeps its credit as energy: the meter's page gives the Wh left", async () => {
    const db = server.core.store.db;
    await db
      .insertInto('readings')
      .values({
        meter_id: meters.m1,
        ts: new Date('2026-01-10T11:00:00Z'),
        energy_wh: 5100n,
        credit_wh: 91_250n,
      })
      .execute();
    const res = await call('GET', `/api/v1/fleet/meters/${meters.m1}`);
    expect([res.json.credit, res.json.creditUnits]).toEqual([null, '91250']);
    expect(res.json.meter.lastReading).toMatchObject({ ts: '2026-01-10T11:00:00.000Z', register: '5100' });
    await db
      .deleteFrom('readings')
      .where('meter_id', '=', meters.m1)
      .where('ts', '=', new Date('2026-01-10T11:00:00Z'))
      .execute();
    const back = await call('GET', `/api/v1/fleet/meters/${meters.m1}`);
    expect([back.json.credit?.minor, back.json.creditUnits]).toEqual(['4500', null]);
  });

  it('the staff a case can be assigned to: no customers; not for customers', async () => {
    const res = await call('GET', '/api/v1/staff', { as: 'service' });
    expect(res.status).toBe(200);
    expect(res.json.users.map((u: Json) => u.role).sort()).toEqual(['operator', 'service']);
    expect(res.json.users.find((u: Json) => u.self)).toMatchObject({
      id: people.service.id,
      role: 'service',
    });
    expect((await call('GET', '/api/v1/staff', { as: 'customer' })).status).toBe(403);
  });

  it('alert stream: a single-use ticket opens it; tamper, offline and a balance disconnect arrive', async () => {
    const t = await call('POST', '/api/v1/alerts/stream-tickets');
    expect(t.status).toBe(201);
    const { ticket } = t.json;
    const opened = await openStream(`${server.url}/api/v1/alerts/stream?ticket=${ticket}`);
    expect(opened.status).toBe(200);
    const stream = opened.stream!;
    try {
      await stream.waitFor('ready', 1);
      const db = server.core.store.db;
      await db
        .insertInto('meter_events')
        .values({
          utility_id: seed.utilityId,
          meter_id: meters.m1,
          ts: new Date('2026-01-10T11:00:00Z'),
          kind: 'cover_open',
          details: {},
        })
        .execute();
      await db.updateTable('meters').set({ online: false }).where('id', '=', meters.m3).execute();
      await db
        .insertInto('audit_log')
        .values({
          utility_id: seed.utilityId,
          actor: 'system:balance',
          action: 'balance.disconnect',
          subject: `meter:${meters.m2}`,
          details: { reason: 'credit_exhausted', creditMinor: '0', daysLeft: 0 },
        })
        .execute();
      await stream.waitFor('alert', 3);
      const alerts = stream.events.filter((e) => e.event === 'alert').map((e) => e.data);
      expect(alerts.map((a: Json) => [a.kind, a.serial, a.source]).sort()).toEqual([
        ['disconnect', 'jo-M-0002', 'balance'],
        ['offline', 'jo-M-0003', 'status'],
        ['tamper', 'jo-M-0001', 'meter'],
      ]);
      const tamper = alerts.find((a: Json) => a.kind === 'tamper');
      expect(tamper).toMatchObject({
        area: 'Jabal Amman',
        detail: { event: 'cover_open' },
        at: '2026-01-10T11:00:00.000Z',
      });
      expect(alerts.find((a: Json) => a.kind === 'disconnect').detail).toEqual({
        reason: 'credit_exhausted',
        creditMinor: '0',
        daysLeft: 0,
      });
    } finally {
      stream.close();
    }
    const again = await openStream(`${server.url}/api/v1/alerts/stream?ticket=${ticket}`);
    expect(again.status).toBe(401);
    expect(again.body.code).toBe('unauthenticated');
  });

  it('alert stream: the session cookie opens it too; nothing, or a customer, does not', async () => {
    const byCookie = await openStream(`${server.url}/api/v1/alerts/stream`, {
      cookie: `rasid_session=${people.service.token}`,
    });
    expect(byCookie.status).toBe(200);
    await byCookie.stream!.waitFor('ready', 1);
    byCookie.stream!.close();
    const nobody = await openStream(`${server.url}/api/v1/alerts/stream`);
    expect(nobody.status).toBe(401);
    const customer = await openStream(`${server.url}/api/v1/alerts/stream`, {
      authorization: `Bearer ${people.customer.token}`,
    });
    expect(customer.status).toBe(403);
    expect(customer.body.code).toBe('forbidden');
    const ticket = await call('POST', '/api/v1/alerts/stream-tickets', { as: 'customer' });
    expect(ticket.status).toBe(403);
  });
});
