import { formatDateTime } from '../format';

/** A point in time in the console's one format, machine-readable in `dateTime`. */
export function DateTime({ ms, testId }: { readonly ms: number; readonly testId?: string }) {
  return (
    <time dateTime={new Date(ms).toISOString()} data-testid={testId}>
      {formatDateTime(ms)}
    </time>
  );
}

/** A value that is not there (null): an em dash, read out as "not set". */
export function Missing() {
  return (
    <span className="muted missing" title="not set">
      —<span className="visually-hidden">not set</span>
    </span>
  );
}

/**
 * A dotted name (`impersonation.token_issued`) that may wrap only after its dots, never inside
 * a word.
 */
export function DottedName({ name }: { readonly name: string }) {
  const parts = name.split('.');
  return (
    <code className="dotted-name">
      {parts.map((part, index) => (
        <span key={index}>
          {part}
          {index < parts.length - 1 && (
            <>
              .<wbr />
            </>
          )}
        </span>
      ))}
    </code>
  );
}
