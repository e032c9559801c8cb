/**
 * The RIB's attribute model and its wire form. One `RouteAttrs` object exists per distinct attribute
 * set (interned in AttrStore), never per prefix, so plain objects are fine here. Parsing happens once
 * per new set; encoding once per outgoing set and peer flavour (2- or 4-octet AS).
 * Attribute type codes and flags per RFC 4271 §4.3, 4456, 4760, 6793, 1997, 4360, 8092.
 */
import { MargayError } from '../../src/errors.js';
import {
  AS_TRANS,
  ATTR,
  FLAG,
  mergeAs4Path,
  type AsPathSegment,
  type RawAttribute,
  type RouteAttrs,
} from '../attrs/index.js';

export {
  AS_TRANS,
  ATTR,
  EMPTY_ATTRS,
  FLAG,
  SEG,
  asPathLength,
  mergeAs4Path,
  type AsPathSegment,
  type RawAttribute,
  type RouteAttrs,
} from '../attrs/index.js';

/** Raised when bytes handed to the RIB are not what the codec should have validated: a caller bug. */
export class RibInputError extends MargayError {
  readonly code = 'MGY_BGP_RIB_INPUT';
}

export interface MpLocation {
  readonly afi: number;
  readonly safi: number;
  readonly nextHopStart: number;
  readonly nextHopEnd: number;
  readonly nlriStart: number;
  readonly nlriEnd: number;
}

export interface AttrScan {
  /** Hash of all attributes except MP_REACH/MP_UNREACH (plus the MP next hop). */
  hash: number;
  /** True when the block has attributes besides MP_UNREACH. */
  hasReachAttrs: boolean;
  mpReach: MpLocation | undefined;
  mpUnreach: MpLocation | undefined;
}

const u16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const u32 = (b: Uint8Array, o: number): number =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

