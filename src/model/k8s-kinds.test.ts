import { describe, expect, it } from 'vitest';
import { validateResource, validateResourceOf } from './index.js';
import { catchValidationError } from './testing/catch-validation-error.js';

const k8sNp = (spec: Record<string, unknown>) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'test-network-policy', namespace: 'default' },
  spec,
});

describe('Pod', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-0',
      namespace: 'default',
      labels: { app: 'web' },
      ownerReferences: [{ kind: 'StatefulSet', name: 'web' }],
    },
    spec: {
      nodeName: 'node-1',
      serviceAccountName: 'web',
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      containers: [
        {
          name: 'nginx',
          image: 'nginx:1.25',
          ports: [
            { name: 'http', containerPort: 80 },
            { containerPort: 53, protocol: 'UDP' },
          ],
        },
      ],
    },
    status: {
      phase: 'Running',
      podIP: '10.244.1.5',
      podIPs: [{ ip: '10.244.1.5' }, { ip: 'fd00::5' }],
      conditions: [{ type: 'Ready' }],
    },
  };

  it('keeps the fields Margay uses, defaults them, and drops the rest without failing', () => {
    const p = validateResourceOf('Pod', pod);
    expect(p.spec).toEqual({
      nodeName: 'node-1',
      serviceAccountName: 'web',
      hostNetwork: false,
      containers: [
        {
          name: 'nginx',
          ports: [
            { name: 'http', containerPort: 80, protocol: 'TCP' },
            { containerPort: 53, protocol: 'UDP' },
          ],
        },
      ],
    });
    expect(p.status).toEqual({
      phase: 'Running',
      podIP: '10.244.1.5',
      podIPs: [{ ip: '10.244.1.5' }, { ip: 'fd00::5' }],
    });
    // metadata the API server owns passes through untouched
    expect(p.metadata.ownerReferences).toEqual([{ kind: 'StatefulSet', name: 'web' }]);
  });

  it('accepts the minimal file-mode Pod (name, namespace, labels, nodeName)', () => {
    const p = validateResourceOf('Pod', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'ns1', labels: { a: 'b' } },
      spec: { nodeName: 'n1' },
    });
    expect(p.spec).toEqual({ nodeName: 'n1', hostNetwork: false, containers: [] });
  });

  it.each<[string, unknown, string]>([
    ['hostNetwork', { ...pod, spec: { ...pod.spec, hostNetwork: 'true' } }, 'spec.hostNetwork: expected boolean'],
    [
      'containerPort',
      { ...pod, spec: { ...pod.spec, containers: [{ name: 'c', ports: [{ containerPort: 0 }] }] } },
      'spec.containers[0].ports[0].containerPort: must be at least 1, got 0',
    ],
    [
      'protocol',
      { ...pod, spec: { ...pod.spec, containers: [{ name: 'c', ports: [{ containerPort: 80, protocol: 'ICMP' }] }] } },
      'spec.containers[0].ports[0].protocol: must be one of "TCP", "UDP", "SCTP"',
    ],
    ['podIP', { ...pod, status: { podIP: '10.244.1' } }, 'status.podIP: "10.244.1" is not a valid IP address'],
  ])('rejects a bad %s', (_field, raw, msg) => {
    const e = catchValidationError(() => validateResource(raw));
    expect(e.message).toContain('invalid Pod "default/web-0"');
    expect(e.message).toContain(msg);
  });
});

describe('Namespace and Node', () => {
  it('Namespace: labels kept, name must be a DNS label', () => {
    const ns = validateResourceOf('Namespace', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'prod', labels: { env: 'prod' } },
      spec: { finalizers: ['kubernetes'] },
    });
    expect(ns).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod', labels: { env: 'prod' } } });
    const e = catchValidationError(() =>
      validateResource({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } }),
    );
    expect(e.issues[0]?.path).toBe('metadata.name');
    expect(e.issues[0]?.message).toContain('DNS-1123 label');
  });

  it('Node: pod CIDRs normalised, addresses and annotations kept', () => {
    const n = validateResourceOf('Node', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-1', annotations: { 'projectcalico.org/IPv4Address': '10.0.0.1/24' } },
      spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'FD00:1::/64'], providerID: 'kind://x' },
      status: {
        addresses: [
          { type: 'InternalIP', address: '10.0.0.1' },
          { type: 'Hostname', address: 'node-1' },
        ],
        capacity: { cpu: '2' },
      },
    });
    expect(n.spec).toEqual({ podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'] });
    expect(n.status?.addresses).toHaveLength(2);
    expect(n.metadata.annotations).toEqual({ 'projectcalico.org/IPv4Address': '10.0.0.1/24' });
    const e = catchValidationError(() =>
      validateResource({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, spec: { podCIDR: 'x' } }),
    );
    expect(e.message).toBe('invalid Node "n": spec.podCIDR: "x" is not a valid CIDR (address/prefix)');
  });
});

