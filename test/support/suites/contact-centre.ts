/**
 * The contact centre from an empty install, on PGlite (test/cases/contact-centre.test.ts) and PostgreSQL
 * (test/pg/contact-centre.test.ts): calls imported and pushed, cases on several channels driven through a
 * moved clock, and the KPIs checked against figures this suite works out from its own inputs; then a case
 * routed by category and area to a department's queue, made a work order, and resolved by the technician.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Json } from '../api.ts';
import { type CentreWorld, centreWorld } from '../centre.ts';
import type { TestDialect } from '../db.ts';

const START = Date.parse('2026-11-01T05:00:00Z');
const at = (minutes: number) => new Date(START + minutes * 60_000).toISOString();
/** 1 November 2026 in Muscat (UTC+4), the utility's day. */
const FROM = '2026-10-31T20:00:00.000Z';
const TO = '2026-11-01T20:00:00.000Z';

/** PostgreSQL's percentile_cont: linear interpolation between the closest ranks. */
function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const rank = p * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (rank - lo);
}

function stats(seconds: readonly number[]) {
  if (seconds.length === 0) return { count: 0, meanSeconds: null, medianSeconds: null, p90Seconds: null };
  const round = (n: number | null) => (n === null ? null : Math.round(n));
  return {
    count: seconds.length,
    meanSeconds: round(seconds.reduce((a, b) => a + b, 0) / seconds.length),
    medianSeconds: round(percentile(seconds, 0.5)),
    p90Seconds: round(percentile(seconds, 0.9)),
  };
}

interface CaseSpec {
  readonly channel: string;
  readonly category: string;
  /** Index into the suite's customers. */
  readonly customer: 0 | 1;
  readonly externalRef?: string;
  /** Minutes after START. */
  readonly open: number;
  readonly respond?: number;
  readonly resolve?: number;
  readonly reopen?: number;
  readonly resolveAgain?: number;
  readonly close?: number;
  /** How the survey is answered, and with what. */
  readonly survey?: { via: 'link' | 'reply'; score: number; at: number };
}

/** SLA hours: the defaults of a new utility, and the category this suite adds. */
const SLA_HOURS: Readonly<Record<string, number>> = {
  complaint: 72,
  request: 120,
  meter_fault: 24,
  billing_dispute: 168,
  water_leak: 4,
};

const CASES: readonly CaseSpec[] = [
  {
    channel: 'phone',
    category: 'complaint',
    customer: 0,
    open: 0,
    respond: 30,
    resolve: 120,
    close: 150,
    survey: { via: 'link', score: 4, at: 160 },
  },
  {
    channel: 'whatsapp',
    category: 'water_leak',
    customer: 1,
    open: 10,
    respond: 20,
    resolve: 300,
    close: 310,
    survey: { via: 'reply', score: 5, at: 320 },
  },
  {
    channel: 'national',
    externalRef: 'NCS-2026-00417',
    category: 'billing_dispute',
    customer: 0,
    open: 20,
    respond: 200,
  },
  {
    channel: 'chat',
    category: 'complaint',
    customer: 1,
    open: 40,
    respond: 45,
    resolve: 90,
    reopen: 130,
    resolveAgain: 170,
    close: 180,
    survey: { via: 'link', score: 2, at: 185 },
  },
  { channel: 'phone', category: 'water_leak', customer: 0, open: 50, respond: 55, resolve: 200 },
  { channel: 'email', category: 'request', customer: 1, open: 60, respond: 400 },
  { channel: 'walk_in', category: 'complaint', customer: 0, open: 70, resolve: 75 },
  { channel: 'phone', category: 'meter_fault', customer: 1, open: 80, respond: 81, resolve: 500 },
  { channel: 'sms', category: 'request', customer: 0, open: 90 },
];

