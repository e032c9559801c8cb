/**
 * The clock and back-off the apply loop uses. Minimal and private until src/runtime (Clock,
 * Backoff) lands; injected so tests can drive time.
 */
export interface Timers {
  setTimeout(fn: () => void, ms: number): { cancel(): void };
  now(): number;
}

export const realTimers: Timers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
  now: () => performance.now(),
};

/** Capped exponential back-off: initial, ×2 per failure, at most max. */
export function backoffDelay(failures: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(failures - 1, 0), 20));
}
