import type { z } from 'zod';
import { ValidationError } from '../errors.js';
import { BGPConfigurationSchema, BGPPeerSchema } from './bgp-kinds.js';
import {
  BlockAffinitySchema,
  IPAMBlockSchema,
  IPAMConfigurationSchema,
  IPAMHandleSchema,
  IPPoolSchema,
  IPReservationSchema,
} from './ipam-kinds.js';
import { K8sNetworkPolicySchema, NamespaceSchema, NodeSchema, PodSchema } from './k8s-kinds.js';
import { KINDS, MARGAY_API_VERSION, kindFor, type KindId, type KindInfo, type Resource } from './kinds.js';
import { GlobalNetworkPolicySchema, NetworkPolicySchema } from './policy-kinds.js';

/**
 * The validation edge for resources: everything read from a datastore, a manifest or the CLI goes
 * through validateResource() once, and everything below works on the typed, defaulted result.
 * A failure is one ValidationError naming the object, every bad field path and the reason.
 * Calico-compatible: a Calico v3 manifest validates after changing apiVersion to margay.dev/v1.
 *
 * Each kind's schema is built on its first validation (lazy(), docs/startup.md): importing the model
 * builds no zod schema, so a command that validates one IPPool pays for the IPPool schema only.
 */
const BUILDERS = {
  Pod: PodSchema,
  Namespace: NamespaceSchema,
  Node: NodeSchema,
  K8sNetworkPolicy: K8sNetworkPolicySchema,
  IPPool: IPPoolSchema,
  IPAMBlock: IPAMBlockSchema,
  BlockAffinity: BlockAffinitySchema,
  IPAMConfiguration: IPAMConfigurationSchema,
  IPAMHandle: IPAMHandleSchema,
  IPReservation: IPReservationSchema,
  BGPConfiguration: BGPConfigurationSchema,
  BGPPeer: BGPPeerSchema,
  NetworkPolicy: NetworkPolicySchema,
  GlobalNetworkPolicy: GlobalNetworkPolicySchema,
} as const satisfies Record<KindId, () => z.ZodType>;

type SchemaOf<K extends KindId> = ReturnType<(typeof BUILDERS)[K]>;

const built = new Set<KindId>();

/** The zod schema of a kind, built on first use and kept. */
export function schemaOf<K extends KindId>(kind: K): SchemaOf<K> {
  const schema = BUILDERS[kind]() as SchemaOf<K>;
  built.add(kind);
  return schema;
}

/** The kinds whose schema has been built so far, in build order (start-up tests: docs/startup.md). */
export function builtSchemaKinds(): KindId[] {
  return [...built];
}

/** Every kind's schema by KindId; reading a property builds that kind's schema (see schemaOf). */
export const SCHEMAS: { readonly [K in KindId]: SchemaOf<K> } = Object.defineProperties(
  {},
  Object.fromEntries((Object.keys(BUILDERS) as KindId[]).map((k) => [k, { enumerable: true, get: () => schemaOf(k) }])),
) as { readonly [K in KindId]: SchemaOf<K> };

/** The validated, defaulted type of a kind, e.g. ResourceOf<'IPPool'>. */
export type ResourceOf<K extends KindId> = z.output<SchemaOf<K>>;

export type Pod = ResourceOf<'Pod'>;
export type Namespace = ResourceOf<'Namespace'>;
export type Node = ResourceOf<'Node'>;
export type K8sNetworkPolicy = ResourceOf<'K8sNetworkPolicy'>;
export type IPPool = ResourceOf<'IPPool'>;
export type IPAMBlock = ResourceOf<'IPAMBlock'>;
export type BlockAffinity = ResourceOf<'BlockAffinity'>;
export type IPAMConfiguration = ResourceOf<'IPAMConfiguration'>;
export type IPAMHandle = ResourceOf<'IPAMHandle'>;
export type IPReservation = ResourceOf<'IPReservation'>;
export type BGPConfiguration = ResourceOf<'BGPConfiguration'>;
export type BGPPeer = ResourceOf<'BGPPeer'>;
export type NetworkPolicy = ResourceOf<'NetworkPolicy'>;
export type GlobalNetworkPolicy = ResourceOf<'GlobalNetworkPolicy'>;

type Issue = { path: string; message: string };

const CALICO_API_VERSIONS = new Set(['projectcalico.org/v3', 'crd.projectcalico.org/v1']);

/** Validates any known resource: apiVersion/kind, metadata, kind-specific fields; applies defaults. */
export function validateResource(raw: unknown): Resource {
  return validateWith(raw, undefined);
}

/** Like validateResource, but the object must be of kind `kind`. */
export function validateResourceOf<K extends KindId>(kind: K, raw: unknown): ResourceOf<K> {
  return validateWith(raw, kind) as ResourceOf<K>;
}

/** The KindId of a resource (K8s vs Margay NetworkPolicy told apart by apiVersion), or undefined. */
export function kindIdOf(r: { readonly apiVersion?: unknown; readonly kind?: unknown }): KindId | undefined {
  if (typeof r.apiVersion !== 'string' || typeof r.kind !== 'string') return undefined;
  return kindFor(r.apiVersion, r.kind)?.id;
}

/** Type guard over a validated resource. */
export function isResourceOf<K extends KindId>(r: Resource, kind: K): r is Resource & ResourceOf<K> {
  return kindIdOf(r) === kind;
}

