/**
 * Back-off between connection attempts (RFC 4271 §8.1.1 IdleHoldTimer / DampPeerOscillations flavour).
 * Pure: the driver supplies the failure count, how long the last session was up and a random number.
 *
 * A session that ends with an error waits initial·2^(failures-1) seconds, capped at max, scaled by a
 * jitter factor in [0.75, 1] (RFC 4271 §10). The count resets only after a session stayed Established
 * for `stableSeconds`: a peer that establishes and then breaks every time keeps backing off, so it can
 * never make us flap at line rate.
 */
export interface BackoffParams {
  readonly initialSeconds: number;
  readonly maxSeconds: number;
  readonly stableSeconds: number;
}

/** The failure count after a session ended. `upSeconds` is how long it was Established (0 if never). */
export function nextFailureCount(prev: number, error: boolean, upSeconds: number, p: BackoffParams): number {
  if (!error) return upSeconds >= p.stableSeconds ? 0 : prev;
  return upSeconds >= p.stableSeconds ? 1 : prev + 1;
}

/** Seconds to stay Idle before the next attempt. `random` in [0, 1). 0 failures: start at once. */
export function backoffSeconds(failures: number, p: BackoffParams, random: number): number {
  if (failures <= 0) return 0;
  const base = Math.min(p.maxSeconds, p.initialSeconds * 2 ** Math.min(failures - 1, 30));
  return base * (0.75 + 0.25 * random);
}

/** RFC 4271 §10 jitter for ConnectRetry and Keepalive timers: a factor in [0.75, 1]. */
export function jitter(seconds: number, random: number): number {
  return seconds * (0.75 + 0.25 * random);
}
