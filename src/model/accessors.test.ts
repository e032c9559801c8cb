import { describe, expect, it } from 'vitest';
import { blockAffinityHost, nodeAddresses, podIPs, resolveNamedPort, validateResourceOf } from './index.js';

const pod = (status: Record<string, unknown> | undefined) =>
  validateResourceOf('Pod', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'n', creationTimestamp: null, labels: null },
    spec: {
      containers: [
        {
          name: 'a',
          ports: [
            { name: 'http', containerPort: 8080 },
            { name: 'dns', containerPort: 53, protocol: 'UDP' },
          ],
        },
      ],
    },
    ...(status ? { status } : {}),
  });

describe('accessors', () => {
  it('podIPs prefers status.podIPs, then status.podIP', () => {
    expect(podIPs(pod({ podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }] }))).toEqual([
      '10.0.0.1',
      'fd00::1',
    ]);
    expect(podIPs(pod({ podIP: '10.0.0.1' }))).toEqual(['10.0.0.1']);
    expect(podIPs(pod(undefined))).toEqual([]);
  });

  it('resolveNamedPort matches name and protocol', () => {
    const p = pod(undefined);
    expect(resolveNamedPort(p, 'http', 'TCP')).toBe(8080);
    expect(resolveNamedPort(p, 'dns', 'UDP')).toBe(53);
    expect(resolveNamedPort(p, 'dns', 'TCP')).toBeUndefined();
  });

  it('nodeAddresses filters by type', () => {
    const n = validateResourceOf('Node', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n' },
      status: {
        addresses: [
          { type: 'Hostname', address: 'n' },
          { type: 'InternalIP', address: '10.0.0.2' },
        ],
      },
    });
    expect(nodeAddresses(n)).toEqual(['10.0.0.2']);
    expect(nodeAddresses(n, 'Hostname')).toEqual(['n']);
  });

  it('blockAffinityHost reads host:<node>', () => {
    const b = (affinity?: string) =>
      validateResourceOf('IPAMBlock', {
        apiVersion: 'margay.dev/v1',
        kind: 'IPAMBlock',
        metadata: { name: 'b' },
        spec: { cidr: '10.0.0.0/30', ...(affinity ? { affinity } : {}) },
      });
    expect(blockAffinityHost(b('host:node-1'))).toBe('node-1');
    expect(blockAffinityHost(b('virtual:x'))).toBeUndefined();
    expect(blockAffinityHost(b())).toBeUndefined();
  });

  it('null metadata fields from generated manifests are dropped, not errors', () => {
    expect(pod(undefined).metadata).toEqual({ name: 'p', namespace: 'n' });
  });
});