describe('networking.k8s.io/v1 NetworkPolicy', () => {
  it('accepts the Kubernetes docs example and defaults protocol and policyTypes', () => {
    const p = validateResourceOf(
      'K8sNetworkPolicy',
      k8sNp({
        podSelector: { matchLabels: { role: 'db' } },
        ingress: [
          {
            from: [
              { ipBlock: { cidr: '172.17.0.0/16', except: ['172.17.1.0/24'] } },
              { namespaceSelector: { matchLabels: { project: 'myproject' } } },
              { podSelector: { matchLabels: { role: 'frontend' } } },
              {
                namespaceSelector: {},
                podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }] },
              },
            ],
            ports: [{ protocol: 'TCP', port: 6379 }, { port: 'http' }, { port: 32000, endPort: 32768 }],
          },
        ],
      }),
    );
    expect(p.spec.policyTypes).toEqual(['Ingress']);
    expect(p.spec.ingress?.[0]?.ports).toEqual([
      { protocol: 'TCP', port: 6379 },
      { protocol: 'TCP', port: 'http' },
      { protocol: 'TCP', port: 32000, endPort: 32768 },
    ]);
    expect(validateResourceOf('K8sNetworkPolicy', k8sNp({ podSelector: {}, egress: [{}] })).spec.policyTypes).toEqual([
      'Ingress',
      'Egress',
    ]);
    expect(
      validateResourceOf('K8sNetworkPolicy', k8sNp({ podSelector: {}, policyTypes: ['Egress'] })).spec.policyTypes,
    ).toEqual(['Egress']);
    // An empty list is defaulted too (len == 0 in the API server's defaulting), not "no types".
    expect(
      validateResourceOf('K8sNetworkPolicy', k8sNp({ podSelector: {}, policyTypes: [], egress: [{}] })).spec
        .policyTypes,
    ).toEqual(['Ingress', 'Egress']);
    expect(
      validateResourceOf('K8sNetworkPolicy', k8sNp({ podSelector: {}, policyTypes: [] })).spec.policyTypes,
    ).toEqual(['Ingress']);
  });

  it.each<[Record<string, unknown>, string]>([
    [{}, 'spec.podSelector: required'],
    [
      { podSelector: { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] } },
      'spec.podSelector.matchExpressions[0].operator: unknown operator "Equals"',
    ],
    [
      { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'a b' } } },
      'spec.podSelector.matchLabels["app.kubernetes.io/name"]: label value "a b"',
    ],
    [
      { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] },
      'spec.ingress[0].from[0]: ipBlock cannot be combined',
    ],
    [
      { podSelector: {}, ingress: [{ from: [{}] }] },
      'spec.ingress[0].from[0]: a peer needs podSelector, namespaceSelector or ipBlock',
    ],
    [
      { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16'] } }] }] },
      'spec.ingress[0].from[0].ipBlock.except[0]: 11.0.0.0/16 must be a strict subset of 10.0.0.0/8',
    ],
    [
      { podSelector: {}, egress: [{ ports: [{ port: 80, endPort: 79 }] }] },
      'spec.egress[0].ports[0].endPort: endPort 79 is below port 80',
    ],
    [
      { podSelector: {}, egress: [{ ports: [{ port: 'http', endPort: 90 }] }] },
      'spec.egress[0].ports[0].endPort: endPort needs a numeric port',
    ],
    [
      { podSelector: {}, egress: [{ ports: [{ port: '80' }] }] },
      'spec.egress[0].ports[0].port: "80" is not a port name',
    ],
    [
      { podSelector: {}, egress: [{ ports: [{ protocol: 'ICMP', port: 80 }] }] },
      'spec.egress[0].ports[0].protocol: must be one of "TCP", "UDP", "SCTP"',
    ],
    [{ podSelector: {}, policyTypes: ['Forward'] }, 'spec.policyTypes[0]: must be one of "Ingress", "Egress"'],
  ])('rejects %j', (spec, msg) => {
    const e = catchValidationError(() => validateResource(k8sNp(spec)));
    expect(e.message).toContain('invalid networking.k8s.io/v1 NetworkPolicy "default/test-network-policy"');
    expect(e.message).toContain(msg);
  });
});
