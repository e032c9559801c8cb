/**
 * The operator's views of the speaker (control API, margayctl): pure functions from a peer / the RIB
 * to the JSON-friendly types in types.ts.
 */
import type { Family, RibRoute } from '../rib/index.js';
import type { SpeakerPeer } from './peer.js';
import type { RibPort } from './ports.js';
import type { PeerStatusView, RibQuery, RibQueryResult, RibRouteView } from './types.js';

export function peerStatusView(p: SpeakerPeer, rib: RibPort, localAsn: number, now: number): PeerStatusView {
  const st = p.session.status();
  const counts = p.ribRegistered ? rib.peerCounts(p.id) : { received: 0, accepted: 0, advertised: 0 };
  const asn = p.peerAs ?? p.settings.asn;
  const n = p.negotiated;
  const since = st.state === 'Established' && st.establishedAt ? st.establishedAt : st.stateSince || p.sinceMs;
  // Ours (max-prefix, the NOTIFICATION text) unless the session failed again since, e.g. while connecting.
  const lastError =
    p.lastError !== undefined && st.lastError === p.lastErrorSnapshot ? p.lastError : (st.lastError ?? p.lastError);
  return {
    address: p.settings.address,
    port: p.settings.port,
    asn,
    ...(p.settings.description !== undefined && { description: p.settings.description }),
    dynamic: p.dynamic,
    type: typeof asn === 'number' ? (asn === localAsn ? 'ibgp' : 'ebgp') : asn === 'internal' ? 'ibgp' : 'unknown',
    state: p.adminDown === 'max-prefix' ? 'Idle (max-prefix)' : st.state,
    uptimeSeconds: Math.max(0, Math.floor((now - since) / 1000)),
    ...(n && st.state === 'Established' && { peerRouterId: n.peerRouterIdText, holdTime: n.holdTimeSeconds }),
    families: p.settings.families,
    prefixesReceived: counts.received,
    prefixesAccepted: counts.accepted,
    prefixesAdvertised: counts.advertised,
    ...(lastError !== undefined && { lastError }),
    routeReflectorClient: p.settings.routeReflectorClient,
    flaps: st.flaps,
  };
}

/** Counts are always complete; `routes` stops at `limit` (default 100). */
export function queryRibView(rib: RibPort, q: RibQuery): RibQueryResult {
  const limit = q.limit ?? 100;
  const shown = (r: RibRoute): boolean => q.rejected === true || r.accepted;
  const base = {
    ...(q.family && { family: q.family }),
    ...(q.peer !== undefined && { peer: q.peer }),
    ...(q.bestOnly && { bestOnly: true }),
  };
  const v4 = rib.countRoutes({ family: 'ipv4' });
  const v6 = rib.countRoutes({ family: 'ipv6' });
  let matched: number;
  let routes: readonly RibRoute[];
  if (q.prefix === undefined) {
    const fams: Family[] = q.family ? [q.family] : ['ipv4', 'ipv6'];
    matched = fams.reduce((s, f) => {
      const c = rib.countRoutes({ family: f, ...(q.peer !== undefined && { peer: q.peer }) });
      return s + (q.bestOnly ? c.prefixes : c.paths);
    }, 0);
    // `limit` counts paths before rejected ones are hidden (the RIB lists both).
    routes = limit === 0 ? [] : rib.queryRoutes({ ...base, limit }).filter(shown);
  } else {
    const all = rib.queryRoutes({ ...base, ...(q.longer ? { within: q.prefix } : { prefix: q.prefix }) }).filter(shown);
    matched = all.length;
    routes = all.slice(0, limit);
  }
  return {
    matched,
    prefixes: { ipv4: v4.prefixes, ipv6: v6.prefixes },
    paths: { ipv4: v4.paths, ipv6: v6.paths },
    routes: routes.map(routeView),
  };
}

export function routeView(r: RibRoute): RibRouteView {
  return {
    prefix: r.prefix,
    ...(r.pathId !== 0 && { pathId: r.pathId }),
    from: r.peer,
    nextHop: r.nextHop,
    asPath: r.asPath,
    origin: r.origin,
    ...(r.med !== undefined && { med: r.med }),
    ...(r.localPref !== undefined && { localPref: r.localPref }),
    communities: r.communities,
    largeCommunities: r.largeCommunities,
    best: r.best,
    ...(r.reason !== undefined && { reason: r.reason }),
    ...(r.stale && { stale: true }),
    ...(!r.accepted && { accepted: false as const, ...(r.rejection !== undefined && { rejection: r.rejection }) }),
  };
}
