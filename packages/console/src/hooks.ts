import { useSyncExternalStore } from 'react';

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
