import type { ReactNode } from 'react';
import { ApiError, errorMessage } from '../api/http';

interface RefusedDetail {
  readonly uri: string;
  readonly message: string;
}

function refusedDetails(details: unknown): readonly RefusedDetail[] {
  if (!Array.isArray(details)) return [];
  return details.flatMap((item: unknown) => {
    if (typeof item !== 'object' || item === null) return [];
    const { uri, message } = item as Record<string, unknown>;
    return typeof uri === 'string' && typeof message === 'string' ? [{ uri, message }] : [];
  });
}

/** A failed request or action: the server's `message`, and the URIs it refused where it lists them. */
export function ErrorAlert({ error }: { readonly error: unknown }) {
  if (error === undefined || error === null) return null;
  const details = error instanceof ApiError ? refusedDetails(error.details) : [];
  return (
    <div className="alert alert-error" role="alert">
      <p>{errorMessage(error)}</p>
      {details.length > 1 && (
        <ul>
          {details.map((detail) => (
            <li key={detail.uri}>
              <code>{detail.uri}</code>: {detail.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Notice({ children }: { readonly children: ReactNode }) {
  return (
    <div className="alert alert-success" role="status">
      {children}
    </div>
  );
}

export function Loading({ what }: { readonly what: string }) {
  return (
    <p className="loading" role="status">
      Loading {what}…
    </p>
  );
}

/**
 * A loaded list's states: the failure (or `error`, that of an action on it), "Loading…", the
 * `empty` text when it has no entries, else `children` with its entries.
 */
export function ListState<T>({
  query,
  what,
  items = query.data,
  empty,
  error,
  children,
}: {
  readonly query: {
    readonly data: readonly T[] | undefined;
    readonly isPending: boolean;
    readonly error: unknown;
  };
  /** "users": Loading users… */
  readonly what: string;
  /** The entries to show, when not all of `query.data`. */
  readonly items?: readonly T[] | undefined;
  readonly empty?: ReactNode;
  readonly error?: unknown;
  readonly children: (items: readonly T[]) => ReactNode;
}) {
  return (
    <>
      <ErrorAlert error={query.error ?? error} />
      {items === undefined
        ? query.isPending && <Loading what={what} />
        : items.length === 0 && empty !== undefined
          ? empty
          : children(items)}
    </>
  );
}

/** A table of entries: the column headings, an unlabelled actions column when `actions`. */
export function Table({
  columns,
  actions = false,
  className = 'table-wrap',
  children,
}: {
  readonly columns: readonly string[];
  readonly actions?: boolean;
  readonly className?: string;
  /** The rows. */
  readonly children: ReactNode;
}) {
  return (
    <div className={className}>
      <table>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
            {actions && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
