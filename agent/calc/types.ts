/**
 * What goes into the calculation graph and what comes out of it. Pure data: the graph turns the
 * inputs below into a stream of desired-state updates (DataplaneSink), and the dataplane
 * (agent/dataplane) turns those into kernel state. Nothing here knows about processes or timers.
 */
import type { KindId, Resource } from '../../src/model/index.js';

export type IpFamily = 4 | 6;

/** How remote pod addresses are reached. */
export const ROUTING_MODES = ['bgp', 'host-gw'] as const;
export type RoutingMode = (typeof ROUTING_MODES)[number];

export interface CalcConfig {
  /** This node's name (Node metadata.name). */
  readonly nodeName: string;
  /**
   * `bgp`: remote blocks come from BGP-learned routes. `host-gw`: BGP is off; remote blocks are
   * routed via the owning node's address, from block affinities and Node addresses (Flannel's host-gw).
   */
  readonly routingMode: RoutingMode;
  /** Families to program. */
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  /** MTU of the host's uplink; veth MTUs are this minus the overhead of any enabled encapsulation. */
  readonly hostMtu: number;
  /** A fixed veth MTU (FELIX_VETHMTU / MARGAY_VETH_MTU); overrides the calculation when set. */
  readonly vethMtu?: number;
}

// ---------------------------------------------------------------------------------------------
// Inputs

/** A typed datastore change, as the ResourceCache delivers it. */
export type ResourceUpdate =
  | { readonly type: 'upserted'; readonly kind: KindId; readonly obj: Resource }
  | { readonly type: 'removed'; readonly kind: KindId; readonly key: string; readonly last: Resource };

/**
 * A local workload endpoint as the CNI ADD made it (host side of the veth and the pod's addresses).
 * `key` is the caller's identity for the endpoint (stable across agent restarts: e.g.
 * `<network>/<containerId>`); a second registration with the same key replaces the first.
 */
export interface WorkloadEndpointRegistration {
  readonly key: string;
  /** Kubernetes identity, when the pod is known (CNI_ARGS K8S_POD_NAMESPACE / K8S_POD_NAME). */
  readonly namespace?: string;
  readonly pod?: string;
  readonly containerId?: string;
  /** Host-side veth: `mgy` + 11 hex characters. */
  readonly iface: string;
  /** MAC of the pod's eth0 (a static neighbour entry on the veth points the pod's IPs at it). */
  readonly mac?: string;
  /** The pod's addresses as /32 and /128 CIDRs (a bare address is read as one). */
  readonly ipv4Nets: readonly string[];
  readonly ipv6Nets: readonly string[];
  /** Labels known at registration; the Pod object's labels win once it is seen. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A best-path change from the BGP speaker (the shape bgp/fib's FibChange has). */
export interface LearnedRoute {
  readonly prefix: string;
  /** Empty or null: withdrawn. */
  readonly nextHops: readonly string[] | null;
}

// ---------------------------------------------------------------------------------------------
// Outputs

/** A local workload endpoint as the dataplane programs it. */
export interface LocalEndpoint {
  readonly key: string;
  readonly iface: string;
  readonly mac?: string;
  readonly namespace?: string;
  readonly pod?: string;
  readonly containerId?: string;
  /** Canonical /32 and /128 CIDRs. */
  readonly ipv4Nets: readonly string[];
  readonly ipv6Nets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** Labels of the pod's Namespace (for namespaceSelector; empty when unknown). */
  readonly namespaceLabels: Readonly<Record<string, string>>;
  readonly mtu: number;
}

export const ROUTE_KINDS = ['workload', 'blackhole', 'remote'] as const;
/**
 * workload: a /32 or /128 to a local pod's veth. blackhole: a block this node owns (so addresses
 * not (yet) in use are dropped here instead of bouncing back out). remote: another node's block or
 * borrowed address, via BGP or host-gw next hops.
 */
export type RouteKind = (typeof ROUTE_KINDS)[number];

export interface DesiredRoute {
  /** Canonical CIDR; the key of the route. */
  readonly dst: string;
  readonly kind: RouteKind;
  /** workload: the veth. */
  readonly dev?: string;
  /** remote: one or more next hops (sorted); ECMP when several. */
  readonly nextHops?: readonly string[];
}

export const IPTABLES_TABLES = ['filter', 'nat'] as const;
export type ChainTable = (typeof IPTABLES_TABLES)[number];

/** One rule: the arguments after `-A CHAIN` (the dataplane adds the hash comment). */
export type RuleArgs = readonly string[];

export interface DesiredChain {
  readonly family: IpFamily;
  readonly table: ChainTable;
  /** `mgy-…`, at most 28 characters. */
  readonly name: string;
  readonly rules: readonly RuleArgs[];
}

export interface DesiredIpset {
  readonly family: IpFamily;
  /** `mgy…`, at most 31 characters. */
  readonly name: string;
  readonly type: 'hash:net' | 'hash:ip';
  /** Canonical CIDRs or addresses, sorted. */
  readonly members: readonly string[];
  /** Capacity (`maxelem`); the kernel's default (65536) when absent. */
  readonly maxElem?: number;
}

/**
 * Where the graph's output goes (the dataplane implements it). The sequencer calls it in dependency
 * order: ipset updates, chain updates (chains before the chains that jump to them), endpoints and
 * routes; then removals in reverse (routes and endpoints, chains, ipsets). Nothing is called before
 * the datastore is in sync; `inSync` comes right after the first complete batch.
 */
export interface DataplaneSink {
  ipsetUpdated(set: DesiredIpset): void;
  ipsetRemoved(family: IpFamily, name: string): void;
  chainUpdated(chain: DesiredChain): void;
  chainRemoved(family: IpFamily, table: ChainTable, name: string): void;
  endpointUpdated(ep: LocalEndpoint): void;
  endpointRemoved(key: string): void;
  routeUpdated(route: DesiredRoute): void;
  routeRemoved(dst: string): void;
  /** The first complete desired state has been delivered: the dataplane may remove what is not in it. */
  inSync(): void;
  /**
   * BGP-learned routes are complete (End-of-RIB from every peer, or BGP off): remote routes from
   * before a restart that nobody advertises any more may now be removed.
   */
  learnedRoutesInSync(): void;
}
