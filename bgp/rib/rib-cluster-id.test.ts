import { describe, expect, it } from 'vitest';
import type { RoutePolicy } from '../route-policy/types.js';
import { Rib } from './rib.js';
import { decodeOut, update } from './test-helpers.js';
import type { RibNegotiated, RibPeerConfig } from './types.js';

const ACCEPT: RoutePolicy = { name: 'all', statements: [], defaultResult: 'accept' };
const NEG: RibNegotiated = { peerRouterId: '9.9.9.9', fourOctetAs: true, families: ['ipv4'] };
const BIG = 1 << 20;
const OLD = 0x07070707,
  NEW = 0x08080808;

function peer(id: string, address: string, peerAs: number, extra: Partial<RibPeerConfig> = {}): RibPeerConfig {
  return { id, address, peerAs, localAddress: '10.0.0.1', importPolicy: ACCEPT, exportPolicy: ACCEPT, ...extra };
}

function up(r: Rib, cfg: RibPeerConfig, routerId: string): void {
  r.addPeer(cfg);
  r.peerUp(cfg.id, { ...NEG, peerRouterId: routerId });
  r.takeOutbound(cfg.id, BIG); // initial End-of-RIB
}

const announced = (r: Rib, id: string) => decodeOut(r.takeOutbound(id, BIG)).filter((m) => !m.endOfRib);

/** An RR (cluster 7.7.7.7) with two clients, one non-client and one eBGP peer. */
function rr(): Rib {
  const r = new Rib({ localAs: 65000, routerId: '1.1.1.1', clusterId: '7.7.7.7' });
  up(r, peer('c1', '10.0.0.11', 65000, { routeReflectorClient: true }), '11.11.11.11');
  up(r, peer('c2', '10.0.0.12', 65000, { routeReflectorClient: true }), '12.12.12.12');
  up(r, peer('n1', '10.0.0.21', 65000), '21.21.21.21');
  up(r, peer('e1', '10.0.0.4', 65001), '4.4.4.4');
  return r;
}

describe('Rib.setClusterId (RFC 4456, in place)', () => {
  it('re-advertises reflected routes with the new CLUSTER_LIST, and only those', () => {
    const r = rr();
    r.ingestUpdate('c1', update({ announce: ['10.1.0.0/16'], route: { nextHop: '10.0.0.11' } }));
    r.ingestUpdate('e1', update({ announce: ['10.5.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.4' } }));
    for (const id of ['c2', 'n1']) {
      const byPrefix = new Map(announced(r, id).flatMap((m) => m.announced.map((p) => [p, m.attrs!] as const)));
      expect(byPrefix.get('10.1.0.0/16')!.clusterList).toEqual([OLD]);
      expect(byPrefix.get('10.5.0.0/16')!.clusterList).toEqual([]); // eBGP-learned: not reflected
    }
    announced(r, 'e1');
    announced(r, 'c1');
    r.setClusterId('8.8.8.8');
    for (const id of ['c2', 'n1']) {
      const out = announced(r, id);
      expect(out.flatMap((m) => m.announced)).toEqual(['10.1.0.0/16']); // the eBGP route is unchanged: not re-sent
      expect(out[0]!.attrs!.clusterList).toEqual([NEW]);
      expect(out[0]!.attrs!.originatorId).toBe(0x0b0b0b0b);
      expect(out.flatMap((m) => m.withdrawn)).toEqual([]);
    }
    expect(announced(r, 'c1')).toEqual([]); // never reflected back to its source
    expect(announced(r, 'e1')).toEqual([]); // eBGP sees no CLUSTER_LIST: nothing changed for it
  });

  it('re-runs the CLUSTER_LIST loop check on stored paths: new ID loops are dropped, old ones come back', () => {
    const r = rr();
    const a = r.ingestUpdate(
      'c1',
      update({ announce: ['10.2.0.0/16'], route: { nextHop: '10.0.0.11', clusterList: [NEW] } }),
    );
    const b = r.ingestUpdate(
      'c1',
      update({ announce: ['10.3.0.0/16'], route: { nextHop: '10.0.0.11', clusterList: [OLD] } }),
    );
    expect([a.rejected, b.rejected]).toEqual([0, 1]);
    expect(announced(r, 'e1').flatMap((m) => m.announced)).toEqual(['10.2.0.0/16']);
    r.setClusterId('8.8.8.8');
    expect(r.peerCounts('c1')).toMatchObject({ received: 2, accepted: 1 });
    const out = announced(r, 'e1');
    expect(out.flatMap((m) => m.withdrawn)).toEqual(['10.2.0.0/16']);
    expect(out.flatMap((m) => m.announced)).toEqual(['10.3.0.0/16']);
    expect(r.queryRoutes({ prefix: '10.3.0.0/16' })).toMatchObject([{ accepted: true, best: true }]);
    expect(r.queryRoutes({ prefix: '10.2.0.0/16' })).toMatchObject([{ accepted: false, rejection: 'cluster-list' }]);
  });

  it('is a no-op for the same ID, and rejects a malformed one without changing anything', () => {
    const r = rr();
    r.ingestUpdate('c1', update({ announce: ['10.1.0.0/16'], route: { nextHop: '10.0.0.11' } }));
    announced(r, 'c2');
    r.setClusterId('7.7.7.7');
    expect(announced(r, 'c2')).toEqual([]);
    expect(() => r.setClusterId('7.7.7')).toThrow();
    expect(() => r.setClusterId('not an address')).toThrow();
    expect(announced(r, 'c2')).toEqual([]);
    r.ingestUpdate('c1', update({ announce: ['10.4.0.0/16'], route: { nextHop: '10.0.0.11' } }));
    expect(announced(r, 'c2')[0]!.attrs!.clusterList).toEqual([OLD]);
  });
});
