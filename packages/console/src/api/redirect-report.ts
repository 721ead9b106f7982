/**
 * The redirect inventory report of an environment (issue #18): read as JSON for the page, and
 * fetched as a file (CSV, Markdown, JSON) for the export button.
 */
import { useQuery } from '@tanstack/react-query';
import { API_BASE, ApiError, request } from './http';
import { keys } from './queries';
import type { components } from './schema';

export type RedirectReport = components['schemas']['RedirectReport'];
export type InventoryClient = components['schemas']['RedirectInventoryClient'];
export type InventoryEntry = components['schemas']['RedirectInventoryEntry'];
export type ReportFlag = components['schemas']['RedirectReportFlag'];
export type ReportFormat = 'csv' | 'md' | 'json';

export interface ReportWindow {
  readonly unusedDays?: number;
  readonly expiringDays?: number;
}

const reportPath = (env: string) => `/environments/${encodeURIComponent(env)}/redirect-report`;

/** Under the environment's key: any change there (a client, a URI) refetches it. */
export const reportKey = (env: string, window: ReportWindow) =>
  [...keys.environment(env), 'redirect-report', window.unusedDays, window.expiringDays] as const;

export const useRedirectReport = (env: string, window: ReportWindow) =>
  useQuery({
    queryKey: reportKey(env, window),
    queryFn: () =>
      request<RedirectReport>('GET', reportPath(env), {
        query: { unusedDays: window.unusedDays, expiringDays: window.expiringDays },
      }),
  });

/** The report as the file the server offers (its name from Content-Disposition). */
export async function fetchReportFile(
  env: string,
  format: ReportFormat,
  window: ReportWindow,
): Promise<{ readonly name: string; readonly blob: Blob }> {
  const params = new URLSearchParams({ format });
  if (window.unusedDays !== undefined) params.set('unusedDays', String(window.unusedDays));
  if (window.expiringDays !== undefined) params.set('expiringDays', String(window.expiringDays));
  let response: Response;
  try {
    response = await fetch(`${API_BASE}${reportPath(env)}?${params.toString()}`, {
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'network_error', 'The Gatehouse server could not be reached.');
  }
  if (!response.ok)
    throw new ApiError(response.status, 'http_error', `The export failed (${response.status}).`);
  const disposition = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '');
  const name =
    disposition?.[1] ??
    `redirect-inventory-${env.replace(/[^A-Za-z0-9_.-]/g, '_')}-${new Date().toISOString().slice(0, 10)}.${format}`;
  return { name, blob: await response.blob() };
}
