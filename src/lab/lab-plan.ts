/**
 * The lab as data: options (`margayctl lab up --nodes 3 --pods 2 --mode mesh ...`) → the topology
 * spec, the addresses, the ToR's peers and the manifests written into the shared datastore. Pure:
 * lab.ts carries the plan out.
 *
 *                          outside (198.18.0.2)  ← NAT-outgoing target; knows only the node subnet
 *                             │ 198.18.0.0/24
 *                 tor (AS 65000, bridge br0 10.99.0.1/24, fd00:99::1/64, forwards)
 *            ┌────────────────┼────────────────┐   one L2 segment: host-gw works, BGP peers directly
 *   node-1 10.99.0.11   node-2 10.99.0.12   node-N 10.99.0.(10+N)     margay-node in each
 *     pods (own netns, eth0 via the CNI plugin), pod pool 10.244.0.0/16 (/26 blocks), fd00:244::/48 (/122)
 */
import { TopologySpecError } from './errors.js';
import type { LinkSpec, TopologySpec } from './topology-spec.js';

export const LAB_MODES = ['mesh', 'rr', 'ebgp', 'host-gw'] as const;
export type LabMode = (typeof LAB_MODES)[number];
export const TOR_KINDS = ['bird', 'frr', 'margay-bgpd'] as const;
export type TorKind = (typeof TOR_KINDS)[number];

export interface LabOptions {
  /** Lab name: `[a-z][a-z0-9]{0,11}`; part of the namespace prefix. */
  readonly name: string;
  readonly nodes: number;
  readonly podsPerNode: number;
  readonly tor: TorKind;
  readonly mode: LabMode;
  readonly dualStack: boolean;
}

export const TOR_ASN = 65000;
export const CLUSTER_ASN = 64512;
export const POOL_V4 = '10.244.0.0/16';
export const POOL_V6 = 'fd00:244::/48';
export const OUTSIDE_IP = '198.18.0.2';
export const OUTSIDE_IP6 = 'fd00:98::2';
const TOR_IP = '10.99.0.1';
const TOR_IP6 = 'fd00:99::1';

export interface LabNode {
  readonly name: string;
  readonly index: number;
  readonly ip: string;
  readonly ip6: string | undefined;
  /** The node's own AS (eBGP mode), else the cluster's. */
  readonly asn: number;
  readonly routeReflector: boolean;
}

export interface LabPod {
  readonly name: string;
  readonly namespace: string;
  readonly node: string;
  /** Namespace node name in the topology (the pod's netns is `<prefix>-<netnsNode>`). */
  readonly netnsNode: string;
  readonly containerId: string;
}

export interface LabPlan {
  readonly options: LabOptions;
  readonly spec: TopologySpec;
  readonly tor: { readonly ip: string; readonly ip6: string | undefined; readonly asn: number };
  readonly nodes: readonly LabNode[];
  readonly pods: readonly LabPod[];
  /** Objects written into the datastore before the agents start (as `kubectl apply` would). */
  readonly manifests: readonly Record<string, unknown>[];
}

export function validateOptions(o: LabOptions): LabOptions {
  if (!/^[a-z][a-z0-9]{0,11}$/.test(o.name))
    throw new TopologySpecError('name', `${JSON.stringify(o.name)} must match [a-z][a-z0-9]{0,11}`);
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 50)
    throw new TopologySpecError('nodes', `must be a whole number 1..50, got ${o.nodes}`);
  if (!Number.isInteger(o.podsPerNode) || o.podsPerNode < 0 || o.podsPerNode > 50) {
    throw new TopologySpecError('pods', `must be a whole number 0..50, got ${o.podsPerNode}`);
  }
  if (!TOR_KINDS.includes(o.tor))
    throw new TopologySpecError('tor', `must be one of ${TOR_KINDS.join(', ')}, got ${JSON.stringify(o.tor)}`);
  if (!LAB_MODES.includes(o.mode))
    throw new TopologySpecError('mode', `must be one of ${LAB_MODES.join(', ')}, got ${JSON.stringify(o.mode)}`);
  if (o.mode === 'rr' && o.nodes < 2) throw new TopologySpecError('mode', 'route reflectors need at least 2 nodes');
  return o;
}

