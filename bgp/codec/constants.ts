/**
 * Wire constants of BGP-4 (RFC 4271) and its extensions, named as in the RFCs. `as const` objects plus
 * unions, never `enum` (STYLE 2.2).
 */
export const HEADER_LEN = 19;
export const MARKER_LEN = 16;
/** RFC 4271 maximum message size. */
export const MAX_MESSAGE_LEN = 4096;
/** RFC 8654 maximum after the extended-message capability is exchanged (not for OPEN or KEEPALIVE). */
export const MAX_EXTENDED_MESSAGE_LEN = 65535;
export const BGP_VERSION = 4;
/** RFC 6793 AS_TRANS, placed in 2-octet AS fields when the real ASN does not fit. */
export const AS_TRANS = 23456;

export const MSG_TYPE = { OPEN: 1, UPDATE: 2, NOTIFICATION: 3, KEEPALIVE: 4, ROUTE_REFRESH: 5 } as const;
export type MsgType = (typeof MSG_TYPE)[keyof typeof MSG_TYPE];

/** Minimum (and for KEEPALIVE/ROUTE-REFRESH exact) message length per type, header included. */
export const MIN_LEN: Readonly<Record<MsgType, number>> = { 1: 29, 2: 23, 3: 21, 4: 19, 5: 23 };

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
  MP_REACH_NLRI: 14,
  MP_UNREACH_NLRI: 15,
  EXTENDED_COMMUNITIES: 16,
  AS4_PATH: 17,
  AS4_AGGREGATOR: 18,
  LARGE_COMMUNITY: 32,
} as const;
export type AttrType = (typeof ATTR)[keyof typeof ATTR];

export const ATTR_FLAG = { OPTIONAL: 0x80, TRANSITIVE: 0x40, PARTIAL: 0x20, EXTENDED_LENGTH: 0x10 } as const;

export const ORIGIN = { IGP: 0, EGP: 1, INCOMPLETE: 2 } as const;
export type Origin = (typeof ORIGIN)[keyof typeof ORIGIN];

export const AS_PATH_SEGMENT = { AS_SET: 1, AS_SEQUENCE: 2, AS_CONFED_SEQUENCE: 3, AS_CONFED_SET: 4 } as const;
export type AsPathSegmentType = (typeof AS_PATH_SEGMENT)[keyof typeof AS_PATH_SEGMENT];

export const OPT_PARAM = { CAPABILITIES: 2, EXTENDED_LENGTH: 255 } as const;

export const CAP = {
  MULTIPROTOCOL: 1,
  ROUTE_REFRESH: 2,
  EXTENDED_NEXT_HOP: 5,
  EXTENDED_MESSAGE: 6,
  ROLE: 9,
  GRACEFUL_RESTART: 64,
  FOUR_OCTET_AS: 65,
  ADD_PATH: 69,
  ENHANCED_ROUTE_REFRESH: 70,
} as const;

export const AFI = { IPV4: 1, IPV6: 2 } as const;
export const SAFI = { UNICAST: 1, MULTICAST: 2 } as const;

/** An address family as one number, `afi * 256 + safi`; cheap to put in a Set. */
export type FamilyKey = number;
export function familyKey(afi: number, safi: number): FamilyKey {
  return afi * 256 + safi;
}
export function familyAfi(key: FamilyKey): number {
  return key >>> 8;
}
export function familySafi(key: FamilyKey): number {
  return key & 0xff;
}
export const FAMILY = { IPV4_UNICAST: 0x0101, IPV6_UNICAST: 0x0201 } as const;

/** NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313, RFC 9687). */
export const ERR = {
  HEADER: 1,
  OPEN: 2,
  UPDATE: 3,
  HOLD_TIMER_EXPIRED: 4,
  FSM: 5,
  CEASE: 6,
  ROUTE_REFRESH: 7,
  SEND_HOLD_TIMER_EXPIRED: 8,
} as const;
export const HEADER_SUBCODE = { NOT_SYNCHRONIZED: 1, BAD_LENGTH: 2, BAD_TYPE: 3 } as const;
export const OPEN_SUBCODE = {
  UNSPECIFIC: 0,
  UNSUPPORTED_VERSION: 1,
  BAD_PEER_AS: 2,
  BAD_BGP_ID: 3,
  UNSUPPORTED_OPTIONAL_PARAMETER: 4,
  UNACCEPTABLE_HOLD_TIME: 6,
  UNSUPPORTED_CAPABILITY: 7,
  ROLE_MISMATCH: 11,
} as const;
export const UPDATE_SUBCODE = {
  MALFORMED_ATTRIBUTE_LIST: 1,
  UNRECOGNIZED_WELL_KNOWN: 2,
  MISSING_WELL_KNOWN: 3,
  ATTRIBUTE_FLAGS: 4,
  ATTRIBUTE_LENGTH: 5,
  INVALID_ORIGIN: 6,
  INVALID_NEXT_HOP: 8,
  OPTIONAL_ATTRIBUTE: 9,
  INVALID_NETWORK_FIELD: 10,
  MALFORMED_AS_PATH: 11,
} as const;
/** RFC 6608 FSM error subcodes. */
export const FSM_SUBCODE = { UNSPECIFIED: 0, IN_OPEN_SENT: 1, IN_OPEN_CONFIRM: 2, IN_ESTABLISHED: 3 } as const;
/** RFC 4486 / RFC 8538 Cease subcodes. */
export const CEASE_SUBCODE = {
  MAX_PREFIXES: 1,
  ADMIN_SHUTDOWN: 2,
  PEER_DECONFIGURED: 3,
  ADMIN_RESET: 4,
  CONNECTION_REJECTED: 5,
  OTHER_CONFIG_CHANGE: 6,
  COLLISION_RESOLUTION: 7,
  OUT_OF_RESOURCES: 8,
  HARD_RESET: 9,
  BFD_DOWN: 10,
} as const;
export const ROUTE_REFRESH_SUBCODE = { INVALID_LENGTH: 1 } as const;
/** RFC 7313 ROUTE-REFRESH message subtypes. */
export const ROUTE_REFRESH_SUBTYPE = { NORMAL: 0, BORR: 1, EORR: 2 } as const;

/** Well-known communities (RFC 1997, RFC 8326, RFC 7999). */
export const COMMUNITY = {
  NO_EXPORT: 0xffffff01,
  NO_ADVERTISE: 0xffffff02,
  NO_EXPORT_SUBCONFED: 0xffffff03,
  GRACEFUL_SHUTDOWN: 0xffff0000,
  BLACKHOLE: 0xffff029a,
} as const;
