/**
 * Public types of the RIB (bgp/rib). The RIB is pure: no I/O, timers or logger. The speaker feeds it
 * decoded UPDATEs and session events and pulls encoded UPDATE buffers and best-path changes out.
 */
import type { IpFamily } from '../../src/net/index.js';
import type { RoutePolicy, PrefixList } from '../route-policy/index.js';

/** Unicast families handled by the RIB. */
/** The address family, spelled as everywhere in Margay (src/net). */
export type Family = IpFamily;
export const AFI = { ipv4: 1, ipv6: 2 } as const;
export const SAFI_UNICAST = 1;

/** Engine-wide settings. */
export interface RibOptions {
  readonly localAs: number;
  /** Our router id as dotted quad. */
  readonly routerId: string;
  /** Route-reflector cluster id (dotted quad); defaults to routerId. */
  readonly clusterId?: string;
  /** RFC 8212: eBGP import/export without a policy rejects everything. Default true. */
  readonly ebgpRequiresPolicy?: boolean;
  /** Compare MED across different neighbour ASes. Default false. */
  readonly alwaysCompareMed?: boolean;
  /** Max equal-cost paths per prefix in the best-path change stream (ECMP). Default 1. */
  readonly maxPaths?: number;
  /** Allow multipath across different neighbour ASes (same AS-path length). Default false. */
  readonly multipathRelax?: boolean;
  /** Prefer the oldest eBGP path before router id (RFC 5004). Default false. */
  readonly preferOldestEbgp?: boolean;
  /** LOCAL_PREF assumed when absent. Default 100. */
  readonly defaultLocalPref?: number;
  /** Keep the best-path change queue (for FIB sync). Default true. */
  readonly trackBestChanges?: boolean;
  /** Named prefix lists that peer policies reference (`match.prefix.list`). */
  readonly prefixLists?: readonly PrefixList[];
}

/** Static per-peer settings (from config). Session facts arrive later with `peerUp`. */
export interface RibPeerConfig {
  /** Stable key, e.g. the peer address (plus port for tests). */
  readonly id: string;
  /** Peer address (v4 or v6 text): last best-path tie-break and default next hop source. */
  readonly address: string;
  readonly peerAs: number;
  /** Local AS for this session (defaults to RibOptions.localAs). */
  readonly localAs?: number;
  /** Our address on this session, used for next-hop-self (v4 or v6). */
  readonly localAddress: string;
  /** Our global IPv6 address for IPv6 routes over an IPv4 session (and RFC 8950). */
  readonly localAddressV6?: string;
  /** Our link-local IPv6 address on the shared link: sent as second next hop (32-byte form). */
  readonly localLinkLocalV6?: string;
  /** Route-reflector client (only meaningful on iBGP). */
  readonly routeReflectorClient?: boolean;
  /** 'auto' (default): self toward eBGP (except third-party, see sharedSubnet), keep toward iBGP. */
  readonly nextHopSelf?: boolean | 'auto';
  /**
   * The subnet this eBGP peer shares with us (e.g. '10.0.1.0/24'): with nextHopSelf 'auto', next hops
   * inside it are passed on unchanged (third-party next hop, RFC 4271 §5.1.3).
   */
  readonly sharedSubnet?: string;
  /** Accept paths containing our AS up to this many times (default 0). */
  readonly allowAsIn?: number;
  /** Max accepted prefixes per family; exceeding it is reported by ingest. */
  readonly maxPrefixes?: number;
  readonly importPolicy?: RoutePolicy;
  readonly exportPolicy?: RoutePolicy;
  /** Send MED to this eBGP peer (default: MED is not propagated to other ASes). */
  readonly sendMedToEbgp?: boolean;
  /** IGP cost to reach this peer's next hops (lower wins); omit when unknown (step skipped). */
  readonly igpCost?: number;
  /**
   * Our other addresses (any interface, v4 or v6 text). A received NEXT_HOP equal to one of them, or to
   * localAddress / localAddressV6 / localLinkLocalV6, makes the path ineligible: 'next-hop-local'
   * (RFC 4271 §6.3). Unspecified addresses (0.0.0.0, ::) are ignored.
   */
  readonly localAddresses?: readonly string[];
  /**
   * Subnets (CIDRs, v4 and v6) of the interface this session runs over. When given, a single-hop eBGP
   * peer's next hop on none of them makes the path ineligible: 'next-hop-unreachable' (RFC 4271
   * §5.1.3, §9.1.2.1); IPv6 link-local next hops count as on the link. Omitted: no such check.
   */
  readonly connectedSubnets?: readonly string[];
  /** eBGP multihop session: connectedSubnets is not checked. */
  readonly multihop?: boolean;
}

/** What the session negotiated, given to `peerUp`. */
export interface RibNegotiated {
  /** Peer's BGP identifier (dotted quad). */
  readonly peerRouterId: string;
  readonly fourOctetAs: boolean;
  /** Families both sides support. */
  readonly families: readonly Family[];
  /** Families for which we receive ADD-PATH path ids. */
  readonly addPathReceive?: readonly Family[];
  /** RFC 8950: IPv4 NLRI with IPv6 next hop negotiated. */
  readonly extendedNextHopV4?: boolean;
  /** RFC 8654: max message length 65535 instead of 4096. */
  readonly extendedMessages?: boolean;
}

