import { describe, expect, it } from 'vitest';
import { EMPTY_ATTRS } from '../rib/attrs.js';
import { parsePrefix } from '../attrs/index.js';
import { RoutePolicyCompileError, compileRoutePolicy } from './compile.js';
import { podCidrsOnlyPolicy, policyFromBgpFilters, torExportPolicy } from './calico.js';
import type { RoutePolicy } from './types.js';

function accepts(def: RoutePolicy, prefix: string, local = false): boolean {
  const p = parsePrefix(prefix);
  return (
    compileRoutePolicy(def).evaluate(EMPTY_ATTRS, {
      family: p.family,
      words: p.words,
      len: p.len,
      local,
      selfNextHop: new Uint8Array(4),
      localAs: 1,
    }) !== null
  );
}

describe('Calico BGPFilter', () => {
  // The sample from the Calico reference (interface rule left out).
  const filter = policyFromBgpFilters(
    'f',
    [
      {
        exportV4: [
          { action: 'Accept', matchOperator: 'In', cidr: '77.0.0.0/16', source: 'RemotePeers' },
          { action: 'Reject' },
        ],
        importV4: [
          { action: 'Accept', matchOperator: 'In', cidr: '55.0.0.0/16', prefixLength: { min: 30 } },
          { action: 'Reject', matchOperator: 'NotIn', cidr: '44.0.0.0/16' },
        ],
        importV6: [{ action: 'Accept', matchOperator: 'Equal', cidr: '5000::/64' }, { action: 'Reject' }],
      },
    ],
    'import',
  );

  it('import: first matching rule wins, unmatched routes are accepted', () => {
    expect(accepts(filter, '55.0.1.0/30')).toBe(true);
    expect(accepts(filter, '55.0.1.0/24')).toBe(false); // not ≥ /30, then NotIn 44/16 → reject
    expect(accepts(filter, '44.0.3.0/24')).toBe(true); // no rule matches → default Accept
    expect(accepts(filter, '5000::/64')).toBe(true);
    expect(accepts(filter, '5000::/65')).toBe(false);
  });

  it('export: source RemotePeers matches learned routes only', () => {
    const exp = policyFromBgpFilters(
      'f',
      [
        {
          exportV4: [
            { action: 'Accept', matchOperator: 'In', cidr: '77.0.0.0/16', source: 'RemotePeers' },
            { action: 'Reject' },
          ],
        },
      ],
      'export',
    );
    expect(accepts(exp, '77.0.1.0/24')).toBe(true);
    expect(accepts(exp, '77.0.1.0/24', true)).toBe(false);
    expect(accepts(exp, '78.0.0.0/24')).toBe(false);
    expect(accepts(exp, '2001:db8::/32')).toBe(true); // no v6 rules
  });

  it('NotEqual, and clear errors for what cannot be expressed', () => {
    const ne = policyFromBgpFilters(
      'n',
      [{ importV4: [{ action: 'Reject', matchOperator: 'NotEqual', cidr: '10.0.0.0/8' }] }],
      'import',
    );
    expect(accepts(ne, '10.0.0.0/8')).toBe(true);
    expect(accepts(ne, '10.0.0.0/9')).toBe(false);
    expect(() =>
      policyFromBgpFilters('x', [{ exportV4: [{ action: 'Reject', interface: '*.calico' }] }], 'export'),
    ).toThrow(RoutePolicyCompileError);
    expect(() => policyFromBgpFilters('x', [{ exportV4: [{ action: 'Reject', cidr: 'fd00::/8' }] }], 'export')).toThrow(
      /not ipv4/,
    );
  });
});

describe('cluster defaults', () => {
  it('nodes accept only pod CIDRs from each other', () => {
    const p = podCidrsOnlyPolicy('mesh', ['10.244.0.0/16', 'fd00:244::/48']);
    expect(accepts(p, '10.244.7.64/26')).toBe(true);
    expect(accepts(p, '10.244.7.65/32')).toBe(true);
    expect(accepts(p, 'fd00:244:0:1::/122')).toBe(true);
    expect(accepts(p, '0.0.0.0/0')).toBe(false);
    expect(accepts(p, '10.0.0.0/8')).toBe(false);
  });

  it('only pod blocks and chosen service IPs go to the ToR', () => {
    const p = torExportPolicy('tor', ['10.244.0.0/16'], ['10.96.0.10/32']);
    expect(accepts(p, '10.244.1.0/26')).toBe(true);
    expect(accepts(p, '10.96.0.10/32')).toBe(true);
    expect(accepts(p, '10.96.0.11/32')).toBe(false);
    expect(accepts(p, '192.168.0.0/16')).toBe(false);
  });
});
