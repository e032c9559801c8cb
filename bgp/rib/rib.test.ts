import { describe, expect, it } from 'vitest';
import type { RoutePolicy } from '../route-policy/types.js';
import { Rib, RibStateError } from './rib.js';
import { decodeOut, eorV6, update } from './test-helpers.js';
import type { RibNegotiated, RibPeerConfig } from './types.js';

const ACCEPT: RoutePolicy = { name: 'all', statements: [], defaultResult: 'accept' };
const NEG: RibNegotiated = { peerRouterId: '9.9.9.9', fourOctetAs: true, families: ['ipv4', 'ipv6'] };

function ebgp(id: string, address: string, peerAs: number, extra: Partial<RibPeerConfig> = {}): RibPeerConfig {
  return { id, address, peerAs, localAddress: '10.0.0.1', importPolicy: ACCEPT, exportPolicy: ACCEPT, ...extra };
}

function setup(extra: Partial<ConstructorParameters<typeof Rib>[0]> = {}) {
  const rib = new Rib({ localAs: 65000, routerId: '1.1.1.1', ...extra });
  return rib;
}

function up(rib: Rib, cfg: RibPeerConfig, neg: Partial<RibNegotiated> = {}): void {
  rib.addPeer(cfg);
  rib.peerUp(cfg.id, { ...NEG, peerRouterId: cfg.address.includes(':') ? '9.9.9.9' : cfg.address, ...neg });
}

describe('Rib ingest and re-advertisement', () => {
  it('installs an eBGP route and re-advertises it to another eBGP peer with prepend and next-hop-self', () => {
    const rib = setup();
    up(rib, ebgp('a', '10.0.0.2', 65001));
    up(rib, ebgp('b', '10.0.1.2', 65002, { localAddress: '10.0.1.1' }));
    expect(decodeOut(rib.takeOutbound('b', 1 << 20)).filter((m) => m.endOfRib)).toHaveLength(2); // EoR v4 + v6
    const r = rib.ingestUpdate(
      'a',
      update({
        announce: ['192.168.0.0/24', '192.168.1.0/24'],
        route: { asPath: [65001, 65010], nextHop: '10.0.0.2', med: 5, localPref: 300 },
      }),
    );
    expect(r).toEqual({ announced: 2, withdrawn: 0, rejected: 0 });
    const out = decodeOut(rib.takeOutbound('b', 1 << 20));
    expect(out).toHaveLength(1);
    expect(out[0]!.announced).toEqual(['192.168.0.0/24', '192.168.1.0/24']);
    const a = out[0]!.attrs!;
    expect(a.asPath).toEqual([{ type: 2, asns: [65000, 65001, 65010] }]);
    expect([...a.nextHop]).toEqual([10, 0, 1, 1]);
    expect(a.med).toBeUndefined(); // MED is not propagated to another AS
    expect(a.localPref).toBeUndefined(); // LOCAL_PREF only on iBGP
    // nothing goes back to the peer it came from (split horizon), only End-of-RIB
    expect(decodeOut(rib.takeOutbound('a', 1 << 20)).every((m) => m.endOfRib)).toBe(true);
    expect(rib.peerCounts('a')).toEqual({ received: 2, accepted: 2, advertised: 0 });
    expect(rib.peerCounts('b')).toEqual({ received: 0, accepted: 0, advertised: 2 });
  });

  it('withdraws, and treats implicit withdraw (same prefix, new attributes) as a replacement', () => {
    const rib = setup();
    up(rib, ebgp('a', '10.0.0.2', 65001));
    up(rib, ebgp('b', '10.0.1.2', 65002));
    rib.takeOutbound('b', 1 << 20);
    rib.ingestUpdate('a', update({ announce: ['10.1.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.2' } }));
    rib.ingestUpdate(
      'a',
      update({ announce: ['10.1.0.0/16'], route: { asPath: [65001, 65001], nextHop: '10.0.0.2' } }),
    );
    const out1 = decodeOut(rib.takeOutbound('b', 1 << 20));
    expect(out1).toHaveLength(1);
    expect(out1[0]!.attrs!.asPath[0]!.asns).toEqual([65000, 65001, 65001]);
    expect(rib.countRoutes()).toEqual({ prefixes: 1, paths: 1 });
    const r = rib.ingestUpdate('a', update({ withdraw: ['10.1.0.0/16'] }));
    expect(r.withdrawn).toBe(1);
    expect(decodeOut(rib.takeOutbound('b', 1 << 20))).toEqual([
      { withdrawn: ['10.1.0.0/16'], announced: [], attrs: undefined, endOfRib: false },
    ]);
    expect(rib.countRoutes()).toEqual({ prefixes: 0, paths: 0 });
    expect(rib.attrSetCount).toBe(0); // every interned set was released
  });

  it('carries IPv6 over MP_REACH with 32-byte next hops and signals End-of-RIB per family', () => {
    const rib = setup();
    up(rib, ebgp('a', 'fd00::2', 65001, { localAddress: 'fd00::1' }));
    up(rib, ebgp('b', 'fd01::2', 65002, { localAddress: 'fd01::1', localLinkLocalV6: 'fe80::1' }));
    rib.takeOutbound('b', 1 << 20);
    rib.ingestUpdate('a', update({ announce: ['2001:db8:1::/48'], route: { asPath: [65001], nextHop: 'fd00::2' } }));
    const r = rib.ingestUpdate('a', eorV6());
    expect(r.endOfRib).toBe('ipv6');
    const out = decodeOut(rib.takeOutbound('b', 1 << 20));
    expect(out[0]!.announced).toEqual(['2001:db8:1::/48']);
    expect(out[0]!.attrs!.nextHop.length).toBe(32);
    const changes = rib.takeBestPathChanges(10);
    expect(changes).toEqual([{ family: 'ipv6', prefix: '2001:db8:1::/48', nextHops: ['fd00::2'], local: false }]);
  });
});

