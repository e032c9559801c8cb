/**
 * Capped exponential back-off with jitter for the Kubernetes backend's retries (watch reconnects,
 * relists). Pure: the random source is injected, and it computes delays without sleeping.
 *
 * delay(n) = min(maxMs, initialMs · factor^n) · (1 − jitter/2 + jitter · random()), never above maxMs.
 */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  /** 0 = no jitter; 0.5 = ±25 % around the exponential value. */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ initialMs: 250, maxMs: 30_000, factor: 2, jitter: 0.5 });

export class Backoff {
  #attempt = 0;

  constructor(
    private readonly opts: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** Consecutive failures so far. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next retry; each call counts one more failure. */
  next(): number {
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * this.opts.factor ** this.#attempt);
    this.#attempt += 1;
    const spread = 1 - this.opts.jitter / 2 + this.opts.jitter * this.random();
    return Math.round(Math.min(this.opts.maxMs, base * spread));
  }

  /** A success: the next failure starts again from initialMs. */
  reset(): void {
    this.#attempt = 0;
  }
}
