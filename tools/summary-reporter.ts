import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends a Vitest run with one plain line, `tests: N passed, N failed[, N skipped]`, which CI reads
 * to tell a run that tested something from one that ran nothing.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[], unhandledErrors: readonly unknown[]): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const testModule of testModules) {
      const failedBefore = counts.failed;
      for (const test of testModule.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed' || state === 'failed' || state === 'skipped') counts[state]++;
      }
      // A file that failed to load, or whose setup hook failed (its tests then show as skipped),
      // must still count as a failure.
      if (testModule.state() === 'failed' && counts.failed === failedBefore) counts.failed++;
    }
    counts.failed += unhandledErrors.length;
    const skipped = counts.skipped > 0 ? `, ${counts.skipped} skipped` : '';
    process.stdout.write(`tests: ${counts.passed} passed, ${counts.failed} failed${skipped}\n`);
  }
}
