import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'protocols/**/*.test.ts'],
    exclude: ['test/pg/**', 'test/e2e/**', 'test/timescale/**', 'node_modules/**'],
    // vitest's default of one file at a time on a 2-core machine: two at a time made the simulator's district
    // and the lifecycle's charging suites miss their moments. The timeouts leave room for a loaded machine.
    testTimeout: 40_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
