/**
 * The vocabulary of BGP route attributes shared by the RIB and route policy: the decoded attribute
 * set and AS path segments (RFC 4271 §4.3, 4456, 4760, 6793, 1997, 4360, 8092), with the codec's type
 * codes and flags re-exported. Pure data; the RIB's wire parsing and encoding live in bgp/rib/attrs.ts.
 */
/**
 * Type codes, flags, segment types and AS_TRANS have one definition, the codec's wire constants
 * (bgp/codec/constants.ts); FLAG and SEG are the names the RIB and route policy use for them.
 */
export { ATTR, AS_TRANS, ATTR_FLAG as FLAG, AS_PATH_SEGMENT as SEG } from '../codec/index.js';

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
