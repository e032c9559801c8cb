import { describe, expect, it } from 'vitest';
import { NO_POLICIES, PolicyResolver, type EndpointPolicyListener } from './policy-resolver.js';
import { recorder } from './testing/recorder.js';
import type { LocalEndpoint } from './types.js';

const EP: LocalEndpoint = {
  key: 'k',
  iface: 'mgyk',
  ipv4Nets: ['10.0.0.1/32'],
  ipv6Nets: [],
  labels: {},
  namespaceLabels: {},
  mtu: 1500,
};

describe('PolicyResolver (the policy seam)', () => {
  it('gives every endpoint no policies until the policy nodes say otherwise, and keeps matches across updates', () => {
    const out = recorder<EndpointPolicyListener>();
    const r = new PolicyResolver(out);
    r.endpointChanged('k', EP);
    const pol = { ingress: ['mgy-pi-x'], egress: [] };
    r.policiesMatched('k', pol);
    r.endpointChanged('k', { ...EP, labels: { a: 'b' } });
    r.policiesMatched('gone', pol);
    r.endpointChanged('k', undefined);
    expect(out.calls).toEqual([
      ['endpointPoliciesChanged', 'k', EP, NO_POLICIES],
      ['endpointPoliciesChanged', 'k', EP, pol],
      ['endpointPoliciesChanged', 'k', { ...EP, labels: { a: 'b' } }, pol],
      ['endpointPoliciesChanged', 'k', undefined, NO_POLICIES],
    ]);
  });
});
