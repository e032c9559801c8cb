/**
 * bgp/attrs: route-attribute vocabulary below both the RIB and route policy (neither imports the
 * other for it): attribute codes, AS paths, communities, and prefixes as packed u32 words.
 */
export { asPathLength, asPathText, mergeAs4Path, prependAs } from './as-path.js';
export {
  CommunitySyntaxError,
  formatCommunity,
  formatLargeCommunities,
  parseCommunity,
  parseLargeCommunity,
  WELL_KNOWN,
} from './community.js';
export {
  familyOfAddress,
  formatIpv4,
  formatIpv6,
  formatPrefix,
  mask32,
  type ParsedPrefix,
  parseIpv4,
  parseIpv6,
  parsePrefix,
  PrefixSyntaxError,
  prefixWithin,
} from './prefix-words.js';
export {
  AS_TRANS,
  ATTR,
  EMPTY_ATTRS,
  FLAG,
  SEG,
  type AsPathSegment,
  type RawAttribute,
  type RouteAttrs,
} from './route-attrs.js';
