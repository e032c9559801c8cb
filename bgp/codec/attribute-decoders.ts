/**
 * One decoder per path attribute, and the table that drives `decodePathAttributes` (BIRD attrs.c style):
 * expected flag class, RFC 7606 action when malformed, decoder. A decoder writes into `State.a` and returns
 * true when the attribute is kept, false when it is deliberately ignored; it throws `Malformed` to report
 * the attribute as malformed (subcode, reason, and optionally an action overriding the table's).
 */
import { reconcileAs4 } from './as4.js';
import {
  AFI,
  AS_PATH_SEGMENT,
  ATTR,
  ATTR_FLAG,
  familyKey,
  SAFI,
  UPDATE_SUBCODE,
  type AsPathSegmentType,
  type Origin,
} from './constants.js';
import type { ErrorAction } from './errors.js';
import { ipv4ToString, scanNlri } from './prefix.js';
import type { Aggregator, AsPathSegment, DecodeOptions, LargeCommunity, PathAttributes } from './types.js';

export const TAW = 'treat-as-withdraw';
export const DISCARD = 'attribute-discard';
export const RESET = 'session-reset';

/** Mutable decode state for one attribute section. */
export interface State {
  readonly msg: Buffer;
  readonly opts: DecodeOptions;
  readonly a: PathAttributes;
  as4Path: AsPathSegment[] | undefined;
  as4Aggregator: Aggregator | undefined;
}

/** Thrown by a decoder: "this attribute is malformed"; caught per attribute and turned into a problem. */
export class Malformed {
  constructor(
    readonly subcode: number,
    readonly reason: string,
    readonly action?: ErrorAction,
  ) {}
}

type FlagClass = 'well-known' | 'optional' | 'optional-transitive';
type Decoder = (st: State, s: number, e: number) => boolean;
export interface AttrSpec {
  /** Expected Optional/Transitive bits. */
  readonly flags: number;
  readonly onMalformed: ErrorAction;
  readonly decode: Decoder;
}
const FLAGS: Readonly<Record<FlagClass, number>> = {
  'well-known': ATTR_FLAG.TRANSITIVE,
  optional: ATTR_FLAG.OPTIONAL,
  'optional-transitive': ATTR_FLAG.OPTIONAL | ATTR_FLAG.TRANSITIVE,
};
const spec = (cls: FlagClass, onMalformed: ErrorAction, decode: Decoder): AttrSpec => ({
  flags: FLAGS[cls],
  onMalformed,
  decode,
});

function fixedLen(v: number, n: number): void {
  if (v !== n) throw new Malformed(UPDATE_SUBCODE.ATTRIBUTE_LENGTH, `length ${v}, expected ${n}`);
}

function multipleOf(v: number, n: number): void {
  if (v === 0 || v % n !== 0)
    throw new Malformed(UPDATE_SUBCODE.ATTRIBUTE_LENGTH, `length ${v} is not a positive multiple of ${n}`);
}

const u32At = (st: State, s: number): number => st.msg.readUInt32BE(s);

function decodeOrigin(st: State, s: number, e: number): boolean {
  fixedLen(e - s, 1);
  if (st.msg[s]! > 2) throw new Malformed(UPDATE_SUBCODE.INVALID_ORIGIN, `invalid ORIGIN ${st.msg[s]}`);
  st.a.origin = st.msg[s]! as Origin;
  return true;
}

function decodeAsPathAttr(st: State, s: number, e: number): boolean {
  st.a.asPath = decodeAsPath(st.msg, s, e, st.opts.fourOctetAs ? 4 : 2, false, st.opts);
  return true;
}

function decodeNextHop(st: State, s: number, e: number): boolean {
  fixedLen(e - s, 4);
  checkIpv4NextHop(u32At(st, s));
  st.a.nextHop = ipv4ToString(u32At(st, s));
  return true;
}

function decodeMed(st: State, s: number, e: number): boolean {
  fixedLen(e - s, 4);
  st.a.med = u32At(st, s);
  return true;
}

function decodeLocalPref(st: State, s: number, e: number): boolean {
  fixedLen(e - s, 4);
  st.a.localPref = u32At(st, s);
  return true;
}

function decodeAtomicAggregate(st: State, s: number, e: number): boolean {
  fixedLen(e - s, 0);
  st.a.atomicAggregate = true;
  return true;
}

function decodeAggregatorAttr(st: State, s: number, e: number): boolean {
  st.a.aggregator = decodeAggregator(st.msg, s, e - s, st.opts.fourOctetAs ? 8 : 6);
  return true;
}

