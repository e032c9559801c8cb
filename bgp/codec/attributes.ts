/**
 * Path attribute decoding with RFC 7606 revised error handling. Table-driven (BIRD attrs.c style): each
 * known attribute has its expected flags, its RFC 7606 action when malformed, and one decoder. Problems are
 * collected; the strongest action wins. Session-reset problems are thrown at once (nothing after them
 * matters); the rest come back in `problems` and `action`.
 */
import { reconcileAs4 } from './as4.js';
import { AFI, AS_PATH_SEGMENT, ATTR, ATTR_FLAG, ERR, familyKey, SAFI, UPDATE_SUBCODE, type AsPathSegmentType, type Origin } from './constants.js';
import { BgpProtocolError, strongerAction, type ErrorAction } from './errors.js';
import { ipv4ToString, scanNlri } from './prefix.js';
import type { Aggregator, AsPathSegment, DecodeOptions, LargeCommunity, PathAttributes, RawAttribute } from './types.js';

type FlagClass = 'well-known' | 'optional' | 'optional-transitive';
interface AttrSpec {
  readonly cls: FlagClass;
  readonly onMalformed: ErrorAction;
}
const TAW = 'treat-as-withdraw';
const DISCARD = 'attribute-discard';
const RESET = 'session-reset';
const SPEC: ReadonlyMap<number, AttrSpec> = new Map<number, AttrSpec>([
  [ATTR.ORIGIN, { cls: 'well-known', onMalformed: TAW }],
  [ATTR.AS_PATH, { cls: 'well-known', onMalformed: TAW }],
  [ATTR.NEXT_HOP, { cls: 'well-known', onMalformed: TAW }],
  [ATTR.MED, { cls: 'optional', onMalformed: TAW }],
  [ATTR.LOCAL_PREF, { cls: 'well-known', onMalformed: TAW }],
  [ATTR.ATOMIC_AGGREGATE, { cls: 'well-known', onMalformed: DISCARD }],
  [ATTR.AGGREGATOR, { cls: 'optional-transitive', onMalformed: DISCARD }],
  [ATTR.COMMUNITIES, { cls: 'optional-transitive', onMalformed: TAW }],
  [ATTR.ORIGINATOR_ID, { cls: 'optional', onMalformed: TAW }],
  [ATTR.CLUSTER_LIST, { cls: 'optional', onMalformed: TAW }],
  [ATTR.MP_REACH_NLRI, { cls: 'optional', onMalformed: RESET }],
  [ATTR.MP_UNREACH_NLRI, { cls: 'optional', onMalformed: RESET }],
  [ATTR.EXTENDED_COMMUNITIES, { cls: 'optional-transitive', onMalformed: TAW }],
  [ATTR.AS4_PATH, { cls: 'optional-transitive', onMalformed: DISCARD }],
  [ATTR.AS4_AGGREGATOR, { cls: 'optional-transitive', onMalformed: DISCARD }],
  [ATTR.LARGE_COMMUNITY, { cls: 'optional-transitive', onMalformed: TAW }],
]);
/** Attributes that only make sense inside an AS: discarded when an external peer sends them. */
const IBGP_ONLY: ReadonlySet<number> = new Set([ATTR.LOCAL_PREF, ATTR.ORIGINATOR_ID, ATTR.CLUSTER_LIST]);
const EXPECTED_FLAGS: Readonly<Record<FlagClass, number>> = {
  'well-known': ATTR_FLAG.TRANSITIVE,
  optional: ATTR_FLAG.OPTIONAL,
  'optional-transitive': ATTR_FLAG.OPTIONAL | ATTR_FLAG.TRANSITIVE,
};

/** One whole attribute (header included) in the message. */
export interface Span {
  readonly start: number;
  readonly end: number;
  readonly mp: boolean;
}

export interface DecodedAttributes {
  readonly attributes: PathAttributes;
  readonly action: 'none' | 'treat-as-withdraw' | 'attribute-discard';
  readonly problems: BgpProtocolError[];
  /**
   * The attributes that decoded cleanly and were kept, in received order (MP ones flagged). Every
   * attribute that was malformed, duplicated, discarded or ignored is absent.
   */
  readonly kept: Span[];
  /** True when `kept` is not the whole attribute section (something was dropped). */
  readonly dropped: boolean;
  /** Attribute types present (valid or not), indexed by type code. */
  readonly present: Uint8Array;
  /** True when any attribute other than MP_UNREACH_NLRI is present (End-of-RIB detection). */
  readonly hasOtherThanMpUnreach: boolean;
}

