import { describe, expect, it } from 'vitest';
import type { RoutePolicy } from '../route-policy/types.js';
import { SEG } from './attrs.js';
import { Rib } from './rib.js';
import { update, type TestRoute } from './test-helpers.js';
import type { RibOptions, RibPeerConfig } from './types.js';

const ACCEPT: RoutePolicy = { name: 'all', statements: [], defaultResult: 'accept' };

interface P {
  id: string;
  address: string;
  as: number;
  routerId?: string;
  igpCost?: number;
}

/** Announces 10.0.0.0/8 from each peer (in order) and returns the best path's peer and reason. */
function race(peers: readonly (P & { route: TestRoute })[], opts: Partial<RibOptions> = {}) {
  const r = new Rib({ localAs: 65000, routerId: '1.1.1.1', ...opts });
  for (const p of peers) {
    const cfg: RibPeerConfig = {
      id: p.id,
      address: p.address,
      peerAs: p.as,
      localAddress: '10.0.0.1',
      importPolicy: ACCEPT,
      exportPolicy: ACCEPT,
      ...(p.igpCost !== undefined && { igpCost: p.igpCost }),
    };
    r.addPeer(cfg);
    r.peerUp(p.id, { peerRouterId: p.routerId ?? p.address, fourOctetAs: true, families: ['ipv4'] });
  }
  for (const p of peers) r.ingestUpdate(p.id, update({ announce: ['10.0.0.0/8'], route: p.route }));
  const best = r.queryRoutes({ bestOnly: true })[0]!;
  return { peer: best.peer, reason: best.reason, rib: r };
}

const A = { id: 'a', address: '10.0.0.2', as: 65001 };
const B = { id: 'b', address: '10.0.0.3', as: 65002 };
const IA = { id: 'ia', address: '10.0.0.4', as: 65000 };
const IB = { id: 'ib', address: '10.0.0.5', as: 65000 };

