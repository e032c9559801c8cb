/**
 * The one back-off: capped exponential with jitter. Pure at its core (`backoffDelay` takes the
 * failure count and a random number), with a small stateful `Backoff` for retry loops.
 *
 *   delay(n) = min(max, min(max, initial · factor^(n−1)) · spread),  spread ∈ [jitter[0], jitter[1]]
 *
 * Units are the caller's (milliseconds for loops, seconds for BGP's IdleHold). `n` counts
 * consecutive failures; 0 failures means no wait.
 */
export interface BackoffPolicy {
  readonly initial: number;
  readonly max: number;
  /** Growth per failure; default 2. */
  readonly factor?: number;
  /** The random spread factor range [low, high]; default [0.5, 1]. [1, 1] = no jitter. */
  readonly jitter?: readonly [number, number];
}

/** The delay after `failures` consecutive failures; `random` in [0, 1). */
export function backoffDelay(failures: number, p: BackoffPolicy, random: number): number {
  if (failures <= 0) return 0;
  const [lo, hi] = p.jitter ?? [0.5, 1];
  const base = Math.min(p.max, p.initial * (p.factor ?? 2) ** Math.min(failures - 1, 64));
  return Math.min(p.max, base * (lo + (hi - lo) * random));
}

/** Counts failures and hands out the next delay (rounded to whole units). */
export class Backoff {
  #failures = 0;

  constructor(
    readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /** Consecutive failures so far. */
  get attempt(): number {
    return this.#failures;
  }

  /** Counts one more failure and returns how long to wait before retrying. */
  next(): number {
    this.#failures += 1;
    return Math.round(backoffDelay(this.#failures, this.policy, this.random()));
  }

  /** A success: the next failure starts again from `initial`. */
  reset(): void {
    this.#failures = 0;
  }
}
