/**
 * UPDATE packing: as many prefixes per message as fit in the negotiated maximum (4096, or 65535 with RFC
 * 8654), written straight from a `PrefixBatch` into each message buffer: no per-prefix objects or strings.
 * IPv4 unicast with an IPv4 next hop uses the classic NLRI field (the NEXT_HOP attribute must be in
 * `attributes`); every other case (IPv6, RFC 8950 IPv4 with an IPv6 next hop) uses MP_REACH_NLRI.
 */
import { assert } from '../../src/errors.js';
import {
  AFI,
  ATTR,
  ATTR_FLAG,
  FAMILY,
  familyAfi,
  familySafi,
  HEADER_LEN,
  MSG_TYPE,
  SAFI,
  type FamilyKey,
} from './constants.js';
import { writeHeader } from './header.js';
import type { PrefixBatch } from './types.js';

const MP_FLAGS = ATTR_FLAG.OPTIONAL | ATTR_FLAG.EXTENDED_LENGTH;
/** Largest wire size of one prefix: path id + length byte + 16 address bytes. */
const MAX_PREFIX_WIRE = 4 + 1 + 16;

export interface PackUpdatesInput {
  /** Encoded path attributes without MP_REACH/MP_UNREACH (see `encodePathAttributes`). */
  readonly attributes: Buffer;
  readonly prefixes: PrefixBatch;
  /** Range of `prefixes` to pack; defaults to all. */
  readonly from?: number | undefined;
  readonly to?: number | undefined;
  /** MP_REACH next hop (4, 16 or 32 bytes). Omit for IPv4 unicast with the NEXT_HOP attribute. */
  readonly nextHop?: Uint8Array | undefined;
  readonly safi?: number | undefined;
  /** ADD-PATH send negotiated for this family: write `prefixes.pathIds`. */
  readonly addPath: boolean;
  /** 4096, or 65535 when extended messages were negotiated. */
  readonly maxMessageLength: number;
}

export interface PackWithdrawalsInput {
  readonly prefixes: PrefixBatch;
  readonly from?: number | undefined;
  readonly to?: number | undefined;
  readonly safi?: number | undefined;
  readonly addPath: boolean;
  readonly maxMessageLength: number;
}

function _prefixWireSize(b: PrefixBatch, i: number, addPath: boolean): number {
  return (addPath ? 5 : 1) + ((b.lengths[i]! + 7) >>> 3);
}

function totalWireSize(b: PrefixBatch, from: number, to: number, addPath: boolean): number {
  let n = 0;
  for (let i = from; i < to; i++) n += (b.lengths[i]! + 7) >>> 3;
  return n + (to - from) * (addPath ? 5 : 1);
}

/** Write prefixes [i, …) into `out[off, limit)`; returns [next index, new offset]. */
function writePrefixes(
  b: PrefixBatch,
  i: number,
  to: number,
  addPath: boolean,
  out: Buffer,
  off: number,
  limit: number,
): [number, number] {
  const stride = b.afi === AFI.IPV6 ? 16 : 4;
  const addrs = b.addresses;
  const lens = b.lengths;
  const ids = b.pathIds;
  for (; i < to; i++) {
    const len = lens[i]!;
    const n = (len + 7) >>> 3;
    if (off + n + (addPath ? 5 : 1) > limit) break;
    if (addPath) {
      out.writeUInt32BE(ids === undefined ? 0 : ids[i]! >>> 0, off);
      off += 4;
    }
    out[off++] = len;
    const a = i * stride;
    for (let k = 0; k < n; k++) out[off + k] = addrs[a + k]!;
    if ((len & 7) !== 0) out[off + n - 1]! &= (0xff00 >>> (len & 7)) & 0xff;
    off += n;
  }
  return [i, off];
}

