/**
 * Received NEXT_HOP semantics: our own address (RFC 4271 §6.3) and, for single-hop eBGP, a next hop
 * off the session's subnets (RFC 4271 §5.1.3, §9.1.2.1) make a path ineligible: not best, not
 * advertised, counted as not accepted, shown with its reason.
 */
import { describe, expect, it } from 'vitest';
import type { RoutePolicy } from '../route-policy/types.js';
import { checkNextHop, nextHopFacts } from './next-hop-check.js';
import { parseAddressBytes } from '../../src/net/index.js';
import { Rib } from './rib.js';
import { decodeOut, update } from './test-helpers.js';
import type { RibNegotiated, RibPeerConfig } from './types.js';

const ACCEPT: RoutePolicy = { name: 'all', statements: [], defaultResult: 'accept' };
const NEG: RibNegotiated = { peerRouterId: '9.9.9.9', fourOctetAs: true, families: ['ipv4', 'ipv6'] };

/** The black-box rig's shape: raw peers on 10.30.0.0/24 (we are .1), a collector on 10.31.0.0/24. */
function rig(raw: Partial<RibPeerConfig> = {}) {
  const rib = new Rib({ localAs: 65001, routerId: '10.31.0.1' });
  const cfg: RibPeerConfig = {
    id: 'raw',
    address: '10.30.0.10',
    peerAs: 65002,
    localAddress: '10.30.0.1',
    importPolicy: ACCEPT,
    exportPolicy: ACCEPT,
    localAddresses: ['10.31.0.1', 'fd00:31::1'],
    connectedSubnets: ['10.30.0.0/24', 'fd00:30::/64'],
    ...raw,
  };
  rib.addPeer(cfg);
  rib.peerUp('raw', { ...NEG, peerRouterId: cfg.address });
  rib.addPeer({
    id: 'bird',
    address: '10.31.0.2',
    peerAs: 65003,
    localAddress: '10.31.0.1',
    importPolicy: ACCEPT,
    exportPolicy: ACCEPT,
  });
  rib.peerUp('bird', { ...NEG, peerRouterId: '10.31.0.2' });
  rib.takeOutbound('bird', 1 << 20);
  rib.takeBestPathChanges(100);
  return { rib, cfg };
}

const sent = (rib: Rib) => decodeOut(rib.takeOutbound('bird', 1 << 20)).filter((m) => !m.endOfRib);

