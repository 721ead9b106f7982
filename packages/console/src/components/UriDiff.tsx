import type { RedirectDiff } from '../api/types';

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function commonSuffix(a: string, b: string, prefix: number): number {
  let i = 0;
  while (
    i < a.length - prefix &&
    i < b.length - prefix &&
    a[a.length - 1 - i] === b[b.length - 1 - i]
  ) {
    i++;
  }
  return i;
}

function Line({
  label,
  text,
  start,
  end,
}: {
  readonly label: string;
  readonly text: string;
  readonly start: number;
  readonly end: number;
}) {
  const changed = text.slice(start, end);
  return (
    <div className="uri-diff-line">
      <span className="uri-diff-label">{label}</span>
      <code>
        {text.slice(0, start)}
        {changed === '' ? (
          <mark className="uri-diff-gap" title="nothing here" />
        ) : (
          <mark>{changed}</mark>
        )}
        {text.slice(end)}
      </code>
    </div>
  );
}

/**
 * A refused request next to the closest registration, monospace on two lines: the shared start
 * and end plain, the characters that differ highlighted.
 */
export function UriDiff({
  requested,
  closest,
  diff,
}: {
  readonly requested: string;
  readonly closest: string;
  readonly diff: RedirectDiff | null;
}) {
  // The server's index is where the request first differs from `diff.expected`; use it when that
  // is the registration shown, and work the index out otherwise (loopback port, wildcard label).
  const computed = commonPrefix(requested, closest);
  const start =
    diff !== null && diff.expected === closest && diff.index <= computed ? diff.index : computed;
  const suffix = commonSuffix(requested, closest, start);
  return (
    <div className="uri-diff" data-testid="uri-diff">
      <Line label="Requested" text={requested} start={start} end={requested.length - suffix} />
      <Line label="Registered" text={closest} start={start} end={closest.length - suffix} />
    </div>
  );
}