export function planLab(o: LabOptions, prefix: string): LabPlan {
  validateOptions(o);
  const nodes: LabNode[] = [];
  for (let i = 1; i <= o.nodes; i++) {
    nodes.push({
      name: `node-${i}`,
      index: i,
      ip: `10.99.0.${10 + i}`,
      ip6: o.dualStack ? `fd00:99::${(10 + i).toString(16)}` : undefined,
      asn: o.mode === 'ebgp' ? CLUSTER_ASN + i : CLUSTER_ASN,
      routeReflector: o.mode === 'rr' && i === 1,
    });
  }
  const pods: LabPod[] = [];
  for (const n of nodes) {
    for (let j = 1; j <= o.podsPerNode; j++) {
      pods.push({
        name: `pod-${n.index}-${j}`,
        namespace: 'default',
        node: n.name,
        netnsNode: `p${n.index}-${j}`,
        containerId: `${prefix}${n.index}x${j}`,
      });
    }
  }
  const v6 = (a: string): string[] => (o.dualStack ? [a] : []);
  const links: LinkSpec[] = [
    ...nodes.map((n) => ({
      a: { node: n.name, ifName: 'eth0', addresses: [`${n.ip}/24`, ...v6(`${n.ip6}/64`)] },
      b: { node: 'tor', ifName: `n${n.index}`, master: 'br0' },
    })),
    {
      a: { node: 'tor', ifName: 'outside', addresses: ['198.18.0.1/24', ...v6('fd00:98::1/64')] },
      b: { node: 'outside', ifName: 'eth0', addresses: [`${OUTSIDE_IP}/24`, ...v6(`${OUTSIDE_IP6}/64`)] },
    },
  ];
  const spec: TopologySpec = {
    prefix,
    nodes: [
      {
        name: 'tor',
        forwarding: true,
        bridges: [{ name: 'br0', addresses: [`${TOR_IP}/24`, ...v6(`${TOR_IP6}/64`)] }],
      },
      ...nodes.map((n) => ({
        name: n.name,
        forwarding: true,
        routes: [{ dst: 'default', via: TOR_IP }, ...(o.dualStack ? [{ dst: 'default', via: TOR_IP6 }] : [])],
      })),
      {
        name: 'outside',
        routes: [
          { dst: '10.99.0.0/24', via: '198.18.0.1' },
          ...(o.dualStack ? [{ dst: 'fd00:99::/64', via: 'fd00:98::1' }] : []),
        ],
      },
    ],
    links,
  };
  return {
    options: o,
    spec,
    tor: { ip: TOR_IP, ip6: o.dualStack ? TOR_IP6 : undefined, asn: TOR_ASN },
    nodes,
    pods,
    manifests: labManifests(o, nodes),
  };
}

function labManifests(o: LabOptions, nodes: readonly LabNode[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } },
    {
      apiVersion: 'margay.dev/v1',
      kind: 'IPPool',
      metadata: { name: 'lab-ipv4' },
      spec: { cidr: POOL_V4, blockSize: 26, natOutgoing: true, nodeSelector: 'all()' },
    },
  ];
  if (o.dualStack) {
    out.push({
      apiVersion: 'margay.dev/v1',
      kind: 'IPPool',
      metadata: { name: 'lab-ipv6' },
      spec: { cidr: POOL_V6, blockSize: 122, natOutgoing: false, nodeSelector: 'all()' },
    });
  }
  for (const n of nodes) {
    out.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: n.name,
        labels: { 'kubernetes.io/hostname': n.name, ...(n.routeReflector ? { 'route-reflector': 'true' } : {}) },
      },
      spec: n.routeReflector ? { bgp: { ipv4Address: `${n.ip}/24`, routeReflectorClusterID: '244.0.0.1' } } : {},
    });
  }
  if (o.mode === 'host-gw') return out;
  out.push({
    apiVersion: 'margay.dev/v1',
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec: { nodeToNodeMeshEnabled: o.mode === 'mesh', asNumber: CLUSTER_ASN },
  });
  // The ToR is a global peer (Calico's usual L3 design); in route-reflector mode the clients peer
  // with the reflector(s) by selector.
  out.push({
    apiVersion: 'margay.dev/v1',
    kind: 'BGPPeer',
    metadata: { name: 'tor' },
    spec: { peerIP: TOR_IP, asNumber: TOR_ASN },
  });
  if (o.dualStack)
    out.push({
      apiVersion: 'margay.dev/v1',
      kind: 'BGPPeer',
      metadata: { name: 'tor-v6' },
      spec: { peerIP: TOR_IP6, asNumber: TOR_ASN },
    });
  if (o.mode === 'rr') {
    // One BGPPeer, as Calico's docs write it: every node peers with the reflectors. A peering is
    // symmetric (the planner also gives a reflector the nodes whose BGPPeer selects it), so a
    // second "reflectors → all()" BGPPeer would only restate the same sessions.
    out.push({
      apiVersion: 'margay.dev/v1',
      kind: 'BGPPeer',
      metadata: { name: 'to-route-reflectors' },
      spec: { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" },
    });
  }
  return out;
}
