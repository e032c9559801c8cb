/**
 * ConntrackFlusher: when a local pod's address goes away, the conntrack entries naming it are
 * deleted — before the address can be programmed for another pod (a new pod must not inherit an
 * old pod's NAT or established-flow verdicts). Until the flush has succeeded, `isBlocked(dst)` holds
 * the route to that address back (RouteReconciler). Failures keep the address queued and retry.
 */
import type { ConntrackOps } from '../../src/kernel/index.js';
import { ApplyError, type ApplyStats } from './errors.js';
import type { Reconciler } from './reconciler.js';

const addressOf = (cidr: string): string => (cidr.includes('/') ? cidr.slice(0, cidr.indexOf('/')) : cidr);

export class ConntrackFlusher implements Reconciler {
  readonly name = 'conntrack';
  readonly #pending = new Set<string>();

  constructor(private readonly ops: ConntrackOps) {}

  /** Queue the flows of `cidr`'s address for deletion. */
  queueFlush(cidr: string): void {
    this.#pending.add(addressOf(cidr));
  }

  isBlocked(dst: string): boolean {
    return this.#pending.size > 0 && this.#pending.has(addressOf(dst));
  }

  queueResync(): void {
    // Nothing to read back: the queue is the state.
  }

  get hasPending(): boolean {
    return this.#pending.size > 0;
  }

  async apply(): Promise<ApplyStats> {
    let deleted = 0;
    for (const ip of [...this.#pending]) {
      try {
        deleted += await this.ops.deleteFlowsFor(ip);
      } catch (err) {
        throw new ApplyError(this.name, { upserted: 0, deleted }, { cause: err });
      }
      this.#pending.delete(ip);
    }
    return { upserted: 0, deleted };
  }
}
