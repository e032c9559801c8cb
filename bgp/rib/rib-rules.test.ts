import { describe, expect, it } from 'vitest';
import { WELL_KNOWN } from '../attrs/index.js';
import type { RoutePolicy } from '../route-policy/types.js';
import { Rib } from './rib.js';
import { decodeOut, update } from './test-helpers.js';
import type { RibNegotiated, RibOptions, RibPeerConfig } from './types.js';

const ACCEPT: RoutePolicy = { name: 'all', statements: [], defaultResult: 'accept' };
const NEG: RibNegotiated = { peerRouterId: '9.9.9.9', fourOctetAs: true, families: ['ipv4'] };
const BIG = 1 << 20;

function peer(id: string, address: string, peerAs: number, extra: Partial<RibPeerConfig> = {}): RibPeerConfig {
  return { id, address, peerAs, localAddress: '10.0.0.1', importPolicy: ACCEPT, exportPolicy: ACCEPT, ...extra };
}

function rib(extra: Partial<RibOptions> = {}): Rib {
  return new Rib({ localAs: 65000, routerId: '1.1.1.1', ...extra });
}

function up(r: Rib, cfg: RibPeerConfig, neg: Partial<RibNegotiated> = {}): void {
  r.addPeer(cfg);
  r.peerUp(cfg.id, { ...NEG, peerRouterId: cfg.address, ...neg });
  r.takeOutbound(cfg.id, BIG); // initial End-of-RIB
}

const announced = (r: Rib, id: string) => decodeOut(r.takeOutbound(id, BIG)).filter((m) => !m.endOfRib);

describe('iBGP / eBGP rules', () => {
  it('does not re-advertise iBGP-learned routes to iBGP peers without route reflection', () => {
    const r = rib();
    up(r, peer('i1', '10.0.0.2', 65000));
    up(r, peer('i2', '10.0.0.3', 65000));
    up(r, peer('e1', '10.0.0.4', 65001));
    r.ingestUpdate('i1', update({ announce: ['10.9.0.0/16'], route: { nextHop: '10.0.0.2', localPref: 200 } }));
    expect(announced(r, 'i2')).toEqual([]);
    const e = announced(r, 'e1');
    expect(e[0]!.announced).toEqual(['10.9.0.0/16']);
    expect(e[0]!.attrs!.localPref).toBeUndefined();
  });

  it('sends LOCAL_PREF to iBGP (default 100) and keeps the eBGP next hop', () => {
    const r = rib();
    up(r, peer('e1', '10.0.0.4', 65001));
    up(r, peer('i1', '10.0.0.2', 65000));
    r.ingestUpdate(
      'e1',
      update({ announce: ['10.9.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.4', med: 7 } }),
    );
    const a = announced(r, 'i1')[0]!.attrs!;
    expect(a.localPref).toBe(100);
    expect([...a.nextHop]).toEqual([10, 0, 0, 4]);
    expect(a.asPath[0]!.asns).toEqual([65001]); // no prepend toward iBGP
    expect(a.med).toBe(7); // MED stays inside the AS
  });

  it('ignores LOCAL_PREF received over eBGP', () => {
    const r = rib();
    up(r, peer('e1', '10.0.0.4', 65001));
    up(r, peer('i1', '10.0.0.2', 65000));
    r.ingestUpdate(
      'e1',
      update({ announce: ['10.9.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.4', localPref: 999 } }),
    );
    expect(announced(r, 'i1')[0]!.attrs!.localPref).toBe(100);
  });

  it('applies next-hop-self toward iBGP when configured and keep toward eBGP when disabled', () => {
    const r = rib();
    up(r, peer('e1', '10.0.0.4', 65001));
    up(r, peer('i1', '10.0.0.2', 65000, { nextHopSelf: true, localAddress: '10.0.0.9' }));
    up(r, peer('e2', '10.0.0.5', 65002, { nextHopSelf: false }));
    r.ingestUpdate('e1', update({ announce: ['10.9.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.4' } }));
    expect([...announced(r, 'i1')[0]!.attrs!.nextHop]).toEqual([10, 0, 0, 9]);
    expect([...announced(r, 'e2')[0]!.attrs!.nextHop]).toEqual([10, 0, 0, 4]);
  });

  it('passes a third-party next hop on the subnet shared with an eBGP peer', () => {
    const r = rib();
    up(r, peer('e1', '10.0.0.4', 65001));
    up(r, peer('e2', '10.0.0.5', 65002, { sharedSubnet: '10.0.0.0/24' }));
    r.ingestUpdate('e1', update({ announce: ['10.9.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.4' } }));
    r.ingestUpdate('e1', update({ announce: ['10.8.0.0/16'], route: { asPath: [65001], nextHop: '192.0.2.4' } }));
    const out = announced(r, 'e2');
    const nh = (p: string) => [...out.find((m) => m.announced.includes(p))!.attrs!.nextHop].join('.');
    expect(nh('10.9.0.0/16')).toBe('10.0.0.4');
    expect(nh('10.8.0.0/16')).toBe('10.0.0.1');
  });

  it('prepends the per-session local AS toward eBGP', () => {
    const r = rib();
    up(r, peer('e1', '10.0.0.4', 65001));
    up(r, peer('e2', '10.0.0.5', 65002, { localAs: 64999 }));
    r.ingestUpdate('e1', update({ announce: ['10.9.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.4' } }));
    expect(announced(r, 'e2')[0]!.attrs!.asPath[0]!.asns).toEqual([64999, 65001]);
  });
});

