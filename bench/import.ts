/**
 * `npm run bench -- import [--rows 50000] [--rounds 2] [--batch 1000] [--pg URL] [--only pglite|postgres]`
 *
 * Bulk import of meters (src/import/): rows/s of `rasid import meters` as it runs (read the CSV, check every
 * row's cells and STS parameters, look up the natural keys and vending keys, write in unnest batches, audit)
 * beside a plain `COPY meters FROM` of the same rows (CSV, server-side parse, no checks) measured in the same
 * run on the same database, on embedded PGlite and on PostgreSQL. Each round imports into a fresh utility
 * and copies into another, A B A B; the figures are medians.
 */
import { PGlite } from '@electric-sql/pglite';
import { stringify } from 'csv-stringify/sync';
import { sql } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { COLUMNS } from '../src/import/columns.ts';
import { runImport } from '../src/import/run.ts';
import { readSheet } from '../src/import/sheet.ts';
import { createDatabase, migrateToLatest, openPglite, type Store } from '../src/store/index.ts';
import type { UtilityId } from '../src/store/schema.ts';

interface Args {
  rows: number;
  rounds: number;
  batch: number;
  pg: string;
  only: string | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    rows: Number(get('rows') ?? '50000'),
    rounds: Number(get('rounds') ?? '2'),
    batch: Number(get('batch') ?? '1000'),
    pg: get('pg') ?? process.env.RASID_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    only: get('only'),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The meters file: every column of docs/import.md, STS parameters on every row, no account. */
function metersRows(n: number, prefix: string): string[][] {
  const rows: string[][] = [];
  for (let i = 0; i < n; i++) {
    rows.push([
      `${prefix}${String(i).padStart(7, '0')}`,
      i % 5 === 0 ? 'water' : 'electricity',
      'mqtt',
      i % 2 === 0 ? 'token' : 'central',
      '',
      '600727',
      String(10_000_000_000 + i).padStart(11, '0'),
      '123456',
      '01',
      '1',
      '2',
      '07',
      '2014',
      '255',
    ]);
  }
  return rows;
}

const COPY_COLUMNS =
  'utility_id, serial, kind, protocol, mode, sts_iin, sts_drn, sts_sgc, sts_ti, sts_krn, sts_kt, sts_ea, sts_base_date, sts_ken';

/** The same rows as COPY reads them: the utility first, the base date as a date, no account column. */
function copyCsv(rows: string[][], utilityId: string): string {
  return stringify(
    rows.map((r) => [utilityId, r[0], r[1], r[2], r[3], ...r.slice(5, 12), `${r[12]}-01-01`, r[13]]),
  );
}

async function newUtility(store: Store, code: string): Promise<UtilityId> {
  const r = await sql<{ id: UtilityId }>`
    insert into utilities (code, name, currency, currency_exponent, timezone)
    values (${code}, ${code}, 'OMR', 3, 'Asia/Muscat') returning id`.execute(store.db);
  return r.rows[0]!.id;
}

async function count(store: Store, utilityId: UtilityId): Promise<number> {
  const r = await sql<{
    n: string;
  }>`select count(*)::text as n from meters where utility_id = ${utilityId}`.execute(store.db);
  return Number(r.rows[0]!.n);
}

interface Target {
  name: string;
  store: Store;
  copy(csv: string): Promise<void>;
  close(): Promise<void>;
}

async function pgliteTarget(): Promise<Target> {
  const client = await PGlite.create();
  const store = await openPglite(client);
  const outcome = await migrateToLatest(store.db);
  if (outcome.error !== undefined) throw outcome.error;
  return {
    name: 'PGlite (in memory)',
    store,
    async copy(csv) {
      await client.query(`COPY meters (${COPY_COLUMNS}) FROM '/dev/blob' WITH (FORMAT csv)`, [], {
        blob: new Blob([csv]),
      });
    },
    close: () => store.close(),
  };
}

async function postgresTarget(url: string): Promise<Target> {
  const database = `rasid_bench_import_${process.pid}`;
  const adminUrl = new URL(url);
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  adminUrl.pathname = `/${database}`;
  const store = await createDatabase({ databaseUrl: adminUrl.toString(), dataDir: ':memory:', poolSize: 2 });
  const outcome = await migrateToLatest(store.db);
  if (outcome.error !== undefined) throw outcome.error;
  return {
    name: `PostgreSQL ${url.replace(/\/\/[^@]*@/, '//')}`,
    store,
    async copy(csv) {
      const client = await store.pool!.connect();
      try {
        const stream = client.query(copyFrom(`COPY meters (${COPY_COLUMNS}) FROM STDIN WITH (FORMAT csv)`));
        await new Promise<void>((resolve, reject) => {
          stream.on('finish', resolve);
          stream.on('error', reject);
          stream.end(csv);
        });
      } finally {
        client.release();
      }
    },
    async close() {
      await store.close();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    },
  };
}

async function measure(target: Target, args: Args, out: (l: string) => void): Promise<void> {
  const importRates: number[] = [];
  const copyRates: number[] = [];
  for (let round = 0; round < args.rounds; round++) {
    const rows = metersRows(args.rows, `R${round}-`);
    const file = Buffer.from(stringify([COLUMNS.meters.map((c) => c.name), ...rows]));
    // A: the import as `rasid import meters FILE` runs it, from the file's bytes.
    const a = await newUtility(target.store, `imp${round}`);
    const t0 = performance.now();
    const sheet = await readSheet(file, 'csv');
    const report = await runImport({
      db: target.store.db,
      utilityId: a,
      kind: 'meters',
      sheet,
      actor: { actor: 'system:bench', userId: null },
      batchSize: args.batch,
    });
    const importS = (performance.now() - t0) / 1000;
    if (report.added !== args.rows || (await count(target.store, a)) !== args.rows) {
      throw new Error(`import wrote ${report.added} rows, expected ${args.rows}`);
    }
    // B: the same rows through COPY.
    const b = await newUtility(target.store, `copy${round}`);
    const csv = copyCsv(rows, b);
    const t1 = performance.now();
    await target.copy(csv);
    const copyS = (performance.now() - t1) / 1000;
    if ((await count(target.store, b)) !== args.rows) throw new Error('COPY did not write every row');
    importRates.push(args.rows / importS);
    copyRates.push(args.rows / copyS);
    out(
      `  round ${round + 1}: import ${fmt(args.rows / importS)} rows/s (${importS.toFixed(2)} s), COPY ${fmt(args.rows / copyS)} rows/s (${copyS.toFixed(2)} s)`,
    );
  }
  const imp = median(importRates);
  const copy = median(copyRates);
  out(
    `  ${target.name}: import ${fmt(imp)} rows/s, COPY ${fmt(copy)} rows/s, ratio ${((imp / copy) * 100).toFixed(1)} % of COPY`,
  );
}

export async function run(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out('# import benchmark');
  out(
    `workload: ${fmt(args.rows)} meters per round (every docs/import.md column, STS parameters on every row, no account),`,
  );
  out(
    `  ${args.rounds} rounds A B: A = rasid import meters from the CSV bytes (parse, zod checks, key look-ups, unnest batches of ${args.batch}, audit),`,
  );
  out(
    '  B = plain COPY meters FROM of the same rows (CSV); each into a fresh utility of the same database; medians',
  );
  const targets: (() => Promise<Target>)[] = [];
  if (args.only !== 'postgres') targets.push(pgliteTarget);
  if (args.only !== 'pglite') targets.push(() => postgresTarget(args.pg));
  for (const make of targets) {
    const target = await make();
    try {
      out(`${target.name}:`);
      await measure(target, args, out);
    } finally {
      await target.close();
    }
  }
  out('goal: import >= 20 % of COPY');
}