/** Signals "this attribute is malformed": caught per attribute and turned into a problem. */
class Malformed {
  constructor(
    readonly subcode: number,
    readonly reason: string,
    readonly action?: ErrorAction,
  ) {}
}

interface State {
  readonly msg: Buffer;
  readonly opts: DecodeOptions;
  readonly a: PathAttributes;
  as4Path: AsPathSegment[] | undefined;
  as4Aggregator: Aggregator | undefined;
}

/** Decode the attribute section `msg[start, end)`. Throws a BgpProtocolError for session-reset cases. */
/**
 * `classicNlri`: the UPDATE carries IPv4 NLRI in the classic field. Without it NEXT_HOP is ignored
 * (RFC 4760 §3), so a malformed one is only discarded.
 */
export function decodePathAttributes(msg: Buffer, start: number, end: number, opts: DecodeOptions, classicNlri = true): DecodedAttributes {
  const st: State = { msg, opts, a: {}, as4Path: undefined, as4Aggregator: undefined };
  const problems: BgpProtocolError[] = [];
  let action: DecodedAttributes['action'] = 'none';
  const kept: Span[] = [];
  const seen = new Uint8Array(256);
  let other = false;
  const report = (e: BgpProtocolError): void => {
    if (e.action === RESET) throw e;
    problems.push(e);
    action = strongerAction(action, e.action) as DecodedAttributes['action'];
  };
  let off = start;
  while (off < end) {
    const flags = msg[off]!;
    const headLen = flags & ATTR_FLAG.EXTENDED_LENGTH ? 4 : 3;
    if (off + headLen > end) {
      // RFC 7606 §4: too few octets left for an attribute header: treat-as-withdraw, stop parsing.
      report(attrListError('attribute header overruns the attribute section'));
      break;
    }
    const type = msg[off + 1]!;
    const len = headLen === 4 ? msg.readUInt16BE(off + 2) : msg[off + 2]!;
    const vStart = off + headLen;
    const vEnd = vStart + len;
    if (vEnd > end) {
      // RFC 7606 §4: the last attribute overruns the section; MP attributes can no longer be trusted.
      if (type === ATTR.MP_REACH_NLRI || type === ATTR.MP_UNREACH_NLRI) {
        throw new BgpProtocolError(ERR.UPDATE, UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST, Buffer.alloc(0), RESET, `attribute ${type} overruns the attribute section`, type);
      }
      report(attrListError(`attribute ${type} length ${len} overruns the attribute section`));
      break;
    }
    const attrStart = off;
    const whole = msg.subarray(off, vEnd);
    off = vEnd;
    if (type !== ATTR.MP_UNREACH_NLRI) other = true;
    if (seen[type] !== 0) {
      if (type === ATTR.MP_REACH_NLRI || type === ATTR.MP_UNREACH_NLRI) {
        throw new BgpProtocolError(ERR.UPDATE, UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST, Buffer.alloc(0), RESET, `duplicate attribute ${type}`, type);
      }
      // RFC 7606 §3.g: keep the first, discard the rest.
      report(new BgpProtocolError(ERR.UPDATE, UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST, Buffer.alloc(0), DISCARD, `duplicate attribute ${type}`, type));
      continue;
    }
    seen[type] = 1;
    const spec = SPEC.get(type);
    if (spec === undefined) {
      if (decodeUnknown(st, flags, type, whole, headLen)) kept.push({ start: attrStart, end: vEnd, mp: false });
      continue;
    }
    if (!opts.isIbgp && IBGP_ONLY.has(type)) {
      // RFC 7606 §7.5, §7.9, §7.10: from an external peer these are discarded, well-formed or not.
      report(attrError(type, 0, whole, DISCARD, `attribute ${type} from an external peer`));
      continue;
    }
    const onMalformed = type === ATTR.NEXT_HOP && !classicNlri ? DISCARD : spec.onMalformed;
    if ((flags & (ATTR_FLAG.OPTIONAL | ATTR_FLAG.TRANSITIVE)) !== EXPECTED_FLAGS[spec.cls]) {
      // RFC 7606 §3.c: a flags conflict makes the attribute malformed; its own rule applies.
      report(attrError(type, UPDATE_SUBCODE.ATTRIBUTE_FLAGS, whole, onMalformed, `attribute ${type} flags 0x${flags.toString(16)}`));
      continue;
    }
    try {
      if (decodeKnown(st, type, vStart, vEnd)) {
        kept.push({ start: attrStart, end: vEnd, mp: type === ATTR.MP_REACH_NLRI || type === ATTR.MP_UNREACH_NLRI });
      }
    } catch (e) {
      if (!(e instanceof Malformed)) throw e;
      report(attrError(type, e.subcode, whole, e.action ?? onMalformed, `attribute ${type}: ${e.reason}`));
    }
  }
  finishAs4(st);
  let covered = start;
  for (const k of kept) if (k.start === covered) covered = k.end;
  const dropped = covered !== end;
  return { attributes: st.a, action, problems, kept, dropped, present: seen, hasOtherThanMpUnreach: other };
}