const CALLS_CSV = [
  'call_id,kind,queue,agent,caller,received_at,outcome,wait_seconds,talk_seconds',
  `c-1,call,billing,amal,+96891000001,${at(1)},answered,12,240`,
  `c-2,call,billing,,+96891000002,${at(2)},abandoned,95,0`,
  `c-3,call,faults,said,+96891000003,${at(5)},answered,30,600`,
  `c-4,chat,web,amal,,${at(6)},answered,5,300`,
  `c-5,chat,web,,,${at(7)},abandoned,60,`,
  `c-6,call,faults,,+96891000004,${at(8)},lost,20,0`, // row 7: no such outcome
  `c-3,call,faults,said,+96891000003,${at(9)},answered,30,600`, // row 8: the id of row 4 again
  `c-7,call,billing,said,+96891000005,${at(11)},answered,45,180`,
].join('\n');

/** The records the telephony system pushes: c-7 was imported already. */
const PUSHED = [
  { id: 'c-7', kind: 'call', receivedAt: at(11), outcome: 'answered', waitSeconds: 45, talkSeconds: 180 },
  { id: 'c-8', kind: 'call', queue: 'faults', receivedAt: at(12), outcome: 'abandoned', waitSeconds: 140 },
  {
    id: 'c-9',
    kind: 'chat',
    queue: 'web',
    receivedAt: at(13),
    outcome: 'answered',
    waitSeconds: 8,
    talkSeconds: 90,
  },
] as const;

/** The calls as the suite knows them: the good CSV rows once, and the pushed one not imported. */
const CALLS: readonly { kind: 'call' | 'chat'; answered: boolean; wait: number }[] = [
  { kind: 'call', answered: true, wait: 12 },
  { kind: 'call', answered: false, wait: 95 },
  { kind: 'call', answered: true, wait: 30 },
  { kind: 'chat', answered: true, wait: 5 },
  { kind: 'chat', answered: false, wait: 60 },
  { kind: 'call', answered: true, wait: 45 },
  { kind: 'call', answered: false, wait: 140 },
  { kind: 'chat', answered: true, wait: 8 },
];

function expectedCalls(calls: readonly (typeof CALLS)[number][]) {
  const answered = calls.filter((c) => c.answered).length;
  return {
    received: calls.length,
    answered,
    abandoned: calls.length - answered,
    answerRate: calls.length === 0 ? null : answered / calls.length,
    meanWaitSeconds:
      calls.length === 0 ? null : Math.round(calls.reduce((a, c) => a + c.wait, 0) / calls.length),
  };
}

/** The KPI of a set of cases, worked out from the table above. */
function expectedCases(specs: readonly CaseSpec[]) {
  const firstResponse: number[] = [];
  const resolution: number[] = [];
  let resolved = 0;
  let within = 0;
  let closed = 0;
  let reopened = 0;
  const scores: number[] = [];
  for (const c of specs) {
    // The first staff status change is the first response.
    const first = [c.respond, c.resolve].filter((x): x is number => x !== undefined);
    if (first.length > 0) firstResponse.push((Math.min(...first) - c.open) * 60);
    const done = c.resolveAgain ?? c.resolve;
    if (done !== undefined) {
      resolved++;
      resolution.push((done - c.open) * 60);
      if (done - c.open <= (SLA_HOURS[c.category] as number) * 60) within++;
    }
    if (c.close !== undefined) closed++;
    if (c.reopen !== undefined) reopened++;
    if (c.survey) scores.push(c.survey.score);
  }
  return {
    received: specs.length,
    resolved,
    closed,
    resolvedWithinSla: within,
    withinSlaShare: resolved === 0 ? null : within / resolved,
    reopened,
    firstResponse: stats(firstResponse),
    resolution: stats(resolution),
    satisfaction: {
      count: scores.length,
      mean: scores.length === 0 ? null : scores.reduce((a, b) => a + b, 0) / scores.length,
    },
  };
}

/** Each test drives a started Rasid through many requests, on a machine other work shares. */
const SLOW = { timeout: 300_000 };

