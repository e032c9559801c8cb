/**
 * LinkReconciler: the MTU of each workload veth (host side), as the graph computed it. Only
 * `mgy` interfaces are touched (LinkOps refuses others). Resync lists the links; a veth that does
 * not exist (yet, or any more) is not an error: there is nothing to set. Without a resync a new
 * veth's MTU is set without reading it first (one `ip link set` — idempotent).
 */
import type { LinkOps } from '../../src/kernel/index.js';
import { ApplyError, type ApplyStats } from './errors.js';
import type { Reconciler } from './reconciler.js';

export class LinkReconciler implements Reconciler {
  readonly name = 'links';
  readonly #desired = new Map<string, number>();
  readonly #actual = new Map<string, number>();
  readonly #dirty = new Set<string>();
  #resync = true;
  /** Read from the kernel at least once; a later queued (periodic) resync does not unprogram anything. */
  #read = false;

  constructor(private readonly links: LinkOps) {}

  setMtu(iface: string, mtu: number): void {
    this.#desired.set(iface, mtu);
    this.#dirty.add(iface);
  }

  remove(iface: string): void {
    this.#desired.delete(iface);
    this.#actual.delete(iface);
    this.#dirty.delete(iface);
  }

  queueResync(): void {
    this.#resync = true;
  }

  get hasPending(): boolean {
    return this.#resync || this.#dirty.size > 0;
  }

  isProgrammed(iface: string): boolean {
    return this.#read && !this.#dirty.has(iface);
  }

  async apply(): Promise<ApplyStats> {
    let upserted = 0;
    try {
      if (this.#resync) {
        const links = await this.links.list();
        this.#actual.clear();
        const present = new Set<string>();
        for (const l of links) {
          present.add(l.name);
          if (this.#desired.has(l.name)) this.#actual.set(l.name, l.mtu);
        }
        this.#dirty.clear();
        for (const i of this.#desired.keys()) if (present.has(i)) this.#dirty.add(i);
        this.#resync = false;
        this.#read = true;
      }
      for (const iface of [...this.#dirty]) {
        const want = this.#desired.get(iface);
        if (want !== undefined && this.#actual.get(iface) !== want) {
          await this.links.set(iface, { mtu: want });
          this.#actual.set(iface, want);
          upserted++;
        }
        this.#dirty.delete(iface);
      }
      return { upserted, deleted: 0 };
    } catch (err) {
      this.#resync = true;
      throw new ApplyError(this.name, { upserted, deleted: 0 }, { cause: err });
    }
  }
}
