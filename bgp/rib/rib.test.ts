import { describe, expect, it } from 'vitest';
import type { PolicyDefinition } from '../policy/types.js';
import { Rib } from './rib.js';
import { decodeOut, eorV6, update } from './test-helpers.js';
import type { RibNegotiated, RibPeerConfig } from './types.js';

const ACCEPT: PolicyDefinition = { name: 'all', statements: [], defaultResult: 'accept' };
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
    const r = rib.ingestUpdate('a', update({ announce: ['192.168.0.0/24', '192.168.1.0/24'], route: { asPath: [65001, 65010], nextHop: '10.0.0.2', med: 5, localPref: 300 } }));
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
    rib.ingestUpdate('a', update({ announce: ['10.1.0.0/16'], route: { asPath: [65001, 65001], nextHop: '10.0.0.2' } }));
    const out1 = decodeOut(rib.takeOutbound('b', 1 << 20));
    expect(out1).toHaveLength(1);
    expect(out1[0]!.attrs!.asPath[0]!.asns).toEqual([65000, 65001, 65001]);
    expect(rib.countRoutes()).toEqual({ prefixes: 1, paths: 1 });
    const r = rib.ingestUpdate('a', update({ withdraw: ['10.1.0.0/16'] }));
    expect(r.withdrawn).toBe(1);
    expect(decodeOut(rib.takeOutbound('b', 1 << 20))).toEqual([{ withdrawn: ['10.1.0.0/16'], announced: [], attrs: undefined, endOfRib: false }]);
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
