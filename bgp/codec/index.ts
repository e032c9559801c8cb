/**
 * The BGP codec: pure functions over Buffer, no I/O, no logging (STYLE 2.1.2).
 *
 *   socket bytes ─▶ Framer.push(chunk) ─▶ whole messages (views) ─▶ decodeMessage(msg, opts) ─▶ BgpMessage
 *   RIB ─▶ encodePathAttributes(attrs, opts) ─▶ packUpdates({attributes, prefixes, …}) ─▶ Buffer[] to send
 *
 * Errors: everything thrown while framing/decoding is a BgpProtocolError carrying the NOTIFICATION
 * (errorCode, subcode, data) and the RFC 7606 action; a thrown one is always 'session-reset'. Non-fatal
 * UPDATE problems come back in `UpdateMessage.action`/`problems` ('treat-as-withdraw' | 'attribute-discard').
 * OPEN semantics (peer AS, BGP ID, hold time, required capabilities) are checked by `validateOpen`.
 *
 * Prefixes stay in wire format: `NlriList` views with `forEachNlri` (no allocation per prefix); encoding
 * takes a `PrefixBatch` (flat typed arrays). Text helpers are for humans and tests.
 */
export * from './constants.js';
export { BgpProtocolError, PrefixSyntaxError, strongerAction, type ErrorAction } from './errors.js';
export type * from './types.js';
export { Framer } from './framer.js';
export { decodeMessage, decodeOptions } from './message.js';
export { decodeOpen, encodeOpen, validateOpen, type OpenExpectation, type OpenInput } from './open.js';
export { decodeCapabilities, encodeCapability, hasCapability } from './capabilities.js';
export { decodeUpdate, treatAsWithdrawLists } from './update.js';
export { decodePathAttributes } from './attributes.js';
export { encodeAttribute, encodeAsPathValue, encodePathAttributes } from './attributes-encode.js';
export { countAsPath, mergeAs4Path } from './as4.js';
export {
  encodeEndOfRib,
  encodeMpReach,
  encodeMpUnreach,
  encodeUpdate,
  packUpdates,
  packWithdrawals,
  type PackUpdatesInput,
  type PackWithdrawalsInput,
  type RawUpdateParts,
} from './update-packer.js';
export {
  decodeNotification,
  encodeHardReset,
  encodeNotification,
  encodeShutdown,
  isShutdownCommunication,
  shutdownData,
} from './notification.js';
export { decodeRouteRefresh, encodeKeepalive, encodeRouteRefresh } from './route-refresh.js';
export {
  emptyNlriList,
  encodePrefixes,
  forEachNlri,
  ipv4ToString,
  ipv6ToString,
  maxPrefixLen,
  nlriListToStrings,
  nlriToString,
  parseAddress,
  parsePrefix,
  readIpv4Prefix,
  scanNlri,
  writeNlri,
  type NlriVisitor,
  type ParsedPrefix,
} from './prefix.js';
export type {
  AddPathMode,
  BgpMessage,
  Capability,
  DecodeOptions,
  NotificationMessage,
  OpenMessage,
  RouteRefreshMessage,
  UpdateMessage,
} from './types.js';
