import { describe, expect, it, vi } from 'vitest';
import { validateBgpdConfig } from '../../bgp/config.js';
import {
  validateResourceOf,
  type BGPConfiguration,
  type BGPPeer,
  type IPPool,
  type Node,
} from '../../src/model/index.js';
import { nodeBgp, withOwnBgp, type NodeBgp } from './node-bgp.js';
import {
  compareNames,
  EXPORT_EXTERNAL_POLICY,
  EXPORT_POLICY,
  hashRouterId,
  planBgp,
  plannedOriginate,
  type PlannerInput,
} from './planner.js';

const API = 'margay.dev/v1';

function node(name: string, bgp: Record<string, unknown>, labels: Record<string, string> = {}): NodeBgp {
  return nodeBgp(
    validateResourceOf('Node', { apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, spec: { bgp } }) as Node,
  );
}
function cfg(name: string, spec: Record<string, unknown>): BGPConfiguration {
  return validateResourceOf('BGPConfiguration', {
    apiVersion: API,
    kind: 'BGPConfiguration',
    metadata: { name },
    spec,
  });
}
function peer(name: string, spec: Record<string, unknown>): BGPPeer {
  return validateResourceOf('BGPPeer', { apiVersion: API, kind: 'BGPPeer', metadata: { name }, spec });
}
function pool(name: string, cidr: string, extra: Record<string, unknown> = {}): IPPool {
  return validateResourceOf('IPPool', {
    apiVersion: API,
    kind: 'IPPool',
    metadata: { name },
    spec: { cidr, ...extra },
  });
}

const A = node('node-a', { ipv4Address: '10.0.0.1/24' }, { rack: 'r1' });
const B = node('node-b', { ipv4Address: '10.0.0.2/24' }, { rack: 'r1' });
const C = node('node-c', { ipv4Address: '10.0.0.3/24', asNumber: 65003 }, { rack: 'r2', 'route-reflector': 'true' });
const RR = node(
  'rr-1',
  { ipv4Address: '10.0.0.9/24', routeReflectorClusterID: '224.0.0.1' },
  { 'route-reflector': 'true' },
);

function input(over: Partial<PlannerInput> = {}): PlannerInput {
  return {
    nodeName: 'node-a',
    nodes: new Map([A, B, C].map((n) => [n.name, n])),
    configs: [],
    peers: [],
    pools: [pool('p4', '192.168.0.0/16')],
    advertise: ['192.168.1.0/26'],
    password: () => undefined,
    ...over,
  };
}

function peersOf(
  i: PlannerInput,
): { address: string; asn: number; rr: boolean; port: number; from: string; nhs: boolean }[] {
  const plan = planBgp(i);
  return (plan.config?.peers ?? []).map((p) => ({
    address: p.address,
    asn: p.asn,
    rr: p.routeReflectorClient,
    port: p.port,
    from: p.description,
    nhs: p.nextHopSelf,
  }));
}

