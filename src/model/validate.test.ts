import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.js';
import {
  KIND_IDS,
  formatPath,
  isResourceOf,
  kindIdOf,
  validateResource,
  validateResourceOf,
  type Resource,
} from './index.js';
import { catchValidationError } from './testing/catch-validation-error.js';

describe('validateResource: the generic checks', () => {
  it.each<[unknown, string]>([
    ['a string', 'invalid resource "(unnamed)": (root): expected an object, got string "a string"'],
    [[1], 'invalid resource "(unnamed)": (root): expected an object, got an array'],
    [{ kind: 'IPPool', metadata: { name: 'p' } }, 'invalid IPPool "p": apiVersion: required (string)'],
    [{ apiVersion: 'v1', metadata: { name: 'p' } }, 'invalid resource "p": kind: required (string)'],
    [
      { apiVersion: 'v1', kind: 7, metadata: { name: 'p' } },
      'invalid resource "p": kind: expected string, got number 7',
    ],
    [
      { apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'p' } },
      'invalid BGPPeer "p": apiVersion: "projectcalico.org/v3" is Calico\'s; change it to "margay.dev/v1"',
    ],
    [
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', namespace: 'x' } },
      'invalid Node "x/n": metadata.namespace: must not be set: Node is cluster-scoped',
    ],
    [
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: null } },
      'invalid Pod "p": metadata.namespace: required: Pod is namespaced',
    ],
    [
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: '' } },
      'invalid Pod "p": metadata.namespace: required: Pod is namespaced',
    ],
    [
      { apiVersion: 'margay.dev/v1', kind: 'IPPool' },
      'invalid IPPool "(unnamed)": metadata: required (object); spec: required (object)',
    ],
    [
      { apiVersion: 'margay.dev/v1', kind: 'IPPool', metadata: {}, spec: { cidr: '10.0.0.0/8' } },
      'invalid IPPool "(unnamed)": metadata.name: required (string)',
    ],
    [
      {
        apiVersion: 'margay.dev/v1',
        kind: 'IPPool',
        metadata: { name: 'p' },
        spec: { cidr: '10.0.0.0/8' },
        status: {},
      },
      'invalid IPPool "p": status: unknown field',
    ],
  ])('%j', (raw, msg) => {
    expect(catchValidationError(() => validateResource(raw)).message).toBe(msg);
  });

  it('rejects unknown kinds, listing the known ones', () => {
    const e = catchValidationError(() =>
      validateResource({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }),
    );
    expect(e.issues[0]?.path).toBe('kind');
    expect(e.message).toContain('unknown kind "Service" in apiVersion "v1" (known: v1 Pod, ');
  });

  it('reports every problem at once, with stable code and structured issues', () => {
    const e = catchValidationError(() =>
      validateResource({
        apiVersion: 'margay.dev/v1',
        kind: 'IPPool',
        metadata: { name: 'Bad_Name', labels: { ok: 'yes', 'x/y/z': 'v' } },
        spec: { cidr: 'nope', natOutgoing: 1, colour: 'red' },
      }),
    );
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.code).toBe('MGY_VALIDATION');
    expect(e.kind).toBe('IPPool');
    expect(e.objectName).toBe('Bad_Name');
    expect(e.issues.map((i) => i.path)).toEqual([
      'metadata.name',
      'metadata.labels["x/y/z"]',
      'spec.cidr',
      'spec.natOutgoing',
      'spec.colour',
    ]);
  });

  it('validateResourceOf checks the kind too', () => {
    const e = catchValidationError(() =>
      validateResourceOf('IPPool', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } }),
    );
    expect(e.message).toBe('invalid Namespace "n": kind: expected margay.dev/v1 IPPool, got v1 Namespace');
  });

  it('tells Kubernetes and Margay NetworkPolicy apart', () => {
    const k = validateResource({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'a', namespace: 'n' },
      spec: { podSelector: {} },
    });
    const m = validateResource({
      apiVersion: 'margay.dev/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'a', namespace: 'n' },
    });
    expect(kindIdOf(k)).toBe('K8sNetworkPolicy');
    expect(kindIdOf(m)).toBe('NetworkPolicy');
    expect(isResourceOf(k, 'K8sNetworkPolicy')).toBe(true);
    expect(isResourceOf(k, 'NetworkPolicy')).toBe(false);
  });

  it('has a schema for every kind in kinds.ts', async () => {
    const { SCHEMAS } = await import('./validate.js');
    expect(Object.keys(SCHEMAS).sort()).toEqual([...KIND_IDS].sort());
  });

  it('formats paths', () => {
    expect(formatPath(['spec', 'ingress', 0, 'ports', 1])).toBe('spec.ingress[0].ports[1]');
    expect(formatPath(['metadata', 'labels', 'app.kubernetes.io/name'])).toBe(
      'metadata.labels["app.kubernetes.io/name"]',
    );
    expect(formatPath([])).toBe('');
  });
});

