import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { parseBgpdConfig } from './config-file.js';
import { parseAsn, parseOriginate, validateBgpdConfig } from './config.js';

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

describe('hostile config input', () => {
  const BASE = { routerId: '10.0.0.1', asn: 65001 };
  const PEER = { address: '10.0.0.2', asn: 65002 };

  it.each([
    [
      'top level',
      '{"routerId":"10.0.0.1","asn":1,"__proto__":{"polluted":1}}',
      '(root): Unrecognized key: "__proto__"',
    ],
    [
      'a peer',
      '{"routerId":"10.0.0.1","asn":1,"peers":[{"address":"10.0.0.2","asn":2,"__proto__":{"polluted":1}}]}',
      'peers[0]: Unrecognized key: "__proto__"',
    ],
    [
      'a policy name',
      '{"routerId":"10.0.0.1","asn":1,"policies":{"__proto__":{"rules":[]}}}',
      'policies.__proto__: reserved name',
    ],
    [
      'a nested set',
      '{"routerId":"10.0.0.1","asn":1,"policies":{"p":{"rules":[{"set":{"__proto__":{"med":1}}}]}}}',
      'policies.p.rules[0].set: Unrecognized key: "__proto__"',
    ],
  ])('rejects a __proto__ key in %s without polluting any prototype', (_where, json, expected) => {
    const err = errorOf(() => validateBgpdConfig(JSON.parse(json)));
    expect(err.detail).toContain(expected);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  it('rejects __proto__ from YAML, and constructor/prototype as policy names', () => {
    expect(errorOf(() => parseBgpdConfig('routerId: 10.0.0.1\nasn: 1\n__proto__: { polluted: 1 }\n')).detail).toContain(
      '(root): Unrecognized key: "__proto__"',
    );
    for (const name of ['constructor', 'prototype']) {
      expect(errorOf(() => validateBgpdConfig({ ...BASE, policies: { [name]: {} } })).detail).toBe(
        `policies.${name}: reserved name, not a policy name`,
      );
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('the validated config has plain prototypes and only its own keys', () => {
    const c = validateBgpdConfig(
      JSON.parse('{"routerId":"10.0.0.1","asn":1,"policies":{"p":{}},"peers":[{"address":"10.0.0.2","asn":2}]}'),
    );
    for (const o of [c, c.policies, c.policies.p, c.peers[0], c.listen]) {
      expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    }
    expect(Object.keys(c.policies)).toEqual(['p']);
  });

  it('a list where a mapping belongs is an error, not an empty mapping with defaults', () => {
    for (const [key, path] of [
      ['listen', 'listen'],
      ['multipath', 'multipath'],
      ['fib', 'fib'],
      ['policies', 'policies'],
    ] as const) {
      expect(errorOf(() => validateBgpdConfig({ ...BASE, [key]: [] })).detail).toBe(
        `${path}: expected an object, received array`,
      );
    }
    expect(errorOf(() => validateBgpdConfig({ ...BASE, peers: [[]] })).detail).toBe(
      'peers[0]: expected an object, received array',
    );
    expect(errorOf(() => parseBgpdConfig('- routerId: 10.0.0.1\n- asn: 1\n')).detail).toBe(
      '(root): expected an object, received array',
    );
  });

  it.each([
    [{ ...BASE, routerId: 10 }, 'routerId: expected string, received 10'],
    [{ ...BASE, asn: true }, 'asn: not an AS number'],
    [{ ...BASE, asn: null }, 'asn: not an AS number'],
    [{ ...BASE, listen: { addresses: '0.0.0.0' } }, 'listen.addresses: expected an array, received "0.0.0.0"'],
    [{ ...BASE, listen: { port: '179' } }, 'listen.port: expected number, received "179"'],
    [{ ...BASE, peers: 'none' }, 'peers: expected an array, received "none"'],
    [{ ...BASE, peers: [{ ...PEER, holdTime: '90' }] }, 'peers[0].holdTime: expected number, received "90"'],
    [{ ...BASE, peers: [{ ...PEER, holdTime: 9.5 }] }, 'peers[0].holdTime: must be an integer'],
    [{ ...BASE, peers: [{ ...PEER, holdTime: Number.NaN }] }, 'peers[0].holdTime: expected number, received NaN'],
    [{ ...BASE, peers: [{ ...PEER, passive: 'yes' }] }, 'peers[0].passive: expected boolean, received "yes"'],
    [{ ...BASE, peers: [{ ...PEER, asn: [65002] }] }, 'peers[0].asn: must be internal, external or an AS number'],
    [{ ...BASE, peers: [{ ...PEER, families: 'ipv4' }] }, 'peers[0].families: expected an array'],
    [{ ...BASE, peers: [{ ...PEER, families: ['ipx'] }] }, 'peers[0].families[0]: expected one of "ipv4" | "ipv6"'],
    [{ ...BASE, peers: [{ ...PEER, maxPrefix: 5 }] }, 'peers[0].maxPrefix: expected an object, received 5'],
    [{ ...BASE, peers: [{ address: '10.0.0.2' }] }, 'peers[0].asn: required'],
    [{ ...BASE, policies: { p: { rules: {} } } }, 'policies.p.rules: expected an array, received object'],
    [{ ...BASE, policies: { 'a b': {} } }, 'policies.a b: policy names use [A-Za-z0-9_.-]'],
    [{ ...BASE, originate: [{ prefix: 10 }] }, 'originate[0].prefix: must be a CIDR'],
    [{ ...BASE, originate: [{ prefix: '10.0.0.0/24', med: -1 }] }, 'originate[0].med: must be ≥ 0'],
    [{ ...BASE, control: { socket: '' } }, 'control.socket: must not be empty'],
    [{ ...BASE, ebgpRequiresPolicy: 'no' }, 'ebgpRequiresPolicy: expected boolean, received "no"'],
  ])('wrong type %j → ConfigError naming the field', (raw, expected) => {
    const err = errorOf(() => validateBgpdConfig(raw));
    expect(err.code).toBe('MGY_CONFIG');
    expect(err.detail).toContain(expected);
  });

  it('deeply nested YAML gives a ConfigError, not a crash', () => {
    const deep = `routerId: 10.0.0.1\nasn: 1\nlisten: { addresses: ${'['.repeat(20_000)}${']'.repeat(20_000)} }\n`;
    const err = errorOf(() => parseBgpdConfig(deep));
    expect(err.code).toBe('MGY_CONFIG');
    const nested = `routerId: 10.0.0.1\nasn: 1\npeers:\n${'  '.repeat(1)}- address: 10.0.0.2\n    asn: 2\n    description: ${'{a: '.repeat(500)}1${'}'.repeat(500)}\n`;
    expect(errorOf(() => parseBgpdConfig(nested)).detail).toContain('peers[0].description: expected string');
  });

  it('a deeply nested object is rejected at the first wrong field', () => {
    let v: unknown = 'x';
    for (let i = 0; i < 100_000; i++) v = { a: v };
    expect(errorOf(() => validateBgpdConfig({ ...BASE, listen: v })).detail).toBe('listen: Unrecognized key: "a"');
  });

  it('a YAML alias bomb is refused by the parser', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    const err = errorOf(() => parseBgpdConfig(`${lines.join('\n')}\nrouterId: 10.0.0.1\nasn: 1\n`));
    expect(err.detail).toMatch(/^YAML: /);
  });

  it('huge arrays: the limits hold, and the error lists 20 problems then a count', () => {
    const peers = Array.from({ length: 4097 }, (_, i) => ({ address: `10.${i >> 8}.${i & 255}.1`, asn: 2 }));
    expect(errorOf(() => validateBgpdConfig({ ...BASE, peers })).detail).toBe('peers: must have at most 4096 items');
    const t0 = performance.now();
    const err = errorOf(() => validateBgpdConfig({ ...BASE, originate: Array.from({ length: 100_000 }, () => 5) }));
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(err.detail.split('; ')).toHaveLength(21);
    expect(err.detail).toMatch(/^originate\[0\]: expected an object, received 5; .*; … and 99980 more$/);
  });

  it('a huge string is not echoed back whole', () => {
    const err = errorOf(() => validateBgpdConfig({ ...BASE, asn: 65001, listen: { port: 'x'.repeat(1_000_000) } }));
    expect(err.detail.length).toBeLessThan(200);
    expect(err.detail).toContain('listen.port: expected number, received "xxxx');
  });

  it('names every unknown key, and still runs the cross-field rules', () => {
    const err = errorOf(() =>
      validateBgpdConfig({
        ...BASE,
        colour: 1,
        peers: [
          { ...PEER, hold: 9, tll: 1 },
          { ...PEER, asn: 3 },
        ],
      }),
    );
    expect(err.detail).toBe(
      'peers[0]: Unrecognized keys: "hold", "tll"; (root): Unrecognized key: "colour"; peers[1].address: duplicate peer',
    );
    const many = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]));
    expect(errorOf(() => validateBgpdConfig({ ...BASE, ...many })).detail).toBe(
      '(root): Unrecognized keys: "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", and 990 more',
    );
  });

  it('reports every range problem and the cross-field rules in one pass', () => {
    const err = errorOf(() =>
      validateBgpdConfig({
        ...BASE,
        peers: [PEER, { ...PEER, asn: 3 }, { address: '10.0.0.9', asn: 4, holdTime: 2, import: 'nope' }],
      }),
    );
    expect(err.detail).toBe(
      'peers[2].holdTime: must be 0 or ≥ 3 (RFC 4271 §4.2); peers[1].address: duplicate peer; ' +
        'peers[2].import: unknown policy "nope"',
    );
  });
});

describe('parseOriginate', () => {
  it('validates the originate list alone, with defaults', () => {
    expect(parseOriginate([{ prefix: '10.244.1.0/26' }])).toEqual({
      success: true,
      data: [{ prefix: '10.244.1.0/26', origin: 'igp', communities: [], largeCommunities: [] }],
    });
    expect(parseOriginate(undefined)).toEqual({ success: true, data: [] });
    expect(parseOriginate([{ prefix: '10.244.1.0/33' }])).toEqual({
      success: false,
      error: 'originate[0].prefix: must be a CIDR like 10.0.0.0/24 or 2001:db8::/32',
    });
    expect(parseOriginate({})).toMatchObject({ success: false });
  });
});
