/**
 * A node's BGP identity (address, AS, route-reflector cluster ID), read from the Node object the way
 * the agent records it: `spec.bgp` in file mode (Calico's v3 Node field), annotations in Kubernetes
 * mode (the API server owns a Node's spec), where Calico's `projectcalico.org/` annotations are also
 * read so a migrated cluster keeps its peering. Pure.
 */
import type { Node } from '../../src/model/index.js';
import { familyIs } from '../../src/config/index.js';
import { parseAsNumber, parseCidr } from '../../src/model/index.js';

export const NODE_BGP_ANNOTATIONS = {
  ipv4: 'margay.dev/IPv4Address',
  ipv6: 'margay.dev/IPv6Address',
  asNumber: 'margay.dev/ASNumber',
  rrClusterId: 'margay.dev/RouteReflectorClusterID',
} as const;
const CALICO_PREFIX = 'projectcalico.org/';

export interface NodeBgp {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Address without prefix length. */
  readonly ipv4: string | undefined;
  readonly ipv6: string | undefined;
  readonly asNumber: number | undefined;
  readonly rrClusterId: string | undefined;
}

function annotation(node: Node, key: string): string | undefined {
  const a = node.metadata.annotations ?? {};
  const short = key.slice(key.indexOf('/') + 1);
  return a[key] ?? a[`${CALICO_PREFIX}${short}`];
}

function addressOf(cidr: string | undefined, family: 4 | 6): string | undefined {
  if (cidr === undefined) return undefined;
  const c = parseCidr(cidr, { allowBareIp: true });
  return c && familyIs(c.family, family) ? c.address : undefined;
}

export function nodeBgp(node: Node): NodeBgp {
  // A Node straight from the API server may lack spec altogether.
  const spec = (node.spec as Node['spec'] | undefined)?.bgp;
  const asText = annotation(node, NODE_BGP_ANNOTATIONS.asNumber);
  const rr = spec?.routeReflectorClusterID ?? annotation(node, NODE_BGP_ANNOTATIONS.rrClusterId);
  return {
    name: node.metadata.name,
    labels: node.metadata.labels ?? {},
    ipv4: addressOf(spec?.ipv4Address ?? annotation(node, NODE_BGP_ANNOTATIONS.ipv4), 4),
    ipv6: addressOf(spec?.ipv6Address ?? annotation(node, NODE_BGP_ANNOTATIONS.ipv6), 6),
    asNumber: spec?.asNumber ?? (asText === undefined ? undefined : parseAsNumber(asText)),
    rrClusterId: rr !== undefined && rr !== '' ? rr : undefined,
  };
}

/** What this agent records about its own node. */
export interface OwnNodeBgp {
  readonly ipv4Cidr: string | undefined;
  readonly ipv6Cidr: string | undefined;
  readonly asNumber: number | undefined;
}

/**
 * The Node object with this node's BGP address and AS recorded (spec.bgp in file mode, annotations in
 * Kubernetes mode), or undefined when it already says so. The route-reflector cluster ID is the
 * operator's and is kept as is.
 */
export function withOwnBgp(node: Node, own: OwnNodeBgp, mode: 'file' | 'kubernetes'): Node | undefined {
  if (mode === 'file') {
    const cur = (node.spec as Node['spec'] | undefined)?.bgp ?? {};
    const next = {
      ...cur,
      ...(own.ipv4Cidr !== undefined ? { ipv4Address: own.ipv4Cidr } : {}),
      ...(own.ipv6Cidr !== undefined ? { ipv6Address: own.ipv6Cidr } : {}),
      ...(own.asNumber !== undefined ? { asNumber: own.asNumber } : {}),
    };
    if (own.ipv4Cidr === undefined) delete next.ipv4Address;
    if (own.ipv6Cidr === undefined) delete next.ipv6Address;
    if (own.asNumber === undefined) delete next.asNumber;
    if (JSON.stringify(next) === JSON.stringify(cur)) return undefined;
    return { ...node, spec: { ...(node.spec ?? {}), bgp: next } };
  }
  const ann: Record<string, string> = { ...(node.metadata.annotations ?? {}) };
  const set = (k: string, v: string | undefined): void => {
    if (v === undefined) delete ann[k];
    else ann[k] = v;
  };
  set(NODE_BGP_ANNOTATIONS.ipv4, own.ipv4Cidr);
  set(NODE_BGP_ANNOTATIONS.ipv6, own.ipv6Cidr);
  set(NODE_BGP_ANNOTATIONS.asNumber, own.asNumber === undefined ? undefined : String(own.asNumber));
  if (JSON.stringify(ann) === JSON.stringify(node.metadata.annotations ?? {})) return undefined;
  return { ...node, metadata: { ...node.metadata, annotations: ann } };
}