function attrListError(reason: string): BgpProtocolError {
  return new BgpProtocolError(ERR.UPDATE, UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST, Buffer.alloc(0), TAW, reason);
}

function attrError(type: number, subcode: number, whole: Buffer, action: ErrorAction, reason: string): BgpProtocolError {
  return new BgpProtocolError(ERR.UPDATE, subcode, Buffer.from(whole), action, reason, type);
}

/** Returns true when the attribute is kept (optional transitive). */
function decodeUnknown(st: State, flags: number, type: number, whole: Buffer, headLen: number): boolean {
  if ((flags & ATTR_FLAG.OPTIONAL) === 0) {
    // RFC 4271 §6.3: an unrecognized well-known attribute: 3/2 with the attribute as data.
    throw new BgpProtocolError(ERR.UPDATE, UPDATE_SUBCODE.UNRECOGNIZED_WELL_KNOWN, Buffer.from(whole), RESET, `unrecognized well-known attribute ${type}`, type);
  }
  if ((flags & ATTR_FLAG.TRANSITIVE) === 0) return false; // optional non-transitive: quietly ignored
  const raw: RawAttribute = { flags, type, value: whole.subarray(headLen) };
  st.a.unknown = [...(st.a.unknown ?? []), raw];
  return true;
}

function fixedLen(v: number, n: number): void {
  if (v !== n) throw new Malformed(UPDATE_SUBCODE.ATTRIBUTE_LENGTH, `length ${v}, expected ${n}`);
}

function multipleOf(v: number, n: number): void {
  if (v === 0 || v % n !== 0) throw new Malformed(UPDATE_SUBCODE.ATTRIBUTE_LENGTH, `length ${v} is not a positive multiple of ${n}`);
}

