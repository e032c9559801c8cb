import { describe, expect, it } from 'vitest';
import { FAMILY } from '../codec/constants.js';
import type { OpenMessage } from '../codec/types.js';
import { isPeerAsAcceptable, negotiate, negotiateTimers, routerIdFromText, routerIdToText } from './negotiate.js';
import type { FsmConfig } from './types.js';

const CONFIG: FsmConfig = {
  localAs: 4_200_000_001,
  peerAs: 'external',
  routerId: 1,
  holdTimeSeconds: 90,
  connectRetrySeconds: 30,
  delayOpenSeconds: 0,
  openHoldSeconds: 240,
  sendHoldSeconds: 480,
  families: [FAMILY.IPV4_UNICAST, FAMILY.IPV6_UNICAST],
  addPath: new Map([
    [FAMILY.IPV4_UNICAST, 'both'],
    [FAMILY.IPV6_UNICAST, 'receive'],
  ]),
  extendedMessages: true,
  gracefulRestart: { restartTimeSeconds: 120, restarting: false, notification: true, forwardingPreserved: [] },
};

describe('negotiation', () => {
  it('hold time is the minimum; keepalive a third, or the configured value if lower', () => {
    expect(negotiateTimers(90, 30)).toEqual({ hold: 30, keepalive: 10 });
    expect(negotiateTimers(90, 240, 5)).toEqual({ hold: 90, keepalive: 5 });
    expect(negotiateTimers(9, 90, 60)).toEqual({ hold: 9, keepalive: 3 });
    expect(negotiateTimers(90, 0)).toEqual({ hold: 0, keepalive: 0 });
    expect(negotiateTimers(3, 3)).toEqual({ hold: 3, keepalive: 1 });
  });
  it('families, ADD-PATH directions, GR, extended messages come from both sides', () => {
    const open: OpenMessage = {
      type: 'open',
      version: 4,
      myAs: 23456,
      asn: 4_200_000_002,
      holdTime: 180,
      bgpId: 0x0a000002,
      extendedParams: false,
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'multiprotocol', afi: 2, safi: 1 },
        { kind: 'four-octet-as', asn: 4_200_000_002 },
        { kind: 'extended-message' },
        { kind: 'enhanced-route-refresh' },
        {
          kind: 'add-path',
          families: [
            { afi: 1, safi: 1, mode: 'receive' },
            { afi: 2, safi: 1, mode: 'both' },
          ],
        },
        {
          kind: 'graceful-restart',
          restarting: true,
          notification: true,
          restartTime: 77,
          families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
        },
      ],
    };
    const n = negotiate(open, CONFIG);
    expect(n).toMatchObject({
      holdTimeSeconds: 90,
      keepaliveSeconds: 30,
      peerAs: 4_200_000_002,
      isIbgp: false,
      fourOctetAs: true,
      peerRouterIdText: '10.0.0.2',
      extendedMessages: true,
      routeRefresh: true,
      enhancedRouteRefresh: true,
      localGracefulRestart: true,
      peerGracefulRestart: {
        restarting: true,
        notification: true,
        restartTimeSeconds: 77,
        families: [{ family: FAMILY.IPV4_UNICAST, forwardingPreserved: true }],
      },
    });
    expect([...n.families]).toEqual([FAMILY.IPV4_UNICAST, FAMILY.IPV6_UNICAST]);
    expect([...n.addPathSend]).toEqual([FAMILY.IPV4_UNICAST]);
    expect([...n.addPathReceive]).toEqual([FAMILY.IPV6_UNICAST]);
  });
  it('a peer without multiprotocol capabilities speaks IPv4 unicast only', () => {
    const open: OpenMessage = {
      type: 'open',
      version: 4,
      myAs: 65002,
      asn: 65002,
      holdTime: 90,
      bgpId: 2,
      extendedParams: false,
      capabilities: [],
    };
    const n = negotiate(open, CONFIG);
    expect([...n.families]).toEqual([FAMILY.IPV4_UNICAST]);
    expect(n.fourOctetAs).toBe(false);
    expect(n.routeRefresh).toBe(false);
  });
  it('RFC 8950 IPv4 with IPv6 next hops only when both sides offer it', () => {
    const enhe = { kind: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] } as const;
    const open = (caps: OpenMessage['capabilities']): OpenMessage => ({
      type: 'open',
      version: 4,
      myAs: 65002,
      asn: 65002,
      holdTime: 90,
      bgpId: 2,
      extendedParams: false,
      capabilities: caps,
    });
    expect(negotiate(open([enhe]), { ...CONFIG, extendedNextHop: true }).extendedNextHopV4).toBe(true);
    expect(negotiate(open([enhe]), CONFIG).extendedNextHopV4).toBe(false);
    expect(negotiate(open([]), { ...CONFIG, extendedNextHop: true }).extendedNextHopV4).toBe(false);
    const ipv6Only = { kind: 'extended-next-hop', entries: [{ afi: 2, safi: 1, nextHopAfi: 1 }] } as const;
    expect(negotiate(open([ipv6Only]), { ...CONFIG, extendedNextHop: true }).extendedNextHopV4).toBe(false);
  });
  it('peer AS specs and router id text', () => {
    expect(isPeerAsAcceptable('internal', 5, 5)).toBe(true);
    expect(isPeerAsAcceptable('external', 5, 5)).toBe(false);
    expect(isPeerAsAcceptable({ min: 64512, max: 65534 }, 5, 65000)).toBe(true);
    expect(isPeerAsAcceptable('external', 5, 0)).toBe(false);
    expect(routerIdFromText('192.0.2.255')).toBe(0xc00002ff);
    expect(routerIdToText(0xc00002ff)).toBe('192.0.2.255');
    expect(routerIdFromText('1.2.3')).toBeUndefined();
  });
});