describe('IPv6 and RFC 8950 next hops', () => {
  it('announces IPv6 over an IPv4 session with an IPv4-mapped next hop when no IPv6 address is configured', () => {
    const rib = setup();
    up(rib, ebgp('a', '10.0.0.2', 65001));
    rib.originate('2001:db8:5::/48');
    const out = decodeOut(rib.takeOutbound('a', 1 << 20)).filter((m) => !m.endOfRib);
    expect(out[0]!.announced).toEqual(['2001:db8:5::/48']);
    expect([...out[0]!.attrs!.nextHop]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]);
  });

  it('keeps a learned IPv6 next hop toward iBGP but drops its link-local part', () => {
    const rib = setup();
    up(rib, ebgp('e', 'fd00::2', 65001, { localAddress: 'fd00::1' }));
    up(rib, ebgp('i', 'fd00::3', 65000, { localAddress: 'fd00::1' }));
    const body = update({
      announce: ['2001:db8:1::/48'],
      route: {
        asPath: [65001],
        attrs: { nextHop: Uint8Array.from([...new Array(16).fill(0xfd), ...new Array(16).fill(0xfe)]) },
      },
    });
    rib.takeOutbound('i', 1 << 20);
    rib.ingestUpdate('e', body);
    const out = decodeOut(rib.takeOutbound('i', 1 << 20)).filter((m) => !m.endOfRib);
    expect([...out[0]!.attrs!.nextHop]).toEqual(new Array(16).fill(0xfd));
  });

  it('accepts IPv4 routes with an IPv6 next hop and re-advertises them in MP_REACH only to peers that negotiated it', () => {
    const rib = setup();
    up(rib, ebgp('a', 'fd00::2', 65001, { localAddress: 'fd00::1' }), { extendedNextHopV4: true });
    up(rib, ebgp('i1', 'fd00::3', 65000, { localAddress: 'fd00::1' }), { extendedNextHopV4: true });
    up(rib, ebgp('i2', '10.0.0.3', 65000, { localAddress: '10.0.0.1' }));
    rib.takeOutbound('i1', 1 << 20);
    rib.takeOutbound('i2', 1 << 20);
    // IPv4 NLRI inside MP_REACH (AFI 1) with a 16-byte next hop
    const nh = [0xfd, 0, ...new Array(13).fill(0), 2];
    const attrs = Uint8Array.of(
      0x40,
      1,
      1,
      0,
      0x40,
      2,
      6,
      2,
      1,
      0,
      0,
      0xfd,
      0xe9,
      0x90,
      14,
      0,
      4 + 16 + 1 + 4,
      0,
      1,
      1,
      16,
      ...nh,
      0,
      24,
      10,
      9,
      9,
    );
    rib.ingestUpdate('a', { attrs });
    expect(rib.takeBestPathChanges(5)).toEqual([
      { family: 'ipv4', prefix: '10.9.9.0/24', nextHops: ['fd00::2'], local: false },
    ]);
    const o1 = decodeOut(rib.takeOutbound('i1', 1 << 20)).filter((m) => !m.endOfRib);
    expect(o1[0]!.announced).toEqual(['10.9.9.0/24']);
    expect([...o1[0]!.attrs!.nextHop]).toEqual(nh);
    const o2 = decodeOut(rib.takeOutbound('i2', 1 << 20)).filter((m) => !m.endOfRib);
    expect([...o2[0]!.attrs!.nextHop]).toEqual([10, 0, 0, 1]); // falls back to self
  });
});

