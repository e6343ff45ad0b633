import { defineConfig } from 'vitest/config';

/**
 * Rasid's suites that need the machine's services and tools: PostgreSQL (`DATABASE_URL`, default
 * postgres://postgres@127.0.0.1:5432/postgres; each test gets its own database cloned from a migrated
 * template, test/support/db.ts) in test/pg, and independent protocol tools from Debian (mbpoll, ...) in
 * test/interop, the balance, command and outbox suites again on PostgreSQL, and the started-Rasid broker suite
 * against the machine's Mosquitto (127.0.0.1:1883, or RASID_TEST_MQTT_URL). Run with
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
            'test/balance/events.test.ts',
            'test/balance/scenarios.test.ts',
            'test/balance/tou.test.ts',
            'test/commands/dispatcher.test.ts',
            'test/commands/mqtt.test.ts',
            'test/notify/outbox.test.ts',
            'test/online/field-link.test.ts',
            'test/online/field-link-mqtt.test.ts',
            'test/online/field-link-modbus.test.ts',
            'test/notify/audience.test.ts',
            'test/notify/smpp.test.ts',
            'test/losses/district.test.ts',
            'test/losses/suspicions.test.ts',
          ],
          env: { RASID_TEST_DIALECT: 'postgres' },
          ...timeouts,
        },
      },
      {
        // The broker-facing suites of a started Rasid again, on the machine's Mosquitto (MQTT_URL).
        test: {
          name: 'mosquitto',
          include: ['test/online/start.test.ts', 'test/online/alerts.test.ts'],
          env: { RASID_TEST_MQTT_URL: process.env.RASID_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883' },
          ...timeouts,
        },
      },
    ],
  },
});
