/**
 * Opening the datastore at start: an unreachable datastore is retried with capped, jittered
 * back-off while the agent reports not-ready — it never exits for that (calico-node behaves the
 * same). Only a ConfigError (an operator's mistake in the spec) ends the attempt, since retrying
 * cannot fix it. Stopping (the signal) ends the wait.
 */
import type { Datastore } from '../src/datastore/index.js';
import { ConfigError } from '../src/errors.js';
import type { Logger } from '../src/log.js';

export interface RetryPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** Capped exponential back-off with jitter in [0.5, 1] of the step. */
export function retryDelay(attempt: number, p: RetryPolicy, random: number): number {
  const base = Math.min(p.maxMs, p.initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(base * (0.5 + 0.5 * random));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export async function connectDatastore(
  open: () => Promise<Datastore>,
  opts: {
    readonly log: Logger;
    readonly policy: RetryPolicy;
    readonly signal: AbortSignal;
    readonly random?: () => number;
    readonly onFailure?: (err: unknown, attempt: number, delayMs: number) => void;
  },
): Promise<Datastore> {
  for (let attempt = 1; ; attempt++) {
    try {
      const store = await open();
      if (attempt > 1) opts.log.info({ attempts: attempt }, 'datastore reachable');
      return store;
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      const delay = retryDelay(attempt, opts.policy, (opts.random ?? Math.random)());
      opts.log.warn({ err, attempt, retryInMs: delay }, 'datastore unreachable; not ready, retrying');
      opts.onFailure?.(err, attempt, delay);
      await sleep(delay, opts.signal);
    }
  }
}
