/**
 * Renders the console as the browser would (its routes, TanStack Query, the real API client) with
 * only `fetch` replaced: each test answers the admin API requests it expects.
 */
import { QueryClientProvider } from '@tanstack/react-query';
import { cleanup, configure, render } from '@testing-library/react';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { afterEach, vi } from 'vitest';
import { createQueryClient } from '../src/api/queryClient';
import { BASENAME } from '../src/paths';
import { routes } from '../src/routes';

// findBy* and waitFor wait for the page to settle, not a deadline: Testing Library's 1 s default
// ran out on a loaded machine with test files side by side (the page came, later).
configure({ asyncUtilTimeout: 10_000 });

export type Handler = (request: {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: unknown;
}) => Response | Promise<Response>;

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

export const OPERATOR = { id: 'op_1', email: 'olga@ops.example', role: 'admin' } as const;
export const SESSION = { operator: OPERATOR, csrfToken: 'csrf-token' };

/** Answers `GET /session` with a signed-in admin, and the rest from `answers` ("GET /audit"). */
export function api(answers: Readonly<Record<string, Handler>>, session: unknown = SESSION) {
  const calls: string[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    // The console calls fetch with a path string.
    const url = new URL(input as string, 'http://console.test');
    const method = init?.method ?? 'GET';
    const path = url.pathname.replace(/^\/api/, '');
    const key = `${method} ${path}`;
    calls.push(key);
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    if (key === 'GET /session' && !(key in answers))
      return json(session, session === null ? 401 : 200);
    const handler = answers[key];
    if (handler === undefined) return json({ error: 'not_found', message: `no ${key}` }, 404);
    return handler({ method, path, query: url.searchParams, body });
  });
  vi.stubGlobal('fetch', fetch);
  return { fetch, calls };
}

/** The console at `path` (below /admin). */
export function renderConsole(path: string) {
  const router = createMemoryRouter(routes, {
    initialEntries: [`${BASENAME}${path}`],
    basename: BASENAME || '/',
  });
  render(
    <QueryClientProvider client={createQueryClient()}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return router;
}

/** A promise the test settles when it wants: to see what the console shows meanwhile. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

window.scrollTo = () => undefined;
// jsdom has <dialog> without showModal() and close(): enough of them for the confirm dialog.
const dialog: Partial<Record<'showModal' | 'close', (this: HTMLDialogElement) => void>> =
  HTMLDialogElement.prototype;
dialog.showModal ??= function showModal() {
  this.open = true;
};
dialog.close ??= function close() {
  this.open = false;
};
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});