/** Decode one known attribute into `st`; false when it is deliberately ignored (not kept). */
function decodeKnown(st: State, type: number, s: number, e: number): boolean {
  const { msg, a, opts } = st;
  const len = e - s;
  switch (type) {
    case ATTR.ORIGIN:
      fixedLen(len, 1);
      if (msg[s]! > 2) throw new Malformed(UPDATE_SUBCODE.INVALID_ORIGIN, `invalid ORIGIN ${msg[s]}`);
      a.origin = msg[s]! as Origin;
      return true;
    case ATTR.AS_PATH:
      a.asPath = decodeAsPath(msg, s, e, opts.fourOctetAs ? 4 : 2, false, opts);
      return true;
    case ATTR.NEXT_HOP:
      fixedLen(len, 4);
      checkIpv4NextHop(msg.readUInt32BE(s));
      a.nextHop = ipv4ToString(msg.readUInt32BE(s));
      return true;
    case ATTR.MED:
      fixedLen(len, 4);
      a.med = msg.readUInt32BE(s);
      return true;
    case ATTR.LOCAL_PREF:
      fixedLen(len, 4);
      a.localPref = msg.readUInt32BE(s);
      return true;
    case ATTR.ATOMIC_AGGREGATE:
      fixedLen(len, 0);
      a.atomicAggregate = true;
      return true;
    case ATTR.AGGREGATOR:
      a.aggregator = decodeAggregator(msg, s, len, opts.fourOctetAs ? 8 : 6);
      return true;
    case ATTR.COMMUNITIES: {
      multipleOf(len, 4);
      const c: number[] = [];
      for (let o = s; o < e; o += 4) c.push(msg.readUInt32BE(o));
      a.communities = c;
      return true;
    }
    case ATTR.ORIGINATOR_ID:
      fixedLen(len, 4);
      a.originatorId = ipv4ToString(msg.readUInt32BE(s));
      return true;
    case ATTR.CLUSTER_LIST: {
      multipleOf(len, 4);
      const c: string[] = [];
      for (let o = s; o < e; o += 4) c.push(ipv4ToString(msg.readUInt32BE(o)));
      a.clusterList = c;
      return true;
    }
    case ATTR.MP_REACH_NLRI:
      decodeMpReach(st, s, e);
      return true;
    case ATTR.MP_UNREACH_NLRI:
      decodeMpUnreach(st, s, e);
      return true;
    case ATTR.EXTENDED_COMMUNITIES: {
      multipleOf(len, 8);
      const c: Buffer[] = [];
      for (let o = s; o < e; o += 8) c.push(msg.subarray(o, o + 8));
      a.extCommunities = c;
      return true;
    }
    case ATTR.AS4_PATH:
      if (opts.fourOctetAs) return false; // RFC 6793 §4.1: a NEW speaker ignores AS4_PATH
      st.as4Path = decodeAsPath(msg, s, e, 4, true, opts);
      return true;
    case ATTR.AS4_AGGREGATOR:
      if (opts.fourOctetAs) return false;
      st.as4Aggregator = decodeAggregator(msg, s, len, 8);
      return true;
    case ATTR.LARGE_COMMUNITY: {
      multipleOf(len, 12);
      const c: LargeCommunity[] = [];
      for (let o = s; o < e; o += 12) c.push({ global: msg.readUInt32BE(o), local1: msg.readUInt32BE(o + 4), local2: msg.readUInt32BE(o + 8) });
      a.largeCommunities = c;
      return true;
    }
  }
  return true;
}

/** RFC 4271 §6.3 semantic NEXT_HOP checks: not 0/8, loopback, multicast, class E or broadcast. */
function checkIpv4NextHop(v: number): void {
  const first = v >>> 24;
  if (first === 0 || first === 127 || first >= 224) throw new Malformed(UPDATE_SUBCODE.INVALID_NEXT_HOP, `invalid NEXT_HOP ${ipv4ToString(v)}`);
}

function decodeAggregator(msg: Buffer, s: number, len: number, want: number): Aggregator {
  fixedLen(len, want);
  const asn = want === 8 ? msg.readUInt32BE(s) : msg.readUInt16BE(s);
  // RFC 7607: AS 0 in AGGREGATOR/AS4_AGGREGATOR is malformed; both attributes are discarded on error.
  if (asn === 0) throw new Malformed(UPDATE_SUBCODE.OPTIONAL_ATTRIBUTE, 'AS 0 in aggregator');
  return { asn, address: ipv4ToString(msg.readUInt32BE(s + want - 4)) };
}

