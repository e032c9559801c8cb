/**
 * src/net: the one address and prefix toolkit (IPv4 and IPv6). Model validation, IPAM, policy
 * ipBlocks and BGP parse and compare addresses through it; the BGP codec and RIB keep their compact
 * wire/word forms and convert with addressToBytes/addressToWords.
 */
export { PrefixSyntaxError } from './errors.js';
export {
  addressFromBytes,
  addressFromWords,
  addressToBytes,
  addressToWords,
  compareAddresses,
  familyBits,
  familyOfText,
  ipVersionOf,
  formatAddress,
  formatIpv4,
  formatIpv6Bytes,
  formatIpv6Words,
  type IpAddress,
  type IpFamily,
  parseAddress,
  parseAddressBytes,
  sameAddress,
  tryParseAddress,
  unmapIpv4,
} from './address.js';
export {
  addressAt,
  addressesIn,
  comparePrefixes,
  firstAddress,
  formatPrefix,
  lastAddress,
  offsetOf,
  type ParsedPrefix,
  parsePrefix,
  type Prefix,
  type PrefixParseOptions,
  prefixContains,
  prefixContainsAddress,
  prefixesOverlap,
  prefixMask,
  prefixOf,
  prefixSize,
  prefixTextContains,
  samePrefix,
  subPrefixes,
  tryParseAddressOrPrefix,
  tryParsePrefix,
} from './prefix.js';
