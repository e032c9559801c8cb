/**
 * Public message and attribute types of the codec. Decoded values are plain data; Buffers are views into
 * the received chunk (valid only while it is held — copy at the RIB boundary, STYLE 2.1.8).
 */
import type { AsPathSegmentType, FamilyKey, Origin } from './constants.js';
import type { BgpProtocolError, ErrorAction } from './errors.js';

// ---------------------------------------------------------------------------------------------- prefixes

/**
 * A validated block of NLRI in wire format: `[pathId(4) if addPath] len(1) bytes(ceil(len/8))` repeated,
 * `buf[start, end)`. Zero-copy; iterate with `forEachNlri`. Every prefix length is within the family's
 * maximum and the block ends exactly at `end` (checked at decode).
 */
export interface NlriList {
  readonly afi: number;
  readonly safi: number;
  readonly addPath: boolean;
  readonly buf: Buffer;
  readonly start: number;
  readonly end: number;
  readonly count: number;
}

/**
 * Prefixes in a flat, object-free layout for encoding: prefix i has length `lengths[i]` bits, its address
 * at `addresses[i*stride .. i*stride+stride)` (stride 4 for IPv4, 16 for IPv6, network byte order; bits
 * past the length are ignored) and, with ADD-PATH send, path id `pathIds[i]`. `from`/`to` select a range.
 */
export interface PrefixBatch {
  readonly afi: number;
  readonly count: number;
  readonly lengths: Uint8Array;
  readonly addresses: Uint8Array;
  readonly pathIds?: Uint32Array | undefined;
}

// ------------------------------------------------------------------------------------------ capabilities

export interface MultiprotocolCapability {
  readonly kind: 'multiprotocol';
  readonly afi: number;
  readonly safi: number;
}
export interface RouteRefreshCapability {
  readonly kind: 'route-refresh';
}
export interface EnhancedRouteRefreshCapability {
  readonly kind: 'enhanced-route-refresh';
}
export interface FourOctetAsCapability {
  readonly kind: 'four-octet-as';
  readonly asn: number;
}
export interface ExtendedMessageCapability {
  readonly kind: 'extended-message';
}
export interface GracefulRestartFamily {
  readonly afi: number;
  readonly safi: number;
  readonly forwardingPreserved: boolean;
}
/** RFC 4724 with the RFC 8538 N bit. `restartTime` in seconds (12 bits). */
export interface GracefulRestartCapability {
  readonly kind: 'graceful-restart';
  readonly restarting: boolean;
  readonly notification: boolean;
  readonly restartTime: number;
  readonly families: readonly GracefulRestartFamily[];
}
export type AddPathMode = 'receive' | 'send' | 'both';
export interface AddPathFamily {
  readonly afi: number;
  readonly safi: number;
  readonly mode: AddPathMode;
}
export interface AddPathCapability {
  readonly kind: 'add-path';
  readonly families: readonly AddPathFamily[];
}
/** RFC 8950: NLRI of (afi, safi) may carry a next hop of `nextHopAfi`. */
export interface ExtendedNextHopEntry {
  readonly afi: number;
  readonly safi: number;
  readonly nextHopAfi: number;
}
export interface ExtendedNextHopCapability {
  readonly kind: 'extended-next-hop';
  readonly entries: readonly ExtendedNextHopEntry[];
}
/** RFC 9234 BGP role (0 provider, 1 RS, 2 RS-client, 3 customer, 4 peer). */
export interface RoleCapability {
  readonly kind: 'role';
  readonly role: number;
}
/** Any capability not understood: kept raw so it can be logged or echoed. */
export interface UnknownCapability {
  readonly kind: 'unknown';
  readonly code: number;
  readonly value: Buffer;
}
export type Capability =
  | MultiprotocolCapability
  | RouteRefreshCapability
  | EnhancedRouteRefreshCapability
  | FourOctetAsCapability
  | ExtendedMessageCapability
  | GracefulRestartCapability
  | AddPathCapability
  | ExtendedNextHopCapability
  | RoleCapability
  | UnknownCapability;

// ----------------------------------------------------------------------------------------------- messages

export interface OpenMessage {
  readonly type: 'open';
  readonly version: number;
  /** The 2-octet My Autonomous System field as sent (AS_TRANS when the real ASN is 4-octet). */
  readonly myAs: number;
  /** The effective ASN: the 4-octet AS capability's value if present, else `myAs`. */
  readonly asn: number;
  readonly holdTime: number;
  /** BGP Identifier as an unsigned 32-bit number. */
  readonly bgpId: number;
  readonly capabilities: readonly Capability[];
  /** True when the RFC 9072 extended optional-parameters format was used. */
  readonly extendedParams: boolean;
}

export interface AsPathSegment {
  readonly type: AsPathSegmentType;
  readonly asns: readonly number[];
}
export interface Aggregator {
  readonly asn: number;
  readonly address: string;
}
export interface LargeCommunity {
  readonly global: number;
  readonly local1: number;
  readonly local2: number;
}
/** An attribute the codec does not interpret: optional transitive ones are passed on (Partial bit set). */
export interface RawAttribute {
  readonly flags: number;
  readonly type: number;
  readonly value: Buffer;
}

export interface MpReach {
  readonly afi: number;
  readonly safi: number;
  /** Next hop as received: 4 (IPv4), 16 (global) or 32 (global + link-local) bytes. View. */
  readonly nextHop: Buffer;
  readonly nlri: NlriList;
}
export interface MpUnreach {
  readonly afi: number;
  readonly safi: number;
  readonly withdrawn: NlriList;
}

