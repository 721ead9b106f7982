import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Console component tests (.test.tsx) pick jsdom with a `@vitest-environment jsdom` comment;
    // everything else runs in Node.
    include: ['packages/*/test/**/*.test.{ts,tsx}'],
    // Property-based suites run thousands of cases; keep the per-test budget generous
    // rather than asserting anything about speed (that lives in `npm run bench`).
    testTimeout: 60_000,
    reporters: ['default', './tools/summary-reporter.ts'],
  },
});
