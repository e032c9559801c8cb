import { describe, expect, it } from 'vitest';
import { TopologySpecError } from './errors.js';
import { planLab, type LabOptions } from './lab-plan.js';
import { bgpdTorConfig, birdTorConfig, frrTorConfig } from './tor.js';
import { validateSpec } from './topology-spec.js';

const BASE: LabOptions = { name: 'lab', nodes: 3, podsPerNode: 2, tor: 'bird', mode: 'mesh', dualStack: false };

describe('planLab', () => {
  it('draws ToR, nodes on one segment, outside, pods; the spec is valid and never links to the host', () => {
    const p = planLab(BASE, 'mgylabab12');
    expect(validateSpec(p.spec)).toBe(p.spec);
    expect(p.spec.allowHostLinks).toBeUndefined();
    expect(p.spec.nodes.map((n) => n.name)).toEqual(['tor', 'node-1', 'node-2', 'node-3', 'outside']);
    expect(p.nodes.map((n) => `${n.name} ${n.ip} ${n.asn}`)).toEqual([
      'node-1 10.99.0.11 64512',
      'node-2 10.99.0.12 64512',
      'node-3 10.99.0.13 64512',
    ]);
    expect(p.pods.map((x) => `${x.name}@${x.node}`)).toEqual([
      'pod-1-1@node-1',
      'pod-1-2@node-1',
      'pod-2-1@node-2',
      'pod-2-2@node-2',
      'pod-3-1@node-3',
      'pod-3-2@node-3',
    ]);
    expect(new Set(p.pods.map((x) => x.containerId)).size).toBe(6);
    const kinds = p.manifests.map((m) => `${m.kind}/${(m.metadata as { name: string }).name}`);
    expect(kinds).toEqual([
      'Namespace/default',
      'IPPool/lab-ipv4',
      'Node/node-1',
      'Node/node-2',
      'Node/node-3',
      'BGPConfiguration/default',
      'BGPPeer/tor',
    ]);
    expect(p.manifests.find((m) => m.kind === 'BGPConfiguration')!.spec).toEqual({
      nodeToNodeMeshEnabled: true,
      asNumber: 64512,
    });
  });

  it('route reflectors: node-1 reflects, the mesh is off, clients peer by selector', () => {
    const p = planLab({ ...BASE, mode: 'rr' }, 'mgylabab12');
    expect(p.nodes.filter((n) => n.routeReflector).map((n) => n.name)).toEqual(['node-1']);
    expect(p.manifests.find((m) => m.kind === 'BGPConfiguration')!.spec).toMatchObject({
      nodeToNodeMeshEnabled: false,
    });
    expect(p.manifests.find((m) => (m.metadata as { name: string }).name === 'to-route-reflectors')!.spec).toEqual({
      nodeSelector: 'all()',
      peerSelector: "route-reflector == 'true'",
    });
    expect(p.manifests.filter((m) => m.kind === 'BGPPeer').map((m) => (m.metadata as { name: string }).name)).toEqual([
      'tor',
      'to-route-reflectors',
    ]);
  });

  it('eBGP: one AS per node, each a ToR neighbour with its own AS', () => {
    const p = planLab({ ...BASE, mode: 'ebgp' }, 'mgylabab12');
    expect(p.nodes.map((n) => n.asn)).toEqual([64513, 64514, 64515]);
    expect(birdTorConfig(p)).toContain('protocol bgp node_2 from node { neighbor 10.99.0.12 as 64514; }');
    expect(frrTorConfig(p)).toContain(' neighbor 10.99.0.13 remote-as 64515');
    expect(bgpdTorConfig(p, '/s')).toContain('{ address: 10.99.0.11, asn: 64513,');
  });

  it('host-gw: no BGP resources and a ToR without node sessions', () => {
    const p = planLab({ ...BASE, mode: 'host-gw' }, 'mgylabab12');
    expect(p.manifests.some((m) => m.kind === 'BGPConfiguration' || m.kind === 'BGPPeer')).toBe(false);
    expect(birdTorConfig(p)).not.toContain('neighbor');
    expect(bgpdTorConfig(p, '/s')).toContain('peers: []');
  });

  it('dual stack adds IPv6 addresses, routes and a /122-block pool', () => {
    const p = planLab({ ...BASE, dualStack: true }, 'mgylabab12');
    expect(p.nodes[0]!.ip6).toBe('fd00:99::b');
    expect(p.manifests.find((m) => (m.metadata as { name: string }).name === 'lab-ipv6')!.spec).toMatchObject({
      cidr: 'fd00:244::/48',
      blockSize: 122,
    });
    expect(validateSpec(p.spec).nodes[1]!.routes).toEqual([
      { dst: 'default', via: '10.99.0.1' },
      { dst: 'default', via: 'fd00:99::1' },
    ]);
  });

  it.each([
    [{ name: 'Lab' }, 'name'],
    [{ nodes: 0 }, 'nodes'],
    [{ nodes: 2.5 }, 'nodes'],
    [{ podsPerNode: -1 }, 'pods'],
    [{ tor: 'gobgp' }, 'tor'],
    [{ mode: 'vxlan' }, 'mode'],
    [{ mode: 'rr', nodes: 1 }, 'mode'],
  ] as [Partial<LabOptions>, string][])('rejects %o naming %s', (o, field) => {
    const err = (() => {
      try {
        planLab({ ...BASE, ...o }, 'mgylabab12');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(TopologySpecError);
    expect((err as TopologySpecError).field).toBe(field);
  });
});
