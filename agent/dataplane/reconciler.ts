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
  /**
   * Does the resync read now (if one is pending) and writes nothing: the Dataplane calls it before
   * the datastore is in sync, so the first apply after in-sync only writes. A failure leaves the
   * resync pending (the apply reads again) and throws ApplyError.
   */
  prefetch?(): Promise<void>;
}
