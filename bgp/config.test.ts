import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { parseAsn, parseBgpdConfig, validateBgpdConfig } from './config.js';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseAsn', () => {
  it('accepts plain, decimal-string and asdot forms', () => {
    expect(parseAsn(65001)).toBe(65001);
    expect(parseAsn('4200000000')).toBe(4_200_000_000);
    expect(parseAsn('1.10')).toBe(65_546);
    expect(parseAsn('65535.65535')).toBe(4_294_967_295);
  });
  it('rejects 0, out of range and junk', () => {
    for (const v of [0, -1, 4_294_967_296, 1.5, '0.0', '65536.1', 'AS1', '']) expect(parseAsn(v)).toBeUndefined();
  });
});

describe('parseBgpdConfig', () => {
  it('fills defaults for a minimal config and freezes it', () => {
    const c = parseBgpdConfig('routerId: 10.0.0.1\nasn: 65001\npeers:\n  - address: 10.0.0.2\n    asn: 65002\n');
    expect(c.listen).toEqual({ addresses: ['0.0.0.0'], port: 179 });
    expect(c.ebgpRequiresPolicy).toBe(true);
    expect(c.fib.enabled).toBe(false);
    const p = c.peers[0]!;
    expect(p).toMatchObject({ address: '10.0.0.2', asn: 65002, holdTime: 90, passive: false, families: ['ipv4'] });
    expect(p.gracefulRestart).toEqual({ enabled: true, restartTime: 120 });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.peers[0])).toBe(true);
  });

  it('accepts a full config with policies, ranges, originate, RR and fib', () => {
    const c = parseBgpdConfig(`
routerId: 10.0.0.1
asn: "1.10"
listen: { addresses: ["10.0.0.1", "::1"], port: 1179 }
routeReflector: { clusterId: 1.1.1.1 }
multipath: { maxPaths: 4 }
fib: { enabled: true, table: 100 }
control: { socket: /tmp/x.sock }
policies:
  pods:
    defaultAction: reject
    rules:
      - match: { prefixes: [{ prefix: 10.244.0.0/16, le: 26 }] }
        action: accept
        set: { localPref: 200, addCommunities: ["65000:1"], nextHop: self }
peers:
  - address: 10.0.0.2
    asn: internal
    routeReflectorClient: true
    import: pods
    export: pods
    password: s3cret
    maxPrefix: { limit: 1000 }
    families: [ipv4, ipv6]
    addPath: receive
  - address: 2001:db8::2
    asn: 4200000000
    holdTime: 0
listenRanges:
  - prefix: 10.1.0.0/24
    asn: external
originate:
  - prefix: 10.244.1.0/26
    communities: ["65000:7"]
`);
    expect(c.asn).toBe(65_546);
    expect(c.peers[0]!.asn).toBe('internal');
    expect(c.peers[0]!.maxPrefix).toEqual({ limit: 1000, action: 'restart', restartSeconds: 60 });
    expect(c.peers[1]!.asn).toBe(4_200_000_000);
    expect(c.listenRanges[0]!.passive).toBe(true);
    expect(c.policies.pods!.rules[0]!.match.prefixes![0]).toEqual({ prefix: '10.244.0.0/16', le: 26 });
  });

  it.each([
    ['routerId: 10.0.0.1\nasn: 0', 'asn:'],
    ['routerId: 1.2.3\nasn: 1', 'routerId:'],
    [
      'routerId: 10.0.0.1\nasn: 1\npeers: [{ address: 10.0.0.2, asn: 2, holdTime: 2 }]',
      'peers[0].holdTime: must be 0 or ≥ 3',
    ],
    [
      'routerId: 10.0.0.1\nasn: 1\npeers: [{ address: 10.0.0.2, asn: 2, hold: 9 }]',
      'peers[0]: Unrecognized key: "hold"',
    ],
    ['routerId: 10.0.0.1\nasn: 1\npeers: [{ address: nope, asn: 2 }]', 'peers[0].address: must be an IPv4 or IPv6'],
    [
      'routerId: 10.0.0.1\nasn: 1\npeers: [{ address: 10.0.0.2, asn: 2, import: x }]',
      'peers[0].import: unknown policy "x"',
    ],
    [
      'routerId: 10.0.0.1\nasn: 1\npeers: [{ address: 10.0.0.2, asn: 2 }, { address: 10.0.0.2, asn: 3 }]',
      'peers[1].address: duplicate peer',
    ],
    [
      'routerId: 10.0.0.1\nasn: 1\npeers: [{ address: 10.0.0.2, asn: 2, holdTime: 9, keepalive: 4 }]',
      'peers[0].keepalive: must be ≤ holdTime / 3',
    ],
    [
      'routerId: 10.0.0.1\nasn: 1\npeers: [{ address: 10.0.0.2, asn: 2, routeReflectorClient: true }]',
      'peers[0].routeReflectorClient',
    ],
    ['routerId: 10.0.0.1\nasn: 1\noriginate: [{ prefix: 10.0.0.0/33 }]', 'originate[0].prefix'],
    [
      'routerId: 10.0.0.1\nasn: 1\npolicies: { p: { rules: [{ match: { prefixes: [{ prefix: 10.0.0.0/16, ge: 8 }] } }] } }',
      'policies.p.rules[0].match.prefixes[0].ge: must be ≥ the prefix length 16',
    ],
    [
      'routerId: 10.0.0.1\nasn: 1\npolicies: { p: { rules: [{ set: { addCommunities: ["70000:1"] } }] } }',
      'policies.p.rules[0].set.addCommunities[0]',
    ],
  ])('rejects %j naming the field', (yaml, expected) => {
    const err = errorOf(() => parseBgpdConfig(yaml));
    expect(err.code).toBe('MGY_CONFIG');
    expect(err.detail).toContain(expected);
  });

  it('reports YAML syntax errors with the line', () => {
    const err = errorOf(() => parseBgpdConfig('routerId: 10.0.0.1\nasn: [1\n'));
    expect(err.detail).toMatch(/YAML: .*line/s);
  });

  it('validateBgpdConfig rejects a missing document', () => {
    expect(errorOf(() => validateBgpdConfig({})).detail).toContain('routerId:');
  });
});
