/**
 * Customer-service cases through real HTTP against a started Rasid (embedded PGlite): a customer opens a
 * case for their own meter, service agents assign it, answer, change its status and write internal notes,
 * the customer follows it and replies; the customer hears of each change in Arabic through the outbox; the
 * KPI of the period; roles and problem+json.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderTemplate } from '../../src/notify/templates.ts';
import type { RunningServer } from '../../src/server.ts';
import type { CustomerId, Role } from '../../src/store/schema.ts';
import { type Call, caller, type SignedIn, secondCustomer, signIn } from '../support/api.ts';
import type { Seed } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { seedVending } from '../support/vending-fixture.ts';

type Who = 'service' | 'operator' | 'technician' | 'customer' | 'customer2';

describe('cases API over HTTP', () => {
  let server: RunningServer;
  let test: TestServer;
  let seed: Seed;
  let people: Record<Who, SignedIn>;
  let otherAccountId: string;
  let call: Call<Who>;

  const outbox = (template: string) =>
    server.core.store.db
      .selectFrom('notifications_outbox')
      .select(['channel', 'recipient', 'language', 'payload', 'dedup_key'])
      .where('template', '=', template)
      .orderBy('id')
      .execute();

  beforeAll(async () => {
    test = await startTestServer('cases-api');
    server = test.server;
    const db = server.core.store.db;
    seed = await seedVending(db, server.core.keys, 'jo');
    const other = await secondCustomer(db, seed, { preferredLanguage: 'en', email: 's@example.com' });
    otherAccountId = other.accountId;
    const person = (who: Who, role: Role, customerId: CustomerId | null = null) => ({
      role,
      username: `${who}-1`,
      displayName: `${who} one`,
      customerId,
    });
    people = await signIn(server, seed.utilityId, {
      service: person('service', 'service'),
      operator: person('operator', 'operator'),
      technician: person('technician', 'technician'),
      customer: person('customer', 'customer', seed.customerId),
      customer2: person('customer2', 'customer', other.customerId),
    });
    call = caller(server, people, 'service');
  }, 120_000);

  afterAll(async () => {
    await test?.close();
  });

  it('seeds an SLA per category, which an operator may change', async () => {
    const list = await call('GET', '/api/v1/case-categories', { as: 'customer' });
    expect(list.status).toBe(200);
    const defaults = { nameEn: null, nameAr: null, active: true };
    expect(list.json.categories).toEqual([
      { category: 'billing_dispute', slaHours: 168, needsVisit: false, ...defaults },
      { category: 'complaint', slaHours: 72, needsVisit: false, ...defaults },
      { category: 'meter_fault', slaHours: 24, needsVisit: true, ...defaults },
      { category: 'request', slaHours: 120, needsVisit: false, ...defaults },
    ]);
    const denied = await call('PUT', '/api/v1/case-categories/request', { body: { slaHours: 48 } });
    expect(denied.status).toBe(403);
    const set = await call('PUT', '/api/v1/case-categories/request', {
      as: 'operator',
      body: { slaHours: 48 },
    });
    expect(set.status).toBe(200);
    expect(set.json.categories).toContainEqual(
      expect.objectContaining({ category: 'request', slaHours: 48 }),
    );
  });

  it('a customer opens a case for their own meter; the customer is told in Arabic', async () => {
    const opened = await call('POST', '/api/v1/cases', {
      as: 'customer',
      body: { category: 'meter_fault', subject: 'Display is blank', meterId: seed.meterId },
    });
    expect(opened.status).toBe(201);
    const c = opened.json;
    expect(c).toMatchObject({
      number: expect.stringMatching(/^C-\d+$/),
      channel: 'web',
      category: 'meter_fault',
      status: 'open',
      customer: { id: seed.customerId, name: 'Huda Haddad' },
      account: { id: seed.accountId, number: 'jo-0001' },
      meter: { id: seed.meterId, serial: 'jo-M-0001' },
      assignee: null,
      slaHours: 24,
      overdue: false,
      firstResponseAt: null,
    });
    expect(Date.parse(c.slaDueAt) - Date.parse(c.createdAt)).toBe(24 * 3_600_000);
    const sent = await outbox('case_opened');
    expect(sent).toEqual([
      {
        channel: 'sms',
        recipient: '+962790000001',
        language: 'ar',
        payload: {
          customerName: 'Huda Haddad',
          caseNumber: c.number,
          category: 'meter_fault',
          dueAt: c.slaDueAt,
        },
        dedup_key: `case:${c.id}:opened:sms`,
      },
    ]);
    const audit = await call('GET', `/api/v1/audit?subject=case:${c.id}`, { as: 'operator' });
    expect(audit.json.entries.map((e: { action: string }) => e.action)).toEqual(['case.open']);
  });

  it("a customer cannot open a case on another's account, nor choose the assignee or channel", async () => {
    const foreign = await call('POST', '/api/v1/cases', {
      as: 'customer',
      body: { category: 'complaint', subject: 'x', accountId: otherAccountId },
    });
    expect(foreign.status).toBe(404);
    expect(foreign.type).toContain('application/problem+json');
    const assignee = await call('POST', '/api/v1/cases', {
      as: 'customer',
      body: { category: 'complaint', subject: 'x', assigneeId: people.service.id },
    });
    expect(assignee.status).toBe(403);
    expect(assignee.json.code).toBe('forbidden');
  });

  it('staff work a case: assign, answer, internal note, waiting, the customer replies, resolve, close', async () => {
    const opened = await call('POST', '/api/v1/cases', {
      body: {
        category: 'billing_dispute',
        channel: 'phone',
        subject: 'Charged twice',
        description: 'Two vends on the 3rd',
        accountId: seed.accountId,
      },
    });
    expect(opened.status).toBe(201);
    const id = opened.json.id;
    expect(opened.json).toMatchObject({ channel: 'phone', customer: { id: seed.customerId }, slaHours: 168 });

    const assigned = await call('PUT', `/api/v1/cases/${id}/assignee`, { body: { assigneeId: 'me' } });
    expect(assigned.json.assignee).toEqual({ id: people.service.id, name: 'service one' });
    const notCustomer = await call('PUT', `/api/v1/cases/${id}/assignee`, {
      body: { assigneeId: people.customer.id },
    });
    expect(notCustomer.status).toBe(400);

    const internal = await call('POST', `/api/v1/cases/${id}/notes`, {
      body: { note: 'Check the vend log for duplicates', internal: true },
    });
    expect(internal.status).toBe(201);
    expect(internal.json.firstResponseAt).toBeNull();

    const waiting = await call('POST', `/api/v1/cases/${id}/status`, {
      body: { status: 'waiting_customer', note: 'Please send the two receipt numbers.' },
    });
    expect(waiting.status).toBe(200);
    expect(waiting.json.status).toBe('waiting_customer');
    expect(waiting.json.firstResponseAt).not.toBeNull();

    const reply = await call('POST', `/api/v1/cases/${id}/notes`, {
      as: 'customer',
      body: { note: 'R-1 and R-2' },
    });
    expect(reply.status).toBe(201);
    expect(reply.json.status).toBe('in_progress');
    const foreignReply = await call('POST', `/api/v1/cases/${id}/notes`, {
      as: 'customer2',
      body: { note: 'not mine' },
    });
    expect(foreignReply.status).toBe(404);

    const badMove = await call('POST', `/api/v1/cases/${id}/status`, { body: { status: 'open' } });
    expect(badMove.status).toBe(409);
    expect(badMove.json.code).toBe('conflict');

    const resolved = await call('POST', `/api/v1/cases/${id}/status`, {
      body: { status: 'resolved', note: 'One vend was reversed.' },
    });
    expect(resolved.json).toMatchObject({ status: 'resolved', resolvedAt: expect.any(String) });
    const closed = await call('POST', `/api/v1/cases/${id}/status`, {
      as: 'operator',
      body: { status: 'closed' },
    });
    expect(closed.json).toMatchObject({ status: 'closed', closedAt: expect.any(String) });

    const staffView = await call('GET', `/api/v1/cases/${id}`);
    expect(staffView.json.events.map((e: { kind: string }) => e.kind)).toEqual([
      'opened',
      'assignment',
      'note',
      'status',
      'first_response',
      'note',
      'status',
      'status',
      'status',
    ]);
    const customerView = await call('GET', `/api/v1/cases/${id}`, { as: 'customer' });
    expect(customerView.status).toBe(200);
    const seen = customerView.json.events.map((e: { kind: string; note: string | null }) => [e.kind, e.note]);
    expect(seen).toEqual([
      ['opened', null],
      ['status', 'Please send the two receipt numbers.'],
      ['first_response', null],
      ['note', 'R-1 and R-2'],
      ['status', null],
      ['status', 'One vend was reversed.'],
      ['status', null],
    ]);
    expect((await call('GET', `/api/v1/cases/${id}`, { as: 'customer2' })).status).toBe(404);

    // Every public change reached the customer; the internal note and the assignment did not.
    const updates = (await outbox('case_updated')).filter((r) => r.payload.caseNumber === opened.json.number);
    expect(updates.map((r) => [r.payload.status, r.payload.note, r.language])).toEqual([
      ['waiting_customer', 'Please send the two receipt numbers.', 'ar'],
      ['resolved', 'One vend was reversed.', 'ar'],
      ['closed', null, 'ar'],
    ]);

    const audit = await call('GET', `/api/v1/audit?subject=case:${id}`, { as: 'operator' });
    expect(audit.json.entries.map((e: { action: string }) => e.action).reverse()).toEqual([
      'case.open',
      'case.assign',
      'case.note',
      'case.status',
      'case.note',
      'case.status',
      'case.status',
    ]);
  });

  it('lists with filters; a customer lists only their own cases', async () => {
    const db = server.core.store.db;
    // An old case past its due time (written directly: the clock of a running server cannot be moved).
    await db
      .insertInto('cases')
      .values({
        utility_id: seed.utilityId,
        customer_id: seed.customerId,
        channel: 'walk_in',
        category: 'request',
        subject: 'New meter location',
        description: '',
        opened_by: `user:${people.operator.id}`,
        sla_hours: 48,
        sla_due_at: new Date(Date.now() - 3_600_000),
        created_at: new Date(Date.now() - 49 * 3_600_000),
      })
      .execute();
    const overdue = await call('GET', '/api/v1/cases?overdue=true');
    expect(
      overdue.json.cases.map((c: { subject: string; overdue: boolean }) => [c.subject, c.overdue]),
    ).toEqual([['New meter location', true]]);
    const mine = await call('GET', '/api/v1/cases?assignee=me');
    expect(mine.json.cases.map((c: { subject: string }) => c.subject)).toEqual(['Charged twice']);
    const unassigned = await call('GET', '/api/v1/cases?assignee=none&status=open,in_progress');
    expect(unassigned.json.cases.map((c: { subject: string }) => c.subject).sort()).toEqual([
      'Display is blank',
      'New meter location',
    ]);
    const faults = await call('GET', '/api/v1/cases?category=meter_fault');
    expect(faults.json.cases).toHaveLength(1);
    const own = await call('GET', '/api/v1/cases', { as: 'customer' });
    expect(own.json.cases).toHaveLength(3);
    const none = await call('GET', '/api/v1/cases', { as: 'customer2' });
    expect(none.json.cases).toEqual([]);
    const bad = await call('GET', '/api/v1/cases?status=lost');
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('validation_failed');
  });

  it('KPI: opened and closed in the period, share within SLA, first-response times', async () => {
    const from = new Date(Date.now() - 3 * 86_400_000).toISOString();
    const kpi = await call('GET', `/api/v1/cases/kpi?from=${from}`);
    expect(kpi.status).toBe(200);
    expect(kpi.json).toMatchObject({
      opened: 3,
      closed: 1,
      resolved: 1,
      resolvedWithinSla: 1,
      withinSlaShare: 1,
      overdueNow: 1,
      firstResponse: { count: 1, meanSeconds: expect.any(Number), medianSeconds: expect.any(Number) },
    });
    const dispute = kpi.json.byCategory.find((k: { category: string }) => k.category === 'billing_dispute');
    expect(dispute).toMatchObject({ opened: 1, closed: 1, withinSlaShare: 1 });
    expect(kpi.json.byCategory.find((k: { category: string }) => k.category === 'request')).toMatchObject({
      opened: 1,
      resolved: 0,
      withinSlaShare: null,
    });
    expect((await call('GET', `/api/v1/cases/kpi?from=${from}`, { as: 'customer' })).status).toBe(403);
  });

  it('roles: technicians may not handle cases; no session is 401', async () => {
    expect((await call('GET', '/api/v1/cases', { as: 'technician' })).status).toBe(403);
    const anonymous = await call('GET', '/api/v1/cases', { as: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.code).toBe('unauthenticated');
  });

  it('the case templates read in both languages, numbers kept left to right in Arabic', () => {
    const opened = {
      customerName: 'Huda',
      caseNumber: 'C-7',
      category: 'meter_fault',
      dueAt: '2026-03-02T08:00:00.000Z',
    };
    expect(renderTemplate('case_opened', 'en', opened).text).toBe(
      'Dear Huda, we have opened case C-7 for your meter fault report. We aim to resolve it by 2 March 2026 at 08:00.',
    );
    expect(renderTemplate('case_opened', 'ar', opened).text).toBe(
      'عزيزنا Huda، سجّلنا طلبك رقم \u2066C-7\u2069 بشأن بلاغ عطل في العداد. نسعى إلى إنجازه قبل 2 مارس 2026 في 8:00 ص.',
    );
    const updated = {
      customerName: 'Huda',
      caseNumber: 'C-7',
      status: 'waiting_customer',
      note: 'Send a photo.',
    };
    expect(renderTemplate('case_updated', 'en', updated)).toEqual({
      subject: 'Case C-7: waiting for your reply',
      text: 'Dear Huda, case C-7 is waiting for your reply. Send a photo.',
    });
    expect(renderTemplate('case_updated', 'ar', { ...updated, note: null }).text).toBe(
      'عزيزنا Huda، طلبك رقم \u2066C-7\u2069 بانتظار ردّك.',
    );
  });
});
