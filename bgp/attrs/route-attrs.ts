/**
 * The vocabulary of BGP route attributes shared by the RIB and route policy: type codes and flags
 * (RFC 4271 §4.3, 4456, 4760, 6793, 1997, 4360, 8092), AS path segments and the decoded attribute
 * set. Pure data; the RIB's wire parsing and encoding live in bgp/rib/attrs.ts.
 */
export const ATTR = {
  ORIGIN: 1,
  AS_PATH: 2,
  NEXT_HOP: 3,
  MED: 4,
  LOCAL_PREF: 5,
  ATOMIC_AGGREGATE: 6,
  AGGREGATOR: 7,
  COMMUNITIES: 8,
  ORIGINATOR_ID: 9,
  CLUSTER_LIST: 10,
  MP_REACH: 14,
  MP_UNREACH: 15,
  EXT_COMMUNITIES: 16,
  AS4_PATH: 17,
  AS4_AGGREGATOR: 18,
  LARGE_COMMUNITIES: 32,
} as const;
export const FLAG = { OPTIONAL: 0x80, TRANSITIVE: 0x40, PARTIAL: 0x20, EXTENDED: 0x10 } as const;
export const SEG = { AS_SET: 1, AS_SEQUENCE: 2, CONFED_SEQUENCE: 3, CONFED_SET: 4 } as const;
export const AS_TRANS = 23456;

export interface AsPathSegment {
  readonly type: number;
  readonly asns: readonly number[];
}

export interface RawAttribute {
  readonly flags: number;
  readonly type: number;
  readonly value: Uint8Array;
}

export interface RouteAttrs {
  /** 0 IGP, 1 EGP, 2 INCOMPLETE. */
  readonly origin: number;
  readonly asPath: readonly AsPathSegment[];
  /** 4 bytes (IPv4), 16 (IPv6 global) or 32 (global + link-local); empty when none. */
  readonly nextHop: Uint8Array;
  readonly med?: number;
  readonly localPref?: number;
  readonly atomicAggregate: boolean;
  readonly aggregator?: { readonly as: number; readonly address: number };
  /** RFC 1997 communities as u32, in received order. */
  readonly communities: readonly number[];
  /** RFC 4360 extended communities, 8 bytes each, concatenated. */
  readonly extCommunities: Uint8Array;
  /** RFC 8092 large communities as flat triples. */
  readonly largeCommunities: readonly number[];
  readonly originatorId?: number;
  readonly clusterList: readonly number[];
  /** Unrecognised attributes: optional transitive ones are passed on with the Partial bit. */
  readonly unknown: readonly RawAttribute[];
}

export const EMPTY_ATTRS: RouteAttrs = {
  origin: 0,
  asPath: [],
  nextHop: new Uint8Array(0),
  atomicAggregate: false,
  communities: [],
  extCommunities: new Uint8Array(0),
  largeCommunities: [],
  clusterList: [],
  unknown: [],
};

/** Where MP_REACH / MP_UNREACH sit inside an attribute block (offsets into the same buffer). */
