/** ROUTE-REFRESH (RFC 2918) with the RFC 7313 subtypes; KEEPALIVE. */
import { HEADER_LEN, MSG_TYPE } from './constants.js';
import { frameMessage } from './header.js';
import type { RouteRefreshMessage } from './types.js';

/** `msg` is the whole message; its length (23) was checked by `decodeMessage`. */
export function decodeRouteRefresh(msg: Buffer): RouteRefreshMessage {
  return {
    type: 'route-refresh',
    afi: msg.readUInt16BE(HEADER_LEN),
    subtype: msg[HEADER_LEN + 2]!,
    safi: msg[HEADER_LEN + 3]!,
  };
}

export function encodeRouteRefresh(afi: number, safi: number, subtype = 0): Buffer {
  const body = Buffer.alloc(4);
  body.writeUInt16BE(afi, 0);
  body[2] = subtype;
  body[3] = safi;
  return frameMessage(MSG_TYPE.ROUTE_REFRESH, body);
}

const KEEPALIVE = frameMessage(MSG_TYPE.KEEPALIVE, Buffer.alloc(0));

/** A KEEPALIVE (a fresh copy each call, so callers may own it). */
export function encodeKeepalive(): Buffer {
  return Buffer.from(KEEPALIVE);
}