function decodeAsPath(msg: Buffer, s: number, e: number, asLen: 2 | 4, isAs4: boolean, opts: DecodeOptions): AsPathSegment[] {
  const sub = isAs4 ? UPDATE_SUBCODE.OPTIONAL_ATTRIBUTE : UPDATE_SUBCODE.MALFORMED_AS_PATH;
  const segs: AsPathSegment[] = [];
  let o = s;
  while (o < e) {
    if (o + 2 > e) throw new Malformed(sub, 'truncated segment header');
    const type = msg[o]!;
    const count = msg[o + 1]!;
    o += 2;
    if (type < AS_PATH_SEGMENT.AS_SET || type > AS_PATH_SEGMENT.AS_CONFED_SET) throw new Malformed(sub, `segment type ${type}`);
    if (count === 0) throw new Malformed(sub, 'empty segment');
    if (o + count * asLen > e) throw new Malformed(sub, 'segment overruns the attribute');
    if (type >= AS_PATH_SEGMENT.AS_CONFED_SEQUENCE && (isAs4 || !opts.isIbgp)) {
      // RFC 7606 §7.2 / RFC 6793 §6: confederation segments from an external peer (or in AS4_PATH).
      throw new Malformed(sub, 'confederation segment from an external peer');
    }
    const asns: number[] = new Array<number>(count);
    for (let i = 0; i < count; i++, o += asLen) {
      const asn = asLen === 4 ? msg.readUInt32BE(o) : msg.readUInt16BE(o);
      if (asn === 0) throw new Malformed(sub, 'AS 0 in path'); // RFC 7607
      asns[i] = asn;
    }
    segs.push({ type: type as AsPathSegmentType, asns });
  }
  return segs;
}

function mpError(reason: string): Malformed {
  return new Malformed(UPDATE_SUBCODE.OPTIONAL_ATTRIBUTE, reason, RESET);
}

function isKnownFamily(afi: number, safi: number): boolean {
  return (afi === AFI.IPV4 || afi === AFI.IPV6) && (safi === SAFI.UNICAST || safi === SAFI.MULTICAST);
}

function decodeMpReach(st: State, s: number, e: number): void {
  const { msg, opts } = st;
  if (e - s < 5) throw mpError('MP_REACH_NLRI too short');
  const afi = msg.readUInt16BE(s);
  const safi = msg[s + 2]!;
  const nhLen = msg[s + 3]!;
  if (s + 4 + nhLen + 1 > e) throw mpError('MP_REACH_NLRI next hop overruns');
  const fam = familyKey(afi, safi);
  if (!isKnownFamily(afi, safi) || !opts.families.has(fam)) {
    // RFC 4760 §7 leaves ignoring an unexpected family to us: the attribute is discarded (as BIRD does).
    throw new Malformed(UPDATE_SUBCODE.OPTIONAL_ATTRIBUTE, `MP_REACH_NLRI for family ${afi}/${safi} not negotiated`, DISCARD);
  }
  const okNh = afi === AFI.IPV6 ? nhLen === 16 || nhLen === 32 : nhLen === 4 || nhLen === 16 || nhLen === 32;
  if (!okNh) throw mpError(`MP_REACH_NLRI next hop length ${nhLen}`);
  const nextHop = msg.subarray(s + 4, s + 4 + nhLen);
  const nlriStart = s + 4 + nhLen + 1; // skip the reserved (SNPA) octet
  const nlri = scanNlri(msg, nlriStart, e, afi, safi, opts.addPathReceive.has(fam));
  if (nlri === undefined) throw mpError('MP_REACH_NLRI prefixes malformed');
  st.a.mpReach = { afi, safi, nextHop, nlri };
}

function decodeMpUnreach(st: State, s: number, e: number): void {
  const { msg, opts } = st;
  if (e - s < 3) throw mpError('MP_UNREACH_NLRI too short');
  const afi = msg.readUInt16BE(s);
  const safi = msg[s + 2]!;
  const fam = familyKey(afi, safi);
  if (!isKnownFamily(afi, safi) || !opts.families.has(fam)) {
    throw new Malformed(UPDATE_SUBCODE.OPTIONAL_ATTRIBUTE, `MP_UNREACH_NLRI for family ${afi}/${safi} not negotiated`, DISCARD);
  }
  const withdrawn = scanNlri(msg, s + 3, e, afi, safi, opts.addPathReceive.has(fam));
  if (withdrawn === undefined) throw mpError('MP_UNREACH_NLRI prefixes malformed');
  st.a.mpUnreach = { afi, safi, withdrawn };
}

function finishAs4(st: State): void {
  if (st.opts.fourOctetAs || (st.as4Path === undefined && st.as4Aggregator === undefined)) return;
  const r = reconcileAs4({ asPath: st.a.asPath, aggregator: st.a.aggregator, as4Path: st.as4Path, as4Aggregator: st.as4Aggregator });
  st.a.asPath = r.asPath;
  st.a.aggregator = r.aggregator;
}
