import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import {
  AS_TRANS,
  ATTR,
  EMPTY_ATTRS,
  FLAG,
  SEG,
  encodeAttrs,
  mergeAs4Path,
  parseAttrs,
  scanAttrs,
  type AttrScan,
  type RouteAttrs,
} from './attrs.js';

const scan = (): AttrScan => ({ hash: 0, hasReachAttrs: false, mpReach: undefined, mpUnreach: undefined });

describe('attribute wire form', () => {
  const full: RouteAttrs = {
    ...EMPTY_ATTRS,
    origin: 1,
    asPath: [
      { type: SEG.AS_SEQUENCE, asns: [65001, 4200000001] },
      { type: SEG.AS_SET, asns: [7, 8] },
    ],
    nextHop: Uint8Array.of(192, 0, 2, 1),
    med: 5,
    localPref: 120,
    atomicAggregate: true,
    aggregator: { as: 4200000001, address: 0x01020304 },
    communities: [0xffff0001],
    extCommunities: Uint8Array.of(0, 2, 0, 1, 0, 0, 0, 1),
    largeCommunities: [1, 2, 3],
    originatorId: 9,
    clusterList: [1, 2],
    unknown: [{ flags: FLAG.OPTIONAL | FLAG.TRANSITIVE, type: 99, value: Uint8Array.of(1, 2) }],
  };

  it('round-trips every attribute with 4-octet ASNs', () => {
    const b = encodeAttrs(full, { fourOctetAs: true, nextHopAttr: true });
    const back = parseAttrs(b, 0, b.length, true);
    expect({ ...back, unknown: [] }).toEqual({ ...full, unknown: [] });
    // unknown optional transitive attributes are passed on with the Partial bit
    expect(back.unknown).toEqual([
      { flags: FLAG.OPTIONAL | FLAG.TRANSITIVE | FLAG.PARTIAL, type: 99, value: Uint8Array.of(1, 2) },
    ]);
  });

  it('toward a 2-octet speaker: AS_TRANS plus AS4_PATH / AS4_AGGREGATOR, merged back on receive (RFC 6793)', () => {
    const b = encodeAttrs(full, { fourOctetAs: false, nextHopAttr: true });
    const raw = parseAttrs(b, 0, b.length, false);
    expect(raw.asPath).toEqual(full.asPath);
    expect(raw.aggregator).toEqual(full.aggregator);
    // the AS_PATH itself carries AS_TRANS
    let off = 0,
      asPathBytes: Uint8Array | undefined;
    while (off < b.length) {
      const ext = (b[off]! & FLAG.EXTENDED_LENGTH) !== 0,
        len = ext ? (b[off + 2]! << 8) | b[off + 3]! : b[off + 2]!;
      const vs = off + (ext ? 4 : 3);
      if (b[off + 1] === ATTR.AS_PATH) asPathBytes = b.subarray(vs, vs + len);
      off = vs + len;
    }
    expect([...asPathBytes!]).toEqual([2, 2, 0xfd, 0xe9, AS_TRANS >> 8, AS_TRANS & 255, 1, 2, 0, 7, 0, 8]);
  });

  it('merges a shorter AS4_PATH behind the extra leading 2-octet ASNs', () => {
    expect(mergeAs4Path([{ type: 2, asns: [100, AS_TRANS, 200] }], [{ type: 2, asns: [4200000000, 200] }])).toEqual([
      { type: 2, asns: [100] },
      { type: 2, asns: [4200000000, 200] },
    ]);
    // an AS4_PATH longer than AS_PATH is ignored
    expect(mergeAs4Path([{ type: 2, asns: [100] }], [{ type: 2, asns: [1, 2] }])).toEqual([{ type: 2, asns: [100] }]);
  });

  it('scan hashes equal blocks equally and finds MP attributes', () => {
    const b = encodeAttrs(full, { fourOctetAs: true, nextHopAttr: true });
    const s1 = scan(),
      s2 = scan();
    scanAttrs(b, 0, b.length, s1);
    scanAttrs(Uint8Array.from(b), 0, b.length, s2);
    expect(s1.hash).toBe(s2.hash);
    expect(s1.mpReach).toBeUndefined();
    const mp = Uint8Array.of(
      0x90,
      ATTR.MP_REACH_NLRI,
      0,
      9,
      0,
      2,
      1,
      4,
      10,
      0,
      0,
      1,
      0,
      0x80,
      ATTR.MP_UNREACH_NLRI,
      3,
      0,
      2,
      1,
    );
    const s3 = scan();
    scanAttrs(mp, 0, mp.length, s3);
    expect(s3.mpReach).toMatchObject({ afi: 2, safi: 1, nextHopStart: 8, nextHopEnd: 12, nlriStart: 13, nlriEnd: 13 });
    expect(s3.mpUnreach).toMatchObject({ afi: 2, safi: 1, nlriStart: 19, nlriEnd: 19 });
  });

  it('never throws anything but RibInputError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          scanAttrs(bytes, 0, bytes.length, scan());
          parseAttrs(bytes, 0, bytes.length, true);
        } catch (err) {
          expect((err as { code?: string }).code).toBe('MGY_BGP_RIB_INPUT');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
