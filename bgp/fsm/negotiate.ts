/**
 * OPEN validation against our configuration (RFC 4271 §6.2, RFC 6286, RFC 6793, RFC 7607) and the
 * negotiation of hold time and capabilities. Pure. The codec has already checked the message's syntax
 * (version, parameter and capability encoding); this checks what needs the session's configuration.
 */
import { AFI, ERR, OPEN_SUBCODE, SAFI, familyKey, type FamilyKey } from '../codec/constants.js';
import type { OpenMessage } from '../codec/types.js';
import type { FsmConfig, Negotiated, OutNotification, PeerAsSpec } from './types.js';

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v & 0xffff);
  return b;
}
function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

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
 * Checks an OPEN against the configuration. Returns the NOTIFICATION to send, or undefined when it is
 * acceptable. Data carried: 2/2 the offending AS (2 bytes from My AS, or 4 from the 4-octet capability),
 * 2/3 the received BGP Identifier, 2/6 the received hold time (as BIRD does).
 */
export function validateOpen(open: OpenMessage, config: FsmConfig): OutNotification | undefined {
  const fourOctet = open.capabilities.some((c) => c.kind === 'four-octet-as');
  if (!isPeerAsAcceptable(config.peerAs, config.localAs, open.asn) || (open.myAs === 0 && !fourOctet)) {
    return { code: ERR.OPEN, subcode: OPEN_SUBCODE.BAD_PEER_AS, data: fourOctet ? u32(open.asn) : u16(open.myAs) };
  }
  const isIbgp = open.asn === config.localAs;
  if (open.bgpId === 0 || (isIbgp && open.bgpId === config.routerId)) {
    return { code: ERR.OPEN, subcode: OPEN_SUBCODE.BAD_BGP_ID, data: u32(open.bgpId) };
  }
  if (open.holdTime === 1 || open.holdTime === 2) {
    return { code: ERR.OPEN, subcode: OPEN_SUBCODE.UNACCEPTABLE_HOLD_TIME, data: u16(open.holdTime) };
  }
  return undefined;
}

/** Hold time is the smaller of both; keepalive a third of it unless configured lower (never 0 unless hold is). */
export function negotiateTimers(localHold: number, peerHold: number, keepalive?: number): { hold: number; keepalive: number } {
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
      case 'add-path':
        for (const f of c.families) peerAddPath.set(familyKey(f.afi, f.safi), f.mode);
        break;
      case 'graceful-restart':
        peerGracefulRestart = {
          restarting: c.restarting,
          notification: c.notification,
          restartTimeSeconds: c.restartTime,
          families: c.families.map((f) => ({ family: familyKey(f.afi, f.safi), forwardingPreserved: f.forwardingPreserved })),
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
    peerGracefulRestart,
    localGracefulRestart: config.gracefulRestart !== undefined,
    peerOpen: open,
  };
}
