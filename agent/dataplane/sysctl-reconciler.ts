/**
 * SysctlReconciler: the kernel parameters the dataplane needs, per namespace (SysctlOps).
 *
 *   global:     net.ipv4.ip_forward=1, net.ipv6.conf.all.forwarding=1 (per enabled family)
 *   per veth:   IPv4 forwarding=1, proxy_arp=1 (the pod's gateway 169.254.1.1 is answered by the
 *               host), rp_filter=1 (strict: a pod cannot spoof another's address, as Calico sets
 *               it), neigh proxy_delay=0; IPv6 forwarding=1, proxy_ndp=1, accept_ra=0
 *
 * Keys are written in one `sysctl -w` per apply. Resync re-reads the desired keys, so a value changed
 * by hand is set back within the refresh interval. Keys of an interface that has gone (the pod was
 * deleted before its endpoint was) are skipped, not retried forever.
 */
import type { SysctlOps } from '../../src/kernel/index.js';
import { normalizeSysctlKey } from '../../src/kernel/index.js';
import type { IpFamily } from '../calc/index.js';
import { ApplyError, type ApplyStats } from './errors.js';
import type { Reconciler } from './reconciler.js';

export function globalSysctls(families: readonly IpFamily[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (families.includes(4)) out['net/ipv4/ip_forward'] = '1';
  if (families.includes(6)) out['net/ipv6/conf/all/forwarding'] = '1';
  return out;
}

export function interfaceSysctls(iface: string, families: readonly IpFamily[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (families.includes(4)) {
    out[`net/ipv4/conf/${iface}/forwarding`] = '1';
    out[`net/ipv4/conf/${iface}/proxy_arp`] = '1';
    out[`net/ipv4/conf/${iface}/rp_filter`] = '1';
    out[`net/ipv4/neigh/${iface}/proxy_delay`] = '0';
  }
  if (families.includes(6)) {
    out[`net/ipv6/conf/${iface}/forwarding`] = '1';
    out[`net/ipv6/conf/${iface}/proxy_ndp`] = '1';
    out[`net/ipv6/conf/${iface}/accept_ra`] = '0';
  }
  return out;
}

export class SysctlReconciler implements Reconciler {
  readonly name = 'sysctls';
  /** Owner (`global` or an endpoint key) → its keys. */
  readonly #owners = new Map<string, Record<string, string>>();
  readonly #desired = new Map<string, string>();
  readonly #applied = new Map<string, string>();
  readonly #dirty = new Set<string>();
  #resync = true;
  /** Read from the kernel at least once; a later queued (periodic) resync does not unprogram anything. */
  #read = false;

  constructor(private readonly ops: SysctlOps) {}

  setOwner(owner: string, entries: Readonly<Record<string, string>>): void {
    this.removeOwner(owner);
    const norm: Record<string, string> = {};
    for (const [k, v] of Object.entries(entries)) norm[normalizeSysctlKey(k)] = v;
    this.#owners.set(owner, norm);
    for (const [k, v] of Object.entries(norm)) {
      this.#desired.set(k, v);
      this.#dirty.add(k);
    }
  }

  removeOwner(owner: string): void {
    const prev = this.#owners.get(owner);
    if (prev === undefined) return;
    this.#owners.delete(owner);
    // A key of a removed interface is not set back: the interface is gone or going.
    for (const k of Object.keys(prev)) {
      this.#desired.delete(k);
      this.#applied.delete(k);
      this.#dirty.delete(k);
    }
  }

  queueResync(): void {
    this.#resync = true;
  }

  get hasPending(): boolean {
    return this.#resync || this.#dirty.size > 0;
  }

  isProgrammed(owner: string): boolean {
    const keys = this.#owners.get(owner);
    return this.#read && (keys === undefined || Object.keys(keys).every((k) => !this.#dirty.has(k)));
  }

  async apply(): Promise<ApplyStats> {
    let upserted = 0;
    try {
      if (this.#resync) {
        const keys = [...this.#desired.keys()];
        const got = keys.length === 0 ? new Map<string, string | undefined>() : await this.ops.getMany(keys);
        this.#applied.clear();
        for (const [k, v] of got) if (v !== undefined) this.#applied.set(k, v);
        for (const k of keys) {
          if (!got.has(k) || got.get(k) === undefined)
            this.#dirty.delete(k); // the interface is gone: nothing to set
          else this.#dirty.add(k);
        }
        this.#resync = false;
        this.#read = true;
      }
      const write: Record<string, string> = {};
      const batch = new Map<string, string | undefined>();
      for (const k of this.#dirty) {
        const v = this.#desired.get(k);
        batch.set(k, v);
        if (v !== undefined && this.#applied.get(k) !== v) write[k] = v;
      }
      const n = Object.keys(write).length;
      if (n > 0) await this.ops.setMany(write);
      for (const [k, v] of Object.entries(write)) this.#applied.set(k, v);
      // A key set again while the writes were in flight stays dirty for the next apply.
      for (const [k, v] of batch) if (this.#desired.get(k) === v) this.#dirty.delete(k);
      upserted = n;
      return { upserted, deleted: 0 };
    } catch (err) {
      this.#resync = true;
      throw new ApplyError(this.name, { upserted, deleted: 0 }, { cause: err });
    }
  }
}
