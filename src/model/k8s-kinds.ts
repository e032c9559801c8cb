import { z } from 'zod';
import { lazy } from './lazy.js';
import { InvalidSelectorError, labelSelectorToSelector } from '../selector/index.js';
import { AsNumber, Cidr, CidrKeepingHostBits, Ip, PortNumber, checkedString } from './fields.js';
import { NamespaceMetaSchema, ObjectMetaSchema } from './metadata.js';
import { parseCidr, cidrContains } from './net.js';

/**
 * Kubernetes built-in kinds, reduced to the fields Margay uses. These objects come from the API
 * server or kubectl-style manifests and carry many fields Margay ignores: unknown fields are
 * accepted and dropped (z.object strips), never an error. Known fields are validated and defaulted
 * as the API server would (container port protocol TCP, NetworkPolicy policyTypes...).
 */

const Protocol = lazy(() => z.enum(['TCP', 'UDP', 'SCTP']));

/** IANA service name, as Kubernetes validates named ports: ≤ 15 chars, a letter, no `--`. */
export function portNameProblem(s: string): string | undefined {
  if (s.length > 15 || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s) || !/[a-z]/.test(s) || s.includes('--')) {
    return `${JSON.stringify(s)} is not a port name (at most 15 lower-case alphanumerics or "-", with a letter, no "--")`;
  }
  return undefined;
}
export const PortName = lazy(() => checkedString(portNameProblem));

const ContainerPort = lazy(() =>
  z.object({
    name: PortName().optional(),
    containerPort: PortNumber(),
    protocol: Protocol().default('TCP'),
    hostPort: PortNumber().optional(),
  }),
);

export const PodSchema = lazy(() =>
  z.object({
    apiVersion: z.literal('v1'),
    kind: z.literal('Pod'),
    metadata: ObjectMetaSchema(),
    spec: z
      .object({
        nodeName: z.string().optional(),
        hostNetwork: z.boolean().default(false),
        serviceAccountName: z.string().optional(),
        containers: z.array(z.object({ name: z.string(), ports: z.array(ContainerPort()).optional() })).default([]),
      })
      .prefault({}),
    status: z
      .object({
        phase: z.string().optional(),
        podIP: Ip().optional(),
        podIPs: z.array(z.object({ ip: Ip() })).optional(),
      })
      .optional(),
  }),
);

export const NamespaceSchema = lazy(() =>
  z.object({
    apiVersion: z.literal('v1'),
    kind: z.literal('Namespace'),
    metadata: NamespaceMetaSchema(),
  }),
);

export const NodeSchema = lazy(() =>
  z.object({
    apiVersion: z.literal('v1'),
    kind: z.literal('Node'),
    metadata: ObjectMetaSchema(),
    spec: z
      .object({
        podCIDR: Cidr().optional(),
        podCIDRs: z.array(Cidr()).optional(),
        /**
         * Margay's (and Calico's v3 Node) BGP settings for the node, recorded by its agent in file mode;
         * in Kubernetes mode the agent uses the margay.dev/IPv4Address, ... annotations instead.
         */
        bgp: z
          .strictObject({
            ipv4Address: CidrKeepingHostBits().optional(),
            ipv6Address: CidrKeepingHostBits().optional(),
            asNumber: AsNumber().optional(),
            routeReflectorClusterID: z
              .ipv4({ error: 'must be an IPv4-formatted cluster ID like 224.0.0.1' })
              .optional(),
          })
          .optional(),
      })
      .prefault({}),
    status: z.object({ addresses: z.array(z.object({ type: z.string(), address: z.string() })).optional() }).optional(),
  }),
);

const LabelSelectorSchema = lazy(() =>
  z
    .object({
      matchLabels: z.record(z.string(), z.string()).nullish(),
      matchExpressions: z
        .array(z.object({ key: z.string(), operator: z.string(), values: z.array(z.string()).nullish() }))
        .nullish(),
    })
    .superRefine((ls, ctx) => {
      try {
        labelSelectorToSelector(ls);
      } catch (err) {
        if (!(err instanceof InvalidSelectorError)) throw err;
        ctx.addIssue({ code: 'custom', message: err.reason, path: selectorErrorPath(err.path) });
      }
    }),
);

/** `matchExpressions[1].values` → ['matchExpressions', 1, 'values'] for zod issue paths. */
function selectorErrorPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/(\w+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g)) {
    out.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (JSON.parse(m[3]!) as string)));
  }
  return out;
}

const IpBlock = lazy(() =>
  z.object({ cidr: Cidr(), except: z.array(Cidr()).optional() }).superRefine((b, ctx) => {
    const outer = parseCidr(b.cidr)!;
    (b.except ?? []).forEach((e, i) => {
      const inner = parseCidr(e)!;
      if (!cidrContains(outer, inner) || inner.prefix <= outer.prefix) {
        ctx.addIssue({ code: 'custom', message: `${e} must be a strict subset of ${b.cidr}`, path: ['except', i] });
      }
    });
  }),
);

const Peer = lazy(() =>
  z
    .object({
      podSelector: LabelSelectorSchema().optional(),
      namespaceSelector: LabelSelectorSchema().optional(),
      ipBlock: IpBlock().optional(),
    })
    .superRefine((p, ctx) => {
      const selectors = p.podSelector !== undefined || p.namespaceSelector !== undefined;
      if (p.ipBlock && selectors)
        ctx.addIssue({ code: 'custom', message: 'ipBlock cannot be combined with podSelector or namespaceSelector' });
      if (!p.ipBlock && !selectors)
        ctx.addIssue({ code: 'custom', message: 'a peer needs podSelector, namespaceSelector or ipBlock' });
    }),
);

const NetworkPolicyPort = lazy(() =>
  z
    .object({
      protocol: Protocol().default('TCP'),
      port: z.union([PortNumber(), PortName()], { error: 'must be a port number 1..65535 or a port name' }).optional(),
      endPort: PortNumber().optional(),
    })
    .superRefine((p, ctx) => {
      if (p.endPort === undefined) return;
      if (typeof p.port !== 'number')
        ctx.addIssue({ code: 'custom', message: 'endPort needs a numeric port', path: ['endPort'] });
      else if (p.endPort < p.port)
        ctx.addIssue({ code: 'custom', message: `endPort ${p.endPort} is below port ${p.port}`, path: ['endPort'] });
    }),
);

export const K8sNetworkPolicySchema = lazy(() =>
  z.object({
    apiVersion: z.literal('networking.k8s.io/v1'),
    kind: z.literal('NetworkPolicy'),
    metadata: ObjectMetaSchema(),
    spec: z
      .object({
        podSelector: LabelSelectorSchema(),
        policyTypes: z.array(z.enum(['Ingress', 'Egress'])).optional(),
        ingress: z
          .array(z.object({ from: z.array(Peer()).optional(), ports: z.array(NetworkPolicyPort()).optional() }))
          .optional(),
        egress: z
          .array(z.object({ to: z.array(Peer()).optional(), ports: z.array(NetworkPolicyPort()).optional() }))
          .optional(),
      })
      .transform((s) => ({
        ...s,
        // API server default (SetDefaults_NetworkPolicy, also for an empty list): Ingress always,
        // Egress when the policy has egress rules.
        policyTypes: s.policyTypes?.length
          ? s.policyTypes
          : s.egress && s.egress.length > 0
            ? (['Ingress', 'Egress'] as const)
            : (['Ingress'] as const),
      })),
  }),
);
