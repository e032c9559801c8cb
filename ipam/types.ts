import type { IpFamily } from './addr.js';
import type { PoolSource, PoolUse } from './pools.js';

/** The public request/result types of the Ipam service (ipam/index.ts). Stable: the CNI slice builds on them. */

export interface AssignRequest {
  /** CNI network name (netconf `name`). With containerId it makes the handle `<network>.<containerId>`. */
  readonly network: string;
  /** CNI_CONTAINERID. */
  readonly containerId: string;
  /** The node the pod runs on: blocks are claimed for, and allocated from, this node. */
  readonly node: string;
  /** Kubernetes identity; absent for a container without one (podman, plain containerd). */
  readonly pod?: { readonly namespace: string; readonly name: string } | undefined;
  /** Assign an IPv4 address (default true). */
  readonly ipv4?: boolean | undefined;
  /** Assign an IPv6 address (default false). */
  readonly ipv6?: boolean | undefined;
  /** Pool names or CIDRs from the CNI network config (`ipam.ipv4_pools`, `ipam.ipv6_pools`). */
  readonly ipv4Pools?: readonly string[] | undefined;
  readonly ipv6Pools?: readonly string[] | undefined;
  /**
   * The pod's and namespace's annotations (pool choice, `margay.dev/ipAddrs`). When omitted and
   * `pod` is given, the service reads the Pod and Namespace from the datastore.
   */
  readonly podAnnotations?: Readonly<Record<string, string>> | undefined;
  readonly namespaceAnnotations?: Readonly<Record<string, string>> | undefined;
  /** Fixed addresses (e.g. CNI_ARGS IP=); with `margay.dev/ipAddrs` these are the only ones assigned. */
  readonly addresses?: readonly string[] | undefined;
  /** What the address is for (pool allowedUses); default Workload. */
  readonly use?: PoolUse | undefined;
}

export interface AssignedAddress {
  /** Canonical address text, e.g. `10.65.0.7` or `fd00::7`. */
  readonly address: string;
  readonly family: IpFamily;
  /** The IPAMBlock CIDR it came from. */
  readonly block: string;
  /** The IPPool name. */
  readonly pool: string;
  readonly ordinal: number;
  /** The block's sequence number for this allocation (a stale release naming another one is refused). */
  readonly sequenceNumber: number;
  /** True when the block is affine to another node (Calico's borrowed address: needs a /32 route). */
  readonly borrowed: boolean;
  /** How the pool was chosen. */
  readonly source: PoolSource | 'fixed';
}

export interface AssignResult {
  readonly handleId: string;
  readonly addresses: readonly AssignedAddress[];
  /** True when the handle already held these addresses (a retried ADD): nothing new was allocated. */
  readonly existing: boolean;
}

export interface ReleasedAddress {
  readonly address: string;
  readonly block: string;
  readonly handleId: string | undefined;
}

export interface ReleaseRequest {
  readonly address: string;
  /** Only if still held by this handle. */
  readonly handleId?: string | undefined;
  /** Only if the allocation still carries this sequence number (from a check report). */
  readonly sequenceNumber?: number | undefined;
}

export interface ReleaseResult {
  readonly released: readonly ReleasedAddress[];
  readonly skipped: readonly { readonly address: string; readonly reason: string }[];
}

export interface CniAttachment {
  readonly containerId: string;
  readonly ifname?: string | undefined;
}
