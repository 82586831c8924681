import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['lambdas/**/*.test.ts', 'cli/**/*.test.ts', 'scripts/**/*.test.ts', 'statemachine/**/*.test.ts', 'infra-tests/**/*.test.ts'],
    // The audit log lines are asserted where they matter; elsewhere they would drown the output.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Unit tests are fast; the black-box suites start servers, so keep workers modest on a 2-core machine.
    maxWorkers: 2,
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
