import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';

export type Resource<T> =
  | { readonly status: 'loading'; readonly data: undefined; readonly error: undefined }
  | { readonly status: 'ready'; readonly data: T; readonly error: undefined }
  | { readonly status: 'error'; readonly data: T | undefined; readonly error: unknown };

interface Settled<T> {
  readonly load: () => Promise<T>;
  readonly version: number;
  readonly data: T | undefined;
  readonly error: unknown;
  readonly failed: boolean;
}

/**
 * Loads data with `load` (keep it stable with useCallback) and again after `reload()`. While a
 * reload runs, the previous data stays on screen; `reloading` tells it is under way.
 */
export function useResource<T>(
  load: () => Promise<T>,
): Resource<T> & { readonly reload: () => void; readonly reloading: boolean } {
  const [version, setVersion] = useState(0);
  const [settled, setSettled] = useState<Settled<T> | null>(null);

  useEffect(() => {
    let current = true;
    load().then(
      (data) => {
        if (current) setSettled({ load, version, data, error: undefined, failed: false });
      },
      (error: unknown) => {
        if (current) {
          setSettled((previous) => ({
            load,
            version,
            data: previous?.load === load ? previous.data : undefined,
            error,
            failed: true,
          }));
        }
      },
    );
    return () => {
      current = false;
    };
  }, [load, version]);

  const reload = useCallback(() => {
    setVersion((v) => v + 1);
  }, []);

  // Data loaded for another `load` (another page's parameters) is not shown.
  const usable = settled !== null && settled.load === load ? settled : null;
  const reloading = usable === null || usable.version !== version;
  if (usable === null) {
    return { status: 'loading', data: undefined, error: undefined, reload, reloading };
  }
  if (usable.failed) {
    return { status: 'error', data: usable.data, error: usable.error, reload, reloading };
  }
  return { status: 'ready', data: usable.data as T, error: undefined, reload, reloading };
}

let now = Date.now();
const clockListeners = new Set<() => void>();
let clockTimer: number | undefined;

function subscribeClock(listener: () => void): () => void {
  clockListeners.add(listener);
  if (clockTimer === undefined) {
    now = Date.now();
    clockTimer = window.setInterval(() => {
      now = Date.now();
      for (const notify of clockListeners) notify();
    }, 15_000);
  }
  return () => {
    clockListeners.delete(listener);
    if (clockListeners.size === 0 && clockTimer !== undefined) {
      window.clearInterval(clockTimer);
      clockTimer = undefined;
    }
  };
}

/** The current time, updated every 15 seconds: for "expires in 5 minutes" texts. */
export function useNow(): number {
  return useSyncExternalStore(subscribeClock, () => now);
}
