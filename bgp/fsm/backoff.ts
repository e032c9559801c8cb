/**
 * Back-off between connection attempts (RFC 4271 §8.1.1 IdleHoldTimer / DampPeerOscillations flavour).
 * Pure: the driver supplies the failure count, how long the last session was up and a random number.
 *
 * A session that ends with an error waits initial·2^(failures-1) seconds, capped at max, scaled by a
 * jitter factor in [0.75, 1] (RFC 4271 §10). The count resets only after a session stayed Established
 * for `stableSeconds`: a peer that establishes and then breaks every time keeps backing off, so it can
 * never make us flap at line rate.
 */
import { backoffDelay } from '../../src/runtime/index.js';

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
  return backoffDelay(failures, { initial: p.initialSeconds, max: p.maxSeconds, jitter: RFC4271_JITTER }, random);
}

/** RFC 4271 §10 jitter for ConnectRetry and Keepalive timers: a factor in [0.75, 1]. */
export function jitter(seconds: number, random: number): number {
  return seconds * (RFC4271_JITTER[0] + (RFC4271_JITTER[1] - RFC4271_JITTER[0]) * random);
}

/** RFC 4271 §10: timers are multiplied by a random factor in [0.75, 1]. */
const RFC4271_JITTER = [0.75, 1] as const;
