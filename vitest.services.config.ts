import { defineConfig } from 'vitest/config';

/**
 * Rasid's suites that need the machine's services and tools: PostgreSQL (`DATABASE_URL`, default
 * postgres://postgres@127.0.0.1:5432/postgres; each test gets its own database cloned from a migrated
 * template, test/support/db.ts) in test/pg, and independent protocol tools from Debian (mbpoll, ...) in
 * test/interop, and the balance, command and outbox suites again on PostgreSQL. Run with
 * `npx vitest run -c vitest.services.config.ts`; .ci/run installs the tools.
 */
const timeouts = { testTimeout: 30_000, hookTimeout: 120_000 };

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'services',
          include: ['test/pg/**/*.test.ts', 'test/interop/**/*.test.ts'],
          ...timeouts,
        },
      },
      {
        // Suites written once against `SUITE_DIALECT` (test/support/db.ts), here on PostgreSQL.
        test: {
          name: 'postgres',
          include: [
            'test/balance/engine.test.ts',
            'test/balance/scenarios.test.ts',
            'test/commands/dispatcher.test.ts',
            'test/commands/mqtt.test.ts',
            'test/notify/outbox.test.ts',
          ],
          env: { RASID_TEST_DIALECT: 'postgres' },
          ...timeouts,
        },
      },
    ],
  },
});
