/**
 * A small History API router: the server answers every /admin/* page path with index.html, and
 * the console decides what to show from `location.pathname`.
 */
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/** `/admin/`, from Vite's `base`. */
export const BASE = import.meta.env.BASE_URL;
const NAVIGATE_EVENT = 'gatehouse:navigate';

function subscribe(listener: () => void): () => void {
  window.addEventListener('popstate', listener);
  window.addEventListener(NAVIGATE_EVENT, listener);
  return () => {
    window.removeEventListener('popstate', listener);
    window.removeEventListener(NAVIGATE_EVENT, listener);
  };
}

function currentPath(): string {
  return window.location.pathname;
}

/** The current path below the base, without leading or trailing slashes (`environments/dev`). */
export function usePath(): string {
  const pathname = useSyncExternalStore(subscribe, currentPath);
  const base = BASE.replace(/\/$/, '');
  const below = pathname.startsWith(base) ? pathname.slice(base.length) : pathname;
  return below.replace(/^\/+|\/+$/g, '');
}

/** A console path (`environments/dev`) as an absolute href (`/admin/environments/dev`). */
export function href(path: string): string {
  return `${BASE}${path.replace(/^\/+/, '')}`;
}

export function navigate(path: string, options: { replace?: boolean } = {}): void {
  const target = href(path);
  if (options.replace === true) window.history.replaceState(null, '', target);
  else window.history.pushState(null, '', target);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
  window.scrollTo(0, 0);
}

export const paths = {
  environments: (): string => 'environments',
  environment: (env: string): string => `environments/${encodeURIComponent(env)}`,
  client: (env: string, clientId: string): string =>
    `environments/${encodeURIComponent(env)}/clients/${encodeURIComponent(clientId)}`,
  audit: (): string => 'audit',
  operators: (): string => 'operators',
};

export type Route =
  | { readonly page: 'environments' }
  | { readonly page: 'environment'; readonly env: string }
  | { readonly page: 'client'; readonly env: string; readonly clientId: string }
  | { readonly page: 'audit' }
  | { readonly page: 'operators' }
  | { readonly page: 'not-found' };

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

export function matchRoute(path: string): Route {
  const parts = path === '' ? [] : path.split('/').map(decode);
  if (parts.some((part) => part === null || part === '')) return { page: 'not-found' };
  const [first, env, third, clientId, ...rest] = parts as string[];
  if (first === undefined) return { page: 'environments' };
  if (first === 'audit' && env === undefined) return { page: 'audit' };
  if (first === 'operators' && env === undefined) return { page: 'operators' };
  if (first !== 'environments') return { page: 'not-found' };
  if (env === undefined) return { page: 'environments' };
  if (third === undefined) return { page: 'environment', env };
  if (third === 'clients' && clientId !== undefined && rest.length === 0) {
    return { page: 'client', env, clientId };
  }
  return { page: 'not-found' };
}

type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> & { readonly to: string };

/** An ordinary link that moves within the console without reloading the page. */
export function Link({ to, onClick, ...rest }: LinkProps) {
  const handleClick = (event: MouseEvent<HTMLAnchorElement>): void => {
    onClick?.(event);
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      rest.target !== undefined ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    ) {
      return;
    }
    event.preventDefault();
    navigate(to);
  };
  return <a href={href(to)} onClick={handleClick} {...rest} />;
}
