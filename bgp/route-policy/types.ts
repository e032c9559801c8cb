/**
 * Policy configuration: plain data, validated at the edge (bgp/config.ts, valibot) and passed down frozen.
 * A policy is a list of first-match statements plus a default result, like BIRD filters / FRR
 * route-maps. Statements whose matches look only at attributes are evaluated once per attribute set
 * (cached by the RIB); prefix matches use a compiled numeric prefix check.
 *
 * Textual forms:
 *   prefixes          '10.0.0.0/8', '2001:db8::/32'
 *   communities       '65000:100', or well-known 'no-export' | 'no-advertise' | 'no-export-subconfed'
 *                     | 'no-peer' | 'blackhole' | 'graceful-shutdown'
 *   large communities '65000:1:2'
 *   AS-path regex     matched against the path as text, ASNs separated by one space, sets as
 *                     '{1 2}', e.g. '^65001( |$)' (neighbour 65001) or '(^| )65010$' (origin 65010).
 */

export type RoutePolicyResult = 'accept' | 'reject';

/** One entry of a prefix list: a route matches when it lies inside `prefix` and ge ≤ its length ≤ le. */
export interface PrefixListEntry {
  readonly prefix: string;
  /** Minimum route prefix length (default: the entry's own length). */
  readonly ge?: number;
  /** Maximum route prefix length (default: ge when given, else the entry's own length, i.e. exact). */
  readonly le?: number;
  /** Entries are first-match; a 'deny' entry makes the list not match. Default 'permit'. */
  readonly action?: 'permit' | 'deny';
}

export interface PrefixList {
  readonly name: string;
  readonly entries: readonly PrefixListEntry[];
}

export interface PrefixMatch {
  /** Name of a prefix list from `RoutePolicySet.prefixLists`. */
  readonly list?: string;
  /** Inline entries (checked after `list`). */
  readonly entries?: readonly PrefixListEntry[];
  /** Match routes NOT matched by the list/entries (Calico BGPFilter `NotIn`). */
  readonly invert?: boolean;
}

export interface CommunityMatch {
  /** Matches when the route carries at least one of these. */
  readonly any?: readonly string[];
  /** Matches when the route carries all of these. */
  readonly all?: readonly string[];
  /** Matches when the route carries none of these. */
  readonly none?: readonly string[];
}

export interface AsPathMatch {
  /** Regex over the textual path (see file comment). */
  readonly regex?: string;
  /** Path contains any of these ASNs. */
  readonly contains?: readonly number[];
  /** Origin AS (last AS of the path) is one of these. */
  readonly originAs?: readonly number[];
  /** Neighbour AS (first AS of the path) is one of these. */
  readonly neighborAs?: readonly number[];
  /** AS-path length (RFC 4271 counting) ≤ this. */
  readonly maxLength?: number;
  /** Path is empty (locally originated or from iBGP without prepend). */
  readonly empty?: boolean;
}

/** All given conditions must hold (AND). An empty match matches everything. */
export interface RoutePolicyMatch {
  readonly family?: 'ipv4' | 'ipv6';
  readonly prefix?: PrefixMatch;
  readonly community?: CommunityMatch;
  readonly largeCommunity?: CommunityMatch;
  readonly asPath?: AsPathMatch;
  /** Next hop lies in one of these CIDRs. */
  readonly nextHopIn?: readonly string[];
  /** ORIGIN attribute. */
  readonly origin?: 'igp' | 'egp' | 'incomplete';
  /** Locally originated routes (Calico BGPFilter source "local"). */
  readonly local?: boolean;
}

export interface RoutePolicyActions {
  readonly setLocalPref?: number;
  /** A number sets MED; 'remove' deletes it. */
  readonly setMed?: number | 'remove';
  /** Replace all standard communities. */
  readonly setCommunities?: readonly string[];
  readonly addCommunities?: readonly string[];
  readonly removeCommunities?: readonly string[];
  readonly addLargeCommunities?: readonly string[];
  readonly removeLargeCommunities?: readonly string[];
  /** An address, or 'self' (the local address of the session the route is sent on / learned from). */
  readonly setNextHop?: string | 'self';
  /** Prepend `count` times `as` (default: the local AS). */
  readonly prepend?: { readonly as?: number; readonly count: number };
  readonly setOrigin?: 'igp' | 'egp' | 'incomplete';
}

export interface RoutePolicyStatement {
  readonly name?: string;
  readonly match?: RoutePolicyMatch;
  readonly actions?: RoutePolicyActions;
  /** 'accept'/'reject' end evaluation; 'next' applies the actions and continues. Default 'accept'. */
  readonly result?: RoutePolicyResult | 'next';
}

export interface RoutePolicy {
  readonly name: string;
  readonly statements: readonly RoutePolicyStatement[];
  /** Result when no statement ended evaluation. */
  readonly defaultResult: RoutePolicyResult;
}

/** What the daemon config hands over: named prefix lists and policies, referenced by name per peer. */
export interface RoutePolicySet {
  readonly prefixLists?: readonly PrefixList[];
  readonly policies: readonly RoutePolicy[];
}