describe('planBgp', () => {
  it('orders names without localeCompare (ICU collation costs a cold agent ≈ 11 ms in its first plan)', () => {
    const spy = vi.spyOn(String.prototype, 'localeCompare');
    try {
      expect(peersOf(input()).map((p) => p.from)).toEqual(['mesh node-b', 'mesh node-c']);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    // Code-unit order, as Go's sort.Strings (Calico): the same as ICU's for DNS-1123 names.
    expect(['node-b', 'node.a', 'node-10', 'node-2', 'node1'].sort(compareNames)).toEqual([
      'node-10',
      'node-2',
      'node-b',
      'node.a',
      'node1',
    ]);
  });

  it('full mesh by default: every other node, its AS or the cluster AS, router ID = node IPv4', () => {
    const plan = planBgp(input());
    expect(plan.config?.routerId).toBe('10.0.0.1');
    expect(plan.config?.asn).toBe(64512);
    expect(plan.config?.listen).toEqual({ addresses: ['10.0.0.1'], port: 179 });
    expect(peersOf(input())).toEqual([
      { address: '10.0.0.2', asn: 64512, rr: false, port: 179, from: 'mesh node-b', nhs: false },
      { address: '10.0.0.3', asn: 65003, rr: false, port: 179, from: 'mesh node-c', nhs: false },
    ]);
    // The result is a valid speaker config.
    expect(() => validateBgpdConfig(plan.config)).not.toThrow();
  });

  it.each<[string, Partial<PlannerInput>, ReturnType<typeof peersOf>]>([
    ['mesh off, no peers', { configs: [cfg('default', { nodeToNodeMeshEnabled: false })] }, []],
    [
      'cluster AS and listen port from BGPConfiguration',
      { configs: [cfg('default', { asNumber: 65100, listenPort: 1179 })] },
      [
        { address: '10.0.0.2', asn: 65100, rr: false, port: 1179, from: 'mesh node-b', nhs: false },
        { address: '10.0.0.3', asn: 65003, rr: false, port: 1179, from: 'mesh node-c', nhs: false },
      ],
    ],
    [
      'global BGPPeer with peerIP:port',
      {
        configs: [cfg('default', { nodeToNodeMeshEnabled: false })],
        peers: [peer('tor', { peerIP: '10.0.0.254:1179', asNumber: 65000 })],
      },
      [{ address: '10.0.0.254', asn: 65000, rr: false, port: 1179, from: 'BGPPeer tor', nhs: false }],
    ],
    [
      'node-specific BGPPeer for another node does not apply',
      {
        configs: [cfg('default', { nodeToNodeMeshEnabled: false })],
        peers: [peer('tor-b', { node: 'node-b', peerIP: '10.0.0.254', asNumber: 65000 })],
      },
      [],
    ],
    [
      'nodeSelector BGPPeer applies by label; nextHopMode Self',
      {
        configs: [cfg('default', { nodeToNodeMeshEnabled: false })],
        peers: [
          peer('rack1', { nodeSelector: "rack == 'r1'", peerIP: '10.0.0.253', asNumber: 65000, nextHopMode: 'Self' }),
          peer('rack2', { nodeSelector: "rack == 'r2'", peerIP: '10.0.0.252', asNumber: 65000 }),
        ],
      },
      [{ address: '10.0.0.253', asn: 65000, rr: false, port: 179, from: 'BGPPeer rack1', nhs: true }],
    ],
    [
      'peerSelector BGPPeer: the selected nodes with their AS',
      {
        configs: [cfg('default', { nodeToNodeMeshEnabled: false })],
        peers: [peer('to-rr', { peerSelector: 'has(route-reflector)' })],
      },
      [{ address: '10.0.0.3', asn: 65003, rr: false, port: 179, from: 'BGPPeer to-rr', nhs: false }],
    ],
    [
      'explicit BGPPeer wins over the mesh for the same address',
      {
        peers: [peer('b', { peerIP: '10.0.0.2', asNumber: 64512, keepOriginalNextHop: true })],
      },
      [
        { address: '10.0.0.2', asn: 64512, rr: false, port: 179, from: 'BGPPeer b', nhs: false },
        { address: '10.0.0.3', asn: 65003, rr: false, port: 179, from: 'mesh node-c', nhs: false },
      ],
    ],
    [
      'never peers with itself',
      {
        configs: [cfg('default', { nodeToNodeMeshEnabled: false })],
        peers: [peer('all', { peerSelector: 'all()' })],
      },
      [
        { address: '10.0.0.2', asn: 64512, rr: false, port: 179, from: 'BGPPeer all', nhs: false },
        { address: '10.0.0.3', asn: 65003, rr: false, port: 179, from: 'BGPPeer all', nhs: false },
      ],
    ],
  ])('%s', (_name, over, want) => {
    expect(peersOf(input(over))).toEqual(want);
  });

  it('a route reflector treats nodes outside its cluster as clients, other reflectors of the cluster as peers', () => {
    const RR2 = node(
      'rr-2',
      { ipv4Address: '10.0.0.10/24', routeReflectorClusterID: '224.0.0.1' },
      { 'route-reflector': 'true' },
    );
    const i = input({
      nodeName: 'rr-1',
      nodes: new Map([A, B, RR, RR2].map((n) => [n.name, n])),
      configs: [cfg('default', { nodeToNodeMeshEnabled: false })],
      peers: [
        peer('rr-mesh', { nodeSelector: 'has(route-reflector)', peerSelector: 'has(route-reflector)' }),
        peer('clients', { nodeSelector: 'has(route-reflector)', peerSelector: '!has(route-reflector)' }),
      ],
    });
    const plan = planBgp(i);
    expect(plan.config?.routeReflector).toEqual({ clusterId: '224.0.0.1' });
    expect(peersOf(i).map((p) => [p.address, p.rr])).toEqual([
      ['10.0.0.1', true],
      ['10.0.0.2', true],
      ['10.0.0.10', false],
    ]);
    expect(() => validateBgpdConfig(plan.config)).not.toThrow();
  });

  it('password from the secret resolver; an unreadable secret skips the peer with a problem', () => {
    const spec = { peerIP: '10.0.0.254', asNumber: 65000, password: { secretKeyRef: { name: 'bgp', key: 'tor' } } };
    const ok = planBgp(
      input({
        configs: [cfg('default', { nodeToNodeMeshEnabled: false })],
        peers: [peer('tor', spec)],
        password: (r) => (r.name === 'bgp' && r.key === 'tor' ? 's3cret' : undefined),
      }),
    );
    expect(ok.config?.peers[0]?.password).toBe('s3cret');
    const bad = planBgp(
      input({ configs: [cfg('default', { nodeToNodeMeshEnabled: false })], peers: [peer('tor', spec)] }),
    );
    expect(bad.config?.peers).toEqual([]);
    expect(bad.problems[0]).toMatch(/BGPPeer tor: password secret bgp\/tor cannot be read/);
  });

  it('graceful-restart time from maxRestartTime / nodeMeshMaxRestartTime; ttlSecurity, allowas-in, sourceAddress None', () => {
    const plan = planBgp(
      input({
        configs: [cfg('default', { nodeMeshMaxRestartTime: '300s' })],
        peers: [
          peer('tor', {
            peerIP: '10.0.0.254',
            asNumber: 65000,
            maxRestartTime: '2m',
            ttlSecurity: 1,
            numAllowedLocalASNumbers: 2,
            sourceAddress: 'None',
          }),
        ],
      }),
    );
    const tor = plan.config!.peers.find((p) => p.address === '10.0.0.254')!;
    expect(tor).toMatchObject({ gracefulRestart: { enabled: true, restartTime: 120 }, ttlSecurity: 1, allowasIn: 2 });
    expect(tor.sourceAddress).toBeUndefined();
    expect(plan.config!.peers.find((p) => p.address === '10.0.0.2')).toMatchObject({
      gracefulRestart: { restartTime: 300 },
      sourceAddress: '10.0.0.1',
    });
  });

  it('originates blocks and borrowed /32s with prefixAdvertisements communities; export policy follows the pools', () => {
    const plan = planBgp(
      input({
        advertise: ['192.168.1.0/26', '192.168.9.7/32', '192.168.1.0/26'],
        pools: [pool('p4', '192.168.0.0/16'), pool('quiet', '172.16.0.0/16', { disableBGPExport: true })],
        configs: [
          cfg('default', {
            communities: [{ name: 'pods', value: '65000:100' }],
            prefixAdvertisements: [{ cidr: '192.168.1.0/24', communities: ['pods', '65000:1:2'] }],
          }),
        ],
      }),
    );
    expect(plan.config?.originate).toEqual([
      { prefix: '192.168.1.0/26', communities: ['65000:100'], largeCommunities: ['65000:1:2'] },
      { prefix: '192.168.9.7/32', communities: [], largeCommunities: [] },
    ]);
    // To cluster nodes, Calico's calico_export_to_bgp_peers: disabled pools out, own blocks exactly,
    // nothing beneath them (calico_aggr), then the enabled pools.
    expect(plan.config?.policies[EXPORT_POLICY]).toEqual({
      rules: [
        { match: { prefixes: [{ prefix: '172.16.0.0/16', ge: 16, le: 32 }] }, action: 'reject' },
        {
          match: {
            prefixes: [
              { prefix: '192.168.1.0/26', ge: 26, le: 26 },
              { prefix: '192.168.9.7/32', ge: 32, le: 32 },
            ],
          },
          action: 'accept',
        },
        { match: { prefixes: [{ prefix: '192.168.1.0/26', ge: 27, le: 32 }] }, action: 'reject' },
        { match: { prefixes: [{ prefix: '192.168.0.0/16', ge: 16, le: 32 }] }, action: 'accept' },
      ],
      defaultAction: 'reject',
    });
    // To anything else (the ToR): only what this node originates.
    expect(plan.config?.policies[EXPORT_EXTERNAL_POLICY]).toEqual({
      rules: [
        {
          match: {
            prefixes: [
              { prefix: '192.168.1.0/26', ge: 26, le: 26 },
              { prefix: '192.168.9.7/32', ge: 32, le: 32 },
            ],
          },
          action: 'accept',
        },
      ],
      defaultAction: 'reject',
    });
    expect(() => validateBgpdConfig(plan.config)).not.toThrow();
  });

  it('the ToR (not a node) gets the external export policy; node addresses the cluster one', () => {
    const plan = planBgp(
      input({
        peers: [
          peer('tor', { peerIP: '10.0.0.254', asNumber: 65000 }),
          peer('b', { peerIP: '10.0.0.2', asNumber: 64512 }),
        ],
      }),
    );
    expect(plan.config!.peers.map((p) => [p.address, p.export])).toEqual([
      ['10.0.0.2', EXPORT_POLICY],
      ['10.0.0.254', EXPORT_EXTERNAL_POLICY],
      ['10.0.0.3', EXPORT_POLICY],
    ]);
  });

  // Calico's route-reflector pattern: one BGPPeer from the clients to the reflectors, one among the
  // reflectors; the reflector side configures the sessions back (confd's reverse peerings).
  const rrPeers = [
    peer('peer-with-route-reflectors', { nodeSelector: '!has(route-reflector)', peerSelector: 'has(route-reflector)' }),
    peer('rr-mesh', { nodeSelector: 'has(route-reflector)', peerSelector: 'has(route-reflector)' }),
  ];
  const RR2 = node(
    'rr-2',
    { ipv4Address: '10.0.0.10/24', routeReflectorClusterID: '224.0.0.1' },
    { 'route-reflector': 'true' },
  );
  const rrNodes = new Map([A, B, RR, RR2].map((n) => [n.name, n]));
  const rrConfigs = [cfg('default', { nodeToNodeMeshEnabled: false })];

  it('peerSelector BGPPeer applies in both directions: the reflector peers back with each client', () => {
    const onRr = peersOf(input({ nodeName: 'rr-1', nodes: rrNodes, configs: rrConfigs, peers: rrPeers }));
    expect(onRr.map((p) => [p.address, p.rr, p.from])).toEqual([
      ['10.0.0.10', false, 'BGPPeer rr-mesh'],
      ['10.0.0.1', true, 'BGPPeer peer-with-route-reflectors (peer side)'],
      ['10.0.0.2', true, 'BGPPeer peer-with-route-reflectors (peer side)'],
    ]);
    const onClient = peersOf(input({ nodeName: 'node-a', nodes: rrNodes, configs: rrConfigs, peers: rrPeers }));
    expect(onClient.map((p) => [p.address, p.rr])).toEqual([
      ['10.0.0.9', false],
      ['10.0.0.10', false],
    ]);
  });

  it('a peerIP BGPPeer naming a node (address and AS) is reversed on that node over the same family only', () => {
    const A46 = node('node-a', { ipv4Address: '10.0.0.1/24', ipv6Address: 'fd00::1/64' }, { rack: 'r1' });
    const B46 = node('node-b', { ipv4Address: '10.0.0.2/24', ipv6Address: 'fd00::2/64' }, { rack: 'r1' });
    const nodes = new Map([A46, B46].map((n) => [n.name, n]));
    const peers = [peer('a-to-b', { node: 'node-a', peerIP: '10.0.0.2', asNumber: 64512 })];
    expect(peersOf(input({ nodeName: 'node-b', nodes, configs: rrConfigs, peers })).map((p) => p.address)).toEqual([
      '10.0.0.1',
    ]);
    // A different AS than node-b's: not node-b, no reverse.
    const other = [peer('a-to-b', { node: 'node-a', peerIP: '10.0.0.2', asNumber: 65001 })];
    expect(peersOf(input({ nodeName: 'node-b', nodes, configs: rrConfigs, peers: other }))).toEqual([]);
    // A port that is not node-b's listen port: no reverse either.
    const port = [peer('a-to-b', { node: 'node-a', peerIP: '10.0.0.2:1790', asNumber: 64512 })];
    expect(peersOf(input({ nodeName: 'node-b', nodes, configs: rrConfigs, peers: port }))).toEqual([]);
  });

  it('an explicit peering wins over a reverse one for the same address', () => {
    const peers = [
      peer('clients', {
        nodeSelector: '!has(route-reflector)',
        peerSelector: 'has(route-reflector)',
        maxRestartTime: '30s',
      }),
      peer('rr-to-a', { node: 'rr-1', peerIP: '10.0.0.1', asNumber: 64512, maxRestartTime: '90s' }),
    ];
    const plan = planBgp(input({ nodeName: 'rr-1', nodes: rrNodes, configs: rrConfigs, peers }));
    expect(plan.config!.peers.map((p) => [p.address, p.gracefulRestart.restartTime, p.description])).toEqual([
      ['10.0.0.1', 90, 'BGPPeer rr-to-a'],
      ['10.0.0.2', 30, 'BGPPeer clients (peer side)'],
    ]);
  });

  it('IPv6: sessions per family; an IPv6-only node gets a hashed router ID', () => {
    const A6 = node('node-a', { ipv6Address: 'fd00::1/64' });
    const B6 = node('node-b', { ipv4Address: '10.0.0.2/24', ipv6Address: 'fd00::2/64' });
    const plan = planBgp(input({ nodes: new Map([A6, B6].map((n) => [n.name, n])) }));
    expect(plan.config?.routerId).toBe(hashRouterId('node-a'));
    expect(plan.config?.peers.map((p) => [p.address, p.families])).toEqual([['fd00::2', ['ipv6']]]);
  });

  it('no address recorded yet: no config', () => {
    expect(planBgp(input({ nodes: new Map() })).config).toBeUndefined();
  });
});

describe('plannedOriginate (the first step of a new block, before the whole plan)', () => {
  it('is exactly what planBgp originates, communities included, and undefined when planBgp has no config', () => {
    const communities = [
      cfg('default', {
        communities: [{ name: 'pods', value: '65000:100' }],
        prefixAdvertisements: [{ cidr: '192.168.1.0/24', communities: ['pods', '65000:1:2'] }],
      }),
      cfg('node.node-a', { prefixAdvertisements: [{ cidr: '192.168.9.0/24', communities: ['65000:7'] }] }),
    ];
    const cases: PlannerInput[] = [
      input(),
      input({ advertise: [] }),
      input({ advertise: ['192.168.9.7/32', '192.168.1.0/26', '192.168.1.0/26', 'fd00::/122'], configs: communities }),
      input({ advertise: ['192.168.1.0/26'], configs: communities.slice(0, 1) }),
      input({ nodeName: 'node-x' }), // no BGP address recorded: no config
    ];
    for (const i of cases) expect(plannedOriginate(i)).toEqual(planBgp(i).config?.originate);
    expect(plannedOriginate(cases[2]!)).toEqual([
      { prefix: '192.168.1.0/26', communities: [], largeCommunities: [] },
      { prefix: '192.168.9.7/32', communities: ['65000:7'], largeCommunities: [] },
      { prefix: 'fd00::/122', communities: [], largeCommunities: [] },
    ]);
  });
});

describe('node BGP records', () => {
  const base = validateResourceOf('Node', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1', annotations: { 'projectcalico.org/ASNumber': '65010' } },
  }) as Node;

  it('file mode writes spec.bgp; Kubernetes mode writes annotations; unchanged gives undefined', () => {
    const f = withOwnBgp(base, { ipv4Cidr: '10.0.0.1/24', ipv6Cidr: undefined, asNumber: 65001 }, 'file')!;
    expect(f.spec.bgp).toEqual({ ipv4Address: '10.0.0.1/24', asNumber: 65001 });
    expect(withOwnBgp(f, { ipv4Cidr: '10.0.0.1/24', ipv6Cidr: undefined, asNumber: 65001 }, 'file')).toBeUndefined();
    const k = withOwnBgp(base, { ipv4Cidr: '10.0.0.1/24', ipv6Cidr: undefined, asNumber: undefined }, 'kubernetes')!;
    expect(k.metadata.annotations).toEqual({
      'projectcalico.org/ASNumber': '65010',
      'margay.dev/IPv4Address': '10.0.0.1/24',
    });
    expect(nodeBgp(k)).toMatchObject({ ipv4: '10.0.0.1', asNumber: 65010 });
  });
});

describe('nodeBgp on a Node without spec (as the API server may return it)', () => {
  it('reads annotations and does not throw', () => {
    const n = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'k1', annotations: { 'margay.dev/IPv4Address': '10.0.0.7/24' } },
    } as unknown as Node;
    expect(nodeBgp(n)).toMatchObject({ name: 'k1', ipv4: '10.0.0.7' });
    expect(
      withOwnBgp(n, { ipv4Cidr: '10.0.0.7/24', ipv6Cidr: undefined, asNumber: undefined }, 'file')?.spec.bgp,
    ).toEqual({ ipv4Address: '10.0.0.7/24' });
  });
});
