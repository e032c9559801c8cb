/**
 * LinkReconciler: the MTU of each workload veth (host side), as the graph computed it. Only
 * `mgy` interfaces are touched (LinkOps refuses others). Resync lists the links; a veth that does
 * not exist (yet, or any more) is not an error: there is nothing to set. Without a resync a new
 * veth's MTU is set without reading it first (one `ip link set` — idempotent).
 */
import { isOwnedInterface, type LinkOps } from '../../src/kernel/index.js';
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

  async prefetch(): Promise<void> {
    if (!this.#resync) return;
    try {
      await this.#readKernel();
    } catch (err) {
      this.#resync = true;
      throw new ApplyError(this.name, { upserted: 0, deleted: 0 }, { cause: err });
    }
  }

  /**
   * Every `mgy` link's MTU (not only the desired ones: a read before in-sync knows few of them yet).
   * A desired veth that is not there has nothing to set: its mark is dropped.
   */
  async #readKernel(): Promise<void> {
    const links = await this.links.list();
    this.#actual.clear();
    for (const l of links) if (isOwnedInterface(l.name)) this.#actual.set(l.name, l.mtu);
    this.#dirty.clear();
    for (const i of this.#desired.keys()) if (this.#actual.has(i)) this.#dirty.add(i);
    this.#resync = false;
    this.#read = true;
  }

  async apply(): Promise<ApplyStats> {
    let upserted = 0;
    try {
      if (this.#resync) await this.#readKernel();
      for (const iface of [...this.#dirty]) {
        const want = this.#desired.get(iface);
        if (want !== undefined && this.#actual.get(iface) !== want) {
          await this.links.set(iface, { mtu: want });
          this.#actual.set(iface, want);
          upserted++;
        }
        if (this.#desired.get(iface) === want) this.#dirty.delete(iface); // changed meanwhile: next apply
      }
      return { upserted, deleted: 0 };
    } catch (err) {
      this.#resync = true;
      throw new ApplyError(this.name, { upserted, deleted: 0 }, { cause: err });
    }
  }
}