function validateWith(raw: unknown, expected: KindId | undefined): Resource {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ValidationError(expected ?? 'resource', '(unnamed)', [
      { path: '', message: `expected an object, got ${describe(raw)}` },
    ]);
  }
  const obj = raw as Record<string, unknown>;
  const label = objectLabel(obj);
  const info = resolveKind(obj, label, expected);
  const display = info.id === 'K8sNetworkPolicy' ? 'networking.k8s.io/v1 NetworkPolicy' : info.kind;

  const issues: Issue[] = [];
  const meta = obj.metadata as Record<string, unknown> | undefined;
  const ns = typeof meta === 'object' && meta !== null ? meta.namespace : undefined;
  if (info.namespaced && (ns === undefined || ns === null || ns === '')) {
    issues.push({ path: 'metadata.namespace', message: `required: ${display} is namespaced` });
  } else if (!info.namespaced && ns !== undefined && ns !== null) {
    issues.push({ path: 'metadata.namespace', message: `must not be set: ${display} is cluster-scoped` });
  }
  const result = schemaOf(info.id).safeParse(raw, {
    reportInput: true,
    error: errorMessage,
    jitless: jitless(info.id),
  });
  if (!result.success) {
    const zodIssues = result.error.issues.flatMap(toIssues);
    // The namespace-scope issue above already says what is wrong with metadata.namespace.
    issues.push(...(issues.length > 0 ? zodIssues.filter((i) => i.path !== 'metadata.namespace') : zodIssues));
  }
  if (issues.length > 0) throw new ValidationError(display, label, dedupe(issues));
  return result.data as Resource;
}

/**
 * zod compiles a parser for each object schema (`new Function`) on its first parse unless told
 * `jitless`: worth it for a kind validated many times (the agent's resource cache), not for the one
 * or two objects of a `margayctl apply` (measured: a first IPPool parse 11 ms of CPU with the JIT,
 * 3 ms without; docs/startup.md). So the first JIT_AFTER parses of each kind run without it; the
 * result is the same either way (zod's fast path and slow path check the same schema).
 */
const JIT_AFTER = 16;
const parses = new Map<KindId, number>();

function jitless(kind: KindId): boolean {
  const n = parses.get(kind) ?? 0;
  if (n > JIT_AFTER) return false;
  parses.set(kind, n + 1);
  return n < JIT_AFTER;
}

function resolveKind(obj: Record<string, unknown>, label: string, expected: KindId | undefined): KindInfo {
  const { apiVersion, kind } = obj;
  const fail = (path: string, message: string): never => {
    throw new ValidationError(typeof kind === 'string' ? kind : (expected ?? 'resource'), label, [{ path, message }]);
  };
  const needString = (v: unknown): string =>
    v === undefined ? 'required (string)' : `expected string, got ${describe(v)}`;
  if (typeof apiVersion !== 'string') fail('apiVersion', needString(apiVersion));
  if (typeof kind !== 'string') fail('kind', needString(kind));
  const info = kindFor(apiVersion as string, kind as string);
  if (!info) {
    if (
      CALICO_API_VERSIONS.has(apiVersion as string) &&
      Object.values(KINDS).some((k) => k.kind === kind && k.group === 'margay.dev')
    ) {
      fail('apiVersion', `${JSON.stringify(apiVersion)} is Calico's; change it to "${MARGAY_API_VERSION}"`);
    }
    const known = Object.values(KINDS)
      .map((k) => `${k.apiVersion} ${k.kind}`)
      .join(', ');
    fail('kind', `unknown kind ${JSON.stringify(kind)} in apiVersion ${JSON.stringify(apiVersion)} (known: ${known})`);
  }
  if (expected !== undefined && info!.id !== expected) {
    fail(
      'kind',
      `expected ${KINDS[expected].apiVersion} ${KINDS[expected].kind}, got ${apiVersion as string} ${kind as string}`,
    );
  }
  return info!;
}

function objectLabel(obj: Record<string, unknown>): string {
  const meta = obj.metadata;
  if (typeof meta !== 'object' || meta === null) return '(unnamed)';
  const { name, namespace } = meta as Record<string, unknown>;
  const n = typeof name === 'string' && name !== '' ? name : '(unnamed)';
  return typeof namespace === 'string' && namespace !== '' ? `${namespace}/${n}` : n;
}

function toIssues(issue: z.core.$ZodIssue): Issue[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => ({ path: formatPath([...issue.path, k]), message: 'unknown field' }));
  }
  return [{ path: formatPath(issue.path), message: issue.message }];
}

/**
 * Per-parse wording for zod's generic issues. A message set on a schema (`{ error }`, refine
 * messages) takes precedence over this, so field-specific wording wins where it exists.
 */
const errorMessage: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_value': {
      const options = issue.values.map((v) => JSON.stringify(v)).join(', ');
      return issue.input === undefined
        ? `required, one of ${options}`
        : `must be one of ${options}, got ${describe(issue.input)}`;
    }
    case 'invalid_type':
      return issue.input === undefined
        ? `required (${issue.expected})`
        : `expected ${issue.expected}, got ${describe(issue.input)}`;
    default:
      return undefined;
  }
};

/** ['spec', 'ingress', 0, 'ports'] → `spec.ingress[0].ports`; odd keys → `labels["a/b"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (typeof p === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function dedupe(issues: Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