describe('best path selection (RFC 4271 §9.1.2.2) records its reason', () => {
  it('only one path', () => {
    expect(race([{ ...A, route: { asPath: [65001], nextHop: '10.0.0.2' } }])).toMatchObject({
      peer: 'a',
      reason: 'only-path',
    });
  });

  it('highest LOCAL_PREF', () => {
    expect(
      race([
        { ...IA, route: { localPref: 100, nextHop: '10.0.0.4' } },
        { ...IB, route: { localPref: 200, asPath: [1, 2, 3], nextHop: '10.0.0.5' } },
      ]),
    ).toMatchObject({ peer: 'ib', reason: 'local-pref' });
  });

  it('shortest AS_PATH, AS_SET counting one and confederation segments zero', () => {
    const set = {
      asPath: [],
      attrs: {
        asPath: [
          { type: SEG.AS_SEQUENCE, asns: [65001] },
          { type: SEG.AS_SET, asns: [1, 2, 3, 4] },
        ],
      },
      nextHop: '10.0.0.2',
    };
    const confed = {
      attrs: {
        asPath: [
          { type: SEG.AS_CONFED_SEQUENCE, asns: [7, 8, 9] },
          { type: SEG.AS_SEQUENCE, asns: [65002, 5, 6] },
        ],
      },
      nextHop: '10.0.0.3',
    };
    expect(
      race([
        { ...A, route: set },
        { ...B, route: confed },
      ]),
    ).toMatchObject({ peer: 'a', reason: 'as-path-length' });
    // confed segment counts 0: both length 3, so the router id decides (not as-path-length)
    expect(
      race([
        { ...A, route: { asPath: [65001, 1, 2], nextHop: '10.0.0.2' } },
        { ...B, route: confed },
      ]),
    ).toMatchObject({ peer: 'a', reason: 'router-id' });
  });

  it('lowest ORIGIN', () => {
    expect(
      race([
        { ...A, route: { asPath: [65001], origin: 2, nextHop: '10.0.0.2' } },
        { ...B, route: { asPath: [65002], origin: 1, nextHop: '10.0.0.3' } },
      ]),
    ).toMatchObject({ peer: 'b', reason: 'origin' });
  });

  it('lowest MED only between paths from the same neighbour AS, unless always-compare-med', () => {
    const same = [
      { ...A, route: { asPath: [65001], med: 50, nextHop: '10.0.0.2' } },
      { ...B, as: 65001, route: { asPath: [65001], med: 10, nextHop: '10.0.0.3' } },
    ];
    expect(race(same)).toMatchObject({ peer: 'b', reason: 'med' });
    const diff = [
      { ...A, route: { asPath: [65001], med: 50, nextHop: '10.0.0.2' } },
      { ...B, route: { asPath: [65002], med: 10, nextHop: '10.0.0.3' } },
    ];
    expect(race(diff)).toMatchObject({ peer: 'a', reason: 'router-id' });
    expect(race(diff, { alwaysCompareMed: true })).toMatchObject({ peer: 'b', reason: 'med' });
  });

  it('eBGP over iBGP', () => {
    expect(
      race([
        { ...IA, route: { asPath: [65001], nextHop: '10.0.0.4' } },
        { ...B, route: { asPath: [65002], nextHop: '10.0.0.3' } },
      ]),
    ).toMatchObject({ peer: 'b', reason: 'ebgp-over-ibgp' });
  });

  it('lowest IGP cost when known', () => {
    expect(
      race([
        { ...IA, igpCost: 20, route: { nextHop: '10.0.0.4' } },
        { ...IB, igpCost: 10, route: { nextHop: '10.0.0.5' } },
      ]),
    ).toMatchObject({ peer: 'ib', reason: 'igp-cost' });
  });

  it('oldest eBGP path when enabled (RFC 5004)', () => {
    const paths = [
      { ...B, route: { asPath: [65002], nextHop: '10.0.0.3' } },
      { ...A, route: { asPath: [65001], nextHop: '10.0.0.2' } },
    ];
    expect(race(paths)).toMatchObject({ peer: 'a', reason: 'router-id' });
    expect(race(paths, { preferOldestEbgp: true })).toMatchObject({ peer: 'b', reason: 'oldest-ebgp' });
  });

  it('lowest router id, using ORIGINATOR_ID when present (RFC 4456)', () => {
    expect(
      race([
        { ...IA, routerId: '5.5.5.5', route: { nextHop: '10.0.0.4' } },
        { ...IB, routerId: '6.6.6.6', route: { nextHop: '10.0.0.5', originatorId: 0x01010102 } },
      ]),
    ).toMatchObject({ peer: 'ib', reason: 'router-id' });
  });

  it('shortest CLUSTER_LIST, then lowest peer address', () => {
    expect(
      race([
        { ...IA, routerId: '5.5.5.5', route: { nextHop: '10.0.0.4', originatorId: 9, clusterList: [1, 2] } },
        { ...IB, routerId: '5.5.5.5', route: { nextHop: '10.0.0.5', originatorId: 9, clusterList: [3] } },
      ]),
    ).toMatchObject({ peer: 'ib', reason: 'cluster-list-length' });
    expect(
      race([
        { ...IB, routerId: '5.5.5.5', route: { nextHop: '10.0.0.5' } },
        { ...IA, routerId: '5.5.5.5', route: { nextHop: '10.0.0.4' } },
      ]),
    ).toMatchObject({ peer: 'ia', reason: 'peer-address' });
  });

  it('prefers a locally originated route at equal LOCAL_PREF', () => {
    const r = race([{ ...A, route: { asPath: [], nextHop: '10.0.0.2' } }]).rib;
    r.originate('10.0.0.0/8');
    expect(r.queryRoutes({ bestOnly: true })[0]).toMatchObject({ peer: 'local', reason: 'local-origin' });
  });

  it('is independent of arrival order (deterministic MED)', () => {
    // Classic MED cycle: x beats y on MED (same AS), y beats z on router id, z beats x on router id.
    const x = {
      id: 'x',
      address: '10.0.0.10',
      as: 65001,
      routerId: '3.3.3.3',
      route: { asPath: [65001], med: 10, nextHop: '10.0.0.10' },
    };
    const y = {
      id: 'y',
      address: '10.0.0.11',
      as: 65001,
      routerId: '1.1.1.2',
      route: { asPath: [65001], med: 20, nextHop: '10.0.0.11' },
    };
    const z = {
      id: 'z',
      address: '10.0.0.12',
      as: 65002,
      routerId: '2.2.2.2',
      route: { asPath: [65002], med: 0, nextHop: '10.0.0.12' },
    };
    const orders = [
      [x, y, z],
      [x, z, y],
      [y, x, z],
      [y, z, x],
      [z, x, y],
      [z, y, x],
    ];
    const winners = new Set(orders.map((o) => race(o).peer));
    expect(winners.size).toBe(1);
  });
});

describe('multipath (ECMP)', () => {
  const paths = [
    { ...A, routerId: '10.0.0.2', route: { asPath: [65001, 7], nextHop: '10.0.0.2' } },
    { ...B, as: 65001, routerId: '10.0.0.3', route: { asPath: [65001, 8], nextHop: '10.0.0.3' } },
    {
      id: 'c',
      address: '10.0.0.6',
      as: 65003,
      routerId: '10.0.0.6',
      route: { asPath: [65003, 9], nextHop: '10.0.0.6' },
    },
  ];

  it('groups paths equal up to the router id (same neighbour AS) and honours max paths', () => {
    const { rib } = race(paths, { maxPaths: 4 });
    expect(rib.takeBestPathChanges(10)).toEqual([
      { family: 'ipv4', prefix: '10.0.0.0/8', nextHops: ['10.0.0.2', '10.0.0.3'], local: false },
    ]);
    expect(
      rib
        .queryRoutes({})
        .filter((x) => x.multipath)
        .map((x) => x.peer)
        .sort(),
    ).toEqual(['a', 'b']);
    const relaxed = race(paths, { maxPaths: 4, multipathRelax: true }).rib;
    expect(relaxed.takeBestPathChanges(10)[0]!.nextHops).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.6']);
    const two = race(paths, { maxPaths: 2, multipathRelax: true }).rib;
    expect(two.takeBestPathChanges(10)[0]!.nextHops).toHaveLength(2);
  });

  it('single path without multipath', () => {
    expect(race(paths).rib.takeBestPathChanges(10)[0]!.nextHops).toEqual(['10.0.0.2']);
  });
});