describe('2-octet AS peers (RFC 6793)', () => {
  it('merges AS4_PATH on receive and sends AS_TRANS with AS4_PATH', () => {
    const rib = setup({ localAs: 4200000000 });
    up(rib, ebgp('old', '10.0.0.2', 65001), { fourOctetAs: false });
    up(rib, ebgp('new', '10.0.0.3', 65002));
    rib.takeOutbound('old', 1 << 20);
    rib.ingestUpdate(
      'old',
      update({
        announce: ['10.1.0.0/16'],
        route: { asPath: [65001, 4200000099], nextHop: '10.0.0.2' },
        fourOctetAs: false,
      }),
    );
    expect(rib.queryRoutes({})[0]!.asPath).toBe('65001 4200000099');
    rib.ingestUpdate(
      'new',
      update({ announce: ['10.2.0.0/16'], route: { asPath: [65002, 4200000098], nextHop: '10.0.0.3' } }),
    );
    const out = decodeOut(rib.takeOutbound('old', 1 << 20), false).filter((m) => !m.endOfRib);
    expect(out[0]!.attrs!.asPath[0]!.asns).toEqual([4200000000, 65002, 4200000098]);
  });
});

describe('peer and policy lifecycle', () => {
  it('re-sends the table when the export policy changes and honours maxBytes', () => {
    const rib = setup();
    up(rib, ebgp('a', '10.0.0.2', 65001));
    for (let i = 0; i < 3000; i++) rib.originate(`10.${i >> 8}.${i & 255}.0/24`);
    const first = rib.takeOutbound('a', 1);
    expect(first).toHaveLength(1);
    expect(rib.hasOutbound('a')).toBe(true);
    let n = decodeOut(first).flatMap((m) => m.announced).length;
    for (let b = rib.takeOutbound('a', 1 << 20); b.length > 0; b = rib.takeOutbound('a', 1 << 20))
      n += decodeOut(b).flatMap((m) => m.announced).length;
    expect(n).toBe(3000);
    rib.setExportPolicy('a', {
      name: 'only-10-0',
      defaultResult: 'reject',
      statements: [{ match: { prefix: { entries: [{ prefix: '10.0.0.0/16', le: 32 }] } } }],
    });
    const out = decodeOut(rib.takeOutbound('a', 1 << 20));
    expect(out.flatMap((m) => m.withdrawn)).toHaveLength(3000 - 256);
    expect(rib.peerCounts('a').advertised).toBe(256);
  });

  it('a changed export policy sends only what it changes: unchanged routes are not re-sent', () => {
    const rib = setup();
    up(rib, ebgp('a', '10.0.0.2', 65001));
    for (const p of ['10.0.0.0/24', '10.0.1.0/24', '10.1.0.0/24']) rib.originate(p);
    for (let b = rib.takeOutbound('a', 1 << 20); b.length > 0; b = rib.takeOutbound('a', 1 << 20));
    rib.setExportPolicy('a', {
      name: 'not-10-1',
      defaultResult: 'accept',
      statements: [{ match: { prefix: { entries: [{ prefix: '10.1.0.0/16', le: 32 }] } }, result: 'reject' }],
    });
    const out = decodeOut(rib.takeOutbound('a', 1 << 20));
    expect(out.flatMap((m) => m.withdrawn)).toEqual(['10.1.0.0/24']);
    expect(out.flatMap((m) => m.announced)).toEqual([]);
    expect(rib.peerCounts('a').advertised).toBe(2);
    // A route-refresh request still re-sends the whole table (RFC 2918).
    rib.refreshOutbound('a');
    expect(decodeOut(rib.takeOutbound('a', 1 << 20)).flatMap((m) => m.announced)).toHaveLength(2);
  });

  it('does no Adj-RIB-Out work for a peer exported nothing, and still re-exports when its policy opens up', () => {
    const rib = setup();
    const NONE: RoutePolicy = { name: 'none', statements: [], defaultResult: 'reject' };
    up(rib, ebgp('a', '10.0.0.2', 65001, { exportPolicy: NONE }));
    up(rib, ebgp('b', '10.0.0.3', 65002));
    rib.takeOutbound('a', 1 << 20); // End-of-RIB of the initial (empty) table
    rib.takeOutbound('b', 1 << 20);
    rib.ingestUpdate(
      'b',
      update({ announce: ['10.9.0.0/24', '10.9.1.0/24'], route: { asPath: [65002], nextHop: '10.0.0.3' } }),
    );
    expect(rib.hasOutbound('a')).toBe(false); // not even queued for a look
    expect(rib.peerCounts('a').advertised).toBe(0);
    rib.setExportPolicy('a', ACCEPT);
    const out = decodeOut(rib.takeOutbound('a', 1 << 20));
    expect(out.flatMap((m) => m.announced).sort()).toEqual(['10.9.0.0/24', '10.9.1.0/24']);
    rib.setExportPolicy('a', NONE);
    expect(decodeOut(rib.takeOutbound('a', 1 << 20)).flatMap((m) => m.withdrawn)).toHaveLength(2);
    rib.ingestUpdate('b', update({ announce: ['10.9.2.0/24'], route: { asPath: [65002], nextHop: '10.0.0.3' } }));
    expect(rib.hasOutbound('a')).toBe(false);
  });

  it('removes a peer with all its routes', () => {
    const rib = setup();
    up(rib, ebgp('a', '10.0.0.2', 65001));
    up(rib, ebgp('b', '10.0.0.3', 65002));
    rib.takeOutbound('b', 1 << 20);
    rib.ingestUpdate('a', update({ announce: ['10.1.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.2' } }));
    rib.removePeer('a');
    expect(rib.countRoutes()).toEqual({ prefixes: 0, paths: 0 });
    expect(() => rib.peerCounts('a')).toThrow(/unknown peer/);
    expect(decodeOut(rib.takeOutbound('b', 1 << 20)).flatMap((m) => m.withdrawn)).toEqual([]); // never sent
  });

  it('rejects UPDATEs from peers that are not up', () => {
    const rib = setup();
    rib.addPeer(ebgp('a', '10.0.0.2', 65001));
    expect(() => rib.ingestUpdate('a', update({}))).toThrow(/not up/);
  });
});

