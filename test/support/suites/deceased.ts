/**
 * Deceased account holders, end to end, through Rasid's public interfaces only, from an empty data folder
 * (and, on PostgreSQL, an empty database):
 *
 *   rasid init → Rasid started (its clock a test clock, so that days can pass) → a service agent, the
 *   utility's grace and stall days, customers and accounts imported from CSV over HTTP → the civil registry's
 *   deaths imported from CSV → every account of each dead holder marked, the subsidised ones held with an
 *   outreach case → days pass without a call: the workers write a reminder → the family of one is reached,
 *   sent the confirming SMS in their language, and the account transferred to an heir from the case with its
 *   subsidy → the other passes its grace end: the workers end its subsidy and tell the family → the figures.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { type RunningServer, startServer } from '../../../src/server.ts';
import { runCli } from '../cli.ts';
import { TEST_DATABASE_URL } from '../db.ts';
import { logCapture, testBrokerEnv } from '../server.ts';

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON read field by field and checked by expect.
type Json = any;

const CODE = 'ewa';
const ADMIN_PASSWORD = 'deceased-admin-password';
const AGENT_PASSWORD = 'deceased-agent-password';
const DAY_MS = 86_400_000;

const CUSTOMERS = [
  'national_id,name,name_ar,phone,email,language',
  '850101001,Yousif Al Mahmood,يوسف المحمود,+97333000001,,ar',
  '850101002,Mariam Al Sayed,مريم السيد,+97333000002,,en',
  '850101009,Khalid Nasser,خالد ناصر,+97333000009,,ar',
].join('\n');

const ACCOUNTS = [
  'account_number,national_id,address,area,tariff_code,subsidy_eligible',
  'EWA-1001,850101001,"Road 12, House 4",Muharraq,,yes',
  'EWA-1002,850101001,"Road 12, House 6",Muharraq,,no',
  'EWA-2001,850101002,"Road 40, House 1",Riffa,,yes',
  'EWA-9001,850101009,"Road 9, House 9",Sitra,,yes',
].join('\n');

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | null | false>, ms = 60_000) {
  const until = Date.now() + ms;
  for (;;) {
    const got = await probe();
    if (got) return got;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function deceasedScenario(dialect: 'pglite' | 'postgres'): void {
  describe(`deceased holders from an empty install (${dialect})`, () => {
    let dir: string;
    let env: Record<string, string>;
    let database: string | null = null;
    let server: RunningServer | null = null;
    /** The server's clock runs this far ahead of the wall clock. */
    let aheadMs = 0;
    const clock = () => new Date(Date.now() + aheadMs);
    let admin = '';
    let agent = '';

    const call = async (
      token: string | null,
      method: string,
      path: string,
      body?: unknown,
      type?: string,
    ) => {
      const res = await fetch(`${server!.url}${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': type ?? 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(body !== undefined ? { body: type ? (body as string) : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: (text.startsWith('{') ? JSON.parse(text) : text) as Json };
    };
    const signIn = async (username: string, password: string) => {
      const r = await call(null, 'POST', '/api/v1/sessions', { utility: CODE, username, password });
      expect(r.status, JSON.stringify(r.json)).toBe(201);
      return r.json.token as string;
    };
    /** Days pass on the server's clock; sessions are signed in again (they expire with the days). */
    const daysPass = async (days: number) => {
      aheadMs += days * DAY_MS;
      admin = await signIn('admin', ADMIN_PASSWORD);
      agent = await signIn('agent', AGENT_PASSWORD);
    };
    const importCsv = async (kind: string, csv: string) => {
      const r = await call(admin, 'POST', `/api/v1/imports/${kind}?filename=${kind}.csv`, csv, 'text/csv');
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      return r.json;
    };
    const account = async (number: string) => {
      const list = (await call(agent, 'GET', `/api/v1/accounts?number=${number}`)).json.accounts;
      return (await call(agent, 'GET', `/api/v1/accounts/${list[0].id}`)).json;
    };
    const worklist = async (query = '') =>
      (await call(agent, 'GET', `/api/v1/deceased-accounts${query}`)).json.items as Json[];
    const outreachOf = async (number: string) => {
      const item = (await worklist('?status=held,transferred,ended,noted')).find(
        (i) => i.account.number === number,
      );
      return (await call(agent, 'GET', `/api/v1/deceased-accounts/${item.id}`)).json;
    };
    const sms = async (to: string) => {
      const text = await readFile(join(dir, 'sms-inbox.jsonl'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { to: string; text: string })
        .filter((m) => m.to === to)
        .map((m) => m.text);
    };
    const audit = async (action: string, subject: string) =>
      (await call(admin, 'GET', `/api/v1/audit?action=${action}&subject=${subject}&limit=50`)).json
        .entries as Json[];

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), `rasid-deceased-${dialect}-`));
      env = { DATA_DIR: dir, LOG_LEVEL: 'silent', NODE_ENV: 'test' };
      if (dialect === 'postgres') {
        database = `rasid_deceased_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
        const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await c.connect();
        await c.query(`CREATE DATABASE ${database}`);
        await c.end();
        const url = new URL(TEST_DATABASE_URL);
        url.pathname = `/${database}`;
        env.DATABASE_URL = url.toString();
      }
      const init = await runCli(
        ['init', '--utility', CODE, '--name', 'Electricity and Water', '--currency', 'BHD'].concat([
          '--timezone',
          'Asia/Bahrain',
          '--admin',
          'admin',
        ]),
        { env: { ...env, RASID_ADMIN_PASSWORD: ADMIN_PASSWORD }, timeoutMs: 240_000 },
      );
      expect(init.code, init.stderr).toBe(0);
      const { sink } = logCapture();
      server = await startServer(
        loadConfig({
          ...env,
          PORT: '0',
          ...testBrokerEnv(`deceased-${dialect}`),
          DECEASED_INTERVAL_SECONDS: '1',
          OUTBOX_INTERVAL_SECONDS: '1',
        }),
        { now: clock, logDestination: sink, setupOutput: sink },
      );
    }, 300_000);

    afterAll(async () => {
      await server?.close();
      if (database) {
        const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        await c.end();
      }
      await rm(dir, { recursive: true, force: true });
    }, 60_000);

    it('a service agent, the grace and stall days, customers and accounts: all over HTTP', async () => {
      admin = await signIn('admin', ADMIN_PASSWORD);
      const user = await call(admin, 'POST', '/api/v1/users', {
        username: 'agent',
        displayName: 'Noor (customer service)',
        role: 'service',
        password: AGENT_PASSWORD,
      });
      expect(user.status, JSON.stringify(user.json)).toBe(201);
      agent = await signIn('agent', AGENT_PASSWORD);
      const settings = await call(admin, 'PATCH', '/api/v1/utility/settings', {
        deceasedGraceDays: 60,
        outreachStallDays: 2,
      });
      expect(settings.status, JSON.stringify(settings.json)).toBe(200);
      expect(settings.json).toMatchObject({ deceasedGraceDays: 60, outreachStallDays: 2 });
      expect(await importCsv('customers', CUSTOMERS)).toMatchObject({ added: 3, errors: [] });
      expect(await importCsv('accounts', ACCOUNTS)).toMatchObject({ added: 4, errors: [] });
    });

    it("the civil registry's deaths, imported: every account of each holder marked, the subsidised ones held", async () => {
      const today = clock().toISOString().slice(0, 10);
      const yesterday = new Date(clock().getTime() - DAY_MS).toISOString().slice(0, 10);
      const tomorrow = new Date(clock().getTime() + DAY_MS).toISOString().slice(0, 10);
      const deaths = [
        'national_id,date_of_death,evidence_ref',
        `850101001,${yesterday},CR-2026-7781`,
        `850101002,${today},CR-2026-7790`,
        `777000111,${yesterday},CR-2026-7799`, // row 4: not a customer
        `850101009,${tomorrow},CR-2026-7800`, // row 5: a date to come
      ].join('\n');
      const first = await importCsv('deaths', deaths);
      expect(first).toMatchObject({ kind: 'deaths', rows: 4, added: 2, written: true });
      expect(first.errors).toEqual([
        { row: 4, column: 'national_id', reason: 'no customer with national id 777000111' },
        { row: 5, column: 'date_of_death', reason: 'the date of death is in the future' },
      ]);
      // The same file again adds nothing: those deaths are recorded.
      const again = await importCsv('deaths', deaths);
      expect(again).toMatchObject({ added: 0, written: false });
      expect(again.skipped).toEqual([
        { row: 2, key: '850101001' },
        { row: 3, key: '850101002' },
      ]);

      const all = await worklist('?status=held,noted');
      expect(all.map((i: Json) => [i.account.number, i.status]).sort()).toEqual([
        ['EWA-1001', 'held'],
        ['EWA-1002', 'noted'],
        ['EWA-2001', 'held'],
      ]);
      const held = await worklist();
      expect(held.map((i: Json) => i.account.number).sort()).toEqual(['EWA-1001', 'EWA-2001']);
      const y = held.find((i: Json) => i.account.number === 'EWA-1001');
      expect(y).toMatchObject({
        status: 'held',
        subsidised: true,
        account: { subsidyEligible: true },
        holder: { name: 'Yousif Al Mahmood', nameAr: 'يوسف المحمود', nationalId: '850101001' },
        dateOfDeath: yesterday,
        evidenceRef: 'CR-2026-7781',
        source: 'registry',
        graceDaysLeft: 60,
        attempts: 0,
        stalled: false,
      });
      expect(y.case.number).toMatch(/^C-\d+$/);
      // The subsidy is held: the account keeps it on the first day.
      expect((await account('EWA-1001')).subsidyEligible).toBe(true);
      // Marked with the evidence, audited, on both of Yousif's accounts.
      for (const n of ['EWA-1001', 'EWA-1002']) {
        const a = await account(n);
        const rows = await audit('account.holder_deceased', `account:${a.id}`);
        expect(rows).toHaveLength(1);
        expect(rows[0].details).toMatchObject({ evidenceRef: 'CR-2026-7781', source: 'registry' });
      }
      // The outreach case is a customer-service case on the account.
      const kase = await call(agent, 'GET', `/api/v1/cases/${y.case.id}`);
      expect(kase.status).toBe(200);
      expect(kase.json).toMatchObject({
        category: 'request',
        status: 'open',
        account: { number: 'EWA-1001' },
      });
      // Khalid is alive: nothing of his is marked, his subsidy untouched.
      expect((await account('EWA-9001')).subsidyEligible).toBe(true);
    });

    it('an agent records a death too; the same death twice is refused', async () => {
      const khalid = (await call(agent, 'GET', '/api/v1/customers?q=Khalid')).json;
      const id = khalid.customers[0].id;
      const yousif = (await call(agent, 'GET', '/api/v1/customers?q=Yousif%20Al')).json;
      const yid = yousif.customers[0].id;
      const twice = await call(agent, 'POST', `/api/v1/customers/${yid}/death`, {
        dateOfDeath: '2026-01-01',
        evidenceRef: 'DC-1',
      });
      expect(twice.status).toBe(409);
      expect(twice.json.code).toBe('conflict');
      const future = await call(agent, 'POST', `/api/v1/customers/${id}/death`, {
        dateOfDeath: '2999-01-01',
        evidenceRef: 'DC-2',
      });
      expect(future.status).toBe(400);
      expect((await account('EWA-9001')).subsidyEligible).toBe(true);
    });

    it('days pass without a call: the workers flag the outreach as stalled and remind on the case', async () => {
      await daysPass(3);
      const item = await waitUntil('a reminder', async () => {
        const i = (await worklist()).find((x: Json) => x.account.number === 'EWA-2001');
        const kase = await call(agent, 'GET', `/api/v1/cases/${i.case.id}`);
        return kase.json.events.some((e: Json) => /^Reminder: no call attempt/.test(e.note ?? '')) && i;
      });
      expect(item.stalled).toBe(true);
      expect(item.graceDaysLeft).toBe(57);
      expect((await worklist('?stalled=true')).length).toBe(2);
    });

    it('the family is reached, sent the confirming SMS in Arabic, and the account moves to an heir with its subsidy', async () => {
      const o = await outreachOf('EWA-1001');
      const contact = await call(agent, 'POST', `/api/v1/deceased-accounts/${o.id}/contacts`, {
        name: 'Ali Yousif',
        relation: 'son',
        phone: '+97336000001',
        language: 'ar',
      });
      expect(contact.status, JSON.stringify(contact.json)).toBe(201);
      const cid = contact.json.id;
      for (const outcome of ['no_answer', 'reached']) {
        const r = await call(agent, 'POST', `/api/v1/deceased-accounts/${o.id}/attempts`, {
          contactId: cid,
          outcome,
          note: outcome === 'reached' ? 'Will bring the heirs certificate' : null,
        });
        expect(r.status, JSON.stringify(r.json)).toBe(201);
      }
      const sent = await call(agent, 'POST', `/api/v1/deceased-accounts/${o.id}/confirmation-sms`, {
        contactId: cid,
      });
      expect(sent.status, JSON.stringify(sent.json)).toBe(201);
      expect(sent.json).toMatchObject({ language: 'ar', recipient: '+97336000001' });
      const text = await waitUntil('the confirming SMS', async () => (await sms('+97336000001'))[0]);
      expect(text).toContain('يوسف المحمود');
      expect(text).toContain('EWA-1001');
      expect(text).toContain('نُبقي التعرفة المدعومة');

      const detail = (await call(agent, 'GET', `/api/v1/deceased-accounts/${o.id}`)).json;
      expect(detail.history.map((h: Json) => h.outcome)).toEqual(['no_answer', 'reached']);
      expect(detail.firstReachedAt).not.toBeNull();
      expect(detail.stalled).toBe(false);

      const moved = await call(agent, 'POST', `/api/v1/deceased-accounts/${o.id}/transfer`, {
        heir: {
          nationalId: '900202003',
          name: 'Ali Yousif',
          nameAr: 'علي يوسف',
          phone: '+97336000001',
          language: 'ar',
        },
        evidenceRef: 'HEIRS-2026-455',
      });
      expect(moved.status, JSON.stringify(moved.json)).toBe(201);
      expect(moved.json).toMatchObject({ heirCreated: true, subsidyCarried: true });
      expect(moved.json.outreach).toMatchObject({ status: 'transferred', subsidyCarried: true });
      const a = await account('EWA-1001');
      expect(a.subsidyEligible).toBe(true);
      expect(a.holders.at(-1)).toMatchObject({
        reason: 'death',
        evidenceRef: 'HEIRS-2026-455',
        subsidyCarried: true,
      });
      const kase = (await call(agent, 'GET', `/api/v1/cases/${o.case.id}`)).json;
      expect(kase.status).toBe('resolved');
      expect(await audit('account.transfer', `account:${a.id}`)).toHaveLength(1);
      // Done is done: the outreach takes no second transfer.
      const again = await call(agent, 'POST', `/api/v1/deceased-accounts/${o.id}/transfer`, {
        heir: { customerId: moved.json.heirCustomerId },
        evidenceRef: 'HEIRS-2026-455',
      });
      expect(again.status).toBe(409);
    });

    it('the other account passes its grace end: the workers end the subsidy and tell the family', async () => {
      const o = await outreachOf('EWA-2001');
      const contact = await call(agent, 'POST', `/api/v1/deceased-accounts/${o.id}/contacts`, {
        name: 'Fatima Ahmed',
        relation: 'daughter',
        phone: '+97336000002',
        language: 'en',
      });
      expect(contact.status).toBe(201);
      await call(agent, 'POST', `/api/v1/deceased-accounts/${o.id}/attempts`, {
        contactId: contact.json.id,
        outcome: 'wrong_number',
      });
      // Before the grace end the subsidy is still held.
      await daysPass(50);
      expect((await account('EWA-2001')).subsidyEligible).toBe(true);
      expect((await outreachOf('EWA-2001')).status).toBe('held');

      await daysPass(8);
      const ended = await waitUntil('the subsidy ended', async () => {
        const d = await outreachOf('EWA-2001');
        return d.status === 'ended' && d;
      });
      expect(ended.endedAt).not.toBeNull();
      const a = await account('EWA-2001');
      expect(a.subsidyEligible).toBe(false);
      const rows = await audit('account.subsidy_ended', `account:${a.id}`);
      expect(rows).toHaveLength(1);
      expect(rows[0].details).toMatchObject({
        reason: 'deceased_holder_grace_ended',
        subsidyWasEligible: true,
      });
      const text = await waitUntil('the notice to the family', async () => (await sms('+97336000002'))[0]);
      expect(text).toContain('Mariam Al Sayed');
      expect(text).toContain('EWA-2001');
      expect(text).toContain('subsidised tariff ended');
      expect((await call(agent, 'GET', `/api/v1/cases/${o.case.id}`)).json.status).toBe('resolved');
      // The transferred account and the living holder's keep theirs.
      expect((await account('EWA-1001')).subsidyEligible).toBe(true);
      expect((await account('EWA-9001')).subsidyEligible).toBe(true);
    });

    it('the figures: found, contacted, transferred with the subsidy kept, ended, time to transfer', async () => {
      const k = await call(agent, 'GET', '/api/v1/deceased-accounts/kpi');
      expect(k.status).toBe(200);
      expect(k.json).toMatchObject({
        accountsMarked: 3,
        found: 2,
        contacted: 1,
        transferred: 1,
        transferredWithSubsidy: 1,
        ended: 1,
        pending: 0,
        stalled: 0,
        updatedShare: 50,
        contactedShare: 50,
      });
      // Marked on day 0, transferred on day 3 of the server's clock.
      expect(k.json.daysToTransfer.median).toBeGreaterThanOrEqual(3);
      expect(k.json.daysToTransfer.median).toBeLessThan(3.1);
    });
  });
}