export function contactCentreSuites(dialect: TestDialect): void {
  describe(`contact centre from an empty install (${dialect})`, () => {
    let w: CentreWorld;
    let admin: string;
    const customers: { id: string; phone: string; accountId: string }[] = [];
    const caseIds: string[] = [];

    const call = (method: string, path: string, body?: unknown, token = admin) =>
      w.call(token, method, path, body);
    const ok = async (method: string, path: string, body?: unknown, token = admin): Promise<Json> => {
      const r = await call(method, path, body, token);
      if (r.status >= 300) {
        const errors = r.status >= 500 ? w.logs.filter((l) => l.includes('"level":50')).join('\n') : '';
        throw new Error(`${method} ${path}: ${r.status} ${r.text} ${errors}`);
      }
      return r.json;
    };

    beforeAll(async () => {
      w = await centreWorld('centre', dialect, at(-60));
      admin = await w.signIn('admin');
      await ok('POST', '/api/v1/tariffs', {
        code: 'RES',
        name: 'Residential',
        kind: 'water',
        effectiveFrom: '2020-01-01',
        blocks: [{ upToUnits: null, priceMinorPerUnit: 20 }],
      });
      for (const [i, c] of [
        { name: 'Salim Al Harthy', phone: '+96891000001', area: 'Seeb' },
        { name: 'Aisha Al Balushi', phone: '+96892000002', area: 'Muttrah' },
      ].entries()) {
        const customer = await ok('POST', '/api/v1/customers', { name: c.name, phone: c.phone });
        const premise = await ok('POST', '/api/v1/premises', { address: `Way ${i + 1}`, area: c.area });
        const account = await ok('POST', '/api/v1/accounts', {
          customerId: customer.id,
          premiseId: premise.id,
          tariffCode: 'RES',
        });
        customers.push({ id: customer.id, phone: c.phone, accountId: account.id });
      }
      // The second customer reads WhatsApp first: the survey goes there.
      await ok('PUT', `/api/v1/customers/${customers[1]?.id}/notification-preferences`, {
        channels: ['whatsapp', 'sms'],
        optOut: false,
      });
      await ok('POST', '/api/v1/case-categories', {
        category: 'water_leak',
        slaHours: 4,
        nameEn: 'Water leak',
        nameAr: 'تسرّب مياه',
        needsVisit: true,
      });
    }, 600_000);

    afterAll(async () => {
      await w?.close();
    });

    it(
      'imports call records from a CSV file and a webhook, once each, naming the bad rows',
      SLOW,
      async () => {
        const denied = await w.raw('POST', '/api/v1/contact-centre/muscat/calls', {
          body: JSON.stringify({ records: PUSHED }),
          type: 'application/json',
          headers: { authorization: 'Bearer not-the-secret' },
        });
        expect(denied.status).toBe(401);

        const imported = await w.raw('POST', '/api/v1/contact-centre/calls/import', {
          token: admin,
          body: CALLS_CSV,
          type: 'text/csv',
        });
        expect(imported.status).toBe(200);
        expect(imported.json).toMatchObject({ rows: 8, added: 6, duplicates: 0, written: true });
        expect(imported.json.errors).toEqual([
          { row: 7, column: 'outcome', reason: expect.any(String) },
          { row: 8, column: 'call_id', reason: 'c-3 is also on row 4' },
        ]);

        const secret = (await ok('POST', '/api/v1/contact-centre/secret')).secret as string;
        const stored = await w.server.core.store.db
          .selectFrom('utilities')
          .select('contact_secret_hash')
          .where('code', '=', 'muscat')
          .executeTakeFirstOrThrow();
        expect(stored.contact_secret_hash).not.toContain(secret);
        const pushed = await w.raw('POST', '/api/v1/contact-centre/muscat/calls', {
          body: JSON.stringify({ records: PUSHED }),
          type: 'application/json',
          headers: { authorization: `Bearer ${secret}` },
        });
        expect(pushed.status).toBe(200);
        expect(pushed.json).toEqual({ added: 2, duplicates: 1 });
      },
    );

    it('cases on every channel give the KPIs worked out from their own times', SLOW, async () => {
      const agent = await ok('POST', '/api/v1/users', {
        username: 'agent',
        role: 'service',
        password: 'agent-password-1',
      });
      expect(agent.role).toBe('service');
      const token = await w.signIn('agent', 'agent-password-1');
      const secret = (await ok('POST', '/api/v1/contact-centre/secret')).secret as string;

      type Step = { t: number; i: number; run: () => Promise<void> };
      const steps: Step[] = [];
      const status = (i: number, to: string) => async () => {
        await ok('POST', `/api/v1/cases/${caseIds[i]}/status`, { status: to }, token);
      };
      CASES.forEach((c, i) => {
        steps.push({
          t: c.open,
          i,
          run: async () => {
            const cu = customers[c.customer];
            const opened = await ok(
              'POST',
              '/api/v1/cases',
              {
                channel: c.channel,
                category: c.category,
                subject: `${c.channel} ${c.category}`,
                customerId: cu?.id,
                ...(c.externalRef ? { externalRef: c.externalRef } : {}),
                ...(c.channel === 'phone' ? { callerNumber: cu?.phone } : {}),
              },
              token,
            );
            caseIds[i] = opened.id;
          },
        });
        if (c.respond !== undefined) steps.push({ t: c.respond, i, run: status(i, 'in_progress') });
        if (c.resolve !== undefined) steps.push({ t: c.resolve, i, run: status(i, 'resolved') });
        if (c.reopen !== undefined) steps.push({ t: c.reopen, i, run: status(i, 'in_progress') });
        if (c.resolveAgain !== undefined) steps.push({ t: c.resolveAgain, i, run: status(i, 'resolved') });
        if (c.close !== undefined) steps.push({ t: c.close, i, run: status(i, 'closed') });
        const s = c.survey;
        if (s) {
          steps.push({
            t: s.at,
            i,
            run: async () => {
              const sent = await w.server.core.store.db
                .selectFrom('notifications_outbox')
                .select(['channel', 'recipient', 'payload'])
                .where('template', '=', 'case_survey')
                .where('dedup_key', 'like', `case:${caseIds[i]}:survey%`)
                .executeTakeFirstOrThrow();
              const cu = customers[c.customer];
              expect(sent.recipient).toBe(cu?.phone);
              expect(sent.channel).toBe(c.customer === 1 ? 'whatsapp' : 'sms');
              if (s.via === 'link') {
                const url = String((sent.payload as { surveyUrl: string }).surveyUrl);
                const survey = url.slice(url.indexOf('#/survey/') + '#/survey/'.length);
                const answered = await w.call(null, 'POST', `/api/v1/surveys/${survey}`, {
                  score: s.score,
                  comment: 'quick',
                });
                expect(answered.status).toBe(200);
                const twice = await w.call(null, 'POST', `/api/v1/surveys/${survey}`, { score: 1 });
                expect(twice.status).toBe(409);
              } else {
                const arabicDigit = '١٢٣٤٥'[s.score - 1];
                const reply = await w.raw('POST', '/api/v1/contact-centre/muscat/inbound', {
                  body: JSON.stringify({ from: `00968${cu?.phone.slice(4)}`, text: `${arabicDigit} شكرًا` }),
                  type: 'application/json',
                  headers: { authorization: `Bearer ${secret}` },
                });
                expect(reply.status).toBe(200);
                expect(reply.json.survey).toMatch(/^C-\d+$/);
              }
            },
          });
        }
      });
      steps.sort((a, b) => a.t - b.t || a.i - b.i);
      for (const step of steps) {
        w.at(at(step.t));
        await step.run();
      }
      w.at(at(600));

      // The opening notice names the utility's own category in its own words.
      const leak = await w.server.core.store.db
        .selectFrom('notifications_outbox')
        .select('payload')
        .where('template', '=', 'case_opened')
        .where('dedup_key', 'like', `case:${caseIds[1]}:opened%`)
        .executeTakeFirstOrThrow();
      expect(leak.payload).toMatchObject({
        category: 'water_leak',
        categoryName: { en: 'Water leak', ar: 'تسرّب مياه' },
      });

      const national = await ok('GET', `/api/v1/cases/${caseIds[2]}`, undefined, token);
      expect(national).toMatchObject({ channel: 'national', externalRef: 'NCS-2026-00417' });
      const noRef = await call('POST', '/api/v1/cases', {
        channel: 'national',
        category: 'complaint',
        subject: 'no reference',
      });
      expect(noRef.status).toBe(400);

      const expected = expectedCases(CASES);
      const calls = expectedCalls(CALLS);
      const q = `from=${FROM}&to=${TO}`;
      const total = await ok('GET', `/api/v1/contact-centre/kpi?${q}&by=channel`, undefined, token);
      expect(total.total).toEqual({ key: '', ...expected, calls });
      expect(total.total.satisfaction.mean).toBeCloseTo(11 / 3, 10);

      // By channel: the cases of each channel, and calls as phone, chats as live chat.
      const channels = [...new Set(CASES.map((c) => c.channel))];
      for (const ch of channels) {
        const group = (total.groups as Json[]).find((g) => g.key === ch);
        const callKind = ch === 'phone' ? 'call' : ch === 'chat' ? 'chat' : null;
        expect(group, ch).toEqual({
          key: ch,
          ...expectedCases(CASES.filter((c) => c.channel === ch)),
          calls: expectedCalls(CALLS.filter((c) => c.kind === callKind)),
        });
      }

      const byCategory = await ok('GET', `/api/v1/contact-centre/kpi?${q}&by=category`, undefined, token);
      for (const cat of new Set(CASES.map((c) => c.category))) {
        const group = (byCategory.groups as Json[]).find((g) => g.key === cat);
        expect(group, cat).toEqual({
          key: cat,
          ...expectedCases(CASES.filter((c) => c.category === cat)),
          calls: null,
        });
      }
      // One day in Muscat: the series holds the whole period.
      expect(byCategory.series).toEqual([{ key: '2026-11-01', ...expected, calls }]);
      // Three days: the two quiet ones are in the series with nothing in them.
      const threeDays = await ok(
        'GET',
        `/api/v1/contact-centre/kpi?from=${FROM}&to=2026-11-03T20:00:00.000Z`,
        undefined,
        token,
      );
      expect((threeDays.series as Json[]).map((r) => [r.key, r.received, r.calls.received])).toEqual([
        ['2026-11-01', expected.received, calls.received],
        ['2026-11-02', 0, 0],
        ['2026-11-03', 0, 0],
      ]);

      const csv = await w.raw('GET', `/api/v1/contact-centre/kpi?${q}&format=csv`, { token });
      expect(csv.type).toContain('text/csv');
      const [head, line] = csv.text.split('\r\n');
      const cells = Object.fromEntries(
        (head ?? '').split(',').map((h, i) => [h, (line ?? '').split(',')[i]]),
      );
      expect(cells).toMatchObject({
        section: 'total',
        received: String(expected.received),
        resolved: String(expected.resolved),
        reopened: String(expected.reopened),
        resolve_p90_s: String(expected.resolution.p90Seconds),
        first_response_median_s: String(expected.firstResponse.medianSeconds),
        calls_received: String(calls.received),
        answer_rate: String(Number((calls.answerRate as number).toFixed(4))),
      });
    });

    it(
      'routes a case by category and area to a department, makes it a work order and takes the result back',
      SLOW,
      async () => {
        w.at(at(700));
        admin = await w.signIn('admin');
        const seeb = await ok('POST', '/api/v1/departments', {
          code: 'field-seeb',
          nameEn: 'Seeb field team',
          nameAr: 'فريق الميدان في السيب',
        });
        const general = await ok('POST', '/api/v1/departments', {
          code: 'faults',
          nameEn: 'Faults desk',
          nameAr: 'مكتب الأعطال',
        });
        await ok('PUT', '/api/v1/routing-rules', { category: 'water_leak', departmentId: general.id });
        const rules = await ok('PUT', '/api/v1/routing-rules', {
          category: 'water_leak',
          area: 'Seeb',
          departmentId: seeb.id,
        });
        expect(rules.rules).toHaveLength(2);
        const member = await ok('POST', '/api/v1/users', {
          username: 'seeb-agent',
          role: 'service',
          password: 'seeb-agent-pass-1',
        });
        await ok('PUT', `/api/v1/users/${member.id}/department`, { departmentId: seeb.id });
        const tech = await ok('POST', '/api/v1/users', {
          username: 'tech',
          role: 'technician',
          password: 'tech-password-1',
        });
        const seebAgent = await w.signIn('seeb-agent', 'seeb-agent-pass-1');

        // The screen pop of the Seeb customer's number, written another way.
        const pop = await ok(
          'GET',
          '/api/v1/contact-centre/screen-pop?number=0096891000001',
          undefined,
          seebAgent,
        );
        expect(pop.customers).toHaveLength(1);
        expect(pop.customers[0]).toMatchObject({
          id: customers[0]?.id,
          accounts: [{ id: customers[0]?.accountId, area: 'Seeb' }],
        });
        const openBefore = (pop.customers[0].openCases as Json[]).length;

        const inSeeb = await ok(
          'POST',
          '/api/v1/cases',
          {
            channel: 'phone',
            category: 'water_leak',
            subject: 'Water running under the meter',
            accountId: customers[0]?.accountId,
            callerNumber: '+96891000001',
          },
          seebAgent,
        );
        expect(inSeeb).toMatchObject({
          department: { id: seeb.id, code: 'field-seeb' },
          callerNumber: '+96891000001',
        });
        const inMuttrah = await ok('POST', '/api/v1/cases', {
          channel: 'walk_in',
          category: 'water_leak',
          subject: 'Leak at the street valve',
          accountId: customers[1]?.accountId,
        });
        expect(inMuttrah.department).toMatchObject({ id: general.id });

        const queue = await ok('GET', '/api/v1/cases?department=mine', undefined, seebAgent);
        expect((queue.cases as Json[]).map((c) => c.id)).toEqual([inSeeb.id]);
        const after = await ok(
          'GET',
          '/api/v1/contact-centre/screen-pop?number=91000001',
          undefined,
          seebAgent,
        );
        expect(after.customers[0].openCases).toHaveLength(openBefore + 1);

        w.at(at(720));
        const order = await ok(
          'POST',
          `/api/v1/cases/${inSeeb.id}/work-orders`,
          { technicianId: tech.id, instructions: 'Check the meter coupling' },
          seebAgent,
        );
        expect(order).toMatchObject({
          status: 'open',
          caseNumber: inSeeb.number,
          technician: { id: tech.id },
        });

        const techToken = await w.signIn('tech', 'tech-password-1');
        const mine = await ok('GET', '/api/v1/work-orders?status=open', undefined, techToken);
        expect((mine.workOrders as Json[]).map((o) => o.id)).toEqual([order.id]);

        w.at(at(800));
        const done = await ok(
          'POST',
          `/api/v1/work-orders/${order.id}/result`,
          { outcome: 'fixed', result: 'Replaced the coupling gasket' },
          techToken,
        );
        expect(done).toMatchObject({
          status: 'done',
          outcome: 'fixed',
          result: 'Replaced the coupling gasket',
        });
        const again = await call('POST', `/api/v1/work-orders/${order.id}/result`, {
          outcome: 'fixed',
          result: 'twice',
        });
        expect(again.status).toBe(409);

        const resolved = await ok('GET', `/api/v1/cases/${inSeeb.id}`, undefined, seebAgent);
        expect(resolved).toMatchObject({
          status: 'resolved',
          resolvedAt: at(800),
          department: { id: seeb.id },
        });
        const kinds = (resolved.events as Json[]).map((e) => e.kind);
        expect(kinds).toEqual([
          'opened',
          'routed',
          'work_order',
          'status',
          'first_response',
          'work_order',
          'status',
        ]);
        const last = (resolved.events as Json[]).at(-1);
        expect(last).toMatchObject({
          toStatus: 'resolved',
          note: 'Replaced the coupling gasket',
          internal: false,
        });
        const told = await w.server.core.store.db
          .selectFrom('notifications_outbox')
          .select('payload')
          .where('template', '=', 'case_updated')
          .where('customer_id', '=', customers[0]?.id as never)
          .orderBy('created_at', 'desc')
          .execute();
        expect(told.map((t) => (t.payload as { status: string }).status)).toContain('resolved');

        const byDept = await ok(
          'GET',
          `/api/v1/contact-centre/kpi?from=${at(650)}&to=${at(900)}&by=department`,
          undefined,
          seebAgent,
        );
        expect(byDept.groups).toEqual([
          expect.objectContaining({ key: 'faults', received: 1, resolved: 0 }),
          expect.objectContaining({ key: 'field-seeb', received: 1, resolved: 1, resolvedWithinSla: 1 }),
        ]);
      },
    );
  });
}