describe('AS-path loop detection', () => {
  it('rejects paths containing our AS, unless allowas-in permits the count', () => {
    const r = rib();
    up(r, peer('e1', '10.0.0.4', 65001));
    up(r, peer('e2', '10.0.0.5', 65002, { allowAsIn: 1 }));
    const res = r.ingestUpdate(
      'e1',
      update({ announce: ['10.1.0.0/16'], route: { asPath: [65001, 65000], nextHop: '10.0.0.4' } }),
    );
    expect(res.rejected).toBe(1);
    expect(r.peerCounts('e1')).toMatchObject({ received: 1, accepted: 0 });
    expect(
      r.ingestUpdate(
        'e2',
        update({ announce: ['10.2.0.0/16'], route: { asPath: [65002, 65000], nextHop: '10.0.0.5' } }),
      ).rejected,
    ).toBe(0);
    expect(
      r.ingestUpdate(
        'e2',
        update({ announce: ['10.3.0.0/16'], route: { asPath: [65002, 65000, 65000], nextHop: '10.0.0.5' } }),
      ).rejected,
    ).toBe(1);
    expect(r.queryRoutes({ prefix: '10.1.0.0/16' })[0]).toMatchObject({ accepted: false, best: false });
  });
});

describe('RFC 8212', () => {
  it('denies eBGP import and export without a policy', () => {
    const r = rib();
    up(r, peer('e1', '10.0.0.4', 65001, { importPolicy: undefined }));
    up(r, peer('e2', '10.0.0.5', 65002, { exportPolicy: undefined }));
    up(r, peer('e3', '10.0.0.6', 65003));
    expect(
      r.ingestUpdate('e1', update({ announce: ['10.1.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.4' } }))
        .rejected,
    ).toBe(1);
    r.ingestUpdate('e3', update({ announce: ['10.3.0.0/16'], route: { asPath: [65003], nextHop: '10.0.0.6' } }));
    expect(announced(r, 'e2')).toEqual([]);
  });

  it('can be turned off (ebgpRequiresPolicy: false)', () => {
    const r = rib({ ebgpRequiresPolicy: false });
    up(r, peer('e1', '10.0.0.4', 65001, { importPolicy: undefined }));
    up(r, peer('e2', '10.0.0.5', 65002, { exportPolicy: undefined }));
    expect(
      r.ingestUpdate('e1', update({ announce: ['10.1.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.4' } }))
        .rejected,
    ).toBe(0);
    expect(announced(r, 'e2')[0]!.announced).toEqual(['10.1.0.0/16']);
  });

  it('does not apply to iBGP', () => {
    const r = rib();
    up(r, peer('i1', '10.0.0.2', 65000, { importPolicy: undefined, exportPolicy: undefined }));
    up(r, peer('i2', '10.0.0.3', 65000, { importPolicy: undefined, exportPolicy: undefined }));
    r.originate('10.244.0.0/26');
    expect(r.ingestUpdate('i1', update({ announce: ['10.1.0.0/16'], route: { nextHop: '10.0.0.2' } })).rejected).toBe(
      0,
    );
    expect(announced(r, 'i2').flatMap((m) => m.announced)).toEqual(['10.244.0.0/26']);
  });
});

