import { describe, expect, it } from 'vitest';
import { parseAsNumber, parseGoDuration, parsePeerIp, validateResource, validateResourceOf } from './index.js';
import { catchValidationError } from './testing/catch-validation-error.js';

const M = 'margay.dev/v1';
const cfg = (name: string, spec?: Record<string, unknown>) => ({
  apiVersion: M,
  kind: 'BGPConfiguration',
  metadata: { name },
  ...(spec ? { spec } : {}),
});
const peer = (spec: Record<string, unknown>) => ({
  apiVersion: M,
  kind: 'BGPPeer',
  metadata: { name: 'rack1-tor' },
  spec,
});

describe('Go durations', () => {
  it('reads every unit, µs (micro sign) and us alike; anything else is not a duration', () => {
    expect(parseGoDuration('1m30s')).toBe(90_000);
    expect(parseGoDuration('1.5h')).toBe(5_400_000);
    expect(parseGoDuration('500ms')).toBe(500);
    expect(parseGoDuration('3\u00b5s')).toBeCloseTo(0.003);
    expect(parseGoDuration('3µs')).toBeCloseTo(0.003);
    expect(parseGoDuration('3us')).toBeCloseTo(0.003);
    expect(parseGoDuration('2000ns')).toBeCloseTo(0.002);
    expect(parseGoDuration('0')).toBe(0);
    for (const bad of ['', '1', '1d', '3μs', 'm1', '1m 30s']) expect(parseGoDuration(bad), bad).toBeUndefined();
  });
});

describe('BGPConfiguration', () => {
  it('the default object gets Calico defaults', () => {
    expect(validateResourceOf('BGPConfiguration', cfg('default')).spec).toEqual({
      logSeverityScreen: 'Info',
      nodeToNodeMeshEnabled: true,
      asNumber: 64512,
      listenPort: 179,
    });
  });

  it('accepts a full Calico manifest, normalising CIDRs and AS numbers', () => {
    const c = validateResourceOf(
      'BGPConfiguration',
      cfg('default', {
        logSeverityScreen: 'Warning',
        nodeToNodeMeshEnabled: false,
        asNumber: '1.10',
        listenPort: 1179,
        bindMode: 'NodeIP',
        serviceClusterIPs: [{ cidr: '10.96.0.0/12' }],
        serviceExternalIPs: [{ cidr: '104.244.42.129/32' }],
        serviceLoadBalancerIPs: [{ cidr: 'fd00:1::1/128' }],
        communities: [
          { name: 'bgp-large-community', value: '63400:300:100' },
          { name: 'std', value: '65001:100' },
        ],
        prefixAdvertisements: [{ cidr: '172.218.4.0/26', communities: ['bgp-large-community', '63400:120'] }],
        nodeMeshPassword: { secretKeyRef: { name: 'bgp-secrets', key: 'rr-password' } },
        nodeMeshMaxRestartTime: '2m30s',
      }),
    ).spec;
    expect(c.asNumber).toBe(65546);
    expect(c.serviceLoadBalancerIPs).toEqual([{ cidr: 'fd00:1::1/128' }]);
    expect(c.prefixAdvertisements?.[0]?.communities).toEqual(['bgp-large-community', '63400:120']);
  });

  it('per-node objects get no cluster defaults', () => {
    expect(
      validateResourceOf('BGPConfiguration', cfg('node.node-1', { logSeverityScreen: 'Debug', listenPort: 1790 })).spec,
    ).toEqual({ logSeverityScreen: 'Debug', listenPort: 1790 });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['default', { asNumber: 0 }, 'spec.asNumber: 0 is not an AS number'],
    ['default', { asNumber: 4294967296 }, 'spec.asNumber: 4294967296 is not an AS number'],
    ['default', { listenPort: 70000 }, 'spec.listenPort: must be at most 65535, got 70000'],
    ['default', { logSeverityScreen: 'Verbose' }, 'spec.logSeverityScreen: must be one of'],
    ['default', { communities: [{ name: 'c', value: '70000:1' }] }, 'spec.communities[0].value: must be "aa:nn"'],
    [
      'default',
      { prefixAdvertisements: [{ cidr: '10.0.0.0/8', communities: ['nope'] }] },
      'spec.prefixAdvertisements[0].communities[0]: "nope" is neither',
    ],
    ['default', { nodeMeshMaxRestartTime: '2 minutes' }, 'spec.nodeMeshMaxRestartTime: "2 minutes" is not a duration'],
    [
      'default',
      { serviceClusterIPs: [{ cidr: '10.96.0.0' }] },
      'spec.serviceClusterIPs[0].cidr: "10.96.0.0" is not a valid CIDR',
    ],
    ['default', { nodeToNodeMesh: true }, 'spec.nodeToNodeMesh: unknown field'],
    ['node.n1', { asNumber: 65000 }, 'spec.asNumber: can only be set on the BGPConfiguration named "default"'],
    ['node.n1', { nodeToNodeMeshEnabled: false }, 'spec.nodeToNodeMeshEnabled: can only be set'],
    ['global', {}, 'metadata.name: must be "default" or "node.<node name>"'],
  ])('rejects %s %j', (name, spec, msg) => {
    const e = catchValidationError(() => validateResource(cfg(name, spec)));
    expect(e.message).toContain(`invalid BGPConfiguration "${name}"`);
    expect(e.message).toContain(msg);
  });
});

