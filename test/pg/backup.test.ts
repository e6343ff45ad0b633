// Backup and point-in-time restore as docs/operations.md describes it, on a PostgreSQL cluster of the test's
// own (initdb in a temp folder, its own port, WAL archived to a folder): a base backup with pg_basebackup,
// vends written after it, a moment noted, more vends, then the backup restored with the archived WAL up to
// that moment. The vends before the moment are there, whole; none after it.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createDatabase, type Store } from '../../src/store/db.ts';
import { vendorFloat } from '../../src/store/ledger.ts';
import {
  createCluster,
  freePort,
  ownByPostgres,
  type PrivateCluster,
  writeOwned,
} from '../support/cluster.ts';
import { migrateOrThrow } from '../support/db.ts';
import { vendingWorld } from '../support/vending-fixture.ts';

let source: PrivateCluster;
let archive: string;

beforeAll(async () => {
  source = await createCluster({ name: 'backup' });
  archive = join(source.dir, 'wal-archive');
  mkdirSync(archive);
  ownByPostgres(archive);
  writeOwned(
    join(source.data, 'postgresql.auto.conf'),
    [
      'wal_level = replica',
      'archive_mode = on',
      `archive_command = 'test ! -f ${archive}/%f && cp %p ${archive}/%f'`,
      'max_wal_senders = 4',
      '',
    ].join('\n'),
  );
  await source.start();
  const admin = new pg.Client({ connectionString: source.url() });
  await admin.connect();
  await admin.query('create database rasid');
  await admin.end();
});

afterAll(async () => {
  await source?.remove();
});

async function one<R extends pg.QueryResultRow>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<R> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows[0]!;
  } finally {
    await client.end();
  }
}

test('a base backup and the WAL archive restore the vends up to a moment and none after it', async () => {
  const store: Store = await createDatabase({
    databaseUrl: source.url('rasid'),
    dataDir: ':memory:',
    poolSize: 2,
  });
  let restoredUrl = '';
  try {
    await migrateOrThrow(store);
    const world = await vendingWorld(store);
    const sell = (key: string) =>
      world.service.vend({
        utilityId: world.utilityId,
        meter: 'jo-M-0001',
        amountMinor: 1000n,
        channel: { kind: 'vendor', vendorId: world.vendorId, kioskId: world.kioskId },
        idempotencyKey: key,
        actor: 'kiosk:test',
      });
    await sell('before-backup');

    // The base backup (docs/operations.md): a consistent copy of the cluster while it serves.
    const base = join(source.dir, 'base');
    await source.tool('pg_basebackup', ['-d', source.url(), '-D', base, '-X', 'fetch', '-c', 'fast']);

    const kept = [await sell('kept-1'), await sell('kept-2')];
    const floatAtMoment = await vendorFloat(store.db, world.vendorId);
    // The moment to restore to, read from the server's clock after those commits.
    const { moment } = await one<{ moment: string }>(
      source.url(),
      'select clock_timestamp()::text as moment',
    );
    const lost = [await sell('lost-1'), await sell('lost-2')];
    expect(await vendorFloat(store.db, world.vendorId)).toBeLessThan(floatAtMoment);

    // Close the WAL segment holding the last vends and wait until the archive has it.
    const { segment } = await one<{ segment: string }>(
      source.url(),
      'select pg_walfile_name(pg_switch_wal()) as segment',
    );
    await expect
      .poll(() => readdirSync(archive).includes(segment), { timeout: 30_000, interval: 100 })
      .toBe(true);

    // Restore: the base backup as a new cluster, replaying the archive up to the moment, then promoted.
    const port = await freePort();
    writeOwned(
      join(base, 'postgresql.auto.conf'),
      [
        `port = ${port}`,
        'archive_mode = off',
        `restore_command = 'cp ${archive}/%f %p'`,
        `recovery_target_time = '${moment}'`,
        "recovery_target_action = 'promote'",
        '',
      ].join('\n'),
    );
    writeOwned(join(base, 'recovery.signal'), '');
    await source.tool('pg_ctl', [
      '-D',
      base,
      '-l',
      join(source.dir, 'restored.log'),
      '-w',
      '-t',
      '120',
      'start',
    ]);
    restoredUrl = `postgres://postgres@127.0.0.1:${port}/rasid`;
    await expect
      .poll(async () => (await one<{ r: boolean }>(restoredUrl, 'select pg_is_in_recovery() as r')).r, {
        timeout: 60_000,
        interval: 200,
      })
      .toBe(false);

    const restored = await createDatabase({ databaseUrl: restoredUrl, dataDir: ':memory:', poolSize: 1 });
    try {
      const vends = await restored.db
        .selectFrom('vends')
        .select(['idempotency_key', 'token'])
        .orderBy('created_at')
        .execute();
      expect(vends.map((v) => v.idempotency_key).sort()).toEqual(['before-backup', 'kept-1', 'kept-2']);
      // The vends kept are whole: the same tokens, and their ledger rows with them.
      expect(vends.filter((v) => v.idempotency_key.startsWith('kept')).map((v) => v.token)).toEqual(
        kept.map((k) => k.token),
      );
      const tokens = await restored.db.selectFrom('tokens').select('token').execute();
      for (const l of lost) expect(tokens.map((t) => t.token)).not.toContain(l.token);
      const ledger = await restored.db
        .selectFrom('account_ledger')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('kind', '=', 'vend')
        .executeTakeFirstOrThrow();
      expect(Number(ledger.n)).toBe(3);
      // The vendor's float is the one of the moment: the lost vends' debits are gone with them.
      expect(await vendorFloat(restored.db, world.vendorId)).toBe(floatAtMoment);
    } finally {
      await restored.close();
    }
  } finally {
    await store.close();
    await source
      .tool('pg_ctl', ['-D', join(source.dir, 'base'), '-m', 'immediate', '-w', 'stop'])
      .catch(() => '');
  }
});
