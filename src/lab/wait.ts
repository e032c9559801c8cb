import { LabTimeoutError } from './errors.js';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `fn` until it returns a truthy value; throws LabTimeoutError naming `what` (with the last
 * error `fn` threw as its cause) on timeout.
 */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      const why = lastErr instanceof Error ? ` (last error: ${lastErr.message})` : '';
      throw new LabTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}${why}`, { cause: lastErr });
    }
    await sleep(everyMs);
  }
}