/** UPDATE messages announcing `prefixes` with one attribute set. */
export function packUpdates(p: PackUpdatesInput): Buffer[] {
  const b = p.prefixes;
  const from = p.from ?? 0;
  const to = p.to ?? b.count;
  const safi = p.safi ?? SAFI.UNICAST;
  const classic = b.afi === AFI.IPV4 && safi === SAFI.UNICAST && p.nextHop === undefined;
  const nh = p.nextHop ?? new Uint8Array(0);
  const mpHead = classic ? 0 : 4 + 2 + 1 + 1 + nh.length + 1;
  const attrLen = p.attributes.length;
  const fixed = HEADER_LEN + 4 + attrLen + mpHead;
  assert(fixed + MAX_PREFIX_WIRE <= p.maxMessageLength, 'packUpdates: attributes leave no room for a prefix');
  const out: Buffer[] = [];
  let remaining = totalWireSize(b, from, to, p.addPath);
  let i = from;
  while (i < to) {
    const size = Math.min(p.maxMessageLength, fixed + remaining);
    const msg = Buffer.allocUnsafe(size);
    msg.writeUInt16BE(0, HEADER_LEN); // no withdrawn routes
    let total: number;
    if (classic) {
      // header | 0 | attrLen | attributes | NLRI
      p.attributes.copy(msg, HEADER_LEN + 4);
      msg.writeUInt16BE(attrLen, HEADER_LEN + 2);
      const start = HEADER_LEN + 4 + attrLen;
      const [next, end] = writePrefixes(b, i, to, p.addPath, msg, start, size);
      remaining -= end - start;
      i = next;
      total = end;
    } else {
      // header | 0 | attrLen | MP_REACH_NLRI(afi safi nhLen nh 0 NLRI) | other attributes
      let off = HEADER_LEN + 4;
      msg[off] = MP_FLAGS;
      msg[off + 1] = ATTR.MP_REACH_NLRI;
      const mpLenAt = off + 2;
      msg.writeUInt16BE(b.afi, off + 4);
      msg[off + 6] = safi;
      msg[off + 7] = nh.length;
      msg.set(nh, off + 8);
      msg[off + 8 + nh.length] = 0;
      off += mpHead;
      const [next, end] = writePrefixes(b, i, to, p.addPath, msg, off, size - attrLen);
      remaining -= end - off;
      i = next;
      msg.writeUInt16BE(end - mpLenAt - 2, mpLenAt);
      p.attributes.copy(msg, end);
      total = end + attrLen;
      msg.writeUInt16BE(total - HEADER_LEN - 4, HEADER_LEN + 2);
    }
    writeHeader(msg, 0, total, MSG_TYPE.UPDATE);
    out.push(total === size ? msg : msg.subarray(0, total));
  }
  return out;
}

/** UPDATE messages withdrawing `prefixes`: the classic field for IPv4 unicast, else MP_UNREACH_NLRI. */
export function packWithdrawals(p: PackWithdrawalsInput): Buffer[] {
  const b = p.prefixes;
  const from = p.from ?? 0;
  const to = p.to ?? b.count;
  const safi = p.safi ?? SAFI.UNICAST;
  const classic = b.afi === AFI.IPV4 && safi === SAFI.UNICAST;
  const fixed = HEADER_LEN + 4 + (classic ? 0 : 4 + 3);
  const out: Buffer[] = [];
  let remaining = totalWireSize(b, from, to, p.addPath);
  let i = from;
  while (i < to) {
    const size = Math.min(p.maxMessageLength, fixed + remaining);
    const msg = Buffer.allocUnsafe(size);
    let total: number;
    if (classic) {
      const start = HEADER_LEN + 2;
      const [next, end] = writePrefixes(b, i, to, p.addPath, msg, start, size - 2);
      remaining -= end - start;
      i = next;
      msg.writeUInt16BE(end - start, HEADER_LEN);
      msg.writeUInt16BE(0, end);
      total = end + 2;
    } else {
      msg.writeUInt16BE(0, HEADER_LEN);
      const a = HEADER_LEN + 4;
      msg[a] = MP_FLAGS;
      msg[a + 1] = ATTR.MP_UNREACH_NLRI;
      msg.writeUInt16BE(b.afi, a + 4);
      msg[a + 6] = safi;
      const start = a + 7;
      const [next, end] = writePrefixes(b, i, to, p.addPath, msg, start, size);
      remaining -= end - start;
      i = next;
      msg.writeUInt16BE(end - a - 4, a + 2);
      msg.writeUInt16BE(end - a, HEADER_LEN + 2);
      total = end;
    }
    writeHeader(msg, 0, total, MSG_TYPE.UPDATE);
    out.push(total === size ? msg : msg.subarray(0, total));
  }
  return out;
}