function decodeCommunities(st: State, s: number, e: number): boolean {
  multipleOf(e - s, 4);
  const c: number[] = [];
  for (let o = s; o < e; o += 4) c.push(u32At(st, o));
  st.a.communities = c;
  return true;
}

function decodeOriginatorId(st: State, s: number, e: number): boolean {
  fixedLen(e - s, 4);
  st.a.originatorId = ipv4ToString(u32At(st, s));
  return true;
}

function decodeClusterList(st: State, s: number, e: number): boolean {
  multipleOf(e - s, 4);
  const c: string[] = [];
  for (let o = s; o < e; o += 4) c.push(ipv4ToString(u32At(st, o)));
  st.a.clusterList = c;
  return true;
}

function decodeExtCommunities(st: State, s: number, e: number): boolean {
  multipleOf(e - s, 8);
  const c: Buffer[] = [];
  for (let o = s; o < e; o += 8) c.push(st.msg.subarray(o, o + 8));
  st.a.extCommunities = c;
  return true;
}

function decodeAs4PathAttr(st: State, s: number, e: number): boolean {
  if (st.opts.fourOctetAs) return false; // RFC 6793 §4.1: a NEW speaker ignores AS4_PATH
  st.as4Path = decodeAsPath(st.msg, s, e, 4, true, st.opts);
  return true;
}

function decodeAs4AggregatorAttr(st: State, s: number, e: number): boolean {
  if (st.opts.fourOctetAs) return false;
  st.as4Aggregator = decodeAggregator(st.msg, s, e - s, 8);
  return true;
}

function decodeLargeCommunities(st: State, s: number, e: number): boolean {
  multipleOf(e - s, 12);
  const c: LargeCommunity[] = [];
  for (let o = s; o < e; o += 12) c.push({ global: u32At(st, o), local1: u32At(st, o + 4), local2: u32At(st, o + 8) });
  st.a.largeCommunities = c;
  return true;
}

/** RFC 4271 §6.3 semantic NEXT_HOP checks: not 0/8, loopback, multicast, class E or broadcast. */
function checkIpv4NextHop(v: number): void {
  const first = v >>> 24;
  if (first === 0 || first === 127 || first >= 224)
    throw new Malformed(UPDATE_SUBCODE.INVALID_NEXT_HOP, `invalid NEXT_HOP ${ipv4ToString(v)}`);
}

function decodeAggregator(msg: Buffer, s: number, len: number, want: number): Aggregator {
  fixedLen(len, want);
  const asn = want === 8 ? msg.readUInt32BE(s) : msg.readUInt16BE(s);
  // RFC 7607: AS 0 in AGGREGATOR/AS4_AGGREGATOR is malformed; both attributes are discarded on error.
  if (asn === 0) throw new Malformed(UPDATE_SUBCODE.OPTIONAL_ATTRIBUTE, 'AS 0 in aggregator');
  return { asn, address: ipv4ToString(msg.readUInt32BE(s + want - 4)) };
}

