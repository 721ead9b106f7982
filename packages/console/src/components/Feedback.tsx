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