describe('well-known communities', () => {
  it('NO_EXPORT stays inside the AS, NO_ADVERTISE goes nowhere', () => {
    const r = rib();
    up(r, peer('e1', '10.0.0.4', 65001));
    up(r, peer('e2', '10.0.0.5', 65002));
    up(r, peer('i1', '10.0.0.2', 65000));
    r.ingestUpdate(
      'e1',
      update({
        announce: ['10.1.0.0/16'],
        route: { asPath: [65001], nextHop: '10.0.0.4', communities: [WELL_KNOWN['no-export']] },
      }),
    );
    r.ingestUpdate(
      'e1',
      update({
        announce: ['10.2.0.0/16'],
        route: { asPath: [65001], nextHop: '10.0.0.4', communities: [WELL_KNOWN['no-advertise']] },
      }),
    );
    r.ingestUpdate(
      'e1',
      update({
        announce: ['10.3.0.0/16'],
        route: { asPath: [65001], nextHop: '10.0.0.4', communities: [WELL_KNOWN['no-export-subconfed']] },
      }),
    );
    expect(announced(r, 'e2')).toEqual([]);
    expect(
      announced(r, 'i1')
        .flatMap((m) => m.announced)
        .sort(),
    ).toEqual(['10.1.0.0/16', '10.3.0.0/16']);
  });
});

describe('route reflection (RFC 4456)', () => {
  function rr() {
    const r = rib({ clusterId: '7.7.7.7' });
    up(r, peer('c1', '10.0.0.11', 65000, { routeReflectorClient: true }), { peerRouterId: '11.11.11.11' });
    up(r, peer('c2', '10.0.0.12', 65000, { routeReflectorClient: true }), { peerRouterId: '12.12.12.12' });
    up(r, peer('n1', '10.0.0.21', 65000), { peerRouterId: '21.21.21.21' });
    up(r, peer('n2', '10.0.0.22', 65000), { peerRouterId: '22.22.22.22' });
    return r;
  }

  it('reflects client routes to clients and non-clients with ORIGINATOR_ID and CLUSTER_LIST', () => {
    const r = rr();
    r.ingestUpdate('c1', update({ announce: ['10.1.0.0/16'], route: { nextHop: '10.0.0.11' } }));
    for (const id of ['c2', 'n1', 'n2']) {
      const a = announced(r, id)[0]!.attrs!;
      expect(a.originatorId).toBe(0x0b0b0b0b);
      expect(a.clusterList).toEqual([0x07070707]);
      expect([...a.nextHop]).toEqual([10, 0, 0, 11]);
    }
    expect(announced(r, 'c1')).toEqual([]);
  });

  it('reflects non-client routes to clients only', () => {
    const r = rr();
    r.ingestUpdate('n1', update({ announce: ['10.1.0.0/16'], route: { nextHop: '10.0.0.21' } }));
    expect(announced(r, 'c1')).toHaveLength(1);
    expect(announced(r, 'c2')).toHaveLength(1);
    expect(announced(r, 'n2')).toEqual([]);
  });

  it('keeps an existing ORIGINATOR_ID, prepends the cluster id, and drops looped routes', () => {
    const r = rr();
    r.ingestUpdate(
      'c1',
      update({
        announce: ['10.1.0.0/16'],
        route: { nextHop: '10.0.0.11', originatorId: 0x05050505, clusterList: [0x06060606] },
      }),
    );
    const a = announced(r, 'c2')[0]!.attrs!;
    expect(a.originatorId).toBe(0x05050505);
    expect(a.clusterList).toEqual([0x07070707, 0x06060606]);
    expect(
      r.ingestUpdate(
        'c1',
        update({ announce: ['10.2.0.0/16'], route: { nextHop: '10.0.0.11', clusterList: [0x07070707] } }),
      ).rejected,
    ).toBe(1);
    expect(
      r.ingestUpdate(
        'c1',
        update({ announce: ['10.3.0.0/16'], route: { nextHop: '10.0.0.11', originatorId: 0x01010101 } }),
      ).rejected,
    ).toBe(1);
  });
});