/** End-of-RIB marker (RFC 4724 §2): an empty UPDATE for IPv4 unicast, else an empty MP_UNREACH_NLRI. */
export function encodeEndOfRib(family: FamilyKey): Buffer {
  if (family === FAMILY.IPV4_UNICAST) return encodeUpdate({});
  const v = Buffer.alloc(3);
  v.writeUInt16BE(familyAfi(family), 0);
  v[2] = familySafi(family);
  return encodeUpdate({ attributes: Buffer.concat([Buffer.from([ATTR_FLAG.OPTIONAL, ATTR.MP_UNREACH_NLRI, 3]), v]) });
}

export interface RawUpdateParts {
  /** Wire-format IPv4 withdrawn routes. */
  readonly withdrawn?: Uint8Array | undefined;
  /** Encoded attribute section (may include MP attributes from `encodeMpReach`/`encodeMpUnreach`). */
  readonly attributes?: Uint8Array | undefined;
  /** Wire-format IPv4 NLRI. */
  readonly nlri?: Uint8Array | undefined;
}

/** One UPDATE from already-encoded parts (tests, small messages). No size limit is applied. */
export function encodeUpdate(parts: RawUpdateParts): Buffer {
  const wd = parts.withdrawn ?? new Uint8Array(0);
  const at = parts.attributes ?? new Uint8Array(0);
  const nl = parts.nlri ?? new Uint8Array(0);
  const total = HEADER_LEN + 4 + wd.length + at.length + nl.length;
  const msg = Buffer.allocUnsafe(total);
  writeHeader(msg, 0, total, MSG_TYPE.UPDATE);
  let off = HEADER_LEN;
  msg.writeUInt16BE(wd.length, off);
  msg.set(wd, off + 2);
  off += 2 + wd.length;
  msg.writeUInt16BE(at.length, off);
  msg.set(at, off + 2);
  off += 2 + at.length;
  msg.set(nl, off);
  return msg;
}

/** MP_REACH_NLRI attribute bytes from a wire-format prefix block. */
export function encodeMpReach(afi: number, safi: number, nextHop: Uint8Array, nlri: Uint8Array): Buffer {
  const v = Buffer.allocUnsafe(5 + nextHop.length + nlri.length);
  v.writeUInt16BE(afi, 0);
  v[2] = safi;
  v[3] = nextHop.length;
  v.set(nextHop, 4);
  v[4 + nextHop.length] = 0;
  v.set(nlri, 5 + nextHop.length);
  return mpAttribute(ATTR.MP_REACH_NLRI, v);
}

/** MP_UNREACH_NLRI attribute bytes from a wire-format prefix block. */
export function encodeMpUnreach(afi: number, safi: number, withdrawn: Uint8Array): Buffer {
  const v = Buffer.allocUnsafe(3 + withdrawn.length);
  v.writeUInt16BE(afi, 0);
  v[2] = safi;
  v.set(withdrawn, 3);
  return mpAttribute(ATTR.MP_UNREACH_NLRI, v);
}

function mpAttribute(type: number, v: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + v.length);
  out[0] = MP_FLAGS;
  out[1] = type;
  out.writeUInt16BE(v.length, 2);
  v.copy(out, 4);
  return out;
}
