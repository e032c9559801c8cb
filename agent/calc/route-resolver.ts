/**
 * RouteResolver: every route this node wants, keyed by destination, one winner per destination.
 *
 *   endpointChanged ─────┐  (local /32, /128 → veth)
 *   blockOwnerChanged ───┤  (ours → blackhole; another node's → via it, host-gw)
 *   nodeAddressChanged ──┼──▶ [RouteResolver] ──▶ routeUpdated / routeRemoved ──▶ sequencer
 *   addressNodeChanged ──┤  (borrowed address on another node → via it, host-gw)
 *   learned BGP routes ──┘  (bgp mode: prefix → next hops)
 *
 * Precedence for one destination: a local workload, then a block this node owns (blackhole), then
 * a remote route. So a borrowed address of a local pod gets its /32 to the veth even inside another
 * node's block, a pod here using an address from our own block beats the blackhole by being more
 * specific, and a learned route never overrides what this node knows locally. In host-gw mode
 * remote blocks go via the owner's address of the block's family; a node without one is unreachable
 * (no route). Work is deferred to `flush()`.
 */
import { familyOfCidr } from './addr.js';
import type { NodeAddresses } from './node-address-index.js';
import type { CalcConfig, DesiredRoute, IpFamily, LearnedRoute, LocalEndpoint } from './types.js';

export interface RouteSink {
  routeUpdated(route: DesiredRoute): void;
  routeRemoved(dst: string): void;
}

export class RouteResolver {
  /** dst → endpoint key → veth. */
  readonly #workloads = new Map<string, Map<string, string>>();
  readonly #endpointDsts = new Map<string, readonly string[]>();
  readonly #blockOwner = new Map<string, string>();
  readonly #borrowed = new Map<string, string>();
  /** node → dsts (blocks and borrowed addresses) routed via it. */
  readonly #viaNode = new Map<string, Set<string>>();
  readonly #nodeAddrs = new Map<string, NodeAddresses>();
  readonly #learned = new Map<string, readonly string[]>();
  readonly #emitted = new Map<string, string>();
  readonly #dirty = new Set<string>();
  readonly #families: ReadonlySet<IpFamily>;

  constructor(
    private readonly config: CalcConfig,
    private readonly out: RouteSink,
  ) {
    this.#families = new Set<IpFamily>([...(config.ipv4 ? [4 as const] : []), ...(config.ipv6 ? [6 as const] : [])]);
  }

  endpointChanged(key: string, ep: LocalEndpoint | undefined): void {
    for (const dst of this.#endpointDsts.get(key) ?? []) {
      const m = this.#workloads.get(dst);
      m?.delete(key);
      if (m?.size === 0) this.#workloads.delete(dst);
      this.#dirty.add(dst);
    }
    const dsts = ep === undefined ? [] : [...ep.ipv4Nets, ...ep.ipv6Nets];
    if (dsts.length === 0) this.#endpointDsts.delete(key);
    else this.#endpointDsts.set(key, dsts);
    for (const dst of dsts) {
      const m = this.#workloads.get(dst) ?? new Map<string, string>();
      m.set(key, ep!.iface);
      this.#workloads.set(dst, m);
      this.#dirty.add(dst);
    }
  }

  blockOwnerChanged(cidr: string, owner: string | undefined): void {
    this.#unlinkNode(this.#blockOwner.get(cidr), cidr);
    if (owner === undefined) this.#blockOwner.delete(cidr);
    else {
      this.#blockOwner.set(cidr, owner);
      this.#linkNode(owner, cidr);
    }
    this.#dirty.add(cidr);
  }

  addressNodeChanged(dst: string, node: string | undefined): void {
    this.#unlinkNode(this.#borrowed.get(dst), dst);
    if (node === undefined) this.#borrowed.delete(dst);
    else {
      this.#borrowed.set(dst, node);
      this.#linkNode(node, dst);
    }
    this.#dirty.add(dst);
  }

  nodeAddressChanged(node: string, addrs: NodeAddresses | undefined): void {
    if (addrs === undefined) this.#nodeAddrs.delete(node);
    else this.#nodeAddrs.set(node, addrs);
    for (const dst of this.#viaNode.get(node) ?? []) this.#dirty.add(dst);
  }

  learnedRoutesChanged(routes: readonly LearnedRoute[]): void {
    for (const r of routes) {
      const hops = r.nextHops === null ? [] : [...new Set(r.nextHops)].sort();
      if (hops.length === 0) this.#learned.delete(r.prefix);
      else this.#learned.set(r.prefix, hops);
      this.#dirty.add(r.prefix);
    }
  }

  flush(): void {
    for (const dst of this.#dirty) {
      const r = this.#families.has(familyOfCidr(dst)) ? this.#compute(dst) : undefined;
      const text = r === undefined ? undefined : JSON.stringify(r);
      if (this.#emitted.get(dst) === text) continue;
      if (r === undefined) {
        this.#emitted.delete(dst);
        this.out.routeRemoved(dst);
      } else {
        this.#emitted.set(dst, text!);
        this.out.routeUpdated(r);
      }
    }
    this.#dirty.clear();
  }

  #compute(dst: string): DesiredRoute | undefined {
    const wl = this.#workloads.get(dst);
    if (wl !== undefined && wl.size > 0) {
      // Registered endpoints before pod-derived ones (`pod:` keys), then the lowest key: deterministic.
      const [, dev] = [...wl].sort(
        ([a], [b]) => Number(a.startsWith('pod:')) - Number(b.startsWith('pod:')) || (a < b ? -1 : 1),
      )[0]!;
      return { dst, kind: 'workload', dev };
    }
    const owner = this.#blockOwner.get(dst);
    if (owner === this.config.nodeName) return { dst, kind: 'blackhole' };
    if (this.config.routingMode === 'bgp') {
      const hops = this.#learned.get(dst);
      return hops === undefined ? undefined : { dst, kind: 'remote', nextHops: hops };
    }
    const node = owner ?? this.#borrowed.get(dst);
    if (node === undefined || node === this.config.nodeName) return undefined;
    const a = this.#nodeAddrs.get(node);
    const via = familyOfCidr(dst) === 4 ? a?.v4 : a?.v6;
    return via === undefined ? undefined : { dst, kind: 'remote', nextHops: [via] };
  }

  #linkNode(node: string, dst: string): void {
    const s = this.#viaNode.get(node) ?? new Set<string>();
    s.add(dst);
    this.#viaNode.set(node, s);
  }

  #unlinkNode(node: string | undefined, dst: string): void {
    if (node === undefined) return;
    const s = this.#viaNode.get(node);
    s?.delete(dst);
    if (s?.size === 0) this.#viaNode.delete(node);
  }
}
