import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.js';
import { KINDS, validateResource, type KindId } from './index.js';

// Field names each kind's spec knows, so random values land on real fields, not just unknown ones.
const FIELDS: Partial<Record<KindId, string[]>> = {
  IPPool: ['cidr', 'blockSize', 'ipipMode', 'vxlanMode', 'natOutgoing', 'nodeSelector', 'allowedUses', 'disabled'],
  IPAMBlock: ['cidr', 'affinity', 'allocations', 'unallocated', 'attributes', 'deleted', 'sequenceNumber'],
  BlockAffinity: ['state', 'node', 'cidr', 'deleted'],
  IPAMHandle: ['handleID', 'block', 'deleted', 'network', 'containerID'],
  IPReservation: ['reservedCIDRs'],
  BGPConfiguration: ['asNumber', 'listenPort', 'communities', 'prefixAdvertisements', 'serviceClusterIPs'],
  BGPPeer: ['peerIP', 'asNumber', 'peerSelector', 'node', 'nodeSelector', 'reachableBy', 'password'],
  NetworkPolicy: ['selector', 'types', 'ingress', 'egress', 'order'],
  GlobalNetworkPolicy: ['selector', 'namespaceSelector', 'ingress', 'egress', 'preDNAT', 'applyOnForward'],
  K8sNetworkPolicy: ['podSelector', 'policyTypes', 'ingress', 'egress'],
  Pod: ['nodeName', 'hostNetwork', 'containers'],
  Node: ['podCIDR', 'podCIDRs'],
};

const interesting = fc.oneof(
  fc.anything(),
  fc.constantFrom(
    '10.0.0.0/8',
    'fd00::/64',
    '10.0.0.1',
    'all()',
    'global()',
    'a == "b"',
    'Never',
    'TCP',
    80,
    '80:90',
    'http',
    64512,
    '1.2',
    true,
    null,
    [],
    {},
    JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}'),
    Number.POSITIVE_INFINITY,
    Number.NaN,
  ),
  fc.array(
    fc.record(
      {
        action: fc.constantFrom('Allow', 'Deny', 7),
        protocol: fc.constantFrom('TCP', 'ICMP', 300, undefined),
        source: fc.anything(),
        destination: fc.record({
          ports: fc.array(fc.oneof(fc.integer(), fc.string())),
          nets: fc.array(fc.string()),
          selector: fc.string(),
        }),
      },
      { requiredKeys: [] },
    ),
  ),
);

describe('validateResource never fails with anything but a ValidationError', () => {
  for (const [id, info] of Object.entries(KINDS)) {
    it(id, () => {
      fc.assert(
        fc.property(
          fc.dictionary(fc.constantFrom(...(FIELDS[id as KindId] ?? ['x']), 'constructor', 'toString'), interesting),
          (spec) => {
            const raw = {
              apiVersion: info.apiVersion,
              kind: info.kind,
              metadata: { name: 'default', ...(info.namespaced ? { namespace: 'ns' } : {}) },
              spec,
            };
            let out: unknown;
            try {
              out = validateResource(raw);
            } catch (err) {
              expect(err).toBeInstanceOf(ValidationError);
              expect((err as ValidationError).issues.length).toBeGreaterThan(0);
              return;
            } finally {
              expect(({} as Record<string, unknown>).polluted).toBeUndefined();
            }
            expect(validateResource(JSON.parse(JSON.stringify(out)))).toEqual(out);
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});
