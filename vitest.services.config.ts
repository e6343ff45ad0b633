import { defineConfig } from 'vitest/config';

/**
 * Rasid's suites that need the machine's services and tools: PostgreSQL (`DATABASE_URL`, default
 * postgres://postgres@127.0.0.1:5432/postgres; each test gets its own database cloned from a migrated
 * template, test/support/db.ts) in test/pg, and independent protocol tools from Debian (mbpoll, ...) in
 * test/interop. Run with `npx vitest run -c vitest.services.config.ts`; .ci/run installs the tools.
 */
export default defineConfig({
  test: {
    include: ['test/pg/**/*.test.ts', 'test/interop/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
