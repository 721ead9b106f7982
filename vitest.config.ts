import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    // Property-based suites run thousands of cases; keep the per-test budget generous
    // rather than asserting anything about speed (that lives in `npm run bench`).
    testTimeout: 60_000,
    reporters: ['default', './tools/summary-reporter.ts'],
  },
});
