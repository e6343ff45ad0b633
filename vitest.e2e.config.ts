import { defineConfig } from 'vitest/config';

/**
 * Rasid's browser tests: the web app in Debian's Chromium (/usr/bin/chromium, installed by .ci/browser) driven
 * by playwright-core, against a Rasid started in the test process. Screenshots go to test-output/screenshots/.
 * Run with `npx vitest run -c vitest.e2e.config.ts`. One file at a time: each starts a server and a browser.
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ['default'],
  },
});
