/**
 * The ingest's meter resolver on a real database: the meters not remembered that arrive in one turn are
 * looked up in one statement per utility, unknown and decommissioned ones are null, and a known meter is
 * answered from memory afterwards.
 */
import type { KyselyPlugin } from 'kysely';
import { describe, expect } from 'vitest';
import { storeMeterResolver } from '../../src/ingest/store.ts';
import { dbTestFor, SUITE_DIALECT, seedBasics } from '../support/db.ts';

const dbTest = dbTestFor(SUITE_DIALECT);

/** Counts the statements that pass through a Kysely instance. */
function counting(): { plugin: KyselyPlugin; readonly count: number } {
  let count = 0;
  return {
    plugin: {
      transformQuery(args) {
        count++;
        return args.node;
      },
      async transformResult(args) {
        return args.result;
      },
    },
    get count() {
      return count;
    },
  };
}

describe('storeMeterResolver', () => {
  dbTest('looks up one turn of unknown meters in one statement per utility', async ({ store }) => {
    const a = await seedBasics(store.db, 'ua');
    const b = await seedBasics(store.db, 'ub');
    const meters = await store.db.selectFrom('meters').select(['id', 'serial', 'utility_id']).execute();
    const ofA = meters.find((m) => m.id === a.meterId)!;
    const ofB = meters.find((m) => m.id === b.meterId)!;
    // A decommissioned meter is unknown.
    const gone = await store.db
      .insertInto('meters')
      .values({
        utility_id: a.utilityId,
        serial: 'GONE-1',
        kind: 'electricity',
        protocol: 'mqtt',
        mode: 'central',
        status: 'decommissioned',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    expect(gone.id).toBeTruthy();

    const counter = counting();
    const resolve = storeMeterResolver(store.db.withPlugin(counter.plugin));
    const answers = await Promise.all([
      resolve('ua', ofA.serial),
      resolve('ub', ofB.serial),
      resolve('ua', ofB.serial),
      resolve('ua', 'NO-SUCH'),
      resolve('ua', 'GONE-1'),
      resolve('ua', ofA.serial),
      resolve('nobody', ofA.serial),
    ]);
    expect(answers).toEqual([
      { meterId: a.meterId, utilityId: a.utilityId },
      { meterId: b.meterId, utilityId: b.utilityId },
      null,
      null,
      null,
      { meterId: a.meterId, utilityId: a.utilityId },
      null,
    ]);
    // Three utility codes asked in the turn: three statements, not seven.
    expect(counter.count).toBe(3);

    // Remembered: answered without a statement, at once.
    expect(resolve('ua', ofA.serial)).toEqual({ meterId: a.meterId, utilityId: a.utilityId });
    // Unknown meters are not remembered: asked again, looked up again.
    expect(await resolve('ua', 'NO-SUCH')).toBeNull();
    expect(counter.count).toBe(4);
  });
});
