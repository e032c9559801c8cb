/**
 * Path attribute encoding toward one peer. Attributes go out in ascending type order; toward a 2-octet
 * speaker (RFC 6793 §4.2.2) AS numbers above 65535 become AS_TRANS and AS4_PATH / AS4_AGGREGATOR carry the
 * real values. MP_REACH_NLRI/MP_UNREACH_NLRI are not produced here: the UPDATE packer adds them per message.
 */
import { needsAs4 } from './as4.js';
import { AS_PATH_SEGMENT, AS_TRANS, ATTR, ATTR_FLAG } from './constants.js';
import { addressToBytes, parseAddress, PrefixSyntaxError } from '../../src/net/index.js';
import type { AsPathSegment, EncodeOptions, PathAttributes } from './types.js';

const WK = ATTR_FLAG.TRANSITIVE;
const OPT = ATTR_FLAG.OPTIONAL;
const OPT_T = ATTR_FLAG.OPTIONAL | ATTR_FLAG.TRANSITIVE;

/** One attribute: flags, type, 1- or 2-byte length (extended when the value exceeds 255 bytes), value. */
export function encodeAttribute(flags: number, type: number, value: Uint8Array): Buffer {
  const ext = value.length > 255;
  const head = ext ? 4 : 3;
  const out = Buffer.allocUnsafe(head + value.length);
  out[0] = ext ? flags | ATTR_FLAG.EXTENDED_LENGTH : flags & ~ATTR_FLAG.EXTENDED_LENGTH;
  out[1] = type;
  if (ext) out.writeUInt16BE(value.length, 2);
  else out[2] = value.length;
  out.set(value, head);
  return out;
}

function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(v >>> 0, 0);
  return b;
}

function ipv4(text: string): Buffer {
  const a = parseAddress(text);
  if (a.family !== 'ipv4') throw new PrefixSyntaxError(text, 'expected an IPv4 address');
  return Buffer.from(addressToBytes(a));
}

/** AS_PATH / AS4_PATH value with 2- or 4-octet ASNs; segments longer than 255 are split. */
export function encodeAsPathValue(path: readonly AsPathSegment[], asLen: 2 | 4, skipConfed = false): Buffer {
  const parts: Buffer[] = [];
  for (const seg of path) {
    if (skipConfed && (seg.type === AS_PATH_SEGMENT.AS_CONFED_SEQUENCE || seg.type === AS_PATH_SEGMENT.AS_CONFED_SET))
      continue;
    for (let i = 0; i < seg.asns.length; i += 255) {
      const chunk = seg.asns.slice(i, i + 255);
      const b = Buffer.allocUnsafe(2 + chunk.length * asLen);
      b[0] = seg.type;
      b[1] = chunk.length;
      chunk.forEach((asn, j) => {
        if (asLen === 4) b.writeUInt32BE(asn >>> 0, 2 + 4 * j);
        else b.writeUInt16BE(asn > 0xffff ? AS_TRANS : asn, 2 + 2 * j);
      });
      parts.push(b);
    }
  }
  return Buffer.concat(parts);
}

/** Encode all attributes in `a` except MP_REACH_NLRI / MP_UNREACH_NLRI. */
export function encodePathAttributes(a: PathAttributes, opts: EncodeOptions): Buffer {
  const out: Buffer[] = [];
  if (a.origin !== undefined) out.push(encodeAttribute(WK, ATTR.ORIGIN, Buffer.from([a.origin])));
  const path = a.asPath;
  const as4 = !opts.fourOctetAs && path !== undefined && needsAs4(path);
  if (path !== undefined)
    out.push(encodeAttribute(WK, ATTR.AS_PATH, encodeAsPathValue(path, opts.fourOctetAs ? 4 : 2)));
  if (a.nextHop !== undefined) out.push(encodeAttribute(WK, ATTR.NEXT_HOP, ipv4(a.nextHop)));
  if (a.med !== undefined) out.push(encodeAttribute(OPT, ATTR.MED, u32(a.med)));
  if (a.localPref !== undefined) out.push(encodeAttribute(WK, ATTR.LOCAL_PREF, u32(a.localPref)));
  if (a.atomicAggregate === true) out.push(encodeAttribute(WK, ATTR.ATOMIC_AGGREGATE, Buffer.alloc(0)));
  const agg = a.aggregator;
  if (agg !== undefined) {
    const v = opts.fourOctetAs ? Buffer.concat([u32(agg.asn), ipv4(agg.address)]) : Buffer.alloc(6);
    if (!opts.fourOctetAs) {
      v.writeUInt16BE(agg.asn > 0xffff ? AS_TRANS : agg.asn, 0);
      ipv4(agg.address).copy(v, 2);
    }
    out.push(encodeAttribute(OPT_T, ATTR.AGGREGATOR, v));
  }
  if (a.communities !== undefined && a.communities.length > 0) {
    out.push(encodeAttribute(OPT_T, ATTR.COMMUNITIES, Buffer.concat(a.communities.map(u32))));
  }
  if (a.originatorId !== undefined) out.push(encodeAttribute(OPT, ATTR.ORIGINATOR_ID, ipv4(a.originatorId)));
  if (a.clusterList !== undefined && a.clusterList.length > 0) {
    out.push(encodeAttribute(OPT, ATTR.CLUSTER_LIST, Buffer.concat(a.clusterList.map(ipv4))));
  }
  if (a.extCommunities !== undefined && a.extCommunities.length > 0) {
    out.push(encodeAttribute(OPT_T, ATTR.EXTENDED_COMMUNITIES, Buffer.concat(a.extCommunities)));
  }
  if (as4 && path !== undefined) out.push(encodeAttribute(OPT_T, ATTR.AS4_PATH, encodeAsPathValue(path, 4, true)));
  if (!opts.fourOctetAs && agg !== undefined && agg.asn > 0xffff) {
    out.push(encodeAttribute(OPT_T, ATTR.AS4_AGGREGATOR, Buffer.concat([u32(agg.asn), ipv4(agg.address)])));
  }
  if (a.largeCommunities !== undefined && a.largeCommunities.length > 0) {
    const v = Buffer.allocUnsafe(12 * a.largeCommunities.length);
    a.largeCommunities.forEach((c, i) => {
      v.writeUInt32BE(c.global >>> 0, 12 * i);
      v.writeUInt32BE(c.local1 >>> 0, 12 * i + 4);
      v.writeUInt32BE(c.local2 >>> 0, 12 * i + 8);
    });
    out.push(encodeAttribute(OPT_T, ATTR.LARGE_COMMUNITY, v));
  }
  for (const u of a.unknown ?? []) {
    // RFC 4271 §5: an unrecognized optional transitive attribute is passed on with the Partial bit set.
    out.push(encodeAttribute(u.flags | ATTR_FLAG.PARTIAL, u.type, u.value));
  }
  return Buffer.concat(out);
}