describe('Rib memory under churn', () => {
  it('reuses prefix and path slots: announce N, withdraw all, announce N others does not grow', () => {
    const rib = setup({ trackBestChanges: false });
    up(rib, ebgp('a', '10.0.0.2', 65001));
    up(rib, ebgp('b', '10.0.1.2', 65002));
    const N = 70_000,
      PER = 500; // past growTo's reserve threshold (2048): head[] initialised per new index
    const prefixes = (base: number) =>
      Array.from({ length: N }, (_, i) => `${base + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`);
    const drain = () => {
      for (let b = rib.takeOutbound('b', 1 << 20); b.length > 0; b = rib.takeOutbound('b', 1 << 20));
    };
    const announce = (ps: string[]) => {
      for (let i = 0; i < ps.length; i += PER)
        rib.ingestUpdate(
          'a',
          update({ announce: ps.slice(i, i + PER), route: { asPath: [65001, 100 + (i % 7)], nextHop: '10.0.0.2' } }),
        );
    };
    const withdraw = (ps: string[]) => {
      for (let i = 0; i < ps.length; i += PER) rib.ingestUpdate('a', update({ withdraw: ps.slice(i, i + PER) }));
    };
    announce(prefixes(20));
    drain();
    const bytes = rib.typedArrayBytes;
    expect(rib.prefixSlots.ipv4).toBe(N);
    withdraw(prefixes(20));
    drain();
    expect(rib.prefixSlots.ipv4).toBe(0);
    expect(rib.countRoutes()).toEqual({ prefixes: 0, paths: 0 });
    announce(prefixes(40));
    drain();
    expect(rib.prefixSlots.ipv4).toBe(N);
    expect(rib.typedArrayBytes).toBe(bytes);
    expect(rib.peerCounts('b').advertised).toBe(N);
    expect(rib.queryRoutes({ prefix: '20.0.1.0/24' })).toEqual([]);
    expect(rib.queryRoutes({ prefix: '40.0.1.0/24' })).toHaveLength(1);
    expect(rib.queryRoutes({ prefix: '41.1.1.0/24' })).toHaveLength(1); // an index above the reserve threshold
  });

  it('keeps a withdrawn prefix slot until the withdrawal has been sent, then frees it', () => {
    const rib = setup({ trackBestChanges: false });
    up(rib, ebgp('a', '10.0.0.2', 65001));
    up(rib, ebgp('b', '10.0.1.2', 65002));
    rib.takeOutbound('b', 1 << 20);
    rib.ingestUpdate('a', update({ announce: ['10.1.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.2' } }));
    rib.takeOutbound('b', 1 << 20);
    rib.ingestUpdate('a', update({ withdraw: ['10.1.0.0/16'] }));
    expect(rib.prefixSlots.ipv4).toBe(1); // still owed to b as a withdrawal
    rib.ingestUpdate('a', update({ announce: ['10.2.0.0/16'], route: { asPath: [65001], nextHop: '10.0.0.2' } }));
    expect(rib.prefixSlots.ipv4).toBe(2);
    const out = decodeOut(rib.takeOutbound('b', 1 << 20));
    expect(out.flatMap((m) => m.withdrawn)).toEqual(['10.1.0.0/16']);
    expect(out.flatMap((m) => m.announced)).toEqual(['10.2.0.0/16']);
    expect(rib.prefixSlots.ipv4).toBe(1);
  });
});