export function hashBytes(h: number, b: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

/** One pass over the attribute TLVs: hash and MP locations. No allocation besides the result. */
export function scanAttrs(b: Uint8Array, start: number, end: number, out: AttrScan): void {
  let h = 0x811c9dc5,
    off = start,
    reach = false;
  out.mpReach = undefined;
  out.mpUnreach = undefined;
  while (off < end) {
    if (off + 3 > end) throw new RibInputError('truncated attribute header');
    const flags = b[off]!,
      type = b[off + 1]!;
    const ext = (flags & FLAG.EXTENDED_LENGTH) !== 0;
    const hdr = ext ? 4 : 3;
    if (off + hdr > end) throw new RibInputError('truncated attribute header');
    const len = ext ? u16(b, off + 2) : b[off + 2]!;
    const vs = off + hdr,
      ve = vs + len;
    if (ve > end) throw new RibInputError('attribute overruns block');
    if (type === ATTR.MP_REACH_NLRI) {
      if (len < 5) throw new RibInputError('short MP_REACH');
      const nhLen = b[vs + 3]!;
      const nhEnd = vs + 4 + nhLen;
      if (nhEnd + 1 > ve) throw new RibInputError('short MP_REACH next hop');
      out.mpReach = {
        afi: u16(b, vs),
        safi: b[vs + 2]!,
        nextHopStart: vs + 4,
        nextHopEnd: nhEnd,
        nlriStart: nhEnd + 1,
        nlriEnd: ve,
      };
      h = hashBytes(h ^ 0xee, b, vs, nhEnd);
      reach = true;
    } else if (type === ATTR.MP_UNREACH_NLRI) {
      if (len < 3) throw new RibInputError('short MP_UNREACH');
      out.mpUnreach = {
        afi: u16(b, vs),
        safi: b[vs + 2]!,
        nextHopStart: vs,
        nextHopEnd: vs,
        nlriStart: vs + 3,
        nlriEnd: ve,
      };
    } else {
      h = hashBytes(h, b, off, ve);
      reach = true;
    }
    off = ve;
  }
  out.hash = h;
  out.hasReachAttrs = reach;
}

function parseAsPath(b: Uint8Array, s: number, e: number, asSize: number): AsPathSegment[] {
  const segs: AsPathSegment[] = [];
  let o = s;
  while (o < e) {
    if (o + 2 > e) throw new RibInputError('truncated AS_PATH segment');
    const type = b[o]!,
      n = b[o + 1]!;
    o += 2;
    if (o + n * asSize > e) throw new RibInputError('AS_PATH segment overruns');
    const asns: number[] = [];
    for (let i = 0; i < n; i++, o += asSize) asns.push(asSize === 4 ? u32(b, o) : u16(b, o));
    segs.push({ type, asns });
  }
  return segs;
}

/**
 * Full parse of an attribute block. The next hop comes from MP_REACH when `mpNextHop`, else NEXT_HOP. `fourOctetAs` is the
 * session's negotiated AS size; a 2-octet peer's AS4_PATH/AS4_AGGREGATOR are merged (RFC 6793).
 */
export function parseAttrs(
  b: Uint8Array,
  start: number,
  end: number,
  fourOctetAs: boolean,
  mpNextHop = false,
): RouteAttrs {
  let origin = 0,
    asPath: AsPathSegment[] = [],
    as4Path: AsPathSegment[] | undefined,
    nextHop: Uint8Array = new Uint8Array(0);
  let med: number | undefined,
    localPref: number | undefined,
    atomicAggregate = false,
    originatorId: number | undefined;
  let aggregator: { as: number; address: number } | undefined, as4Aggregator: typeof aggregator;
  const communities: number[] = [],
    largeCommunities: number[] = [],
    clusterList: number[] = [];
  const unknown: RawAttribute[] = [];
  let extCommunities: Uint8Array = new Uint8Array(0);
  // Copies (never views): the input may be a Buffer view of a socket chunk (Buffer#slice is a view).
  const copy = (s: number, e: number): Uint8Array => new Uint8Array(b.subarray(s, e));
  let off = start;
  while (off < end) {
    const flags = b[off]!,
      type = b[off + 1]!;
    const ext = (flags & FLAG.EXTENDED_LENGTH) !== 0;
    const len = ext ? u16(b, off + 2) : b[off + 2]!;
    const vs = off + (ext ? 4 : 3),
      ve = vs + len;
    if (ve > end) throw new RibInputError('attribute overruns block');
    switch (type) {
      case ATTR.ORIGIN:
        origin = b[vs]!;
        break;
      case ATTR.AS_PATH:
        asPath = parseAsPath(b, vs, ve, fourOctetAs ? 4 : 2);
        break;
      case ATTR.AS4_PATH:
        if (!fourOctetAs) as4Path = parseAsPath(b, vs, ve, 4);
        break;
      case ATTR.NEXT_HOP:
        if (!mpNextHop) nextHop = copy(vs, ve);
        break;
      case ATTR.MP_REACH_NLRI:
        if (mpNextHop) {
          const nl = b[vs + 3]!;
          nextHop = copy(vs + 4, vs + 4 + nl);
        }
        break;
      case ATTR.MP_UNREACH_NLRI:
        break;
      case ATTR.MED:
        med = u32(b, vs);
        break;
      case ATTR.LOCAL_PREF:
        localPref = u32(b, vs);
        break;
      case ATTR.ATOMIC_AGGREGATE:
        atomicAggregate = true;
        break;
      case ATTR.AGGREGATOR:
        aggregator =
          len === 8 ? { as: u32(b, vs), address: u32(b, vs + 4) } : { as: u16(b, vs), address: u32(b, vs + 2) };
        break;
      case ATTR.AS4_AGGREGATOR:
        if (!fourOctetAs && len === 8) as4Aggregator = { as: u32(b, vs), address: u32(b, vs + 4) };
        break;
      case ATTR.COMMUNITIES:
        for (let o = vs; o + 4 <= ve; o += 4) communities.push(u32(b, o));
        break;
      case ATTR.LARGE_COMMUNITY:
        for (let o = vs; o + 4 <= ve - (len % 12); o += 4) largeCommunities.push(u32(b, o));
        break;
      case ATTR.EXTENDED_COMMUNITIES:
        extCommunities = copy(vs, ve);
        break;
      case ATTR.ORIGINATOR_ID:
        originatorId = u32(b, vs);
        break;
      case ATTR.CLUSTER_LIST:
        for (let o = vs; o + 4 <= ve; o += 4) clusterList.push(u32(b, o));
        break;
      default:
        unknown.push({ flags: flags & ~FLAG.EXTENDED_LENGTH, type, value: copy(vs, ve) });
    }
    off = ve;
  }
  if (as4Path && !(aggregator && aggregator.as !== AS_TRANS)) asPath = mergeAs4Path(asPath, as4Path);
  if (as4Aggregator && aggregator?.as === AS_TRANS) aggregator = as4Aggregator;
  const a: RouteAttrs = {
    origin,
    asPath,
    nextHop,
    atomicAggregate,
    communities,
    extCommunities,
    largeCommunities,
    clusterList,
    unknown,
    ...(med !== undefined && { med }),
    ...(localPref !== undefined && { localPref }),
    ...(aggregator && { aggregator }),
    ...(originatorId !== undefined && { originatorId }),
  };
  return a;
}

/** Growable byte writer for encoders. */
export class ByteWriter {
  buf: Uint8Array;
  len = 0;
  constructor(size = 256) {
    this.buf = new Uint8Array(size);
  }
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const nb = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf[this.len++] = v >>> 8;
    this.buf[this.len++] = v & 255;
  }
  u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    let l = this.len;
    b[l++] = v >>> 24;
    b[l++] = (v >>> 16) & 255;
    b[l++] = (v >>> 8) & 255;
    b[l++] = v & 255;
    this.len = l;
  }
  bytes(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.len);
    this.len += v.length;
  }
  /** Writes an attribute header with a placeholder length; `endAttr` fixes it. */
  beginAttr(flags: number, type: number): number {
    this.u8(flags | FLAG.EXTENDED_LENGTH);
    this.u8(type);
    const at = this.len;
    this.u16(0);
    return at;
  }
  endAttr(at: number): void {
    const n = this.len - at - 2;
    this.buf[at] = n >>> 8;
    this.buf[at + 1] = n & 255;
  }
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