describe('BGPPeer', () => {
  it('accepts a global peer and applies defaults', () => {
    expect(validateResourceOf('BGPPeer', peer({ peerIP: '192.20.30.40', asNumber: 64567 })).spec).toEqual({
      peerIP: '192.20.30.40',
      asNumber: 64567,
      keepOriginalNextHop: false,
      sourceAddress: 'UseNodeIP',
    });
  });

  it('accepts every Calico field', () => {
    const p = validateResourceOf(
      'BGPPeer',
      peer({
        nodeSelector: 'rack == "rack-1"',
        peerIP: '[FD00::1]:1179',
        asNumber: '64567',
        keepOriginalNextHop: true,
        password: { secretKeyRef: { name: 'bgp-secrets', key: 'rr-password' } },
        sourceAddress: 'None',
        maxRestartTime: '15s',
        numAllowedLocalASNumbers: 1,
        ttlSecurity: 1,
        reachableBy: 'fd00::fe',
        filters: ['export-only-pods'],
      }),
    ).spec;
    expect(p).toMatchObject({
      peerIP: '[fd00::1]:1179',
      asNumber: 64567,
      sourceAddress: 'None',
      reachableBy: 'fd00::fe',
    });
  });

  it('accepts a peerSelector peering (no peerIP, no asNumber) and a node-scoped peer', () => {
    expect(validateResourceOf('BGPPeer', peer({ peerSelector: 'route-reflector == "true"' })).spec.peerSelector).toBe(
      'route-reflector == "true"',
    );
    expect(
      validateResourceOf('BGPPeer', peer({ node: 'node-1', peerIP: '10.0.0.1:179', asNumber: 65000 })).spec.peerIP,
    ).toBe('10.0.0.1:179');
  });

  it.each<[Record<string, unknown>, string]>([
    [{ peerIP: '10.0.0.1' }, 'spec.asNumber: is required with peerIP'],
    [{ asNumber: 65000 }, 'spec.peerIP: either peerIP (with asNumber) or peerSelector is required'],
    [
      { peerSelector: 'all()', peerIP: '10.0.0.1', asNumber: 1 },
      'spec.peerIP: cannot be set together with peerSelector',
    ],
    [{ peerSelector: 'all()', asNumber: 1 }, 'spec.asNumber: cannot be set together with peerSelector'],
    [
      { node: 'n', nodeSelector: 'all()', peerIP: '10.0.0.1', asNumber: 1 },
      'spec.nodeSelector: cannot be set together with node',
    ],
    [{ peerIP: '10.0.0.1:99999', asNumber: 1 }, 'spec.peerIP: "10.0.0.1:99999" is not an IP address'],
    [{ peerIP: '[10.0.0.1]:179', asNumber: 1 }, 'spec.peerIP'],
    [
      { peerIP: '10.0.0.1', asNumber: 1, reachableBy: 'fd00::1' },
      'spec.reachableBy: must be the same IP family as peerIP',
    ],
    [{ peerSelector: 'has(' }, 'spec.peerSelector: invalid selector: expected a label key inside has( at position 4'],
    [{ peerIP: '10.0.0.1', asNumber: 1, sourceAddress: 'Auto' }, 'spec.sourceAddress: must be one of'],
    [{ peerIP: '10.0.0.1', asNumber: 1, password: 'secret' }, 'spec.password: expected object, got string'],
    [{ peerIP: '10.0.0.1', asNumber: 1, ttlSecurity: 256 }, 'spec.ttlSecurity: must be at most 255, got 256'],
    [{ peerIP: '10.0.0.1', asNumber: 1, peerAS: 2 }, 'spec.peerAS: unknown field'],
  ])('rejects %j', (spec, msg) => {
    const e = catchValidationError(() => validateResource(peer(spec)));
    expect(e.message).toContain('invalid BGPPeer "rack1-tor"');
    expect(e.message).toContain(msg);
  });
});

describe('helpers', () => {
  it('parseAsNumber takes numbers, decimal strings and asdot', () => {
    expect(parseAsNumber(65000)).toBe(65000);
    expect(parseAsNumber('4294967295')).toBe(4294967295);
    expect(parseAsNumber('1.0')).toBe(65536);
    expect(parseAsNumber('65535.65535')).toBe(4294967295);
    for (const bad of [0, -1, 1.5, '65536.0', 'x', '', '1.2.3']) expect(parseAsNumber(bad)).toBeUndefined();
  });
  it('parsePeerIp splits address and port', () => {
    expect(parsePeerIp('10.0.0.1:1179')).toEqual({ ip: '10.0.0.1', family: 'ipv4', port: 1179 });
    expect(parsePeerIp('fd00::1')).toEqual({ ip: 'fd00::1', family: 'ipv6' });
    expect(parsePeerIp('[fd00::1]:179')).toEqual({ ip: 'fd00::1', family: 'ipv6', port: 179 });
    expect(parsePeerIp('fd00::1:179')).toEqual({ ip: 'fd00::1:179', family: 'ipv6' });
    expect(parsePeerIp('10.0.0.1:0')).toBeUndefined();
  });
});
