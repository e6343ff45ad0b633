// Customer-service cases on the machine's PostgreSQL (vitest.services.config.ts): SLA defaults for a new
// utility, overdue filtering and the KPI's exact numbers under a moved clock, and the append-only timeline.
import { sql } from 'kysely';
import { expect } from 'vitest';
import { type CaseActor, CaseService } from '../../src/cases/service.ts';
import type { CaseId, UserId } from '../../src/store/schema.ts';
import { dbTestFor, seedBasics } from '../support/db.ts';

const test = dbTestFor('postgres');
const HOUR = 3_600_000;

test('a new utility gets the default SLA of every category', async ({ store }) => {
  const seed = await seedBasics(store.db, 'om');
  const cases = new CaseService({ db: store.db });
  const defaults = { nameEn: null, nameAr: null, active: true };
  expect(await cases.categories(seed.utilityId)).toEqual([
    { category: 'billing_dispute', slaHours: 168, needsVisit: false, ...defaults },
    { category: 'complaint', slaHours: 72, needsVisit: false, ...defaults },
    { category: 'meter_fault', slaHours: 24, needsVisit: true, ...defaults },
    { category: 'request', slaHours: 120, needsVisit: false, ...defaults },
  ]);
});

test('overdue cases, and the KPI of a period: opened, closed, within SLA, first-response mean and median', async ({
  store,
}) => {
  const seed = await seedBasics(store.db, 'jo');
  const agent = await store.db
    .insertInto('users')
    .values({ utility_id: seed.utilityId, username: 'agent', password_hash: 'x', role: 'service' })
    .returning('id')
    .executeTakeFirstOrThrow();
  let clock = new Date('2026-03-01T08:00:00Z');
  const cases = new CaseService({ db: store.db, now: () => clock });
  const by: CaseActor = {
    actor: `user:${agent.id}`,
    userId: agent.id as UserId,
    role: 'service',
    customerId: null,
  };
  const at = (hours: number) => {
    clock = new Date(Date.parse('2026-03-01T08:00:00Z') + hours * HOUR);
  };
  const open = (category: 'meter_fault' | 'complaint') =>
    cases.open(
      {
        utilityId: seed.utilityId,
        channel: 'phone',
        category,
        subject: category,
        description: '',
        customerId: seed.customerId,
      },
      by,
    );

  // A: meter fault (24 h SLA), answered after 1 h, resolved after 10 h: within SLA.
  const a = await open('meter_fault');
  at(1);
  await cases.changeStatus(seed.utilityId, a.id, 'in_progress', null, by);
  at(10);
  await cases.changeStatus(seed.utilityId, a.id, 'resolved', { text: 'Replaced', internal: false }, by);
  // B: meter fault opened at 2 h, answered by a public note 3 h later, resolved at 30 h: 4 h late.
  at(2);
  const b = await open('meter_fault');
  at(5);
  await cases.addNote(seed.utilityId, b.id, 'A technician is on the way', false, by);
  at(30);
  await cases.changeStatus(seed.utilityId, b.id, 'resolved', null, by);
  await cases.changeStatus(seed.utilityId, b.id, 'closed', null, by);
  // C: complaint opened at 3 h, an internal note only (no first response), still open.
  at(3);
  const c = await open('complaint');
  await cases.addNote(seed.utilityId, c.id, 'internal only', true, by);

  at(80);
  const overdue = await cases.list({ utilityId: seed.utilityId, overdue: true, limit: 50, offset: 0 });
  expect(overdue.map((v) => v.id)).toEqual([c.id]);
  const notOverdue = await cases.list({ utilityId: seed.utilityId, overdue: false, limit: 50, offset: 0 });
  expect(notOverdue.map((v) => v.id).sort()).toEqual([a.id, b.id].sort());

  const kpiOf = (from: string, to: string) => cases.kpi(seed.utilityId, new Date(from), new Date(to));
  const kpi = await kpiOf('2026-03-01T00:00:00Z', '2026-03-02T00:00:00Z');
  expect(kpi).toMatchObject({
    opened: 3,
    closed: 0,
    resolved: 1,
    resolvedWithinSla: 1,
    withinSlaShare: 1,
    overdueNow: 1,
    firstResponse: { count: 2, meanSeconds: 2 * 3600, medianSeconds: 2 * 3600 },
  });
  const wholeMonth = await kpiOf('2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z');
  expect(wholeMonth).toMatchObject({
    opened: 3,
    closed: 1,
    resolved: 2,
    resolvedWithinSla: 1,
    withinSlaShare: 0.5,
  });
  const faults = wholeMonth.byCategory.find((k) => k.category === 'meter_fault');
  expect(faults).toMatchObject({ opened: 2, resolved: 2, withinSlaShare: 0.5, firstResponse: { count: 2 } });
  // The period lies after everything: nothing counted.
  const later = await kpiOf('2026-05-01T00:00:00Z', '2026-06-01T00:00:00Z');
  expect(later).toMatchObject({ opened: 0, closed: 0, resolved: 0, withinSlaShare: null });
});

test('the timeline is append-only', async ({ store }) => {
  const seed = await seedBasics(store.db, 'jo');
  const cases = new CaseService({ db: store.db });
  const by: CaseActor = { actor: 'user:x', userId: null, role: 'operator', customerId: null };
  const opened = await cases.open(
    { utilityId: seed.utilityId, channel: 'email', category: 'request', subject: 'x', description: '' },
    by,
  );
  await expect(
    sql`update case_events set note = 'rewritten' where case_id = ${opened.id}`.execute(store.db),
  ).rejects.toThrow(/append-only/);
  await expect(sql`delete from case_events where case_id = ${opened.id}`.execute(store.db)).rejects.toThrow(
    /append-only/,
  );
  const view = await cases.get(seed.utilityId, opened.id as CaseId, by);
  expect(view.events.map((e) => e.kind)).toEqual(['opened']);
});