describe('max-prefix', () => {
  it('reports the limit with Cease data AFI/SAFI/limit (RFC 4486)', () => {
    const r = rib();
    up(r, peer('e1', '10.0.0.4', 65001, { maxPrefixes: 2 }));
    const route = { asPath: [65001], nextHop: '10.0.0.4' };
    expect(
      r.ingestUpdate('e1', update({ announce: ['10.1.0.0/16', '10.2.0.0/16'], route })).maxPrefixExceeded,
    ).toBeUndefined();
    const res = r.ingestUpdate('e1', update({ announce: ['10.3.0.0/16'], route }));
    expect(res.maxPrefixExceeded).toMatchObject({ family: 'ipv4', limit: 2 });
    expect([...res.maxPrefixExceeded!.data]).toEqual([0, 1, 1, 0, 0, 0, 2]);
  });
});

describe('graceful restart (RFC 4724)', () => {
  it("keeps a restarting peer's routes as stale and sweeps the ones not re-sent at End-of-RIB", () => {
    const r = rib();
    up(r, peer('e1', '10.0.0.4', 65001));
    up(r, peer('e2', '10.0.0.5', 65002));
    const route = { asPath: [65001], nextHop: '10.0.0.4' };
    r.ingestUpdate('e1', update({ announce: ['10.1.0.0/16', '10.2.0.0/16'], route }));
    announced(r, 'e2');
    r.peerDown('e1', { gracefulRestart: true });
    expect(r.queryRoutes({ peer: 'e1' }).map((x) => x.stale)).toEqual([true, true]);
    expect(announced(r, 'e2')).toEqual([]); // nothing withdrawn downstream
    r.peerUp('e1', { ...NEG, peerRouterId: '10.0.0.4' });
    r.ingestUpdate('e1', update({ announce: ['10.1.0.0/16'], route }));
    expect(r.queryRoutes({ peer: 'e1' }).map((x) => [x.prefix, x.stale])).toEqual([
      ['10.1.0.0/16', false],
      ['10.2.0.0/16', true],
    ]);
    const eor = r.ingestUpdate('e1', update({}));
    expect(eor.endOfRib).toBe('ipv4');
    expect(r.queryRoutes({ peer: 'e1' }).map((x) => x.prefix)).toEqual(['10.1.0.0/16']);
    expect(announced(r, 'e2').flatMap((m) => m.withdrawn)).toEqual(['10.2.0.0/16']);
  });

  it('withdraws everything on a non-graceful session loss and sweeps stale routes on timer expiry', () => {
    const r = rib();
    up(r, peer('e1', '10.0.0.4', 65001));
    r.ingestUpdate('e1', update({ announce: ['10.1.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.4' } }));
    r.peerDown('e1', { gracefulRestart: true });
    r.sweepStale('e1');
    expect(r.countRoutes()).toEqual({ prefixes: 0, paths: 0 });
    r.peerUp('e1', { ...NEG, peerRouterId: '10.0.0.4' });
    r.ingestUpdate('e1', update({ announce: ['10.1.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.4' } }));
    r.peerDown('e1');
    expect(r.countRoutes()).toEqual({ prefixes: 0, paths: 0 });
    expect(r.attrSetCount).toBe(0);
  });

  it('sends End-of-RIB after the initial table', () => {
    const r = rib();
    r.originate('10.244.0.0/26');
    r.addPeer(peer('e1', '10.0.0.4', 65001));
    r.peerUp('e1', { ...NEG, peerRouterId: '10.0.0.4' });
    const out = decodeOut(r.takeOutbound('e1', BIG));
    expect(out.map((m) => (m.endOfRib ? 'eor' : m.announced.join()))).toEqual(['10.244.0.0/26', 'eor']);
    expect(r.hasOutbound('e1')).toBe(false);
  });
});