describe('validation is idempotent for every kind', () => {
  const M = 'margay.dev/v1';
  const valid: unknown[] = [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'n', labels: { a: 'b' } },
      spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ containerPort: 80 }] }] },
      status: { podIP: '10.0.0.1' },
    },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n', labels: { env: 'x' } } },
    { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: { podCIDR: '10.244.0.0/24' } },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'k', namespace: 'n' },
      spec: { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.1/8' } }], ports: [{ port: 53 }] }] },
    },
    { apiVersion: M, kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: 'FD00::/64' } },
    { apiVersion: M, kind: 'IPAMBlock', metadata: { name: 'b' }, spec: { cidr: '10.0.0.0/29', affinity: 'host:n1' } },
    {
      apiVersion: M,
      kind: 'BlockAffinity',
      metadata: { name: 'a' },
      spec: { state: 'confirmed', node: 'n1', cidr: '10.0.0.0/26', deleted: 'false' },
    },
    { apiVersion: M, kind: 'IPAMConfiguration', metadata: { name: 'default' } },
    {
      apiVersion: M,
      kind: 'IPAMHandle',
      metadata: { name: 'k8s-pod-network.abc' },
      spec: { handleID: 'k8s-pod-network.abc', block: { '10.0.0.0/26': 1 } },
    },
    {
      apiVersion: M,
      kind: 'IPReservation',
      metadata: { name: 'r' },
      spec: { reservedCIDRs: ['10.0.0.1', 'FD00::/120'] },
    },
    { apiVersion: M, kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { asNumber: '1.1' } },
    { apiVersion: M, kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { peerIP: '[FD00::1]:179', asNumber: '65000' } },
    {
      apiVersion: M,
      kind: 'NetworkPolicy',
      metadata: { name: 'np', namespace: 'n' },
      spec: { ingress: [{ action: 'Allow', protocol: 'tcp', destination: { ports: ['80'], nets: ['10.1.1.1'] } }] },
    },
    {
      apiVersion: M,
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'g' },
      spec: { egress: [{ action: 'Deny', protocol: 1, icmp: { type: 8 } }] },
    },
  ];

  it.each(valid.map((v) => [(v as { kind: string }).kind, v] as const))('%s', (_kind, raw) => {
    const once = validateResource(raw);
    expect(validateResource(JSON.parse(JSON.stringify(once)))).toEqual(once);
  });

  it('covers every kind', () => {
    expect(new Set(valid.map((v) => kindIdOf(v as { apiVersion: string; kind: string }))).size).toBe(KIND_IDS.length);
  });
});

describe('types', () => {
  it('every validated kind is assignable to Resource (checked by tsc)', async () => {
    const { SCHEMAS } = await import('./validate.js');
    const asResource = <K extends keyof typeof SCHEMAS>(k: K, raw: unknown): Resource => validateResourceOf(k, raw);
    const r = asResource('BGPConfiguration', {
      apiVersion: 'margay.dev/v1',
      kind: 'BGPConfiguration',
      metadata: { name: 'default' },
    });
    expect(r.metadata.name).toBe('default');
  });
});
