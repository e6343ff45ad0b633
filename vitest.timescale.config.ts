import { defineConfig } from 'vitest/config';

/**
 * Rasid's suites on TimescaleDB: the cluster `.ci/timescaledb start` runs (TimescaleDB 2.28.3 built from the
 * vendored source, preloaded, port 5442), or TIMESCALE_DATABASE_URL. The store, ingest, balance and report
 * suites run again there, and the district-loss suite (its figures come from the continuous aggregate), plus test/timescale (the extension not preloaded, template copies with the
 * scheduler attached, roll-ups keeping history and late readings). `.ci/run` runs it; by hand:
 * `bash .ci/timescaledb start && npx vitest run -c vitest.timescale.config.ts`.
 */
const url = process.env.TIMESCALE_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5442/postgres';
const bin =
  process.env.RASID_TIMESCALE_BIN ??
  '/var/cache/rasid-ci/timescaledb-2.28.3-ec2f7de0ba53-pg15.20/usr/lib/postgresql/15/bin';

export default defineConfig({
  test: {
    reporters: ['default'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    include: [
      'test/timescale/**/*.test.ts',
      'test/pg/store.test.ts',
      'test/pg/ingest.test.ts',
      'test/pg/operator-reports.test.ts',
      'test/balance/engine.test.ts',
      'test/balance/scenarios.test.ts',
      'test/losses/district.test.ts',
    ],
    env: {
      DATABASE_URL: url,
      RASID_TEST_PG_URL: url,
      RASID_TEST_DIALECT: 'postgres',
      RASID_TIMESCALE_BIN: bin,
    },
  },
});
