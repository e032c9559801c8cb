import * as v from 'valibot';
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
import { inputProblem } from './input-limits.js';

/**
 * The validation edge for resources: everything read from a datastore, a manifest or the CLI goes
 * through validateResource() once, and everything below works on the typed, defaulted result.
 * A failure is one ValidationError naming the object, every bad field path and the reason.
 * Calico-compatible: a Calico v3 manifest validates after changing apiVersion to margay.dev/v1.
 *
 * Each kind's schema is built on its first validation (lazy(), docs/startup.md): importing the model
 * builds no schema, so a command that validates one IPPool pays for the IPPool schema only.
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
} as const satisfies Record<KindId, () => v.GenericSchema>;

type SchemaOf<K extends KindId> = ReturnType<(typeof BUILDERS)[K]>;

const built = new Set<KindId>();

/** The (valibot) schema of a kind, built on first use and kept. */
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
export type ResourceOf<K extends KindId> = v.InferOutput<SchemaOf<K>>;

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
  const limit = inputProblem(raw);
  if (limit) throw new ValidationError(display, label, [{ path: formatPath(limit.path), message: limit.message }]);
  const result = v.safeParse(schemaOf(info.id), raw, { message: issueMessage });
  if (!result.success) {
    const found = result.issues.map(toIssue);
    // The namespace-scope issue above already says what is wrong with metadata.namespace.
    issues.push(...(issues.length > 0 ? found.filter((i) => i.path !== 'metadata.namespace') : found));
  }
  if (issues.length > 0) throw new ValidationError(display, label, capped(dedupe(issues)));
  return result.output as Resource;
}

/** At most MAX_ISSUES issues in one error (an array of a million bad items must not make a huge message). */
const MAX_ISSUES = 50;

function capped(issues: Issue[]): Issue[] {
  if (issues.length <= MAX_ISSUES) return issues;
  return [
    ...issues.slice(0, MAX_ISSUES),
    { path: '', message: `and ${issues.length - MAX_ISSUES} more problems not listed` },
  ];
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

function toIssue(issue: v.BaseIssue<unknown>): Issue {
  return { path: formatPath(issue.path?.map((p) => p.key as PropertyKey) ?? []), message: issue.message };
}

/** valibot's `expected` of a picklist or union, `("a" | "b")`, as a list. */
function expectedOptions(issue: v.BaseIssue<unknown>): string[] {
  return (issue.expected ?? '').replace(/^\((.*)\)$/, '$1').split(' | ');
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'string',
  number: 'number',
  boolean: 'boolean',
  array: 'array',
  object: 'object',
  strict_object: 'object',
  loose_object: 'object',
  record: 'object',
};

/**
 * The wording of valibot's generic issues (a type, a value out of range). A message set on a schema
 * or check takes precedence over this, so field-specific wording wins where it exists.
 */
export function issueMessage(issue: v.BaseIssue<unknown>): string {
  const { input } = issue;
  const requirement = issue.requirement as number;
  const size = (x: unknown): string => (typeof x === 'string' ? 'characters' : 'items');
  switch (issue.type) {
    case 'picklist':
    case 'literal': {
      const options = expectedOptions(issue).join(', ');
      return input === undefined ? `required, one of ${options}` : `must be one of ${options}, got ${describe(input)}`;
    }
    case 'union': {
      const options = expectedOptions(issue).join(' or ');
      return input === undefined ? `required (${options})` : `expected ${options}, got ${describe(input)}`;
    }
    case 'integer':
      return `must be a whole number, got ${describe(input)}`;
    case 'finite':
      return `must be a finite number, got ${describe(input)}`;
    case 'min_value':
      return `must be at least ${requirement}, got ${String(input)}`;
    case 'max_value':
      return `must be at most ${requirement}, got ${String(input)}`;
    case 'min_length':
      return requirement === 1 ? 'must not be empty' : `must have at least ${requirement} ${size(input)}`;
    case 'max_length':
      return `must have at most ${requirement} ${size(input)}, has ${(input as { length: number }).length}`;
    case 'regex':
      return `must match ${String(issue.requirement)}, got ${describe(input)}`;
    default: {
      const name = TYPE_NAMES[issue.type];
      if (name === undefined) return `invalid value ${describe(input)}`;
      return input === undefined ? `required (${name})` : `expected ${name}, got ${describe(input)}`;
    }
  }
}

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
