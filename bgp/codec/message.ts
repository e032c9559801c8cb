/**
 * `decodeMessage`: one whole framed message → a typed message. Header checks (type 1/3, per-type length
 * 1/2 with the length field as data) happen here; the body decoders do the rest.
 */
import {
  ERR,
  HEADER_LEN,
  HEADER_SUBCODE,
  MARKER_LEN,
  MAX_MESSAGE_LEN,
  MIN_LEN,
  MSG_TYPE,
  ROUTE_REFRESH_SUBCODE,
  type MsgType,
} from './constants.js';
import { sessionReset } from './errors.js';
import { badLength, hasMarker, notSynchronized } from './framer.js';
import { decodeNotification } from './notification.js';
import { decodeOpen } from './open.js';
import { decodeRouteRefresh } from './route-refresh.js';
import type { BgpMessage, DecodeOptions } from './types.js';
import { decodeUpdate } from './update.js';

export function decodeMessage(msg: Buffer, opts: DecodeOptions): BgpMessage {
  if (msg.length < HEADER_LEN) throw badLength(msg.length);
  if (!hasMarker(msg, 0)) throw notSynchronized();
  const len = msg.readUInt16BE(MARKER_LEN);
  if (len !== msg.length) throw badLength(len);
  const type = msg[MARKER_LEN + 2]!;
  if (type < MSG_TYPE.OPEN || type > MSG_TYPE.ROUTE_REFRESH) {
    throw sessionReset(ERR.HEADER, HEADER_SUBCODE.BAD_TYPE, Buffer.from([type]), `bad message type ${type}`);
  }
  if (len > MAX_MESSAGE_LEN && !opts.extendedMessages) throw badLength(len);
  const min = MIN_LEN[type as MsgType];
  switch (type) {
    case MSG_TYPE.OPEN:
      if (len < min || len > MAX_MESSAGE_LEN) throw badLength(len);
      return decodeOpen(msg);
    case MSG_TYPE.UPDATE:
      if (len < min) throw badLength(len);
      return decodeUpdate(msg, opts);
    case MSG_TYPE.NOTIFICATION:
      if (len < min) throw badLength(len);
      return decodeNotification(msg);
    case MSG_TYPE.KEEPALIVE:
      if (len !== min) throw badLength(len);
      return { type: 'keepalive' };
    default:
      if (len !== min) {
        // RFC 7313 §5: with enhanced route refresh a bad ROUTE-REFRESH length is 7/1 carrying the message.
        if (opts.enhancedRouteRefresh === true) {
          throw sessionReset(
            ERR.ROUTE_REFRESH,
            ROUTE_REFRESH_SUBCODE.INVALID_LENGTH,
            msg,
            `ROUTE-REFRESH length ${len}`,
          );
        }
        throw badLength(len);
      }
      return decodeRouteRefresh(msg);
  }
}

/** Options for a session before negotiation, or for tests: IPv4+IPv6 unicast, 4-octet AS, no ADD-PATH. */
export function decodeOptions(over: Partial<DecodeOptions> = {}): DecodeOptions {
  return {
    fourOctetAs: true,
    addPathReceive: new Set(),
    extendedMessages: false,
    families: new Set([0x0101, 0x0201]),
    isIbgp: false,
    localAs: 0,
    peerAs: 0,
    enhancedRouteRefresh: false,
    ...over,
  };
}
