/**
 * The resource kinds Margay reads and writes, and how each maps onto the Kubernetes API.
 * A KindId is Margay's internal name; `apiVersion` + `kind` are what appears in manifests.
 * Kubernetes' networking.k8s.io NetworkPolicy and Margay's own NetworkPolicy share a `kind`,
 * so their KindIds differ ('K8sNetworkPolicy' vs 'NetworkPolicy').
 */
export const MARGAY_GROUP = 'margay.dev';
export const MARGAY_API_VERSION = `${MARGAY_GROUP}/v1`;

export interface KindInfo {
  readonly id: KindId;
  readonly apiVersion: string;
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

function k(id: string, apiVersion: string, kind: string, plural: string, namespaced: boolean) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return { id, apiVersion, group: group!, version: version!, kind, plural, namespaced } as const;
}

export const KINDS = {
  Pod: k('Pod', 'v1', 'Pod', 'pods', true),
  Namespace: k('Namespace', 'v1', 'Namespace', 'namespaces', false),
  Node: k('Node', 'v1', 'Node', 'nodes', false),
  K8sNetworkPolicy: k('K8sNetworkPolicy', 'networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', true),
  IPPool: k('IPPool', MARGAY_API_VERSION, 'IPPool', 'ippools', false),
  IPAMBlock: k('IPAMBlock', MARGAY_API_VERSION, 'IPAMBlock', 'ipamblocks', false),
  BlockAffinity: k('BlockAffinity', MARGAY_API_VERSION, 'BlockAffinity', 'blockaffinities', false),
  IPAMConfiguration: k('IPAMConfiguration', MARGAY_API_VERSION, 'IPAMConfiguration', 'ipamconfigurations', false),
  IPAMHandle: k('IPAMHandle', MARGAY_API_VERSION, 'IPAMHandle', 'ipamhandles', false),
  IPReservation: k('IPReservation', MARGAY_API_VERSION, 'IPReservation', 'ipreservations', false),
  BGPConfiguration: k('BGPConfiguration', MARGAY_API_VERSION, 'BGPConfiguration', 'bgpconfigurations', false),
  BGPPeer: k('BGPPeer', MARGAY_API_VERSION, 'BGPPeer', 'bgppeers', false),
  NetworkPolicy: k('NetworkPolicy', MARGAY_API_VERSION, 'NetworkPolicy', 'networkpolicies', true),
  GlobalNetworkPolicy: k(
    'GlobalNetworkPolicy',
    MARGAY_API_VERSION,
    'GlobalNetworkPolicy',
    'globalnetworkpolicies',
    false,
  ),
} as const;

export type KindId = keyof typeof KINDS;
export const KIND_IDS = Object.keys(KINDS) as KindId[];

/** Finds the KindId for a manifest's apiVersion + kind, or undefined if Margay does not know it. */
export function kindFor(apiVersion: string, kind: string): KindInfo | undefined {
  for (const info of Object.values(KINDS)) {
    if (info.apiVersion === apiVersion && info.kind === kind) return info as KindInfo;
  }
  return undefined;
}

/** Object metadata: the fields of Kubernetes ObjectMeta that Margay uses. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  uid?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

/** Any resource as stored: apiVersion, kind, metadata and kind-specific fields (spec, status...). */
export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}
