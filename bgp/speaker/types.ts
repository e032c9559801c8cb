/**
 * The speaker's narrow, JSON-friendly public views: what the control API serves, what `margayctl bgp`
 * prints and what the agent reads. No codec, RIB or session types leak through here.
 */

import type { IpFamily } from '../../src/net/index.js';

/** The address family, spelled as everywhere in Margay (src/net). */
export type Family = IpFamily;

/** One BGP session as an operator sees it (`birdc show protocols`, `calicoctl node status`). */
export interface PeerStatusView {
  readonly address: string;
  readonly port: number;
  /** Configured ASN, or the learned one for 'internal'/'external'/dynamic peers once known. */
  readonly asn: number | 'internal' | 'external';
  readonly description?: string;
  readonly dynamic: boolean;
  readonly type: 'ebgp' | 'ibgp' | 'unknown';
  readonly state: string;
  /** Seconds since the session went Established (or since it last changed state when not Established). */
  readonly uptimeSeconds: number;
  readonly peerRouterId?: string;
  readonly holdTime?: number;
  readonly families: readonly Family[];
  readonly prefixesReceived: number;
  readonly prefixesAccepted: number;
  readonly prefixesAdvertised: number;
  readonly lastError?: string;
  readonly routeReflectorClient: boolean;
  /** Times the session left Established. */
  readonly flaps: number;
}

export interface RibQuery {
  /** Exact prefix, or a containing one: '10.0.0.0/8' shows everything inside 10/8 when `longer` is set. */
  readonly prefix?: string;
  readonly longer?: boolean;
  /** Routes learned from this peer address ('local' = originated here). */
  readonly peer?: string;
  readonly family?: Family;
  /** Only best paths. */
  readonly bestOnly?: boolean;
  /** Maximum routes returned (counts are always complete). Default 100. */
  readonly limit?: number;
  /**
   * Also paths that are kept but not accepted (import policy, loop, ineligible NEXT_HOP), with
   * `accepted: false` and `rejection` — like `birdc show route filtered`. Default: hidden.
   */
  readonly rejected?: boolean;
}

export interface RibRouteView {
  readonly prefix: string;
  readonly pathId?: number;
  /** Peer address or 'local'. */
  readonly from: string;
  readonly nextHop: string;
  readonly asPath: string;
  readonly origin: 'igp' | 'egp' | 'incomplete';
  readonly med?: number;
  readonly localPref?: number;
  readonly communities: readonly string[];
  readonly largeCommunities: readonly string[];
  readonly best: boolean;
  /** Why the best path won (RFC 4271 §9.1 step), when best. */
  readonly reason?: string;
  readonly stale?: boolean;
  /** Only on paths shown with `rejected`: not accepted, and why (e.g. 'next-hop-unreachable'). */
  readonly accepted?: false;
  readonly rejection?: string;
}

export interface RibQueryResult {
  /** Routes (paths) matching the filter, before `limit`. */
  readonly matched: number;
  /** Prefixes with a best path, per family, in the whole Loc-RIB. */
  readonly prefixes: Readonly<Record<Family, number>>;
  /** Paths in the whole RIB, per family. */
  readonly paths: Readonly<Record<Family, number>>;
  readonly routes: readonly RibRouteView[];
}

/** An originated route request (control API announce, agent's pod blocks). */
export interface AnnounceRequest {
  readonly prefixes: readonly string[];
  readonly nextHop?: string;
  readonly communities?: readonly string[];
  readonly largeCommunities?: readonly string[];
  readonly med?: number;
  readonly localPref?: number;
  readonly origin?: 'igp' | 'egp' | 'incomplete';
}

/** A best-path change for FIB sync and the agent: `nextHops` empty = withdrawn. */
export interface BestPathChange {
  readonly prefix: string;
  readonly family: Family;
  readonly nextHops: readonly string[];
  /** The best path came from an iBGP (true) / eBGP (false) peer; undefined for withdrawn or local. */
  readonly ibgp?: boolean;
  readonly local: boolean;
}
