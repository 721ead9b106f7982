import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Starts the longest test files first, so that with several files running at once the run does
 * not end waiting on one long file that started last.
 *
 * Vitest orders by the durations it cached on an earlier run, and on a fresh clone (CI: no cache)
 * by file size, which puts the long process and browser files anywhere. These name patterns are
 * the files that take longest by what they do (real `gatehouse serve` processes under load, an
 * `npm pack` + `npm install`, Chromium); measured on a 2-core machine, one file at a time:
 * faults ~77 s, packed-install ~37 s, multi-process ~29 s, the rest under ~20 s. A file that
 * matches no pattern keeps Vitest's own order after them, so a stale pattern only costs speed.
 */
const LONGEST_FIRST: readonly RegExp[] = [
  /\/faults\.test\.ts$/,
  /\/packed-install\.e2e\.test\.ts$/,
  /\/multi-process\.test\.ts$/,
  /-processes\.test\.ts$/,
  /\/revocation-latency\.e2e\.test\.ts$/,
  /\.e2e\.test\.tsx?$/,
];

function rank(spec: TestSpecification): number {
  const index = LONGEST_FIRST.findIndex((pattern) => pattern.test(spec.moduleId));
  return index === -1 ? LONGEST_FIRST.length : index;
}

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // Array.prototype.sort is stable: within a rank, Vitest's order (cached durations) stays.
    return sorted
      .map((spec, position) => ({ spec, position, rank: rank(spec) }))
      .sort((a, b) => a.rank - b.rank || a.position - b.position)
      .map(({ spec }) => spec);
  }
}