function decodeAsPath(
  msg: Buffer,
  s: number,
  e: number,
  asLen: 2 | 4,
  isAs4: boolean,
  opts: DecodeOptions,
): AsPathSegment[] {
  const sub = isAs4 ? UPDATE_SUBCODE.OPTIONAL_ATTRIBUTE : UPDATE_SUBCODE.MALFORMED_AS_PATH;
  const segs: AsPathSegment[] = [];
  let o = s;
  while (o < e) {
    if (o + 2 > e) throw new Malformed(sub, 'truncated segment header');
    const type = msg[o]!;
    const count = msg[o + 1]!;
    o += 2;
    if (type < AS_PATH_SEGMENT.AS_SET || type > AS_PATH_SEGMENT.AS_CONFED_SET)
      throw new Malformed(sub, `segment type ${type}`);
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

function decodeMpReach(st: State, s: number, e: number): boolean {
  const { msg, opts } = st;
  if (e - s < 5) throw mpError('MP_REACH_NLRI too short');
  const afi = msg.readUInt16BE(s);
  const safi = msg[s + 2]!;
  const nhLen = msg[s + 3]!;
  if (s + 4 + nhLen + 1 > e) throw mpError('MP_REACH_NLRI next hop overruns');
  const fam = familyKey(afi, safi);
  if (!isKnownFamily(afi, safi) || !opts.families.has(fam)) {
    // RFC 4760 §7 leaves ignoring an unexpected family to us: the attribute is discarded (as BIRD does).
    throw new Malformed(
      UPDATE_SUBCODE.OPTIONAL_ATTRIBUTE,
      `MP_REACH_NLRI for family ${afi}/${safi} not negotiated`,
      DISCARD,
    );
  }
  const okNh =
    afi === AFI.IPV6
      ? nhLen === 16 || nhLen === 32
      : nhLen === 4 || ((nhLen === 16 || nhLen === 32) && opts.extendedNextHopV4 !== false);
  if (!okNh) throw mpError(`MP_REACH_NLRI next hop length ${nhLen}`);
  const nextHop = msg.subarray(s + 4, s + 4 + nhLen);
  const nlriStart = s + 4 + nhLen + 1; // skip the reserved (SNPA) octet
  const nlri = scanNlri(msg, nlriStart, e, afi, safi, opts.addPathReceive.has(fam));
  if (nlri === undefined) throw mpError('MP_REACH_NLRI prefixes malformed');
  st.a.mpReach = { afi, safi, nextHop, nlri };
  return true;
}

function decodeMpUnreach(st: State, s: number, e: number): boolean {
  const { msg, opts } = st;
  if (e - s < 3) throw mpError('MP_UNREACH_NLRI too short');
  const afi = msg.readUInt16BE(s);
  const safi = msg[s + 2]!;
  const fam = familyKey(afi, safi);
  if (!isKnownFamily(afi, safi) || !opts.families.has(fam)) {
    throw new Malformed(
      UPDATE_SUBCODE.OPTIONAL_ATTRIBUTE,
      `MP_UNREACH_NLRI for family ${afi}/${safi} not negotiated`,
      DISCARD,
    );
  }
  const withdrawn = scanNlri(msg, s + 3, e, afi, safi, opts.addPathReceive.has(fam));
  if (withdrawn === undefined) throw mpError('MP_UNREACH_NLRI prefixes malformed');
  st.a.mpUnreach = { afi, safi, withdrawn };
  return true;
}

/** RFC 6793 §4.2.3 once all attributes are in: rebuild AS_PATH/AGGREGATOR from the AS4_* ones. */
export function finishAs4(st: State): void {
  if (st.opts.fourOctetAs || (st.as4Path === undefined && st.as4Aggregator === undefined)) return;
  const r = reconcileAs4({
    asPath: st.a.asPath,
    aggregator: st.a.aggregator,
    as4Path: st.as4Path,
    as4Aggregator: st.as4Aggregator,
  });
  st.a.asPath = r.asPath;
  st.a.aggregator = r.aggregator;
}

/** The known attributes (RFC 4271 §5 and §6.3, RFC 7606 §7, RFC 4456, 4760, 1997, 4360, 6793, 8092). */
export const SPEC: ReadonlyMap<number, AttrSpec> = new Map<number, AttrSpec>([
  [ATTR.ORIGIN, spec('well-known', TAW, decodeOrigin)],
  [ATTR.AS_PATH, spec('well-known', TAW, decodeAsPathAttr)],
  [ATTR.NEXT_HOP, spec('well-known', TAW, decodeNextHop)],
  [ATTR.MED, spec('optional', TAW, decodeMed)],
  [ATTR.LOCAL_PREF, spec('well-known', TAW, decodeLocalPref)],
  [ATTR.ATOMIC_AGGREGATE, spec('well-known', DISCARD, decodeAtomicAggregate)],
  [ATTR.AGGREGATOR, spec('optional-transitive', DISCARD, decodeAggregatorAttr)],
  [ATTR.COMMUNITIES, spec('optional-transitive', TAW, decodeCommunities)],
  [ATTR.ORIGINATOR_ID, spec('optional', TAW, decodeOriginatorId)],
  [ATTR.CLUSTER_LIST, spec('optional', TAW, decodeClusterList)],
  [ATTR.MP_REACH_NLRI, spec('optional', RESET, decodeMpReach)],
  [ATTR.MP_UNREACH_NLRI, spec('optional', RESET, decodeMpUnreach)],
  [ATTR.EXTENDED_COMMUNITIES, spec('optional-transitive', TAW, decodeExtCommunities)],
  [ATTR.AS4_PATH, spec('optional-transitive', DISCARD, decodeAs4PathAttr)],
  [ATTR.AS4_AGGREGATOR, spec('optional-transitive', DISCARD, decodeAs4AggregatorAttr)],
  [ATTR.LARGE_COMMUNITY, spec('optional-transitive', TAW, decodeLargeCommunities)],
]);