describe('received NEXT_HOP checks', () => {
  it('ignores a route whose NEXT_HOP is our own address (RFC 4271 §6.3), with no effect on the session', () => {
    const { rib } = rig();
    for (const own of ['10.30.0.1', '10.31.0.1']) {
      const r = rib.ingestUpdate(
        'raw',
        update({ announce: ['10.100.9.0/24'], route: { asPath: [65002], nextHop: own } }),
      );
      expect(r).toEqual({ announced: 1, withdrawn: 0, rejected: 1 });
      const [route] = rib.queryRoutes({ prefix: '10.100.9.0/24' });
      expect(route).toMatchObject({
        peer: 'raw',
        best: false,
        accepted: false,
        rejection: 'next-hop-local',
        nextHop: own,
      });
    }
    expect(sent(rib)).toEqual([]);
    expect(rib.takeBestPathChanges(10)).toEqual([]);
    expect(rib.peerCounts('raw')).toEqual({ received: 1, accepted: 0, advertised: 0 });
  });

  it('excludes a single-hop eBGP next hop off the connected subnets, and withdraws what it replaces', () => {
    const { rib } = rig();
    rib.ingestUpdate(
      'raw',
      update({ announce: ['10.100.10.0/24'], route: { asPath: [65002], nextHop: '10.30.0.10' } }),
    );
    expect(sent(rib).flatMap((m) => m.announced)).toEqual(['10.100.10.0/24']);
    expect(rib.takeBestPathChanges(10)).toEqual([
      { family: 'ipv4', prefix: '10.100.10.0/24', nextHops: ['10.30.0.10'], local: false },
    ]);
    // Implicit withdraw by an UPDATE with an unreachable next hop.
    const r = rib.ingestUpdate(
      'raw',
      update({ announce: ['10.100.10.0/24'], route: { asPath: [65002], nextHop: '10.99.0.1' } }),
    );
    expect(r.rejected).toBe(1);
    expect(sent(rib)).toEqual([{ withdrawn: ['10.100.10.0/24'], announced: [], attrs: undefined, endOfRib: false }]);
    expect(rib.takeBestPathChanges(10)).toEqual([
      { family: 'ipv4', prefix: '10.100.10.0/24', nextHops: null, local: false },
    ]);
    expect(rib.queryRoutes({ prefix: '10.100.10.0/24' })).toMatchObject([
      { best: false, accepted: false, rejection: 'next-hop-unreachable' },
    ]);
    // A third-party next hop on the shared subnet is fine.
    rib.ingestUpdate(
      'raw',
      update({ announce: ['10.100.11.0/24'], route: { asPath: [65002], nextHop: '10.30.0.77' } }),
    );
    expect(rib.queryRoutes({ prefix: '10.100.11.0/24' })).toMatchObject([{ best: true, accepted: true }]);
    expect(rib.queryRoutes({ prefix: '10.100.11.0/24' })[0]!.rejection).toBeUndefined();
  });

  it('skips the subnet check for multihop and iBGP peers, and when no subnets are given; never the own-address check', () => {
    for (const extra of [{ multihop: true }, { peerAs: 65001 }, { connectedSubnets: undefined }] as const) {
      const { rib } = rig(extra);
      rib.ingestUpdate(
        'raw',
        update({
          announce: ['10.100.12.0/24'],
          route: { asPath: 'peerAs' in extra ? [] : [65002], nextHop: '10.99.0.1', localPref: 100 },
        }),
      );
      expect(rib.queryRoutes({ prefix: '10.100.12.0/24' }), JSON.stringify(extra)).toMatchObject([
        { best: true, accepted: true },
      ]);
      rib.ingestUpdate(
        'raw',
        update({
          announce: ['10.100.13.0/24'],
          route: { asPath: 'peerAs' in extra ? [] : [65002], nextHop: '10.30.0.1', localPref: 100 },
        }),
      );
      expect(rib.queryRoutes({ prefix: '10.100.13.0/24' }), JSON.stringify(extra)).toMatchObject([
        { accepted: false, rejection: 'next-hop-local' },
      ]);
    }
  });

  it('applies to IPv6 next hops: own, off-link global, link-local', () => {
    const { rib } = rig();
    const v6 = (p: string, nextHop: string | Uint8Array) =>
      rib.ingestUpdate(
        'raw',
        update({
          announce: [p],
          route: { asPath: [65002], ...(typeof nextHop === 'string' ? { nextHop } : { attrs: { nextHop } }) },
        }),
      );
    v6('2001:db8:1::/48', 'fd00:31::1');
    v6('2001:db8:2::/48', 'fd00:99::5');
    v6('2001:db8:3::/48', 'fd00:30::5');
    v6('2001:db8:4::/48', 'fe80::5');
    v6('2001:db8:5::/48', Uint8Array.of(...parseAddressBytes('fd00:99::5'), ...parseAddressBytes('fe80::5')));
    const got = Object.fromEntries(rib.queryRoutes({ family: 'ipv6' }).map((r) => [r.prefix, r.rejection ?? 'ok']));
    expect(got).toEqual({
      '2001:db8:1::/48': 'next-hop-local',
      '2001:db8:2::/48': 'next-hop-unreachable',
      '2001:db8:3::/48': 'ok',
      '2001:db8:4::/48': 'ok',
      '2001:db8:5::/48': 'ok',
    });
  });

  it('re-evaluates stored paths when the speaker supplies the facts later (updatePeer)', () => {
    const { rib, cfg } = rig({ connectedSubnets: undefined, localAddresses: undefined });
    rib.ingestUpdate('raw', update({ announce: ['10.100.14.0/24'], route: { asPath: [65002], nextHop: '10.99.0.1' } }));
    rib.ingestUpdate('raw', update({ announce: ['10.100.15.0/24'], route: { asPath: [65002], nextHop: '10.31.0.1' } }));
    expect(
      sent(rib)
        .flatMap((m) => m.announced)
        .sort(),
    ).toEqual(['10.100.14.0/24', '10.100.15.0/24']);
    rib.updatePeer({ ...cfg, connectedSubnets: ['10.30.0.0/24'], localAddresses: ['10.31.0.1'] });
    expect(
      sent(rib)
        .flatMap((m) => m.withdrawn)
        .sort(),
    ).toEqual(['10.100.14.0/24', '10.100.15.0/24']);
    expect(rib.peerCounts('raw')).toEqual({ received: 2, accepted: 0, advertised: 0 });
    rib.updatePeer({ ...cfg, connectedSubnets: undefined, localAddresses: undefined });
    expect(
      sent(rib)
        .flatMap((m) => m.announced)
        .sort(),
    ).toEqual(['10.100.14.0/24', '10.100.15.0/24']);
  });

  it('other rejections carry their reason too', () => {
    const { rib } = rig();
    rib.ingestUpdate(
      'raw',
      update({ announce: ['10.100.16.0/24'], route: { asPath: [65002, 65001], nextHop: '10.30.0.10' } }),
    );
    expect(rib.queryRoutes({ prefix: '10.100.16.0/24' })).toMatchObject([
      { accepted: false, rejection: 'as-path-loop' },
    ]);
    rib.setImportPolicy('raw', { name: 'none', statements: [], defaultResult: 'reject' });
    rib.ingestUpdate(
      'raw',
      update({ announce: ['10.100.17.0/24'], route: { asPath: [65002], nextHop: '10.30.0.10' } }),
    );
    expect(rib.queryRoutes({ prefix: '10.100.17.0/24' })).toMatchObject([
      { accepted: false, rejection: 'import-policy' },
    ]);
    rib.setImportPolicy('raw', undefined);
    expect(rib.queryRoutes({ prefix: '10.100.17.0/24' })).toMatchObject([
      { accepted: false, rejection: 'no-import-policy' },
    ]);
  });

  it('checkNextHop: IPv4-mapped next hops, unspecified local addresses ignored', () => {
    const f = nextHopFacts(
      { id: 'x', address: '10.0.0.2', peerAs: 2, localAddress: '0.0.0.0', connectedSubnets: ['10.0.0.0/30'] },
      false,
    );
    expect(f.locals).toEqual([]);
    expect(checkNextHop(f, Uint8Array.of(0, 0, 0, 0))).toBe('next-hop-unreachable');
    expect(checkNextHop(f, parseAddressBytes('::ffff:10.0.0.2'))).toBeUndefined();
    expect(checkNextHop(f, parseAddressBytes('10.0.0.5'))).toBe('next-hop-unreachable');
    expect(checkNextHop(f, new Uint8Array(0))).toBeUndefined();
  });
});