describe('route refresh', () => {
  it('re-sends the whole Adj-RIB-Out on request', () => {
    const r = rib();
    up(r, peer('e1', '10.0.0.4', 65001));
    r.originate('10.244.0.0/26');
    expect(announced(r, 'e1')).toHaveLength(1);
    expect(r.hasOutbound('e1')).toBe(false);
    r.refreshOutbound('e1');
    expect(announced(r, 'e1').flatMap((m) => m.announced)).toEqual(['10.244.0.0/26']);
  });

  it('coalesces repeated requests before anything is sent, but a request after a partial send re-sends everything', () => {
    const r = rib();
    up(r, peer('e1', '10.0.0.4', 65001));
    const prefixes = Array.from({ length: 3000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`);
    for (const p of prefixes) r.originate(p);
    expect(announced(r, 'e1').flatMap((m) => m.announced)).toHaveLength(3000);
    for (let i = 0; i < 50; i++) r.refreshOutbound('e1');
    expect(
      announced(r, 'e1')
        .flatMap((m) => m.announced)
        .sort(),
    ).toEqual([...prefixes].sort());
    r.refreshOutbound('e1');
    const first = decodeOut(r.takeOutbound('e1', 4096)).flatMap((m) => m.announced); // part of the table
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(3000);
    r.refreshOutbound('e1'); // the peer asks again: the part already sent must go again too
    expect(
      announced(r, 'e1')
        .flatMap((m) => m.announced)
        .sort(),
    ).toEqual([...prefixes].sort());
  });

  it('re-applies a changed import policy to stored routes (soft reconfiguration)', () => {
    const r = rib();
    up(r, peer('e1', '10.0.0.4', 65001));
    r.ingestUpdate(
      'e1',
      update({ announce: ['10.1.0.0/16', '10.2.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.4' } }),
    );
    r.setImportPolicy('e1', {
      name: 'only-10-1',
      defaultResult: 'reject',
      statements: [{ match: { prefix: { entries: [{ prefix: '10.1.0.0/16' }] } }, actions: { setLocalPref: 300 } }],
    });
    expect(r.queryRoutes({ peer: 'e1' }).map((x) => [x.prefix, x.accepted, x.localPref])).toEqual([
      ['10.1.0.0/16', true, 300],
      ['10.2.0.0/16', false, undefined],
    ]);
    r.setImportPolicy('e1', ACCEPT);
    expect(r.countRoutes()).toEqual({ prefixes: 2, paths: 2 });
  });

  it('resolves named prefix lists from the RIB options', () => {
    const r = rib({ prefixLists: [{ name: 'pods', entries: [{ prefix: '10.244.0.0/16', le: 32 }] }] });
    up(
      r,
      peer('e1', '10.0.0.4', 65001, {
        importPolicy: { name: 'p', defaultResult: 'reject', statements: [{ match: { prefix: { list: 'pods' } } }] },
      }),
    );
    const res = r.ingestUpdate(
      'e1',
      update({ announce: ['10.244.1.0/26', '10.1.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.4' } }),
    );
    expect(res.rejected).toBe(1);
    expect(() =>
      r.addPeer(
        peer('e2', '10.0.0.5', 65002, {
          importPolicy: { name: 'q', defaultResult: 'reject', statements: [{ match: { prefix: { list: 'nope' } } }] },
        }),
      ),
    ).toThrow(/unknown prefix list/);
  });

  it('enhanced route refresh sweeps routes the peer did not re-send', () => {
    const r = rib();
    up(r, peer('e1', '10.0.0.4', 65001));
    const route = { asPath: [65001], nextHop: '10.0.0.4' };
    r.ingestUpdate('e1', update({ announce: ['10.1.0.0/16', '10.2.0.0/16'], route }));
    r.beginRouteRefresh('e1', 'ipv4');
    r.ingestUpdate('e1', update({ announce: ['10.2.0.0/16'], route }));
    r.endRouteRefresh('e1', 'ipv4');
    expect(r.queryRoutes({}).map((x) => x.prefix)).toEqual(['10.2.0.0/16']);
  });
});

describe('ADD-PATH receive and treat-as-withdraw', () => {
  it('keys paths by path id and withdraws them individually', () => {
    const r = rib({ maxPaths: 4 });
    up(r, peer('e1', '10.0.0.4', 65001), { addPathReceive: ['ipv4'] });
    r.ingestUpdate(
      'e1',
      update({ announce: ['10.1.0.0/16'], pathIds: [1], route: { asPath: [65001], nextHop: '10.0.0.7' } }),
    );
    r.ingestUpdate(
      'e1',
      update({ announce: ['10.1.0.0/16'], pathIds: [2], route: { asPath: [65001], nextHop: '10.0.0.8' } }),
    );
    expect(r.countRoutes()).toEqual({ prefixes: 1, paths: 2 });
    const best = r.queryRoutes({ bestOnly: true })[0]!;
    expect(best).toMatchObject({ pathId: 1, reason: 'path-id' });
    expect(r.takeBestPathChanges(10).at(-1)).toMatchObject({ nextHops: ['10.0.0.7', '10.0.0.8'] });
    r.ingestUpdate('e1', update({ withdraw: ['10.1.0.0/16'], withdrawPathIds: [1] }));
    expect(r.queryRoutes({}).map((x) => x.pathId)).toEqual([2]);
  });

  it('withdraws the NLRI of an UPDATE marked treat-as-withdraw', () => {
    const r = rib();
    up(r, peer('e1', '10.0.0.4', 65001));
    const route = { asPath: [65001], nextHop: '10.0.0.4' };
    r.ingestUpdate('e1', update({ announce: ['10.1.0.0/16'], route }));
    const res = r.ingestUpdate('e1', { ...update({ announce: ['10.1.0.0/16'], route }), treatAsWithdraw: true });
    expect(res.withdrawn).toBe(1);
    expect(r.countRoutes()).toEqual({ prefixes: 0, paths: 0 });
  });
});

describe('originated routes and the best-path change stream', () => {
  it('streams additions and withdrawals, coalesced per prefix', () => {
    const r = rib();
    up(r, peer('e1', '10.0.0.4', 65001));
    r.originate('10.244.0.0/26', { communities: ['65000:1'] });
    r.ingestUpdate('e1', update({ announce: ['10.1.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.4' } }));
    r.ingestUpdate('e1', update({ announce: ['10.2.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.4' } }));
    r.ingestUpdate('e1', update({ withdraw: ['10.2.0.0/16'] }));
    expect(r.takeBestPathChanges(10)).toEqual([
      { family: 'ipv4', prefix: '10.244.0.0/26', nextHops: [], local: true },
      { family: 'ipv4', prefix: '10.1.0.0/16', nextHops: ['10.0.0.4'], local: false },
    ]);
    r.withdrawOriginated('10.244.0.0/26');
    expect(r.takeBestPathChanges(10)).toEqual([
      { family: 'ipv4', prefix: '10.244.0.0/26', nextHops: null, local: false },
    ]);
    const adv = announced(r, 'e1');
    expect(adv.flatMap((m) => m.withdrawn)).toEqual([]); // announced then withdrawn before sending: nothing to say
  });
});

describe('reconfiguration', () => {
  it('an unchanged peer config re-sends nothing; a route-reflector change re-evaluates other peers', () => {
    const r = rib();
    up(r, peer('i1', '10.0.0.2', 65000));
    up(r, peer('i2', '10.0.0.3', 65000));
    r.ingestUpdate('i1', update({ announce: ['10.1.0.0/16'], route: { nextHop: '10.0.0.2' } }));
    expect(announced(r, 'i2')).toEqual([]);
    expect(announced(r, 'i1')).toEqual([]); // split horizon
    r.updatePeer(peer('i1', '10.0.0.2', 65000));
    expect(r.hasOutbound('i1') || r.hasOutbound('i2')).toBe(false);
    r.updatePeer(peer('i1', '10.0.0.2', 65000, { routeReflectorClient: true }));
    const a = announced(r, 'i2')[0]!;
    expect(a.announced).toEqual(['10.1.0.0/16']);
    expect(a.attrs!.originatorId).toBe(0x0a000002);
  });

  it('a re-added peer reusing an index gets fresh export decisions', () => {
    const r = rib();
    up(r, peer('i1', '10.0.0.2', 65000, { routeReflectorClient: true }));
    up(r, peer('i2', '10.0.0.3', 65000));
    r.ingestUpdate('i1', update({ announce: ['10.1.0.0/16'], route: { nextHop: '10.0.0.2' } }));
    expect(announced(r, 'i2')).toHaveLength(1);
    r.removePeer('i1');
    expect(announced(r, 'i2').flatMap((m) => m.withdrawn)).toEqual(['10.1.0.0/16']);
    up(r, peer('i3', '10.0.0.4', 65000)); // not a client: takes the freed index
    r.ingestUpdate('i3', update({ announce: ['10.1.0.0/16'], route: { nextHop: '10.0.0.4' } }));
    expect(announced(r, 'i2')).toEqual([]);
  });
});
