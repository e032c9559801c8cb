/**
 * The apply loop's time and back-off come from src/runtime (the one Clock and Backoff); this file
 * only fixes the loop's defaults.
 */
import type { BackoffPolicy } from '../../src/runtime/index.js';

/** Retry after a failed apply: 200 ms doubling to 30 s, with jitter (Felix retries similarly). */
export const DEFAULT_APPLY_BACKOFF: BackoffPolicy = { initial: 200, max: 30_000, jitter: [0.75, 1] };
