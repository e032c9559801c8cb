import type { ApplyStats } from './errors.js';

/**
 * One kernel resource, reconciled (STYLE 2.1.5; bgp/fib/fib-sync.ts is the template): a DeltaTracker
 * of desired versus actual, `apply()` as its only I/O — batched, idempotent, writing only the
 * difference and touching only what carries Margay's marks — and `queueResync()` so the next apply
 * re-reads the kernel first. A failed apply queues a resync itself and throws ApplyError.
 */
export interface Reconciler {
  readonly name: string;
  queueResync(): void;
  apply(): Promise<ApplyStats>;
  /** True while something desired is not (known to be) in the kernel. */
  readonly hasPending: boolean;
}
