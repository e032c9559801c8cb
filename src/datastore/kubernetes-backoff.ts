/**
 * Capped exponential back-off with jitter for the Kubernetes backend's retries (watch reconnects,
 * relists): src/runtime's Backoff with this backend's defaults. Pure: the random source is injected,
 * and it computes delays without sleeping.
 *
 * delay(n) = min(maxMs, initialMs · factor^n) · (1 − jitter/2 + jitter · random()), never above maxMs.
 */
import { Backoff as RuntimeBackoff } from '../runtime/index.js';

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  /** 0 = no jitter; 0.5 = ±25 % around the exponential value. */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ initialMs: 250, maxMs: 30_000, factor: 2, jitter: 0.5 });

export class Backoff extends RuntimeBackoff {
  constructor(opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random) {
    super(
      {
        initial: opts.initialMs,
        max: opts.maxMs,
        factor: opts.factor,
        jitter: [1 - opts.jitter / 2, 1 + opts.jitter / 2],
      },
      random,
    );
  }
}
