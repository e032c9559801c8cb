/**
 * The fake API server's resource registry and discovery documents. Built-in resources are fixed (core
 * v1 pods/namespaces/nodes, networking.k8s.io/v1 networkpolicies, apiextensions.k8s.io/v1
 * customresourcedefinitions); custom resources exist only while a CustomResourceDefinition for them is
 * stored, as on a real cluster.
 */

export interface ResourceDef {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  /** false for custom resources: strategic-merge patch is refused and updates must carry a version. */
  readonly builtin: boolean;
  /** Field selectors the real server supports for this resource. */
  readonly fields: readonly string[];
}

const META_FIELDS = ['metadata.name', 'metadata.namespace'];

function builtin(
  group: string,
  plural: string,
  kind: string,
  namespaced: boolean,
  shortNames: string[],
  extraFields: string[] = [],
): ResourceDef {
  return {
    group,
    version: 'v1',
    plural,
    singular: kind.toLowerCase(),
    kind,
    namespaced,
    shortNames,
    builtin: true,
    fields: [...META_FIELDS, ...extraFields],
  };
}

export const BUILTIN_RESOURCES: readonly ResourceDef[] = [
  builtin(
    '',
    'pods',
    'Pod',
    true,
    ['po'],
    [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
  ),
  builtin('', 'namespaces', 'Namespace', false, ['ns'], ['status.phase']),
  builtin('', 'nodes', 'Node', false, ['no'], ['spec.unschedulable']),
  builtin('networking.k8s.io', 'networkpolicies', 'NetworkPolicy', true, ['netpol']),
  builtin('apiextensions.k8s.io', 'customresourcedefinitions', 'CustomResourceDefinition', false, ['crd', 'crds']),
];

export const CRD_RESOURCE = BUILTIN_RESOURCES.find((r) => r.plural === 'customresourcedefinitions')!;

/** The resources one stored CRD serves (one per served version). Throws on a CRD missing its names. */
export function resourcesFromCrd(crd: Record<string, unknown>): ResourceDef[] {
  const spec = (crd.spec ?? {}) as {
    group?: string;
    scope?: string;
    names?: { plural?: string; singular?: string; kind?: string; shortNames?: string[] };
    versions?: { name?: string; served?: boolean }[];
  };
  const names = spec.names ?? {};
  if (!spec.group || !names.plural || !names.kind) {
    throw new Error('CustomResourceDefinition needs spec.group, spec.names.plural and spec.names.kind');
  }
  return (spec.versions ?? [])
    .filter((v) => v.served !== false && v.name)
    .map((v) => ({
      group: spec.group!,
      version: v.name!,
      plural: names.plural!,
      singular: names.singular ?? names.kind!.toLowerCase(),
      kind: names.kind!,
      namespaced: spec.scope !== 'Cluster',
      shortNames: names.shortNames ?? [],
      builtin: false,
      fields: META_FIELDS,
    }));
}

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

function apiResource(r: ResourceDef): Record<string, unknown> {
  return {
    name: r.plural,
    singularName: r.singular,
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: VERBS,
    ...(r.shortNames.length > 0 ? { shortNames: [...r.shortNames] } : {}),
    storageVersionHash: Buffer.from(`${r.group}/${r.version}/${r.plural}`).toString('base64').slice(0, 11),
  };
}

export function apiResourceList(groupVersion: string, defs: readonly ResourceDef[]): Record<string, unknown> {
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources: defs.map(apiResource) };
}

export function apiGroup(group: string, versions: readonly string[]): Record<string, unknown> {
  const vs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(defs: readonly ResourceDef[]): Record<string, unknown> {
  const groups = new Map<string, Set<string>>();
  for (const d of defs) {
    if (d.group === '') continue;
    const vs = groups.get(d.group) ?? new Set<string>();
    vs.add(d.version);
    groups.set(d.group, vs);
  }
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].map(([g, vs]) => {
      const { kind: _k, apiVersion: _a, ...rest } = apiGroup(g, [...vs]);
      return rest;
    }),
  };
}

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-margay-fake',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};