/**
 * Parsed path attributes. AS_PATH is already merged with AS4_PATH (RFC 6793 §4.2.3) when the session is
 * not 4-octet, so it always holds real 4-octet ASNs; the same for `aggregator` and AS4_AGGREGATOR.
 * Absent attributes are `undefined`.
 */
export interface PathAttributes {
  origin?: Origin | undefined;
  asPath?: readonly AsPathSegment[] | undefined;
  /** NEXT_HOP attribute (IPv4 dotted quad). */
  nextHop?: string | undefined;
  med?: number | undefined;
  localPref?: number | undefined;
  atomicAggregate?: boolean | undefined;
  aggregator?: Aggregator | undefined;
  /** RFC 1997 communities, each a u32 (`asn << 16 | value`). */
  communities?: readonly number[] | undefined;
  originatorId?: string | undefined;
  clusterList?: readonly string[] | undefined;
  /** RFC 4360 extended communities, each an 8-byte Buffer. */
  extCommunities?: readonly Buffer[] | undefined;
  largeCommunities?: readonly LargeCommunity[] | undefined;
  mpReach?: MpReach | undefined;
  mpUnreach?: MpUnreach | undefined;
  /** Unrecognized optional transitive attributes, in received order. */
  unknown?: readonly RawAttribute[] | undefined;
}

export interface UpdateMessage {
  readonly type: 'update';
  /** IPv4 unicast withdrawn routes (classic field). */
  readonly withdrawn: NlriList;
  /** IPv4 unicast NLRI (classic field). */
  readonly nlri: NlriList;
  readonly attributes: PathAttributes;
  /**
   * The path-attribute bytes the RIB may trust and intern: the section as received (a zero-copy view) when
   * every attribute decoded cleanly; otherwise a copy (one per such UPDATE) holding only the attributes that
   * were kept — RFC 7606 discarded, malformed, duplicate, ignored (AS4_* from a 4-octet peer) and unknown
   * optional non-transitive attributes removed; MP_REACH/MP_UNREACH stay, byte for byte. After a
   * treat-as-withdraw attribute-list overrun it ends where parsing stopped.
   */
  readonly rawAttributes: Buffer;
  /** The whole path-attribute section exactly as received (view), for logs and debugging. */
  readonly receivedAttributes: Buffer;
  /**
   * Bytes that identify the attribute set for interning: `rawAttributes` without MP_REACH_NLRI and
   * MP_UNREACH_NLRI, followed by AFI, SAFI, next-hop length and next hop of MP_REACH when present. A view when
   * no MP attribute is present and nothing was dropped, otherwise a copy (one per UPDATE, never per prefix).
   */
  readonly attributeKey: Buffer;
  /**
   * RFC 7606 outcome for the non-fatal problems: 'treat-as-withdraw' means every NLRI in this UPDATE (classic
   * and MP_REACH) must be handled as withdrawn; 'attribute-discard' means some attributes were dropped and the
   * update stands. Session-reset problems are thrown instead.
   */
  readonly action: 'none' | Exclude<ErrorAction, 'session-reset'>;
  readonly problems: readonly BgpProtocolError[];
  /** Set when this UPDATE is an End-of-RIB marker (RFC 4724 §2) for that family. */
  readonly endOfRib?: FamilyKey | undefined;
}

export interface NotificationMessage {
  readonly type: 'notification';
  readonly errorCode: number;
  readonly subcode: number;
  readonly data: Buffer;
  /** RFC 9003 shutdown communication (Cease 2 and 4), when present and valid UTF-8. */
  readonly shutdownMessage?: string | undefined;
  /** RFC 8538 Hard Reset (Cease 9): the wrapped NOTIFICATION. */
  readonly hardReset?: { readonly errorCode: number; readonly subcode: number; readonly data: Buffer } | undefined;
}

export interface KeepaliveMessage {
  readonly type: 'keepalive';
}

export interface RouteRefreshMessage {
  readonly type: 'route-refresh';
  readonly afi: number;
  readonly safi: number;
  /** RFC 7313: 0 normal, 1 BoRR, 2 EoRR; other values are to be ignored by the receiver. */
  readonly subtype: number;
}

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

// ---------------------------------------------------------------------------------------------- options

/** Negotiated session facts the decoder needs. Build once per session at Established; see `decodeOptions`. */
export interface DecodeOptions {
  readonly fourOctetAs: boolean;
  /** Families for which we negotiated ADD-PATH receive (NLRI carry a 4-byte path id). */
  readonly addPathReceive: ReadonlySet<FamilyKey>;
  readonly extendedMessages: boolean;
  /** Families negotiated with the multiprotocol capability; MP NLRI of other families are rejected. */
  readonly families: ReadonlySet<FamilyKey>;
  readonly isIbgp: boolean;
  readonly localAs: number;
  readonly peerAs: number;
  /** Enhanced route refresh negotiated: a ROUTE-REFRESH of bad length is 7/1 instead of 1/2. */
  readonly enhancedRouteRefresh?: boolean | undefined;
  /**
   * RFC 8950 for IPv4 unicast: true = negotiated; false = not negotiated, so an IPv4 MP_REACH_NLRI with
   * a 16- or 32-byte next hop is a next-hop length error (RFC 8950 §3, RFC 7606 §7.11: session reset);
   * undefined = not checked (accepted).
   */
  readonly extendedNextHopV4?: boolean | undefined;
}

/** Facts the encoder needs toward one peer. */
export interface EncodeOptions {
  readonly fourOctetAs: boolean;
  readonly extendedMessages: boolean;
}
