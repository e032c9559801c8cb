/**
 * NeighborReconciler: a permanent neighbour entry for each local pod address on its veth (pod IP →
 * pod MAC), so the host never has to ARP/NDP for a pod (Felix does the same). One `ip -batch` per
 * apply. Only permanent entries on `mgy` interfaces are read back as ours; one that is not desired
 * (the pod is gone, the veth stayed) is deleted. Entries on a veth that has gone are skipped.
 */
import type { NeighborEntry, NeighborOps } from '../../src/kernel/index.js';
import { isOwnedInterface } from '../../src/kernel/index.js';
import { DeltaTracker } from './delta-tracker.js';
import { ApplyError, type ApplyStats } from './errors.js';
import type { Reconciler } from './reconciler.js';

const keyOf = (e: { readonly dev: string; readonly dst: string }): string => `${e.dev}|${e.dst}`;

export class NeighborReconciler implements Reconciler {
  readonly name = 'neighbours';
  readonly #tracker = new DeltaTracker<NeighborEntry>((a, b) => a.lladdr.toLowerCase() === b.lladdr.toLowerCase());
  readonly #byOwner = new Map<string, readonly NeighborEntry[]>();
  #resync = true;
  /** Read from the kernel at least once; a later queued (periodic) resync does not unprogram anything. */
  #read = false;

  constructor(private readonly ops: NeighborOps) {}

  setOwner(owner: string, entries: readonly NeighborEntry[]): void {
    this.removeOwner(owner);
    this.#byOwner.set(owner, entries);
    for (const e of entries) this.#tracker.setDesired(keyOf(e), e);
  }

  removeOwner(owner: string): void {
    for (const e of this.#byOwner.get(owner) ?? []) this.#tracker.deleteDesired(keyOf(e));
    this.#byOwner.delete(owner);
  }

  queueResync(): void {
    this.#resync = true;
  }

  get hasPending(): boolean {
    return this.#resync || this.#tracker.hasPending;
  }

  isProgrammed(owner: string): boolean {
    return this.#read && (this.#byOwner.get(owner) ?? []).every((e) => !this.#tracker.isPending(keyOf(e)));
  }

  async prefetch(): Promise<void> {
    if (!this.#resync) return;
    try {
      await this.#readKernel();
    } catch (err) {
      this.#resync = true;
      throw new ApplyError(this.name, { upserted: 0, deleted: 0 }, { cause: err });
    }
  }

  async #readKernel(): Promise<void> {
    const all = await this.ops.list({ proxy: false });
    const ours = all.filter((n) => isOwnedInterface(n.dev) && n.state.includes('PERMANENT') && n.lladdr !== undefined);
    this.#tracker.replaceActual(ours.map((n) => [keyOf(n), { dst: n.dst, dev: n.dev, lladdr: n.lladdr! }] as const));
    this.#resync = false;
    this.#read = true;
  }

  async apply(): Promise<ApplyStats> {
    let upserted = 0;
    let deleted = 0;
    try {
      if (this.#resync) await this.#readKernel();
      const replace = [...this.#tracker.pendingUpdates()].map(([, e]) => e);
      const remove = [...this.#tracker.pendingDeletions()].map(([, e]) => ({ dst: e.dst, dev: e.dev }));
      if (replace.length + remove.length > 0) await this.ops.apply({ replace, remove });
      for (const e of remove) this.#tracker.markDeleted(keyOf(e));
      for (const e of replace) this.#tracker.markApplied(keyOf(e), e);
      upserted = replace.length;
      deleted = remove.length;
      return { upserted, deleted };
    } catch (err) {
      this.#resync = true;
      throw new ApplyError(this.name, { upserted, deleted }, { cause: err });
    }
  }
}