describe('sliced peer down', () => {
  const N = 3000;
  const prefixes = Array.from({ length: N }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`);
  function loaded(): Rib {
    const rib = setup({ trackBestChanges: false });
    up(rib, ebgp('a', '10.0.0.2', 65001));
    up(rib, ebgp('b', '10.0.1.2', 65002));
    for (let i = 0; i < N; i += 500)
      rib.ingestUpdate(
        'a',
        update({ announce: prefixes.slice(i, i + 500), route: { asPath: [65001], nextHop: '10.0.0.2' } }),
      );
    rib.takeOutbound('b', 1 << 22);
    return rib;
  }
  const withdrawn = (rib: Rib) => decodeOut(rib.takeOutbound('b', 1 << 22)).flatMap((m) => m.withdrawn);

  it('removes at most `budget` paths per step and ends where peerDown ends', () => {
    const rib = loaded();
    rib.startPeerDown('a');
    expect(rib.peerDownPending).toBe(true);
    expect(rib.countRoutes().paths).toBe(N); // nothing removed yet: the caller decides when
    const got: string[] = [];
    let steps = 0;
    for (let more = true; more; steps++) {
      const before = rib.countRoutes().paths;
      more = rib.peerDownStep(700);
      expect(before - rib.countRoutes().paths).toBeLessThanOrEqual(700);
      got.push(...withdrawn(rib));
    }
    expect(steps).toBe(Math.ceil(N / 700) + (N % 700 === 0 ? 1 : 0));
    expect(rib.peerDownPending).toBe(false);
    expect(got.sort()).toEqual([...prefixes].sort());
    expect(rib.countRoutes()).toEqual({ prefixes: 0, paths: 0 });
    expect(rib.prefixSlots.ipv4).toBe(0);
    expect(rib.peerCounts('b').advertised).toBe(0);
  });

  it('finishes a pending removal before the peer comes back up', () => {
    const rib = loaded();
    rib.startPeerDown('a');
    rib.peerDownStep(100);
    rib.peerUp('a', { ...NEG, peerRouterId: '10.0.0.2' });
    expect(rib.peerDownPending).toBe(false);
    expect(rib.countRoutes().paths).toBe(0);
    rib.ingestUpdate('a', update({ announce: ['10.0.0.0/24'], route: { asPath: [65001], nextHop: '10.0.0.2' } }));
    expect(rib.peerDownStep(100)).toBe(false);
    expect(rib.countRoutes()).toEqual({ prefixes: 1, paths: 1 });
  });

  it('deletes a peer in slices: the id is free at once, its index only after its last path', () => {
    const rib = loaded();
    rib.startRemovePeer('a');
    expect(() => rib.peer('a')).toThrow(RibStateError);
    up(rib, ebgp('a', '10.0.0.2', 65001)); // the same id again, a new index
    rib.ingestUpdate('a', update({ announce: ['10.0.0.0/24'], route: { asPath: [65001, 5], nextHop: '10.0.0.2' } }));
    const slots = () => rib.peers.filter((p) => p !== undefined).length;
    expect(slots()).toBe(4); // local, old a (retiring), b, new a
    const got: string[] = [];
    for (let more = true; more; ) {
      more = rib.peerDownStep(1000);
      got.push(...withdrawn(rib));
    }
    expect(slots()).toBe(3);
    expect(got.sort()).toEqual(prefixes.filter((p) => p !== '10.0.0.0/24').sort());
    expect(rib.countRoutes()).toEqual({ prefixes: 1, paths: 1 });
    expect(rib.queryRoutes({ prefix: '10.0.0.0/24' })[0]).toMatchObject({ peer: 'a', asPath: '65001 5' });
  });

  it('sweeps stale paths in slices after a graceful restart, keeping refreshed ones', () => {
    const rib = loaded();
    rib.peerDown('a', { gracefulRestart: true });
    rib.peerUp('a', { ...NEG, peerRouterId: '10.0.0.2' });
    rib.ingestUpdate(
      'a',
      update({ announce: prefixes.slice(0, 10), route: { asPath: [65001, 7], nextHop: '10.0.0.2' } }),
    );
    rib.startSweepStale('a', 'ipv4');
    while (rib.peerDownStep(500));
    expect(rib.countRoutes()).toEqual({ prefixes: 10, paths: 10 });
    expect(rib.queryRoutes({}).every((r) => !r.stale)).toBe(true);
  });
});
