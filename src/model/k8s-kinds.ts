import * as v from 'valibot';
import { lazy } from './lazy.js';
import { InvalidSelectorError, labelSelectorToSelector } from '../selector/index.js';
import { AsNumber, Cidr, CidrKeepingHostBits, Ip, PortNumber, checkedString } from './fields.js';
import { NamespaceMetaSchema, ObjectMetaSchema } from './metadata.js';
import { parseCidr, cidrContains } from './net.js';
import { int, object, record, refined, strictObject } from './schema.js';

/**
 * Kubernetes built-in kinds, reduced to the fields Margay uses. These objects come from the API
 * server or kubectl-style manifests and carry many fields Margay ignores: unknown fields are
 * accepted and dropped (object() strips), never an error. Known fields are validated and defaulted
 * as the API server would (container port protocol TCP, NetworkPolicy policyTypes...).
 */

const Protocol = lazy(() => v.picklist(['TCP', 'UDP', 'SCTP']));

/** IANA service name, as Kubernetes validates named ports: ≤ 15 chars, a letter, no `--`. */
export function portNameProblem(s: string): string | undefined {
  if (s.length > 15 || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s) || !/[a-z]/.test(s) || s.includes('--')) {
    return `${JSON.stringify(s)} is not a port name (at most 15 lower-case alphanumerics or "-", with a letter, no "--")`;
  }
  return undefined;
}
export const PortName = lazy(() => checkedString(portNameProblem));

const ContainerPort = lazy(() =>
  object({
    name: v.optional(PortName()),
    containerPort: PortNumber(),
    protocol: v.optional(Protocol(), 'TCP'),
    hostPort: v.optional(PortNumber()),
  }),
);

export const PodSchema = lazy(() =>
  object({
    apiVersion: v.literal('v1'),
    kind: v.literal('Pod'),
    metadata: ObjectMetaSchema(),
    spec: v.optional(
      object({
        nodeName: v.optional(v.string()),
        hostNetwork: v.optional(v.boolean(), false),
        serviceAccountName: v.optional(v.string()),
        containers: v.optional(
          v.array(object({ name: v.string(), ports: v.optional(v.array(ContainerPort())) })),
          () => [],
        ),
      }),
      () => ({}),
    ),
    status: v.optional(
      object({
        phase: v.optional(v.string()),
        podIP: v.optional(Ip()),
        podIPs: v.optional(v.array(object({ ip: Ip() }))),
      }),
    ),
  }),
);

export const NamespaceSchema = lazy(() =>
  object({
    apiVersion: v.literal('v1'),
    kind: v.literal('Namespace'),
    metadata: NamespaceMetaSchema(),
  }),
);

/** Dotted-quad IPv4, as zod's ipv4 format checked it (no leading zeros). */
const IPV4 =
  /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;

export const NodeSchema = lazy(() =>
  object({
    apiVersion: v.literal('v1'),
    kind: v.literal('Node'),
    metadata: ObjectMetaSchema(),
    spec: v.optional(
      object({
        podCIDR: v.optional(Cidr()),
        podCIDRs: v.optional(v.array(Cidr())),
        /**
         * Margay's (and Calico's v3 Node) BGP settings for the node, recorded by its agent in file mode;
         * in Kubernetes mode the agent uses the margay.dev/IPv4Address, ... annotations instead.
         */
        bgp: v.optional(
          strictObject({
            ipv4Address: v.optional(CidrKeepingHostBits()),
            ipv6Address: v.optional(CidrKeepingHostBits()),
            asNumber: v.optional(AsNumber()),
            routeReflectorClusterID: v.optional(
              v.pipe(v.string(), v.regex(IPV4, 'must be an IPv4-formatted cluster ID like 224.0.0.1')),
            ),
          }),
        ),
      }),
      () => ({}),
    ),
    status: v.optional(object({ addresses: v.optional(v.array(object({ type: v.string(), address: v.string() }))) })),
  }),
);

const LabelSelectorSchema = lazy(() =>
  refined(
    object({
      matchLabels: v.nullish(record(v.string(), v.string())),
      matchExpressions: v.nullish(
        v.array(object({ key: v.string(), operator: v.string(), values: v.nullish(v.array(v.string())) })),
      ),
    }),
    (ls, add) => {
      try {
        labelSelectorToSelector(ls);
      } catch (err) {
        if (!(err instanceof InvalidSelectorError)) throw err;
        add(selectorErrorPath(err.path), err.reason);
      }
    },
  ),
);

/** `matchExpressions[1].values` → ['matchExpressions', 1, 'values'] for issue paths. */
function selectorErrorPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/(\w+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g)) {
    out.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (JSON.parse(m[3]!) as string)));
  }
  return out;
}

const IpBlock = lazy(() =>
  refined(object({ cidr: Cidr(), except: v.optional(v.array(Cidr())) }), (b, add) => {
    const outer = parseCidr(b.cidr)!;
    (b.except ?? []).forEach((e, i) => {
      const inner = parseCidr(e)!;
      if (!cidrContains(outer, inner) || inner.prefix <= outer.prefix) {
        add(['except', i], `${e} must be a strict subset of ${b.cidr}`);
      }
    });
  }),
);

const Peer = lazy(() =>
  refined(
    object({
      podSelector: v.optional(LabelSelectorSchema()),
      namespaceSelector: v.optional(LabelSelectorSchema()),
      ipBlock: v.optional(IpBlock()),
    }),
    (p, add) => {
      const selectors = p.podSelector !== undefined || p.namespaceSelector !== undefined;
      if (p.ipBlock && selectors) add([], 'ipBlock cannot be combined with podSelector or namespaceSelector');
      if (!p.ipBlock && !selectors) add([], 'a peer needs podSelector, namespaceSelector or ipBlock');
    },
  ),
);

const NetworkPolicyPort = lazy(() =>
  refined(
    object({
      protocol: v.optional(Protocol(), 'TCP'),
      port: v.optional(v.union([PortNumber(), PortName()], 'must be a port number 1..65535 or a port name')),
      endPort: v.optional(PortNumber()),
    }),
    (p, add) => {
      if (p.endPort === undefined) return;
      if (typeof p.port !== 'number') add(['endPort'], 'endPort needs a numeric port');
      else if (p.endPort < p.port) add(['endPort'], `endPort ${p.endPort} is below port ${p.port}`);
    },
  ),
);

export const K8sNetworkPolicySchema = lazy(() =>
  object({
    apiVersion: v.literal('networking.k8s.io/v1'),
    kind: v.literal('NetworkPolicy'),
    metadata: ObjectMetaSchema(),
    spec: v.pipe(
      object({
        podSelector: LabelSelectorSchema(),
        policyTypes: v.optional(v.array(v.picklist(['Ingress', 'Egress']))),
        ingress: v.optional(
          v.array(object({ from: v.optional(v.array(Peer())), ports: v.optional(v.array(NetworkPolicyPort())) })),
        ),
        egress: v.optional(
          v.array(object({ to: v.optional(v.array(Peer())), ports: v.optional(v.array(NetworkPolicyPort())) })),
        ),
      }),
      v.transform((s) => ({
        ...s,
        // API server default (SetDefaults_NetworkPolicy, also for an empty list): Ingress always,
        // Egress when the policy has egress rules.
        policyTypes: s.policyTypes?.length
          ? s.policyTypes
          : s.egress && s.egress.length > 0
            ? (['Ingress', 'Egress'] as const)
            : (['Ingress'] as const),
      })),
    ),
  }),
);
