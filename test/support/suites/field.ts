import { randomUUID } from 'node:crypto';
import { describe, expect } from 'vitest';
import { listAudit } from '../../../src/accounts/audit.ts';
import { AppError } from '../../../src/api/errors.ts';
import {
  agentWork,
  applyChange,
  assignPremises,
  campaignKpis,
  createCampaign,
  listChanges,
  meterFindings,
  PHOTO_MAX_BYTES,
  recordVisit,
  rejectChange,
  type VisitInput,
} from '../../../src/field/service.ts';
import type { Store } from '../../../src/store/db.ts';
import type { PremiseId, UserId } from '../../../src/store/schema.ts';
import { type DbTest, type Seed, seedBasics } from '../db.ts';

const supervisor = { actor: 'user:supervisor', userId: null };
/** The smallest PNG a camera could never make, but whose bytes are a PNG's. */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000a49444154789c6300010000050001' +
    '0d0a2db40000000049454e44ae426082',
  'hex',
);

async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  throw new Error('expected a refusal');
}

interface World extends Seed {
  agentA: UserId;
  agentB: UserId;
  /** A second premise of the seed's area, with no account. */
  emptyPremise: PremiseId;
  /** A premise of another area. */
  otherArea: PremiseId;
}

async function world(store: Store): Promise<World> {
  const seed = await seedBasics(store.db, 'fld');
  const user = async (username: string, role: 'technician' | 'service') =>
    (
      await store.db
        .insertInto('users')
        .values({ utility_id: seed.utilityId, username, password_hash: 'x', role })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  const premise = async (address: string, area: string) =>
    (
      await store.db
        .insertInto('premises')
        .values({ utility_id: seed.utilityId, address, area })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  return {
    ...seed,
    agentA: await user('agent-a', 'technician'),
    agentB: await user('agent-b', 'technician'),
    emptyPremise: await premise('14 Rainbow St', 'Jabal Amman'),
    otherArea: await premise('3 Abdoun Circle', 'Abdoun'),
  };
}

function visit(w: World, campaignId: string, extra: Partial<VisitInput> = {}): VisitInput {
  return {
    id: randomUUID(),
    campaignId,
    premiseId: w.premiseId,
    outcome: 'visited',
    visitedAt: new Date('2030-05-01T08:00:00Z'),
    ...extra,
  };
}

/** Campaigns, offline visits that arrive once, proposed changes and their review, written once for both engines. */
export function fieldSuites(dbTest: DbTest): void {
  describe('field campaigns', () => {
    dbTest(
      'a visit sent twice is stored once, and its differences become proposed changes',
      async ({ store }) => {
        const w = await world(store);
        const c = await createCampaign(store.db, {
          utilityId: w.utilityId,
          name: 'Jabal Amman clean-up',
          areas: ['Jabal Amman'],
          by: supervisor,
        });
        expect(c.premises).toBe(2);
        expect(
          await assignPremises(store.db, {
            utilityId: w.utilityId,
            campaignId: c.id,
            agentId: w.agentA,
            areas: ['Jabal Amman'],
            by: supervisor,
          }),
        ).toEqual({ assigned: 2 });

        const work = await agentWork(store.db, w.utilityId, w.agentA);
        expect(work.map((p) => p.address)).toEqual(['12 Rainbow St', '14 Rainbow St']);
        expect(work[0]?.account).toEqual({
          number: 'fld-0001',
          holderName: 'Huda Haddad',
          phone: '+962790000001',
          nationalId: null,
        });
        expect(work[0]?.meters).toEqual([{ serial: 'fld-M-0001', kind: 'electricity', status: 'active' }]);
        expect(await agentWork(store.db, w.utilityId, w.agentB)).toEqual([]);

        const v = visit(w, c.id, {
          occupantName: 'Huda Haddad',
          payerName: 'huda  HADDAD',
          phone: '+962790000099',
          nationalId: '9861012345',
          meter: { serial: 'FLD-M-0001', reading: '01234.5', sealIntact: false, tamperSigns: true },
          position: { latitude: 31.95, longitude: 35.93, accuracy: 8 },
          photo: { type: 'image/png', bytes: PNG },
        });
        const first = await recordVisit(store.db, w.utilityId, w.agentA, v);
        expect(first).toEqual({ id: v.id, duplicate: false, proposed: 3 });
        const again = await recordVisit(store.db, w.utilityId, w.agentA, v);
        expect(again).toEqual({ id: v.id, duplicate: true, proposed: 0 });
        const stored = await store.db.selectFrom('field_visits').select(['id', 'photo']).execute();
        expect(stored.map((r) => r.id)).toEqual([v.id]);
        expect(Buffer.from(stored[0]?.photo ?? []).equals(PNG)).toBe(true);
        // Another agent cannot claim the id, nor record at a premise that is not theirs.
        expect(await errorCode(recordVisit(store.db, w.utilityId, w.agentB, v))).toBe('conflict');
        expect(await errorCode(recordVisit(store.db, w.utilityId, w.agentB, visit(w, c.id)))).toBe(
          'forbidden',
        );

        const changes = await listChanges(store.db, w.utilityId, { status: 'proposed' });
        expect(changes.map((ch) => [ch.kind, ch.current, ch.proposed]).sort()).toEqual([
          ['customer.national_id', null, '9861012345'],
          ['customer.phone', '+962790000001', '+962790000099'],
          ['meter.tamper', 'active', 'suspended'],
        ]);
        const byKind = new Map(changes.map((ch) => [ch.kind, ch]));

        await applyChange(store.db, {
          utilityId: w.utilityId,
          changeId: byKind.get('customer.phone')?.id ?? '',
          by: supervisor,
        });
        await applyChange(store.db, {
          utilityId: w.utilityId,
          changeId: byKind.get('meter.tamper')?.id ?? '',
          by: supervisor,
        });
        await rejectChange(store.db, {
          utilityId: w.utilityId,
          changeId: byKind.get('customer.national_id')?.id ?? '',
          by: supervisor,
          note: 'card not shown',
        });
        expect(
          await errorCode(
            applyChange(store.db, {
              utilityId: w.utilityId,
              changeId: byKind.get('customer.phone')?.id ?? '',
              by: supervisor,
            }),
          ),
        ).toBe('conflict');

        const customer = await store.db
          .selectFrom('customers')
          .select(['phone', 'national_id'])
          .where('id', '=', w.customerId)
          .executeTakeFirstOrThrow();
        expect(customer).toEqual({ phone: '+962790000099', national_id: null });
        const meter = await store.db
          .selectFrom('meters')
          .select('status')
          .where('id', '=', w.meterId)
          .executeTakeFirstOrThrow();
        expect(meter.status).toBe('suspended');

        const audit = await listAudit(store.db, { utilityId: w.utilityId, limit: 50 });
        const actions = audit.entries.map((e) => `${e.action} ${e.subject.split(':')[0]}`);
        expect(actions).toEqual(
          expect.arrayContaining([
            'customer.update customer',
            'meter.state meter',
            'field.change.apply customer',
            'field.change.apply meter',
            'field.change.reject customer',
          ]),
        );
        const update = audit.entries.find((e) => e.action === 'customer.update');
        expect(update?.details).toEqual({
          changes: { phone: { from: '+962790000001', to: '+962790000099' } },
        });

        const k = await campaignKpis(store.db, w.utilityId, c.id);
        expect(k.total).toMatchObject({
          premises: 2,
          assigned: 2,
          attempted: 1,
          visited: 1,
          verified: 1,
          corrected: 2,
          pending: 0,
          unregisteredMeters: 0,
        });
        expect(k.byAgent).toEqual([expect.objectContaining({ agent: 'agent-a', visited: 1, corrected: 2 })]);
      },
    );

    dbTest('meters seen but not registered, and registered but not seen, are listed', async ({ store }) => {
      const w = await world(store);
      const c = await createCampaign(store.db, {
        utilityId: w.utilityId,
        name: 'Two areas',
        areas: ['Jabal Amman', 'Abdoun'],
        by: supervisor,
      });
      await assignPremises(store.db, {
        utilityId: w.utilityId,
        campaignId: c.id,
        agentId: w.agentA,
        areas: ['Jabal Amman'],
        by: supervisor,
      });
      await assignPremises(store.db, {
        utilityId: w.utilityId,
        campaignId: c.id,
        agentId: w.agentB,
        premiseIds: [w.otherArea],
        by: supervisor,
      });
      await recordVisit(store.db, w.utilityId, w.agentA, visit(w, c.id, { meter: { serial: 'XJ 555 01' } }));
      await recordVisit(
        store.db,
        w.utilityId,
        w.agentA,
        visit(w, c.id, { premiseId: w.emptyPremise, outcome: 'nobody_home' }),
      );
      await recordVisit(
        store.db,
        w.utilityId,
        w.agentB,
        visit(w, c.id, { premiseId: w.otherArea, meter: { serial: 'fld-m-0001' } }),
      );

      const found = await meterFindings(store.db, w.utilityId, c.id);
      expect(found.unregistered.map((u) => [u.serial, u.area, u.agent])).toEqual([
        ['XJ 555 01', 'Jabal Amman', 'agent-a'],
      ]);
      expect(found.notFound.map((n) => [n.serial, n.seenSerial])).toEqual([['fld-M-0001', 'XJ 555 01']]);

      const k = await campaignKpis(store.db, w.utilityId, c.id);
      expect(
        k.byArea.map((a) => [a.area, a.premises, a.attempted, a.visited, a.nobodyHome, a.unregisteredMeters]),
      ).toEqual([
        ['Abdoun', 1, 1, 1, 0, 0],
        ['Jabal Amman', 2, 2, 1, 1, 1],
      ]);
      expect(k.byAgent.map((a) => [a.agent, a.assigned, a.visited, a.unregisteredMeters])).toEqual([
        ['agent-a', 2, 1, 1],
        ['agent-b', 1, 1, 0],
      ]);
    });

    dbTest(
      'a payer who is not the holder is proposed as the new holder, applied as a transfer',
      async ({ store }) => {
        const w = await world(store);
        const c = await createCampaign(store.db, {
          utilityId: w.utilityId,
          name: 'Holders',
          premiseIds: [w.premiseId],
          by: supervisor,
        });
        await assignPremises(store.db, {
          utilityId: w.utilityId,
          campaignId: c.id,
          agentId: w.agentA,
          premiseIds: [w.premiseId],
          by: supervisor,
        });
        const v = visit(w, c.id, {
          payerName: 'Karim Nasser',
          phone: '+962790000777',
          nationalId: '9871000001',
        });
        expect((await recordVisit(store.db, w.utilityId, w.agentA, v)).proposed).toBe(1);
        const [change] = await listChanges(store.db, w.utilityId, { campaignId: c.id });
        expect(change).toMatchObject({
          kind: 'account.holder',
          current: 'Huda Haddad',
          proposed: 'Karim Nasser',
        });
        await applyChange(store.db, { utilityId: w.utilityId, changeId: change?.id ?? '', by: supervisor });

        const holder = await store.db
          .selectFrom('accounts as a')
          .innerJoin('customers as c', 'c.id', 'a.customer_id')
          .select(['c.name', 'c.phone', 'c.national_id'])
          .where('a.id', '=', w.accountId)
          .executeTakeFirstOrThrow();
        expect(holder).toEqual({ name: 'Karim Nasser', phone: '+962790000777', national_id: '9871000001' });
        const history = await store.db
          .selectFrom('account_holders')
          .select(['reason', 'evidence_ref'])
          .where('account_id', '=', w.accountId)
          .where('to_at', 'is', null)
          .executeTakeFirstOrThrow();
        expect(history).toEqual({ reason: 'correction', evidence_ref: `field-visit:${v.id}` });
        const actions = (await listAudit(store.db, { utilityId: w.utilityId, limit: 20 })).entries.map(
          (e) => e.action,
        );
        expect(actions).toEqual(
          expect.arrayContaining(['customer.create', 'account.transfer', 'field.change.apply']),
        );
      },
    );

    dbTest('a photo must be what it claims and within the size limit', async ({ store }) => {
      const w = await world(store);
      const c = await createCampaign(store.db, {
        utilityId: w.utilityId,
        name: 'Photos',
        premiseIds: [w.premiseId],
        by: supervisor,
      });
      await assignPremises(store.db, {
        utilityId: w.utilityId,
        campaignId: c.id,
        agentId: w.agentA,
        premiseIds: [w.premiseId],
        by: supervisor,
      });
      const notJpeg = visit(w, c.id, { photo: { type: 'image/jpeg', bytes: PNG } });
      expect(await errorCode(recordVisit(store.db, w.utilityId, w.agentA, notJpeg))).toBe(
        'validation_failed',
      );
      const big = Buffer.concat([PNG, Buffer.alloc(PHOTO_MAX_BYTES)]);
      const tooBig = visit(w, c.id, { photo: { type: 'image/png', bytes: big } });
      expect(await errorCode(recordVisit(store.db, w.utilityId, w.agentA, tooBig))).toBe('payload_too_large');
      expect(await store.db.selectFrom('field_visits').select('id').execute()).toEqual([]);
    });
  });
}