/**
 * Zero-copy view of NLRI bytes (same shape as the codec's NlriList): prefixes encoded as
 * [pathId(4) if addPath] len(1) prefix-bytes, between `start` and `end` of `buf`, already validated.
 */
export interface NlriBytes {
  readonly buf: Uint8Array;
  readonly start: number;
  readonly end: number;
}

/**
 * One decoded UPDATE as the RIB needs it. The codec's UpdateMessage carries the same facts; the
 * speaker adapts (see `ribUpdateFromBody` for a raw body). Attribute bytes are the validated raw path
 * attributes (MP_REACH/MP_UNREACH included); the RIB copies them once when it first sees a set.
 */
export interface RibUpdate {
  /** IPv4 withdrawn-routes field. */
  readonly withdrawn?: NlriBytes;
  /** Raw path attributes (view). */
  readonly attrs: Uint8Array;
  /** IPv4 NLRI field. */
  readonly nlri?: NlriBytes;
  /** RFC 7606 treat-as-withdraw: all NLRI (incl. MP_REACH) are withdrawn. */
  readonly treatAsWithdraw?: boolean;
}

export interface IngestResult {
  /** Prefixes announced / withdrawn in this UPDATE. */
  readonly announced: number;
  readonly withdrawn: number;
  /** Announced prefixes rejected by loop checks or import policy. */
  readonly rejected: number;
  /** Set when the UPDATE was an End-of-RIB marker (stale routes of that family were swept). */
  readonly endOfRib?: Family;
  /** Set when the peer exceeded maxPrefixes: send Cease/1 with data = AFI(2) SAFI(1) limit(4) (RFC 4486). */
  readonly maxPrefixExceeded?: { readonly family: Family; readonly limit: number; readonly data: Uint8Array };
}

/** A best-path (FIB) change: next hops of all multipath routes, or null when the prefix is gone. */
export interface BestPathChange {
  readonly family: Family;
  readonly prefix: string;
  /**
   * Null: no route any more (withdraw from the FIB). Learned routes have ≥ 1 next hop (all multipath
   * next hops, best first); a locally originated best path has [] (or its configured next hop).
   */
  readonly nextHops: readonly string[] | null;
  /** Locally originated best path (the FIB sync should not install it). */
  readonly local: boolean;
}

export type BestPathReason =
  | 'only-path'
  | 'local-pref'
  | 'local-origin'
  | 'as-path-length'
  | 'origin'
  | 'med'
  | 'ebgp-over-ibgp'
  | 'igp-cost'
  | 'oldest-ebgp'
  | 'router-id'
  | 'cluster-list-length'
  | 'peer-address'
  | 'path-id';

/** Why a received path is not accepted (RibRoute.rejection). */
export type RouteRejection =
  | 'next-hop-local'
  | 'next-hop-unreachable'
  | 'as-path-loop'
  | 'originator-id'
  | 'cluster-list'
  | 'no-import-policy'
  | 'import-policy';

/** One path as shown by `margayctl bgp rib`. */
export interface RibRoute {
  readonly family: Family;
  readonly prefix: string;
  /** Peer id, or 'local' for originated routes. */
  readonly peer: string;
  readonly pathId: number;
  readonly best: boolean;
  readonly multipath: boolean;
  /** Why the best path won (only on the best path). */
  readonly reason?: BestPathReason;
  readonly stale: boolean;
  /** False when import policy or loop checks rejected it (kept for soft reconfiguration). */
  readonly accepted: boolean;
  /**
   * When not accepted, why: an ineligible next hop (RFC 4271 §6.3 / §9.1.2.1), a loop (own AS beyond
   * allowAsIn, our ORIGINATOR_ID or cluster id), RFC 8212 (eBGP without import policy), or the policy.
   */
  readonly rejection?: RouteRejection;
  readonly nextHop: string;
  readonly asPath: string;
  readonly origin: 'igp' | 'egp' | 'incomplete';
  readonly localPref?: number;
  readonly med?: number;
  readonly communities: readonly string[];
  readonly largeCommunities: readonly string[];
}

export interface RibQuery {
  readonly family?: Family;
  /** Exact prefix text. */
  readonly prefix?: string;
  /** Routes inside this CIDR (longer or equal). */
  readonly within?: string;
  readonly peer?: string;
  readonly bestOnly?: boolean;
  /** Stop after this many routes. */
  readonly limit?: number;
}

export interface PeerRibCounts {
  /** Paths received (pre-policy), accepted (post-policy), advertised (Adj-RIB-Out). */
  readonly received: number;
  readonly accepted: number;
  readonly advertised: number;
}

/**
 * A route not advertised to a peer because its path attributes leave no room for its NLRI in that
 * peer's maximum UPDATE (4096 bytes, or 65535 with extended messages; RFC 4271 §9.2, RFC 8654 §4).
 * If an earlier version was advertised it is withdrawn. Reported once per attribute set (as held in the
 * Loc-RIB) and peer: other prefixes with the same attributes are withheld silently.
 */
export interface UnsendableRoute {
  readonly peer: string;
  readonly family: Family;
  /** The first prefix found with these attributes. */
  readonly prefix: string;
  /** Bytes an UPDATE with only this prefix would take, and the peer's limit. */
  readonly needed: number;
  readonly limit: number;
}