function writeAsPath(w: ByteWriter, path: readonly AsPathSegment[], four: boolean): void {
  for (const s of path) {
    for (let i = 0; i < s.asns.length; i += 255) {
      const chunk = s.asns.slice(i, i + 255);
      w.u8(s.type);
      w.u8(chunk.length);
      for (const a of chunk)
        if (four) w.u32(a);
        else w.u16(a > 0xffff ? AS_TRANS : a);
    }
  }
}

export interface EncodeAttrsOptions {
  /** Peer negotiated 4-octet AS; else AS_TRANS + AS4_PATH / AS4_AGGREGATOR (RFC 6793). */
  readonly fourOctetAs: boolean;
  /** Emit the NEXT_HOP attribute (IPv4 NLRI with an IPv4 next hop). */
  readonly nextHopAttr: boolean;
}

/** Attributes in type order, without MP_REACH/MP_UNREACH (the update writer adds those per message). */
export function encodeAttrs(a: RouteAttrs, o: EncodeAttrsOptions): Uint8Array {
  const w = new ByteWriter(64);
  let at = w.beginAttr(FLAG.TRANSITIVE, ATTR.ORIGIN);
  w.u8(a.origin);
  w.endAttr(at);
  at = w.beginAttr(FLAG.TRANSITIVE, ATTR.AS_PATH);
  writeAsPath(w, a.asPath, o.fourOctetAs);
  w.endAttr(at);
  if (o.nextHopAttr && a.nextHop.length === 4) {
    at = w.beginAttr(FLAG.TRANSITIVE, ATTR.NEXT_HOP);
    w.bytes(a.nextHop);
    w.endAttr(at);
  }
  if (a.med !== undefined) {
    at = w.beginAttr(FLAG.OPTIONAL, ATTR.MED);
    w.u32(a.med);
    w.endAttr(at);
  }
  if (a.localPref !== undefined) {
    at = w.beginAttr(FLAG.TRANSITIVE, ATTR.LOCAL_PREF);
    w.u32(a.localPref);
    w.endAttr(at);
  }
  if (a.atomicAggregate) {
    at = w.beginAttr(FLAG.TRANSITIVE, ATTR.ATOMIC_AGGREGATE);
    w.endAttr(at);
  }
  if (a.aggregator) {
    at = w.beginAttr(FLAG.OPTIONAL | FLAG.TRANSITIVE, ATTR.AGGREGATOR);
    if (o.fourOctetAs) w.u32(a.aggregator.as);
    else w.u16(a.aggregator.as > 0xffff ? AS_TRANS : a.aggregator.as);
    w.u32(a.aggregator.address);
    w.endAttr(at);
  }
  if (a.communities.length > 0) {
    at = w.beginAttr(FLAG.OPTIONAL | FLAG.TRANSITIVE, ATTR.COMMUNITIES);
    for (const c of a.communities) w.u32(c);
    w.endAttr(at);
  }
  if (a.originatorId !== undefined) {
    at = w.beginAttr(FLAG.OPTIONAL, ATTR.ORIGINATOR_ID);
    w.u32(a.originatorId);
    w.endAttr(at);
  }
  if (a.clusterList.length > 0) {
    at = w.beginAttr(FLAG.OPTIONAL, ATTR.CLUSTER_LIST);
    for (const c of a.clusterList) w.u32(c);
    w.endAttr(at);
  }
  if (a.extCommunities.length > 0) {
    at = w.beginAttr(FLAG.OPTIONAL | FLAG.TRANSITIVE, ATTR.EXTENDED_COMMUNITIES);
    w.bytes(a.extCommunities);
    w.endAttr(at);
  }
  const needAs4 = !o.fourOctetAs && a.asPath.some((s) => s.asns.some((x) => x > 0xffff));
  if (needAs4) {
    at = w.beginAttr(FLAG.OPTIONAL | FLAG.TRANSITIVE, ATTR.AS4_PATH);
    writeAsPath(
      w,
      a.asPath.filter((s) => s.type <= 2),
      true,
    );
    w.endAttr(at);
  }
  if (!o.fourOctetAs && a.aggregator && a.aggregator.as > 0xffff) {
    at = w.beginAttr(FLAG.OPTIONAL | FLAG.TRANSITIVE, ATTR.AS4_AGGREGATOR);
    w.u32(a.aggregator.as);
    w.u32(a.aggregator.address);
    w.endAttr(at);
  }
  if (a.largeCommunities.length > 0) {
    at = w.beginAttr(FLAG.OPTIONAL | FLAG.TRANSITIVE, ATTR.LARGE_COMMUNITY);
    for (const c of a.largeCommunities) w.u32(c);
    w.endAttr(at);
  }
  for (const u of a.unknown) {
    if ((u.flags & (FLAG.OPTIONAL | FLAG.TRANSITIVE)) !== (FLAG.OPTIONAL | FLAG.TRANSITIVE)) continue; // non-transitive: dropped
    at = w.beginAttr((u.flags & 0xe0) | FLAG.PARTIAL, u.type);
    w.bytes(u.value);
    w.endAttr(at);
  }
  return w.buf.slice(0, w.len);
}

/** Canonical bytes of an attribute set (4-octet AS, next hop included) — the interning key. */
export function canonicalKey(a: RouteAttrs): Uint8Array {
  const body = encodeAttrs(a, { fourOctetAs: true, nextHopAttr: false });
  const out = new Uint8Array(body.length + 1 + a.nextHop.length);
  out.set(body);
  out[body.length] = a.nextHop.length;
  out.set(a.nextHop, body.length + 1);
  return out;
}
