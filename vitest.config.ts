import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './tools/test-sequencer.js';

/**
 * How many test files run at once. Most of the suite's time is spent waiting on other processes
 * (`gatehouse serve` children, PostgreSQL, Chromium, nginx, npm), so twice the CPU count keeps a
 * 2-core CI machine busy where Vitest's default (CPUs - 1: a single file at a time there) leaves
 * it idle. Capped so a large machine does not start dozens of Chromiums and PostgreSQL pools
 * (PostgreSQL's default max_connections is 100; a `serve` process pools up to 10).
 * GATEHOUSE_TEST_WORKERS overrides it (1: one file at a time).
 */
const WORKERS =
  Number(process.env.GATEHOUSE_TEST_WORKERS) ||
  Math.min(6, Math.max(2, 2 * availableParallelism()));

export default defineConfig({
  test: {
    // Console component tests (.test.tsx) pick jsdom with a `@vitest-environment jsdom` comment;
    // everything else runs in Node.
    include: ['packages/*/test/**/*.test.{ts,tsx}'],
    // Every file has its own throwaway databases, temporary folders and kernel-chosen ports, and
    // runs in a process of its own (the forks pool), so files can run side by side.
    maxWorkers: WORKERS,
    sequence: { sequencer: LongestFirstSequencer },
    // Property-based suites run thousands of cases, and with files side by side a test that
    // drives `gatehouse serve` processes under load (faults.test.ts) shares the CPUs with the
    // others: keep the per-test budget generous rather than asserting anything about speed
    // (that lives in `npm run bench`). A budget only ends a test that hangs.
    testTimeout: 180_000,
    // Hooks start servers, Chromium and throwaway databases; with files side by side on a small
    // machine that can take longer than Vitest's 10 s default without anything being wrong.
    hookTimeout: 60_000,
    reporters: ['default', './tools/summary-reporter.ts'],
  },
});
