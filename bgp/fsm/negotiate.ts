/**
 * OPEN validation against our configuration (RFC 4271 §6.2, RFC 6286, RFC 6793, RFC 7607) and the
 * negotiation of hold time and capabilities. Pure. The codec has already checked the message's syntax
 * (version, parameter and capability encoding); this checks what needs the session's configuration.
 */
import { AFI, SAFI, familyKey, type FamilyKey } from '../codec/index.js';
import { validateOpen as validateOpenSyntax } from '../codec/index.js';
import type { OpenMessage } from '../codec/index.js';
import type { FsmConfig, Negotiated, OutNotification, PeerAsSpec } from './types.js';

export function routerIdToText(id: number): string {
  return [id >>> 24, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff].join('.');
}

export function routerIdFromText(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0) >>> 0;
}

export function isPeerAsAcceptable(spec: PeerAsSpec, localAs: number, asn: number): boolean {
  if (asn === 0) return false; // RFC 7607
  if (spec === 'internal') return asn === localAs;
  if (spec === 'external') return asn !== localAs;
  if (typeof spec === 'number') return asn === spec;
  return asn >= spec.min && asn <= spec.max;
}

/**
 * Checks an OPEN against the configuration with the codec's `validateOpen` (RFC 4271 §6.2, RFC 6286,
 * RFC 7607). Returns the NOTIFICATION to send, or undefined when it is acceptable. Data carried (the
 * codec's choice, as BIRD does): 2/2 the My AS field, 2/3 the received BGP Identifier, 2/6 the hold time.
 */
export function validateOpen(open: OpenMessage, config: FsmConfig): OutNotification | undefined {
  const spec = config.peerAs;
  // A range becomes the exact ASN when it matches, or 0 (never acceptable) when it does not.
  const peerAs = typeof spec === 'object' ? (isPeerAsAcceptable(spec, config.localAs, open.asn) ? open.asn : 0) : spec;
  const err = validateOpenSyntax(open, { localAs: config.localAs, localBgpId: config.routerId, peerAs });
  return err ? { code: err.errorCode, subcode: err.subcode, data: err.data } : undefined;
}

/** Hold time is the smaller of both; keepalive a third of it unless configured lower (never 0 unless hold is). */
export function negotiateTimers(
  localHold: number,
  peerHold: number,
  keepalive?: number,
): { hold: number; keepalive: number } {
  const hold = Math.min(localHold, peerHold);
  if (hold === 0) return { hold: 0, keepalive: 0 };
  const third = Math.max(1, Math.floor(hold / 3));
  const ka = keepalive !== undefined && keepalive > 0 ? Math.min(keepalive, third) : third;
  return { hold, keepalive: ka };
}

const wantsReceive = (m: string | undefined): boolean => m === 'receive' || m === 'both';
const wantsSend = (m: string | undefined): boolean => m === 'send' || m === 'both';

/** Everything both sides agreed to. Call only after `validateOpen` accepted `open`. */
export function negotiate(open: OpenMessage, config: FsmConfig): Negotiated {
  const timers = negotiateTimers(config.holdTimeSeconds, open.holdTime, config.keepaliveSeconds);
  const caps = open.capabilities;
  const peerFamilies: FamilyKey[] = [];
  const peerAddPath = new Map<FamilyKey, string>();
  let fourOctetAs = false;
  let routeRefresh = false;
  let enhancedRouteRefresh = false;
  let extendedMessages = false;
  let peerEnheV4 = false;
  let peerGracefulRestart: Negotiated['peerGracefulRestart'];
  for (const c of caps) {
    switch (c.kind) {
      case 'multiprotocol':
        peerFamilies.push(familyKey(c.afi, c.safi));
        break;
      case 'four-octet-as':
        fourOctetAs = true;
        break;
      case 'route-refresh':
        routeRefresh = true;
        break;
      case 'enhanced-route-refresh':
        enhancedRouteRefresh = true;
        break;
      case 'extended-message':
        extendedMessages = true;
        break;
      case 'extended-next-hop':
        if (c.entries.some((e) => e.afi === AFI.IPV4 && e.safi === SAFI.UNICAST && e.nextHopAfi === AFI.IPV6))
          peerEnheV4 = true;
        break;
      case 'add-path':
        for (const f of c.families) peerAddPath.set(familyKey(f.afi, f.safi), f.mode);
        break;
      case 'graceful-restart':
        peerGracefulRestart = {
          restarting: c.restarting,
          notification: c.notification,
          restartTimeSeconds: c.restartTime,
          families: c.families.map((f) => ({
            family: familyKey(f.afi, f.safi),
            forwardingPreserved: f.forwardingPreserved,
          })),
        };
        break;
      default:
        break;
    }
  }
  // RFC 4760 §8: a peer without any multiprotocol capability speaks IPv4 unicast only.
  const offered = peerFamilies.length > 0 ? peerFamilies : [familyKey(AFI.IPV4, SAFI.UNICAST)];
  const families = new Set(config.families.filter((f) => offered.includes(f)));
  const addPathReceive = new Set<FamilyKey>();
  const addPathSend = new Set<FamilyKey>();
  for (const f of families) {
    const ours = config.addPath.get(f);
    const theirs = peerAddPath.get(f);
    if (wantsReceive(ours) && wantsSend(theirs)) addPathReceive.add(f);
    if (wantsSend(ours) && wantsReceive(theirs)) addPathSend.add(f);
  }
  return {
    holdTimeSeconds: timers.hold,
    keepaliveSeconds: timers.keepalive,
    peerAs: open.asn,
    localAs: config.localAs,
    isIbgp: open.asn === config.localAs,
    peerRouterId: open.bgpId,
    peerRouterIdText: routerIdToText(open.bgpId),
    fourOctetAs,
    families,
    addPathReceive,
    addPathSend,
    extendedMessages: extendedMessages && config.extendedMessages,
    routeRefresh: routeRefresh || enhancedRouteRefresh,
    enhancedRouteRefresh,
    extendedNextHopV4: peerEnheV4 && config.extendedNextHop === true && families.has(familyKey(AFI.IPV4, SAFI.UNICAST)),
    peerGracefulRestart,
    localGracefulRestart: config.gracefulRestart !== undefined,
    peerOpen: open,
  };
}
