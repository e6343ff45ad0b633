import { defineConfig } from 'vitest/config';

/**
 * Rasid's suites against the machine's PostgreSQL (`DATABASE_URL`, default
 * postgres://postgres@127.0.0.1:5432/postgres): `npx vitest run -c vitest.pg.config.ts`. Each test gets its
 * own database cloned from a migrated template (test/support/db.ts), so files run in parallel.
 */
export default defineConfig({
  test: {
    include: ['test/pg/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
